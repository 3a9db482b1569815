"""The embedded simulated market inside the terminal, and the pacer that drives it from Qt.

`build_embedded_market` puts the scenario's market (`MarketSim` → `SimExchange` venues on a
`SimClock`) under the one desk every path builds (app/desk.py: OMS, risk gate, breakers,
execution with every algo, surveillance and the adaptive policy, RFQ with the scenario's OTC
desks), journaled to the given journal and restored from it.

`SimPacer` advances that `SimClock` from a Qt timer: every `tick_ms` of wall time the simulated
target becomes start + speed × elapsed wall time, and `clock.run_until` catches up — by at most
`max_step_s` simulated seconds and `budget_ms` of wall time per tick, so a slow moment of the
simulator makes the market run late (shown in the status bar) instead of freezing the window.
While a quote awaits the trader's answer the pacer drops to real time (×1), so a 15-second quote
gives the trader 15 seconds, not 1.5.

`run_fast` runs the market as fast as it can to a simulated time (screenshots, demos), letting
Qt process events between chunks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from adapters.sim.exchange import SimExchange
from adapters.sim.market import MarketSim
from adapters.sim.scenario import Scenario, load_scenario
from app.desk import Desk, build_desk
from app.simulation import (
    EPOCH_T0,
    PRETRADE_DEPTH_LEVELS,
    ac_per_second,
    market_history,
    sim_desk_config,
    sim_desks,
)
from core.analytics.horizon import HorizonImpactModel
from core.analytics.instant_cost import VenueBook
from core.analytics.pretrade import PreTradeReport, PreTradeSettings, build_pretrade_report
from core.analytics.surveillance import Surveillance
from core.clock import SimClock
from core.engine import Engine
from core.execution.service import ExecutionService
from core.ports import Journal, LiquidityProvider
from core.rfq.service import RfqService
from core.risk.breakers import BreakerConfig, Breakers
from core.risk.rules import RiskLimits
from core.seeds import SeedTree
from core.types import Side

log = logging.getLogger(__name__)

TICK_MS = 50  # pacer period (wall)
MAX_STEP_S = 30.0  # at most this much simulated time per pacer tick
BUDGET_MS = 12.0  # and at most this much wall time per pacer tick (the loop stays responsive)
FAST_CHUNK_S = 20.0  # run_fast: simulated seconds between two looks at the Qt event queue


@dataclass(slots=True)
class EmbeddedMarket:
    """Everything the terminal trades against when `market.mode = "sim"`: the scenario's market
    and the desk built on it (app/desk.py, the same builder every other path uses). It is the
    window's `TradingDesk` (app/desk_source.py)."""

    scenario: Scenario
    seed: int
    market: MarketSim
    clock: SimClock
    exchange: SimExchange
    desk: Desk
    history: dict[str, float]
    symbol: str
    scenario_name: str = ""  # as the user named it (a shipped name or a path); "" = the scenario's own name

    @property
    def seeds(self) -> SeedTree:
        return self.desk.seeds

    @property
    def engine(self) -> Engine:
        return self.desk.engine

    @property
    def execution(self) -> ExecutionService:
        return self.desk.execution

    @property
    def rfq(self) -> RfqService | None:
        return self.desk.rfq

    @property
    def desks(self) -> dict[str, LiquidityProvider]:
        return self.desk.desks

    @property
    def surveillance(self) -> Surveillance:
        return self.desk.surveillance

    @property
    def breakers(self) -> Breakers:
        return self.desk.breakers

    @property
    def venue_names(self) -> tuple[str, ...]:
        return self.desk.venue_names

    @property
    def description(self) -> str:
        return (f"Embedded simulated market · scenario {self.scenario_name or self.scenario.name} · seed {self.seed} · "
                f"{self.symbol} on {', '.join(self.venue_names)} · OTC desks {', '.join(self.desks)}")

    @property
    def t0(self) -> float:
        """UTC epoch seconds of the scenario's t = 0."""
        return self.exchange.start_ts

    def venue_books(self, venues: tuple[str, ...]) -> list[VenueBook]:
        """Deep L2 snapshots (pre-trade walks the whole book); call on the loop's thread."""
        books = []
        for venue in self.exchange.venues:
            if venue.name in venues:
                snap = venue.depth_snapshot(self.symbol, PRETRADE_DEPTH_LEVELS)
                books.append(VenueBook(venue.name, snap.bid_px, snap.bid_qty, snap.ask_px, snap.ask_qty,
                                       venue.spec.taker_fee_bps))
        return books

    def pretrade_job(
        self, side: Side, quantity: float, horizon_s: float, urgency: str, venues: tuple[str, ...], mc_paths: int
    ) -> Callable[[], PreTradeReport]:
        """Snapshot the books now; return a function that computes the report from those arrays only
        (safe to run in an executor while the market keeps going)."""
        books = self.venue_books(venues or self.venue_names)
        if not books:
            raise ValueError("choose at least one venue")
        history = dict(self.history)
        model = HorizonImpactModel()
        if "temporary_coeff" in history:  # calibrated on this scenario (python main.py calibrate)
            model = HorizonImpactModel(temporary_coeff=history["temporary_coeff"],
                                       permanent_coeff=history["permanent_coeff"])
        settings = PreTradeSettings(mc_paths=mc_paths, seed=self.seed, horizon_model=model)

        def compute() -> PreTradeReport:
            return build_pretrade_report(books, side.sign, quantity, horizon_s, urgency, history["daily_volume"],
                                         history["sigma_daily"], settings)

        return compute

    def use_ac_params(self, report: PreTradeReport) -> None:
        """The AC algo of the next parent uses the staged report's calibration (as `simulate` does)."""
        self.execution.use_ac_params(ac_per_second(report.ac_params))

    def stop(self) -> None:
        self.exchange.stop()


def build_embedded_market(
    scenario_name: str,
    seed: int,
    journal: Journal | None,
    limits: RiskLimits | None = None,
    breaker_config: BreakerConfig | None = None,
) -> EmbeddedMarket:
    """The scenario's venues and desks on a SimClock at the scenario's t = 0 (+1 s of data);
    `limits`: the settings' risk limits (default: RiskLimits()); `breaker_config`: the settings'
    `[breakers]` (default: BreakerConfig())."""
    scenario = load_scenario(scenario_name)
    seeds = SeedTree(seed)
    market = MarketSim(scenario, seed)
    clock = SimClock(start=EPOCH_T0)
    exchange = SimExchange(market, clock, EPOCH_T0, seeds.generator)
    desks = sim_desks(exchange, scenario, seeds)
    config = sim_desk_config(exchange, scenario, limits, breaker_config)
    desk = build_desk(clock, journal, {v.name: v for v in exchange.venues}, desks, seeds, config)
    exchange.start()
    clock.run_until(EPOCH_T0 + max(market.eval_log.parent_start_s, 1.0))  # first books published
    return EmbeddedMarket(scenario, seed, market, clock, exchange, desk, market_history(scenario),
                          scenario.scenario.symbol, scenario_name)


# ---- pacing --------------------------------------------------------------------------------------------


class SimPacer(QObject):
    """Advances a SimClock to start + speed × wall time from a Qt timer, never blocking for long.

    `lag_s`: how far simulated time is behind its target (the simulator cannot keep up).
    `advanced` fires after every tick that moved the clock.
    """

    advanced = Signal()

    def __init__(
        self,
        clock: SimClock,
        speed: float,
        *,
        tick_ms: int = TICK_MS,
        max_step_s: float = MAX_STEP_S,
        budget_ms: float = BUDGET_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if speed <= 0:
            raise ValueError(f"market.speed must be positive, got {speed}")
        self.clock = clock
        self.speed = speed
        self.max_step_s = max_step_s
        self.budget_ms = budget_ms
        self.lag_s = 0.0
        self._holds: set[str] = set()
        self._anchor_wall = time.monotonic()
        self._anchor_sim = clock.now()
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)

    @property
    def effective_speed(self) -> float:
        return 1.0 if self._holds else self.speed

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        self._reanchor()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._reanchor()
        self.speed = speed

    def hold_realtime(self, key: str, on: bool) -> None:
        """Run at ×1 while any key holds (e.g. an unanswered RFQ quote)."""
        before = bool(self._holds)
        (self._holds.add if on else self._holds.discard)(key)
        if bool(self._holds) != before:
            self._reanchor()

    def tick(self) -> None:
        target = self._anchor_sim + (time.monotonic() - self._anchor_wall) * self.effective_speed
        now = self.clock.now()
        if target <= now:
            return
        t_wall = time.perf_counter()
        deadline = t_wall + self.budget_ms / 1000.0
        goal = min(target, now + self.max_step_s)
        # small steps so the wall budget is checked often; what is left waits for the next tick
        step = max(0.05, self.speed * 0.05)
        while self.clock.now() < goal and time.perf_counter() < deadline:
            self.clock.run_until(min(goal, self.clock.now() + step))
        self.lag_s = max(0.0, target - self.clock.now())
        if self.lag_s > 5 * self.max_step_s:
            # far behind (a slow machine, a debugger): drop the backlog rather than chase it forever
            self._reanchor()
            self.lag_s = 0.0
        self.advanced.emit()

    def _reanchor(self) -> None:
        self._anchor_wall = time.monotonic()
        self._anchor_sim = self.clock.now()


def run_fast(clock: SimClock, until_ts: float, process_events: Callable[[], None] | None = None,
             chunk_s: float = FAST_CHUNK_S) -> None:
    """Run the market to `until_ts` as fast as possible, letting Qt breathe between chunks."""
    while clock.now() < until_ts:
        clock.run_until(min(until_ts, clock.now() + chunk_s))
        if process_events is not None:
            process_events()
