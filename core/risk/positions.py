"""Positions for the REDUCING trading state: which orders reduce the account's exposure.

Under REDUCING only orders that bring the position closer to flat may go (docs/risk.md). Which
side that is depends on the position, not on a rule of thumb: a desk long BTC reduces by selling;
a desk short BTC (a margin account's negative balance) reduces by buying. Before this port the
gate assumed a long-only account (every sell reduced, no buy did).

`BalancePositions` reads the position through the venues' own balances (the `Venue` port), summed
over the venues: the signed base-currency total the account holds. An order reduces when its side
is opposite to the position and it, together with the orders already working on that side, does
not exceed the position (it must not flip the account to the other side). A flat position has
nothing to reduce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Protocol

from core.orders import ChildOrder
from core.ports import Venue
from core.risk.rules import OrderProposal
from core.types import Instrument, Side


class Positions(Protocol):
    def position(self, account: str, instrument: Instrument) -> Decimal:
        """Signed position in the instrument's base currency (positive = long)."""
        ...


class BalancePositions:
    """The position as the venues' balances show it (summed over venues; one account per desk)."""

    def __init__(self, venues: Mapping[str, Venue], open_children: Callable[[], Iterable[ChildOrder]]) -> None:
        self.venues = venues  # the engine's live mapping: venues added later count
        self.open_children = open_children

    def position(self, account: str, instrument: Instrument) -> Decimal:
        total = Decimal(0)
        for venue in self.venues.values():
            balance = venue.balances().get(instrument.base)
            if balance is not None:
                total += balance.total
        return total

    def reduces(self, p: OrderProposal) -> bool:
        """True when `p` brings the position closer to flat without crossing it."""
        instrument = Instrument.parse(p.symbol)
        position = self.position(p.account, instrument)
        if position == 0 or (position > 0) == (p.side is Side.BUY):
            return False
        working = sum(
            (c.leaves for c in self.open_children() if c.side is p.side and c.instrument == instrument), Decimal(0)
        )
        return working + p.quantity.value <= abs(position)
