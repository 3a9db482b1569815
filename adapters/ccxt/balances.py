"""What we hold at a ccxt venue, per asset: total and locked, in the asset's own units (Decimal).

Set from the account (Binance GET /api/v3/account ``balances``: ``free``/``locked`` strings) at
connect and at every reconciliation, and kept current between them by the user stream's
``outboundAccountPosition`` events (``B``: ``a`` asset, ``f`` free, ``l`` locked). Total is
free + locked, as `core.ports.Balance` counts it; an asset the venue stops reporting keeps its
last value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.ports import Balance


class Balances:
    def __init__(self, venue: str) -> None:
        self._venue = venue
        self._by_asset: dict[str, Balance] = {}

    def snapshot(self) -> dict[str, Balance]:
        return dict(self._by_asset)

    def from_account(self, info: dict[str, Any]) -> None:
        """The ``info`` of a REST account answer."""
        for row in info.get("balances", []):
            free, locked = Decimal(str(row["free"])), Decimal(str(row["locked"]))
            self._by_asset[str(row["asset"])] = Balance(self._venue, str(row["asset"]), free + locked, locked)

    def from_stream(self, info: dict[str, Any]) -> None:
        """The ``info`` of a user-stream balance event (others are ignored)."""
        if info.get("e") != "outboundAccountPosition":
            return
        for row in info.get("B", []):
            free, locked = Decimal(row["f"]), Decimal(row["l"])
            self._by_asset[str(row["a"])] = Balance(self._venue, str(row["a"]), free + locked, locked)
