"""The parent's own limits, added at staging: max slippage vs arrival and max deviation from
schedule — validated, capped by the supervisor's limits (staging only tightens), enforced by the
breakers from ParentProgress (pause, journaled), reset by the parent's trader or a supervisor."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from adapters.store.journal import MemoryJournal
from core.actors import Actor, PermissionDenied, Role
from core.clock import SimClock
from core.engine import Engine
from core.events import ParentProgress
from core.execution.service import ExecutionService
from core.oms import parent_from_dict, parent_to_dict
from core.orders import OrderStatus
from core.parent import ParentOrder, ParentState
from core.risk.breakers import BreakerActions, BreakerConfig, Breakers
from core.risk.staging import Limit, StagingPolicy, StagingRefused
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue

TINA = Actor("tina", Role.TRADER)
TOM = Actor("tom", Role.TRADER)
SAM = Actor("sam", Role.SUPERVISOR)
BREAKER = Actor("breaker", Role.SYSTEM)
QTY = 20.0
DEVIATION_MSG = r"max schedule deviation must be a fraction of the parent quantity in \(0, 1\]"


def parent(pid: str = "P1", **kw: object) -> ParentOrder:
    return ParentOrder(pid, BTC, Side.SELL, Decimal(int(QTY)), 1800.0, algo="twap", **kw)  # type: ignore[arg-type]


def rig(
    policy: StagingPolicy | None = None, **own: float
) -> tuple[SimClock, Engine, ExecutionService, Breakers, MemoryJournal]:
    clock = SimClock(start=1_700_000_000.0)
    venues = [FakeVenue(f"V{i}", clock, i + 1) for i in range(2)]
    journal = MemoryJournal()
    engine = Engine(clock, journal, {v.name: v for v in venues})
    execution = ExecutionService(engine, SeedTree(1), staging=policy)
    actions = BreakerActions(
        pause_parent=lambda pid, why: execution.pause(pid, BREAKER),
        running_parents=lambda: [p for p, r in execution.runners.items() if r.parent.state is ParentState.RUNNING],
        set_venue_enabled=lambda v, on: execution.set_venue_enabled(v, on, BREAKER),
        has_working_orders=lambda v: bool(engine.oms.open_children(venue=v)),
        parent=engine.oms.parents.get,
    )
    breakers = Breakers(clock, engine.bus, engine.risk, actions, BreakerConfig())
    breakers.start()
    execution.resume_guards.append(breakers.blocks_resume)
    clock.run_until(clock.now() + 3)
    execution.stage(parent(**own), TINA)
    execution.start("P1", TINA)
    clock.run_until(clock.now() + 30)
    return clock, engine, execution, breakers, journal


def progress(
    engine: Engine, filled: float, schedule: float, slippage_bps: float, state: str = "running"
) -> ParentProgress:
    p = ParentProgress(
        engine.clock.now(),
        "P1",
        state,
        Side.SELL,
        QTY,
        filled,
        QTY - filled,
        49_900.0,
        50_000.0,
        slippage_bps,
        schedule,
        0.1,
        0.0,
        0.0,
    )
    engine.bus.publish(p)
    return p


# ---- the parent's fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_slippage_bps", 0.0, "max slippage must be a positive number of bps"),
        ("max_slippage_bps", -5.0, "max slippage must be a positive number of bps"),
        ("max_slippage_bps", math.nan, "max slippage must be a positive number of bps"),
        ("max_schedule_deviation", 0.0, DEVIATION_MSG),
        ("max_schedule_deviation", 1.5, DEVIATION_MSG),
    ],
)
def test_bad_own_limits_are_refused_with_a_clear_message(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parent(**{field: value})


def test_own_limits_survive_the_journal_round_trip() -> None:
    p = parent(max_slippage_bps=25.0, max_schedule_deviation=0.05)
    back = parent_from_dict(parent_to_dict(p))
    assert (back.max_slippage_bps, back.max_schedule_deviation) == (25.0, 0.05)
    assert parent_from_dict(parent_to_dict(parent())).max_slippage_bps is None


# ---- staging only tightens ------------------------------------------------------------------------


def test_staging_refuses_a_parent_looser_than_the_supervisors_cap_and_fills_in_a_missing_one() -> None:
    policy = StagingPolicy(
        per_trader={"tina": Limit(max_slippage_bps=40.0)}, per_account={"default": Limit(max_schedule_deviation=0.1)}
    )
    with pytest.raises(StagingRefused, match=r"max_slippage_bps 50 bps is looser than the trader cap for tina \(40"):
        policy.parent_own_limits(parent(), "tina", 50.0, None)
    with pytest.raises(StagingRefused, match=r"max_schedule_deviation 0.2 is looser than the account cap for default"):
        policy.parent_own_limits(parent(), "tina", None, 0.2)
    assert policy.parent_own_limits(parent(), "tina", 40.0, 0.1) == (40.0, 0.1)  # exactly the caps
    assert policy.parent_own_limits(parent(), "tina", 10.0, 0.02) == (10.0, 0.02)  # tighter
    assert policy.parent_own_limits(parent(), "tina", None, None) == (40.0, 0.1)  # the caps apply
    assert policy.parent_own_limits(parent(), "tom", None, None) == (None, 0.1)  # no trader cap for tom


def test_staging_through_the_service_applies_the_caps_and_a_live_override_may_only_tighten() -> None:
    policy = StagingPolicy(per_instrument={"BTC/USDT": Limit(max_slippage_bps=30.0)})
    clock, engine, execution, breakers, journal = rig(policy, max_schedule_deviation=0.2)
    p1 = engine.oms.parents["P1"]
    assert (p1.max_slippage_bps, p1.max_schedule_deviation) == (30.0, 0.2)
    with pytest.raises(StagingRefused, match="looser than the instrument cap"):
        execution.stage(parent("P2", max_slippage_bps=31.0), TINA)
    assert "P2" not in engine.oms.parents
    with pytest.raises(StagingRefused, match="looser than the instrument cap"):
        execution.override("P1", "max_slippage_bps", 35.0, TINA)
    execution.override("P1", "max_slippage_bps", 12.5, TINA)
    execution.override("P1", "max_schedule_deviation", None, TINA)  # no cap on deviation: removed
    assert (p1.max_slippage_bps, p1.max_schedule_deviation) == (12.5, None)
    execution.override("P1", "max_slippage_bps", None, TINA)  # removing it leaves the cap
    assert p1.max_slippage_bps == 30.0
    with pytest.raises(ValueError, match="max schedule deviation must be a fraction"):
        execution.override("P1", "max_schedule_deviation", 2.0, TINA)
    assert [r.payload["field"] for r in journal.records if r.kind == "parent.override"] == [
        "max_slippage_bps",
        "max_schedule_deviation",
        "max_slippage_bps",
    ]


# ---- enforced by the breakers ---------------------------------------------------------------------


def test_slippage_pass_boundary_and_fail() -> None:
    clock, engine, execution, breakers, journal = rig(max_slippage_bps=25.0)
    progress(engine, 8.0, 8.0, 24.9)
    progress(engine, 8.0, 8.0, 25.0)  # exactly the limit: still allowed
    progress(engine, 0.0, 8.0, 99.0)  # nothing filled: no slippage to judge
    assert not breakers.events and engine.oms.parents["P1"].state is ParentState.RUNNING
    progress(engine, 8.0, 8.0, 25.1)
    event = breakers.events[-1]
    assert (event.rule, event.action, event.parent_id) == ("parent_max_slippage", "pause", "P1")
    assert "25.1 bps worse than arrival" in event.detail and "max_slippage_bps 25" in event.detail
    assert engine.oms.parents["P1"].state is ParentState.PAUSED
    assert all(c.status is OrderStatus.PENDING_CANCEL for c in engine.oms.open_children("P1"))
    fired = [r for r in journal.records if r.kind == "risk.breaker"]
    assert fired[-1].payload["rule"] == "parent_max_slippage" and fired[-1].payload["target"] == "P1"


def test_schedule_deviation_pass_boundary_and_fail_behind_and_ahead() -> None:
    clock, engine, execution, breakers, journal = rig(max_schedule_deviation=0.05)
    progress(engine, 9.5, 10.0, 0.0)
    progress(engine, 9.0, 10.0, 0.0)  # 1/20 = exactly 5 %: allowed
    progress(engine, 11.0, 10.0, 0.0)  # 5 % ahead: allowed
    progress(engine, 5.0, 20.0, 0.0, state="completing")  # finishing: the schedule is the whole quantity
    assert not breakers.events and engine.oms.parents["P1"].state is ParentState.RUNNING
    progress(engine, 8.9, 10.0, 0.0)
    event = breakers.events[-1]
    assert (event.rule, event.action, event.parent_id) == ("parent_schedule_deviation", "pause", "P1")
    assert "behind the schedule" in event.detail
    assert engine.oms.parents["P1"].state is ParentState.PAUSED


def test_ahead_of_schedule_fires_too() -> None:
    clock, engine, execution, breakers, journal = rig(max_schedule_deviation=0.05)
    progress(engine, 11.2, 10.0, 0.0)
    event = breakers.events[-1]
    assert event.rule == "parent_schedule_deviation" and "ahead of the schedule" in event.detail


def test_no_own_limits_nothing_judged() -> None:
    clock, engine, execution, breakers, journal = rig()
    progress(engine, 1.0, 19.0, 500.0)
    assert not breakers.events


def test_the_action_is_configurable() -> None:
    clock, engine, execution, breakers, journal = rig(max_slippage_bps=25.0)
    breakers.config.parent_slippage_action = "reducing"
    progress(engine, 8.0, 8.0, 30.0)
    assert breakers.events[-1].action == "reducing" and engine.risk.states["global"].value == "reducing"
    assert engine.oms.parents["P1"].state is ParentState.RUNNING


def test_reset_by_the_parents_trader_or_a_supervisor_and_no_resume_before_it() -> None:
    clock, engine, execution, breakers, journal = rig(max_slippage_bps=25.0)
    progress(engine, 8.0, 8.0, 30.0)
    assert engine.oms.parents["P1"].state is ParentState.PAUSED
    with pytest.raises(ValueError, match="parent_max_slippage paused it and is still tripped"):
        execution.resume("P1", TINA)
    with pytest.raises(PermissionDenied, match=r"parent's trader \(tina\) or a supervisor"):
        breakers.reset("parent_max_slippage:P1", TOM)
    breakers.reset("parent_max_slippage:P1", TINA)
    resets = [r for r in journal.records if r.kind == "risk.breaker_reset"]
    assert resets[-1].payload == {"key": "parent_max_slippage:P1", "by": str(TINA)} and resets[-1].actor == str(TINA)
    execution.override("P1", "max_slippage_bps", 40.0, TINA)
    execution.resume("P1", TINA)
    assert engine.oms.parents["P1"].state is ParentState.RUNNING
    progress(engine, 8.0, 8.0, 30.0)  # inside the raised limit
    progress(engine, 8.0, 30.0, 41.0)
    assert breakers.events[-1].rule == "parent_max_slippage"
    breakers.reset("parent_max_slippage:P1", SAM)  # a supervisor may too
    assert "parent_max_slippage:P1" not in breakers.tripped


def test_the_market_slippage_breaker_still_needs_a_supervisor() -> None:
    clock, engine, execution, breakers, journal = rig()
    breakers._fire("slippage", "P1", "pause", "test", parent_id="P1")
    with pytest.raises(PermissionDenied):
        breakers.reset("slippage:P1", TINA)
    with pytest.raises(ValueError, match="a supervisor must reset slippage:P1"):
        execution.resume("P1", TINA)
