"""Composition root: build the engine and the window from settings and wire them together.

`market.mode = "sim"` (the default): the embedded market of `market.scenario` with `market.seed`
(app/terminal_sim.py) on a SimClock that a `SimPacer` advances at `market.speed`; the bridge
(app/bridge.py) connects it to the panels. Each simulated session journals to its own SQLite file
under `data_dir/sim-journals/` — a fresh simulated market must not replay another session's
orders, and nothing journaled is ever overwritten. The embedded market runs the circuit breakers
of `[breakers]`. `market.mode = "live"` builds the same desk (app/desk.py) on the configured
exchange venues; the window does not draw live venues yet (live parents run headless with
`python main.py run`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer

from adapters.store.journal import SqlJournal
from app.bridge import Bridge, build_panels
from app.desk import Desk
from app.desk_halt import DeskHaltWatch
from app.loop_monitor import LoopLagMonitor
from app.main_window import MainWindow
from app.settings import Settings, breaker_config, risk_limits
from app.terminal_sim import EmbeddedMarket, SimPacer, build_embedded_market, run_fast
from core.actors import Actor
from core.clock import LiveClock
from core.engine import Engine
from core.events import LoopLag
from core.ports import Journal

log = logging.getLogger(__name__)
DESK_HALT_POLL_MS = 1000  # how often the embedded terminal looks at the desk journal for a kill


@dataclass
class Terminal:
    engine: Engine
    window: MainWindow
    journal: Journal
    lag_monitor: LoopLagMonitor
    market: EmbeddedMarket | None = None
    bridge: Bridge | None = None
    pacer: SimPacer | None = None
    desk: Desk | None = None  # the desk (app/desk.py); on the embedded market, market.desk
    halt_watch: DeskHaltWatch | None = None  # the embedded market's watch on the desk journal's kill

    def run_simulated(self, seconds: float, process_events: object = None) -> None:
        """Advance the embedded market by `seconds` of simulated time at full speed."""
        if self.market is not None and seconds > 0:
            run_fast(self.market.clock, self.market.clock.now() + seconds, process_events)  # type: ignore[arg-type]

    def set_actor(self, actor: Actor | None) -> None:
        if self.bridge is not None:
            self.bridge.set_actor(actor)

    def shutdown(self) -> None:
        if self.pacer is not None:
            self.pacer.stop()
        if self.bridge is not None:
            self.bridge.close()
        if self.market is not None:
            self.market.stop()
        self.lag_monitor.stop()
        if self.halt_watch is not None:
            self.halt_watch.close()
        self.journal.close()


def sim_journal_path(settings: Settings, scenario: str, seed: int) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    folder = settings.data_dir / "sim-journals"
    path = folder / f"{stamp}-{scenario}-seed{seed}.sqlite"
    n = 1
    while path.exists():  # two sessions in the same second
        n += 1
        path = folder / f"{stamp}-{scenario}-seed{seed}-{n}.sqlite"
    return path


def build_terminal(
    settings: Settings,
    loop: asyncio.AbstractEventLoop | None,
    scenario: str | None = None,
    actor: Actor | None = None,
    *,
    start_pacer: bool = True,
    restore_layout: bool = True,
    settings_scope: str = "Blockhouse",
    mc_paths: int = 20_000,
    journal: Journal | None = None,
) -> Terminal:
    """The terminal for `settings`. `journal`: use this one instead of a session file (tests)."""
    max_fps = float(settings.get("ui.max_fps"))
    if settings.get("market.mode") != "sim":
        return _build_live_placeholder(settings, loop, settings_scope, restore_layout)
    scenario_name = scenario or str(settings.get("market.scenario"))
    seed = int(settings.get("market.seed"))
    speed = float(settings.get("market.speed"))
    if journal is None:
        journal = SqlJournal(sim_journal_path(settings, scenario_name, seed), durable=False)
    market = build_embedded_market(scenario_name, seed, journal, risk_limits(settings), breaker_config(settings))
    window = MainWindow(settings_scope=settings_scope, sim_speed=speed, restore=restore_layout)
    window.set_clock_source(market.clock.now)
    pacer = SimPacer(market.clock, speed, parent=window)
    panels = build_panels(window, market.venue_names, max_fps)
    # the bridge sees the embedded market only as a TradingDesk (app/desk_source.py); it also shows its description
    bridge = Bridge(market, window, panels, actor, max_fps=max_fps, mc_paths=mc_paths, pacer=pacer, loop=loop)
    monitor = LoopLagMonitor(market.engine.bus)
    market.engine.bus.subscribe(LoopLag, window.show_loop_lag)
    # `python main.py kill` halts the desk journal; this session journals elsewhere, so it watches it
    halt_watch = DeskHaltWatch(settings.journal_url, market.engine)
    halt_watch.poll()
    halt_timer = QTimer(window)
    halt_timer.setInterval(DESK_HALT_POLL_MS)
    halt_timer.timeout.connect(halt_watch.poll)
    halt_timer.start()
    if loop is not None:
        monitor.start(loop)
    if start_pacer:
        pacer.start()
    log.info("terminal on the embedded market %s (seed %d, speed %g)", scenario_name, seed, speed)
    return Terminal(market.engine, window, journal, monitor, market, bridge, pacer, market.desk, halt_watch)


def _build_live_placeholder(
    settings: Settings, loop: asyncio.AbstractEventLoop | None, settings_scope: str, restore_layout: bool
) -> Terminal:
    """The desk on the configured exchange venues (app/desk.py, as `run` builds it), restored from
    the settings' journal. The window does not draw live venues yet (ladders, blotters and tickets
    on live books come with live mode in the window); it says so, and names the venues."""
    clock = LiveClock(loop)
    journal = SqlJournal(settings.journal_url, durable=bool(settings.get("journal.durable")))
    from app.venues import build_live_desk

    desk = build_live_desk(settings, journal, clock, seed=int(settings.get("market.seed")))
    venues = desk.venues
    window = MainWindow(settings_scope=settings_scope, sim_speed=None, restore=restore_layout)
    window.set_clock_source(clock.now)
    halted = f" · HALTED by {desk.engine.risk.killed_by}" if desk.engine.risk.killed else ""
    window.set_market_description(
        f"Live mode: desk on {', '.join(venues) or 'no venue'}{halted} — the window does not draw live venues "
        "yet; run live parents with `python main.py run` (see docs/connectivity.md)."
    )
    monitor = LoopLagMonitor(desk.engine.bus)
    desk.engine.bus.subscribe(LoopLag, window.show_loop_lag)
    if loop is not None:
        monitor.start(loop)
    return Terminal(desk.engine, window, journal, monitor, desk=desk)

