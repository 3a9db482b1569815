"""Composition root: build the engine and the window from settings and wire them together."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from adapters.store.journal import SqlJournal
from app.loop_monitor import LoopLagMonitor
from app.main_window import MainWindow
from app.settings import Settings
from core.clock import PacedClock
from core.engine import Engine
from core.events import LoopLag


@dataclass
class Terminal:
    engine: Engine
    window: MainWindow
    journal: SqlJournal
    lag_monitor: LoopLagMonitor

    def run_simulated(self, seconds: float) -> None:
        """Advance the embedded market by `seconds` of simulated time before showing it."""
        clock = self.engine.clock
        if isinstance(clock, PacedClock) and seconds > 0:
            clock.jump(seconds)

    def shutdown(self) -> None:
        self.lag_monitor.stop()
        self.journal.close()


def build_terminal(settings: Settings, loop: asyncio.AbstractEventLoop, scenario: str | None = None) -> Terminal:
    speed = float(settings.get("market.speed"))
    clock = PacedClock(start=time.time(), speed=speed, loop=loop)
    journal = SqlJournal(settings.journal_url, durable=bool(settings.get("journal.durable")))
    engine = Engine(clock, journal)
    window = MainWindow(sim_speed=speed if settings.get("market.mode") == "sim" else None)
    window.set_clock_source(clock.now)
    monitor = LoopLagMonitor(engine.bus)
    engine.bus.subscribe(LoopLag, window.show_loop_lag)
    monitor.start(loop)
    return Terminal(engine, window, journal, monitor)
