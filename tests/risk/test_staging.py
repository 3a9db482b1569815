"""Limits and compliance at staging, four eyes, daily counters — enforced in core."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.actors import Actor, PermissionDenied, Role
from core.clock import SimClock
from core.engine import Engine
from core.execution.service import ExecutionService
from core.parent import ParentOrder, ParentState
from core.risk.staging import Limit, StagingPolicy, StagingRefused
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue

TINA = Actor("tina", Role.TRADER)
SAM = Actor("sam", Role.SUPERVISOR)
SUE = Actor("sue", Role.SUPERVISOR)


def rig(policy: StagingPolicy) -> tuple[SimClock, Engine, ExecutionService, list[FakeVenue]]:
    clock = SimClock(start=1_700_000_000.0)
    venues = [FakeVenue(f"V{i}", clock, i + 1) for i in range(2)]
    engine = Engine(clock, None, {v.name: v for v in venues})
    service = ExecutionService(engine, SeedTree(1), staging=policy)
    clock.run_until(clock.now() + 3)
    return clock, engine, service, venues


def parent(pid: str = "P1", qty: int = 10, **kw: object) -> ParentOrder:
    return ParentOrder(pid, BTC, Side.SELL, Decimal(qty), 600.0, algo="twap", **kw)  # type: ignore[arg-type]


def test_restricted_and_disallowed_parents_are_refused_naming_the_rule_and_never_trade() -> None:
    policy = StagingPolicy(restricted={"BTC/USDT"})
    clock, engine, service, venues = rig(policy)
    with pytest.raises(StagingRefused, match="restricted-instrument list"):
        service.stage(parent(), TINA)
    policy.restricted.clear()
    policy.account_venues["fund-a"] = {"V0"}
    with pytest.raises(StagingRefused, match="may trade only on V0; not on V1"):
        service.stage(parent(account="fund-a", venues=("V0", "V1")), TINA)
    policy.account_desks["fund-a"] = {"north"}
    with pytest.raises(StagingRefused, match="may ask only the desks north"):
        service.stage(parent(account="fund-a", venues=("V0",), desks=("south",)), TINA)
    assert not engine.oms.parents and all(not v.sent for v in venues)


def test_limits_per_trader_account_instrument_and_daily_counters_that_reset() -> None:
    policy = StagingPolicy(per_trader={"tina": Limit(max_qty=15, max_daily_notional=1_600_000)})
    clock, engine, service, venues = rig(policy)
    with pytest.raises(StagingRefused, match="quantity 20 above the trader limit for tina"):
        service.stage(parent(qty=20), TINA)
    service.stage(parent("A", qty=15), TINA)  # exactly the limit: 750k
    service.stage(parent("B", qty=15), TINA)  # 1.5M used
    with pytest.raises(StagingRefused, match="daily notional for trader tina"):
        service.stage(parent("C", qty=15), TINA)
    clock.run_until(clock.now() + 86_400)  # next trading day: counters start over
    service.stage(parent("C", qty=15), TINA)
    assert set(engine.oms.parents) == {"A", "B", "C"}


def test_four_eyes_a_large_parent_waits_for_another_supervisor() -> None:
    policy = StagingPolicy(four_eyes_notional=1_000_000)
    clock, engine, service, venues = rig(policy)
    service.stage(parent(qty=30, trader="sam"), SAM)  # 1.5M: needs approval
    assert engine.oms.parents["P1"].state is ParentState.PENDING_APPROVAL
    with pytest.raises(ValueError, match="waits for a supervisor's approval"):
        service.start("P1", SAM)
    with pytest.raises(PermissionDenied, match="four eyes"):
        service.approve("P1", SAM)  # self-approval refused in core
    with pytest.raises(PermissionDenied, match="supervisor"):
        service.approve("P1", TINA)
    service.approve("P1", SUE)
    service.start("P1", SAM)
    clock.run_until(clock.now() + 30)
    assert engine.oms.parents["P1"].state is ParentState.RUNNING and any(v.sent for v in venues)


def test_the_gates_firm_wide_limits_apply_at_staging_and_a_live_edit_takes_effect_at_once() -> None:
    clock, engine, service, venues = rig(StagingPolicy())
    mid = service.consolidated_mid()
    engine.risk.set_limit("max_parent_notional", 12 * mid, SAM)
    with pytest.raises(StagingRefused, match="above max_parent_notional"):
        service.stage(parent("A", qty=13), TINA)
    service.stage(parent("A", qty=12), TINA)
    engine.risk.set_limit("max_daily_notional", 20 * mid, SAM)
    with pytest.raises(StagingRefused, match="max_daily_notional"):
        service.stage(parent("B", qty=9), TINA)  # 12 + 9 > 20 for tina today
    service.stage(parent("B", qty=9), SAM)  # another trader's day is their own
    engine.risk.set_limit("four_eyes_notional", 5 * mid, SAM)  # stricter than the policy's 100M
    service.stage(parent("C", qty=6, trader="sam"), SAM)
    assert engine.oms.parents["C"].state is ParentState.PENDING_APPROVAL
    assert set(engine.oms.parents) == {"A", "B", "C"}
