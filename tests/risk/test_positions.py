"""REDUCING consults the account's position through the venues' balances (core/risk/positions.py)
instead of assuming a long-only account: a long desk reduces by selling, a short desk by buying,
and no order may flip the position to the other side."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.actors import Actor, Role
from core.clock import SimClock
from core.engine import Engine
from core.events import TradingState
from core.execution.service import ExecutionService
from core.orders import TimeInForce
from core.parent import ParentOrder
from core.risk.gate import Decision
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue
from tests.risk.test_gate import send

TRADER = Actor("tess", Role.TRADER)
SUPERVISOR = Actor("sam", Role.SUPERVISOR)


def reducing_desk(btc_per_venue: float) -> Engine:
    """Two venues holding `btc_per_venue` BTC each (negative: a margin account's short), REDUCING."""
    clock = SimClock(start=1_700_000_000.0)
    venues = [FakeVenue(f"V{i}", clock, i + 1, base=btc_per_venue) for i in range(2)]
    engine = Engine(clock, None, {v.name: v for v in venues})
    service = ExecutionService(engine, SeedTree(1))
    clock.run_until(clock.now() + 3)
    for pid, side in (("S", Side.SELL), ("B", Side.BUY)):
        service.stage(ParentOrder(pid, BTC, side, Decimal(50), 600.0), TRADER)
    engine.risk.set_state("global", TradingState.REDUCING, SUPERVISOR, "desk over its exposure")
    return engine


def sell(engine: Engine, qty: str) -> Decision:
    return send(engine, "S", "V0", Side.SELL, Decimal(qty), Decimal(50_300), TimeInForce.GTC)[0]


def buy(engine: Engine, qty: str) -> Decision:
    return send(engine, "B", "V0", Side.BUY, Decimal(qty), Decimal(49_700), TimeInForce.GTC)[0]


def test_a_long_desk_may_sell_down_to_flat_but_not_through_it() -> None:
    engine = reducing_desk(3.0)  # long 6 BTC over two venues
    assert buy(engine, "1") is Decision.REFUSE
    assert sell(engine, "4") is Decision.SEND
    assert sell(engine, "2") is Decision.SEND  # 6 working: flat once they fill
    assert sell(engine, "0.001") is Decision.REFUSE  # one lot more would turn the desk short


def test_a_short_desk_reduces_by_buying() -> None:
    engine = reducing_desk(-2.0)  # short 4 BTC (a margin account)
    assert sell(engine, "1") is Decision.REFUSE
    assert buy(engine, "4") is Decision.SEND
    assert buy(engine, "0.001") is Decision.REFUSE


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_a_flat_desk_has_nothing_to_reduce(side: str) -> None:
    engine = reducing_desk(0.0)
    assert (buy if side == "buy" else sell)(engine, "1") is Decision.REFUSE


def test_the_position_is_the_sum_of_the_venues_balances() -> None:
    engine = reducing_desk(2.5)
    assert engine.positions.position("default", BTC) == Decimal("5.0")
