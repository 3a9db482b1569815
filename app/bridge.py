"""Engine → widgets, and widgets → engine: the bridge composes the parts that do each.

The bridge sees the market only as a `TradingDesk` (app/desk_source.py) — the desk and a few
queries — never the simulator. It builds, by constructor injection, one part per job and wires
the widgets' signals to them:

    Session        who acts (app/session.py)
    AlertFeed      alert rows, their sound, their acknowledgement in the journal (app/alert_feed.py)
    ViewModelFold  engine events → rows, ladders, chart series; pushed at bounded rates
                   (app/viewmodels_fold.py)
    QuoteDialogs   an OTC quote awaiting the trader's answer (app/quote_dialogs.py)
    OffLoop        the pre-trade Monte Carlo off the event loop (app/off_loop.py)
    TerminalCommands  the trader's and the supervisor's commands (app/commands_ui.py)
    ExitFlow       leaving with orders working (app/exit_flow.py)

and keeps the names the rest of the terminal and its tests use (`bridge.stage`, `bridge.flush_all`,
`bridge.exit_prompt`, …) as thin delegations. The panels it feeds are built by
app/panels.py; nothing here blocks the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from app.alert_feed import AlertFeed
from app.commands_ui import TerminalCommands
from app.desk_source import Pacing, TradingDesk
from app.exit_flow import ExitFlow
from app.ladder_views import ticks_per_row_for
from app.main_window import MainWindow
from app.off_loop import OffLoop
from app.panels import NO_DESKS, Panels, build_panels
from app.quote_dialogs import QuoteDialogs
from app.session import Session
from app.viewmodels_fold import ViewModelFold
from core.actors import Actor
from core.analytics.pretrade import PreTradeReport
from core.events import Severity
from core.orders import ChildOrder
from core.stage_request import StageRequest
from widgets.alerts import AlertNotifier
from widgets.exit_dialog import ExitDialog
from widgets.kill_switch import KillSwitchButton
from widgets.rfq_dialog import RfqQuoteDialog
from widgets.viewmodels import AlertRow

__all__ = ["Bridge", "Panels", "build_panels", "ticks_per_row_for"]  # the last three moved; old imports work


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
        self.pacer = pacer
        self.venue_names = source.venue_names
        self.symbol = source.symbol

        self.session = Session()
        self.alerts = AlertFeed(panels.alerts, window, desk.engine.oms, desk.clock, self.session)
        self.fold = ViewModelFold(source, window, panels, self.alerts, pacer, max_fps=max_fps, parent=self)
        self.quote_dialogs = QuoteDialogs(desk, window, self.alerts, pacer, parent=self)
        self.jobs = OffLoop(loop)
        self.commands = TerminalCommands(source, window, panels, self.session, self.fold, self.alerts,
                                         self.quote_dialogs, self.jobs, mc_paths=mc_paths)
        self._wire_widgets()
        self.commands.set_actor(actor)
        self.fold.push_slow()
        # on exit with working orders: cancel them all, leave them working, or stay (journaled)
        self.exit = ExitFlow(desk, window, self.session, self.alerts, parent=self)
        window.set_market_description(source.description)

    def _wire_widgets(self) -> None:
        p, commands, fold = self.panels, self.commands, self.fold
        desks = tuple(self.rfq.desks) if self.rfq is not None else ()
        if self.rfq is None and p.rfq_note is not None:
            p.rfq_note.setText(NO_DESKS)
            p.rfq_note.show()
        p.ticket.set_market([self.symbol], self.venue_names, desks)
        p.ticket.set_clock(self.clock.now)
        p.ticket.stage_requested.connect(commands.stage)
        p.ticket.start_requested.connect(commands.start)
        p.pretrade.start_requested.connect(commands.start)
        p.pretrade.horizon_chosen.connect(commands.use_horizon)
        p.override.set_clock(self.clock.now)
        p.risk.limit_change_requested.connect(commands.set_limit)
        p.risk.breaker_reset_requested.connect(commands.reset_breaker)
        p.override.pause_requested.connect(lambda pid: commands.command(pid, "pause"))
        p.override.resume_requested.connect(lambda pid: commands.command(pid, "resume"))
        p.override.finish_now_requested.connect(lambda pid: commands.command(pid, "finish_now"))
        p.override.cancel_requested.connect(lambda pid: commands.command(pid, "cancel"))
        p.override.rfq_requested.connect(commands.request_quotes)
        p.override.override_requested.connect(commands.override)
        p.override.venue_toggled.connect(commands.set_venue_enabled)
        p.parents.row_activated.connect(fold.select_parent)
        p.parents.table.selectionModel().selectionChanged.connect(fold.on_parent_selection)
        p.alerts.acknowledged.connect(self.alerts.on_acknowledged)
        p.alerts.row_activated.connect(fold.show_alert_subject)
        self.window.banner.reset_requested.connect(commands.reset_kill_switch)
        self.quote_dialogs.accept_requested.connect(commands.accept_quote)
        self.quote_dialogs.reject_requested.connect(commands.reject_quote)

    def close(self) -> None:
        self.exit.close()
        self.fold.close()
        self.commands.close()
        self.quote_dialogs.close()

    # ---- session -----------------------------------------------------------------------------------

    @property
    def actor(self) -> Actor | None:
        return self.session.actor

    def set_actor(self, actor: Actor | None) -> None:
        """Who acts: traders trade; only supervisors get the kill switch and the reset."""
        self.commands.set_actor(actor)

    @property
    def kill_button(self) -> KillSwitchButton | None:
        return self.commands.kill_button

    # ---- commands (app/commands_ui.py) -------------------------------------------------------------

    def stage(self, request: StageRequest) -> str:
        return self.commands.stage(request)

    def start(self, parent_id: str) -> bool:
        return self.commands.start(parent_id)

    def _command(self, parent_id: str, what: str) -> bool:
        return self.commands.command(parent_id, what)

    def override(self, parent_id: str, field_name: str, value: Any) -> bool:
        return self.commands.override(parent_id, field_name, value)

    def set_venue_enabled(self, venue: str, enabled: bool) -> None:
        self.commands.set_venue_enabled(venue, enabled)

    def request_quotes(self, parent_id: str) -> int:
        return self.commands.request_quotes(parent_id)

    def accept_quote(self, quote_id: str, qty: float) -> bool:
        return self.commands.accept_quote(quote_id, qty)

    def reject_quote(self, quote_id: str) -> None:
        self.commands.reject_quote(quote_id)

    def kill_switch(self) -> bool:
        return self.commands.kill_switch()

    def reset_kill_switch(self) -> bool:
        return self.commands.reset_kill_switch()

    def set_limit(self, name: str, value: float) -> bool:
        return self.commands.set_limit(name, value)

    def reset_breaker(self, key: str) -> bool:
        return self.commands.reset_breaker(key)

    @property
    def reports(self) -> dict[str, PreTradeReport]:
        return self.commands.reports

    @property
    def pending_jobs(self) -> int:
        return self.jobs.pending

    # ---- what the window shows (app/viewmodels_fold.py, app/alert_feed.py, app/quote_dialogs.py) ---

    def flush_all(self) -> None:
        """Push everything now (tests, screenshots)."""
        self.fold.flush_all()

    def push_ladders(self) -> None:
        self.fold.push_ladders()

    def push_blotters(self) -> None:
        self.fold.push_blotters()

    def push_chart(self) -> None:
        self.fold.push_chart()

    def push_slow(self) -> None:
        self.fold.push_slow()

    def refresh_override(self) -> None:
        self.fold.refresh_override()

    def select_parent(self, parent_id: str) -> None:
        self.fold.select_parent(parent_id)

    @property
    def selected(self) -> str:
        return self.fold.selected

    @selected.setter
    def selected(self, parent_id: str) -> None:
        self.fold.selected = parent_id

    @property
    def last_kill(self) -> dict[str, int]:
        return self.fold.last_kill

    def add_alert(self, severity: Severity, kind: str, source: str, detail: str, venue: str = "",
                  parent_id: str = "", ts: float | None = None) -> AlertRow:
        return self.alerts.add(severity, kind, source, detail, venue, parent_id, ts)

    @property
    def notifier(self) -> AlertNotifier:
        return self.alerts.notifier

    @property
    def dialogs(self) -> dict[str, RfqQuoteDialog]:
        return self.quote_dialogs.dialogs

    def close_finished_dialogs(self) -> None:
        """Close every quote dialog whose quote is no longer live (screenshots, after a fast run)."""
        self.quote_dialogs.close_finished()

    # ---- exit (app/exit_flow.py) -------------------------------------------------------------------

    def confirm_exit(self) -> bool:
        return self.exit.confirm_exit()

    def working_orders(self) -> tuple[list[str], list[ChildOrder]]:
        return self.exit.working_orders()

    @property
    def exit_prompt(self) -> Callable[[str, bool, Callable[[str], None]], None]:
        return self.exit.prompt

    @exit_prompt.setter
    def exit_prompt(self, prompt: Callable[[str, bool, Callable[[str], None]], None]) -> None:
        self.exit.prompt = prompt

    @property
    def exit_dialog(self) -> ExitDialog | None:
        return self.exit.dialog

    @property
    def exit_ack_wait_s(self) -> float:
        return self.exit.ack_wait_s

    @exit_ack_wait_s.setter
    def exit_ack_wait_s(self, seconds: float) -> None:
        self.exit.ack_wait_s = seconds

    @property
    def exit_pending(self) -> bool:
        return self.exit.pending
