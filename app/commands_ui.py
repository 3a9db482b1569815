"""The trader's and the supervisor's commands from the window, each with its permission check and
the message it shows where the trader acted.

Trader: stage a parent from the ticket (its pre-trade report computed off the loop), start it,
pause / resume / finish now / cancel, override a parameter, switch a venue on or off for routing,
ask the OTC desks for quotes and accept or reject one. Supervisor: the kill switch and its reset,
hard limits, circuit-breaker resets. Core decides who may (the session's actor goes with every
command; nobody logged in acts as `VIEW_ONLY`) and journals what was done; a refusal is shown
with core's reason, never swallowed. Who is logged in also decides what the window offers: the
kill-switch button and the banner's reset for supervisors, editable limits, and an open ticket
only while someone may trade and trading is not halted.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from app.alert_feed import AlertFeed
from app.desk_source import TradingDesk
from app.main_window import MainWindow
from app.off_loop import OffLoop
from app.panel_rows import breaker_rows
from app.panels import NO_DESKS, Panels
from app.quote_dialogs import QuoteDialogs
from app.session import Session
from app.viewmodels_fold import ViewModelFold
from core.actors import Actor
from core.analytics.pretrade import PreTradeReport
from core.events import Severity, TradingState, TradingStateChanged
from core.parent import ParentOrder, ParentState
from core.risk.breakers import ParentForecast
from core.stage_request import StageRequest
from widgets import theme
from widgets.kill_switch import KillSwitchButton


class TerminalCommands:
    def __init__(
        self,
        source: TradingDesk,
        window: MainWindow,
        panels: Panels,
        session: Session,
        fold: ViewModelFold,
        alerts: AlertFeed,
        dialogs: QuoteDialogs,
        jobs: OffLoop,
        *,
        mc_paths: int = 20_000,
    ) -> None:
        self.source = source
        desk = source.desk
        self.engine = desk.engine
        self.execution = desk.execution
        self.rfq = desk.rfq  # None: no OTC desks
        self.breakers = desk.breakers
        self.clock = desk.clock
        self.venue_names = source.venue_names
        self.window = window
        self.panels = panels
        self.session = session
        self.fold = fold
        self.alerts = alerts
        self.dialogs = dialogs
        self.jobs = jobs
        self.mc_paths = mc_paths
        self.reports: dict[str, PreTradeReport] = {}  # parent -> its pre-trade report, as staged
        self.kill_button: KillSwitchButton | None = None
        # the ticket closes while trading is halted and opens again when a supervisor resets it
        self._unsubscribe = desk.engine.bus.subscribe(TradingStateChanged, self._on_trading_state)

    def close(self) -> None:
        self._unsubscribe()

    def _on_trading_state(self, ev: TradingStateChanged) -> None:
        if ev.scope == "global":
            self.update_trading_allowed()

    # ---- session: who may do what ---------------------------------------------------------------

    def set_actor(self, actor: Actor | None) -> None:
        """Who acts: traders trade; only supervisors get the kill switch and the reset."""
        self.session.actor = actor
        supervisor = self.session.is_supervisor
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
        self.update_trading_allowed()

    def update_trading_allowed(self) -> None:
        if self.session.actor is None:
            self.panels.ticket.set_trading_allowed(False, "Log in to stage orders.")
        elif self.engine.risk.killed:
            self.panels.ticket.set_trading_allowed(False, "HALTED by the kill switch: new orders are refused until a "
                                                          "supervisor resets trading.")
        else:
            self.panels.ticket.set_trading_allowed(True)

    # ---- the trader's commands: staging, starting, steering ---------------------------------------

    def stage(self, request: StageRequest) -> str:
        """Stage a parent from the ticket's request and compute its pre-trade report (in an
        executor). The ticket then shows the prices as staged (snapped to the tick)."""
        t = self.panels.ticket
        if self.session.actor is None:
            t.show_error("Log in to stage orders.")
            return ""
        try:
            parent, tick = self._parent_from_ticket(request)
            self.execution.stage(parent, self.session.actor)
            job = self.source.pretrade_job(parent.side, float(parent.quantity), parent.horizon_s,
                                           parent.urgency.value, parent.venues, self.mc_paths)
        except (ValueError, PermissionError, KeyError) as exc:
            t.show_error(f"Not staged: {exc}")
            return ""
        t.show_staged_prices(parent.limit_price, parent.i_would_price, tick, parent.side)
        pid = parent.parent_id
        self.fold.mark_parent(pid)
        self.alerts.add(Severity.INFO, "parent", pid, f"Staged {parent.side.name} {parent.quantity} "
                        f"{parent.instrument.base} over {parent.horizon_s / 3600:.2f} h ({parent.algo})", parent_id=pid)
        self.jobs.run(job, lambda report: self._on_report(pid, report),
                      lambda exc: t.show_error(f"{pid} staged, but the pre-trade report failed: {exc}"))
        return pid

    def start(self, parent_id: str) -> bool:
        t = self.panels.ticket
        if self.session.actor is None:
            t.show_error("Log in to start orders.")
            return False
        try:
            report = self.reports.get(parent_id)
            if report is not None:
                self.source.use_ac_params(report)
            self.execution.start(parent_id, self.session.actor)
            if self.engine.oms.parents[parent_id].rfq_mode != "off" and self.rfq is not None:
                self.rfq.watch(parent_id)
        except (ValueError, PermissionError, KeyError) as exc:
            t.show_error(f"Not started: {exc}")
            self.alerts.add(Severity.WARNING, "parent", parent_id, f"Start refused: {exc}", parent_id=parent_id)
            return False
        parent = self.engine.oms.parents[parent_id]
        if report is not None:
            self._register_forecast(parent_id, report, self.clock.now())
        self.fold.track_market_vwap(parent_id)
        self.fold.replan(parent_id)
        t.set_started(parent_id)
        self.panels.pretrade.set_startable(False)
        self.alerts.add(Severity.INFO, "parent", parent_id, f"Started by {self.session.actor}: {parent.algo}, "
                        f"arrival {self.engine.oms.arrival_mid.get(parent_id, math.nan):,.2f}", parent_id=parent_id)
        self.fold.select_parent(parent_id)
        self.window.show_panel("override")
        self.fold.push_blotters()
        return True

    def command(self, parent_id: str, what: str) -> bool:
        panel = self.panels.override
        if self.session.actor is None:
            panel.set_result("Log in to steer orders.", ok=False)
            return False
        try:
            if what == "pause":
                self.execution.pause(parent_id, self.session.actor)
            elif what == "resume":
                self.execution.resume(parent_id, self.session.actor)
            elif what == "finish_now":
                self.execution.finish_now(parent_id, self.session.actor)
            elif what == "cancel":
                self.execution.cancel(parent_id, self.session.actor)
            else:
                raise ValueError(f"unknown command {what!r}")
        except (ValueError, PermissionError, KeyError) as exc:
            panel.set_result(f"{what.replace('_', ' ')} refused: {exc}", ok=False)
            return False
        self.fold.decision(parent_id, f"{what.replace('_', ' ')} by {self.session.actor}", self.clock.now())
        panel.set_result(f"{what.replace('_', ' ').capitalize()}: done.")
        self.fold.mark_parent(parent_id)
        self.fold.refresh_override()
        return True

    def override(self, parent_id: str, field_name: str, value: Any) -> bool:
        panel = self.panels.override
        if self.session.actor is None:
            panel.set_result("Log in to steer orders.", ok=False)
            return False
        try:
            self.execution.override(parent_id, field_name, value, self.session.actor)
        except (ValueError, PermissionError, KeyError) as exc:
            panel.set_result(f"{field_name.replace('_', ' ')} not changed: {exc}", ok=False)
            return False
        panel.set_result(f"{field_name.replace('_', ' ')} → {value}: applied at the next algo tick.")
        self.fold.refresh_override()
        return True

    def set_venue_enabled(self, venue: str, enabled: bool) -> None:
        if self.session.actor is None:
            self.panels.override.set_result("Log in to steer orders.", ok=False)
            return
        now_on = self.execution.set_venue_enabled(venue, enabled, self.session.actor)
        if enabled and not now_on:  # a circuit breaker still excludes it: it comes back when that resets
            self.panels.override.set_result(f"{venue} stays disabled: a circuit breaker still excludes it.", ok=False)
        else:
            self.panels.override.set_result(f"{venue} {'enabled' if enabled else 'disabled'} for routing.")
        self.alerts.add(Severity.INFO, "venue", venue,
                        f"{'enabled' if enabled else 'disabled'} by {self.session.actor}", venue=venue)
        self.fold.refresh_override()

    def use_horizon(self, seconds: float) -> None:
        self.panels.ticket.fill(horizon=f"{seconds / 60:g}m")

    # ---- RFQ: asking the OTC desks, answering their quotes -----------------------------------------

    def request_quotes(self, parent_id: str) -> int:
        if self.session.actor is None:
            self.panels.override.set_result("Log in to request quotes.", ok=False)
            return 0
        if self.rfq is None:
            self.panels.override.set_result(NO_DESKS, ok=False)
            return 0
        try:
            sent = self.rfq.request(parent_id, self.session.actor)
        except (ValueError, PermissionError, KeyError) as exc:
            self.panels.override.set_result(f"RFQ refused: {exc}", ok=False)
            return 0
        desks = ", ".join(r.desk for r in sent)
        self.panels.override.set_result(f"Asked {desks} for {float(sent[0].requested_qty):,.4g}" if sent
                                        else "Nothing to ask for (too little left or no desk allowed).", ok=bool(sent))
        return len(sent)

    def accept_quote(self, quote_id: str, qty: float) -> bool:
        dialog = self.dialogs.get(quote_id)
        if self.session.actor is None:
            self.dialogs.show_error(dialog, "Log in to accept quotes.")
            return False
        if self.rfq is None:
            self.dialogs.show_error(dialog, NO_DESKS)
            return False
        try:
            rfq = self.rfq.rfqs[self.rfq.by_quote[quote_id]]
            full = rfq.quote is not None and abs(float(rfq.quote.quantity) - qty) < 1e-12
            ok = self.rfq.accept(quote_id, self.session.actor, None if full else Decimal(repr(qty)))
        except (ValueError, PermissionError, KeyError) as exc:
            self.dialogs.show_error(dialog, f"Not accepted: {exc}")
            return False
        if not ok:
            self.dialogs.show_error(dialog, "Not accepted: the quote expired or was refused (see RFQ panel).")
        self.dialogs.release_hold(quote_id)
        return ok

    def reject_quote(self, quote_id: str) -> None:
        if self.session.actor is None:
            self.dialogs.show_error(self.dialogs.get(quote_id), "Log in to answer quotes.")
            return
        if self.rfq is None:
            self.dialogs.show_error(self.dialogs.get(quote_id), NO_DESKS)
            return
        try:
            self.rfq.reject(quote_id, self.session.actor, "rejected by trader")
        except (ValueError, KeyError) as exc:
            self.dialogs.show_error(self.dialogs.get(quote_id), str(exc))
        self.dialogs.release_hold(quote_id)

    # ---- the supervisor's commands: kill switch, limits, circuit breakers --------------------------

    def kill_switch(self) -> bool:
        """Press the kill switch as the session's actor; a trader is refused by the engine."""
        actor = self.session.acting()
        try:
            canceled = self.engine.kill_switch(actor, f"kill switch pressed by {actor.user} in the terminal")
        except PermissionError as exc:
            self.alerts.add(Severity.ERROR, "kill_switch", str(actor), f"Refused: {exc}")
            return False
        self.fold.note_kill(dict(canceled))
        self.window.show_trading_state(TradingState.HALTED, str(actor), self.clock.now(),
                                       "kill switch pressed in the terminal", canceled)
        total = sum(canceled.values())
        per_venue = ", ".join(f"{v} {n}" for v, n in sorted(canceled.items())) or "none working"
        self.alerts.add(Severity.CRITICAL, "kill_switch", str(actor), f"Canceled {total} working orders: {per_venue}")
        self.dialogs.withdraw_all("Withdrawn: kill switch")
        self.fold.push_blotters()
        self.fold.push_ladders()
        return True

    def reset_kill_switch(self) -> bool:
        actor = self.session.acting()
        try:
            self.engine.risk.reset_kill_switch(actor, "reset in the terminal")
        except PermissionError as exc:
            self.alerts.add(Severity.ERROR, "kill_switch", str(actor), f"Reset refused: {exc}")
            return False
        self.fold.note_kill({})
        return True

    def set_limit(self, name: str, value: float) -> bool:
        """A limit edited in the risk panel, as the session's actor: the engine refuses anyone but a
        supervisor (hard limits) and journals the change with its actor."""
        actor = self.session.acting()
        try:
            old = getattr(self.engine.risk.limits, name, None)
            self.engine.risk.set_limit(name, value, actor)
        except (PermissionError, ValueError) as exc:
            self.panels.risk.set_result(f"Refused: {exc}", ok=False)
            self.alerts.add(Severity.WARNING, "risk_limit", str(actor), f"Limit change refused: {exc}")
            return False
        new = getattr(self.engine.risk.limits, name)
        self.panels.risk.set_limits(asdict(self.engine.risk.limits))
        self.panels.risk.set_result(f"{name}: {old:g} → {new:g} (journaled, by {actor.user})", ok=True)
        self.alerts.add(Severity.INFO, "risk_limit", str(actor), f"{name} changed from {old:g} to {new:g}")
        return True

    def reset_breaker(self, key: str) -> bool:
        """A Reset in the risk panel's breaker list, as the session's actor: core decides who may
        (a supervisor; the parent's trader for the parent's own limits) and journals the reset."""
        panel = self.panels.risk
        if self.breakers is None:
            panel.set_result("No circuit breakers run on this market.", ok=False)
            return False
        if self.session.actor is None:
            panel.set_result("Log in to reset a circuit breaker.", ok=False)
            return False
        actor = self.session.actor
        try:
            self.breakers.reset(key, actor)
        except (PermissionError, ValueError) as exc:
            panel.set_result(f"Reset refused: {exc}", ok=False)
            self.alerts.add(Severity.WARNING, "breaker_reset", str(actor), f"Reset of {key} refused: {exc}")
            return False
        panel.set_breakers(breaker_rows(self.breakers))
        rule, _, target = key.partition(":")
        paused = target in self.engine.oms.parents and self.engine.oms.parents[target].state is ParentState.PAUSED
        resume = " The parent stays paused: resume it in the Override panel." if paused else ""
        panel.set_result(f"{key} reset by {actor.user} (journaled).{resume}", ok=True)
        self.alerts.add(Severity.INFO, "breaker_reset", str(actor), f"{rule} on {target} reset",
                        venue="" if target in self.engine.oms.parents else target,
                        parent_id=target if target in self.engine.oms.parents else "")
        return True

    # ---- helpers --------------------------------------------------------------------------------

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
            self.alerts.add(Severity.WARNING, "approval", parent_id, "waiting for a supervisor's approval",
                            parent_id=parent_id)
        self.window.show_panel("pretrade")

    def _register_forecast(self, parent_id: str, report: PreTradeReport, start_ts: float) -> None:
        """The slippage breaker's band for this parent: the staged pre-trade forecast (mean and
        standard deviation of the cost, bps) over the parent's horizon from its start."""
        if self.breakers is None:
            return
        horizon_s = self.engine.oms.parents[parent_id].horizon_s
        self.breakers.forecasts[parent_id] = ParentForecast(
            report.distribution.mean_bps, report.distribution.std_bps, horizon_s, start_ts
        )
