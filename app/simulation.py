"""Run one parent order on the embedded market, headless, and report it (the `simulate` command).

Composition: scenario → `MarketSim` → `SimExchange` venues on a `SimClock` → `Engine` (OMS, risk)
→ `ExecutionService` (+ `RfqService` with the scenario's desks). The evaluation log (ground
truth: the exogenous fundamental and event windows) is read here, after the run, for
`is_adjusted_bps` — never by the engine or an algo.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from adapters.sim.desks import SimDesk
from adapters.sim.exchange import SimExchange
from adapters.sim.market import MarketSim
from adapters.sim.scenario import Scenario, load_scenario
from adapters.store.journal import MemoryJournal
from app.desk import Desk, DeskConfig, build_desk
from app.policy import resolve_policy
from app.settings import RESOURCES
from core.actors import Actor, Role
from core.analytics.event_behaviour import EventFill, MarketEvent, run_event_metrics
from core.analytics.horizon import HorizonImpactModel
from core.analytics.impact import AlmgrenChrissParams
from core.analytics.instant_cost import VenueBook
from core.analytics.pretrade import PreTradeReport, PreTradeSettings, build_pretrade_report
from core.clock import SimClock
from core.engine import Engine
from core.events import Alert, OrderUpdate, OverrideApplied, Severity
from core.execution.service import ExecutionService
from core.execution.shortfall import implementation_shortfall_bps, market_move_bps, vwap_slippage_bps
from core.parent import ParentOrder, Urgency
from core.ports import Journal, LiquidityProvider
from core.rfq.model import DisclosurePolicy
from core.rfq.service import RfqService
from core.risk.breakers import BreakerConfig, ParentForecast
from core.risk.rules import RiskLimits
from core.seeds import SeedTree
from core.types import Side

SCHEMA_VERSION = 1
EPOCH_T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z: simulated runs start here (deterministic)
TRADER = Actor("sim-trader", Role.TRADER)
SUPERVISOR = Actor("sim-supervisor", Role.SUPERVISOR)
CALIBRATION_DIR = RESOURCES / "calibration"
PRETRADE_DEPTH_LEVELS = 5000  # as deep as Binance's REST depth snapshot


@dataclass(slots=True)
class SimRequest:
    scenario: str
    algo: str = "ac"
    side: str = "sell"
    qty: float | None = None  # default: the scenario's parent quantity
    horizon_s: float | None = None
    seed: int = 1
    venues: tuple[str, ...] = ()
    sets: dict[str, str] = field(default_factory=dict)
    overrides: list[tuple[float, str, str]] = field(default_factory=list)  # (time_s, field, value)
    rfq: str = "auto"
    urgency: str = "medium"
    risk_aversion: float | None = None
    limit_price: float | None = None
    max_slippage_bps: float | None = None  # the parent's own limits (breakers parent_max_slippage,
    max_schedule_deviation: float | None = None  # parent_schedule_deviation); None = none
    kill_at_s: float | None = None
    mc_paths: int = 20_000
    stop_at_s: float | None = None  # end the run at this time after the start, whatever the parent's state
    # leakage probe: at the start, ask this many desks (in ranking order) for probe_fraction of
    # the block in risk-transfer mode; needs rfq="manual-reject" (every quote is rejected)
    probe_desks: int = 0
    probe_fraction: float = 1.0
    rfq_max_desks: int | None = None  # disclosure: desks asked per round (None = the policy's default, 3)
    balances: dict[str, tuple[float, float]] = field(default_factory=dict)  # venue -> (base, quote); default ample
    # the adaptive algo's parameters: "auto" (the scenario's fitted resources/policy/<scenario>.json
    # if any, else the defaults), "defaults", or a policy file; `adaptive` overrides keys of it
    policy: str = "auto"
    adaptive: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class SimRun:
    """Everything a run built, for tests that look inside."""

    scenario: Scenario
    market: MarketSim
    clock: SimClock
    engine: Engine
    execution: ExecutionService
    exchange: SimExchange
    parent_id: str
    start_ts: float
    pretrade: PreTradeReport
    result: dict[str, Any]


def market_history(scenario: Scenario) -> dict[str, float]:
    """Daily volume (base units, all venues) and daily volatility the pre-trade uses as history.

    From `resources/calibration/<scenario>.json` when calibrated (runs on history seeds ≥ 1,000,000);
    else from the calibration of the scenario it `extends` when both have the same venues and
    fundamental (btc-mixed-4h is btc-block-4h's market with other events: its own fit put all the
    impact in the permanent term, c 0.001, because the drawn events swamp the temporary part);
    else the scenario's own calm-regime volatility and the summed venue volume targets."""
    path = calibration_path(scenario)
    if path is not None:
        data = json.loads(path.read_text())
        return {k: float(data[k]) for k in ("daily_volume", "sigma_daily", "temporary_coeff", "permanent_coeff")}
    volume = sum(float(getattr(v, "daily_volume", 0.0) or 0.0) for v in scenario.venues)
    return {"daily_volume": volume or 30_000.0, "sigma_daily": scenario.fundamental.daily_vol_calm}


def calibration_path(scenario: Scenario) -> Path | None:
    """The calibration file the scenario's pre-trade uses (see `market_history`), or None."""
    own = CALIBRATION_DIR / f"{scenario.name}.json"
    if own.exists():
        return own
    base_name = scenario.scenario.extends
    if not base_name:
        return None
    base = load_scenario(base_name)
    if base.venues != scenario.venues or base.fundamental != scenario.fundamental:
        return None
    return calibration_path(base)


def ac_per_second(params_days: AlmgrenChrissParams) -> AlmgrenChrissParams:
    """Convert AC parameters from day units to second units (same costs for the same schedule)."""
    return AlmgrenChrissParams(
        sigma=params_days.sigma / math.sqrt(86_400.0),
        eta=params_days.eta * 86_400.0,
        gamma=params_days.gamma,
        epsilon=params_days.epsilon,
    )


@dataclass(slots=True)
class SimStart:
    """The simulated market and the desk on it (app/desk.py), at the parent's start time."""

    scenario: Scenario
    market: MarketSim
    clock: SimClock
    exchange: SimExchange
    desk: Desk
    side: Side
    qty: float
    horizon_s: float
    venues: tuple[str, ...]
    pretrade: PreTradeReport

    @property
    def engine(self) -> Engine:
        return self.desk.engine

    @property
    def seeds(self) -> SeedTree:
        return self.desk.seeds


def sim_desks(exchange: SimExchange, scenario: Scenario, seeds: SeedTree) -> dict[str, LiquidityProvider]:
    """The scenario's OTC desks, each quoting off the simulated market with its own generator."""
    return {d.name: SimDesk(exchange, d, i, seeds.generator(f"desk/{d.name}")) for i, d in enumerate(scenario.desks)}


def sim_desk_config(
    exchange: SimExchange,
    scenario: Scenario,
    limits: RiskLimits | None = None,
    breakers: BreakerConfig | None = None,
    *,
    policy: str = "auto",
    adaptive: dict[str, float] | None = None,
    disclosure: DisclosurePolicy | None = None,
) -> DeskConfig:
    """The desk's configuration on the embedded market: each venue's message budget and tick from
    its spec, the scenario's fitted adaptive policy (`policy`: auto, defaults or a file), the
    settings' limits and breakers (default: the defaults)."""
    return DeskConfig(
        limits=limits or RiskLimits(),
        breakers=breakers or BreakerConfig(),
        policy=resolve_policy(scenario.name, policy).with_overrides(adaptive or {}),
        disclosure=disclosure,
        rate_limits={v.name: (int(v.spec.rate_limit_msgs_per_s), 1.0) for v in exchange.venues},
        tick_sizes={v.name: float(v.spec.tick_size) for v in exchange.venues},
    )


def prepare(req: SimRequest, journal_path: Path | None = None) -> SimStart:
    """Build the market and the desk on it (app/desk.py), run to the parent's start, and compute
    the pre-trade report.

    Surveillance starts with the market, not with the parent: its detectors learn their
    baselines from the warm-up, as a terminal's do from the moment it connects (started with the
    parent, the first 30 minutes were scored against no baseline)."""
    scenario = load_scenario(req.scenario, req.sets)
    disclosure = _disclosure(req, len(scenario.desks))  # a bad probe fails before a simulated minute is spent
    seeds = SeedTree(req.seed)
    market = MarketSim(scenario, req.seed)
    clock = SimClock(start=EPOCH_T0)
    exchange = SimExchange(market, clock, EPOCH_T0, seeds.generator, balances=req.balances or None)
    journal: Journal = MemoryJournal()
    if journal_path is not None:
        from adapters.store.journal import SqlJournal

        journal = SqlJournal(journal_path, durable=False)
    config = sim_desk_config(exchange, scenario, policy=req.policy, adaptive=req.adaptive, disclosure=disclosure)
    desk = build_desk(clock, journal, {v.name: v for v in exchange.venues}, sim_desks(exchange, scenario, seeds),
                      seeds, config)
    exchange.start()
    clock.run_until(EPOCH_T0 + max(market.eval_log.parent_start_s, 1.0))

    side = Side.parse(req.side)
    qty = req.qty if req.qty is not None else (scenario.parent.quantity if scenario.parent else None)
    horizon = req.horizon_s if req.horizon_s is not None else (scenario.parent.horizon_s if scenario.parent else None)
    if qty is None or horizon is None:
        raise ValueError(f"scenario {scenario.name} has no [parent]: give --qty and --horizon")
    names = tuple(v.name for v in exchange.venues)
    unknown = [v for v in req.venues if v not in names and v != "deepest"]
    if unknown:
        raise ValueError(f"unknown venue(s) {', '.join(unknown)} in {scenario.name}; venues: {', '.join(names)}")
    venues = tuple(v for v in req.venues if v != "deepest") or names
    history = market_history(scenario)
    books = [
        VenueBook(v.name, b.bid_px, b.bid_qty, b.ask_px, b.ask_qty, v.spec.taker_fee_bps)
        for v in exchange.venues
        if v.name in venues or "deepest" in req.venues
        for b in (v.depth_snapshot(scenario.scenario.symbol, PRETRADE_DEPTH_LEVELS),)
    ]
    model = HorizonImpactModel()
    if "temporary_coeff" in history:  # calibrated on this scenario (python main.py calibrate)
        model = HorizonImpactModel(
            temporary_coeff=history["temporary_coeff"], permanent_coeff=history["permanent_coeff"]
        )
    settings = PreTradeSettings(mc_paths=req.mc_paths, seed=req.seed, horizon_model=model)
    risk = req.urgency
    pretrade = build_pretrade_report(
        books, side.sign, qty, horizon, risk, history["daily_volume"], history["sigma_daily"], settings
    )
    if "deepest" in req.venues:  # e.g. the "traditional" arm: one venue, the deepest
        venues = (pretrade.deepest_venue,)
        books = [b for b in books if b.name == pretrade.deepest_venue]
        pretrade = build_pretrade_report(
            books, side.sign, qty, horizon, risk, history["daily_volume"], history["sigma_daily"], settings
        )
    return SimStart(scenario, market, clock, exchange, desk, side, qty, horizon, venues, pretrade)


def run_simulation(req: SimRequest, journal_path: Path | None = None) -> SimRun:
    wall0 = time.perf_counter()
    start = prepare(req, journal_path)
    scenario, market, clock, exchange, desk = start.scenario, start.market, start.clock, start.exchange, start.desk
    engine, execution, breakers = desk.engine, desk.execution, desk.breakers
    if desk.rfq is None:
        raise ValueError(f"scenario {scenario.name} has no OTC desks; simulate needs [[desks]] (or --rfq off)")
    rfq = desk.rfq
    side, qty, horizon, venues, pretrade = start.side, start.qty, start.horizon_s, start.venues, start.pretrade
    execution.use_ac_params(ac_per_second(pretrade.ac_params))
    parent = ParentOrder(
        "SIM1",
        scenario_instrument(scenario),
        side,
        Decimal(str(qty)),
        horizon,
        algo=_algo(req.algo),
        urgency=Urgency(req.urgency),
        risk_aversion=req.risk_aversion,
        limit_price=None if req.limit_price is None else Decimal(str(req.limit_price)),
        venues=venues,
        rfq_mode=req.rfq,
        max_participation=0.5,
        max_slippage_bps=req.max_slippage_bps,
        max_schedule_deviation=req.max_schedule_deviation,
    )
    overrides_seen: list[OverrideApplied] = []
    engine.bus.subscribe(OverrideApplied, overrides_seen.append)
    execution.stage(parent, TRADER)
    start_ts = clock.now()
    execution.start(parent.parent_id, TRADER)
    breakers.forecasts[parent.parent_id] = ParentForecast(
        pretrade.distribution.mean_bps, pretrade.distribution.std_bps, horizon, start_ts
    )
    rfq.watch(parent.parent_id)
    if req.probe_desks:
        rfq.request(
            parent.parent_id,
            TRADER,
            risk_transfer=True,
            desks=rfq.ranked_desks(parent.parent_id)[: req.probe_desks],
            quantity=req.probe_fraction * float(qty),
        )
    for t_s, fld, value in sorted(req.overrides):
        clock.call_at(start_ts + t_s, _override_action(execution, parent.parent_id, fld, value))
    kill: dict[str, Any] | None = None
    if req.kill_at_s is not None:
        kill = {}
        clock.call_at(start_ts + req.kill_at_s, lambda: _press_kill(engine, kill))
    live = engine.oms.parents[parent.parent_id]
    deadline = start_ts + (horizon + 3_600.0 if req.stop_at_s is None else req.stop_at_s)
    while clock.now() < deadline and not (live.state.is_terminal and not engine.oms.open_children()):
        clock.run_until(min(clock.now() + 60.0, deadline))
    exchange.stop()
    alerts = desk.alerts.since(start_ts)  # from the parent's start (the warm-up's are the market's)
    end_ts = _parent_end_ts(engine, parent.parent_id, clock.now())
    result = _report(
        req,
        scenario,
        market,
        engine,
        execution,
        rfq,
        pretrade,
        parent.parent_id,
        start_ts,
        end_ts,
        qty,
        side,
        alerts,
        overrides_seen,
        kill,
    )
    result["wall_s"] = round(time.perf_counter() - wall0, 3)
    return SimRun(scenario, market, clock, engine, execution, exchange, parent.parent_id, start_ts, pretrade, result)


def _disclosure(req: SimRequest, n_desks: int) -> DisclosurePolicy:
    """The default disclosure policy, with the trader's desks per round if set, widened for a
    leakage probe (checked here: a bad probe must fail before a simulated minute is spent)."""
    if req.rfq_max_desks is not None and not 1 <= req.rfq_max_desks <= n_desks:
        raise ValueError(
            f"desks per round must be between 1 and the scenario's {n_desks} desks, got {req.rfq_max_desks}"
        )
    per_round = {} if req.rfq_max_desks is None else {"max_desks": req.rfq_max_desks}
    if not req.probe_desks:
        return DisclosurePolicy(**per_round)
    if req.rfq != "manual-reject":
        raise ValueError("a leakage probe needs --rfq manual-reject (every quote is rejected)")
    if not 1 <= req.probe_desks <= n_desks:
        raise ValueError(f"probe desks must be between 1 and the scenario's {n_desks} desks, got {req.probe_desks}")
    if not 0.0 < req.probe_fraction <= 1.0:
        raise ValueError(f"probe fraction must be in (0, 1], got {req.probe_fraction}")
    return DisclosurePolicy(risk_transfer_max_desks=req.probe_desks, **per_round)


def _parent_end_ts(engine: Engine, parent_id: str, default: float) -> float:
    """When the parent reached its terminal state (the journal knows)."""
    if engine.journal is None:
        return default
    end = default
    for rec in engine.journal.replay():
        if rec.kind == "parent.state" and rec.payload["parent_id"] == parent_id:
            end = rec.ts
    return end


def scenario_instrument(scenario: Scenario):  # type: ignore[no-untyped-def]
    from core.types import Instrument

    return Instrument.parse(scenario.scenario.symbol)


def _algo(name: str) -> str:
    if name not in ("twap", "vwap", "pov", "iceberg", "ac", "adaptive"):
        raise ValueError(f"unknown algo {name!r}; choose twap, vwap, pov, iceberg, ac or adaptive")
    return name


def _override_action(execution: ExecutionService, parent_id: str, fld: str, value: str):  # type: ignore[no-untyped-def]
    def apply() -> None:
        if fld == "pause":
            execution.pause(parent_id, TRADER)
        elif fld == "resume":
            execution.resume(parent_id, TRADER)
        elif fld == "cancel":
            execution.cancel(parent_id, TRADER)
        elif fld == "finish_now":
            execution.finish_now(parent_id, TRADER)
        elif fld == "venue_off":
            execution.set_venue_enabled(value, False, TRADER)
        elif fld == "venue_on":
            execution.set_venue_enabled(value, True, TRADER)
        else:
            execution.override(parent_id, fld, _parse_value(value), TRADER)

    return apply


def _parse_value(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _press_kill(engine: Engine, kill: dict[str, Any]) -> None:
    """Press the kill switch; `kill` gets what it canceled, the engine's wall time, and (later)
    the simulated time at which the venues had acknowledged every cancel."""
    t0 = time.perf_counter()
    canceled = engine.kill_switch(SUPERVISOR, "simulated kill")
    kill.update(
        orders_canceled=sum(canceled.values()),
        venues=canceled,
        engine_ms=round((time.perf_counter() - t0) * 1e3, 3),
        pressed_ts=engine.clock.now(),
    )

    def all_acked(_: object = None) -> None:
        if "acked_ts" not in kill and not engine.oms.open_children():
            kill["acked_ts"] = engine.clock.now()

    all_acked()
    engine.bus.subscribe(OrderUpdate, all_acked)


ExchangeFill = tuple[float, str, float, float]  # (ts, venue, quantity, price)


def _holdings_on_grid(
    engine: Engine, parent_id: str, qty: float, t_grid: np.ndarray, exchange_fills: list[ExchangeFill]
) -> np.ndarray:
    """Quantity still to trade at each grid time (exchange and OTC fills)."""
    fills = [(f["ts"], float(f["quantity"])) for f in engine.oms.otc_fills.get(parent_id, [])]
    for rec_ts, _, q, _ in exchange_fills:
        fills.append((rec_ts, q))
    fills.sort()
    times = np.array([f[0] for f in fills]) if fills else np.zeros(0)
    sizes = np.cumsum([f[1] for f in fills]) if fills else np.zeros(0)
    idx = np.searchsorted(times, t_grid, side="right")
    done = np.where(idx > 0, sizes[np.maximum(idx - 1, 0)] if len(sizes) else 0.0, 0.0)
    return np.maximum(qty - done, 0.0)


def _exchange_fills(engine: Engine, parent_id: str) -> list[ExchangeFill]:
    """(ts, venue, quantity, price) of the parent's exchange fills, from the journal."""
    journal = engine.journal
    out: list[ExchangeFill] = []
    if journal is None:
        return out
    ids = set(engine.oms.children_of.get(parent_id, ()))
    for rec in journal.replay():
        p = rec.payload
        if rec.kind == "venue.fill" and p["client_id"] in ids:
            out.append((rec.ts, p["venue"], float(p["quantity"]), float(p["price"])))
    return out


def _event_behaviour(
    market: MarketSim,
    engine: Engine,
    parent_id: str,
    side: Side,
    start_ts: float,
    exchange_fills: list[ExchangeFill],
) -> list[dict[str, Any]]:
    """The parent's behaviour around the market's events (core/analytics/event_behaviour.py),
    judged from the evaluation log after the run; nothing here is visible to an algo."""
    log = market.eval_log
    names = log.venue_names
    events = [
        MarketEvent(
            e.kind,
            names[e.venue] if e.venue >= 0 else "",
            e.start_s,
            e.end_s,
            0 if e.kind == "spoof" else (-1 if e.side == "sell" else 1),
            float(e.params.get("recovery_s", 0.0)),
        )
        for e in log.events
        if e.kind in ("flush", "informed", "spoof") and e.venue >= 0
    ]
    fills = [EventFill(ts - EPOCH_T0, venue, q, px) for ts, venue, q, px in exchange_fills]
    fills += [
        EventFill(float(f["ts"]) - EPOCH_T0, "otc", float(f["quantity"]), float(f["price"]))
        for f in engine.oms.otc_fills.get(parent_id, [])
    ]
    paths = {name: log.mid_path(k) for k, name in enumerate(names)}

    def mid_at(venue: str, t_s: float) -> float:
        t, mid = paths[venue]
        i = int(np.searchsorted(t, t_s, side="right")) - 1
        return float(mid[max(i, 0)]) if len(mid) else float("nan")

    t0 = start_ts - EPOCH_T0
    horizon = engine.oms.parents[parent_id].horizon_s
    return run_event_metrics(events, fills, side.sign, (t0, t0 + horizon), mid_at)


def _report(
    req: SimRequest,
    scenario: Scenario,
    market: MarketSim,
    engine: Engine,
    execution: ExecutionService,
    rfq: RfqService,
    pretrade: PreTradeReport,
    parent_id: str,
    start_ts: float,
    end_ts: float,
    qty: float,
    side: Side,
    alerts: list[Alert],
    overrides: list[OverrideApplied],
    kill: dict[str, Any] | None,
) -> dict[str, Any]:
    oms = engine.oms
    children = oms.children_for(parent_id)
    fills = [(float(c.avg_price or 0), float(c.filled)) for c in children if c.filled > 0]
    otc = oms.otc_fills.get(parent_id, [])
    prices = [p for p, _ in fills] + [float(f["price"]) for f in otc]
    qtys = [q for _, q in fills] + [float(f["quantity"]) for f in otc]
    fees = float(sum((c.fees_quote for c in children), Decimal(0)))
    arrival = oms.arrival_mid[parent_id]
    end_mid = execution.consolidated_mid()
    filled = float(sum(qtys))
    unfilled = max(qty - filled, 0.0)
    liq_cost = _liquidation_cost(engine, side, unfilled, end_mid)
    ibs = implementation_shortfall_bps(side.sign, qty, arrival, prices, qtys, fees, end_mid, liq_cost)
    exchange_fills = _exchange_fills(engine, parent_id)  # one journal replay for holdings and events
    t_f, fund = market.eval_log.fundamental_path()
    grid_ts = EPOCH_T0 + t_f
    mask = (grid_ts >= start_ts) & (grid_ts <= end_ts)
    g = grid_ts[mask]
    f = fund[mask]
    adjusted = ibs.total_bps
    if len(g) > 1:
        holdings = _holdings_on_grid(engine, parent_id, qty, g[:-1], exchange_fills)
        adjusted = ibs.total_bps - market_move_bps(side.sign, qty, arrival, holdings, f)
    vwap = engine.tape.vwap()
    avg = ibs.avg_price
    precision = 8
    per_venue: dict[str, float] = {}
    for c in children:
        per_venue[c.venue] = per_venue.get(c.venue, 0.0) + float(c.filled)
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario.name,
        "algo": req.algo,
        "algo_note": execution.adaptive_policy.label if req.algo == "adaptive" else "",
        "policy": _policy_report(execution) if req.algo == "adaptive" else None,
        "seed": req.seed,
        "side": side.name.lower(),
        "qty": qty,
        "filled_qty": round(filled, precision),
        "avg_price": None if math.isnan(avg) else round(avg, 2),
        "arrival_mid": round(arrival, 2),
        "staged_mid": round(oms.staged_mid.get(parent_id, float("nan")), 2),
        "end_mid": round(end_mid, 2),
        "implementation_shortfall_bps": round(ibs.total_bps, 4),
        "is_adjusted_bps": round(adjusted, 4),
        "is_breakdown": {
            "execution_bps": round(ibs.execution_bps, 4),
            "fees_bps": round(ibs.fees_bps, 4),
            "opportunity_bps": round(ibs.opportunity_bps, 4),
        },
        "unfilled_qty": round(unfilled, precision),
        "vwap_slippage_bps": None
        if math.isnan(avg) or math.isnan(vwap)
        else round(vwap_slippage_bps(side.sign, avg, vwap), 4),
        "pretrade": {
            "instant_cost_bps_deepest": round(pretrade.instant_cost_bps_deepest, 4),
            "instant_cost_bps_consolidated": round(pretrade.instant_cost_bps_consolidated, 4),
            "expected_cost_bps": round(pretrade.distribution.mean_bps, 4),
            "cost_p05_bps": round(pretrade.distribution.p05_bps, 4),
            "cost_p95_bps": round(pretrade.distribution.p95_bps, 4),
        },
        "per_venue": {k: round(v, precision) for k, v in sorted(per_venue.items())},
        "otc_qty": round(float(oms.otc_qty(parent_id)), precision),
        "child_orders": len(children),
        "cancels": sum(1 for c in children if c.status.value == "canceled"),
        "state": oms.parents[parent_id].state.value,
        "duration_s": round(end_ts - start_ts, 3),
        "alerts": [
            {"time_s": round(a.ts - start_ts, 3), "kind": a.kind, "venue": a.venue, "detail": a.detail}
            for a in alerts
            if a.severity >= Severity.WARNING
        ],
        "overrides": [
            {"time_s": round(o.ts - start_ts, 3), "actor": o.actor, "field": o.field, "old": o.old, "new": o.new}
            for o in overrides
        ],
        "risk_events": [
            {"time_s": round(e.ts - start_ts, 3), "rule": e.rule, "action": e.action, "detail": e.detail}
            for e in engine.risk.events
        ],
        "rfqs": rfq.report(parent_id, start_ts),
        "decisions": [
            {k: v for k, v in d.items() if k != "ts"} for d in execution.runners[parent_id].decisions
        ]
        if parent_id in execution.runners
        else [],
        "events": _event_behaviour(market, engine, parent_id, side, start_ts, exchange_fills),
    }
    if kill is not None:
        after = [c for c in children if c.created_ts > kill.get("pressed_ts", float("inf"))]
        result["kill"] = {
            "orders_canceled": kill.get("orders_canceled", 0),
            "venues": kill.get("venues", {}),
            "engine_ms": kill.get("engine_ms"),
            # simulated time from the press until no child was open any more (None: some never acked)
            "time_to_all_acked_ms": None
            if "acked_ts" not in kill
            else round((kill["acked_ts"] - kill["pressed_ts"]) * 1e3, 3),
            "children_after_kill": len(after),
            "open_at_venues_after": sum(len(v.open_orders("")) for v in engine.venues.values()),
        }
    return result


def _policy_report(execution: ExecutionService) -> dict[str, Any]:
    """The adaptive parameters the run used and where they came from (docs/json.md)."""
    from core.execution.policy import parameters_of

    policy = execution.adaptive_policy
    return {"source": policy.source, "parameters": parameters_of(policy.config)}


def _liquidation_cost(engine: Engine, side: Side, qty: float, mid: float) -> float:
    """C_liq(R): cost vs mid of walking the consolidated book with the unfilled quantity (quote)."""
    if qty <= 0 or math.isnan(mid):
        return 0.0
    from core.analytics.instant_cost import consolidated_instant_cost

    deep = [
        v.depth_snapshot(b.symbol, PRETRADE_DEPTH_LEVELS)
        for v, b in ((engine.venues[n], b) for n, b in engine.books.items())
    ]
    books = [
        VenueBook(b.venue, b.bid_px, b.bid_qty, b.ask_px, b.ask_qty, 0.0)
        for b in deep
        if len(b.bid_px) and len(b.ask_px)
    ]  # a venue with an empty side offers nothing to walk
    if not books:
        return qty * mid  # no book anywhere: the residual is worth nothing we can realize
    cost = consolidated_instant_cost(books, qty, side.sign).total
    # what the book could not absorb is charged at the worst price reached (never free)
    walked = cost.cost_bps_ex_fees * 1e-4 * cost.filled_qty * mid if cost.filled_qty > 0 else 0.0
    rest = cost.unfilled_qty * abs(cost.worst_price - mid) if cost.unfilled_qty > 0 and cost.filled_qty > 0 else 0.0
    return walked + rest
