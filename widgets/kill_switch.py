"""The kill switch button (supervisor only) and the banner that makes HALTED impossible to miss.

The button asks for confirmation in a non-modal QMessageBox opened with `open()` (never
`exec()`: no nested event loop under qasync) and emits `kill_confirmed` only on an explicit
"Kill" — Enter and Escape both land on Cancel.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractButton, QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from core.events import TradingState
from widgets import theme

CONFIRM_TEXT = (
    "Halt ALL trading?\n\n"
    "Every algo stops, every working order is canceled on every venue, and new orders are "
    "refused until a supervisor resets the trading state."
)


class KillSwitchButton(QPushButton):
    """Big red button; styled by the theme's `QPushButton#killSwitch` rule."""

    kill_confirmed = Signal()

    def __init__(self, parent: QWidget | None = None, *, text: str = "KILL SWITCH") -> None:
        super().__init__(text, parent)
        self.setObjectName("killSwitch")
        self.setToolTip("Halt everything: stop all algos, cancel all working orders on every venue")
        font = self.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.setFont(font)
        metrics = QFontMetrics(font)
        self.setMinimumHeight(metrics.height() * 2 + 12)
        self.setMinimumWidth(metrics.horizontalAdvance(text) + 56)
        self.setAutoDefault(False)
        self.confirm_box: QMessageBox | None = None
        self.kill_button: QAbstractButton | None = None
        self.clicked.connect(self.ask_confirmation)

    def ask_confirmation(self) -> None:
        """Open (or raise) the non-modal confirmation; `kill_confirmed` fires on "Kill"."""
        if self.confirm_box is not None and self.confirm_box.isVisible():
            self.confirm_box.raise_()
            return
        box = QMessageBox(self)
        box.setObjectName("killSwitchConfirm")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Kill switch")
        box.setText(CONFIRM_TEXT)
        self.kill_button = box.addButton("Kill — halt everything", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.buttonClicked.connect(self._on_answer)
        self.confirm_box = box
        box.open()

    def _on_answer(self, button: QAbstractButton) -> None:
        if button is self.kill_button:
            self.kill_confirmed.emit()


class HaltedBanner(QWidget):
    """Full-width banner: red for HALTED, amber for REDUCING, hidden while ACTIVE.

    Shows who halted and when, the reason, and what the kill switch canceled per venue.
    `reset_requested` fires from the Reset button (shown only with `set_can_reset(True)`).
    """

    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("haltedBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.label = QLabel()
        self.label.setObjectName("haltedText")
        self.label.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setObjectName("haltedDetail")
        self.detail.setWordWrap(True)
        self.reset_button = QPushButton("Reset trading state…")
        self.reset_button.setObjectName("haltedReset")
        self.reset_button.setVisible(False)
        self.reset_button.clicked.connect(self.reset_requested)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.label)
        column.addWidget(self.detail)
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 10, 16, 10)
        row.addLayout(column, 1)
        row.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.state = TradingState.ACTIVE
        self._can_reset = False
        self.setVisible(False)

    def set_can_reset(self, allowed: bool) -> None:
        """Supervisors get the Reset button; traders only see the banner."""
        self._can_reset = allowed
        self.reset_button.setVisible(allowed and self.state is not TradingState.ACTIVE)

    def set_state(
        self,
        state: TradingState,
        actor: str = "",
        ts: float | None = None,
        reason: str = "",
        canceled_by_venue: Mapping[str, int] | None = None,
    ) -> None:
        self.state = state
        if state is TradingState.ACTIVE:
            self.setVisible(False)
            return
        when = time.strftime("%H:%M:%S UTC", time.gmtime(ts)) if ts is not None else ""
        halted = state is TradingState.HALTED
        headline = "HALTED — kill switch" if halted else "REDUCING — only risk-reducing orders"
        by = f" by {actor}" if actor else ""
        at = f" at {when}" if when else ""
        self.label.setText(f"{headline}{by}{at}")
        parts = []
        if reason:
            parts.append(reason)
        if canceled_by_venue:
            total = sum(canceled_by_venue.values())
            per_venue = " · ".join(f"{venue} {n}" for venue, n in sorted(canceled_by_venue.items()))
            parts.append(f"Canceled {total} working orders: {per_venue}")
        if halted:
            parts.append("New orders are refused until a supervisor resets trading.")
        self.detail.setText("   ".join(parts))
        bg, fg, border = (theme.DANGER, "#ffffff", "#ff5252") if halted else (theme.AMBER, "#14171c", "#f5cd6a")
        self.setStyleSheet(
            f"QWidget#haltedBanner {{ background: {bg}; border-bottom: 3px solid {border}; }}"
            f"QLabel#haltedText {{ background: transparent; color: {fg}; font-size: 16pt; font-weight: 800; }}"
            f"QLabel#haltedDetail {{ background: transparent; color: {fg}; font-size: 10pt; }}"
            f"QPushButton#haltedReset {{ background: {fg}; color: {bg}; font-weight: 800; border: 0; "
            "padding: 6px 14px; }"
        )
        self.reset_button.setVisible(self._can_reset)
        self.setVisible(True)

    @property
    def text(self) -> str:
        return self.label.text()
