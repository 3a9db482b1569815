"""Execution algorithms: each decides *how much should be done by when*.

An algo answers one question each interval: the cumulative quantity that should be filled by
a given time (`target_filled`). The runner turns the gap between that target and what is
filled or working into child orders; the router decides where. All quantities are base units
as floats (models), times are seconds since the parent started.

- TWAP: a straight line from what was done at the last re-plan to the full quantity at the end.
- VWAP: follows a cumulative volume profile (share of the horizon's volume by time bucket).
- POV: a target share of market volume: ours / (ours + others) = rate, clipped to [min, max].
- Iceberg: TWAP pacing, but never more than the display quantity working at once.
- AC (implementation shortfall): the Almgren–Chriss (2000) optimal trajectory at the trader's
  risk aversion, re-optimized on the remaining quantity and time every interval.

Each is a `PlainSchedule`: it decides nothing else each tick and leaves routing to the router. The
adaptive policy (core/execution/adaptive.py) also decides, as typed plans the runner executes
(core/execution/decisions.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from core.analytics.almgren_chriss import reoptimize
from core.analytics.impact import AlmgrenChrissParams
from core.execution.decisions import NO_PLAN, TickPlan, VenueToxicity

FloatArray = npt.NDArray[np.float64]


@dataclass(slots=True)
class AlgoState:
    """What an algo knows each interval (already excluding our own orders from market figures)."""

    elapsed_s: float
    horizon_s: float
    quantity: float  # the parent's total (after quantity overrides)
    done: float  # filled on exchange + OTC
    market_volume: float  # all venues' traded volume since start, ours excluded
    max_participation: float


class Algo(Protocol):
    """What the runner asks an algo: its schedule (`target_filled`, re-planned on `replan`, with at
    most `max_working` resting), its decisions each tick (`decide`, see core/execution/decisions.py)
    and what it adds to routing (`venue_weight`, `toxicity`)."""

    name: str

    @property
    def risk_aversion(self) -> float:
        """λ in 1/$ the schedule trades off cost against risk with (0: risk-neutral, e.g. TWAP);
        the RFQ service values a quote against the remaining schedule with it."""
        ...

    def target_filled(self, state: AlgoState, at_s: float) -> float: ...

    def replan(self, state: AlgoState) -> None: ...

    def max_working(self, state: AlgoState) -> float: ...

    def decide(self, state: AlgoState, taken: float | None = None) -> TickPlan:
        """This tick's plan; `taken`: base units the previous plan's take sent (None: a new tick)."""
        ...

    def venue_weight(self, venue: str, at_s: float) -> float:
        """The router's preference for `venue` at parent-elapsed `at_s` (1: as the router scores it)."""
        ...

    def toxicity(self, venues: tuple[str, ...]) -> VenueToxicity | None:
        """Surveillance's toxicity of `venues` as this algo routes by it (None: the trader's settings only)."""
        ...


class PlainSchedule:
    """A schedule and nothing else: decides nothing each tick and leaves routing to the router."""

    __slots__ = ()
    risk_aversion: float = 0.0  # risk-neutral unless the schedule has its own λ (AC)

    def decide(self, state: AlgoState, taken: float | None = None) -> TickPlan:
        return NO_PLAN

    def venue_weight(self, venue: str, at_s: float) -> float:
        return 1.0

    def toxicity(self, venues: tuple[str, ...]) -> VenueToxicity | None:
        return None


def _clip(value: float, quantity: float) -> float:
    return min(max(value, 0.0), quantity)


@dataclass(slots=True)
class Twap(PlainSchedule):
    """Linear schedule from the last re-plan point to the full quantity at the horizon."""

    name: str = "twap"
    _t0: float = 0.0
    _done0: float = 0.0

    def replan(self, state: AlgoState) -> None:
        self._t0, self._done0 = state.elapsed_s, state.done

    def target_filled(self, state: AlgoState, at_s: float) -> float:
        span = max(state.horizon_s - self._t0, 1e-9)
        frac = min(max((at_s - self._t0) / span, 0.0), 1.0)
        return _clip(self._done0 + (state.quantity - self._done0) * frac, state.quantity)

    def max_working(self, state: AlgoState) -> float:
        return math.inf


@dataclass(slots=True)
class Vwap(PlainSchedule):
    """Follows `profile`: the share of the horizon's volume expected in each equal time bucket
    (from recent data; flat when unknown). Re-plans scale the rest of the curve to what is left."""

    profile: FloatArray = field(default_factory=lambda: np.ones(24))
    name: str = "vwap"
    _t0: float = 0.0
    _done0: float = 0.0
    _curve0: float = 0.0

    def __post_init__(self) -> None:
        p = np.asarray(self.profile, dtype=np.float64)
        if p.ndim != 1 or len(p) == 0 or np.any(p < 0) or p.sum() <= 0:
            raise ValueError("VWAP volume profile must be a non-empty list of non-negative shares")
        self.profile = p / p.sum()

    def _curve(self, frac: float) -> float:
        """Cumulative profile share at fraction `frac` of the horizon (piecewise linear)."""
        cum = np.concatenate(([0.0], np.cumsum(self.profile)))
        grid = np.linspace(0.0, 1.0, len(cum))
        return float(np.interp(min(max(frac, 0.0), 1.0), grid, cum))

    def replan(self, state: AlgoState) -> None:
        self._t0, self._done0 = state.elapsed_s, state.done
        self._curve0 = self._curve(state.elapsed_s / state.horizon_s)

    def target_filled(self, state: AlgoState, at_s: float) -> float:
        rest = max(1.0 - self._curve0, 1e-12)
        share = (self._curve(at_s / state.horizon_s) - self._curve0) / rest
        return _clip(self._done0 + (state.quantity - self._done0) * share, state.quantity)

    def max_working(self, state: AlgoState) -> float:
        return math.inf


@dataclass(slots=True)
class Pov(PlainSchedule):
    """Participation of volume: ours / (ours + others) = `rate` (within [min_rate, max_rate]).

    The target is rate/(1 − rate) × the others' volume since start, which is what makes our
    share of all traded volume (ours included) equal to the rate.
    """

    rate: float = 0.1
    min_rate: float = 0.0
    max_rate: float = 0.5
    name: str = "pov"

    def __post_init__(self) -> None:
        if not 0 < self.rate < 1:
            raise ValueError(f"POV rate must be in (0, 1), got {self.rate}")

    def replan(self, state: AlgoState) -> None:
        self.rate = min(max(self.rate, self.min_rate), self.max_rate, state.max_participation)

    def target_filled(self, state: AlgoState, at_s: float) -> float:
        return _clip(self.rate / (1.0 - self.rate) * state.market_volume, state.quantity)

    def max_working(self, state: AlgoState) -> float:
        return math.inf


@dataclass(slots=True)
class Iceberg(PlainSchedule):
    """TWAP pacing with at most `display_qty` showing at once (randomized by the runner)."""

    display_qty: float = 1.0
    name: str = "iceberg"
    _twap: Twap = field(default_factory=Twap)

    def __post_init__(self) -> None:
        if self.display_qty <= 0:
            raise ValueError(f"iceberg display quantity must be positive, got {self.display_qty}")

    def replan(self, state: AlgoState) -> None:
        self._twap.replan(state)

    def target_filled(self, state: AlgoState, at_s: float) -> float:
        return self._twap.target_filled(state, at_s)

    def max_working(self, state: AlgoState) -> float:
        return self.display_qty


@dataclass(slots=True)
class AlmgrenChriss(PlainSchedule):
    """Almgren & Chriss (2000) trajectory, re-optimized on what is left each re-plan.

    `params` are in per-second units here (σ in $/share/s^½, η in $·s/share², γ in $/share²)
    and `risk_aversion` in 1/$; `period_s` is the trading interval τ. Holdings follow
    x(t) = R·sinh(κ(T − t))/sinh(κ(T − t₀)) from the re-plan point (t₀, R remaining).
    """

    params: AlmgrenChrissParams
    risk_aversion: float
    period_s: float = 60.0
    name: str = "ac"
    _t0: float = 0.0
    _done0: float = 0.0
    _times: FloatArray = field(default_factory=lambda: np.zeros(1))
    _holdings: FloatArray = field(default_factory=lambda: np.zeros(1))
    kappa: float = 0.0

    def replan(self, state: AlgoState) -> None:
        remaining = state.quantity - state.done
        time_left = state.horizon_s - state.elapsed_s
        self._t0, self._done0 = state.elapsed_s, state.done
        if remaining <= 0 or time_left <= 0:
            self._times, self._holdings = np.array([self._t0]), np.array([max(remaining, 0.0)])
            return
        n = max(1, round(time_left / self.period_s))
        plan = reoptimize(self.params, remaining, time_left, n, self.risk_aversion)
        self.kappa = plan.kappa
        self._times = self._t0 + plan.times
        self._holdings = plan.trajectory

    def holdings_at(self, at_s: float) -> float:
        """Planned quantity still to trade at `at_s` (linear between the plan's grid points)."""
        return float(np.interp(at_s, self._times, self._holdings, left=self._holdings[0], right=0.0))

    def target_filled(self, state: AlgoState, at_s: float) -> float:
        remaining0 = float(self._holdings[0])
        return _clip(self._done0 + (remaining0 - self.holdings_at(at_s)), state.quantity)

    def max_working(self, state: AlgoState) -> float:
        return math.inf


ALGOS = ("twap", "vwap", "pov", "iceberg", "ac", "adaptive")
