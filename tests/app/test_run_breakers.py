"""`python main.py run`'s desk (app/desk.py) runs the circuit breakers of the settings' `[breakers]`
(on a scripted venue), `run` prints each firing, and a bad `[breakers]` value stops start-up with a clear message."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from app.commands.run import _emit_breaker
from app.desk import DeskConfig, build_desk
from app.settings import SettingsError, breaker_config, load_settings
from core.actors import Actor, Role
from core.clock import SimClock
from core.events import BookUpdate, VenueStatus
from core.parent import ParentOrder, ParentState
from core.risk.breakers import BreakerConfig
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue

TRADER = Actor("cli", Role.TRADER)


def settings(tmp_path: Path, *sets: str):  # type: ignore[no-untyped-def]
    return load_settings(tmp_path / "absent.toml", env={}, overrides=list(sets))


def book(ts: float, venue: str, mid: float) -> BookUpdate:
    return BookUpdate(
        ts, venue, "BTC/USDT", 1, np.array([mid - 0.1]), np.array([1.0]), np.array([mid + 0.1]), np.array([1.0])
    )


def test_the_desk_runs_the_breakers_of_the_settings_on_its_execution_service(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    clock = SimClock(start=1_700_000_000.0)
    venues = [FakeVenue(f"V{i}", clock, i + 1) for i in range(2)]
    config = DeskConfig(breakers=breaker_config(settings(tmp_path, "breakers.price_move_pct=2.0")))
    desk = build_desk(clock, None, {v.name: v for v in venues}, {}, SeedTree(1), config)
    engine, service, breakers = desk.engine, desk.execution, desk.breakers
    desk.alerts.listeners.append(_emit_breaker)
    assert breakers.config.price_move_pct == 2.0
    clock.run_until(clock.now() + 3)
    service.stage(ParentOrder("R1", BTC, Side.SELL, Decimal(20), 1800.0, algo="twap"), TRADER)
    service.start("R1", TRADER)
    clock.run_until(clock.now() + 30)

    # a venue going down is taken out of routing; it comes back when up
    engine.bus.publish(VenueStatus(clock.now(), "V1", False, 0.0, "disconnected"))
    assert "V1" in service.disabled_venues
    engine.bus.publish(VenueStatus(clock.now(), "V1", True, 0.0, "reconnected"))
    assert "V1" not in service.disabled_venues

    # a 2.5 % move: inside the default 3 %, beyond the settings' 2 % → the parent is paused, resume refused
    t = clock.now()
    engine.bus.publish(book(t, "V0", 50_000.0))
    engine.bus.publish(book(t + 10, "V0", 50_000.0 * 1.025))
    assert engine.oms.parents["R1"].state is ParentState.PAUSED
    with pytest.raises(ValueError, match="price_move"):
        service.resume("R1", TRADER)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    printed = [(line["rule"], line["venue"]) for line in lines if line["event"] == "breaker"]
    assert printed == [("venue_down", "V1"), ("price_move", "V0")]


def test_the_breakers_default_to_breaker_config(tmp_path: Path) -> None:
    assert breaker_config(settings(tmp_path)) == BreakerConfig()


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("breakers.stale_action=ignore", "breakers.stale_action must be one of pause, exclude_venue, reducing, halt"),
        ("breakers.stale_after_s=0", "breakers.stale_after_s must be positive"),
        ("breakers.reject_storm_count=2.5", "breakers.reject_storm_count must be a int"),
    ],
)
def test_a_bad_breaker_setting_says_what_to_change(tmp_path: Path, item: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(tmp_path, item)
