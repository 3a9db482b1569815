"""The execution service sizes children to the gate's per-venue max_participation room (asked of
the gate: `RiskGate.participation_room`), so the rule refuses nothing in normal operation and the
parent still completes."""

from __future__ import annotations

import math
from contextlib import nullcontext
from decimal import Decimal
from unittest.mock import patch

import numpy as np
import pytest

from core.actors import Actor, Role
from core.clock import SimClock
from core.engine import Engine
from core.events import Trades
from core.execution.service import ExecutionService
from core.orders import TimeInForce
from core.parent import ParentOrder
from core.risk.gate import RiskGate
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue

TINA = Actor("tina", Role.TRADER)


def run(qty: int, horizon_s: float, seed: int, algo: str = "twap", sizing: bool = True) -> tuple[Engine, float]:
    clock = SimClock(start=1_700_000_000.0)
    venues = [FakeVenue(f"V{i}", clock, 10 * seed + i) for i in range(2)]  # ~1 unit/s of others' volume each
    engine = Engine(clock, None, {v.name: v for v in venues})
    execution = ExecutionService(engine, SeedTree(seed))
    # the control: the routing view is told the gate leaves unlimited room (the rule itself still judges)
    room = patch.object(RiskGate, "participation_room", lambda gate, venue: math.inf) if not sizing else nullcontext()
    with room:
        clock.run_until(clock.now() + 3)
        execution.stage(
            ParentOrder("P1", BTC, Side.SELL, Decimal(qty), horizon_s, algo=algo, max_participation=0.5), TINA
        )
        execution.start("P1", TINA)
        t0 = clock.now()
        while clock.now() < t0 + horizon_s + 3600 and not engine.oms.parents["P1"].state.is_terminal:
            clock.run_until(clock.now() + 10)
    return engine, clock.now() - t0


@pytest.mark.parametrize(
    ("qty", "horizon_s", "algo"), [(600, 600.0, "twap"), (600, 600.0, "ac"), (1500, 600.0, "twap")]
)
def test_a_parent_gets_no_max_participation_refusals_and_still_completes(qty: int, horizon_s: float, algo: str) -> None:
    for seed in (1, 2, 3):
        engine, took_s = run(qty, horizon_s, seed, algo)
        assert engine.oms.parents["P1"].state.value == "done" and engine.oms.done_qty("P1") == qty
        assert [e for e in engine.risk.events if e.rule == "max_participation"] == []


def test_without_the_sizing_the_gate_refuses_children() -> None:
    """The control: the same parent sized only by the algo exceeds the rule on some venue."""
    engine, _ = run(600, 600.0, 1, sizing=False)
    assert [e for e in engine.risk.events if e.rule == "max_participation"]


def test_the_room_mirrors_the_rule() -> None:
    clock = SimClock(start=1_700_000_000.0)
    venue = FakeVenue("V0", clock, 1, tape_per_s=0.0)
    engine = Engine(clock, None, {"V0": venue})
    execution = ExecutionService(engine, SeedTree(1))
    clock.run_until(clock.now() + 3)
    assert engine.risk.participation_room("V0") == math.inf  # no tape: the rule does not judge
    lim = engine.risk.limits

    def print_volume(q: float) -> None:
        engine.bus.publish(
            Trades(
                clock.now(),
                "V0",
                "BTC/USDT",
                np.array([50_000.0]),
                np.array([q]),
                np.array([1], np.int8),
                np.array([clock.now()]),
            )
        )

    print_volume(lim.participation_min_volume * 0.99)
    assert engine.risk.participation_room("V0") == math.inf  # below participation_min_volume
    print_volume(3.0)
    others = lim.participation_min_volume * 0.99 + 3.0
    assert engine.risk.participation_room("V0") == pytest.approx(
        others * lim.max_participation / (1 - lim.max_participation)
    )
    lim.max_participation = 0.2
    assert engine.risk.participation_room("V0") == pytest.approx(others * 0.25)
    execution.stage(ParentOrder("P1", BTC, Side.SELL, Decimal(1), 600.0, algo="twap"), TINA)
    inst = engine.venues["V0"].instrument("BTC/USDT")
    engine.send_child("P1", "V0", Side.SELL, inst.quantity("0.3"), inst.price("49000"), TimeInForce.IOC)
    assert engine.risk.participation_room("V0") == pytest.approx(others * 0.25 - 0.3)  # in flight counts as ours
