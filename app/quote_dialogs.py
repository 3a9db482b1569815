"""The OTC quote dialogs: a quote that waits for the trader's answer, on screen until it is done.

A quote for a parent in manual RFQ mode opens a non-modal dialog over the parent-orders blotter
(never over the ladders, the chart or the ticket; several cascade), and the simulated market runs
at real time while it is open, so a 15-second quote gives the trader 15 seconds. The dialog shows
the outcome (filled, declined on last look, expired, …) and lingers `DIALOG_LINGER_MS` before it
closes. The trader's answer leaves as `accept_requested(quote_id, qty)` / `reject_requested(quote_id)`
for the commands (app/commands_ui.py) to carry out.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, Qt, QTimer, Signal

from app.alert_feed import AlertFeed
from app.desk import Desk
from app.desk_source import Pacing
from app.main_window import MainWindow
from core.events import RfqQuoteArrived, RfqStateChanged, Severity
from widgets import theme
from widgets.rfq_dialog import RfqQuoteDialog
from widgets.viewmodels import RfqQuoteView

DIALOG_LINGER_MS = 8000  # an answered or expired quote stays on screen this long (wall)
RFQ_DONE = ("filled", "last_look_rejected", "expired", "rejected", "canceled")


class QuoteDialogs(QObject):
    accept_requested = Signal(str, float)  # quote id, quantity (base units)
    reject_requested = Signal(str)  # quote id

    def __init__(self, desk: Desk, window: MainWindow, alerts: AlertFeed, pacer: Pacing | None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.window = window
        self.alerts = alerts
        self.pacer = pacer
        self._dialogs: dict[str, RfqQuoteDialog] = {}
        self._rfq_quote: dict[str, str] = {}  # rfq id -> quote id
        bus = desk.engine.bus
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(RfqQuoteArrived, self._on_quote),
            bus.subscribe(RfqStateChanged, self._on_rfq_state),
        ]

    @property
    def dialogs(self) -> dict[str, RfqQuoteDialog]:
        """Open dialogs by quote id (a copy)."""
        return dict(self._dialogs)

    def get(self, quote_id: str) -> RfqQuoteDialog | None:
        return self._dialogs.get(quote_id)

    def show_error(self, dialog: RfqQuoteDialog | None, text: str) -> None:
        """Why the trader's answer did not go through: on the dialog, and as an alert."""
        if dialog is not None:
            dialog.set_outcome(text, theme.ASK)
        self.alerts.add(Severity.WARNING, "rfq", "terminal", text)

    def withdraw_all(self, text: str) -> None:
        """Mark every open dialog withdrawn (the kill switch canceled everything)."""
        for dialog in list(self._dialogs.values()):
            dialog.set_outcome(text, theme.ASK)

    def release_hold(self, quote_id: str) -> None:
        """The market may run at its speed again as far as this quote is concerned."""
        if self.pacer is not None and quote_id:
            self.pacer.hold_realtime(f"quote:{quote_id}", False)

    def close_finished(self) -> None:
        """Close every quote dialog whose quote is no longer live (screenshots, after a fast run)."""
        rfq_service = self.desk.rfq
        for quote_id, dialog in list(self._dialogs.items()):
            rfq_id = rfq_service.by_quote.get(quote_id) if rfq_service is not None else None
            rfq = rfq_service.rfqs.get(rfq_id) if rfq_service is not None and rfq_id else None
            if rfq is None or rfq.state.value != "quoted" or dialog.is_expired:
                self._forget_dialog(quote_id)
                dialog.close()

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for quote_id in list(self._dialogs):
            self._close_dialog(quote_id)

    # ---- events in ---------------------------------------------------------------------------------

    def _on_quote(self, ev: RfqQuoteArrived) -> None:
        self._rfq_quote[ev.rfq_id] = ev.quote_id
        parent = self.desk.engine.oms.parents.get(ev.parent_id)
        if parent is None or parent.rfq_mode != "manual":  # a policy answers it: no dialog
            return
        edge = ev.better_than_exchange_bps
        view = RfqQuoteView(
            quote_id=ev.quote_id, rfq_id=ev.rfq_id, parent_id=ev.parent_id, desk=ev.desk,
            instrument=parent.instrument.symbol, side=ev.side, qty=ev.quantity, price=ev.price,
            exchange_px=ev.price * (1 + ev.side.sign * edge * 1e-4) if math.isfinite(edge) else math.nan,
            edge_bps=edge, edge_usd=ev.better_than_exchange_usd, recommendation=ev.recommendation,
            reason=ev.reason + ("  ·  last look" if ev.last_look else "  ·  firm"),
            received_ts=ev.ts, expires_ts=ev.expires_ts,
        )
        dialog = RfqQuoteDialog(view, now=self.desk.clock.now, parent=self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.accepted_quote.connect(self.accept_requested)
        dialog.rejected_quote.connect(self.reject_requested)
        dialog.expired.connect(lambda qid: self.release_hold(qid))
        dialog.finished.connect(lambda _r, qid=ev.quote_id: self._forget_dialog(qid))
        self._dialogs[ev.quote_id] = dialog
        if self.pacer is not None:
            self.pacer.hold_realtime(f"quote:{ev.quote_id}", True)
        self._place_dialog(dialog)
        dialog.show()  # non-modal, on top, without taking the keyboard from the ticket

    def _on_rfq_state(self, ev: RfqStateChanged) -> None:
        quote_id = self._rfq_quote.get(ev.rfq_id, "")
        dialog = self._dialogs.get(quote_id)
        if dialog is not None:
            text, color = rfq_outcome(ev)
            if text:
                dialog.set_outcome(text, color)
            if ev.state in RFQ_DONE:
                self.release_hold(quote_id)
                QTimer.singleShot(DIALOG_LINGER_MS, self, lambda qid=quote_id: self._close_dialog(qid))
        elif ev.state in RFQ_DONE:
            self.release_hold(quote_id)

    # ---- helpers -----------------------------------------------------------------------------------

    def _place_dialog(self, dialog: RfqQuoteDialog) -> None:
        """Quote dialogs go over the parent-orders blotter (never over the ladders, the chart or the
        ticket), top right first, then cascading left."""
        dialog.adjustSize()
        area = self.window.docks["parents"]
        origin = self.window.mapToGlobal(QPoint(0, 0))
        top_left = area.mapTo(self.window, QPoint(0, 0))
        right = top_left.x() + area.width() - 8
        top = top_left.y() + 30
        taken = sum(1 for other in self._dialogs.values() if other is not dialog and other.isVisible())
        x = max(0, right - dialog.width() - taken * 36)
        y = top + taken * 30
        dialog.move(origin.x() + x, origin.y() + y)

    def _close_dialog(self, quote_id: str) -> None:
        dialog = self._dialogs.get(quote_id)
        if dialog is not None:
            dialog.close()  # deletes itself (WA_DeleteOnClose); `finished` forgets it

    def _forget_dialog(self, quote_id: str) -> None:
        self._dialogs.pop(quote_id, None)
        self.release_hold(quote_id)


def rfq_outcome(ev: RfqStateChanged) -> tuple[str, str]:
    """What a quote dialog says when its RFQ changes state, and in which colour ("" = nothing)."""
    if ev.state == "filled":
        return f"FILLED {ev.filled_qty:,.4g} — {ev.detail}", theme.GREEN
    if ev.state == "last_look_rejected":
        return f"Desk declined on last look: {ev.detail}", theme.AMBER
    if ev.state == "expired":
        return "Expired", theme.ASK
    if ev.state == "rejected":
        return f"Rejected — {ev.detail}", theme.MUTED
    if ev.state == "canceled":
        return f"Withdrawn — {ev.detail}", theme.ASK
    if ev.state == "accepted":
        return "Accepted — waiting for the desk's fill", theme.GREEN
    return "", theme.TEXT
