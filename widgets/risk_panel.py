"""The risk panel: trading states and the latest risk events (a summary the bridge writes), the
circuit breakers tripped now — rule, venue or parent, action, since, detail, who may reset, and a
Reset button per row — and the limit editor — every pre-trade limit with its current value, a
field for a new one and Set.

The panel only asks (`limit_change_requested(name, value)`, `breaker_reset_requested(key)`); the
engine decides. Hard limits and most breaker resets are supervisor-only *in core*
(`RiskGate.set_limit`, `Breakers.reset` refuse anyone else and journal with the actor); the
editor mirrors that by disabling the fields for other roles. Reset buttons stay enabled for every
role — a trader may reset the breakers of their own parent's limits — and the engine's answer
comes back through `set_result`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from widgets import theme
from widgets.viewmodels import BreakerRow

BREAKER_COLUMNS = ("Rule", "Venue / parent", "Action", "Since (UTC)", "Detail", "Reset by", "")

# what each limit means, in the trader's words (docs/risk.md has the table)
LIMIT_HELP: dict[str, str] = {
    "max_child_qty": "Largest child order, base units",
    "max_child_notional": "Largest child order, quote notional",
    "price_band_bps": "Fat-finger band: child price within ± this of the venue mid, bps",
    "max_participation": "Share of a venue's recent volume we may take (0–1)",
    "participation_window_s": "Window for the participation check, seconds",
    "participation_min_volume": "Below this recent volume the participation check does not judge",
    "max_open_orders_per_venue": "Open orders per venue",
    "max_venue_exposure_notional": "Open notional per venue, quote",
    "duplicate_window_s": "Identical children within this window are duplicates, seconds",
    "max_parent_notional": "Largest parent, quote notional",
    "max_daily_notional": "Notional per trader and trading day, quote",
    "four_eyes_notional": "Parents above this wait for a second supervisor, quote",
    "desk_credit_limit": "Unsettled OTC notional per desk, quote",
}


class RiskPanel(QWidget):
    limit_change_requested = Signal(str, float)
    breaker_reset_requested = Signal(str)  # the breaker's key ("rule:venue" / "rule:parent")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setObjectName("riskSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setContentsMargins(10, 8, 10, 8)

        self.breakers_box = QGroupBox("Tripped circuit breakers")
        self.breakers_box.setObjectName("riskBreakers")
        self.breaker_grid = QGridLayout(self.breakers_box)
        self.breaker_grid.setColumnStretch(4, 1)
        self.breaker_rows: tuple[BreakerRow, ...] = ()
        self.breaker_buttons: dict[str, QPushButton] = {}
        self.breaker_cells: dict[str, list[QLabel]] = {}
        self._breaker_widgets: list[QWidget] = []

        self.limits_box = QGroupBox("Limits")
        self.limits_box.setObjectName("riskLimits")
        self.grid = QGridLayout(self.limits_box)
        self.grid.setColumnStretch(1, 1)
        self.result = QLabel()
        self.result.setObjectName("riskLimitResult")
        self.result.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.current: dict[str, QLabel] = {}
        self.edits: dict[str, QLineEdit] = {}
        self.buttons: dict[str, QPushButton] = {}
        self._editable = False

        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addWidget(self.summary)
        column.addWidget(self.breakers_box)
        column.addWidget(self.limits_box)
        column.addWidget(self.note)
        column.addWidget(self.result)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.set_editable(False)
        self.set_breakers([])

    # ---- fed by the bridge ----------------------------------------------------------------------

    def set_summary(self, html: str) -> None:
        if html != self.summary.text():
            self.summary.setText(html)

    def set_limits(self, values: Mapping[str, float]) -> None:
        """Current values (rows are created on first sight; a label repaints only when it changes)."""
        for name, value in values.items():
            if name not in self.current:
                self._add_row(name)
            text = _fmt(value)
            if self.current[name].text() != text:
                self.current[name].setText(text)

    def set_breakers(self, rows: Sequence[BreakerRow]) -> None:
        """The breakers tripped now; the list is rebuilt only when it changed (trips are rare)."""
        rows = tuple(rows)
        if rows == self.breaker_rows and self._breaker_widgets:
            return
        self.breaker_rows = rows
        for widget in self._breaker_widgets:
            self.breaker_grid.removeWidget(widget)
            widget.deleteLater()
        self._breaker_widgets, self.breaker_buttons, self.breaker_cells = [], {}, {}
        if not rows:
            none = QLabel("No circuit breaker tripped.")
            none.setObjectName("breakersNone")
            self._place(none, 0, 0, span=len(BREAKER_COLUMNS))
            return
        for col, title in enumerate(BREAKER_COLUMNS):
            header = QLabel(f"<b>{title}</b>")
            self._place(header, 0, col)
        for r, row in enumerate(rows, start=1):
            texts = (row.rule, row.target, row.action.replace("_", " "), _utc(row.since), row.detail, row.reset_by)
            cells = []
            for col, text in enumerate(texts):
                cell = QLabel(text)
                cell.setObjectName(f"breaker_{row.key}_{col}")
                cell.setWordWrap(col == 4)
                cell.setToolTip(row.detail)
                if col == 0:
                    cell.setStyleSheet(f"color: {theme.DANGER}; font-weight: 700;")
                self._place(cell, r, col)
                cells.append(cell)
            button = QPushButton("Reset")
            button.setObjectName(f"breakerReset_{row.key}")
            button.setAutoDefault(False)
            button.setToolTip(
                f"Reset {row.key} (by {row.reset_by}); journaled with your name. A paused parent "
                "stays paused: resume it after the reset."
            )
            button.clicked.connect(lambda _=False, k=row.key: self.breaker_reset_requested.emit(k))
            self._place(button, r, len(BREAKER_COLUMNS) - 1)
            self.breaker_buttons[row.key] = button
            self.breaker_cells[row.key] = cells

    def _place(self, widget: QWidget, row: int, col: int, span: int = 1) -> None:
        self.breaker_grid.addWidget(widget, row, col, 1, span)
        self._breaker_widgets.append(widget)

    def set_editable(self, editable: bool) -> None:
        """Supervisors edit; everyone else sees the values (the engine refuses them anyway)."""
        self._editable = editable
        for name in self.edits:
            self.edits[name].setEnabled(editable)
            self.buttons[name].setEnabled(editable)
        self.note.setText(
            "Changes take effect at once and are journaled with your name."
            if editable
            else "Hard limits: only a supervisor can change them."
        )

    def set_result(self, text: str, ok: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet(f"color: {theme.GREEN if ok else theme.DANGER};")

    # ---- rows -----------------------------------------------------------------------------------

    def _add_row(self, name: str) -> None:
        row = len(self.current)
        label = QLabel(name)
        label.setToolTip(LIMIT_HELP.get(name, name))
        current = QLabel()
        current.setObjectName(f"limitValue_{name}")
        current.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        edit = QLineEdit()
        edit.setObjectName(f"limitEdit_{name}")
        edit.setPlaceholderText("new value")
        edit.setToolTip(LIMIT_HELP.get(name, name))
        edit.returnPressed.connect(lambda n=name: self._request(n))
        button = QPushButton("Set")
        button.setObjectName(f"limitSet_{name}")
        button.setAutoDefault(False)
        button.clicked.connect(lambda _=False, n=name: self._request(n))
        edit.setEnabled(self._editable)
        button.setEnabled(self._editable)
        self.grid.addWidget(label, row, 0)
        self.grid.addWidget(current, row, 1)
        self.grid.addWidget(edit, row, 2)
        self.grid.addWidget(button, row, 3)
        self.current[name], self.edits[name], self.buttons[name] = current, edit, button

    def _request(self, name: str) -> None:
        text = self.edits[name].text().strip().replace(",", "").replace("_", "")
        try:
            value = float(text)
        except ValueError:
            self.set_result(f"{name}: enter a number, not {text!r}.", ok=False)
            return
        if value < 0:
            self.set_result(f"{name}: a limit cannot be negative.", ok=False)
            return
        self.limit_change_requested.emit(name, value)


def _utc(ts: float) -> str:
    if ts != ts:  # NaN: not known
        return "--:--:--"
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 1000 else f"{value:g}"
