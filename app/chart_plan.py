"""One parent's chart data, and the plan the chart draws under it.

`ParentSeries` keeps every sample of a parent (progress, prices, VWAP, participation, fills on
each venue and OTC) so switching the chart between parents redraws at once; `sent`/`fills_sent`
say how much the chart already has. `compute_plan` is the algo's schedule from now to the horizon
(the past part of the old plan kept) and, for Almgren–Chriss parents, the band low and high
urgency would trade with what is left — recomputed when the parent starts, is overridden or
fills OTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.desk import Desk
from core.analytics.almgren_chriss import Urgency as AcUrgency
from core.analytics.almgren_chriss import reoptimize, risk_aversion_for_urgency
from core.execution.algos import AlgoState


@dataclass
class ParentSeries:
    """One parent's chart data (kept whole so switching parents redraws at once).

    Times are epoch seconds; quantities in base units; `fill_v` indexes the chart's venues (the
    last one is OTC). `plan` is (times, target filled, band low, band high)."""

    t: list[float] = field(default_factory=list)
    filled: list[float] = field(default_factory=list)
    price: list[float] = field(default_factory=list)
    vwap: list[float] = field(default_factory=list)
    part: list[float] = field(default_factory=list)
    fill_t: list[float] = field(default_factory=list)
    fill_px: list[float] = field(default_factory=list)
    fill_qty: list[float] = field(default_factory=list)
    fill_v: list[int] = field(default_factory=list)
    plan: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    plan_dirty: bool = True
    plan_sent: bool = False
    sent: int = 0
    fills_sent: int = 0


def compute_plan(series: ParentSeries, pid: str, desk: Desk, now: float) -> None:
    """The algo's schedule from now to the horizon (the past part of the old plan kept), and
    the AC band: what low and high urgency would do with what is left from here."""
    execution, oms = desk.execution, desk.engine.oms
    runner = execution.runners.get(pid)
    if runner is None:
        return
    series.plan_dirty = False
    p = runner.parent
    horizon = p.horizon_s
    elapsed = now - runner.start_s
    if elapsed >= horizon:
        return
    qty = float(p.quantity)
    done = float(oms.done_qty(pid))
    state = AlgoState(elapsed, horizon, qty, done, execution.market_volume() - runner.market_volume_at_start,
                      p.max_participation)
    grid = np.linspace(elapsed, horizon, 121)
    target = np.array([runner.algo.target_filled(state, float(x)) for x in grid])
    low, high = target.copy(), target.copy()
    if p.algo in ("ac", "adaptive"):
        arrival = oms.arrival_mid.get(pid, execution.consolidated_mid())
        params = execution.ac_params or execution.calibration.ac_params(arrival)
        period = execution.config.ac_period_s
        n_full = max(1, round(horizon / period))
        left = horizon - elapsed
        remaining = max(qty - done, 0.0)
        if remaining > 0:
            curves = []
            for urgency in (AcUrgency.LOW, AcUrgency.HIGH):
                lam = risk_aversion_for_urgency(urgency, params, horizon, n_full)
                plan = reoptimize(params, remaining, left, max(1, round(left / period)), lam)
                curves.append(done + remaining - np.interp(grid - elapsed, plan.times, plan.trajectory))
            low, high = np.minimum(*curves), np.maximum(*curves)
    times = runner.start_s + grid
    if series.plan is not None:
        old_t, old_q, old_lo, old_hi = series.plan
        keep = old_t < times[0]
        times = np.concatenate([old_t[keep], times])
        target = np.concatenate([old_q[keep], target])
        low = np.concatenate([old_lo[keep], low])
        high = np.concatenate([old_hi[keep], high])
    series.plan = (times, target, low, high)
    series.plan_sent = False
