"""Execution behaviour on the embedded market (not on fakes): several parents at once, POV's
participation, AC's trajectory, TWAP's schedule, inventory limits."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import numpy as np
import pytest

from app.simulation import SimRequest, ac_per_second, prepare
from core.actors import Actor, Role
from core.events import FillEvent, OrderUpdate, ParentProgress
from core.execution.service import ExecutionConfig, ExecutionService
from core.parent import ParentOrder, ParentState
from core.ports import RejectReason
from core.types import Instrument, Side

TRADER = Actor("tina", Role.TRADER)


def desk(scenario: str = "btc-block-4h", seed: int = 2, **kw: object):  # type: ignore[no-untyped-def]
    req = SimRequest(scenario=scenario, seed=seed, qty=10.0, horizon_s=1800.0, rfq="off", mc_paths=2000, **kw)
    d = prepare(req)  # type: ignore[arg-type]
    execution = ExecutionService(d.engine, d.seeds, ExecutionConfig(), ac_params=ac_per_second(d.pretrade.ac_params))
    return d, execution


def run_until_done(d, execution, parent_ids, limit_s: float) -> None:  # type: ignore[no-untyped-def]
    end = d.clock.now() + limit_s
    while d.clock.now() < end:
        d.clock.run_until(min(d.clock.now() + 60.0, end))
        if all(d.engine.oms.parents[p].state.is_terminal for p in parent_ids) and not d.engine.oms.open_children():
            return


@pytest.mark.slow
def test_two_sells_and_a_buy_at_once_never_trade_with_each_other_hold_the_cap_and_keep_their_own_shortfall():
    d, execution = desk()
    instrument = Instrument.parse(d.scenario.scenario.symbol)
    fills: list[FillEvent] = []
    progress: dict[str, ParentProgress] = {}
    d.engine.bus.subscribe(FillEvent, fills.append)
    d.engine.bus.subscribe(ParentProgress, lambda e: progress.__setitem__(e.parent_id, e))
    parents = [
        ParentOrder("S1", instrument, Side.SELL, Decimal(40), 1800.0, algo="twap", max_participation=0.5),
        ParentOrder("S2", instrument, Side.SELL, Decimal(25), 1800.0, algo="ac", max_participation=0.5),
        ParentOrder("B1", instrument, Side.BUY, Decimal(15), 1800.0, algo="twap", max_participation=0.5),
    ]
    for p in parents:
        execution.stage(p, TRADER)
        execution.start(p.parent_id, TRADER)
    run_until_done(d, execution, ["S1", "S2", "B1"], 3600.0)

    oms = d.engine.oms
    for p in parents:  # each completes its own quantity
        assert oms.parents[p.parent_id].state is ParentState.DONE
        assert abs(float(oms.filled_qty(p.parent_id)) - float(p.quantity)) < 1e-6
    # never with each other: no venue trade id appears on both a buy and a sell of ours
    sides_by_trade: dict[tuple[str, str], set[Side]] = defaultdict(set)
    for f in fills:
        sides_by_trade[(f.fill.venue, f.fill.venue_trade_id)].add(f.fill.side)
    assert all(len(s) == 1 for s in sides_by_trade.values())
    # the aggregate participation cap (risk limit, all parents together, per venue) held
    limit = d.engine.risk.limits.max_participation
    window = d.engine.risk.limits.participation_window_s
    for venue in d.engine.venues:
        times = sorted(f.ts for f in fills if f.fill.venue == venue)
        for t in times[:: max(1, len(times) // 50)]:
            others, ours = d.engine.tape.recent(venue, t, window)
            if others >= d.engine.risk.limits.participation_min_volume:
                assert ours / (ours + others) <= limit + 0.05, (venue, t, ours, others)
    # separate shortfalls: each parent's own average against its own arrival
    for p in parents:
        last = progress[p.parent_id]
        own = [f for f in fills if f.parent_id == p.parent_id]
        qty = sum(float(f.fill.quantity) for f in own)
        avg = sum(float(f.fill.price) * float(f.fill.quantity) for f in own) / qty
        assert abs(last.avg_price - avg) < 1e-6 * avg
        assert abs(last.slippage_bps - p.side.sign * (avg / last.arrival_mid - 1.0) * 1e4) < 0.01
    assert len({round(progress[p.parent_id].slippage_bps, 6) for p in parents}) == 3


def test_pov_takes_its_target_share_of_all_traded_volume_within_20_percent():
    d, execution = desk("calm", seed=4)
    instrument = Instrument.parse(d.scenario.scenario.symbol)
    rate = 0.1
    parent = ParentOrder("POV1", instrument, Side.SELL, Decimal(1000), 1800.0, algo="pov", params={"rate": rate})
    execution.stage(parent, TRADER)
    start_volume = {v: d.engine.tape.volume.get(v, 0.0) for v in d.engine.venues}
    start_ours = {v: d.engine.tape.ours.get(v, 0.0) for v in d.engine.venues}
    execution.start("POV1", TRADER)
    d.clock.run_until(d.clock.now() + 1800.0)
    others = sum(d.engine.tape.volume.get(v, 0.0) - start_volume[v] for v in d.engine.venues)
    ours = sum(d.engine.tape.ours.get(v, 0.0) - start_ours[v] for v in d.engine.venues)
    assert np.isclose(ours, float(d.engine.oms.filled_qty("POV1")))
    share = ours / (ours + others)
    assert 0.8 * rate <= share <= 1.2 * rate, share


@pytest.mark.slow
def test_ac_holdings_stay_within_3_percent_of_the_planned_trajectory_on_calm():
    d, execution = desk("calm", seed=5)
    instrument = Instrument.parse(d.scenario.scenario.symbol)
    qty = 60.0
    parent = ParentOrder("AC1", instrument, Side.SELL, Decimal(qty), 3600.0, algo="ac")
    execution.stage(parent, TRADER)
    execution.start("AC1", TRADER)
    runner = execution.runners["AC1"]
    start = d.clock.now()
    worst = 0.0
    while d.clock.now() < start + 3600.0:
        d.clock.run_until(d.clock.now() + 30.0)
        elapsed = d.clock.now() - start
        planned_holdings = runner.algo.holdings_at(elapsed)  # type: ignore[attr-defined]
        holdings = qty - float(d.engine.oms.done_qty("AC1"))
        worst = max(worst, abs(holdings - planned_holdings) / qty)
    assert worst <= 0.03, worst
    run_until_done(d, execution, ["AC1"], 600.0)
    assert d.engine.oms.parents["AC1"].state is ParentState.DONE


def test_twap_cumulative_fill_within_5_percent_of_its_schedule_at_every_interval():
    d, execution = desk("calm", seed=6)
    instrument = Instrument.parse(d.scenario.scenario.symbol)
    qty = 40.0
    execution.stage(ParentOrder("T1", instrument, Side.BUY, Decimal(qty), 1800.0, algo="twap"), TRADER)
    execution.start("T1", TRADER)
    start = d.clock.now()
    deviations = []
    while d.clock.now() < start + 1800.0 - 1e-6:
        d.clock.run_until(min(d.clock.now() + 10.0, start + 1800.0))
        schedule = qty * min((d.clock.now() - start) / 1800.0, 1.0)
        deviations.append(abs(float(d.engine.oms.done_qty("T1")) - schedule) / qty)
    assert max(deviations) <= 0.05, max(deviations)


@pytest.mark.slow
def test_the_shallowest_venue_funded_with_50_btc_never_gets_more_and_never_rejects_for_balance():
    d, execution = desk(balances={"gamma": (50.0, 1e10)}, seed=3)
    names = [v.name for v in d.exchange.venues]
    assert "gamma" in names
    instrument = Instrument.parse(d.scenario.scenario.symbol)
    rejects: list[OrderUpdate] = []
    d.engine.bus.subscribe(OrderUpdate, lambda e: rejects.append(e) if e.reason else None)
    execution.stage(ParentOrder("I1", instrument, Side.SELL, Decimal(400), 1800.0, algo="twap"), TRADER)
    execution.start("I1", TRADER)
    run_until_done(d, execution, ["I1"], 3600.0)
    oms = d.engine.oms
    sent_gamma = [c for c in oms.children_for("I1") if c.venue == "gamma"]
    assert sent_gamma, "the shallow venue should still be used within its balance"
    assert float(sum((c.filled for c in sent_gamma), Decimal(0))) <= 50.0 + 1e-9
    assert all(float(c.quantity) <= 50.0 for c in sent_gamma)
    assert not [r for r in rejects if RejectReason.INSUFFICIENT_BALANCE in r.reason]
    assert np.isclose(float(oms.filled_qty("I1")), 400.0)


def test_surveillance_has_watched_the_market_before_the_parent_starts_whatever_the_algo() -> None:
    """The detectors learn their baselines from the warm-up (as a terminal's do from connect):
    at the parent's start they have seen every venue's book. Every algo's desk runs them (the one
    desk of app/desk.py; only the adaptive policy reads them)."""
    for algo in ("adaptive", "ac"):
        d = prepare(SimRequest(scenario="btc-mixed-4h", seed=3, algo=algo, qty=10.0, horizon_s=600.0,
                               rfq="off", mc_paths=500, sets={"parent.start_s": "[600, 600]"}))  # fmt: skip
        surveillance = d.desk.surveillance
        assert d.desk.execution.signals is surveillance
        assert set(surveillance.venues()) == {v.name for v in d.exchange.venues}
        assert surveillance.watching_since is not None
        assert d.clock.now() - surveillance.watching_since > 590  # the 10-min warm-up
        d.exchange.stop()


def test_a_scenario_that_only_changes_the_events_uses_its_base_calibration() -> None:
    """btc-mixed-4h is btc-block-4h's market with drawn events: same venues, same fundamental,
    so the same calibrated impact (an uncalibrated pre-trade forecast 139 bps against 34 realized).
    Changing a venue breaks the link: that market is not the calibrated one any more."""
    from adapters.sim.scenario import load_scenario
    from app.simulation import calibration_path, market_history

    mixed = load_scenario("btc-mixed-4h")
    assert calibration_path(mixed) == calibration_path(load_scenario("btc-block-4h"))
    assert market_history(mixed) == market_history(load_scenario("btc-block-4h"))
    deeper = load_scenario("btc-mixed-4h", {"venues.0.taker_fee_bps": "2.0"})
    assert calibration_path(deeper) is None and "temporary_coeff" not in market_history(deeper)  # another venue
