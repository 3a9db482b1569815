"""Execution service: the desk's command surface for parent orders — staging, approval, start,
pause/resume, cancel, finish now, amendments (overrides), venue switches — and the journal
records it owns (venue switches, the algos' decisions).

It composes, by constructor injection, the parts that do the work, each in its own module:
the market view (core/execution/market_view.py: mids and volumes, ours excluded), the venue
switches (venue_switches.py), the routing view (routing.py: where a slice may go, with the risk
gate's participation room) and the per-tick runner (runner.py: the algo's plan, child tactics).
Commands validate and journal (every override with its actor) and take effect at the next tick,
within one interval; it also builds the algo a parent runs (`_make_algo`) from the parent's
parameters and the desk's impact model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from core.actors import Actor
from core.analytics.almgren_chriss import Urgency as AcUrgency
from core.analytics.almgren_chriss import risk_aversion_for_urgency
from core.analytics.impact import AlmgrenChrissParams
from core.engine import Engine
from core.events import OverrideApplied
from core.execution.adaptive import AdaptiveAc, AdaptiveConfig, MarketSignals
from core.execution.algos import Algo, AlmgrenChriss, Iceberg, Pov, Twap, Vwap
from core.execution.config import ExecutionConfig, ImpactCalibration
from core.execution.market_view import MarketView
from core.execution.policy import AdaptivePolicy
from core.execution.routing import RoutingView
from core.execution.runner import Runner, TickRunner
from core.execution.venue_switches import VenueSwitches
from core.parent import (
    ParentOrder,
    ParentState,
    Urgency,
    validate_max_schedule_deviation,
    validate_max_slippage_bps,
)
from core.records import Entry
from core.records import VenueRouting as VenueRoutingRecord
from core.risk.staging import StagingPolicy, check_approval
from core.seeds import SeedTree

__all__ = ["ExecutionConfig", "ExecutionService", "ImpactCalibration", "Runner"]


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
        market: MarketView | None = None,
        switches: VenueSwitches | None = None,
        routing: RoutingView | None = None,
        ticks: TickRunner | None = None,
    ) -> None:
        """`ac_params` (per-second units) fix the AC model for every parent — the pre-trade's
        calibration — instead of deriving them from `calibration` at each parent's arrival mid.
        `signals`: surveillance, what the adaptive policy reads; `adaptive_policy`: the adaptive
        parents' parameters (default: the defaults); `resume_guards`: each may refuse a resume
        with a reason (the circuit breakers). The desk builder (app/desk.py) passes all three.
        `market`, `switches`, `routing`, `ticks`: the parts (default: built on `engine`, each on
        the ones before it)."""
        self.engine = engine
        self.seeds = seeds
        self.config = config or ExecutionConfig()
        self.calibration = calibration or ImpactCalibration()
        self.ac_params = ac_params
        self.staging = staging or StagingPolicy()
        self.market = market or MarketView(engine)
        self.switches = switches or VenueSwitches()
        self.routing = routing or RoutingView(engine, self.market, self.switches)
        self.ticks = ticks or TickRunner(engine, self.config, self.market, self.routing)
        engine.risk.on_kill.append(self.ticks.on_kill)
        self.signals = signals  # surveillance: what the adaptive policy reads
        # the adaptive parents' parameters: a fitted policy given by the builder, else the defaults;
        # a parent's params["adaptive"] override it key by key
        self.adaptive_policy = adaptive_policy or AdaptivePolicy(AdaptiveConfig())
        # each may refuse a resume with a reason (a circuit breaker that paused the parent and is still tripped)
        self.resume_guards: list[Callable[[str], str | None]] = list(resume_guards)

    # ---- what the parts hold, under the names the desk reads ------------------------------------

    @property
    def runners(self) -> dict[str, Runner]:
        return self.ticks.runners

    @property
    def journaled_decisions(self) -> dict[str, list[dict[str, Any]]]:
        return self.ticks.journaled_decisions

    @property
    def on_done(self) -> list[Callable[[str], None]]:
        return self.ticks.on_done

    @property
    def disabled_venues(self) -> set[str]:
        return self.switches.disabled

    @property
    def venue_holds(self) -> dict[str, set[str]]:
        return self.switches.holds

    @property
    def toxicity(self) -> dict[str, float]:
        """A trader's toxicity per venue (0 … 1) the router avoids for every algo."""
        return self.routing.toxicity

    def consolidated_mid(self, venues: tuple[str, ...] = ()) -> float:
        return self.market.consolidated_mid(venues)

    def market_volume(self) -> float:
        return self.market.market_volume()

    def market_vwap(self) -> float:
        return self.market.market_vwap()

    def recent_volume(self, window_s: float) -> float:
        return self.market.recent_volume(window_s)

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
        arrival = self.consolidated_mid(self.market.venues_of(parent))
        if math.isnan(arrival):
            venues = ", ".join(self.market.venues_of(parent))
            raise ValueError(f"no market data yet on {venues}: cannot take an arrival price")
        oms.start(parent_id, arrival, actor, now)
        if parent.end_ts is None:
            parent.end_ts = now + parent.horizon_s
        runner = Runner(parent, self._make_algo(parent, arrival), self.seeds.generator(f"algo/{parent_id}"), now)
        runner.market_volume_at_start = self.market_volume()
        self.ticks.add(runner)
        self.ticks.tick(parent_id)

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
            arrival = self.consolidated_mid(self.market.venues_of(parent))
        start = parent.start_ts if parent.start_ts is not None else self.engine.clock.now()
        sent = len(oms.children_of.get(parent_id, []))
        runner = Runner(
            parent, self._make_algo(parent, arrival), self.seeds.generator(f"algo/{parent_id}/resume/{sent}"), start,
            decisions=list(self.journaled_decisions.get(parent_id, [])),
        )
        runner.market_volume_at_start = self.market_volume()
        runner.replan_needed = True
        self.ticks.add(runner)
        if parent.state in (ParentState.RUNNING, ParentState.COMPLETING):
            self.ticks.tick(parent_id)

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
        self.ticks.tick(parent_id)

    def cancel(self, parent_id: str, actor: Actor, reason: str = "canceled by trader") -> None:
        self.ticks.stop(parent_id, ParentState.CANCELED, actor, reason)

    def stop_by_risk(self, parent_id: str, actor: Actor, reason: str) -> None:
        self.ticks.stop(parent_id, ParentState.STOPPED_BY_RISK, actor, reason)

    def finish_now(self, parent_id: str, actor: Actor, price_cap: Decimal | None = None) -> None:
        """Complete aggressively within `price_cap` (or the parent's limit / max cross)."""
        oms = self.engine.oms
        parent = oms.parents[parent_id]
        if price_cap is not None:
            oms.override(parent_id, "finish_cap", None, price_cap, actor, self.engine.clock.now())
        oms.set_parent_state(parent_id, ParentState.COMPLETING, actor, self.engine.clock.now(), "finish now")
        self.ticks.tick(parent.parent_id)

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

        Who holds a venue off is tracked (core/execution/venue_switches.py): a circuit breaker's
        automatic reset lifts only its own hold, a user's switch only the users' holds.
        Returns whether the venue is enabled for routing afterwards."""
        if venue not in self.engine.venues:
            raise ValueError(f"unknown venue {venue!r}; configured: {', '.join(self.engine.venues)}")
        was_off = venue in self.switches.disabled
        holds = self.switches.switch(venue, enabled, actor)
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
        if isinstance(entry.record, VenueRoutingRecord):
            self.switches.apply(entry.record)
        self.ticks.apply(entry)

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

    # ---- helpers ------------------------------------------------------------------------------

    def _cancel_nonconforming(self, parent_id: str, actor: Actor) -> None:
        parent = self.engine.oms.parents[parent_id]
        allowed = set(self.market.venues_of(parent))
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

    def _make_algo(self, parent: ParentOrder, mid: float) -> Algo:
        """The algo `parent` runs, its AC model taken at `mid` unless the desk fixed one (`ac_params`)."""
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
                    self.market.venues_of(parent),
                    self.signals,
                    self.engine.clock.now,
                    policy.config,
                    policy_label=policy.label,
                    venue_mid=lambda venue: self.market.consolidated_mid((venue,)),
                )
            return ac
        raise ValueError(f"unknown algo {parent.algo!r}; choose twap, vwap, pov, iceberg, ac or adaptive")

