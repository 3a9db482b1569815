"""The RFQ quote dialog: appears on a desk's quote without taking the keyboard from the ticket.

Non-modal (`show()`, never `exec()`), on top, shown without activation. Accept/Reject also
answer to A / R — but only while the dialog (or a child) has focus, so a stray key typed into
another panel can never accept a block. A countdown bar runs off the `now` callable (the app's
clock: simulated or live) to the quote's expiry; at expiry the dialog disables itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.types import Side
from widgets import theme
from widgets.viewmodels import RfqQuoteView

_BAR_STEPS = 1000
# countdown colour by fraction of the quote's life left: calm, hurry, last seconds
_BAR_COLORS = ((0.33, theme.GREEN), (0.12, theme.AMBER), (0.0, theme.ASK))


class RfqQuoteDialog(QDialog):
    """One quote. Signals: accepted_quote(quote_id, qty), rejected_quote(quote_id), expired(quote_id)."""

    accepted_quote = Signal(str, float)
    rejected_quote = Signal(str)
    expired = Signal(str)

    def __init__(
        self,
        quote: RfqQuoteView,
        now: Callable[[], float],
        parent: QWidget | None = None,
        *,
        tick_ms: int = 100,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("rfqQuoteDialog")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        # keep the keyboard where the trader is typing (WindowDoesNotAcceptFocus would also
        # stop the trader from ever focusing the dialog to use A / R)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
        self._now = now
        self._answered = False
        self._bar_color = ""

        self.headline = QLabel()
        self.headline.setObjectName("rfqHeadline")
        self.desk_label = QLabel()
        self.size_label = QLabel()
        self.price_label = QLabel()
        self.exchange_label = QLabel()
        self.evaluation_label = QLabel()
        self.evaluation_label.setObjectName("rfqEvaluation")
        self.recommendation_label = QLabel()
        self.recommendation_label.setObjectName("rfqRecommendation")
        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.reason_label.setStyleSheet(f"color: {theme.MUTED};")
        self.countdown = QProgressBar()
        self.countdown.setObjectName("rfqCountdown")
        self.countdown.setRange(0, _BAR_STEPS)
        self.countdown.setTextVisible(False)  # text over a coloured chunk is hard to read: label beside it
        self.countdown.setFixedHeight(max(10, self.fontMetrics().height() // 2 + 4))
        self.countdown_label = QLabel()
        self.countdown_label.setObjectName("rfqCountdownText")
        self.countdown_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.countdown_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("000.0 s left") + 8)
        self.status_label = QLabel("")
        self.status_label.setObjectName("rfqStatus")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.accept_button = QPushButton("Accept  (A)")
        self.accept_button.setObjectName("rfqAccept")
        self.reject_button = QPushButton("Reject  (R)")
        self.reject_button.setObjectName("rfqReject")
        for button in (self.accept_button, self.reject_button):
            # Enter must never answer a quote: no default / auto-default buttons
            button.setAutoDefault(False)
            button.setDefault(False)
            button.setMinimumHeight(self.fontMetrics().height() + 14)
        self.accept_button.setStyleSheet(
            f"QPushButton {{ background: #1d4a35; border: 1px solid {theme.GREEN}; font-weight: 700; }}"
            f"QPushButton:disabled {{ background: {theme.GRID}; border-color: {theme.BORDER}; color: {theme.DIM}; }}"
        )
        self.reject_button.setStyleSheet(
            f"QPushButton {{ border: 1px solid {theme.BORDER}; font-weight: 700; }}"
            f"QPushButton:disabled {{ background: {theme.GRID}; color: {theme.DIM}; }}"
        )
        self.accept_button.clicked.connect(self.accept_quote)
        self.reject_button.clicked.connect(self.reject_quote)

        # shortcuts live on the dialog: they fire only when focus is inside it
        self._shortcuts = []
        for key, slot in ((Qt.Key.Key_A, self.accept_quote), (Qt.Key.Key_R, self.reject_quote)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
            self._shortcuts.append(shortcut)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(12)
        form.addRow(_caption("Desk"), self.desk_label)
        form.addRow(_caption("Size"), self.size_label)
        form.addRow(_caption("Price"), self.price_label)
        form.addRow(_caption("Exchange"), self.exchange_label)
        form.addRow(_caption("Evaluation"), self.evaluation_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_button, 1)
        buttons.addWidget(self.reject_button, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        layout.addWidget(self.headline)
        layout.addLayout(form)
        layout.addWidget(self.recommendation_label)
        layout.addWidget(self.reason_label)
        countdown_row = QHBoxLayout()
        countdown_row.addWidget(self.countdown, 1)
        countdown_row.addWidget(self.countdown_label)
        layout.addLayout(countdown_row)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.setMinimumWidth(max(420, self.fontMetrics().horizontalAdvance("0") * 52))

        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        self.set_quote(quote)

    # ---- feeding -----------------------------------------------------------------------------------

    def set_quote(self, quote: RfqQuoteView) -> None:
        """Show a (new or refreshed) quote and restart the countdown."""
        self.quote = quote
        self._answered = False
        base = quote.instrument.split("/")[0] if "/" in quote.instrument else ""
        side_color = theme.BID if quote.side is Side.BUY else theme.ASK
        self.setWindowTitle(f"RFQ quote — {quote.desk}")
        self.headline.setText(
            f"<span style='color:{side_color}; font-weight:800'>{quote.side.name}</span> "
            f"<b>{quote.qty:,.3f} {base}</b> @ <b>{quote.price:,.2f}</b>"
            f"<span style='color:{theme.MUTED}'> · {quote.instrument} · {quote.parent_id}</span>"
        )
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.desk_label.setText(quote.desk)
        self.size_label.setText(f"{quote.qty:,.3f} {base}   (${quote.notional_usd:,.0f})")
        self.price_label.setText(f"{quote.price:,.2f}")
        self.exchange_label.setText(f"{quote.exchange_px:,.2f}  modelled for this size over the remaining horizon")
        self.exchange_label.setWordWrap(True)
        self.evaluation_label.setText(evaluation_text(quote.edge_bps, quote.edge_usd))
        good = quote.edge_bps >= 0
        self.evaluation_label.setStyleSheet(f"color: {theme.GREEN if good else theme.ASK}; font-weight: 700;")
        accept = quote.recommendation.lower() == "accept"
        self.recommendation_label.setText(f"Recommendation: {quote.recommendation.upper()}")
        self.recommendation_label.setStyleSheet(
            f"color: {theme.GREEN if accept else theme.AMBER}; font-weight: 800; font-size: 11pt;"
        )
        self.reason_label.setText(quote.reason)
        self.status_label.setText("")
        self.status_label.setStyleSheet("")
        self._set_buttons_enabled(True)
        self.tick()
        if not self._is_expired():
            self._timer.start()

    # ---- answers -----------------------------------------------------------------------------------

    def accept_quote(self) -> None:
        if self._answered or not self.accept_button.isEnabled() or self._check_expiry():
            return
        self._finish("Accepted — waiting for the desk's fill", theme.GREEN)
        self.accepted_quote.emit(self.quote.quote_id, float(self.quote.qty))

    def reject_quote(self) -> None:
        if self._answered or not self.reject_button.isEnabled() or self._check_expiry():
            return
        self._finish("Rejected", theme.MUTED)
        self.rejected_quote.emit(self.quote.quote_id)

    def set_outcome(self, text: str, color: str = theme.TEXT) -> None:
        """The app reports what happened after an accept (filled, last-look rejected...)."""
        self.status_label.setText(text)
        self.status_label.setStyleSheet(f"color: {color}; font-weight: 700;")

    # ---- countdown ---------------------------------------------------------------------------------

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.quote.expires_ts - self._now())

    @property
    def is_expired(self) -> bool:
        return self._is_expired()

    def tick(self) -> None:
        """Refresh the countdown; at expiry disable the dialog and emit `expired` once."""
        left = self.seconds_left
        life = max(1e-9, self.quote.expires_ts - self.quote.received_ts)
        fraction = min(1.0, left / life)
        self.countdown.setValue(round(fraction * _BAR_STEPS))
        if self._answered:
            return
        if left <= 0:
            self._expire()
            return
        self.countdown_label.setText(f"{left:.1f} s left")
        color = next(c for threshold, c in _BAR_COLORS if fraction >= threshold)
        if color != self._bar_color:
            self._bar_color = color
            self.countdown.setStyleSheet(
                f"QProgressBar {{ border: 1px solid {theme.BORDER}; background: {theme.INPUT_BG}; }}"
                f"QProgressBar::chunk {{ background: {color}; }}"
            )
            self.countdown_label.setStyleSheet(f"color: {color}; font-weight: 800; font-size: 12pt;")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Escape must not silently close an open quote: answer it or let it expire
        if event.key() == Qt.Key.Key_Escape and not self._answered and not self._is_expired():
            event.accept()
            return
        super().keyPressEvent(event)

    # ---- internals ---------------------------------------------------------------------------------

    def _is_expired(self) -> bool:
        return self._now() >= self.quote.expires_ts

    def _check_expiry(self) -> bool:
        if self._is_expired():
            self._expire()
            return True
        return False

    def _expire(self) -> None:
        if self._answered:
            return
        self._answered = True
        self._timer.stop()
        self._set_buttons_enabled(False)
        self.countdown.setValue(0)
        self.countdown_label.setText("Expired")
        self.countdown_label.setStyleSheet(f"color: {theme.ASK}; font-weight: 800; font-size: 12pt;")
        self.set_outcome("Expired", theme.ASK)
        self.expired.emit(self.quote.quote_id)

    def _finish(self, text: str, color: str) -> None:
        self._answered = True
        self._timer.stop()
        self._set_buttons_enabled(False)
        self.countdown_label.setText("answered")
        self.countdown_label.setStyleSheet(f"color: {theme.MUTED}; font-weight: 700;")
        self.set_outcome(text, color)

    def _set_buttons_enabled(self, on: bool) -> None:
        self.accept_button.setEnabled(on)
        self.reject_button.setEnabled(on)


def evaluation_text(edge_bps: float, edge_usd: float) -> str:
    """'Better than exchange by 4.2 bps ($27,300)' — sign from the quote's edge (+ = better)."""
    if math.isnan(edge_bps):
        return "No exchange estimate"
    word = "Better" if edge_bps >= 0 else "Worse"
    usd = "" if math.isnan(edge_usd) else f" (${abs(edge_usd):,.0f})"
    return f"{word} than exchange by {abs(edge_bps):.1f} bps{usd}"


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet(f"color: {theme.MUTED};")
    return label
