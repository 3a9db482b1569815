"""Alerts panel: surveillance, circuit breakers, rejects, quotes — by severity, acknowledged by hand.

Critical alerts stay pinned at the top until acknowledged and are never trimmed; other alerts
are trimmed oldest first past `max_rows`. Acknowledging emits `acknowledged(alert_id)` for the
app to journal; the row is marked at once so the trader sees the effect.

`AlertNotifier` makes critical alerts heard: a sound for every burst of them, and — only when the
terminal is not the active application — a desktop notification and a taskbar flash. Sound,
notification and the focus test are injectable (tests, a desk's own paging hook).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QPushButton, QStyle, QSystemTrayIcon, QWidget

from core.events import Severity
from widgets import theme
from widgets.tables import BlotterView, Column, RowTableModel
from widgets.viewmodels import AlertRow

Index = QModelIndex | QPersistentModelIndex
log = logging.getLogger(__name__)

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
    """Alerts keyed by id. `critical_pending_changed(n)` fires when the pinned count changes;
    `critical_added(row)` for each new unacknowledged critical alert (the notifier listens)."""

    critical_pending_changed = Signal(int)
    critical_added = Signal(object)

    def __init__(self, parent: Any = None, *, max_rows: int = 500) -> None:
        super().__init__(ALERT_COLUMNS, parent)
        self.max_rows = max_rows
        self._pinned = 0
        self._critical_bg = QBrush(QColor(theme.DANGER_DARK))
        self._bold = QFont()
        self._bold.setBold(True)

    def apply_rows(self, rows: Iterable[AlertRow]) -> tuple[int, int]:
        rows = list(rows)
        fresh = {r.key: r for r in rows if is_pinned(r) and self.row_index(r.key) is None}
        result = super().apply_rows(rows)
        self._trim()
        self._recount()
        for row in fresh.values():
            self.critical_added.emit(row)
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

    def _size_columns_once(self, *args: object) -> None:
        """Size to the first rows, but wide enough for a bold (pinned critical) severity and kind."""
        first = not self._sized
        super()._size_columns_once(*args)
        if not first:
            return
        bold = QFont(self.table.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        for column, sample in ((1, "critical"), (2, "trading_state"), (3, "surveillance")):
            need = metrics.horizontalAdvance(sample) + 18  # cell padding
            if self.table.columnWidth(column) < need:
                self.table.setColumnWidth(column, need)

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


# ---- making critical alerts heard ------------------------------------------------------------------

SOUND_MIN_INTERVAL_S = 1.0  # a burst of critical alerts (a kill switch raises several) beeps once
NOTIFY_COALESCE_MS = 300  # criticals arriving within this window share one desktop notification
NOTIFY_TIMEOUT_MS = 15_000  # how long the desktop notification stays (the row stays until acknowledged)


class AlertNotifier(QObject):
    """Sound + desktop notification for critical alerts (connect `on_critical` to
    `AlertsModel.critical_added`).

    - `sound()`: every critical alert, focused or not, at most once per `min_interval_s`
      (default: `QApplication.beep()` — PySide6-Essentials has no QtMultimedia).
    - `notify(title, text)`: only while `is_focused()` is False, one per burst of criticals
      (default: a system-tray balloon when a tray exists, and a taskbar flash of `window`).
    - `is_focused()`: default — the application is active (any of its windows, including an RFQ
      dialog, has the focus).
    """

    def __init__(
        self,
        window: QWidget | None = None,
        *,
        sound: Callable[[], None] | None = None,
        notify: Callable[[str, str], None] | None = None,
        is_focused: Callable[[], bool] | None = None,
        min_interval_s: float = SOUND_MIN_INTERVAL_S,
        coalesce_ms: int = NOTIFY_COALESCE_MS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.sound = sound or QApplication.beep
        self.notify = notify or self._desktop_notification
        self.is_focused = is_focused or self._application_active
        self.min_interval_s = min_interval_s
        self.clock = clock
        self.sounds = 0
        self.notifications = 0
        self._last_sound = -float("inf")
        self._pending: list[AlertRow] = []
        self._tray: QSystemTrayIcon | None = None
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(max(0, coalesce_ms))
        self._flush.timeout.connect(self.flush)

    def on_critical(self, row: AlertRow) -> None:
        now = self.clock()
        if now - self._last_sound >= self.min_interval_s:
            self._last_sound = now
            self.sounds += 1
            self._safely(self.sound)
        if not self.is_focused():
            self._pending.append(row)
            if not self._flush.isActive():
                self._flush.start()

    def flush(self) -> None:
        """Raise the pending notification now (the coalescing timer calls this)."""
        self._flush.stop()
        rows, self._pending = self._pending, []
        if not rows or self.is_focused():  # the trader came back before it was raised
            return
        first = rows[0]
        title = f"Blockhouse — {first.kind.replace('_', ' ')}" if len(rows) == 1 else \
            f"Blockhouse — {len(rows)} critical alerts"
        text = "\n".join(f"{r.kind.replace('_', ' ')}: {r.detail}" for r in rows[:4])
        if len(rows) > 4:
            text += f"\n… and {len(rows) - 4} more"
        self.notifications += 1
        self._safely(lambda: self.notify(title, text))

    # ---- defaults ---------------------------------------------------------------------------------

    @staticmethod
    def _application_active() -> bool:
        return QGuiApplication.applicationState() == Qt.ApplicationState.ApplicationActive

    def _desktop_notification(self, title: str, text: str) -> None:
        if self.window is not None:
            QApplication.alert(self.window, 0)  # taskbar flash until the window is activated
        if not QSystemTrayIcon.isSystemTrayAvailable():  # offscreen, or a desktop without a tray
            log.info("critical alert (no system tray for a notification): %s — %s", title, text)
            return
        if self._tray is None:
            icon = self.window.windowIcon() if self.window is not None else None
            if icon is None or icon.isNull():
                icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            self._tray = QSystemTrayIcon(icon, self)
            self._tray.setToolTip("Blockhouse")
            if self.window is not None:
                self._tray.messageClicked.connect(self._raise_window)
            self._tray.show()
        self._tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Critical, NOTIFY_TIMEOUT_MS)

    def _raise_window(self) -> None:
        if self.window is not None:
            self.window.showNormal()
            self.window.raise_()
            self.window.activateWindow()

    @staticmethod
    def _safely(action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:  # a broken sound or tray must never lose the alert itself
            log.exception("alert sound/notification failed")
