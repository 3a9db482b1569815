"""The risk panel: trading states and the latest risk events (a summary the bridge writes), and
the limit editor — every pre-trade limit with its current value, a field for a new one and Set.

The panel only asks (`limit_change_requested(name, value)`); the engine decides. Hard limits are
supervisor-only *in core* (`RiskGate.set_limit` refuses anyone else, journals every change with
its actor); the editor mirrors that by disabling the fields for other roles, and shows the
engine's answer with `set_result`.
"""

from __future__ import annotations

from collections.abc import Mapping

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

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setObjectName("riskSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setContentsMargins(10, 8, 10, 8)

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


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 1000 else f"{value:g}"
