from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from core.events import FillEvent, Trades
from core.orders import Fill, Liquidity
from core.tape import Tape
from core.types import Side


def trades(ts: float, venue: str, qty: list[float], price: float = 100.0) -> Trades:
    n = len(qty)
    return Trades(ts, venue, "BTC/USDT", np.full(n, price), np.array(qty), np.ones(n, np.int8), np.full(n, ts))


def our_fill(ts: float, venue: str, qty: str) -> FillEvent:
    return FillEvent(
        ts,
        "P",
        Fill(
            "P-000001",
            venue,
            f"t{ts}",
            "v",
            Side.SELL,
            Decimal(100),
            Decimal(qty),
            Liquidity.TAKER,
            Decimal(0),
            "USDT",
            ts,
            ts,
        ),
    )


def test_our_fills_are_taken_out_of_the_public_volume_and_windows_are_exact() -> None:
    tape = Tape()
    tape.on_trades(trades(1.0, "A", [2.0, 3.0]))
    tape.on_fill(our_fill(5.0, "A", "1.5"))
    tape.on_trades(trades(5.1, "A", [1.5, 4.0]))  # includes our 1.5
    tape.on_trades(trades(9.0, "B", [7.0], price=110.0))
    assert tape.total_volume() == pytest.approx(16.0)
    assert tape.recent("A", 10.0, 6.0) == pytest.approx((4.0, 1.5))  # window (4, 10]: prints at 5.1, fill at 5
    assert tape.recent(None, 10.0, 100.0) == pytest.approx((16.0, 1.5))
    assert tape.recent("A", 10.0, 1.0) == (0.0, 0.0)
    assert tape.vwap(("B",)) == pytest.approx(110.0)
