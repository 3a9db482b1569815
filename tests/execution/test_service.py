"""Execution service behaviour on a deterministic fake venue (the simulator runs the acceptance)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.actors import Actor, Role
from core.analytics.almgren_chriss import optimal_trajectory
from core.clock import SimClock
from core.engine import Engine
from core.execution.algos import AlgoState, AlmgrenChriss
from core.execution.service import ExecutionConfig, ExecutionService, ImpactCalibration
from core.orders import OrderStatus, TimeInForce
from core.parent import ParentOrder, ParentState
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue

TRADER = Actor("tina", Role.TRADER)


def setup(
    seed: int = 1, n_venues: int = 2, **venue_kw: float
) -> tuple[SimClock, Engine, ExecutionService, list[FakeVenue]]:
    clock = SimClock(start=1_700_000_000.0)
    venues = [FakeVenue(f"V{i}", clock, seed * 10 + i, **venue_kw) for i in range(n_venues)]
    engine = Engine(clock, None, {v.name: v for v in venues})
    service = ExecutionService(engine, SeedTree(seed), ExecutionConfig(interval_s=10.0))
    clock.run_until(clock.now() + 5)  # first books
    return clock, engine, service, venues


def run_parent(algo: str, qty: str = "20", horizon_s: float = 1800.0, seed: int = 1, **kw: object):  # type: ignore[no-untyped-def]
    clock, engine, service, venues = setup(seed)
    parent = ParentOrder("P1", BTC, Side.SELL, Decimal(qty), horizon_s, algo=algo, **kw)  # type: ignore[arg-type]
    service.stage(parent, TRADER)
    service.start("P1", TRADER)
    return clock, engine, service, venues, engine.oms.parents["P1"]


def test_twap_tracks_its_schedule_within_5_percent_and_completes() -> None:
    clock, engine, service, venues, parent = run_parent("twap")
    start = clock.now()
    samples = []
    for k in range(1, 181):
        clock.run_until(start + 10 * k)
        done = float(engine.oms.filled_qty("P1"))
        samples.append(abs(done - 20 * min(10 * k / 1800, 1.0)) / 20)
    clock.run_until(start + 2000)
    assert max(samples) <= 0.05
    assert engine.oms.filled_qty("P1") == Decimal(20)
    assert parent.state is ParentState.DONE
    assert not engine.oms.open_children("P1")


def test_no_child_ever_exceeds_the_parent_and_children_respect_lots() -> None:
    clock, engine, service, venues, parent = run_parent("ac", qty="15.5", horizon_s=900)
    clock.run_until(clock.now() + 1200)
    assert engine.oms.filled_qty("P1") == Decimal("15.5")
    for child in engine.oms.children_for("P1"):
        assert child.quantity % Decimal("0.001") == 0 and child.quantity > 0


@settings(max_examples=15)
@given(limit=st.floats(49_800, 50_200), seed=st.integers(1, 50), side=st.sampled_from([Side.BUY, Side.SELL]))
def test_no_child_beyond_the_limit_price_ever(limit: float, seed: int, side: Side) -> None:
    clock, engine, service, venues = setup(seed)
    parent = ParentOrder("P1", BTC, side, Decimal(10), 600.0, algo="twap", limit_price=Decimal(str(round(limit, 1))))
    service.stage(parent, TRADER)
    service.start("P1", TRADER)
    parent = engine.oms.parents["P1"]
    clock.run_until(clock.now() + 700)
    for child in engine.oms.children_for("P1"):
        assert child.price is not None and parent.within_limit(child.price)
    for v in venues:
        for order in v.sent:
            assert order.price is not None and parent.within_limit(order.price)


def test_iceberg_never_shows_more_than_its_display_quantity() -> None:
    clock, engine, service, venues, parent = run_parent(
        "iceberg", qty="10", horizon_s=1200, params={"display_qty": 0.5}
    )
    worst = 0.0
    start = clock.now()
    while clock.now() < start + 1500:
        clock.run_until(clock.now() + 0.5)
        passive = sum(float(c.leaves) for c in engine.oms.open_children("P1") if c.tif is TimeInForce.GTC)
        worst = max(worst, passive)
    assert worst <= 0.5 + 1e-9


def test_pause_leaves_nothing_working_within_one_round_trip_and_resume_continues() -> None:
    clock, engine, service, venues, parent = run_parent("twap")
    clock.run_until(clock.now() + 300)
    for _ in range(60):  # stop at a moment when children are resting
        if engine.oms.open_children("P1"):
            break
        clock.run_until(clock.now() + 1)
    assert engine.oms.open_children("P1")
    service.pause("P1", TRADER)
    clock.run_until(clock.now() + 2 * 0.02 + 1e-6)
    assert not engine.oms.open_children("P1") and not any(v.resting for v in venues)
    filled = engine.oms.filled_qty("P1")
    clock.run_until(clock.now() + 200)
    assert engine.oms.filled_qty("P1") == filled  # nothing trades while paused
    service.resume("P1", TRADER)
    clock.run_until(clock.now() + 2000)
    assert engine.oms.filled_qty("P1") == Decimal(20) and parent.state is ParentState.DONE


def test_cancel_stops_the_parent_and_cancels_every_child() -> None:
    clock, engine, service, venues, parent = run_parent("twap")
    clock.run_until(clock.now() + 300)
    service.cancel("P1", TRADER)
    clock.run_until(clock.now() + 0.05)
    assert parent.state is ParentState.CANCELED
    assert not any(v.resting for v in venues)
    sent = sum(len(v.sent) for v in venues)
    clock.run_until(clock.now() + 600)
    assert sum(len(v.sent) for v in venues) == sent  # no child after cancel


def test_quantity_and_end_time_overrides_replan_the_remainder() -> None:
    clock, engine, service, venues, parent = run_parent("twap")
    start = clock.now()
    clock.run_until(start + 600)
    service.override("P1", "quantity", "30", TRADER)
    clock.run_until(start + 610.5)
    runner = service.runners["P1"]
    done = float(engine.oms.filled_qty("P1"))
    # the new line runs from what is done to 30 at the (unchanged) end
    expected_next = done + (30 - done) * 10 / (1800 - 610)
    assert runner.algo.target_filled(AlgoState(610, 1800, 30, done, 0, 0.25), 620) == pytest.approx(
        expected_next, rel=0.05
    )
    with pytest.raises(ValueError, match="cannot go below what is already filled"):
        service.override("P1", "quantity", "0.001", TRADER)
    service.override("P1", "end_ts", start + 900, TRADER)
    clock.run_until(start + 1000)
    assert engine.oms.filled_qty("P1") == Decimal(30)  # finished by the earlier end time
    assert [o["field"] for o in engine.oms.overrides] == ["quantity", "end_ts"]
    assert engine.oms.overrides[0]["actor"] == "tina(trader)"


def test_limit_override_cancels_children_beyond_it_and_they_are_not_resent() -> None:
    clock, engine, service, venues, parent = run_parent("twap")
    clock.run_until(clock.now() + 300)
    service.override("P1", "limit_price", "60000", TRADER)  # a sell limit far above the market
    clock.run_until(clock.now() + 60)
    assert not engine.oms.open_children("P1")
    assert service.runners["P1"].limit_bound


def test_ac_reoptimized_with_frozen_parameters_reproduces_the_closed_form_tail() -> None:
    params = ImpactCalibration().ac_params(50_000.0)
    algo = AlmgrenChriss(params, risk_aversion=1e-6, period_s=60.0)
    plan = optimal_trajectory(params, 100.0, 3600.0, 60, 1e-6)
    algo.replan(AlgoState(0.0, 3600.0, 100.0, 0.0, 0.0, 0.25))
    k = 17
    done = 100.0 - plan.trajectory[k]
    algo.replan(AlgoState(k * 60.0, 3600.0, 100.0, done, 0.0, 0.25))
    for j in range(k, 61):
        assert algo.holdings_at(j * 60.0) == pytest.approx(plan.trajectory[j], abs=1e-9)


def test_venue_disabled_live_gets_no_more_children() -> None:
    clock, engine, service, venues, parent = run_parent("twap")
    clock.run_until(clock.now() + 200)
    service.set_venue_enabled("V1", False, TRADER)
    n = len(venues[1].sent)
    clock.run_until(clock.now() + 2000)
    assert len(venues[1].sent) == n and not venues[1].resting
    assert engine.oms.filled_qty("P1") == Decimal(20)


def test_inventory_caps_children_to_the_venue_balance() -> None:
    clock = SimClock(start=0.0)
    poor = FakeVenue("POOR", clock, 5, base=2.0)
    rich = FakeVenue("RICH", clock, 6)
    engine = Engine(clock, None, {"POOR": poor, "RICH": rich})
    service = ExecutionService(engine, SeedTree(3))
    clock.run_until(5)
    service.stage(ParentOrder("P1", BTC, Side.SELL, Decimal(20), 900.0, algo="twap"), TRADER)
    service.start("P1", TRADER)
    clock.run_until(1200)
    sold_poor = sum((c.filled for c in engine.oms.children_for("P1") if c.venue == "POOR"), Decimal(0))
    assert sold_poor <= Decimal(2)
    assert all(c.reject_reason != "insufficient_balance" for c in engine.oms.children.values())
    assert engine.oms.filled_qty("P1") == Decimal(20)


def test_same_seed_same_children() -> None:
    def ids(seed: int) -> list[tuple[str, str, str]]:
        clock, engine, service, venues, parent = run_parent("ac", seed=seed)
        clock.run_until(clock.now() + 1000)
        return [(c.client_id, str(c.quantity), str(c.price)) for c in engine.oms.children.values()]

    assert ids(4) == ids(4)
    assert ids(4) != ids(5)


def test_children_statuses_are_consistent_with_venue() -> None:
    clock, engine, service, venues, parent = run_parent("twap")
    clock.run_until(clock.now() + 2000)
    for child in engine.oms.children.values():
        assert child.status in (OrderStatus.FILLED, OrderStatus.CANCELED)
    assert np.isclose(float(engine.oms.filled_qty("P1")), 20.0)


def test_a_parent_with_no_venue_to_trade_on_says_so_once_and_resumes_when_one_returns() -> None:
    from core.events import Alert, Severity

    clock, engine, service, venues, parent = run_parent("twap", qty="20", horizon_s=600.0)
    alerts: list[Alert] = []
    engine.bus.subscribe(Alert, alerts.append)
    clock.run_until(clock.now() + 60)
    service.toxicity.update({"V0": 1.0, "V1": 1.0})  # the trader marks both venues toxic
    filled = float(engine.oms.filled_qty("P1"))
    clock.run_until(clock.now() + 120)
    warned = [a for a in alerts if a.kind == "no_route"]
    assert len(warned) == 1 and warned[0].severity is Severity.WARNING
    assert "V0 avoided" in warned[0].detail and "V1 avoided" in warned[0].detail
    assert float(engine.oms.filled_qty("P1")) == pytest.approx(filled, abs=1e-9)  # nothing traded meanwhile
    service.toxicity["V0"] = 0.0
    clock.run_until(clock.now() + 600)
    assert parent.state is ParentState.DONE and len([a for a in alerts if a.kind == "no_route"]) == 1
