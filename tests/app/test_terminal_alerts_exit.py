"""The terminal's critical alerts (sound, notification, journaled acknowledgement, jump to the
source), the adaptive policy's decisions in the override panel, and exit with working orders
(cancel all / leave working / don't exit), on the embedded market with the real widgets, offscreen.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from adapters.store.journal import MemoryJournal
from app.composition import Terminal
from core.actors import Actor, Role
from core.events import Severity, VenueStatus
from core.parent import ParentState
from tests.app.terminal_kit import advance, open_terminal
from widgets.alerts import AlertsView
from widgets.exit_dialog import CANCEL, LEAVE, STAY
from widgets.override_panel import POLICY_DECISIONS_SHOWN

SUPERVISOR = Actor("carol", Role.SUPERVISOR)


@pytest.fixture
def terminal(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_terminal(qtbot, tmp_path, SUPERVISOR, mc_paths=500) as term:
        yield term


def start_parent(term: Terminal, qtbot, algo: str = "ac", rfq_mode: str = "off") -> str:  # type: ignore[no-untyped-def]
    bridge = term.bridge
    assert bridge is not None
    ticket = bridge.panels.ticket
    ticket.fill(side="sell", quantity="20", horizon="30m", algo=algo, urgency="medium", rfq_mode=rfq_mode)
    ticket.stage()
    pid = ticket.staged_id
    assert pid and bridge.start(pid)
    advance(term, 60.0, qtbot)
    return pid


def journal(term: Terminal, kind: str) -> list:  # type: ignore[type-arg]
    assert isinstance(term.journal, MemoryJournal)
    return [r for r in term.journal.records if r.kind == kind]


class Recorder:
    """Stands in for the speaker and the desktop: counts what the notifier asked for."""

    def __init__(self) -> None:
        self.sounds = 0
        self.notes: list[tuple[str, str]] = []
        self.focused = True

    def sound(self) -> None:
        self.sounds += 1

    def notify(self, title: str, text: str) -> None:
        self.notes.append((title, text))


def _select(view: AlertsView, alert_id: str) -> None:
    row = view.visible_keys().index(alert_id)
    view.table.selectionModel().select(
        view.proxy.index(row, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


# ---- alerts ----------------------------------------------------------------------------------------


def test_critical_alerts_sound_notify_when_unfocused_and_journal_their_acknowledgement(
    qtbot, terminal: Terminal  # type: ignore[no-untyped-def]
) -> None:
    bridge, market = terminal.bridge, terminal.market
    assert bridge is not None and market is not None
    rec = Recorder()
    notifier = bridge.notifier
    notifier.sound, notifier.notify, notifier.is_focused = rec.sound, rec.notify, lambda: rec.focused
    notifier.min_interval_s = 0.0
    alerts = bridge.panels.alerts

    # informative alerts make no noise, focused or not
    rec.focused = False
    pid = start_parent(terminal, qtbot)
    qtbot.wait(notifier._flush.interval() + 50)
    assert rec.sounds == 0 and rec.notes == []

    # a venue going down while the trader looks elsewhere: a sound per critical alert (the venue's
    # and the venue_down breaker's that takes it out of routing) and one desktop notification
    venue = market.venue_names[0]
    market.engine.bus.publish(VenueStatus(market.clock.now(), venue, False, 0.0, "websocket closed"))
    assert rec.sounds == 2
    qtbot.waitUntil(lambda: len(rec.notes) == 1, timeout=2000)
    assert "critical alerts" in rec.notes[0][0] and "breaker:venue down" in rec.notes[0][1]
    assert "venue: websocket closed" in rec.notes[0][1]
    down = next(r for r in alerts.alerts.rows() if r.kind == "venue" and r.venue == venue)
    assert down.severity is Severity.CRITICAL and alerts.alerts.critical_pending >= 1
    breaker = next(r for r in alerts.alerts.rows() if r.kind == "breaker:venue_down" and r.venue == venue)
    # both pinned on top until acknowledged
    assert set(alerts.visible_keys()[:2]) == {down.alert_id, breaker.alert_id}

    # the same while the terminal is in front: the sound only
    rec.focused = True
    market.engine.bus.publish(VenueStatus(market.clock.now(), market.venue_names[1], False, 0.0, "timeout"))
    qtbot.wait(notifier._flush.interval() + 50)
    assert rec.sounds == 4 and len(rec.notes) == 1

    # a burst while unfocused (the parent stopped and trading halted together): one notification
    rec.focused = False
    bridge.kill_switch()
    bridge.push_blotters()
    qtbot.waitUntil(lambda: len(rec.notes) == 2, timeout=2000)
    title, text = rec.notes[1]
    assert "critical alerts" in title and "kill switch" in text
    assert terminal.engine.oms.parents[pid].state is ParentState.STOPPED_BY_RISK
    stopped = next(r for r in alerts.alerts.rows() if r.kind == "parent" and "stopped" in r.detail)
    assert stopped.severity is Severity.CRITICAL

    # acknowledging unpins and is journaled through the OMS with the logged-in actor
    _select(alerts, down.alert_id)
    alerts.ack_button.click()
    assert alerts.alerts.row_by_key(down.alert_id).acknowledged
    acks = journal(terminal, "alert.ack")
    assert len(acks) == 1 and acks[0].actor == str(SUPERVISOR)
    assert acks[0].payload["alert_id"] == down.alert_id and acks[0].payload["kind"] == "venue"
    assert acks[0].payload["severity"] == "critical" and acks[0].payload["venue"] == venue


def test_a_manual_quote_is_critical_and_activating_an_alert_jumps_to_its_source(
    qtbot, terminal: Terminal  # type: ignore[no-untyped-def]
) -> None:
    bridge, market, window = terminal.bridge, terminal.market, terminal.window
    assert bridge is not None and market is not None
    rec = Recorder()
    bridge.notifier.sound, bridge.notifier.notify = rec.sound, rec.notify
    pid = start_parent(terminal, qtbot, rfq_mode="manual")
    panels = bridge.panels

    # a quote awaiting the trader's answer is critical
    assert bridge.request_quotes(pid) >= 1
    advance(terminal, 3.5, qtbot)
    quotes = [r for r in panels.alerts.alerts.rows() if r.kind == "rfq_quote"]
    assert quotes and all(r.severity is Severity.CRITICAL for r in quotes)
    assert rec.sounds >= 1

    # Enter on a parent's alert: the parent is selected in the blotter, the override panel in front
    bridge.selected = ""
    panels.parents.table.clearSelection()
    window.show_panel("ticket")
    row = next(r for r in panels.alerts.alerts.rows() if r.parent_id == pid)
    table = panels.alerts.table
    table.setCurrentIndex(panels.alerts.proxy.index(panels.alerts.visible_keys().index(row.alert_id), 0))
    with qtbot.waitSignal(panels.alerts.row_activated, timeout=1000) as activated:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert activated.args == [row.alert_id]
    assert bridge.selected == pid and panels.override.parent_id == pid
    assert panels.parents.selected_keys() == [pid]
    assert not window.docks["override"].visibleRegion().isEmpty()

    # … on a venue's alert: that venue's ladder takes the focus
    venue = market.venue_names[2]
    alert = bridge.add_alert(Severity.CRITICAL, "venue", venue, "venue down", venue=venue)
    panels.alerts.row_activated.emit(alert.alert_id)
    assert panels.ladders[venue].hasFocus() or window.focusWidget() is panels.ladders[venue]


# ---- the adaptive policy's decisions -------------------------------------------------------------


def test_override_panel_lists_the_policys_latest_decisions_with_reasons(
    qtbot, terminal: Terminal  # type: ignore[no-untyped-def]
) -> None:
    bridge, market = terminal.bridge, terminal.market
    assert bridge is not None and market is not None
    pid = start_parent(terminal, qtbot, algo="adaptive")
    panel = bridge.panels.override
    runner = market.execution.runners[pid]
    bridge.refresh_override()
    label = runner.algo.policy_label  # which parameters: the scenario's fitted policy or the defaults
    assert label in ("policy: defaults", f"policy: fitted resources/policy/{market.scenario.name}.json")
    assert panel.policy_caption.text() == f"Adaptive policy: no decisions yet ({label})"
    assert not panel.policy_decisions.isVisible()

    t0 = market.clock.now()
    for k in range(POLICY_DECISIONS_SHOWN + 5):
        runner.decisions.append({"ts": t0 + k, "reason": f"decision {k}: sell participation ×0.3 on beta",
                                 "venue": "beta", "participation_mult": 0.3})
    bridge.refresh_override()
    lines = panel.policy_model.stringList()
    assert len(lines) == POLICY_DECISIONS_SHOWN and panel.policy_decisions.isVisible()
    last = POLICY_DECISIONS_SHOWN + 4
    assert f"decision {last}: sell participation ×0.3 on beta" in lines[0]  # newest first
    assert "venue=beta" in lines[0] and "participation_mult=0.3" in lines[0]
    assert f"decision {last - POLICY_DECISIONS_SHOWN + 1}:" in lines[-1]
    assert str(POLICY_DECISIONS_SHOWN) in panel.policy_caption.text()

    # another parent, another list; a parent of another algo says the policy is not used
    bridge.panels.ticket.fill(side="sell", quantity="5", horizon="30m", algo="twap", rfq_mode="off")
    bridge.panels.ticket.stage()
    other = bridge.panels.ticket.staged_id
    bridge.select_parent(other)
    assert panel.policy_model.stringList() == []
    assert "not used by this parent (algo twap)" in panel.policy_caption.text()


# ---- exit with working orders --------------------------------------------------------------------


def _answer_with(choice: str, asked: list[str]):  # type: ignore[no-untyped-def]
    def prompt(summary: str, can_cancel: bool, answer) -> None:  # type: ignore[no-untyped-def]
        asked.append(summary)
        answer(choice)

    return prompt


def test_exit_with_nothing_working_closes_without_asking(qtbot, terminal: Terminal) -> None:  # type: ignore[no-untyped-def]
    bridge = terminal.bridge
    assert bridge is not None
    asked: list[str] = []
    bridge.exit_prompt = _answer_with(STAY, asked)
    assert terminal.window.close()
    assert asked == [] and not terminal.window.isVisible()
    assert journal(terminal, "terminal.exit") == []


def test_exit_dont_exit_keeps_the_window_and_the_orders(qtbot, terminal: Terminal) -> None:  # type: ignore[no-untyped-def]
    bridge, window = terminal.bridge, terminal.window
    assert bridge is not None
    pid = start_parent(terminal, qtbot)
    # the real dialog: three answers, "Don't exit" is the default
    assert not window.close()
    dialog = bridge.exit_dialog
    assert dialog is not None and dialog.isVisible() and pid in dialog.informativeText()
    assert dialog.defaultButton() is dialog.stay_button and dialog.cancel_button.isEnabled()
    assert [b.text() for b in (dialog.cancel_button, dialog.leave_button, dialog.stay_button)] == [
        "Cancel all working orders", "Leave them working", "Don't exit"]
    assert not window.close()  # a second close while the question is open asks nothing new
    assert bridge.exit_dialog is dialog
    qtbot.mouseClick(dialog.stay_button, Qt.MouseButton.LeftButton)
    assert window.isVisible() and not bridge.exit_pending
    assert terminal.engine.oms.parents[pid].state is ParentState.RUNNING
    assert journal(terminal, "terminal.exit") == []


def test_exit_cancel_all_goes_through_the_engine_waits_for_acks_and_is_journaled(
    qtbot, terminal: Terminal  # type: ignore[no-untyped-def]
) -> None:
    bridge, market, window = terminal.bridge, terminal.market, terminal.window
    assert bridge is not None and market is not None
    pid = start_parent(terminal, qtbot)
    oms = terminal.engine.oms
    working = oms.open_children()
    assert working, "the algo should have child orders resting after a minute"
    asked: list[str] = []
    bridge.exit_prompt = _answer_with(CANCEL, asked)
    assert not window.close()  # waits for the venues' acks before closing
    assert len(asked) == 1 and pid in asked[0] and "child orders working" in asked[0]
    assert oms.parents[pid].state is ParentState.CANCELED
    intents = [r for r in journal(terminal, "child.cancel_intent") if r.payload["reason"] == "canceled on exit"]
    assert {r.payload["client_id"] for r in intents} == {c.client_id for c in working}
    assert all(r.actor == str(SUPERVISOR) for r in intents)
    (exit_rec,) = journal(terminal, "terminal.exit")
    assert exit_rec.actor == str(SUPERVISOR) and exit_rec.payload["choice"] == "cancel"
    assert exit_rec.payload["parents"] == [pid] and len(exit_rec.payload["children"]) == len(working)
    assert window.isVisible() and bridge.exit_pending

    # the venues answer (the simulated clock runs); the window closes once every cancel is confirmed
    def acks_in() -> bool:
        market.clock.run_until(market.clock.now() + 0.5)
        return not window.isVisible()

    qtbot.waitUntil(acks_in, timeout=4000)
    assert not oms.open_children()
    (done,) = journal(terminal, "terminal.exit_cancels")
    assert done.payload["unconfirmed"] == [] and done.payload["confirmed"] == len(working)
    assert done.actor == str(SUPERVISOR)


def test_exit_cancel_all_gives_up_after_the_bound_and_records_the_unconfirmed(
    qtbot, terminal: Terminal  # type: ignore[no-untyped-def]
) -> None:
    bridge, window = terminal.bridge, terminal.window
    assert bridge is not None
    start_parent(terminal, qtbot)
    working = {c.client_id for c in terminal.engine.oms.open_children()}
    bridge.exit_ack_wait_s = 0.3
    bridge.exit_prompt = _answer_with(CANCEL, [])
    assert not window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)  # no clock advance: no venue answers
    (done,) = journal(terminal, "terminal.exit_cancels")
    assert set(done.payload["unconfirmed"]) == working and done.payload["waited_s"] >= 0.3


def test_exit_leave_working_closes_at_once_and_leaves_the_orders(qtbot, terminal: Terminal) -> None:  # type: ignore[no-untyped-def]
    bridge, window = terminal.bridge, terminal.window
    assert bridge is not None
    pid = start_parent(terminal, qtbot)
    working = terminal.engine.oms.open_children()
    bridge.exit_prompt = _answer_with(LEAVE, [])
    assert not window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=1000)  # closed by the answer, without waiting
    assert terminal.engine.oms.parents[pid].state is ParentState.RUNNING
    assert [c.client_id for c in terminal.engine.oms.open_children()] == [c.client_id for c in working]
    (exit_rec,) = journal(terminal, "terminal.exit")
    assert exit_rec.payload["choice"] == "leave" and exit_rec.actor == str(SUPERVISOR)
    assert not [r for r in journal(terminal, "child.cancel_intent") if r.payload["reason"] == "canceled on exit"]


def test_exit_without_a_login_cannot_cancel(qtbot, terminal: Terminal) -> None:  # type: ignore[no-untyped-def]
    bridge, window = terminal.bridge, terminal.window
    assert bridge is not None
    start_parent(terminal, qtbot)
    bridge.set_actor(None)
    assert not window.close()
    dialog = bridge.exit_dialog
    assert dialog is not None and not dialog.cancel_button.isEnabled() and "Log in" in dialog.informativeText()
    dialog.choice.emit(CANCEL)  # even if asked: nothing is canceled, the window stays
    assert window.isVisible() and journal(terminal, "terminal.exit") == []


# ---- a parent stopped with nothing working ---------------------------------------------------------


def test_a_kill_with_no_child_working_shows_the_parent_stopped_and_raises_its_critical_alert(
    terminal: Terminal, qtbot  # type: ignore[no-untyped-def]
) -> None:
    """Regression: the parents blotter redrew a row only on the parent's progress events, so a kill
    switch pressed while none of its children was working (no fill, no cancel, no progress) left
    the row showing RUNNING and raised no 'stopped' alert."""
    bridge, engine = terminal.bridge, terminal.engine
    assert bridge is not None
    pid = start_parent(terminal, qtbot)
    execution = bridge.execution
    execution.pause(pid, SUPERVISOR)
    advance(terminal, 3.0, qtbot)  # the pause's cancels are acknowledged
    assert not engine.oms.open_children(pid)
    assert bridge.panels.parents.model.row_by_key(pid).state is ParentState.PAUSED

    assert bridge.kill_switch()  # pushes the blotters itself; the market does not move
    assert engine.oms.parents[pid].state is ParentState.STOPPED_BY_RISK
    assert bridge.panels.parents.model.row_by_key(pid).state is ParentState.STOPPED_BY_RISK
    stopped = [a for a in bridge.panels.alerts.alerts.rows() if a.kind == "parent" and "stopped by risk" in a.detail]
    assert stopped and stopped[0].severity is Severity.CRITICAL
