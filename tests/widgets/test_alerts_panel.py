"""Alerts: severity colours, critical alerts pinned until acknowledged, acknowledge signal."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt

from core.events import Severity
from widgets import samples, theme
from widgets.alerts import SEVERITY_COLORS, AlertsModel, AlertsView
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
