"""The desk, assembled in one place: every way of running Blockhouse builds it here.

The terminal on the embedded market (app/terminal_sim.py), the terminal live (app/composition.py),
`simulate` and `compare`'s workers (app/simulation.py) and headless `run` (app/commands/run.py)
all call `build_desk`. What differs between them is only what is plugged into the ports: the
venues (`SimExchange` venues or `CcxtVenue`s), the OTC desks (simulated desks, or none), the clock
(`SimClock` or `LiveClock`) and the journal. The services are always the same:

    OMS + risk gate (Engine) ─ circuit breakers ─ execution (every algo) ─ surveillance + the
    adaptive policy ─ RFQ (when desks exist) ─ progress ─ alerts

wired by constructor injection, and the journal replayed once: each record is decoded to its
typed class (core/records.py; an unknown kind stops the start with a message naming it) and
fanned out to every component that owns state — the OMS (orders, parents, OTC fills), the risk
gate (kill switch, trading states, hard limits), the breakers (what is still tripped and whom it
paused), execution (venue switches, adaptive decisions) and RFQ (ids, requests, unsettled credit).
A restarted desk is the desk that stopped; reconciliation with the venues comes after.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.actors import SYSTEM
from core.analytics.impact import AlmgrenChrissParams
from core.analytics.surveillance import Surveillance, SurveillanceConfig
from core.clock import Clock
from core.engine import Engine
from core.execution.policy import AdaptivePolicy
from core.execution.service import ExecutionConfig, ExecutionService
from core.monitoring import AlertLog, ProgressBook
from core.parent import ParentState
from core.ports import Journal, LiquidityProvider, Venue
from core.records import typed_replay
from core.rfq.model import DisclosurePolicy
from core.rfq.service import RfqConfig, RfqService
from core.risk.breakers import BreakerActions, BreakerConfig, Breakers
from core.risk.rules import RiskLimits
from core.seeds import SeedTree

log = logging.getLogger(__name__)

# every service a desk has; "rfq" only when OTC desks are configured
SERVICES = ("oms", "risk", "breakers", "execution", "surveillance", "adaptive_policy", "rfq", "progress", "alerts")


@dataclass(slots=True)
class DeskConfig:
    """How the desk's services are set up: the settings' limits and breakers, the execution
    tactics, the adaptive policy, the RFQ disclosure policy and each venue's message budget."""

    limits: RiskLimits = field(default_factory=RiskLimits)
    breakers: BreakerConfig = field(default_factory=BreakerConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    policy: AdaptivePolicy | None = None  # None: the defaults
    disclosure: DisclosurePolicy | None = None  # None: the defaults (docs/rfq.md)
    rfq: RfqConfig | None = None  # None: the defaults
    ac_params: AlmgrenChrissParams | None = None  # fixed AC model (the pre-trade's calibration), per second
    rate_limits: Mapping[str, tuple[int, float]] = field(default_factory=dict)  # venue → (messages, window_s)
    tick_sizes: Mapping[str, float] | None = None  # venue → tick, for surveillance (None: it learns them)
    surveillance: SurveillanceConfig | None = None


@dataclass(slots=True)
class Desk:
    """One desk: the engine (OMS and risk gate) and every service around it."""

    clock: Clock
    journal: Journal | None
    seeds: SeedTree
    engine: Engine
    execution: ExecutionService
    surveillance: Surveillance
    breakers: Breakers
    rfq: RfqService | None
    progress: ProgressBook
    alerts: AlertLog
    venues: dict[str, Venue]
    desks: dict[str, LiquidityProvider]
    replayed: int = 0  # journal records replayed at the start

    @property
    def venue_names(self) -> tuple[str, ...]:
        return tuple(self.venues)

    def services(self) -> dict[str, str]:
        """Each service the desk runs → its class (the composition test compares these across paths)."""
        found: dict[str, Any] = {
            "oms": self.engine.oms,
            "risk": self.engine.risk,
            "breakers": self.breakers,
            "execution": self.execution,
            "surveillance": self.execution.signals,
            "adaptive_policy": self.execution.adaptive_policy,
            "rfq": self.rfq,
            "progress": self.progress,
            "alerts": self.alerts,
        }
        return {name: type(obj).__name__ for name, obj in found.items() if obj is not None}

    def state_digest(self) -> dict[str, Any]:
        """Every component's restorable state, comparable: a desk rebuilt from this desk's journal
        has the same digest (tests/app/test_desk_replay.py)."""
        return {
            "oms": self.engine.oms.state_digest(),
            "risk": self.engine.risk.state_digest(),
            "breakers": self.breakers.state_digest(),
            "execution": self.execution.state_digest(),
            "rfq": self.rfq.state_digest() if self.rfq is not None else None,
        }

    def running_parents(self) -> list[str]:
        return running_parents(self.execution)

    def close(self) -> None:
        self.surveillance.close()


def build_desk(
    clock: Clock,
    journal: Journal | None,
    venues: Mapping[str, Venue],
    desks: Mapping[str, LiquidityProvider],
    seeds: SeedTree,
    config: DeskConfig | None = None,
) -> Desk:
    """The desk on these ports, its state restored from `journal` (one pass, every component).

    Venues are connected after the replay, so a venue's first reports (reconciliation) meet the
    restored OMS; the breakers start last, on the restored state."""
    cfg = config or DeskConfig()
    engine = Engine(clock, journal, limits=cfg.limits, replay=False)
    surveillance = Surveillance(engine.bus, cfg.surveillance, tick_sizes=dict(cfg.tick_sizes or {}))
    breakers_ref: list[Breakers] = []  # the breakers guard resumes; they act through execution, built first
    execution = ExecutionService(
        engine,
        seeds,
        cfg.execution,
        ac_params=cfg.ac_params,
        signals=surveillance,
        adaptive_policy=cfg.policy,
        resume_guards=(lambda parent_id: breakers_ref[0].blocks_resume(parent_id),),
    )
    breakers = Breakers(engine.clock, engine.bus, engine.risk, _breaker_actions(engine, execution), cfg.breakers)
    breakers_ref.append(breakers)
    rfq = RfqService(engine, execution, dict(desks), seeds, cfg.disclosure, cfg.rfq) if desks else None
    progress, alerts = ProgressBook(engine.bus), AlertLog(engine.bus)
    replayed = 0
    if journal is not None:
        with engine.oms.replaying():
            for rec, entry in typed_replay(journal.replay()):
                engine.oms.apply(rec)
                engine.risk.apply(entry)
                breakers.apply(entry)
                execution.apply(entry)
                if rfq is not None:
                    rfq.apply(rec)
                replayed += 1
        if rfq is not None:
            rfq.after_replay()  # quotes that lapsed while we were down are expired, in memory
    for venue in venues.values():
        engine.add_venue(venue)
        if venue.name in cfg.rate_limits:
            messages, window_s = cfg.rate_limits[venue.name]
            engine.risk.set_venue_rate_limit(venue.name, messages, window_s)
    breakers.start()
    if replayed:
        log.info("desk restored from %d journal records (%d parents, halted=%s, venues off: %s)", replayed,
                 len(engine.oms.parents), engine.risk.killed, ", ".join(sorted(execution.disabled_venues)) or "none")
    return Desk(clock, journal, seeds, engine, execution, surveillance, breakers, rfq, progress, alerts,
                dict(venues), dict(desks), replayed)


def _breaker_actions(engine: Engine, execution: ExecutionService) -> BreakerActions:
    """The breakers act through the execution service as the SYSTEM actor: pause parents, switch
    venues off and on; a parent a still-tripped breaker paused cannot resume."""
    def set_venue_enabled(venue: str, on: bool) -> None:
        execution.set_venue_enabled(venue, on, SYSTEM)

    return BreakerActions(
        pause_parent=lambda pid, why: execution.pause(pid, SYSTEM),
        running_parents=lambda: running_parents(execution),
        set_venue_enabled=set_venue_enabled,
        has_working_orders=lambda venue: bool(engine.oms.open_children(venue=venue)),
        parent=engine.oms.parents.get,
    )


def running_parents(execution: ExecutionService) -> list[str]:
    """The parents the execution service is running now (what a venue-wide breaker pauses)."""
    return [p for p, r in execution.runners.items() if r.parent.state is ParentState.RUNNING]
