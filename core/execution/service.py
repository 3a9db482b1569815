"""Execution service: runs parent orders — algo → child tactics → router → engine.

Each running parent has a timer every `interval_s` (randomized so the footprint is not
periodic). On each tick the algo gives the cumulative target; the runner:

1. finishes the parent when nothing is left (cancels what still works); executes the algo's plan
   for the tick (`Algo.decide`: an aimed take is sent at once, the decisions are journaled);
2. at the horizon, completes within the price cap (`EndAction.COMPLETE`) or stops (`STOP`);
3. when behind the current target by more than the tolerance, crosses the spread with
   marketable limit orders capped at `max_cross_bps` from the mid and never beyond the limit;
4. rests the rest of the next interval's target passively at (or inside) the touch;
5. cancels passive children that are stale (older than `passive_refresh_s` or off the touch).

Over-fill is impossible by construction: filled + working + new never exceeds the quantity.
The tick works in floats (schedules, participation) and hands them to the router, the one place
they become the venue's lots and ticks (`router.child_values`); children leave as `Quantity`/`Price`.
Participation, volumes and books exclude our own orders. Every override is journaled with its
actor and takes effect at the next tick (within one interval).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from core.actors import SYSTEM, Actor, Role
from core.analytics.almgren_chriss import Urgency as AcUrgency
from core.analytics.almgren_chriss import risk_aversion_for_urgency
from core.analytics.impact import AlmgrenChrissParams
from core.clock import Timer
from core.engine import Engine
from core.events import Alert, OverrideApplied, ParentProgress, Severity
from core.execution.adaptive import AdaptiveAc, AdaptiveConfig, MarketSignals
from core.execution.algos import Algo, AlgoState, AlmgrenChriss, Iceberg, Pov, Twap, Vwap
from core.execution.decisions import AimedTake, PolicyDecision
from core.execution.policy import AdaptivePolicy
from core.execution.router import Router, VenueRouting
from core.orders import ChildOrder, TimeInForce
from core.parent import (
    EndAction,
    ParentOrder,
    ParentState,
    Urgency,
    validate_max_schedule_deviation,
    validate_max_slippage_bps,
)
from core.records import AlgoDecision, Entry
from core.records import VenueRouting as VenueRoutingRecord
from core.risk.gate import Decision
from core.risk.staging import StagingPolicy, check_approval
from core.seeds import SeedTree
from core.types import Side

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ExecutionConfig:
    """Child-tactic parameters (defaults documented in docs/execution.md)."""

    interval_s: float = 10.0
    interval_jitter: float = 0.3  # ± fraction of the interval, drawn per tick
    size_jitter: float = 0.2  # ± fraction of each passive slice
    behind_tolerance: float = 0.002  # of the parent quantity before crossing the spread
    passive_refresh_s: float = 30.0
    max_cross_bps: float = 50.0  # marketable cap distance from mid
    participation_window_s: float = 300.0
    ac_period_s: float = 60.0  # AC trading interval τ


@dataclass(slots=True)
class ImpactCalibration:
    """Scale-free impact coefficients the AC algo turns into the paper's η, γ for a parent.

    temporary cost (bps) = eta_bps × (our rate / market volume rate);
    permanent impact (bps) = gamma_bps × (quantity / daily volume); σ as a daily fraction.
    """

    sigma_daily: float = 0.03
    eta_bps: float = 20.0
    gamma_bps: float = 300.0
    daily_volume: float = 36_000.0
    spread_bps: float = 1.0

    def ac_params(self, mid: float) -> AlmgrenChrissParams:
        """Per-second AC parameters at price `mid` (σ in $/share/√s, η in $·s/share², γ in $/share²)."""
        rate = self.daily_volume / 86_400.0
        return AlmgrenChrissParams(
            sigma=self.sigma_daily * mid / math.sqrt(86_400.0),
            eta=self.eta_bps * 1e-4 * mid / rate,
            gamma=self.gamma_bps * 1e-4 * mid / self.daily_volume,
            epsilon=0.5 * self.spread_bps * 1e-4 * mid,
        )


@dataclass(slots=True)
class Runner:
    parent: ParentOrder
    algo: Algo
    rng: np.random.Generator
    start_s: float
    timer: Timer | None = None
    limit_bound: bool = False
    participation_bound: bool = False
    no_route: str = ""  # why no venue can take this parent's orders now ("" = some can)
    market_volume_at_start: float = 0.0
    history: list[tuple[float, float, float]] = field(default_factory=list)  # (elapsed, done, target)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # the algo's, as journaled
    replan_needed: bool = True
    aimed_sent: float = 0.0  # sent this tick by the algo's aimed takes (a lean in on a transient move)


class ExecutionService:
    def __init__(
        self,
        engine: Engine,
        seeds: SeedTree,
        config: ExecutionConfig | None = None,
        calibration: ImpactCalibration | None = None,
        ac_params: AlmgrenChrissParams | None = None,
        staging: StagingPolicy | None = None,
        *,
        signals: MarketSignals | None = None,
        adaptive_policy: AdaptivePolicy | None = None,
        resume_guards: Sequence[Callable[[str], str | None]] = (),
    ) -> None:
        """`ac_params` (per-second units) fix the AC model for every parent — the pre-trade's
        calibration — instead of deriving them from `calibration` at each parent's arrival mid.
        `signals`: surveillance, what the adaptive policy reads; `adaptive_policy`: the adaptive
        parents' parameters (default: the defaults); `resume_guards`: each may refuse a resume
        with a reason (the circuit breakers). The desk builder (app/desk.py) passes all three."""
        self.engine = engine
        self.seeds = seeds
        self.config = config or ExecutionConfig()
        self.calibration = calibration or ImpactCalibration()
        self.ac_params = ac_params
        self.staging = staging or StagingPolicy()
        self.runners: dict[str, Runner] = {}
        engine.risk.on_kill.append(self._on_kill)
        self.toxicity: dict[str, float] = {}  # set by hand (tests, a trader's override): every algo
        self.signals = signals  # surveillance: what the adaptive policy reads
        # the adaptive parents' parameters: a fitted policy given by the builder, else the defaults;
        # a parent's params["adaptive"] override it key by key
        self.adaptive_policy = adaptive_policy or AdaptivePolicy(AdaptiveConfig())
        self.disabled_venues: set[str] = set()
        # venue → who holds it off: "automatic" (a circuit breaker) and/or the user who switched it off
        self.venue_holds: dict[str, set[str]] = {}
        # each may refuse a resume with a reason (a circuit breaker that paused the parent and is still tripped)
        self.resume_guards: list[Callable[[str], str | None]] = list(resume_guards)
        # the adaptive decisions journaled per parent (`algo.decision`), restored on replay
        self.journaled_decisions: dict[str, list[dict[str, Any]]] = {}
        self.on_done: list[Callable[[str], None]] = []

    # ---- market view (ours excluded) ---------------------------------------------------------

    def market_volume(self) -> float:
        return self.engine.tape.total_volume()

    def market_vwap(self) -> float:
        return self.engine.tape.vwap()

    def recent_volume(self, window_s: float) -> float:
        return self.engine.tape.recent(None, self.engine.clock.now(), window_s)[0]

    def consolidated_mid(self, venues: tuple[str, ...] = ()) -> float:
        books = [
            b for v, b in self.engine.books.items() if (not venues or v in venues) and len(b.bid_px) and len(b.ask_px)
        ]
        if not books:
            return float("nan")
        return 0.5 * (max(float(b.bid_px[0]) for b in books) + min(float(b.ask_px[0]) for b in books))

    # ---- commands ------------------------------------------------------------------------------

    def stage(self, parent: ParentOrder, actor: Actor) -> None:
        unknown = [v for v in parent.venues if v not in self.engine.venues]
        if unknown:
            raise ValueError(f"unknown venue(s) {', '.join(unknown)}; configured: {', '.join(self.engine.venues)}")
        parent.trader = parent.trader or actor.user
        now, mid = self.engine.clock.now(), self.consolidated_mid(parent.venues)
        # raises StagingRefused, naming the rule; the gate's limits are the firm-wide hard ones
        needs_approval = self.staging.check(parent, actor, mid, now, self.engine.risk.limits)
        # the parent's own limits, after the supervisor's caps (a missing one takes the tightest cap)
        parent.max_slippage_bps, parent.max_schedule_deviation = self.staging.parent_own_limits(
            parent, actor.user, parent.max_slippage_bps, parent.max_schedule_deviation
        )
        self.engine.oms.stage(parent, actor, now, staged_mid=mid)
        self.staging.count(parent, actor, mid, now)
        if needs_approval:
            self.engine.oms.set_parent_state(
                parent.parent_id, ParentState.PENDING_APPROVAL, actor, now, "notional above the four-eyes threshold"
            )

    def approve(self, parent_id: str, actor: Actor) -> None:
        """A supervisor other than the parent's trader releases a parent waiting for four eyes."""
        parent = self.engine.oms.parents[parent_id]
        if parent.state is not ParentState.PENDING_APPROVAL:
            raise ValueError(f"parent {parent_id} is {parent.state.value}, not waiting for approval")
        check_approval(parent, actor)
        self.engine.oms.set_parent_state(parent_id, ParentState.STAGED, actor, self.engine.clock.now(), "approved")

    def start(self, parent_id: str, actor: Actor) -> None:
        oms, now = self.engine.oms, self.engine.clock.now()
        parent = oms.parents[parent_id]
        if parent.state is ParentState.PENDING_APPROVAL:
            raise ValueError(f"parent {parent_id} waits for a supervisor's approval (four eyes)")
        if parent.state is not ParentState.STAGED:
            raise ValueError(f"parent {parent_id} is {parent.state.value}; only a staged parent can start")
        arrival = self.consolidated_mid(self._venues(parent))
        if math.isnan(arrival):
            raise ValueError(f"no market data yet on {', '.join(self._venues(parent))}: cannot take an arrival price")
        oms.start(parent_id, arrival, actor, now)
        if parent.end_ts is None:
            parent.end_ts = now + parent.horizon_s
        runner = Runner(parent, self._make_algo(parent, arrival), self.seeds.generator(f"algo/{parent_id}"), now)
        runner.market_volume_at_start = self.market_volume()
        self.runners[parent_id] = runner
        self._tick(parent_id)

    def resume_after_restart(self, parent_id: str) -> None:
        """Rebuild the runner of a parent the journal says was working, after reconciliation, and
        continue the same schedule: elapsed time counts from the parent's journaled start and the
        algo is rebuilt at its journaled arrival mid. A paused parent gets its runner and stays
        paused; a terminal parent is left alone."""
        oms = self.engine.oms
        parent = oms.parents[parent_id]
        if parent.state.is_terminal or parent.state in (ParentState.STAGED, ParentState.PENDING_APPROVAL):
            return
        arrival = oms.arrival_mid.get(parent_id, float("nan"))
        if math.isnan(arrival):
            arrival = self.consolidated_mid(self._venues(parent))
        start = parent.start_ts if parent.start_ts is not None else self.engine.clock.now()
        sent = len(oms.children_of.get(parent_id, []))
        runner = Runner(
            parent, self._make_algo(parent, arrival), self.seeds.generator(f"algo/{parent_id}/resume/{sent}"), start,
            decisions=list(self.journaled_decisions.get(parent_id, [])),
        )
        runner.market_volume_at_start = self.market_volume()
        runner.replan_needed = True
        self.runners[parent_id] = runner
        if parent.state in (ParentState.RUNNING, ParentState.COMPLETING):
            self._tick(parent_id)

    def pause(self, parent_id: str, actor: Actor) -> None:
        self.engine.oms.set_parent_state(parent_id, ParentState.PAUSED, actor, self.engine.clock.now(), "paused")
        self.engine.risk.purge_queue(parent_id)
        self.engine.cancel_children(self.engine.oms.open_children(parent_id), actor, "pause")

    def resume(self, parent_id: str, actor: Actor) -> None:
        for guard in self.resume_guards:
            reason = guard(parent_id)
            if reason is not None:
                raise ValueError(f"parent {parent_id} cannot resume: {reason}")
        self.engine.oms.set_parent_state(parent_id, ParentState.RUNNING, actor, self.engine.clock.now(), "resumed")
        self.runners[parent_id].replan_needed = True
        self._tick(parent_id)

    def cancel(self, parent_id: str, actor: Actor, reason: str = "canceled by trader") -> None:
        self._stop(parent_id, ParentState.CANCELED, actor, reason)

    def finish_now(self, parent_id: str, actor: Actor, price_cap: Decimal | None = None) -> None:
        """Complete aggressively within `price_cap` (or the parent's limit / max cross)."""
        oms = self.engine.oms
        parent = oms.parents[parent_id]
        if price_cap is not None:
            oms.override(parent_id, "finish_cap", None, price_cap, actor, self.engine.clock.now())
        oms.set_parent_state(parent_id, ParentState.COMPLETING, actor, self.engine.clock.now(), "finish now")
        self._tick(parent.parent_id)

    def override(self, parent_id: str, field_name: str, value: Any, actor: Actor) -> None:
        """Change a running parent's parameter; journaled; applied at the next tick."""
        oms, now = self.engine.oms, self.engine.clock.now()
        parent = oms.parents[parent_id]
        runner = self.runners.get(parent_id)
        if field_name == "quantity":
            value = Decimal(str(value))
            floor = oms.done_qty(parent_id)
            if value < floor:
                raise ValueError(f"quantity cannot go below what is already filled ({floor})")
        elif field_name in ("limit_price", "i_would_price"):
            value = None if value is None else Decimal(str(value))
        elif field_name == "max_participation":
            value = float(value)
            if not 0 < value <= 1:
                raise ValueError(f"max participation must be in (0, 1], got {value}")
        elif field_name in ("max_slippage_bps", "max_schedule_deviation"):
            value = None if value is None else float(value)
            (validate_max_slippage_bps if field_name == "max_slippage_bps" else validate_max_schedule_deviation)(value)
            # within the supervisor's caps; removing it leaves the tightest cap, if any
            if field_name == "max_slippage_bps":
                value = self.staging.parent_own_limits(parent, parent.trader, value, parent.max_schedule_deviation)[0]
            else:
                value = self.staging.parent_own_limits(parent, parent.trader, parent.max_slippage_bps, value)[1]
        elif field_name == "urgency":
            value = Urgency(value)
        elif field_name == "end_ts":
            value = float(value)
            if value <= now:
                raise ValueError("the new end time is in the past")
        elif field_name == "venues":
            value = tuple(value)
        elif field_name not in ("risk_aversion", "rfq_mode"):
            raise ValueError(f"unknown override {field_name!r}")
        old = getattr(parent, field_name)
        oms.override(parent_id, field_name, old, value, actor, now)
        self.engine.bus.publish(OverrideApplied(now, parent_id, str(actor), field_name, str(old), str(value)))
        if field_name == "end_ts" and parent.start_ts is not None:
            parent.horizon_s = float(value) - parent.start_ts
        if field_name == "quantity":
            self._trim_working(parent_id, actor)
        if runner is not None:
            if field_name in ("quantity", "end_ts", "urgency", "risk_aversion"):
                if field_name in ("urgency", "risk_aversion"):
                    runner.algo = self._make_algo(parent, self.engine.oms.arrival_mid[parent_id])
                runner.replan_needed = True
            if field_name in ("limit_price", "venues"):
                self._cancel_nonconforming(parent_id, actor)

    def set_venue_enabled(self, venue: str, enabled: bool, actor: Actor) -> bool:
        """Switch routing to `venue` on or off; journaled (`venue.routing`) with the actor.

        Who holds a venue off is tracked: a circuit breaker's (SYSTEM actor) automatic reset lifts
        only its own hold, so a venue a user switched off by hand stays off until a user switches it
        on again; a user switching on a venue a breaker still excludes lifts only the user's hold.
        Returns whether the venue is enabled for routing afterwards."""
        if venue not in self.engine.venues:
            raise ValueError(f"unknown venue {venue!r}; configured: {', '.join(self.engine.venues)}")
        holder = "automatic" if actor.role is Role.SYSTEM else actor.user
        holds = self.venue_holds.setdefault(venue, set())
        if enabled:
            if actor.role is Role.SYSTEM:
                holds.discard("automatic")
            else:
                holds.difference_update({h for h in holds if h != "automatic"})
        else:
            holds.add(holder)
        was_off = venue in self.disabled_venues
        (self.disabled_venues.add if holds else self.disabled_venues.discard)(venue)
        self.engine.oms.record(
            "venue.routing",
            {"venue": venue, "requested": "on" if enabled else "off", "enabled": not holds, "held_by": sorted(holds)},
            actor,
            self.engine.clock.now(),
        )
        if holds and not was_off:
            self.engine.cancel_children(self.engine.oms.open_children(venue=venue), actor, f"venue {venue} disabled")
        return not holds

    def use_ac_params(self, params: AlmgrenChrissParams | None) -> None:
        """Fix the AC model (per-second units) for the parents started from now on: the staged
        pre-trade report's calibration (None: derive it from `calibration` at each arrival)."""
        self.ac_params = params

    def apply(self, entry: Entry) -> None:
        """Restore from the journal what this service owns: which venues are switched off and who
        holds them off (a venue a supervisor switched off stays off after a restart), and the
        adaptive decisions per parent."""
        rec = entry.record
        if isinstance(rec, VenueRoutingRecord):
            holds = set(rec.held_by)
            self.venue_holds[rec.venue] = holds
            (self.disabled_venues.add if holds else self.disabled_venues.discard)(rec.venue)
        elif isinstance(rec, AlgoDecision):
            self.journaled_decisions.setdefault(rec.parent_id, []).append(dict(rec.extra))

    def state_digest(self) -> dict[str, Any]:
        """Venue switches and journaled decisions, comparable (the desk's replay property test)."""
        return {
            "disabled_venues": sorted(self.disabled_venues),
            "venue_holds": {v: sorted(h) for v, h in sorted(self.venue_holds.items()) if h},
            "decisions": {p: len(d) for p, d in sorted(self.journaled_decisions.items())},
        }

    def replan(self, parent_id: str) -> None:
        """Re-plan the remainder at the next tick (after an OTC fill or a released reservation)."""
        runner = self.runners.get(parent_id)
        if runner is not None:
            runner.replan_needed = True

    # ---- the tick -----------------------------------------------------------------------------

    def _tick(self, parent_id: str) -> None:
        runner = self.runners.get(parent_id)
        if runner is None:
            return
        runner.timer = None
        parent = runner.parent
        if parent.state not in (ParentState.RUNNING, ParentState.COMPLETING):
            return
        oms, now, cfg = self.engine.oms, self.engine.clock.now(), self.config
        elapsed = now - runner.start_s
        qty = float(parent.quantity)
        done = float(oms.done_qty(parent_id))
        working = self._working(parent_id)
        lot = float(self._smallest_lot(parent))
        state = AlgoState(
            elapsed,
            parent.horizon_s,
            qty,
            done,
            self.market_volume() - runner.market_volume_at_start,
            parent.max_participation,
        )
        if qty - done < lot / 2:
            self._finish(parent_id, ParentState.DONE, "complete")
            return
        if runner.replan_needed:
            runner.algo.replan(state)
            runner.replan_needed = False
        runner.aimed_sent = 0.0
        self._execute_plans(runner, state, now)

        mid = self.consolidated_mid(self._venues(parent))
        self._cancel_stale(runner, mid)
        working = self._working(parent_id)
        at_end = elapsed >= parent.horizon_s - 1e-9
        if at_end and parent.end_action is EndAction.STOP and parent.state is not ParentState.COMPLETING:
            self._finish(parent_id, ParentState.DONE, "horizon reached; residual left (end action: stop)")
            return
        completing = at_end or parent.state is ParentState.COMPLETING
        target_now = qty if completing else runner.algo.target_filled(state, elapsed)
        target_next = qty if completing else runner.algo.target_filled(state, elapsed + cfg.interval_s)
        i_would = (
            parent.i_would_price is not None
            and not math.isnan(mid)
            and parent.within_limit(Decimal(str(mid)))
            and (
                (parent.side is Side.BUY and mid <= float(parent.i_would_price))
                or (parent.side is Side.SELL and mid >= float(parent.i_would_price))
            )
        )
        runner.history.append((elapsed, done, target_now))

        # the algo's own take this tick is in flight, and it read the book a sweep would read now:
        # the schedule catches up at the next tick, against the book the take left
        took_book = runner.aimed_sent > 0
        behind = target_now - done - runner.aimed_sent
        room = qty - done - working  # never over-fill: filled + working + new ≤ quantity
        cap_rate = parent.max_participation / (1 - parent.max_participation) if parent.max_participation < 1 else 1e9
        part_allow = (
            cap_rate * self.recent_volume(cfg.participation_window_s) * cfg.interval_s / cfg.participation_window_s
        )
        if i_would:
            behind = max(behind, min(qty - done, part_allow))
        sent_marketable = 0.0
        if (behind > cfg.behind_tolerance * qty or completing) and not math.isnan(mid) and not took_book:
            want = behind if not completing else qty - done
            if not completing:
                runner.participation_bound = want > part_allow * 2 and behind < 0.05 * qty
            if want > room:  # make room by pulling passive children first
                self.engine.cancel_children(
                    [c for c in oms.open_children(parent_id) if c.tif is not TimeInForce.IOC],
                    SYSTEM,
                    "cross to catch up",
                )
                room = qty - done - self._working(parent_id)
            want = min(want, room)
            sent_marketable = self._send_marketable(runner, want, mid, completing)
            room -= sent_marketable
        passive_need = min(target_next - done - self._working(parent_id), room)
        if passive_need > lot and not completing and not math.isnan(mid):
            cap = runner.algo.max_working(state) - self._working(parent_id)
            size = min(passive_need, cap) * (1 + cfg.size_jitter * (2 * runner.rng.random() - 1))
            self._send_passive(runner, min(size, room), mid)
        self._publish_progress(runner, now, mid, target_now)
        delay = cfg.interval_s * (1 + cfg.interval_jitter * (2 * runner.rng.random() - 1))
        if not completing and elapsed < parent.horizon_s:
            delay = min(delay, parent.horizon_s - elapsed + 1e-6)
        runner.timer = self.engine.clock.call_later(delay, lambda: self._tick(parent_id))

    # ---- tactics ------------------------------------------------------------------------------

    def _send_marketable(self, runner: Runner, quantity: float, mid: float, completing: bool) -> float:
        parent = runner.parent
        cap = mid * (1 + parent.side.sign * self.config.max_cross_bps * 1e-4)
        finish_cap = parent.params.get("finish_cap")
        if completing and finish_cap is not None:
            cap = float(finish_cap)
        if parent.limit_price is not None:
            lim = float(parent.limit_price)
            cap = min(cap, lim) if parent.side is Side.BUY else max(cap, lim)
        router = self._router(parent)
        allocations = router.marketable(parent.side, quantity, cap)
        runner.limit_bound = not allocations and parent.limit_price is not None
        self._note_route(runner, router, now=self.engine.clock.now())
        sent = 0.0
        for alloc in allocations:
            decision, _ = self.engine.send_child(
                parent.parent_id, alloc.venue, parent.side, alloc.quantity, alloc.price, TimeInForce.IOC
            )
            if decision is not Decision.REFUSE:
                sent += float(alloc.quantity)
        return sent

    def _take_aimed(self, runner: Runner, take: AimedTake) -> float:
        """Execute an algo's aimed take: take what the parent's venues offer at or better than the
        take's price cap, now, up to its quantity, the aimed venue first at equal prices; never past
        the parent's limit price, `max_cross_bps` from the consolidated mid, or the parent's room.
        Returns the base units sent (a child the risk gate refuses is not counted)."""
        parent = runner.parent
        pid = parent.parent_id
        room = float(parent.quantity) - float(self.engine.oms.done_qty(pid)) - self._working(pid)
        mid = self.consolidated_mid(self._venues(parent))
        quantity = min(take.quantity, room)
        if quantity <= 0 or math.isnan(mid):
            return 0.0
        cross = mid * (1 + parent.side.sign * self.config.max_cross_bps * 1e-4)
        caps = [take.price_cap, cross] + ([float(parent.limit_price)] if parent.limit_price is not None else [])
        cap = min(caps) if parent.side is Side.BUY else max(caps)
        router = self._router(parent)
        if take.venue in router.venues:
            router.venues[take.venue].preference = max(router.venues[take.venue].preference, 2.0)
        sent = 0.0
        for alloc in router.marketable(parent.side, quantity, cap):
            decision, _ = self.engine.send_child(pid, alloc.venue, parent.side, alloc.quantity, alloc.price,
                                                 TimeInForce.IOC)
            if decision is not Decision.REFUSE:
                sent += float(alloc.quantity)
        runner.aimed_sent += sent
        return sent

    def _send_passive(self, runner: Runner, quantity: float, mid: float) -> None:
        parent = runner.parent
        for alloc in self._router(parent).passive(parent.side, quantity):
            if not parent.within_limit(alloc.price.value):
                runner.limit_bound = True
                continue
            self.engine.send_child(
                parent.parent_id, alloc.venue, parent.side, alloc.quantity, alloc.price, TimeInForce.GTC
            )

    def _note_route(self, runner: Runner, router: Router, now: float) -> None:
        """Warn once when a parent that must trade has no venue to trade on (every venue disabled,
        down, out of capacity or avoided as toxic): it would otherwise sit behind schedule, or past
        its horizon, with nothing on screen saying why. Cleared when a venue can take orders again."""
        why = []
        for name, v in router.venues.items():
            if not v.enabled:
                why.append(f"{name} disabled or down")
            elif v.book is None:
                why.append(f"{name} has no book")
            elif v.capacity <= 0:
                why.append(f"{name} out of balance or participation room")
            elif v.toxicity >= 1.0:
                why.append(f"{name} avoided (toxicity {v.toxicity:.2f})")
            else:
                runner.no_route = ""
                return
        reason = "; ".join(why) or "no venue allowed"
        if reason != runner.no_route:
            runner.no_route = reason
            pid = runner.parent.parent_id
            self.engine.bus.publish(
                Alert(now, Severity.WARNING, "no_route", "execution", f"no venue can take {pid}'s orders: {reason}",
                      parent_id=pid)
            )

    def _working(self, parent_id: str) -> float:
        """Working at venues, waiting in the risk gate's rate queue, or reserved for an OTC accept."""
        oms = self.engine.oms
        reserved = float(oms.reserved.get(parent_id, 0))
        return float(oms.working_qty(parent_id)) + self.engine.risk.queued_quantity(parent_id) + reserved

    def _router(self, parent: ParentOrder) -> Router:
        router = Router()
        symbol = parent.instrument.symbol
        locked = self._locked_by_venue(parent)
        toxicity = self._toxicities(parent)
        for name in self._venues(parent):
            venue = self.engine.venues[name]
            inst = venue.instrument(symbol)
            bal = venue.balances()
            asset = parent.instrument.base if parent.side is Side.SELL else parent.instrument.quote
            available = float(bal[asset].available) if asset in bal else 0.0
            mid = self.consolidated_mid((name,))
            if parent.side is Side.BUY:  # quote balance → base capacity, fees included
                available = available / (mid * (1 + inst.taker_fee_bps * 1e-4)) if mid > 0 else 0.0
            capacity = max(min(available - locked.get(name, 0.0), self.participation_room(name)), 0.0)
            router.venues[name] = VenueRouting(
                inst,
                self.engine.books.get(name),
                inst.taker_fee_bps,
                inst.maker_fee_bps,
                capacity,
                toxicity=toxicity[name],
                preference=self._preference(parent, name),
                enabled=name not in self.disabled_venues and venue.is_up,
            )
        return router

    def _toxicities(self, parent: ParentOrder) -> dict[str, float]:
        """How much the router avoids each of the parent's venues: a trader's setting for every
        algo, and for an algo that routes by surveillance (`Algo.toxicity`: the adaptive policy)
        its live score × the algo's weight (spoof-aware routing).

        Surveillance's part is relative to the cleanest venue the parent can trade on now (enabled,
        up), (t − t_min)/(1 − t_min): it steers volume away from a venue worse than the others and
        never stops a parent because every venue scores alike (a market-wide move reads as adverse
        selection everywhere; excluding every venue left a parent unfilled for good)."""
        names = self._venues(parent)
        manual = {v: self.toxicity.get(v, 0.0) for v in names}
        runner = self.runners.get(parent.parent_id)
        seen = runner.algo.toxicity(names) if runner is not None else None
        if seen is None:
            return manual
        scores = seen.scores
        usable = [scores[v] for v in names if v not in self.disabled_venues and self.engine.venues[v].is_up]
        floor = min(usable, default=0.0)
        if floor >= 1.0:  # every usable venue scores 1: none is worse than another
            return manual
        weight = seen.weight
        return {v: max(manual[v], weight * max((scores[v] - floor) / (1.0 - floor), 0.0)) for v in names}

    def _preference(self, parent: ParentOrder, venue: str) -> float:
        """The algo's routing weight for `venue` (the adaptive policy's lean or hold-back aimed
        there; 1 for a plain schedule)."""
        runner = self.runners.get(parent.parent_id)
        if runner is None:
            return 1.0
        return runner.algo.venue_weight(venue, self.engine.clock.now() - runner.start_s)

    def participation_room(self, venue: str) -> float:
        """How much more we may send to `venue` (all parents together) before the gate's
        `max_participation` rule would refuse it: asked of the gate (`RiskGate.participation_room`)."""
        return self.engine.risk.participation_room(venue)

    def _locked_by_venue(self, parent: ParentOrder) -> dict[str, float]:
        """What our open orders on the same side already lock per venue (all parents).

        Venue balances already net out acknowledged orders' locks; only orders the venue has not
        acknowledged yet (pending new) are added here so a burst can't overdraw a venue."""
        locked: dict[str, float] = {}
        for child in self.engine.oms.open_children():
            if child.side is parent.side and child.venue_order_id == "":
                locked[child.venue] = locked.get(child.venue, 0.0) + float(child.leaves)
        return locked

    def _cancel_stale(self, runner: Runner, mid: float) -> None:
        now = self.engine.clock.now()
        parent = runner.parent
        stale: list[ChildOrder] = []
        for child in self.engine.oms.open_children(parent.parent_id):
            if child.tif is TimeInForce.IOC or child.price is None:
                continue
            book = self.engine.books.get(child.venue)
            touch = None
            if book is not None and len(book.bid_px) and len(book.ask_px):
                touch = float(book.bid_px[0]) if parent.side is Side.BUY else float(book.ask_px[0])
            off_touch = touch is not None and abs(float(child.price) - touch) > 2 * float(
                self.engine.venues[child.venue].instrument(parent.instrument.symbol).tick_size
            )
            if now - child.created_ts >= self.config.passive_refresh_s or off_touch:
                stale.append(child)
        if stale:
            self.engine.cancel_children(stale, SYSTEM, "refresh passive")

    def _cancel_nonconforming(self, parent_id: str, actor: Actor) -> None:
        parent = self.engine.oms.parents[parent_id]
        allowed = set(self._venues(parent))
        bad = [
            c
            for c in self.engine.oms.open_children(parent_id)
            if c.venue not in allowed or (c.price is not None and not parent.within_limit(c.price))
        ]
        self.engine.cancel_children(bad, actor, "override")

    def _trim_working(self, parent_id: str, actor: Actor) -> None:
        oms = self.engine.oms
        parent = oms.parents[parent_id]
        excess = oms.filled_qty(parent_id) + oms.working_qty(parent_id) - parent.quantity
        excess += oms.otc_qty(parent_id) + oms.reserved.get(parent_id, Decimal(0))
        if excess > 0:
            self.engine.cancel_children(oms.open_children(parent_id), actor, "quantity reduced")

    # ---- end of life --------------------------------------------------------------------------

    def _stop(self, parent_id: str, state: ParentState, actor: Actor, reason: str) -> None:
        oms = self.engine.oms
        runner = self.runners.get(parent_id)
        if runner is not None and runner.timer is not None:
            runner.timer.cancel()
            runner.timer = None
        self.engine.risk.purge_queue(parent_id)
        self.engine.cancel_children(oms.open_children(parent_id), actor, reason)
        if not oms.parents[parent_id].state.is_terminal:
            oms.set_parent_state(parent_id, state, actor, self.engine.clock.now(), reason)
        if runner is not None:  # the blotter's last word on the parent: final fill, average, state
            mid = self.consolidated_mid(self._venues(runner.parent))
            self._publish_progress(runner, self.engine.clock.now(), mid, float(oms.done_qty(parent_id)))
        for callback in self.on_done:
            callback(parent_id)

    def _finish(self, parent_id: str, state: ParentState, reason: str) -> None:
        self._stop(parent_id, state, SYSTEM, reason)

    def _on_kill(self, actor: Actor) -> None:
        """Kill switch: every running parent stops (children are canceled by the engine)."""
        for parent_id, runner in self.runners.items():
            if runner.timer is not None:
                runner.timer.cancel()
                runner.timer = None
            if not runner.parent.state.is_terminal:
                self.engine.oms.set_parent_state(
                    parent_id, ParentState.STOPPED_BY_RISK, actor, self.engine.clock.now(), "kill switch"
                )

    def stop_by_risk(self, parent_id: str, actor: Actor, reason: str) -> None:
        self._stop(parent_id, ParentState.STOPPED_BY_RISK, actor, reason)

    # ---- helpers ------------------------------------------------------------------------------

    def _venues(self, parent: ParentOrder) -> tuple[str, ...]:
        return parent.venues or tuple(self.engine.venues)

    def _smallest_lot(self, parent: ParentOrder) -> Decimal:
        return min(self.engine.venues[v].instrument(parent.instrument.symbol).lot_size for v in self._venues(parent))

    def _make_algo(self, parent: ParentOrder, mid: float) -> Algo:
        p = parent.params
        if parent.algo == "twap":
            return Twap()
        if parent.algo == "vwap":
            return Vwap(np.asarray(p.get("profile", np.ones(24)), dtype=np.float64))
        if parent.algo == "pov":
            return Pov(
                rate=float(p.get("rate", 0.1)),
                min_rate=float(p.get("min_rate", 0.0)),
                max_rate=float(p.get("max_rate", parent.max_participation)),
            )
        if parent.algo == "iceberg":
            return Iceberg(display_qty=float(p.get("display_qty", max(float(parent.quantity) / 100, 0.001))))
        if parent.algo in ("ac", "adaptive"):
            params = self.ac_params or self.calibration.ac_params(mid)
            n = max(1, round(parent.horizon_s / self.config.ac_period_s))
            lam = parent.risk_aversion
            if lam is None:
                lam = risk_aversion_for_urgency(AcUrgency(parent.urgency.value), params, parent.horizon_s, n)
            ac = AlmgrenChriss(params, lam, self.config.ac_period_s)
            if parent.algo == "adaptive":
                policy = self.adaptive_policy.with_overrides(parent.params.get("adaptive", {}))
                return AdaptiveAc(
                    ac,
                    parent.side.sign,
                    self._venues(parent),
                    self.signals,
                    self.engine.clock.now,
                    policy.config,
                    policy_label=policy.label,
                    venue_mid=lambda venue: self.consolidated_mid((venue,)),
                )
            return ac
        raise ValueError(f"unknown algo {parent.algo!r}; choose twap, vwap, pov, iceberg, ac or adaptive")

    def _execute_plans(self, runner: Runner, state: AlgoState, now: float) -> None:
        """Ask the algo for this tick's plan and execute it: send each aimed take at once and tell
        the algo what it sent, until a plan has no take; then journal the tick's decisions."""
        plan = runner.algo.decide(state)
        decided: list[PolicyDecision] = list(plan.decisions)
        while plan.take is not None:
            plan = runner.algo.decide(state, taken=self._take_aimed(runner, plan.take))
            decided.extend(plan.decisions)
        if decided:
            self._journal_decisions(runner, [d.payload() for d in decided], now)

    def _journal_decisions(self, runner: Runner, decisions: list[dict[str, Any]], now: float) -> None:
        """The algo's new decisions, journaled (`algo.decision`) so an export carries them and the
        fills refit can attribute fills to them (core/execution/fills_refit.py)."""
        pid = runner.parent.parent_id
        runner.decisions.extend(decisions)
        items = [("algo.decision", {"parent_id": pid, **d}) for d in decisions]
        self.engine.oms.record_many(items, SYSTEM, now)
        self.journaled_decisions.setdefault(pid, []).extend(decisions)

    def _publish_progress(self, runner: Runner, now: float, mid: float, target: float) -> None:
        oms = self.engine.oms
        parent = runner.parent
        pid = parent.parent_id
        children = oms.children_for(pid)
        filled = float(sum((c.filled for c in children), Decimal(0)))
        otc = float(oms.otc_qty(pid))
        notional = float(sum((c.notional_filled for c in children), Decimal(0)))
        avg = notional / filled if filled > 0 else float("nan")
        arrival = oms.arrival_mid.get(pid, float("nan"))
        slip = parent.side.sign * (avg - arrival) / arrival * 1e4 if filled > 0 else 0.0
        vol = self.market_volume() - runner.market_volume_at_start
        self.engine.bus.publish(
            ParentProgress(
                now,
                pid,
                parent.state.value,
                parent.side,
                float(parent.quantity),
                filled + otc,
                float(parent.quantity) - filled - otc,
                avg,
                arrival,
                slip,
                target,
                filled / (filled + vol) if filled + vol > 0 else 0.0,
                float(oms.working_qty(pid)),
                otc,
            )
        )
        if runner.limit_bound:
            self.engine.bus.publish(
                Alert(now, Severity.INFO, "limit_bound", "execution", "behind schedule, limit-bound", parent_id=pid)
            )
