"""Alerts panel: surveillance, circuit breakers, rejects, quotes — by severity, acknowledged by hand.

Critical alerts stay pinned at the top until acknowledged and are never trimmed; other alerts
are trimmed oldest first past `max_rows`. Acknowledging emits `acknowledged(alert_id)` for the
app to journal; the row is marked at once so the trader sees the effect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent
from PySide6.QtWidgets import QCheckBox, QPushButton, QWidget

from core.events import Severity
from widgets import theme
from widgets.tables import BlotterView, Column, RowTableModel
from widgets.viewmodels import AlertRow

Index = QModelIndex | QPersistentModelIndex

SEVERITY_COLORS: dict[Severity, str] = {
    Severity.INFO: theme.MUTED,
    Severity.WARNING: theme.AMBER,
    Severity.ERROR: theme.ASK,
    Severity.CRITICAL: "#ffffff",
}

ALERT_COLUMNS: tuple[Column, ...] = (
    Column("Time", lambda r: r.ts, "time", tooltip="UTC"),
    Column("Severity", lambda r: r.severity.name.lower(), color=lambda r: SEVERITY_COLORS[r.severity]),
    Column("Kind", lambda r: r.kind),
    Column("Source", lambda r: r.source),
    Column("Detail", lambda r: r.detail, cell_tooltip=lambda r: r.detail),
    Column("Venue", lambda r: r.venue),
    Column("Parent", lambda r: r.parent_id),
    Column("Ack", lambda r: "✓" if r.acknowledged else "", tooltip="Acknowledged"),
)


def is_pinned(row: AlertRow) -> bool:
    """Critical and not yet acknowledged: stays on top and is never trimmed."""
    return row.severity >= Severity.CRITICAL and not row.acknowledged


class AlertsModel(RowTableModel):
    """Alerts keyed by id. `critical_pending_changed(n)` fires when the pinned count changes."""

    critical_pending_changed = Signal(int)

    def __init__(self, parent: Any = None, *, max_rows: int = 500) -> None:
        super().__init__(ALERT_COLUMNS, parent)
        self.max_rows = max_rows
        self._pinned = 0
        self._critical_bg = QBrush(QColor(theme.DANGER_DARK))
        self._bold = QFont()
        self._bold.setBold(True)

    def apply_rows(self, rows: Iterable[AlertRow]) -> tuple[int, int]:
        result = super().apply_rows(rows)
        self._trim()
        self._recount()
        return result

    def acknowledge(self, alert_id: str) -> bool:
        """Mark one alert acknowledged locally; False when unknown or already acknowledged."""
        row = self.row_by_key(alert_id)
        if row is None or row.acknowledged:
            return False
        super().apply_rows([dataclasses.replace(row, acknowledged=True)])
        self._trim()
        self._recount()
        return True

    @property
    def critical_pending(self) -> int:
        return self._pinned

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.FontRole):
            if is_pinned(self.row(index.row())):
                return self._critical_bg if role == Qt.ItemDataRole.BackgroundRole else self._bold
            return None
        return super().data(index, role)

    def _trim(self) -> None:
        excess = self.rowCount() - self.max_rows
        if excess <= 0:
            return
        candidates = sorted((r for r in self.rows() if not is_pinned(r)), key=lambda r: r.ts)
        self.remove_keys(r.key for r in candidates[:excess])

    def _recount(self) -> None:
        pinned = sum(1 for r in self.rows() if is_pinned(r))
        if pinned != self._pinned:
            self._pinned = pinned
            self.critical_pending_changed.emit(pinned)


class AlertsView(BlotterView):
    """Alerts table, newest first with pinned criticals on top. Space or the button acknowledges."""

    acknowledged = Signal(str)

    def __init__(self, model: AlertsModel | None = None, parent: QWidget | None = None) -> None:
        self.alerts = model if model is not None else AlertsModel()
        super().__init__(self.alerts, parent, name="alerts", proxy=_PinnedFirstProxy())

        self.unacked_only = QCheckBox("Unacknowledged only")
        self.unacked_only.toggled.connect(self._set_unacked_only)
        self.ack_button = QPushButton("Acknowledge (Space)")
        self.ack_button.setToolTip("Acknowledge the selected alerts; critical alerts stay until acknowledged")
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.toolbar.insertWidget(1, self.unacked_only)
        self.toolbar.insertWidget(2, self.ack_button)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.sort_by(0, Qt.SortOrder.DescendingOrder)

    def acknowledge_selected(self) -> list[str]:
        done = [key for key in self.selected_keys() if self.alerts.acknowledge(key)]
        for alert_id in done:
            self.acknowledged.emit(alert_id)
        return done

    def handle_key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            self.acknowledge_selected()
            return True
        return False

    def _set_unacked_only(self, on: bool) -> None:
        assert isinstance(self.proxy, _PinnedFirstProxy)
        self.proxy.unacked_only = on
        self.proxy.invalidate()
        self._update_count()


class _PinnedFirstProxy(QSortFilterProxyModel):
    """Sorts as asked, except unacknowledged criticals always come first."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.unacked_only = False

    def lessThan(self, left: Index, right: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, AlertsModel)
        lp, rp = is_pinned(model.row(left.row())), is_pinned(model.row(right.row()))
        if lp != rp:
            # Qt reverses lessThan for a descending sort; answer so pinned rows still lead
            return lp if self.sortOrder() == Qt.SortOrder.AscendingOrder else rp
        return bool(super().lessThan(left, right))

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, AlertsModel)
        if self.unacked_only and model.row(source_row).acknowledged:
            return False
        return bool(super().filterAcceptsRow(source_row, source_parent))
