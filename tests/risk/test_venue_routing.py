"""Switching a venue off and on: journaled with the actor; a circuit breaker's automatic reset
lifts only its own hold, never a venue a trader switched off by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.store.journal import MemoryJournal
from core.actors import Actor, Role
from core.clock import SimClock
from core.engine import Engine
from core.events import VenueStatus
from core.execution.service import ExecutionService
from core.orders import OrderStatus
from core.parent import ParentOrder, ParentState
from core.risk.breakers import BreakerActions, Breakers
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue

TINA = Actor("tina", Role.TRADER)
BREAKER = Actor("breaker", Role.SYSTEM)


def rig() -> tuple[SimClock, Engine, ExecutionService, Breakers, MemoryJournal]:
    clock = SimClock(start=1_700_000_000.0)
    venues = [FakeVenue(f"V{i}", clock, i + 1) for i in range(2)]
    journal = MemoryJournal()
    engine = Engine(clock, journal, {v.name: v for v in venues})
    execution = ExecutionService(engine, SeedTree(1))
    actions = BreakerActions(
        pause_parent=lambda pid, why: execution.pause(pid, BREAKER),
        running_parents=lambda: [p for p, r in execution.runners.items() if r.parent.state is ParentState.RUNNING],
        set_venue_enabled=lambda v, on: execution.set_venue_enabled(v, on, BREAKER),
        has_working_orders=lambda v: bool(engine.oms.open_children(venue=v)),
        parent=engine.oms.parents.get,
    )
    breakers = Breakers(clock, engine.bus, engine.risk, actions)
    breakers.start()
    clock.run_until(clock.now() + 3)
    execution.stage(ParentOrder("P1", BTC, Side.SELL, Decimal(20), 1800.0, algo="twap"), TINA)
    execution.start("P1", TINA)
    clock.run_until(clock.now() + 30)
    return clock, engine, execution, breakers, journal


def routing(journal: MemoryJournal) -> list[tuple[str, str, str, bool, list[str]]]:
    return [
        (r.actor, r.payload["venue"], r.payload["requested"], r.payload["enabled"], r.payload["held_by"])
        for r in journal.records
        if r.kind == "venue.routing"
    ]


def test_switching_a_venue_is_journaled_with_its_actor() -> None:
    clock, engine, execution, breakers, journal = rig()
    assert execution.set_venue_enabled("V1", False, TINA) is False
    assert "V1" in execution.disabled_venues
    assert all(c.status is OrderStatus.PENDING_CANCEL for c in engine.oms.open_children(venue="V1"))
    assert execution.set_venue_enabled("V1", True, TINA) is True
    assert routing(journal) == [
        (str(TINA), "V1", "off", False, ["tina"]),
        (str(TINA), "V1", "on", True, []),
    ]
    with pytest.raises(ValueError, match="unknown venue 'V9'"):
        execution.set_venue_enabled("V9", False, TINA)


def test_an_automatic_reset_does_not_bring_back_a_venue_the_trader_switched_off() -> None:
    clock, engine, execution, breakers, journal = rig()
    execution.set_venue_enabled("V1", False, TINA)
    engine.bus.publish(VenueStatus(clock.now(), "V1", False, 0.0, "disconnected"))
    engine.bus.publish(VenueStatus(clock.now() + 5, "V1", True, 0.0, "reconnected"))  # the breaker resets itself
    assert "venue_down:V1" not in breakers.tripped
    assert "V1" in execution.disabled_venues  # still off: the trader switched it off
    clock.run_until(clock.now() + 60)
    assert not [c for c in engine.oms.children.values() if c.venue == "V1" and c.created_ts > clock.now() - 55]
    assert routing(journal)[-1] == (str(BREAKER), "V1", "on", False, ["tina"])
    execution.set_venue_enabled("V1", True, TINA)
    assert "V1" not in execution.disabled_venues


def test_a_trader_cannot_switch_on_a_venue_a_breaker_still_excludes() -> None:
    clock, engine, execution, breakers, journal = rig()
    engine.bus.publish(VenueStatus(clock.now(), "V0", False, 0.0, "disconnected"))
    assert execution.set_venue_enabled("V0", True, TINA) is False
    assert "V0" in execution.disabled_venues
    engine.bus.publish(VenueStatus(clock.now() + 5, "V0", True, 0.0, "reconnected"))
    assert "V0" not in execution.disabled_venues
