"""Circuit breakers in the terminal: the embedded market runs them (settings' `[breakers]`), a
started parent's pre-trade forecast feeds the slippage band, and the risk panel lists what is
tripped with a Reset per row that core judges (a trader cannot reset a supervisor's breaker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from adapters.store.journal import MemoryJournal
from app.composition import Terminal, build_terminal
from app.settings import load_settings
from core.actors import Actor, Role
from core.events import BookUpdate
from core.parent import ParentState

SUPERVISOR = Actor("sam", Role.SUPERVISOR)
TRADER = Actor("tina", Role.TRADER)


def make_terminal(qtbot, tmp_path: Path, actor: Actor, *sets: str) -> Terminal:  # type: ignore[no-untyped-def]
    overrides = [f"general.data_dir={tmp_path}", *sets]
    settings = load_settings(tmp_path / "absent.toml", env={}, overrides=overrides)
    term = build_terminal(
        settings,
        None,
        actor=actor,
        start_pacer=False,
        restore_layout=False,
        settings_scope="BlockhouseTest",
        mc_paths=2_000,
        journal=MemoryJournal(),
    )
    qtbot.addWidget(term.window)
    return term


@pytest.fixture
def terminal(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    term = make_terminal(qtbot, tmp_path, TRADER)
    yield term
    term.shutdown()


def book(ts: float, venue: str, mid: float) -> BookUpdate:
    return BookUpdate(
        ts, venue, "BTC/USDT", 1, np.array([mid - 0.5]), np.array([1.0]), np.array([mid + 0.5]), np.array([1.0])
    )


def advance(term: Terminal, seconds: float) -> None:
    market = term.market
    assert market is not None
    end = market.clock.now() + seconds
    while market.clock.now() < end:
        market.clock.run_until(min(end, market.clock.now() + 5.0))


def resets(term: Terminal) -> list[tuple[str, dict[str, object]]]:
    return [(rec.actor, rec.payload) for rec in term.journal.replay() if rec.kind == "risk.breaker_reset"]


def test_a_tripped_breaker_is_listed_and_only_a_supervisor_resets_it(qtbot, terminal: Terminal) -> None:  # type: ignore[no-untyped-def]
    bridge, market = terminal.bridge, terminal.market
    assert bridge is not None and market is not None and market.breakers is not None
    panel = bridge.panels.risk
    bridge.push_slow()
    assert panel.breaker_buttons == {} and panel.findChild(type(panel.note), "breakersNone") is not None

    # the breakers watch the market from its start (as a live desk's do from connect): step past
    # their 60-s window of the real books, then 4 % within the window (limit 3 %)
    venue, now = market.venue_names[0], market.clock.now() + 61.0
    market.breakers.on_book(book(now, venue, 100_000.0))
    market.breakers.on_book(book(now + 1, venue, 104_000.0))
    key = f"price_move:{venue}"
    bridge.push_slow()
    assert list(panel.breaker_buttons) == [key]
    rule, target, action, since, detail, reset_by = (cell.text() for cell in panel.breaker_cells[key])
    assert (rule, target, action, reset_by) == ("price_move", venue, "pause", "a supervisor")
    assert since.count(":") == 2 and "4.00 %" in detail and "limit 3 %" in detail

    # a trader: refused, with who may reset it; nothing reset, nothing journaled as a reset
    qtbot.mouseClick(panel.breaker_buttons[key], Qt.MouseButton.LeftButton)
    assert key in market.breakers.tripped and resets(terminal) == []
    text = panel.result.text()
    assert text.startswith("Reset refused") and "supervisor" in text and str(TRADER) in text
    bridge.push_slow()
    assert list(panel.breaker_buttons) == [key]

    # a supervisor: reset, journaled with the supervisor, and the row is gone at once
    terminal.set_actor(SUPERVISOR)
    qtbot.mouseClick(panel.breaker_buttons[key], Qt.MouseButton.LeftButton)
    assert key not in market.breakers.tripped
    assert resets(terminal) == [(str(SUPERVISOR), {"key": key, "by": str(SUPERVISOR)})]
    assert panel.breaker_buttons == {} and "reset by sam" in panel.result.text()


def test_the_embedded_market_runs_the_breakers_a_price_move_pauses_the_running_parent(
    qtbot,  # type: ignore[no-untyped-def]
    terminal: Terminal,
) -> None:
    bridge, market = terminal.bridge, terminal.market
    assert bridge is not None and market is not None and market.breakers is not None
    engine = market.engine
    ticket = bridge.panels.ticket
    ticket.fill(side="sell", quantity="20", horizon="30m", algo="twap", rfq_mode="off")
    qtbot.mouseClick(ticket.stage_button, Qt.MouseButton.LeftButton)
    pid = "BH0001"
    assert pid in bridge.reports
    qtbot.mouseClick(ticket.start_button, Qt.MouseButton.LeftButton)
    parent = engine.oms.parents[pid]
    assert parent.state is ParentState.RUNNING
    forecast = market.breakers.forecasts[pid]  # the staged report's forecast feeds the slippage band
    assert forecast.expected_bps == bridge.reports[pid].distribution.mean_bps
    assert forecast.horizon_s == 1800.0 and forecast.start_ts == parent.start_ts
    advance(terminal, 30.0)

    # a book 5 % away from the venue's last mid arrives on the engine's bus
    venue = market.venue_names[0]
    mid = engine.books[venue].mid
    engine.bus.publish(book(market.clock.now(), venue, mid * 1.05))
    assert parent.state is ParentState.PAUSED
    assert f"price_move:{venue}" in market.breakers.tripped
    sent = len(engine.oms.children_of[pid])
    advance(terminal, 20.0)  # cancels acknowledged; nothing new sent while paused
    assert not engine.oms.open_children(pid) and len(engine.oms.children_of[pid]) == sent

    # resume is refused while tripped, naming the breaker; after a supervisor's reset it resumes
    assert not bridge._command(pid, "resume")
    assert "price_move" in bridge.panels.override.result.text()
    terminal.set_actor(SUPERVISOR)
    assert bridge.reset_breaker(f"price_move:{venue}")
    assert "stays paused" not in bridge.panels.risk.result.text()  # the target was a venue, not the parent
    terminal.set_actor(TRADER)
    assert bridge._command(pid, "resume") and parent.state is ParentState.RUNNING


def test_the_terminal_takes_the_breakers_from_the_settings(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    term = make_terminal(qtbot, tmp_path, TRADER, "breakers.price_move_pct=1.5", "breakers.stale_action=halt")
    try:
        assert term.market is not None and term.market.breakers is not None
        config = term.market.breakers.config
        assert config.price_move_pct == 1.5 and config.stale_action == "halt" and config.spread_max_bps == 50.0
    finally:
        term.shutdown()
