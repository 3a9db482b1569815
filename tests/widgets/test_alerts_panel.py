"""Alerts: severity colours, critical alerts pinned until acknowledged, acknowledge signal."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QItemSelectionModel, Qt

from core.events import Severity
from widgets import samples, theme
from widgets.alerts import SEVERITY_COLORS, AlertNotifier, AlertsModel, AlertsView
from widgets.viewmodels import AlertRow


def _select(view: AlertsView, alert_id: str) -> None:
    row = view.visible_keys().index(alert_id)
    view.table.selectionModel().select(
        view.proxy.index(row, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


def test_unacknowledged_critical_alerts_lead_and_carry_the_danger_colour(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = AlertsView()
    qtbot.addWidget(view)
    view.alerts.apply_rows(samples.alert_rows())
    keys = view.visible_keys()
    assert keys[0] == "A4"  # critical, not acknowledged
    assert keys[1:] == ["A5", "A3", "A2", "A1"]  # then newest first
    assert view.alerts.critical_pending == 1
    index = view.proxy.index(0, 1)
    assert index.data(Qt.ItemDataRole.BackgroundRole).color().name() == theme.DANGER_DARK
    colors = {SEVERITY_COLORS[s] for s in Severity}
    assert len(colors) == len(Severity)
    # pinned even when the trader sorts the other way
    view.sort_by(0, Qt.SortOrder.AscendingOrder)
    assert view.visible_keys()[0] == "A4"


def test_acknowledge_emits_and_unpins(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = AlertsView()
    qtbot.addWidget(view)
    view.alerts.apply_rows(samples.alert_rows())
    pending = []
    view.alerts.critical_pending_changed.connect(pending.append)
    _select(view, "A4")
    with qtbot.waitSignal(view.acknowledged) as blocker:
        view.ack_button.click()
    assert blocker.args == ["A4"]
    assert view.alerts.row_by_key("A4").acknowledged
    assert pending == [0]
    assert view.visible_keys()[0] == "A5"  # back in time order
    # Space acknowledges too; an already acknowledged alert emits nothing
    _select(view, "A3")
    view.table.setFocus()
    with qtbot.waitSignal(view.acknowledged) as blocker:
        qtbot.keyClick(view.table, Qt.Key.Key_Space)
    assert blocker.args == ["A3"]
    with qtbot.assertNotEmitted(view.acknowledged):
        view.acknowledge_selected()
    view.unacked_only.setChecked(True)
    assert set(view.visible_keys()) == {"A1", "A2"}


def test_trimming_never_drops_an_unacknowledged_critical(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = AlertsModel(max_rows=10)
    model.apply_rows([AlertRow("C0", 0.0, Severity.CRITICAL, "breaker", "risk", "venue down")])
    for batch in range(5):
        model.apply_rows(
            AlertRow(f"W{batch}-{i}", 1.0 + batch * 10 + i, Severity.WARNING, "reject", "okx", "rejected")
            for i in range(10)
        )
    assert model.rowCount() == 10
    assert model.row_by_key("C0") is not None
    assert model.row_by_key("W4-9") is not None and model.row_by_key("W0-0") is None
    model.acknowledge("C0")
    model.apply_rows([AlertRow("W9", 999.0, Severity.WARNING, "reject", "okx", "rejected")])
    assert model.row_by_key("C0") is None  # acknowledged: now it may age out


def _row(alert_id: str, severity: Severity, kind: str = "breaker:price_move", ts: float = 1.0) -> AlertRow:
    return AlertRow(alert_id, ts, severity, kind, "risk", f"detail {alert_id}", "alpha")


class _Desk:
    """The speaker, the desktop and the trader's focus, as the notifier sees them."""

    def __init__(self) -> None:
        self.sounds = 0
        self.notes: list[tuple[str, str]] = []
        self.focused = True

    def sound(self) -> None:
        self.sounds += 1

    def notify(self, title: str, text: str) -> None:
        self.notes.append((title, text))


def test_new_unacknowledged_criticals_are_announced_once(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = AlertsModel()
    seen: list[str] = []
    model.critical_added.connect(lambda row: seen.append(row.alert_id))
    model.apply_rows([_row("A1", Severity.WARNING), _row("A2", Severity.CRITICAL), _row("A3", Severity.ERROR)])
    model.apply_rows([_row("A2", Severity.CRITICAL, ts=2.0)])  # an update of a known alert
    model.apply_rows([dataclasses.replace(_row("A4", Severity.CRITICAL), acknowledged=True)])  # from the journal
    assert seen == ["A2"]


def test_notifier_sounds_for_criticals_and_notifies_only_when_unfocused(qtbot) -> None:  # type: ignore[no-untyped-def]
    desk = _Desk()
    clock = [100.0]
    model = AlertsModel()
    notifier = AlertNotifier(None, sound=desk.sound, notify=desk.notify, is_focused=lambda: desk.focused,
                             min_interval_s=1.0, coalesce_ms=0, clock=lambda: clock[0])
    model.critical_added.connect(notifier.on_critical)

    model.apply_rows([_row("W1", Severity.WARNING), _row("E1", Severity.ERROR)])
    qtbot.wait(20)
    assert desk.sounds == 0 and desk.notes == []  # not critical: silent

    model.apply_rows([_row("C1", Severity.CRITICAL)])  # focused: a sound, no notification
    qtbot.wait(20)
    assert desk.sounds == 1 and desk.notes == []

    desk.focused = False
    clock[0] += 0.5
    model.apply_rows([_row("C2", Severity.CRITICAL, "venue")])  # unfocused, within the sound interval
    qtbot.waitUntil(lambda: len(desk.notes) == 1, timeout=1000)
    assert desk.sounds == 1  # one sound per burst
    assert desk.notes[0] == ("Blockhouse — venue", "venue: detail C2")

    clock[0] += 1.5
    model.apply_rows([_row("C3", Severity.CRITICAL), _row("C4", Severity.CRITICAL, "trading_state")])
    qtbot.waitUntil(lambda: len(desk.notes) == 2, timeout=1000)
    assert desk.sounds == 2
    title, text = desk.notes[1]
    assert title == "Blockhouse — 2 critical alerts" and "trading state: detail C4" in text
    assert notifier.sounds == 2 and notifier.notifications == 2


def test_notifier_drops_a_notification_when_the_trader_is_back_and_survives_a_broken_tray(qtbot) -> None:  # type: ignore[no-untyped-def]
    desk = _Desk()
    desk.focused = False

    def broken(title: str, text: str) -> None:
        raise RuntimeError("no notification daemon")

    notifier = AlertNotifier(None, sound=desk.sound, notify=broken, is_focused=lambda: desk.focused, coalesce_ms=50)
    notifier.on_critical(_row("C1", Severity.CRITICAL))
    desk.focused = True  # back before the coalescing window ends
    notifier.flush()
    assert notifier.notifications == 0
    desk.focused = False
    notifier.on_critical(_row("C2", Severity.CRITICAL))
    notifier.flush()  # the failing desktop call is logged, not raised
    assert notifier.notifications == 1


def test_default_notification_is_safe_offscreen(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = AlertsView()
    qtbot.addWidget(view)
    notifier = AlertNotifier(view, sound=lambda: None, is_focused=lambda: False, coalesce_ms=0)
    notifier.on_critical(_row("C1", Severity.CRITICAL))
    notifier.flush()  # no system tray offscreen: a taskbar flash request and a log line, no error
    assert notifier.notifications == 1
