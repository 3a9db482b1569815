"""The terminal on the embedded market honours the desk-wide halt of `python main.py kill`.

`kill` writes to the desk journal (`journal.url`); the embedded terminal journals each session to
its own file, so before app/desk_halt.py it kept trading after a supervisor halted the desk.
The kill record here is written the way `kill` writes it (core/risk/standalone_kill.py).
"""

from __future__ import annotations

import time
from pathlib import Path

from adapters.store.journal import MemoryJournal, SqlJournal
from app.composition import Terminal, build_terminal
from app.settings import load_settings
from core.actors import Actor, Role
from core.events import TradingState
from core.risk.standalone_kill import standalone_kill

SAM = Actor("sam", Role.SUPERVISOR)


def desk_kill(desk_journal: Path, reason: str = "desk over its loss limit") -> None:
    journal = SqlJournal(desk_journal, durable=False)
    standalone_kill({}, [], journal, SAM, time.time, reason=reason)
    journal.close()


def terminal(qtbot, tmp_path: Path, actor: Actor = SAM) -> Terminal:  # type: ignore[no-untyped-def]
    settings = load_settings(tmp_path / "absent.toml", env={}, overrides=[
        f"general.data_dir={tmp_path}", f"journal.url={tmp_path / 'desk.sqlite'}"])
    term = build_terminal(settings, None, actor=actor, start_pacer=False, restore_layout=False,
                          settings_scope="BlockhouseTest-desk-halt", mc_paths=500, journal=MemoryJournal())
    qtbot.addWidget(term.window)
    return term


def test_the_embedded_terminal_opens_halted_by_the_supervisor_who_killed_the_desk(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk_kill(tmp_path / "desk.sqlite")
    term = terminal(qtbot, tmp_path)
    try:
        risk = term.engine.risk
        assert risk.killed and risk.states["global"] is TradingState.HALTED
        assert risk.killed_by == str(SAM)
        assert "desk halted by sam(supervisor) (desk over its loss limit)" in risk.kill_reason
    finally:
        term.shutdown()


def test_a_kill_written_while_the_terminal_runs_halts_it_within_a_poll(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    term = terminal(qtbot, tmp_path)
    try:
        assert not term.engine.risk.killed  # no desk journal yet: nothing to honour
        desk_kill(tmp_path / "desk.sqlite", "runaway algo on another terminal")
        qtbot.waitUntil(lambda: term.engine.risk.killed, timeout=3000)
        assert "runaway algo on another terminal" in term.engine.risk.kill_reason
    finally:
        term.shutdown()


def test_a_reset_desk_journal_is_not_halted_and_a_reset_in_the_window_resets_the_desk(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk_kill(tmp_path / "desk.sqlite")
    term = terminal(qtbot, tmp_path)
    try:
        assert term.engine.risk.killed
        term.engine.risk.reset_kill_switch(SAM, "checked the book")
        desk = SqlJournal(tmp_path / "desk.sqlite", durable=False)
        reset = desk.last_record("risk.kill_reset")
        kill = desk.last_record("risk.kill")
        assert reset is not None and kill is not None and reset.seq > kill.seq and reset.actor == str(SAM)
        desk.close()
    finally:
        term.shutdown()
    again = terminal(qtbot, tmp_path)  # the desk trades again: a new session opens active
    try:
        assert not again.engine.risk.killed
    finally:
        again.shutdown()
