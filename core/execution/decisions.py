"""What an algo decides besides its schedule, as typed values: the runner executes a `TickPlan`
(an aimed take, then the decision records it journals) and the router reads a `VenueToxicity`.

The schedule itself is `Algo.target_filled` (core/execution/algos.py). Each tick the runner calls
`Algo.decide(state)`; while the plan it gets back holds a take, the runner sends the take at once
and calls `decide(state, taken=<base units sent>)` so the algo finishes the same tick knowing what
was sent. A plain schedule returns `NO_PLAN`: no take, no decisions.

Sizes are base units and prices quote per base unit, as floats: the router is the one place they
become a venue's lots and ticks (core/execution/router.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AimedTake:
    """Take liquidity now: up to `quantity` at `price_cap` or better (a buy at or below it, a sell
    at or above it), the moved `venue` first at equal prices. The runner keeps it within the
    parent's room, limit price and maximum cross from the consolidated mid."""

    venue: str
    quantity: float  # base units
    price_cap: float  # quote per base unit


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """One decision (or the release of one) with its reason, journaled as `algo.decision`.

    `venue`, `p_transient` and `window_s` let the fills refit attribute our fills to it
    (core/execution/fills_refit.py)."""

    time_s: float  # parent-elapsed seconds, rounded to the ms
    ts: float  # clock time of the decision
    action: str  # "lean in", "hold back", "trade ahead", "no change" or "release"
    shift_qty: float  # base units the target moved (+ ahead of the schedule, − behind it)
    reason: str
    venue: str  # the venue whose scored move it answers
    p_transient: float  # the dip classifier's P(transient) for that move
    window_s: float  # the shift's decay (a release: the decay it starts)

    def payload(self) -> dict[str, Any]:
        """The record's fields in their journaled order (what `simulate` and the terminal show)."""
        return {
            "time_s": self.time_s,
            "ts": self.ts,
            "action": self.action,
            "shift_qty": self.shift_qty,
            "reason": self.reason,
            "venue": self.venue,
            "p_transient": self.p_transient,
            "window_s": self.window_s,
        }


@dataclass(frozen=True, slots=True)
class TickPlan:
    """An algo's decisions this tick, for the runner to execute: `take` to send now (None: the tick's
    decisions are complete) and the `decisions` made since the previous plan of the tick."""

    take: AimedTake | None = None
    decisions: tuple[PolicyDecision, ...] = ()


NO_PLAN = TickPlan()  # a plain schedule's every tick


@dataclass(frozen=True, slots=True)
class VenueToxicity:
    """How an algo wants the router to avoid venues: surveillance's score per venue (0 clean … 1
    toxic, clamped) and the weight it routes by (the adaptive policy's `toxicity_weight`)."""

    scores: Mapping[str, float]
    weight: float
