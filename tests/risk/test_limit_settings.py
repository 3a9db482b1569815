"""Risk limits come from settings ([risk], documented defaults); a supervisor's journaled change
wins over them, also after a restart."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from adapters.store.journal import SqlJournal
from app.settings import SettingsError, load_settings, risk_limits
from core.actors import Actor, Role
from core.clock import SimClock
from core.engine import Engine
from core.risk.rules import RiskLimits

SUPER = Actor("sam", Role.SUPERVISOR)


def settings(tmp_path: Path, *overrides: str):  # type: ignore[no-untyped-def]
    return load_settings(tmp_path / "absent.toml", env={}, overrides=list(overrides))


def test_the_shipped_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    assert asdict(risk_limits(settings(tmp_path))) == asdict(RiskLimits())


def test_a_setting_sets_the_limit_and_a_bad_value_names_the_key(tmp_path: Path) -> None:
    limits = risk_limits(settings(tmp_path, "risk.max_child_qty=10", "risk.max_open_orders_per_venue=20"))
    assert limits.max_child_qty == 10.0 and limits.max_open_orders_per_venue == 20
    with pytest.raises(SettingsError, match=r"risk\.price_band_bps"):
        settings(tmp_path, "risk.price_band_bps=wide")
    with pytest.raises(SettingsError, match=r"unknown settings key 'risk\.max_childqty'"):
        settings(tmp_path, "risk.max_childqty=1")


def test_a_journaled_change_wins_over_the_settings_after_a_restart(tmp_path: Path) -> None:
    configured = risk_limits(settings(tmp_path, "risk.max_child_qty=10"))
    journal = SqlJournal(tmp_path / "j.sqlite")
    engine = Engine(SimClock(start=1_700_000_000.0), journal, limits=configured)
    assert engine.risk.limits.max_child_qty == 10.0
    engine.risk.set_limit("max_child_qty", 3.0, SUPER)
    journal.close()
    journal = SqlJournal(tmp_path / "j.sqlite")
    restarted = Engine(SimClock(start=1_700_000_100.0), journal, limits=risk_limits(settings(tmp_path)))
    assert restarted.risk.limits.max_child_qty == 3.0
    assert restarted.risk.limits.price_band_bps == 300.0
    journal.close()
