"""The execution desk's parameters: child tactics (`ExecutionConfig`) and the scale-free impact
calibration the Almgren–Chriss algos turn into per-parent model parameters (`ImpactCalibration`).

Units are in the names or beside each field: seconds (`_s`), basis points (`_bps`), fractions of
the parent quantity or of an interval. Defaults are documented in docs/execution.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.analytics.impact import AlmgrenChrissParams


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
