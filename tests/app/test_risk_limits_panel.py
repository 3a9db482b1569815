"""The risk panel's limit editor: a supervisor changes a limit live (journaled with the actor); a
trader sees the limits read-only, and a change forced through the panel is refused by the engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from adapters.store.journal import MemoryJournal
from app.composition import Terminal, build_terminal
from app.settings import load_settings
from core.actors import Actor, Role
from widgets.risk_panel import RiskPanel

SUPERVISOR = Actor("sam", Role.SUPERVISOR)
TRADER = Actor("tina", Role.TRADER)


@pytest.fixture
def terminal(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings(tmp_path / "absent.toml", env={}, overrides=[f"general.data_dir={tmp_path}"])
    term = build_terminal(
        settings,
        None,
        actor=SUPERVISOR,
        start_pacer=False,
        restore_layout=False,
        settings_scope="BlockhouseTest",
        mc_paths=2_000,
        journal=MemoryJournal(),
    )
    qtbot.addWidget(term.window)
    yield term
    term.shutdown()


def limit_records(term: Terminal) -> list[tuple[str, dict[str, object]]]:
    return [(rec.actor, rec.payload) for rec in term.journal.replay() if rec.kind == "risk.limit"]


def test_a_supervisor_changes_a_limit_live_and_it_is_journaled_with_the_actor(qtbot, terminal: Terminal) -> None:  # type: ignore[no-untyped-def]
    bridge = terminal.bridge
    assert bridge is not None
    panel = bridge.panels.risk
    bridge.push_slow()
    assert panel.current["max_child_qty"].text() == "50"
    assert panel.edits["max_child_qty"].isEnabled()
    panel.edits["max_child_qty"].setText("12.5")
    qtbot.mouseClick(panel.buttons["max_child_qty"], Qt.MouseButton.LeftButton)
    assert terminal.engine.risk.limits.max_child_qty == 12.5  # in force at once
    assert panel.current["max_child_qty"].text() == "12.5"
    assert limit_records(terminal) == [(str(SUPERVISOR), {"name": "max_child_qty", "old": 50.0, "new": 12.5})]
    assert "journaled" in panel.result.text()


def test_a_trader_sees_the_limits_read_only_and_the_engine_refuses_a_forced_change(qtbot, terminal: Terminal) -> None:  # type: ignore[no-untyped-def]
    bridge = terminal.bridge
    assert bridge is not None
    terminal.set_actor(TRADER)
    panel = bridge.panels.risk
    bridge.push_slow()
    assert not panel.edits["desk_credit_limit"].isEnabled() and not panel.buttons["desk_credit_limit"].isEnabled()
    panel.limit_change_requested.emit("desk_credit_limit", 1e12)  # as if the UI were bypassed
    assert terminal.engine.risk.limits.desk_credit_limit == 30_000_000.0
    assert limit_records(terminal) == []
    assert panel.result.text().startswith("Refused") and "supervisor" in panel.result.text()


def test_the_editor_rejects_text_that_is_not_a_number(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = RiskPanel()
    qtbot.addWidget(panel)
    panel.set_limits({"max_child_qty": 50.0})
    panel.set_editable(True)
    with qtbot.assertNotEmitted(panel.limit_change_requested):
        panel.edits["max_child_qty"].setText("lots")
        panel.buttons["max_child_qty"].click()
    assert "number" in panel.result.text()
    with qtbot.waitSignal(panel.limit_change_requested) as signal:
        panel.edits["max_child_qty"].setText("1,000")
        panel.buttons["max_child_qty"].click()
    assert signal.args == ["max_child_qty", 1000.0]


def test_the_terminal_starts_from_the_settings_limits_and_shows_them(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(
        tmp_path / "absent.toml", env={}, overrides=[f"general.data_dir={tmp_path}", "risk.max_child_qty=7"]
    )
    term = build_terminal(
        settings, None, actor=TRADER, start_pacer=False, restore_layout=False, settings_scope="BlockhouseTest",
        mc_paths=2_000, journal=MemoryJournal(),
    )  # fmt: skip
    qtbot.addWidget(term.window)
    try:
        assert term.engine.risk.limits.max_child_qty == 7.0
        assert term.bridge is not None
        term.bridge.push_slow()
        assert term.bridge.panels.risk.current["max_child_qty"].text() == "7"
    finally:
        term.shutdown()
