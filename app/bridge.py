"""Engine → widgets, and widgets → engine, at bounded rates.

Engine events (on the bus, synchronous) are folded into cheap state here — latest book per
venue, last trade, volume at price, our open children, changed rows, chart samples — and pushed
to the widgets by Qt timers:

- ladders at most `max_fps` per second (each ladder coalesces again to its own frame rate);
- blotters every 250 ms, only the rows that changed since the last batch;
- the execution chart at most 10 times a second (new samples only);
- alerts, the HALTED state and RFQ quotes immediately (they are rare and urgent);
- the tripped circuit breakers in the risk panel once a second (and at once after a reset).

Commands go the other way: the ticket, pre-trade, override, RFQ dialog and kill switch emit
signals; the bridge calls the ExecutionService, RfqService or Engine with the session's actor
and shows the outcome (or the refusal) where the trader acted. Nothing here blocks the loop: the
pre-trade Monte Carlo runs in an executor on arrays snapshotted on the loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QPoint, Qt, QTimer

from app.chart_plan import ParentSeries, compute_plan
from app.desk_source import Pacing, TradingDesk
from app.ladder_views import EMPTY, SPOOF_FLAG_SCORE, merge_levels, ticks_per_row_for
from app.main_window import MainWindow
from app.panel_rows import balance_rows, breaker_rows, child_row, hms, risk_text
from app.panels import CONSOLIDATED, NO_DESKS, OTC_LABEL, Panels, RfqRow, build_panels
from core.actors import Actor, Role
from core.analytics.pretrade import PreTradeReport
from core.events import (
    Alert,
    BookUpdate,
    FillEvent,
    OrderUpdate,
    OverrideApplied,
    ParentProgress,
    RfqQuoteArrived,
    RfqStateChanged,
    Severity,
    Trades,
    TradingState,
    TradingStateChanged,
    VenueStatus,
)
from core.orders import ChildOrder
from core.parent import ParentOrder, ParentState
from core.risk.breakers import ParentForecast
from core.stage_request import StageRequest
from widgets import theme
from widgets.alerts import AlertNotifier
from widgets.exit_dialog import CANCEL, LEAVE, ExitDialog
from widgets.kill_switch import KillSwitchButton
from widgets.ladder import DepthLadder
from widgets.override_panel import POLICY_DECISIONS_SHOWN
from widgets.rfq_dialog import RfqQuoteDialog
from widgets.viewmodels import (
    AlertRow,
    ChartUpdate,
    FillRow,
    LadderView,
    ParentRow,
    RfqQuoteView,
)

log = logging.getLogger(__name__)

__all__ = ["Bridge", "Panels", "build_panels", "ticks_per_row_for"]  # the last three moved; old imports work

BLOTTER_MS = 250
CHART_FPS = 10.0
SLOW_MS = 1000  # balances, venue status, risk summary, override panel, reference price
DIALOG_LINGER_MS = 8000  # an answered or expired quote stays on screen this long (wall)
EXIT_ACK_WAIT_S = 5.0  # on exit with "cancel all": wait at most this long (wall) for the venues' cancel acks
EXIT_POLL_MS = 50
PARTICIPATION_WINDOW_S = 300.0
_LIVE = (ParentState.RUNNING, ParentState.PAUSED, ParentState.COMPLETING)
_RFQ_DONE = ("filled", "last_look_rejected", "expired", "rejected", "canceled")


class Bridge(QObject):
    def __init__(
        self,
        source: TradingDesk,
        window: MainWindow,
        panels: Panels,
        actor: Actor | None,
        *,
        max_fps: float = 30.0,
        mc_paths: int = 20_000,
        pacer: Pacing | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(window)
        self.source = source
        self.desk = desk = source.desk
        self.engine = desk.engine
        self.execution = desk.execution
        self.rfq = desk.rfq  # None: no OTC desks
        self.breakers = desk.breakers
        self.clock = desk.clock
        self.window = window
        self.panels = panels
        self.actor: Actor | None = None
        self.mc_paths = mc_paths
        self.pacer = pacer
        self.loop = loop
        self.kill_button: KillSwitchButton | None = None
        self.venue_names = source.venue_names
        self.chart_venues = (*source.venue_names, OTC_LABEL)
        self.symbol = source.symbol
        self.tick = {name: float(v.instrument(self.symbol).tick_size) for name, v in desk.venues.items()}
        self.reports: dict[str, PreTradeReport] = {}
        self.selected = ""
        self.last_kill: dict[str, int] = {}
        self.pending_jobs = 0

        # market state folded from events
        self._books: dict[str, BookUpdate] = {}
        self._ladder_dirty: set[str] = set()
        self._last_trade: dict[str, tuple[float, float, int, float]] = {}  # px, qty, side, ts
        self._vap: dict[str, dict[float, float]] = {v: {} for v in self.venue_names}
        self._vap_arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._vap_dirty: set[str] = set(self.venue_names)
        self._venue_up = {name: v.is_up for name, v in desk.venues.items()}
        self._latency_ms = {v: math.nan for v in self.venue_names}
        self._ticks_per_row: dict[str, int] = {}

        # orders
        self._open: dict[str, ChildOrder] = {}
        self._child_seen: dict[str, int] = {}
        self._dirty_children: set[str] = set()
        self._dirty_parents: set[str] = set()
        self._new_fills: list[FillRow] = []
        self._fill_acc: dict[str, list[float]] = {}  # parent -> [qty, notional] on exchange
        self._vwap_acc: dict[str, list[float]] = {}  # running parent -> [notional, qty] of market trades
        self._progress: dict[str, ParentProgress] = {}
        self._parent_state: dict[str, ParentState] = {}
        self._schedule_status: dict[str, str] = {}
        self._series: dict[str, ParentSeries] = {}
        self._decisions: dict[str, list[str]] = {}

        # alerts and RFQ
        self._alert_seq = 0
        self._dialogs: dict[str, RfqQuoteDialog] = {}
        self._rfq_quote: dict[str, str] = {}  # rfq id -> quote id
        self._rfq_rows: dict[str, RfqRow] = {}
        self._rfq_dirty: set[str] = set()

        bus = self.engine.bus
        self._unsubscribe = [
            bus.subscribe(BookUpdate, self._on_book),
            bus.subscribe(Trades, self._on_trades),
            bus.subscribe(OrderUpdate, self._on_order),
            bus.subscribe(FillEvent, self._on_fill),
            bus.subscribe(ParentProgress, self._on_progress),
            bus.subscribe(Alert, self._on_alert),
            bus.subscribe(TradingStateChanged, self._on_trading_state),
            bus.subscribe(OverrideApplied, self._on_override),
            bus.subscribe(RfqQuoteArrived, self._on_quote),
            bus.subscribe(RfqStateChanged, self._on_rfq_state),
            bus.subscribe(VenueStatus, self._on_venue_status),
        ]
        for book in self.engine.books.values():
            self._on_book(book)

        self._timers: list[QTimer] = []
        self._every(max(1, round(1000.0 / max_fps)), self.push_ladders)
        self._every(BLOTTER_MS, self.push_blotters)
        self._every(round(1000.0 / CHART_FPS), self.push_chart)
        self._every(SLOW_MS, self.push_slow)
        self._wire_widgets()
        self.set_actor(actor)
        self.push_slow()

        # critical alerts are heard (sound) and, when the terminal is not in front, seen (notification)
        self.notifier = AlertNotifier(window)
        panels.alerts.alerts.critical_added.connect(self.notifier.on_critical)

        # on exit with working orders: cancel them all, leave them working, or stay (journaled)
        self.exit_prompt: Callable[[str, bool, Callable[[str], None]], None] = self._open_exit_dialog
        self.exit_dialog: ExitDialog | None = None
        self.exit_ack_wait_s = EXIT_ACK_WAIT_S
        self.exit_pending = False
        self._exit_ready = False
        self._exit_waiting: set[str] = set()
        self._exit_started = 0.0
        self._exit_timer: QTimer | None = None
        window.close_guard = self.confirm_exit
        window.set_market_description(source.description)

    # ---- session -----------------------------------------------------------------------------------

    def set_actor(self, actor: Actor | None) -> None:
        """Who acts: traders trade; only supervisors get the kill switch and the reset."""
        self.actor = actor
        supervisor = actor is not None and actor.role is Role.SUPERVISOR
        if actor is None:
            self.window.session_label.setText("Not logged in — view only")
        else:
            self.window.set_session(actor.user, actor.role.value)
        if supervisor and self.kill_button is None:
            self.kill_button = KillSwitchButton()
            self.kill_button.kill_confirmed.connect(self.kill_switch)
            self.window.set_kill_switch(self.kill_button)
        elif not supervisor and self.kill_button is not None:
            self.window.set_kill_switch(None)
            self.kill_button.deleteLater()
            self.kill_button = None
        self.window.banner.set_can_reset(supervisor)
        self.panels.risk.set_editable(supervisor)
        self._update_trading_allowed()

    def _update_trading_allowed(self) -> None:
        if self.actor is None:
            self.panels.ticket.set_trading_allowed(False, "Log in to stage orders.")
        elif self.engine.risk.killed:
            self.panels.ticket.set_trading_allowed(False, "HALTED by the kill switch: new orders are refused until a "
                                                          "supervisor resets trading.")
        else:
            self.panels.ticket.set_trading_allowed(True)

    # ---- wiring ------------------------------------------------------------------------------------

    def _every(self, ms: int, slot: Callable[[], None]) -> None:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        timer.start()
        self._timers.append(timer)

    def _wire_widgets(self) -> None:
        p = self.panels
        desks = tuple(self.rfq.desks) if self.rfq is not None else ()
        if self.rfq is None and p.rfq_note is not None:
            p.rfq_note.setText(NO_DESKS)
            p.rfq_note.show()
        p.ticket.set_market([self.symbol], self.venue_names, desks)
        p.ticket.set_clock(self.clock.now)
        p.ticket.stage_requested.connect(self.stage)
        p.ticket.start_requested.connect(self.start)
        p.pretrade.start_requested.connect(self.start)
        p.pretrade.horizon_chosen.connect(self._use_horizon)
        p.override.set_clock(self.clock.now)
        p.risk.limit_change_requested.connect(self.set_limit)
        p.risk.breaker_reset_requested.connect(self.reset_breaker)
        p.override.pause_requested.connect(lambda pid: self._command(pid, "pause"))
        p.override.resume_requested.connect(lambda pid: self._command(pid, "resume"))
        p.override.finish_now_requested.connect(lambda pid: self._command(pid, "finish_now"))
        p.override.cancel_requested.connect(lambda pid: self._command(pid, "cancel"))
        p.override.rfq_requested.connect(self.request_quotes)
        p.override.override_requested.connect(self.override)
        p.override.venue_toggled.connect(self.set_venue_enabled)
        p.parents.row_activated.connect(self.select_parent)
        p.parents.table.selectionModel().selectionChanged.connect(self._on_parent_selection)
        p.alerts.acknowledged.connect(self._on_acknowledged)
        p.alerts.row_activated.connect(self._on_alert_activated)
        self.window.banner.reset_requested.connect(self.reset_kill_switch)

    def close(self) -> None:
        if self.window.close_guard == self.confirm_exit:
            self.window.close_guard = None
        if self._exit_timer is not None:
            self._exit_timer.stop()
        for timer in self._timers:
            timer.stop()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for quote_id in list(self._dialogs):
            self._close_dialog(quote_id)

    # ---- events in (synchronous on the bus: fold, never paint) --------------------------------------

    def _on_book(self, update: BookUpdate) -> None:
        self._books[update.venue] = update
        self._ladder_dirty.add(update.venue)

    def _on_trades(self, trades: Trades) -> None:
        n = len(trades.price)
        if not n:
            return
        venue = trades.venue
        self._last_trade[venue] = (float(trades.price[-1]), float(trades.qty[-1]), int(trades.aggressor[-1]),
                                   trades.ts)
        vap = self._vap.setdefault(venue, {})
        for px, qty in zip(trades.price.tolist(), trades.qty.tolist(), strict=True):
            vap[px] = vap.get(px, 0.0) + qty
        self._vap_dirty.add(venue)
        self._ladder_dirty.add(venue)
        if self._vwap_acc:
            notional = float(np.dot(trades.price, trades.qty))
            volume = float(trades.qty.sum())
            for acc in self._vwap_acc.values():
                acc[0] += notional
                acc[1] += volume

    def _on_order(self, update: OrderUpdate) -> None:
        child = self.engine.oms.children.get(update.client_id)
        if child is None:
            return
        if child.status.is_open:
            self._open[child.client_id] = child
        else:
            self._open.pop(child.client_id, None)
        self._dirty_children.add(child.client_id)
        self._dirty_parents.add(child.parent_id)
        self._ladder_dirty.add(child.venue)
        if child.ack_ts is not None and update.status.value == "new":
            ms = (child.ack_ts - child.created_ts) * 1000.0
            old = self._latency_ms.get(child.venue, math.nan)
            self._latency_ms[child.venue] = ms if math.isnan(old) else 0.8 * old + 0.2 * ms

    def _on_fill(self, event: FillEvent) -> None:
        fill = event.fill
        pid = event.parent_id
        acc = self._fill_acc_for(pid)
        qty, px = float(fill.quantity), float(fill.price)
        acc[0] += qty
        acc[1] += qty * px
        self._new_fills.append(FillRow(
            event.ts, pid, fill.client_id, fill.venue, fill.venue_trade_id, fill.venue_order_id, fill.side, px, qty,
            fill.liquidity, float(fill.fee), fill.fee_currency,
        ))
        self._dirty_children.add(fill.client_id)
        self._dirty_parents.add(pid)
        self._ladder_dirty.add(fill.venue)
        series = self._series_for(pid)
        series.fill_t.append(event.ts)
        series.fill_px.append(px)
        series.fill_qty.append(qty)
        series.fill_v.append(self.chart_venues.index(fill.venue) if fill.venue in self.chart_venues else 0)

    def _on_progress(self, ev: ParentProgress) -> None:
        self._progress[ev.parent_id] = ev
        self._dirty_parents.add(ev.parent_id)
        series = self._series_for(ev.parent_id)
        now = self.clock.now()
        others, ours = self.engine.tape.recent(None, now, PARTICIPATION_WINDOW_S)
        series.t.append(ev.ts)
        series.filled.append(ev.filled)
        series.price.append(self.execution.consolidated_mid())
        series.vwap.append(self._market_vwap(ev.parent_id))
        series.part.append(ours / (ours + others) if ours + others > 0 else 0.0)
        if series.plan_dirty:
            compute_plan(series, ev.parent_id, self.desk, now)
        self._note_schedule(ev)

    def _on_alert(self, alert: Alert) -> None:
        if alert.kind == "limit_bound":  # every tick while limit-bound: a decision line, not an alert row
            self._decision(alert.parent_id, "limit-bound: behind schedule, the limit stops the catch-up", alert.ts)
            return
        self.add_alert(alert.severity, alert.kind, alert.source, alert.detail, alert.venue, alert.parent_id, alert.ts)
        if alert.parent_id:
            self._decision(alert.parent_id, f"{alert.kind}: {alert.detail}", alert.ts)

    def _on_trading_state(self, ev: TradingStateChanged) -> None:
        if ev.scope == "global":
            counts = self.last_kill if ev.state is TradingState.HALTED else None
            self.window.show_trading_state(ev.state, ev.actor, ev.ts, ev.reason, counts)
            severity = Severity.CRITICAL if ev.state is not TradingState.ACTIVE else Severity.INFO
            self.add_alert(severity, "trading_state", "risk", f"Trading {ev.state.value.upper()} by {ev.actor}: "
                           f"{ev.reason}", ts=ev.ts)
            self._update_trading_allowed()
        self.push_slow()

    def _on_override(self, ev: OverrideApplied) -> None:
        self._decision(ev.parent_id, f"override by {ev.actor}: {ev.field} {ev.old} → {ev.new}", ev.ts)
        self.add_alert(Severity.INFO, "override", ev.actor, f"{ev.field}: {ev.old} → {ev.new}", parent_id=ev.parent_id,
                       ts=ev.ts)
        self._series_for(ev.parent_id).plan_dirty = True
        self._dirty_parents.add(ev.parent_id)

    def _on_venue_status(self, ev: VenueStatus) -> None:
        self._venue_up[ev.venue] = ev.connected
        severity = Severity.INFO if ev.connected else Severity.CRITICAL
        self.add_alert(severity, "venue", ev.venue, ev.detail or ("venue up" if ev.connected else "venue down"),
                       venue=ev.venue, ts=ev.ts)
        self.push_slow()

    # ---- RFQ ---------------------------------------------------------------------------------------

    def _on_quote(self, ev: RfqQuoteArrived) -> None:
        parent = self.engine.oms.parents.get(ev.parent_id)
        self._rfq_quote[ev.rfq_id] = ev.quote_id
        self._rfq_rows[ev.rfq_id] = RfqRow(ev.rfq_id, ev.parent_id, ev.desk, "quoted", ev.quantity, ev.price,
                                           ev.better_than_exchange_bps, ev.expires_ts, 0.0, ev.reason)
        self._rfq_dirty.add(ev.rfq_id)
        manual = parent is not None and parent.rfq_mode == "manual"
        self.add_alert(  # critical when it waits for the trader's answer; informative when a policy decides
            Severity.CRITICAL if manual else Severity.WARNING, "rfq_quote", ev.desk,
            f"Quote {ev.quantity:,.4g} @ {ev.price:,.2f}: {ev.recommendation} "
            f"({ev.better_than_exchange_bps:+.1f} bps vs exchange)" + ("" if manual else " — decided by policy"),
            parent_id=ev.parent_id, ts=ev.ts,
        )
        if not manual or parent is None:
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
        dialog = RfqQuoteDialog(view, now=self.clock.now, parent=self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.accepted_quote.connect(self.accept_quote)
        dialog.rejected_quote.connect(self.reject_quote)
        dialog.expired.connect(lambda qid: self._release_hold(qid))
        dialog.finished.connect(lambda _r, qid=ev.quote_id: self._forget_dialog(qid))
        self._dialogs[ev.quote_id] = dialog
        if self.pacer is not None:
            self.pacer.hold_realtime(f"quote:{ev.quote_id}", True)
        self._place_dialog(dialog)
        dialog.show()  # non-modal, on top, without taking the keyboard from the ticket

    def _on_rfq_state(self, ev: RfqStateChanged) -> None:
        row = self._rfq_rows.get(ev.rfq_id)
        filled = ev.filled_qty if ev.state == "filled" else (row.filled if row else 0.0)
        if row is None:
            row = RfqRow(ev.rfq_id, ev.parent_id, ev.desk, ev.state, math.nan, math.nan, math.nan, math.nan, 0.0, "")
        self._rfq_rows[ev.rfq_id] = dataclasses.replace(row, state=ev.state, filled=filled, detail=ev.detail)
        self._rfq_dirty.add(ev.rfq_id)
        quote_id = self._rfq_quote.get(ev.rfq_id, "")
        dialog = self._dialogs.get(quote_id)
        if ev.state in ("filled", "last_look_rejected", "expired", "rejected", "canceled"):
            self._decision(ev.parent_id, f"RFQ {ev.desk}: {ev.state.replace('_', ' ')} — {ev.detail}", ev.ts)
        if ev.state == "filled":
            rfq = self.rfq.rfqs.get(ev.rfq_id) if self.rfq is not None else None
            price = float(rfq.fill_price) if rfq is not None and rfq.fill_price is not None else math.nan
            series = self._series_for(ev.parent_id)
            series.fill_t.append(ev.ts)
            series.fill_px.append(price)
            series.fill_qty.append(ev.filled_qty)
            series.fill_v.append(len(self.chart_venues) - 1)
            series.plan_dirty = True
            self._dirty_parents.add(ev.parent_id)
            self.add_alert(Severity.INFO, "otc_fill", ev.desk, f"OTC fill {ev.filled_qty:,.4g} @ {price:,.2f}",
                           parent_id=ev.parent_id, ts=ev.ts)
        if dialog is not None:
            text, color = _rfq_outcome(ev)
            if text:
                dialog.set_outcome(text, color)
            if ev.state in _RFQ_DONE:
                self._release_hold(quote_id)
                QTimer.singleShot(DIALOG_LINGER_MS, self, lambda qid=quote_id: self._close_dialog(qid))
        elif ev.state in _RFQ_DONE:
            self._release_hold(quote_id)

    def accept_quote(self, quote_id: str, qty: float) -> bool:
        dialog = self._dialogs.get(quote_id)
        if self.actor is None:
            self._dialog_error(dialog, "Log in to accept quotes.")
            return False
        if self.rfq is None:
            self._dialog_error(dialog, NO_DESKS)
            return False
        try:
            rfq = self.rfq.rfqs[self.rfq.by_quote[quote_id]]
            full = rfq.quote is not None and abs(float(rfq.quote.quantity) - qty) < 1e-12
            ok = self.rfq.accept(quote_id, self.actor, None if full else Decimal(repr(qty)))
        except (ValueError, PermissionError, KeyError) as exc:
            self._dialog_error(dialog, f"Not accepted: {exc}")
            return False
        if not ok:
            self._dialog_error(dialog, "Not accepted: the quote expired or was refused (see RFQ panel).")
        self._release_hold(quote_id)
        return ok

    def reject_quote(self, quote_id: str) -> None:
        if self.actor is None:
            self._dialog_error(self._dialogs.get(quote_id), "Log in to answer quotes.")
            return
        if self.rfq is None:
            self._dialog_error(self._dialogs.get(quote_id), NO_DESKS)
            return
        try:
            self.rfq.reject(quote_id, self.actor, "rejected by trader")
        except (ValueError, KeyError) as exc:
            self._dialog_error(self._dialogs.get(quote_id), str(exc))
        self._release_hold(quote_id)

    def request_quotes(self, parent_id: str) -> int:
        if self.actor is None:
            self.panels.override.set_result("Log in to request quotes.", ok=False)
            return 0
        if self.rfq is None:
            self.panels.override.set_result(NO_DESKS, ok=False)
            return 0
        try:
            sent = self.rfq.request(parent_id, self.actor)
        except (ValueError, PermissionError, KeyError) as exc:
            self.panels.override.set_result(f"RFQ refused: {exc}", ok=False)
            return 0
        desks = ", ".join(r.desk for r in sent)
        self.panels.override.set_result(f"Asked {desks} for {float(sent[0].requested_qty):,.4g}" if sent
                                        else "Nothing to ask for (too little left or no desk allowed).", ok=bool(sent))
        return len(sent)

    @property
    def dialogs(self) -> dict[str, RfqQuoteDialog]:
        return dict(self._dialogs)

    def close_finished_dialogs(self) -> None:
        """Close every quote dialog whose quote is no longer live (screenshots, after a fast run)."""
        for quote_id, dialog in list(self._dialogs.items()):
            rfq_id = self.rfq.by_quote.get(quote_id) if self.rfq is not None else None
            rfq = self.rfq.rfqs.get(rfq_id) if self.rfq is not None and rfq_id else None
            if rfq is None or rfq.state.value != "quoted" or dialog.is_expired:
                self._forget_dialog(quote_id)
                dialog.close()

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
        self._release_hold(quote_id)

    def _release_hold(self, quote_id: str) -> None:
        if self.pacer is not None and quote_id:
            self.pacer.hold_realtime(f"quote:{quote_id}", False)

    def _dialog_error(self, dialog: RfqQuoteDialog | None, text: str) -> None:
        if dialog is not None:
            dialog.set_outcome(text, theme.ASK)
        self.add_alert(Severity.WARNING, "rfq", "terminal", text)

    # ---- staging and starting ------------------------------------------------------------------

    def stage(self, request: StageRequest) -> str:
        """Stage a parent from the ticket's request and compute its pre-trade report (in an
        executor). The ticket then shows the prices as staged (snapped to the tick)."""
        t = self.panels.ticket
        if self.actor is None:
            t.show_error("Log in to stage orders.")
            return ""
        try:
            parent, tick = self._parent_from_ticket(request)
            self.execution.stage(parent, self.actor)
            job = self.source.pretrade_job(parent.side, float(parent.quantity), parent.horizon_s,
                                           parent.urgency.value, parent.venues, self.mc_paths)
        except (ValueError, PermissionError, KeyError) as exc:
            t.show_error(f"Not staged: {exc}")
            return ""
        t.show_staged_prices(parent.limit_price, parent.i_would_price, tick, parent.side)
        pid = parent.parent_id
        self._dirty_parents.add(pid)
        self.add_alert(Severity.INFO, "parent", pid, f"Staged {parent.side.name} {parent.quantity} "
                       f"{parent.instrument.base} over {parent.horizon_s / 3600:.2f} h ({parent.algo})", parent_id=pid)
        self._run_job(job, lambda report: self._on_report(pid, report),
                      lambda exc: t.show_error(f"{pid} staged, but the pre-trade report failed: {exc}"))
        return pid

    def _parent_from_ticket(self, request: StageRequest) -> tuple[ParentOrder, Decimal]:
        """The parent the request describes, and the tick its prices were snapped to.

        The quantity is floored to the finest lot among the parent's venues (the router floors
        each child to its own venue's lot); the limit and i-would prices are snapped passively to
        the coarsest tick among them — a price every venue can quote when their grids nest, and
        never looser than typed. The id comes from the OMS (`allocate_parent_id`)."""
        venues = request.venues or tuple(self.venue_names)
        instruments = [self.engine.venues[v].instrument(request.instrument.symbol) for v in venues]
        lot = min(i.lot_size for i in instruments)
        tick = max(i.tick_size for i in instruments)
        quantity = (request.quantity // lot) * lot
        if quantity <= 0:
            raise ValueError(f"quantity {request.quantity} is below one lot ({lot})")
        request = request.snapped(tick)
        parent = ParentOrder(
            self.engine.oms.allocate_parent_id("BH"),
            request.instrument,
            request.side,
            quantity,
            request.horizon_s,
            algo=request.algo,
            limit_price=request.limit_price,
            i_would_price=request.i_would_price,
            urgency=request.urgency,
            end_action=request.end_action,
            venues=venues,
            desks=request.desks,
            max_participation=request.max_participation,
            max_slippage_bps=request.max_slippage_bps,
            max_schedule_deviation=request.max_schedule_deviation,
            rfq_mode=request.rfq_mode,
            params=dict(request.params),
        )
        return parent, tick

    def _on_report(self, parent_id: str, report: PreTradeReport) -> None:
        self.reports[parent_id] = report
        parent = self.engine.oms.parents[parent_id]
        if parent.start_ts is not None:  # started before its report came back from the executor
            self._register_forecast(parent_id, report, parent.start_ts)
        self.panels.pretrade.set_report(report.to_dict(), report.distribution.samples_bps, parent_id,
                                        parent.instrument.symbol)
        startable = parent.state is ParentState.STAGED
        self.panels.pretrade.set_startable(startable)
        summary = (f"Expected {report.expected_cost_bps:.1f} bps (P95 {report.distribution.p95_bps:.1f});"
                   f" recommended horizon {report.recommended_horizon_s / 3600:g} h.")
        if startable:
            self.panels.ticket.set_staged(parent_id, summary)
        elif parent.state is ParentState.PENDING_APPROVAL:
            self.panels.ticket.set_status(f"{parent_id} staged and waiting for four-eyes approval by another "
                                          f"supervisor before it can start. {summary}", theme.AMBER)
            self.add_alert(Severity.WARNING, "approval", parent_id, "waiting for a supervisor's approval",
                           parent_id=parent_id)
        self.window.show_panel("pretrade")

    def _run_job(
        self, job: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[Exception], None]
    ) -> None:
        """CPU work off the loop: an executor when the asyncio loop runs, inline otherwise (tests)."""
        loop = self.loop
        if loop is None or not loop.is_running():
            try:
                result = job()
            except Exception as exc:  # the report is advice: show why it failed, keep the staged parent
                log.exception("pre-trade report failed")
                failed(exc)
                return
            done(result)
            return
        self.pending_jobs += 1
        future = loop.run_in_executor(None, job)

        def finished(f: asyncio.Future[Any]) -> None:
            self.pending_jobs -= 1
            exc = f.exception()
            if exc is not None:
                log.error("pre-trade report failed: %s", exc)
                failed(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            else:
                done(f.result())

        future.add_done_callback(finished)

    def start(self, parent_id: str) -> bool:
        t = self.panels.ticket
        if self.actor is None:
            t.show_error("Log in to start orders.")
            return False
        try:
            report = self.reports.get(parent_id)
            if report is not None:
                self.source.use_ac_params(report)
            self.execution.start(parent_id, self.actor)
            if self.engine.oms.parents[parent_id].rfq_mode != "off" and self.rfq is not None:
                self.rfq.watch(parent_id)
        except (ValueError, PermissionError, KeyError) as exc:
            t.show_error(f"Not started: {exc}")
            self.add_alert(Severity.WARNING, "parent", parent_id, f"Start refused: {exc}", parent_id=parent_id)
            return False
        parent = self.engine.oms.parents[parent_id]
        if report is not None:
            self._register_forecast(parent_id, report, self.clock.now())
        self._vwap_acc[parent_id] = [0.0, 0.0]
        self._series_for(parent_id).plan_dirty = True
        t.set_started(parent_id)
        self.panels.pretrade.set_startable(False)
        self.add_alert(Severity.INFO, "parent", parent_id, f"Started by {self.actor}: {parent.algo}, "
                       f"arrival {self.engine.oms.arrival_mid.get(parent_id, math.nan):,.2f}", parent_id=parent_id)
        self.select_parent(parent_id)
        self.window.show_panel("override")
        self.push_blotters()
        return True

    def _register_forecast(self, parent_id: str, report: PreTradeReport, start_ts: float) -> None:
        """The slippage breaker's band for this parent: the staged pre-trade forecast (mean and
        standard deviation of the cost, bps) over the parent's horizon from its start."""
        if self.breakers is None:
            return
        horizon_s = self.engine.oms.parents[parent_id].horizon_s
        self.breakers.forecasts[parent_id] = ParentForecast(
            report.distribution.mean_bps, report.distribution.std_bps, horizon_s, start_ts
        )

    def _use_horizon(self, seconds: float) -> None:
        self.panels.ticket.fill(horizon=f"{seconds / 60:g}m")

    # ---- overrides -----------------------------------------------------------------------------

    def _command(self, parent_id: str, what: str) -> bool:
        panel = self.panels.override
        if self.actor is None:
            panel.set_result("Log in to steer orders.", ok=False)
            return False
        try:
            if what == "pause":
                self.execution.pause(parent_id, self.actor)
            elif what == "resume":
                self.execution.resume(parent_id, self.actor)
            elif what == "finish_now":
                self.execution.finish_now(parent_id, self.actor)
            elif what == "cancel":
                self.execution.cancel(parent_id, self.actor)
            else:
                raise ValueError(f"unknown command {what!r}")
        except (ValueError, PermissionError, KeyError) as exc:
            panel.set_result(f"{what.replace('_', ' ')} refused: {exc}", ok=False)
            return False
        self._decision(parent_id, f"{what.replace('_', ' ')} by {self.actor}", self.clock.now())
        panel.set_result(f"{what.replace('_', ' ').capitalize()}: done.")
        self._dirty_parents.add(parent_id)
        self.refresh_override()
        return True

    def override(self, parent_id: str, field_name: str, value: Any) -> bool:
        panel = self.panels.override
        if self.actor is None:
            panel.set_result("Log in to steer orders.", ok=False)
            return False
        try:
            self.execution.override(parent_id, field_name, value, self.actor)
        except (ValueError, PermissionError, KeyError) as exc:
            panel.set_result(f"{field_name.replace('_', ' ')} not changed: {exc}", ok=False)
            return False
        panel.set_result(f"{field_name.replace('_', ' ')} → {value}: applied at the next algo tick.")
        self.refresh_override()
        return True

    def set_venue_enabled(self, venue: str, enabled: bool) -> None:
        if self.actor is None:
            self.panels.override.set_result("Log in to steer orders.", ok=False)
            return
        now_on = self.execution.set_venue_enabled(venue, enabled, self.actor)
        if enabled and not now_on:  # a circuit breaker still excludes it: it comes back when that resets
            self.panels.override.set_result(f"{venue} stays disabled: a circuit breaker still excludes it.", ok=False)
        else:
            self.panels.override.set_result(f"{venue} {'enabled' if enabled else 'disabled'} for routing.")
        self.add_alert(Severity.INFO, "venue", venue, f"{'enabled' if enabled else 'disabled'} by {self.actor}",
                       venue=venue)
        self.refresh_override()

    # ---- kill switch -----------------------------------------------------------------------------

    def kill_switch(self) -> bool:
        """Press the kill switch as the session's actor; a trader is refused by the engine."""
        actor = self.actor or Actor("view-only", Role.TRADER)
        try:
            canceled = self.engine.kill_switch(actor, f"kill switch pressed by {actor.user} in the terminal")
        except PermissionError as exc:
            self.add_alert(Severity.ERROR, "kill_switch", str(actor), f"Refused: {exc}")
            return False
        self.last_kill = dict(canceled)
        self.window.show_trading_state(TradingState.HALTED, str(actor), self.clock.now(),
                                       "kill switch pressed in the terminal", canceled)
        total = sum(canceled.values())
        per_venue = ", ".join(f"{v} {n}" for v, n in sorted(canceled.items())) or "none working"
        self.add_alert(Severity.CRITICAL, "kill_switch", str(actor), f"Canceled {total} working orders: {per_venue}")
        for dialog in list(self._dialogs.values()):
            dialog.set_outcome("Withdrawn: kill switch", theme.ASK)
        self.push_blotters()
        self.push_ladders()
        return True

    def set_limit(self, name: str, value: float) -> bool:
        """A limit edited in the risk panel, as the session's actor: the engine refuses anyone but a
        supervisor (hard limits) and journals the change with its actor."""
        actor = self.actor or Actor("view-only", Role.TRADER)
        try:
            old = getattr(self.engine.risk.limits, name, None)
            self.engine.risk.set_limit(name, value, actor)
        except (PermissionError, ValueError) as exc:
            self.panels.risk.set_result(f"Refused: {exc}", ok=False)
            self.add_alert(Severity.WARNING, "risk_limit", str(actor), f"Limit change refused: {exc}")
            return False
        new = getattr(self.engine.risk.limits, name)
        self.panels.risk.set_limits(asdict(self.engine.risk.limits))
        self.panels.risk.set_result(f"{name}: {old:g} → {new:g} (journaled, by {actor.user})", ok=True)
        self.add_alert(Severity.INFO, "risk_limit", str(actor), f"{name} changed from {old:g} to {new:g}")
        return True

    def reset_breaker(self, key: str) -> bool:
        """A Reset in the risk panel's breaker list, as the session's actor: core decides who may
        (a supervisor; the parent's trader for the parent's own limits) and journals the reset."""
        panel = self.panels.risk
        if self.breakers is None:
            panel.set_result("No circuit breakers run on this market.", ok=False)
            return False
        if self.actor is None:
            panel.set_result("Log in to reset a circuit breaker.", ok=False)
            return False
        actor = self.actor
        try:
            self.breakers.reset(key, actor)
        except (PermissionError, ValueError) as exc:
            panel.set_result(f"Reset refused: {exc}", ok=False)
            self.add_alert(Severity.WARNING, "breaker_reset", str(actor), f"Reset of {key} refused: {exc}")
            return False
        panel.set_breakers(breaker_rows(self.breakers))
        rule, _, target = key.partition(":")
        paused = target in self.engine.oms.parents and self.engine.oms.parents[target].state is ParentState.PAUSED
        resume = " The parent stays paused: resume it in the Override panel." if paused else ""
        panel.set_result(f"{key} reset by {actor.user} (journaled).{resume}", ok=True)
        self.add_alert(Severity.INFO, "breaker_reset", str(actor), f"{rule} on {target} reset",
                       venue="" if target in self.engine.oms.parents else target,
                       parent_id=target if target in self.engine.oms.parents else "")
        return True

    def reset_kill_switch(self) -> bool:
        actor = self.actor or Actor("view-only", Role.TRADER)
        try:
            self.engine.risk.reset_kill_switch(actor, "reset in the terminal")
        except PermissionError as exc:
            self.add_alert(Severity.ERROR, "kill_switch", str(actor), f"Reset refused: {exc}")
            return False
        self.last_kill = {}
        return True

    # ---- exit with working orders --------------------------------------------------------------

    def working_orders(self) -> tuple[list[str], list[ChildOrder]]:
        """Live parents (running, paused, completing) and every open child order."""
        oms = self.engine.oms
        return [pid for pid, p in oms.parents.items() if p.state in _LIVE], oms.open_children()

    def confirm_exit(self) -> bool:
        """The window's close guard: True closes now; False keeps the window while the trader
        answers (or while canceled orders are being confirmed)."""
        if self._exit_ready:
            return True
        if self.exit_pending:
            return False
        parents, children = self.working_orders()
        if not parents and not children:
            return True
        self.exit_pending = True
        self.exit_prompt(self._working_summary(parents, children), self.actor is not None, self._on_exit_choice)
        return False

    def _working_summary(self, parents: list[str], children: list[ChildOrder]) -> str:
        oms = self.engine.oms
        lines = []
        for pid in parents:
            p = oms.parents[pid]
            done = float(oms.done_qty(pid))
            qty = float(p.quantity)
            lines.append(f"{pid}: {p.side.name.lower()} {qty:,.4g} {p.instrument.base}, {p.algo}, "
                         f"{p.state.value.replace('_', ' ')}, {100 * done / qty if qty else 0:.1f}% done")
        per_venue: dict[str, int] = {}
        for child in children:
            per_venue[child.venue] = per_venue.get(child.venue, 0) + 1
        leaves = sum(float(c.leaves) for c in children)
        if children:
            venues = ", ".join(f"{v} {n}" for v, n in sorted(per_venue.items()))
            lines.append(f"{len(children)} child orders working ({venues}), {leaves:,.4g} left to fill")
        else:
            lines.append("No child order is resting right now, but the running parents will send more.")
        return "\n".join(lines)

    def _open_exit_dialog(self, summary: str, can_cancel: bool, answer: Callable[[str], None]) -> None:
        dialog = ExitDialog(summary, can_cancel, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.choice.connect(answer)
        dialog.destroyed.connect(lambda *_: setattr(self, "exit_dialog", None))
        self.exit_dialog = dialog
        dialog.open()  # never exec(): a nested loop under qasync

    def _on_exit_choice(self, choice: str) -> None:
        if choice not in (CANCEL, LEAVE) or (choice == CANCEL and self.actor is None):
            self.exit_pending = False  # "Don't exit" (or a cancel nobody may do): the terminal stays
            return
        actor = self.actor or Actor("view-only", Role.TRADER)
        parents, children = self.working_orders()
        self.engine.oms.record("terminal.exit", {
            "choice": choice, "parents": parents, "children": [c.client_id for c in children],
            "working_qty": sum(float(c.leaves) for c in children),
        }, actor, self.clock.now())
        if choice == LEAVE:
            log.info("exit: leaving %d parents and %d child orders working", len(parents), len(children))
            self._exit_now()
            return
        for pid in parents:
            try:
                self.execution.cancel(pid, actor, "canceled on exit")
            except (ValueError, KeyError, PermissionError) as exc:
                log.warning("exit: could not cancel parent %s: %s", pid, exc)
        leftovers = self.engine.oms.open_children()  # children of no live parent (e.g. after a stop)
        self.engine.cancel_children(leftovers, actor, "canceled on exit")
        self._exit_waiting = {c.client_id for c in (*children, *leftovers)}
        self._exit_started = time.monotonic()
        self.add_alert(Severity.WARNING, "exit", str(actor), f"Canceling {len(parents)} parents and "
                       f"{len(self._exit_waiting)} child orders before exit")
        if self._exit_timer is None:
            self._exit_timer = QTimer(self)
            self._exit_timer.setInterval(EXIT_POLL_MS)
            self._exit_timer.timeout.connect(self._poll_exit_cancels)
        self._exit_timer.start()
        self._poll_exit_cancels()

    def _poll_exit_cancels(self) -> None:
        """Close once every canceled child is confirmed closed, or after `exit_ack_wait_s`."""
        children = self.engine.oms.children
        pending = sorted(cid for cid in self._exit_waiting if cid in children and children[cid].status.is_open)
        waited = time.monotonic() - self._exit_started
        if pending and waited < self.exit_ack_wait_s:
            self.window.statusBar().showMessage(
                f"Exit: waiting for {len(pending)} cancel confirmations ({self.exit_ack_wait_s - waited:.0f} s left)…")
            return
        if self._exit_timer is not None:
            self._exit_timer.stop()
        actor = self.actor or Actor("view-only", Role.TRADER)
        self.engine.oms.record("terminal.exit_cancels", {
            "confirmed": len(self._exit_waiting) - len(pending), "unconfirmed": pending, "waited_s": round(waited, 3),
        }, actor, self.clock.now())
        if pending:  # left pending-cancel in the journal: reconciliation resolves them on the next start
            log.warning("exit: %d cancels unconfirmed after %.1f s: %s", len(pending), waited, ", ".join(pending))
        self._exit_now()

    def _exit_now(self) -> None:
        self._exit_ready = True
        self.exit_pending = False
        # next turn of the loop: an answer given inside closeEvent would hit Qt's guard against a nested close
        QTimer.singleShot(0, self.window, self.window.close)

    # ---- alerts ----------------------------------------------------------------------------------

    def add_alert(self, severity: Severity, kind: str, source: str, detail: str, venue: str = "",
                  parent_id: str = "", ts: float | None = None) -> AlertRow:
        self._alert_seq += 1
        row = AlertRow(f"A{self._alert_seq:06d}", self.clock.now() if ts is None else ts, severity, kind, source,
                       detail, venue, parent_id)
        self.panels.alerts.alerts.apply_rows([row])
        if severity >= Severity.WARNING:
            log.warning("%s %s: %s", kind, source, detail, extra={"parent_id": parent_id, "venue": venue})
        return row

    def _on_acknowledged(self, alert_id: str) -> None:
        """Journal who acknowledged which alert (the OMS record API: same journal as the orders)."""
        actor = self.actor or Actor("view-only", Role.TRADER)
        row = self.panels.alerts.alerts.row_by_key(alert_id)
        payload: dict[str, Any] = {"alert_id": alert_id}
        if row is not None:
            payload.update(severity=row.severity.name.lower(), kind=row.kind, source=row.source, detail=row.detail,
                           venue=row.venue, parent_id=row.parent_id, alert_ts=row.ts)
        self.engine.oms.record("alert.ack", payload, actor, self.clock.now())

    def _on_alert_activated(self, alert_id: str) -> None:
        """Enter / double-click on an alert: jump to its parent (blotter row, chart, override panel)
        or to its venue's ladder."""
        row = self.panels.alerts.alerts.row_by_key(alert_id)
        if row is None:
            return
        if row.parent_id and row.parent_id in self.engine.oms.parents:
            self.select_parent(row.parent_id)
            self.window.show_panel("parents")
            self.panels.parents.select_key(row.parent_id)
            self.window.show_panel("override")
        elif row.venue in self.panels.ladders:
            self.window.show_panel("ladders")
            self.panels.ladders[row.venue].setFocus()
            self.panels.ladders[row.venue].recenter()

    # ---- selection ------------------------------------------------------------------------------

    def select_parent(self, parent_id: str) -> None:
        if parent_id not in self.engine.oms.parents:
            return
        if parent_id != self.selected:
            self.selected = parent_id
            self.window.docks["chart"].setWindowTitle(f"Execution chart — {parent_id}")
            series = self._series_for(parent_id)
            series.sent = series.fills_sent = 0
            series.plan_sent = False
        self.push_chart()
        self.refresh_override()

    def _on_parent_selection(self, *_: object) -> None:
        keys = self.panels.parents.selected_keys()
        if keys:
            self.select_parent(keys[0])

    # ---- pushes (timers) ---------------------------------------------------------------------------

    def flush_all(self) -> None:
        """Push everything now (tests, screenshots)."""
        self.push_ladders()
        self.push_blotters()
        self.push_chart()
        self.push_slow()
        for ladder in self.panels.ladders.values():
            ladder.flush()
        self.panels.chart.flush()

    def push_ladders(self) -> None:
        self._discover_children()
        if not self._ladder_dirty:
            return
        dirty, self._ladder_dirty = self._ladder_dirty, set()
        working = self._working_by_venue()
        for venue in dirty:
            book = self._books.get(venue)
            ladder = self.panels.ladders.get(venue)
            if book is None or ladder is None:
                continue
            self._show(ladder, self._ladder_view(venue, book, working.get(venue)))
        consolidated = self.panels.ladders.get(CONSOLIDATED)
        if consolidated is not None and self._books:
            self._show(consolidated, self._consolidated_view(working))

    def _show(self, ladder: DepthLadder, view: LadderView) -> None:
        """Set the view, grouping ticks per row when the spread would not fit on the ladder
        (a flush can open the spread to hundreds of ticks: one tick per row would show nothing
        but empty prices)."""
        group = self._ticks_per_row.get(view.venue, 1)
        wanted = ticks_per_row_for(view, ladder.visible_rows, group)
        if wanted != group:
            self._ticks_per_row[view.venue] = wanted
            ladder.set_ticks_per_row(wanted)
        if wanted > 1:
            view = dataclasses.replace(view, symbol=f"{view.symbol} {wanted}t/row")
        ladder.set_view(view)

    def push_blotters(self) -> None:
        self._discover_children()
        oms = self.engine.oms
        # live parents, and any whose state moved since its row was drawn even when nothing else
        # happened to it (a kill switch pressed while none of its children was working stops it
        # without a fill, a cancel or a progress event)
        shown = self._parent_state
        redraw = {pid for pid, p in oms.parents.items() if p.state in _LIVE or shown.get(pid) is not p.state}
        pids = self._dirty_parents | redraw
        self._dirty_parents = set()
        rows = [self._parent_row(pid) for pid in pids if pid in oms.parents]
        if rows:
            self.panels.parents.model.apply_rows(rows)
            self._watch_parent_states(rows)
        if self._dirty_children:
            ids, self._dirty_children = self._dirty_children, set()
            self.panels.children.model.apply_rows(
                child_row(oms.children[cid]) for cid in ids if cid in oms.children)
        if self._new_fills:
            fills, self._new_fills = self._new_fills, []
            self.panels.fills.model.apply_rows(fills)
        if self._rfq_dirty:
            ids, self._rfq_dirty = self._rfq_dirty, set()
            self.panels.rfq_log.model.apply_rows(self._rfq_rows[i] for i in ids)
        if self.selected and self.selected in pids:
            self.refresh_override()

    def push_chart(self) -> None:
        pid = self.selected
        if not pid:
            return
        series = self._series.get(pid)
        parent = self.engine.oms.parents.get(pid)
        if series is None or parent is None or parent.start_ts is None:
            return
        new = len(series.t) - series.sent
        new_fills = len(series.fill_t) - series.fills_sent
        plan = series.plan if not series.plan_sent else None
        first = series.sent == 0 and series.fills_sent == 0 and not series.plan_sent
        if new <= 0 and new_fills <= 0 and plan is None and not first:
            return
        a, b = series.sent, len(series.t)
        fa, fb = series.fills_sent, len(series.fill_t)
        update = ChartUpdate(
            parent_id=pid,
            start_ts=parent.start_ts,
            venues=self.chart_venues,
            arrival=self.engine.oms.arrival_mid.get(pid, math.nan),
            max_participation=parent.max_participation,
            t=np.array(series.t[a:b]), filled_cum=np.array(series.filled[a:b]), price=np.array(series.price[a:b]),
            vwap=np.array(series.vwap[a:b]), participation=np.array(series.part[a:b]),
            schedule_t=plan[0] if plan is not None else EMPTY,
            schedule_qty=plan[1] if plan is not None else EMPTY,
            band_low=plan[2] if plan is not None else EMPTY,
            band_high=plan[3] if plan is not None else EMPTY,
            fill_t=np.array(series.fill_t[fa:fb]), fill_px=np.array(series.fill_px[fa:fb]),
            fill_qty=np.array(series.fill_qty[fa:fb]), fill_venue=np.array(series.fill_v[fa:fb], dtype=np.int64),
            reset=first,
        )
        series.sent, series.fills_sent = b, fb
        if plan is not None:
            series.plan_sent = True
        self.panels.chart.apply(update)

    def push_slow(self) -> None:
        """Once a second: venue status, clock note, balances, risk summary, reference price."""
        self.window.set_venue_status({v: (self._venue_up.get(v, True), self._latency_ms.get(v, math.nan))
                                      for v in self.venue_names})
        if self.pacer is not None:
            note = ""
            if self.pacer.effective_speed != self.pacer.speed:
                note = "(×1 while a quote is open)"
            elif self.pacer.lag_s > 1.0:
                note = f"(simulator {self.pacer.lag_s:.0f} s behind)"
            self.window.set_sim_speed(self.pacer.speed, note)
        self.panels.ticket.set_reference_price(self.execution.consolidated_mid())
        self.panels.balances.model.apply_rows(balance_rows(self.engine.oms, self.engine.venues))
        self.panels.risk.set_summary(risk_text(self.engine.risk, self.last_kill))
        self.panels.risk.set_limits(asdict(self.engine.risk.limits))
        self.panels.risk.set_breakers(breaker_rows(self.breakers))
        self.refresh_override()

    def refresh_override(self) -> None:
        pid = self.selected
        parent = self.engine.oms.parents.get(pid) if pid else None
        if parent is None:
            self.panels.override.set_parent(None)
            self.panels.override.set_policy_decisions([])
            return
        oms = self.engine.oms
        venues = parent.venues or self.venue_names
        self.panels.override.set_parent({
            "parent_id": pid,
            "state": parent.state.value,
            "side": parent.side.name.lower(),
            "symbol": parent.instrument.symbol,
            "quantity": float(parent.quantity),
            "filled": float(oms.done_qty(pid)),
            "urgency": parent.urgency.value,
            "limit_price": None if parent.limit_price is None else float(parent.limit_price),
            "max_participation": parent.max_participation,
            "end_ts": parent.end_ts,
            "venues": tuple(venues),
            "venue_enabled": {v: v not in self.execution.disabled_venues for v in venues},
            "algo": parent.algo,
            "rfq_mode": parent.rfq_mode,
        })
        runner = self.execution.runners.get(pid)
        latest = runner.decisions[-POLICY_DECISIONS_SHOWN:] if runner is not None else []
        label = getattr(runner.algo, "policy_label", "") if runner is not None else ""  # fitted or defaults
        self.panels.override.set_policy_decisions(latest[::-1], parent.algo, label)
        self.panels.override.set_decisions(self._decisions.get(pid, []))

    # ---- view-model builders --------------------------------------------------------------------

    def _discover_children(self) -> None:
        """Children the OMS created since the last look (a child intent publishes no event)."""
        oms = self.engine.oms
        for pid, ids in oms.children_of.items():
            seen = self._child_seen.get(pid, 0)
            if len(ids) <= seen:
                continue
            for cid in ids[seen:]:
                child = oms.children[cid]
                if child.status.is_open:
                    self._open[cid] = child
                self._dirty_children.add(cid)
                self._ladder_dirty.add(child.venue)
            self._child_seen[pid] = len(ids)
            self._dirty_parents.add(pid)

    def _working_by_venue(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        per: dict[str, tuple[list[float], list[float]]] = {}
        for cid, child in list(self._open.items()):
            if not child.status.is_open:
                del self._open[cid]
                continue
            if child.price is None:
                continue
            leaves = float(child.leaves)
            if leaves > 0:
                px, qty = per.setdefault(child.venue, ([], []))
                px.append(float(child.price))
                qty.append(child.side.sign * leaves)
        return {v: (np.array(px), np.array(qty)) for v, (px, qty) in per.items()}

    def _ladder_view(self, venue: str, book: BookUpdate,
                     working: tuple[np.ndarray, np.ndarray] | None) -> LadderView:
        wpx, wqty = working if working is not None else (EMPTY, EMPTY)
        last = self._last_trade.get(venue)
        vap_px, vap_qty = self._vap_for(venue)
        flag_px, flag_score, flag_kind = self._flags_for(venue)
        return LadderView(
            venue=venue, symbol=book.symbol, tick_size=self.tick.get(venue, 1.0),
            bid_px=book.bid_px, bid_qty=book.bid_qty, ask_px=book.ask_px, ask_qty=book.ask_qty,
            working_px=wpx, working_qty=wqty, working_queue_ahead=np.full(len(wpx), np.nan),
            last_px=last[0] if last else math.nan, last_qty=last[1] if last else math.nan,
            last_side=last[2] if last else 0, vap_px=vap_px, vap_qty=vap_qty, ts=book.ts, qty_decimals=3,
            flag_px=flag_px, flag_score=flag_score, flag_kind=flag_kind,
        )

    def _flags_for(self, venue: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """Price levels surveillance flags on `venue` now (large orders of a spoofing campaign,
        resting or just pulled), with the campaign's score."""
        detector = self.desk.surveillance.spoofing.get(venue)
        if detector is None or detector.score < SPOOF_FLAG_SCORE:
            return EMPTY, EMPTY, ()
        levels = detector.flagged_levels()
        px = np.array([p for _, p in levels], dtype=float)
        return px, np.full(len(px), detector.score), ("spoofing",) * len(px)

    def _consolidated_view(self, working: dict[str, tuple[np.ndarray, np.ndarray]]) -> LadderView:
        books = list(self._books.values())
        bid_px, bid_qty = merge_levels([b.bid_px for b in books], [b.bid_qty for b in books], descending=True)
        ask_px, ask_qty = merge_levels([b.ask_px for b in books], [b.ask_qty for b in books], descending=False)
        wpx = np.concatenate([w[0] for w in working.values()]) if working else EMPTY
        wqty = np.concatenate([w[1] for w in working.values()]) if working else EMPTY
        vaps = [self._vap_for(v) for v in self.venue_names]
        vap_px, vap_qty = merge_levels([v[0] for v in vaps], [v[1] for v in vaps], descending=False)
        last = max(self._last_trade.values(), key=lambda x: x[3]) if self._last_trade else None
        return LadderView(
            venue=CONSOLIDATED, symbol=self.symbol, tick_size=max(self.tick.values(), default=1.0),
            bid_px=bid_px, bid_qty=bid_qty, ask_px=ask_px, ask_qty=ask_qty,
            working_px=wpx, working_qty=wqty, working_queue_ahead=np.full(len(wpx), np.nan),
            last_px=last[0] if last else math.nan, last_qty=last[1] if last else math.nan,
            last_side=last[2] if last else 0, vap_px=vap_px, vap_qty=vap_qty,
            ts=max(b.ts for b in books), qty_decimals=3,
        )

    def _vap_for(self, venue: str) -> tuple[np.ndarray, np.ndarray]:
        if venue in self._vap_dirty or venue not in self._vap_arrays:
            d = self._vap.get(venue, {})
            self._vap_arrays[venue] = (np.fromiter(d.keys(), float, len(d)), np.fromiter(d.values(), float, len(d)))
            self._vap_dirty.discard(venue)
        return self._vap_arrays[venue]

    def _fill_acc_for(self, pid: str) -> list[float]:
        acc = self._fill_acc.get(pid)
        if acc is None:  # first sight (e.g. replayed from the journal): start from the OMS's sums
            children = self.engine.oms.children_for(pid)
            acc = self._fill_acc[pid] = [float(sum(c.filled for c in children)),
                                         float(sum(c.notional_filled for c in children))]
        return acc

    def _market_vwap(self, pid: str) -> float:
        acc = self._vwap_acc.get(pid)
        return acc[0] / acc[1] if acc and acc[1] > 0 else math.nan

    def _parent_row(self, pid: str) -> ParentRow:
        oms = self.engine.oms
        p = oms.parents[pid]
        qty = float(p.quantity)
        ex_qty, ex_notional = self._fill_acc_for(pid)
        otc = oms.otc_fills.get(pid, [])
        otc_qty = sum(float(f["quantity"]) for f in otc)
        otc_notional = sum(float(f["quantity"]) * float(f["price"]) for f in otc)
        done = ex_qty + otc_qty
        avg = (ex_notional + otc_notional) / done if done > 0 else math.nan
        arrival = oms.arrival_mid.get(pid, math.nan)
        sign = p.side.sign
        shortfall = sign * (avg - arrival) / arrival * 1e4 if done > 0 and arrival > 0 else math.nan
        vwap = self._market_vwap(pid)
        vs_vwap = sign * (avg - vwap) / vwap * 1e4 if done > 0 and vwap > 0 else math.nan
        now = self.clock.now()
        start = p.start_ts if p.start_ts is not None else math.nan
        end = p.end_ts if p.end_ts is not None else (start + p.horizon_s)
        progress = self._progress.get(pid)
        working = sum(float(c.leaves) for c in self._open.values() if c.parent_id == pid and c.status.is_open)
        reference = arrival if arrival > 0 else self.execution.consolidated_mid()
        return ParentRow(
            parent_id=pid, account=p.account, trader=p.trader, instrument=p.instrument.symbol, side=p.side,
            qty=qty, filled=done, leaves=max(qty - done, 0.0), pct=100.0 * done / qty if qty else 0.0,
            avg_price=avg, arrival=arrival, shortfall_bps=shortfall, vs_vwap_bps=vs_vwap,
            limit=float(p.limit_price) if p.limit_price is not None else math.nan, algo=p.algo, state=p.state,
            start_ts=start, end_ts=end,
            time_left_s=max(0.0, end - now) if p.state in _LIVE else (p.horizon_s if p.state is ParentState.STAGED
                                                                       else 0.0),
            ahead_behind_qty=done - progress.schedule_qty if progress is not None and p.state in _LIVE else 0.0,
            working=working, otc_qty=otc_qty, notional_usd=qty * reference if reference > 0 else math.nan,
        )

    def _watch_parent_states(self, rows: list[ParentRow]) -> None:
        for row in rows:
            before = self._parent_state.get(row.parent_id)
            if before is row.state:
                continue
            self._parent_state[row.parent_id] = row.state
            self._decision(row.parent_id, f"state: {row.state.value.replace('_', ' ')}", self.clock.now())
            if row.state.is_terminal and before is not None:  # done or stopped: critical, stays until acknowledged
                self.add_alert(Severity.CRITICAL, "parent", row.parent_id,
                               f"{row.state.value.replace('_', ' ')}: {row.filled:,.4f} of {row.qty:,.4f} done "
                               f"({row.pct:.1f}%), IS {row.shortfall_bps:+.1f} bps", parent_id=row.parent_id)
                self._vwap_acc.pop(row.parent_id, None)

    # ---- chart plan --------------------------------------------------------------------------------

    def _series_for(self, pid: str) -> ParentSeries:
        series = self._series.get(pid)
        if series is None:
            series = self._series[pid] = ParentSeries()
        return series

    def _note_schedule(self, ev: ParentProgress) -> None:
        """A decision line when the parent moves between ahead / on schedule / behind."""
        tolerance = self.execution.config.behind_tolerance * ev.quantity
        gap = ev.filled - ev.schedule_qty
        status = "behind" if gap < -tolerance else "ahead" if gap > tolerance else "on schedule"
        if self._schedule_status.get(ev.parent_id) == status:
            return
        self._schedule_status[ev.parent_id] = status
        if status == "behind":
            text = f"behind schedule by {-gap:,.3f} → crossing the spread (marketable IOC, capped)"
        elif status == "ahead":
            text = f"ahead of schedule by {gap:,.3f} → resting passively only"
        else:
            text = "on schedule → resting the next slice at the touch"
        self._decision(ev.parent_id, text, ev.ts)

    def _decision(self, pid: str, text: str, ts: float | None) -> None:
        if not pid:
            return
        lines = self._decisions.setdefault(pid, [])
        lines.insert(0, f"{hms(ts)}  {text}")
        del lines[200:]


# ---- helpers ----------------------------------------------------------------------------------------


def _rfq_outcome(ev: RfqStateChanged) -> tuple[str, str]:
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
