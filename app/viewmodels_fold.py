"""Engine → widgets: engine events folded into view-models, pushed to the widgets at bounded rates.

Events arrive synchronously on the bus and are folded into cheap state here — our open children,
changed rows, fills, chart samples, the market VWAP over each running parent, the RFQ log, the
decision lines of each parent, the venues' health — never painted from the handler. Books and
trades are folded by the ladders' own feed (app/ladder_views.py), which gets our working orders
from here. Qt timers push that state to the widgets:

- ladders at most `max_fps` per second (each ladder coalesces again to its own frame rate);
- blotters every 250 ms, only the rows that changed since the last batch;
- the execution chart at most 10 times a second (new samples only);
- alerts and the HALTED state at once (they are rare and urgent);
- venue status, balances, the risk summary with the tripped circuit breakers, the reference price
  and the override panel once a second.

It also owns what the trader looks at: the selected parent (chart, override panel) and the
jump from an alert to its parent or venue. Commands (app/commands_ui.py) tell it what they
changed (`mark_parent`, `track_market_vwap`, `replan`, `decision`, `note_kill`) and push.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import asdict

import numpy as np
from PySide6.QtCore import QObject, QTimer

from app.alert_feed import AlertFeed
from app.chart_plan import ParentSeries, compute_plan
from app.desk_source import Pacing, TradingDesk
from app.ladder_views import EMPTY, LadderFeed
from app.main_window import MainWindow
from app.panel_rows import balance_rows, breaker_rows, child_row, hms, risk_text
from app.panels import OTC_LABEL, Panels, RfqRow
from app.quote_dialogs import RFQ_DONE
from core.events import (
    Alert,
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
from core.parent import ParentState
from widgets.override_panel import POLICY_DECISIONS_SHOWN
from widgets.viewmodels import ChartUpdate, FillRow, ParentRow

BLOTTER_MS = 250
CHART_FPS = 10.0
SLOW_MS = 1000  # balances, venue status, risk summary, override panel, reference price
PARTICIPATION_WINDOW_S = 300.0  # our share of the market's volume over this trailing window
DECISIONS_KEPT = 200  # decision lines kept per parent, newest first
LIVE = (ParentState.RUNNING, ParentState.PAUSED, ParentState.COMPLETING)


class ViewModelFold(QObject):
    def __init__(
        self,
        source: TradingDesk,
        window: MainWindow,
        panels: Panels,
        alerts: AlertFeed,
        pacer: Pacing | None = None,
        *,
        max_fps: float = 30.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.desk = desk = source.desk
        self.engine = desk.engine
        self.execution = desk.execution
        self.clock = desk.clock
        self.window = window
        self.panels = panels
        self.alerts = alerts
        self.pacer = pacer
        self.venue_names = source.venue_names
        self.chart_venues = (*source.venue_names, OTC_LABEL)
        self.symbol = source.symbol
        self.selected = ""  # the parent on the chart and in the override panel
        self.last_kill: dict[str, int] = {}  # venue -> orders the last kill switch press canceled

        # the ladders fold books and trades themselves; our working orders come from here
        self.ladder_feed = LadderFeed(desk, source.symbol, source.venue_names, panels.ladders)

        # venues' health
        self._venue_up = {name: v.is_up for name, v in desk.venues.items()}
        self._latency_ms = {v: math.nan for v in self.venue_names}

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

        # RFQ log
        self._rfq_rows: dict[str, RfqRow] = {}
        self._rfq_dirty: set[str] = set()

        bus = self.engine.bus
        self._unsubscribe = [
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

        self._timers: list[QTimer] = []
        self._every(max(1, round(1000.0 / max_fps)), self.push_ladders)
        self._every(BLOTTER_MS, self.push_blotters)
        self._every(round(1000.0 / CHART_FPS), self.push_chart)
        self._every(SLOW_MS, self.push_slow)

    def close(self) -> None:
        for timer in self._timers:
            timer.stop()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.ladder_feed.close()

    # ---- what commands changed -----------------------------------------------------------------------

    def mark_parent(self, parent_id: str) -> None:
        """Redraw this parent's row at the next blotter push."""
        self._dirty_parents.add(parent_id)

    def track_market_vwap(self, parent_id: str) -> None:
        """Start the market VWAP over this parent's life (it just started)."""
        self._vwap_acc[parent_id] = [0.0, 0.0]

    def replan(self, parent_id: str) -> None:
        """Recompute the chart's plan for this parent at its next progress event."""
        self._series_for(parent_id).plan_dirty = True

    def decision(self, pid: str, text: str, ts: float | None) -> None:
        """A line in the parent's decision log (newest first), stamped with `ts` (epoch seconds)."""
        if not pid:
            return
        lines = self._decisions.setdefault(pid, [])
        lines.insert(0, f"{hms(ts)}  {text}")
        del lines[DECISIONS_KEPT:]

    def note_kill(self, canceled: dict[str, int]) -> None:
        """What the last kill switch press canceled per venue ({} after a reset)."""
        self.last_kill = canceled

    # ---- pushes to the widgets (timers; tests and screenshots call them directly) ----------------

    def flush_all(self) -> None:
        """Push everything now (tests, screenshots)."""
        self.push_ladders()
        self.push_blotters()
        self.push_chart()
        self.push_slow()
        self.ladder_feed.flush()
        self.panels.chart.flush()

    def push_ladders(self) -> None:
        self._discover_children()
        self.ladder_feed.push(self._working_by_venue)

    def push_blotters(self) -> None:
        self._discover_children()
        oms = self.engine.oms
        # live parents, and any whose state moved since its row was drawn even when nothing else
        # happened to it (a kill switch pressed while none of its children was working stops it
        # without a fill, a cancel or a progress event)
        shown = self._parent_state
        redraw = {pid for pid, p in oms.parents.items() if p.state in LIVE or shown.get(pid) is not p.state}
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
        self.panels.risk.set_breakers(breaker_rows(self.desk.breakers))
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

    def on_parent_selection(self, *_: object) -> None:
        keys = self.panels.parents.selected_keys()
        if keys:
            self.select_parent(keys[0])

    def show_alert_subject(self, alert_id: str) -> None:
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

    # ---- events in (synchronous on the bus: fold, never paint) --------------------------------------

    def _on_trades(self, trades: Trades) -> None:
        if not len(trades.price) or not self._vwap_acc:
            return
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
        self.ladder_feed.mark_dirty(child.venue)
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
        self.ladder_feed.mark_dirty(fill.venue)
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
            self.decision(alert.parent_id, "limit-bound: behind schedule, the limit stops the catch-up", alert.ts)
            return
        self.alerts.add(alert.severity, alert.kind, alert.source, alert.detail, alert.venue, alert.parent_id, alert.ts)
        if alert.parent_id:
            self.decision(alert.parent_id, f"{alert.kind}: {alert.detail}", alert.ts)

    def _on_trading_state(self, ev: TradingStateChanged) -> None:
        if ev.scope == "global":
            counts = self.last_kill if ev.state is TradingState.HALTED else None
            self.window.show_trading_state(ev.state, ev.actor, ev.ts, ev.reason, counts)
            severity = Severity.CRITICAL if ev.state is not TradingState.ACTIVE else Severity.INFO
            self.alerts.add(severity, "trading_state", "risk", f"Trading {ev.state.value.upper()} by {ev.actor}: "
                            f"{ev.reason}", ts=ev.ts)
        self.push_slow()

    def _on_override(self, ev: OverrideApplied) -> None:
        self.decision(ev.parent_id, f"override by {ev.actor}: {ev.field} {ev.old} → {ev.new}", ev.ts)
        self.alerts.add(Severity.INFO, "override", ev.actor, f"{ev.field}: {ev.old} → {ev.new}", parent_id=ev.parent_id,
                        ts=ev.ts)
        self._series_for(ev.parent_id).plan_dirty = True
        self._dirty_parents.add(ev.parent_id)

    def _on_venue_status(self, ev: VenueStatus) -> None:
        self._venue_up[ev.venue] = ev.connected
        severity = Severity.INFO if ev.connected else Severity.CRITICAL
        self.alerts.add(severity, "venue", ev.venue, ev.detail or ("venue up" if ev.connected else "venue down"),
                        venue=ev.venue, ts=ev.ts)
        self.push_slow()

    def _on_quote(self, ev: RfqQuoteArrived) -> None:
        parent = self.engine.oms.parents.get(ev.parent_id)
        self._rfq_rows[ev.rfq_id] = RfqRow(ev.rfq_id, ev.parent_id, ev.desk, "quoted", ev.quantity, ev.price,
                                           ev.better_than_exchange_bps, ev.expires_ts, 0.0, ev.reason)
        self._rfq_dirty.add(ev.rfq_id)
        manual = parent is not None and parent.rfq_mode == "manual"
        self.alerts.add(  # critical when it waits for the trader's answer; informative when a policy decides
            Severity.CRITICAL if manual else Severity.WARNING, "rfq_quote", ev.desk,
            f"Quote {ev.quantity:,.4g} @ {ev.price:,.2f}: {ev.recommendation} "
            f"({ev.better_than_exchange_bps:+.1f} bps vs exchange)" + ("" if manual else " — decided by policy"),
            parent_id=ev.parent_id, ts=ev.ts,
        )

    def _on_rfq_state(self, ev: RfqStateChanged) -> None:
        row = self._rfq_rows.get(ev.rfq_id)
        filled = ev.filled_qty if ev.state == "filled" else (row.filled if row else 0.0)
        if row is None:
            row = RfqRow(ev.rfq_id, ev.parent_id, ev.desk, ev.state, math.nan, math.nan, math.nan, math.nan, 0.0, "")
        self._rfq_rows[ev.rfq_id] = dataclasses.replace(row, state=ev.state, filled=filled, detail=ev.detail)
        self._rfq_dirty.add(ev.rfq_id)
        if ev.state in RFQ_DONE:
            self.decision(ev.parent_id, f"RFQ {ev.desk}: {ev.state.replace('_', ' ')} — {ev.detail}", ev.ts)
        if ev.state == "filled":
            rfq = self.desk.rfq.rfqs.get(ev.rfq_id) if self.desk.rfq is not None else None
            price = float(rfq.fill_price) if rfq is not None and rfq.fill_price is not None else math.nan
            series = self._series_for(ev.parent_id)
            series.fill_t.append(ev.ts)
            series.fill_px.append(price)
            series.fill_qty.append(ev.filled_qty)
            series.fill_v.append(len(self.chart_venues) - 1)
            series.plan_dirty = True
            self._dirty_parents.add(ev.parent_id)
            self.alerts.add(Severity.INFO, "otc_fill", ev.desk, f"OTC fill {ev.filled_qty:,.4g} @ {price:,.2f}",
                            parent_id=ev.parent_id, ts=ev.ts)

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
                self.ladder_feed.mark_dirty(child.venue)
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
            time_left_s=max(0.0, end - now) if p.state in LIVE else (p.horizon_s if p.state is ParentState.STAGED
                                                                       else 0.0),
            ahead_behind_qty=done - progress.schedule_qty if progress is not None and p.state in LIVE else 0.0,
            working=working, otc_qty=otc_qty, notional_usd=qty * reference if reference > 0 else math.nan,
        )

    def _watch_parent_states(self, rows: list[ParentRow]) -> None:
        for row in rows:
            before = self._parent_state.get(row.parent_id)
            if before is row.state:
                continue
            self._parent_state[row.parent_id] = row.state
            self.decision(row.parent_id, f"state: {row.state.value.replace('_', ' ')}", self.clock.now())
            if row.state.is_terminal and before is not None:  # done or stopped: critical, stays until acknowledged
                self.alerts.add(Severity.CRITICAL, "parent", row.parent_id,
                                f"{row.state.value.replace('_', ' ')}: {row.filled:,.4f} of {row.qty:,.4f} done "
                                f"({row.pct:.1f}%), IS {row.shortfall_bps:+.1f} bps", parent_id=row.parent_id)
                self._vwap_acc.pop(row.parent_id, None)

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
        self.decision(ev.parent_id, text, ev.ts)

    def _every(self, ms: int, slot: Callable[[], None]) -> None:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        timer.start()
        self._timers.append(timer)
