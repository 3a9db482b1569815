"""Circuit breakers wired to an execution service: the one builder `simulate`, the terminal's
embedded market and `python main.py run` share (core/risk/breakers.py has the rules).

Kept free of the simulator and of Qt: `run` imports it and must start without either.
"""

from __future__ import annotations

from core.actors import SYSTEM
from core.engine import Engine
from core.execution.service import ExecutionService
from core.parent import ParentState
from core.risk.breakers import BreakerActions, BreakerConfig, Breakers


def build_breakers(engine: Engine, execution: ExecutionService, config: BreakerConfig | None = None) -> Breakers:
    """Started circuit breakers acting through `execution` as the SYSTEM actor: pause parents,
    switch venues off and on; a parent a still-tripped breaker paused cannot resume.
    `config`: thresholds and actions (default `BreakerConfig()`; the settings' `[breakers]`)."""
    actions = BreakerActions(
        pause_parent=lambda pid, why: execution.pause(pid, SYSTEM),
        running_parents=lambda: [p for p, r in execution.runners.items() if r.parent.state is ParentState.RUNNING],
        set_venue_enabled=lambda venue, on: execution.set_venue_enabled(venue, on, SYSTEM),
        has_working_orders=lambda venue: bool(engine.oms.open_children(venue=venue)),
        parent=engine.oms.parents.get,
    )
    breakers = Breakers(engine.clock, engine.bus, engine.risk, actions, config or BreakerConfig())
    breakers.start()
    execution.resume_guards.append(breakers.blocks_resume)
    return breakers
