"""Horizon advisor: expected cost, risk and the mean-variance objective of a block traded at a
constant rate over each candidate horizon, and the horizon that minimizes the objective.

Model (for a constant-rate execution of ``Q`` over ``T`` days, market volume ``V`` per day,
daily return volatility ``sigma``), after R. Almgren, C. Thum, E. Hauptmann and H. Li,
"Direct estimation of equity market impact", Risk 18(7), 2005 (their "realized cost"
``J = I/2 + eta sigma |X/(VT)|^beta``, turnover factor dropped)::

    E_bps(T)   = fixed_cost_bps                                     (half spread + taker fee)
               + 1/2 permanent_coeff sigma (Q / V) 1e4               (half the permanent move)
               + temporary_coeff sigma (Q / (V T))^temporary_exponent 1e4   (rate-dependent)
    std_bps(T) = sigma sqrt(T / 3) 1e4         (price risk of a linear liquidation, AC 2000)
    objective  = E_bps + lambda_bps std_bps^2  (Almgren & Chriss 2000 mean-variance, in bps)

With ``temporary_exponent = 1/2`` the temporary term is the square-root law of Tóth et al.
(2011) applied to the trading rate: at ``T = 1`` day it equals ``Y sigma sqrt(Q/V)`` with
``Y = temporary_coeff``, and it grows as the horizon shrinks (faster trading takes more of
the book). The objective is U-shaped in ``T``; its continuous minimizer is
``T* = (3 beta c (Q/V)^beta / (lambda_bps sigma 1e4))^(1 / (1 + beta))`` days.

Participation is ``Q / (V T)``: the share of market volume the block takes at constant rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SECONDS_PER_DAY: float = 86_400.0

#: Candidate horizons in seconds: 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h, 24 h.
DEFAULT_HORIZONS_S: tuple[float, ...] = (900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 43200.0, 86400.0)


@dataclass(frozen=True, slots=True)
class HorizonImpactModel:
    """Cost model of the horizon advisor (see the module docstring for formulas and sources).

    Attributes:
        temporary_coeff: ``c``; equals the square-root law's ``Y`` at a one-day horizon.
            Default 1.0 ("of order one", Tóth et al. 2011): a placeholder to calibrate on
            own fills.
        temporary_exponent: ``beta``; 0.5 = square-root law (Almgren et al. 2005 fit 0.6).
        permanent_coeff: ``gamma`` of Almgren et al. (2005), 0.314 in their fit.
        fixed_cost_bps: cost paid on every unit regardless of horizon (half spread + fee).
    """

    temporary_coeff: float = 1.0
    temporary_exponent: float = 0.5
    permanent_coeff: float = 0.314
    fixed_cost_bps: float = 0.0

    def __post_init__(self) -> None:
        for name in ("temporary_coeff", "permanent_coeff", "fixed_cost_bps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be finite and >= 0, got {value}")
        if not 0.0 < self.temporary_exponent <= 1.0:
            raise ValueError(f"temporary_exponent must be in (0, 1], got {self.temporary_exponent}")

    def temporary_cost_bps(self, quantity: float, daily_volume: float, sigma_daily: float, horizon_s: float) -> float:
        """Rate-dependent temporary cost in bps for a constant-rate execution over ``horizon_s``."""
        participation = participation_rate(quantity, daily_volume, horizon_s)
        return float(self.temporary_coeff * sigma_daily * participation**self.temporary_exponent * 1e4)

    def permanent_cost_bps(self, quantity: float, daily_volume: float, sigma_daily: float) -> float:
        """Half the permanent price move, in bps (horizon-independent)."""
        return 0.5 * self.permanent_coeff * sigma_daily * abs(quantity) / daily_volume * 1e4

    def expected_cost_bps(self, quantity: float, daily_volume: float, sigma_daily: float, horizon_s: float) -> float:
        """``E_bps(T)``: fixed + permanent + temporary."""
        return (
            self.fixed_cost_bps
            + self.permanent_cost_bps(quantity, daily_volume, sigma_daily)
            + self.temporary_cost_bps(quantity, daily_volume, sigma_daily, horizon_s)
        )


@dataclass(frozen=True, slots=True)
class HorizonRow:
    """One candidate horizon: cost and risk in bps of notional, participation as a fraction."""

    horizon_s: float
    expected_cost_bps: float
    cost_std_bps: float
    objective_bps: float
    participation: float


@dataclass(frozen=True, slots=True)
class HorizonAdvice:
    """All candidates, the recommended one (lowest objective; ties go to the shorter), and the
    continuous optimum ``T*`` (``inf`` when ``lambda_bps = 0``: without risk aversion slower is
    always cheaper)."""

    rows: tuple[HorizonRow, ...]
    recommended_horizon_s: float
    unconstrained_optimum_s: float
    risk_aversion_per_bps: float


def advise_horizon(
    quantity: float,
    daily_volume: float,
    sigma_daily: float,
    risk_aversion_per_bps: float,
    model: HorizonImpactModel | None = None,
    horizons_s: Sequence[float] = DEFAULT_HORIZONS_S,
) -> HorizonAdvice:
    """Evaluate every candidate horizon and recommend the one minimizing ``E + lambda_bps V``.

    ``risk_aversion_per_bps`` is ``lambda X S_0 1e-4`` (see
    :func:`core.analytics.almgren_chriss.risk_aversion_per_bps`).
    """
    model = model if model is not None else HorizonImpactModel()
    if not (math.isfinite(quantity) and quantity > 0.0):
        raise ValueError(f"quantity must be positive, got {quantity}")
    if not (math.isfinite(daily_volume) and daily_volume > 0.0):
        raise ValueError(f"daily volume must be positive, got {daily_volume}")
    if not (math.isfinite(sigma_daily) and sigma_daily >= 0.0):
        raise ValueError(f"daily sigma must be >= 0, got {sigma_daily}")
    if not (math.isfinite(risk_aversion_per_bps) and risk_aversion_per_bps >= 0.0):
        raise ValueError(f"risk aversion must be finite and >= 0, got {risk_aversion_per_bps}")
    if not horizons_s or any(not (math.isfinite(h) and h > 0.0) for h in horizons_s):
        raise ValueError(f"candidate horizons must be positive seconds, got {list(horizons_s)}")
    rows = []
    for horizon in sorted(horizons_s):
        expected = model.expected_cost_bps(quantity, daily_volume, sigma_daily, horizon)
        std = sigma_daily * math.sqrt(horizon / SECONDS_PER_DAY / 3.0) * 1e4
        rows.append(
            HorizonRow(
                horizon_s=horizon,
                expected_cost_bps=expected,
                cost_std_bps=std,
                objective_bps=expected + risk_aversion_per_bps * std * std,
                participation=participation_rate(quantity, daily_volume, horizon),
            )
        )
    best = min(rows, key=lambda row: row.objective_bps)
    return HorizonAdvice(
        rows=tuple(rows),
        recommended_horizon_s=best.horizon_s,
        unconstrained_optimum_s=_continuous_optimum_s(
            model, quantity, daily_volume, sigma_daily, risk_aversion_per_bps
        ),
        risk_aversion_per_bps=risk_aversion_per_bps,
    )


def participation_rate(quantity: float, daily_volume: float, horizon_s: float) -> float:
    """``Q / (V_daily T_days)``: share of market volume taken at a constant rate."""
    return abs(quantity) / (daily_volume * horizon_s / SECONDS_PER_DAY)


def _continuous_optimum_s(
    model: HorizonImpactModel, quantity: float, daily_volume: float, sigma_daily: float, lam_bps: float
) -> float:
    beta = model.temporary_exponent
    if lam_bps == 0.0 or sigma_daily == 0.0:
        return math.inf
    if model.temporary_coeff == 0.0:
        return 0.0
    numerator = 3.0 * beta * model.temporary_coeff * (abs(quantity) / daily_volume) ** beta
    days = (numerator / (lam_bps * sigma_daily * 1e4)) ** (1.0 / (1.0 + beta))
    return float(days * SECONDS_PER_DAY)
