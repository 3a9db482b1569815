"""Algos' typed decisions (core/execution/decisions.py): plain schedules decide nothing and route
neutrally; the adaptive policy's tick pauses at its aimed take and finishes knowing what was sent;
the runner executes any algo's plan the same way (no algo is special-cased), and what it reports
as sent is what reached the venues."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from core.analytics.dip_classifier import Dip
from core.execution.adaptive import AdaptiveAc
from core.execution.algos import AlgoState, AlmgrenChriss, Iceberg, Pov, Twap, Vwap
from core.execution.config import ImpactCalibration
from core.execution.decisions import NO_PLAN, AimedTake, PolicyDecision, TickPlan
from core.orders import TimeInForce
from core.parent import ParentOrder
from core.types import Side
from tests.execution.fakes import BTC
from tests.execution.test_service import TRADER, setup

NOW = 1_700_000_000.0
STATE = AlgoState(600.0, 3600.0, 50.0, 10.0, 0.0, 0.25)


def ac() -> AlmgrenChriss:
    return AlmgrenChriss(ImpactCalibration().ac_params(50_000.0), 1e-6, 60.0)


@pytest.mark.parametrize("algo", [Twap(), Vwap(np.ones(4)), Pov(), Iceberg(2.0), ac()])
def test_a_plain_schedule_decides_nothing_and_routes_as_the_router_does(algo: Any) -> None:
    assert algo.decide(STATE) is NO_PLAN and algo.decide(STATE, taken=1.0) is NO_PLAN
    assert algo.venue_weight("V0", 600.0) == 1.0
    assert algo.toxicity(("V0", "V1")) is None


class Signals:
    def __init__(self, dips: dict[str, Dip]) -> None:
        self.dips = dips

    def toxicity(self, venue: str) -> float:
        return {"V0": 1.7, "V1": -0.2}.get(venue, 0.0)

    def last_dip(self, venue: str) -> Dip | None:
        return self.dips.get(venue)


def dip(venue: str, onset_ago_s: float, drop_bps: float, pre_mid: float = 50_000.0) -> Dip:
    """A transient dip (P 0.95) scored 5 s ago."""
    return Dip(venue, NOW - onset_ago_s, NOW - onset_ago_s + 5.0, -1, pre_mid, {"drop_bps": drop_bps}, 0.95, NOW - 5.0)


def buyer(dips: dict[str, Dip]) -> AdaptiveAc:
    return AdaptiveAc(ac(), +1, ("V0", "V1"), Signals(dips), lambda: NOW)


def test_a_lean_in_pauses_at_its_take_and_records_what_the_take_sent() -> None:
    algo = buyer({"V0": dip("V0", 70.0, 100.0)})
    plan = algo.decide(STATE)
    low = 50_000.0 * (1 - 100e-4)
    assert plan == TickPlan(AimedTake("V0", 0.04 * 50, 50_000.0 + 0.5 * (low - 50_000.0)), ())
    done = algo.decide(STATE, taken=1.5)
    assert done.take is None and [d.action for d in done.decisions] == ["lean in"]
    assert done.decisions[0].shift_qty == pytest.approx(1.5)  # lean_take 1: the lean is what was sent
    assert "took 1.5 of 2 below 49750.00" in done.decisions[0].reason
    with pytest.raises(RuntimeError, match="no take"):
        algo.decide(STATE, taken=1.0)


def test_a_take_that_sent_nothing_leaves_the_book_to_the_next_lean_and_one_that_sent_does_not() -> None:
    two = {"V0": dip("V0", 70.0, 100.0), "V1": dip("V1", 200.0, 60.0)}  # two moves, the deeper first
    algo = buyer(dict(two))
    first = algo.decide(STATE)
    assert first.take is not None and first.take.venue == "V0"
    second = algo.decide(STATE, taken=0.0)  # nothing sent, nothing on its way
    assert second.take is not None and second.take.venue == "V1"
    assert [d.venue for d in second.decisions] == ["V0"] and second.decisions[0].shift_qty == 0.0
    last = algo.decide(STATE, taken=2.0)
    assert last.take is None and [(d.venue, d.shift_qty) for d in last.decisions] == [("V1", 2.0)]

    algo = buyer(dict(two))
    first = algo.decide(STATE)
    done = algo.decide(STATE, taken=0.5)  # sent: the second lean does not take the same book again
    assert done.take is None and [d.venue for d in done.decisions] == ["V0", "V1"]
    assert "no take: the book was just taken for the move on V0" in done.decisions[1].reason


def test_the_adaptive_policy_routes_by_surveillance_clamped_at_its_weight() -> None:
    algo = buyer({})
    seen = algo.toxicity(("V0", "V1"))
    assert seen is not None and dict(seen.scores) == {"V0": 1.0, "V1": 0.0} and seen.weight == 1.0
    assert dataclasses.replace(algo, signals=None).toxicity(("V0",)) is None


class ScriptedAlgo:
    """A TWAP that, on the ticks after `arm`, asks for one aimed take and records what it was told."""

    def __init__(self, take: AimedTake) -> None:
        self.schedule = Twap()
        self.name = "scripted"
        self.take = take
        self.armed = False
        self.told: list[float] = []

    def target_filled(self, state: AlgoState, at_s: float) -> float:
        return self.schedule.target_filled(state, at_s)

    def replan(self, state: AlgoState) -> None:
        self.schedule.replan(state)

    def max_working(self, state: AlgoState) -> float:
        return self.schedule.max_working(state)

    def decide(self, state: AlgoState, taken: float | None = None) -> TickPlan:
        if taken is not None:
            self.told.append(taken)
            return TickPlan(None, (decision(state, f"took {taken:g}"),))
        if not self.armed:
            return NO_PLAN
        self.armed = False
        return TickPlan(self.take, (decision(state, "asked"),))

    def venue_weight(self, venue: str, at_s: float) -> float:
        return 1.0

    def toxicity(self, venues: tuple[str, ...]) -> None:
        return None


def decision(state: AlgoState, reason: str) -> PolicyDecision:
    return PolicyDecision(round(state.elapsed_s, 3), 0.0, "lean in", 0.0, reason, "V0", 0.9, 300.0)


def test_the_runner_executes_any_algos_plan_and_tells_it_what_reached_the_venues() -> None:
    clock, engine, service, venues = setup()
    service.stage(ParentOrder("P1", BTC, Side.BUY, Decimal("20"), 1800.0, algo="twap"), TRADER)
    service.start("P1", TRADER)
    clock.run_until(clock.now() + 60)
    runner = service.runners["P1"]
    cap = venues[0].book_mid() * 1.002
    runner.algo = algo = ScriptedAlgo(AimedTake("V0", 0.7, cap))
    marks = [len(v.sent) for v in venues]
    algo.armed = True
    clock.run_until(clock.now() + 10.5)  # one tick
    iocs = [o for v, k in zip(venues, marks, strict=True) for o in v.sent[k:] if o.tif is TimeInForce.IOC]
    assert algo.told == [pytest.approx(sum(float(o.quantity) for o in iocs))] and 0 < algo.told[0] <= 0.7
    assert all(float(o.price) <= cap for o in iocs)
    reasons = [d["reason"] for d in runner.decisions]
    assert reasons == ["asked", f"took {algo.told[0]:g}"]
    assert service.journaled_decisions["P1"] == runner.decisions
