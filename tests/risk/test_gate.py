"""The risk gate through the engine: kill switch, permissions, trading states, rate budget."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.store.journal import SqlJournal
from core.actors import SYSTEM, Actor, PermissionDenied, Role
from core.clock import SimClock
from core.engine import Engine
from core.events import TradingState
from core.execution.service import ExecutionService
from core.orders import TimeInForce
from core.parent import ParentOrder, ParentState
from core.risk.gate import Decision
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue

TRADER = Actor("tina", Role.TRADER)
SUPER = Actor("sam", Role.SUPERVISOR)


def rig(journal: SqlJournal | None = None, seed: int = 1) -> tuple[SimClock, Engine, ExecutionService, list[FakeVenue]]:
    clock = SimClock(start=1_700_000_000.0)
    venues = [FakeVenue(f"V{i}", clock, seed + i) for i in range(3)]
    engine = Engine(clock, journal, {v.name: v for v in venues})
    service = ExecutionService(engine, SeedTree(seed))
    clock.run_until(clock.now() + 3)
    return clock, engine, service, venues


def send(  # type: ignore[no-untyped-def]
    engine: Engine, pid: str, venue: str, side: Side, qty: Decimal, price: Decimal, tif: TimeInForce,
    actor: Actor = SYSTEM,
):
    """`Engine.send_child` with the size and price made by the venue's instrument."""
    inst = engine.venues[venue].instrument("BTC/USDT")
    return engine.send_child(pid, venue, side, inst.quantity(qty), inst.price(price), tif, actor)


def start(service: ExecutionService, pid: str = "P1", algo: str = "twap", side: Side = Side.SELL) -> None:
    service.stage(ParentOrder(pid, BTC, side, Decimal(40), 1800.0, algo=algo), TRADER)
    service.start(pid, TRADER)


def test_trader_cannot_press_the_kill_switch_change_a_hard_limit_or_reset() -> None:
    clock, engine, service, venues = rig()
    with pytest.raises(PermissionDenied, match="supervisor"):
        engine.kill_switch(TRADER)
    with pytest.raises(PermissionDenied):
        engine.risk.set_limit("max_child_qty", 1e9, TRADER)
    with pytest.raises(PermissionDenied):
        engine.risk.reset_kill_switch(TRADER)
    assert not engine.risk.killed and engine.risk.limits.max_child_qty == 50.0


def test_kill_switch_cancels_everything_and_no_child_follows_even_when_timers_fire() -> None:
    clock, engine, service, venues = rig()
    start(service, "P1")
    start(service, "P2", algo="ac")
    clock.run_until(clock.now() + 300)
    for _ in range(60):
        if any(v.resting for v in venues):
            break
        clock.run_until(clock.now() + 1)
    assert any(v.resting for v in venues)
    sent_before = sum(len(v.sent) for v in venues)
    canceled = engine.kill_switch(SUPER)
    assert sum(canceled.values()) > 0
    clock.run_until(clock.now() + 2)
    assert all(not v.resting for v in venues)  # asked the venues, not the OMS
    assert all(p.state is ParentState.STOPPED_BY_RISK for p in engine.oms.parents.values())
    clock.run_until(clock.now() + 600)  # algo timers would have fired many times
    assert sum(len(v.sent) for v in venues) == sent_before
    decision, child = send(engine, "P1", "V0", Side.SELL, Decimal(1), Decimal(50_000), TimeInForce.GTC, SUPER)
    assert decision is Decision.REFUSE and child is None
    assert engine.risk.events[-1].rule == "kill_switch"


def test_a_restarted_engine_comes_up_halted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal = SqlJournal(tmp_path / "j.sqlite", durable=False)
    clock, engine, service, venues = rig(journal)
    engine.kill_switch(SUPER, "desk emergency")
    journal.close()
    again = Engine(SimClock(), SqlJournal(tmp_path / "j.sqlite", durable=False))
    assert again.risk.killed and again.risk.state_for("V0", "BTC/USDT") is TradingState.HALTED
    again.risk.reset_kill_switch(SUPER)
    assert not again.risk.killed


def test_reducing_allows_only_position_reducing_orders_and_halted_none() -> None:
    clock, engine, service, venues = rig()
    service.stage(ParentOrder("S", BTC, Side.SELL, Decimal(5), 600.0), TRADER)
    service.stage(ParentOrder("B", BTC, Side.BUY, Decimal(5), 600.0), TRADER)
    engine.risk.set_state("venue:V0", TradingState.REDUCING, SUPER, "test")
    assert send(engine, "S", "V0", Side.SELL, Decimal(1), Decimal(50_100), TimeInForce.GTC)[0] is Decision.SEND
    assert send(engine, "B", "V0", Side.BUY, Decimal(1), Decimal(49_900), TimeInForce.GTC)[0] is Decision.REFUSE
    assert send(engine, "B", "V1", Side.BUY, Decimal(1), Decimal(49_900), TimeInForce.GTC)[0] is Decision.SEND
    engine.risk.set_state("symbol:BTC/USDT", TradingState.HALTED, SUPER, "test")
    assert send(engine, "S", "V2", Side.SELL, Decimal(1), Decimal(50_100), TimeInForce.GTC)[0] is Decision.REFUSE


def test_a_burst_of_ten_times_the_limit_goes_out_in_order_with_no_rate_limit_reject() -> None:
    clock, engine, service, venues = rig()
    venue = venues[0]
    venue.rate_limit_per_s = 10
    engine.risk.set_venue_rate_limit("V0", 10)
    service.stage(ParentOrder("P1", BTC, Side.SELL, Decimal(100), 600.0), TRADER)
    t0 = clock.now()
    prices = [Decimal(50_400) - Decimal("0.1") * i for i in range(100)]  # all above the bid, none crossing
    decisions = [send(engine, "P1", "V0", Side.SELL, Decimal("0.01"), p, TimeInForce.GTC)[0] for p in prices]
    assert decisions.count(Decision.REFUSE) == 0
    assert decisions.count(Decision.QUEUE) >= 90  # the budget (8/s of the venue's 10/s) queues the excess
    clock.run_until(t0 + 30)
    assert venue.rate_limited == 0
    assert [o.price for o in venue.sent] == prices  # every one sent, in the order asked
    assert engine.risk.queued() == 0
    # within budget: no rolling second at the venue saw more than its limit
    arrivals = [o.created_ts for o in venue.sent]
    assert max(sum(1 for t in arrivals if s <= t < s + 1.0) for s in arrivals) <= 10
    assert engine.risk.queued() == 0


@settings(max_examples=25)
@given(
    max_qty=st.floats(0.5, 5),
    band=st.floats(5, 200),
    actions=st.lists(st.sampled_from(["tick", "urgency", "limit", "pause", "resume", "qty"]), max_size=12),
    seed=st.integers(1, 100),
)
def test_no_sequence_of_algo_decisions_and_overrides_gets_a_child_past_a_failing_rule(
    max_qty: float, band: float, actions: list[str], seed: int
) -> None:
    clock, engine, service, venues = rig(seed=seed)
    engine.risk.limits.max_child_qty = max_qty
    engine.risk.limits.price_band_bps = band
    start(service, "P1", algo="ac")
    for action in actions:
        try:
            if action == "urgency":
                service.override("P1", "urgency", "high", TRADER)
            elif action == "limit":
                service.override("P1", "limit_price", "49990", TRADER)
            elif action == "pause":
                service.pause("P1", TRADER)
            elif action == "resume":
                service.resume("P1", TRADER)
            elif action == "qty":
                service.override("P1", "quantity", "60", TRADER)
        except ValueError:
            pass
        clock.run_until(clock.now() + 60)
    for v in venues:
        for order, mid in zip(v.sent, v.mid_at_submit, strict=True):
            assert float(order.quantity) <= max_qty
            assert order.price is not None
            assert abs(float(order.price) - mid) / mid * 1e4 <= band + 1e-9


def test_cancels_bypass_the_rate_queue_and_the_kill_switch_purges_it() -> None:
    clock, engine, service, venues = rig()
    venue = venues[0]
    engine.risk.set_venue_rate_limit("V0", 10)
    service.stage(ParentOrder("P1", BTC, Side.SELL, Decimal(100), 600.0), TRADER)
    prices = [Decimal(50_400) - Decimal("0.1") * i for i in range(100)]
    for p in prices:
        send(engine, "P1", "V0", Side.SELL, Decimal("0.01"), p, TimeInForce.GTC)
    clock.run_until(clock.now() + 0.5)
    queued = engine.risk.queued("V0")
    assert queued >= 85  # 8 per rolling second go out, the rest wait
    cancel_calls: list[float] = []
    real_cancel = venue.cancel
    venue.cancel = lambda order: (cancel_calls.append(clock.now()), real_cancel(order))[1]  # type: ignore[method-assign]
    sent_before = len(venue.sent)
    engine.cancel_children(engine.oms.open_children("P1"), TRADER, "trader cancel")
    assert len(cancel_calls) == sent_before and set(cancel_calls) == {clock.now()}  # at once, not behind the queue
    assert engine.risk.queued("V0") == queued  # the cancels took nothing from the order budget's queue
    engine.kill_switch(SUPER)
    assert engine.risk.queued() == 0
    clock.run_until(clock.now() + 30)
    assert len(venue.sent) == sent_before  # nothing queued before the kill ever reached the venue
