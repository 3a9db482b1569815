"""Pre-trade report: everything the trader reads before starting a block, from plain arrays.

Inputs: each venue's L2 arrays and taker fee (:class:`VenueBook`), the market's daily volume
(base units) and daily return volatility (fraction), and the ticket: side, quantity, horizon,
urgency. Output: :class:`PreTradeReport`, whose :meth:`PreTradeReport.to_dict` is the
JSON-able shape documented in ``docs/pretrade.md`` (``schema_version`` 1).

How the models are tied together (all in one time unit, days, inside the AC model):

1. Instant cost: walk each venue alone and the fee-adjusted consolidated book
   (:mod:`core.analytics.instant_cost`).
2. Fixed cost per unit ``epsilon_bps`` = half the consolidated spread + the taker fee
   averaged over venues, weighted by their depth within 1 % on the side we take.
3. Horizon cost model (:mod:`core.analytics.horizon`): rate-dependent square-root temporary
   cost + half the permanent move + ``epsilon_bps``.
4. Almgren-Chriss parameters calibrated to that model at the schedule's horizon ``T`` so a
   linear schedule costs exactly what the horizon model says::

       sigma_AC = sigma_daily S_0                        ($/unit/day^(1/2))
       gamma    = 2 S_0 1e-4 permanent_bps / X           (1/2 gamma X^2 = permanent cost)
       eta~     = S_0 1e-4 temporary_bps(T) T / X        (eta~ X^2 / T = temporary cost)
       eta      = eta~ + gamma tau / 2,  epsilon = S_0 1e-4 epsilon_bps

   The square-root cost is concave in size while AC's is quadratic, so the match holds at
   ``(X, T)`` only: re-calibrate for another block or horizon.
5. Urgency -> ``kappa T`` (0.5 / 2 / 5) -> ``lambda`` at the requested horizon; the same
   ``lambda`` (as ``lambda_bps = lambda X S_0 1e-4``) ranks the candidate horizons.
6. The AC schedule over the requested (or recommended) horizon, its closed-form E and V, a
   seeded Monte Carlo of its cost under the AC dynamics (percentiles), and the frontier.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.analytics.almgren_chriss import (
    EfficientFrontier,
    ExecutionPlan,
    Urgency,
    efficient_frontier,
    optimal_trajectory,
    risk_aversion_for_urgency,
    risk_aversion_per_bps,
)
from core.analytics.horizon import DEFAULT_HORIZONS_S, HorizonAdvice, HorizonImpactModel, advise_horizon
from core.analytics.impact import AlmgrenChrissParams
from core.analytics.instant_cost import (
    ConsolidatedCost,
    InstantCost,
    VenueBook,
    consolidated_instant_cost,
    venue_instant_cost,
)
from core.analytics.montecarlo import CostDistribution, simulate_ac_costs
from core.analytics.snapshot import BookSnapshot, book_snapshot, consolidated_snapshot

SCHEMA_VERSION = 1
SECONDS_PER_DAY: float = 86_400.0

#: Band (percent of mid) that decides the "deepest" venue and weights the fee average.
DEEPEST_BAND_PCT: float = 1.0


@dataclass(frozen=True, slots=True)
class PreTradeSettings:
    """Knobs of the report, each with its default (settings may override them).

    Attributes:
        n_periods: AC periods over the schedule's horizon (48: 5-minute slices of 4 h).
        horizons_s: candidate horizons for the advisor.
        horizon_model: cost model of the advisor and of the AC calibration.
        mc_paths: Monte Carlo paths for the cost percentiles.
        seed: Monte Carlo seed (same seed, same report).
        cost_limit_bps: if set, the report gives P(cost > limit).
        schedule_for: ``"requested"`` (the ticket's horizon) or ``"recommended"``.
        frontier_points: points of the efficient frontier (log-spaced lambda from 1/100 to
            100 times the urgency's lambda).
    """

    n_periods: int = 48
    horizons_s: tuple[float, ...] = DEFAULT_HORIZONS_S
    horizon_model: HorizonImpactModel = dataclasses.field(default_factory=HorizonImpactModel)
    mc_paths: int = 20_000
    seed: int = 0
    cost_limit_bps: float | None = None
    schedule_for: str = "requested"
    frontier_points: int = 21


@dataclass(frozen=True, slots=True)
class PreTradeReport:
    """The pre-trade analysis of one block (costs in bps of ``quantity * mid``, positive =
    cost; ``kappa`` in 1/day; ``risk_aversion`` in 1/$). See ``docs/pretrade.md``."""

    side: int
    quantity: float
    horizon_s: float
    urgency: Urgency
    mid: float
    daily_volume: float
    sigma_daily: float
    fixed_cost_bps: float
    venue_names: tuple[str, ...]
    venue_snapshots: tuple[BookSnapshot, ...]
    venue_costs: tuple[InstantCost, ...]
    consolidated_book: BookSnapshot
    consolidated: ConsolidatedCost
    deepest_venue: str
    instant_cost_bps_deepest: float
    instant_cost_bps_consolidated: float
    horizons: HorizonAdvice
    schedule_horizon_s: float
    ac_params: AlmgrenChrissParams
    plan: ExecutionPlan
    risk_aversion: float
    risk_aversion_bps: float
    distribution: CostDistribution
    frontier: EfficientFrontier

    @property
    def recommended_horizon_s(self) -> float:
        return self.horizons.recommended_horizon_s

    @property
    def expected_cost_bps(self) -> float:
        return self.plan.expected_cost_bps(self.mid)

    @property
    def cost_std_bps(self) -> float:
        return self.plan.std_bps(self.mid)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (NaN and infinities become ``None``); shape in ``docs/pretrade.md``."""
        notional_bps = self.quantity * self.mid * 1e-4
        venues: dict[str, Any] = {}
        for name, snap, cost in zip(self.venue_names, self.venue_snapshots, self.venue_costs, strict=True):
            venues[name] = {
                **_snapshot_dict(snap),
                "taker_fee_bps": cost.taker_fee_bps,
                "instant_cost_bps": cost.cost_bps,
                "instant_avg_price": cost.avg_price,
                "instant_levels_consumed": cost.levels_consumed,
                "filled_qty": cost.filled_qty,
                "unfilled_qty": cost.unfilled_qty,
            }
        allocation = {
            a.venue: {"qty": a.filled_qty, "avg_price": a.avg_price, "notional": a.notional, "fee": a.fee_paid}
            for a in self.consolidated.allocations
        }
        frontier = [
            {
                "risk_aversion": float(lam),
                "risk_aversion_per_bps": risk_aversion_per_bps(float(lam), self.quantity, self.mid),
                "kappa": float(kappa),
                "expected_cost_bps": float(e) / notional_bps,
                "cost_std_bps": math.sqrt(float(v)) / notional_bps,
            }
            for lam, kappa, e, v in zip(
                self.frontier.risk_aversion,
                self.frontier.kappa,
                self.frontier.expected_cost,
                self.frontier.variance,
                strict=True,
            )
        ]
        plan = self.plan
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "side": "buy" if self.side > 0 else "sell",
            "quantity": self.quantity,
            "horizon_s": self.horizon_s,
            "urgency": self.urgency.value,
            "mid": self.mid,
            "notional": self.quantity * self.mid,
            "daily_volume": self.daily_volume,
            "sigma_daily": self.sigma_daily,
            "fixed_cost_bps": self.fixed_cost_bps,
            "instant_cost_bps_deepest": self.instant_cost_bps_deepest,
            "deepest_venue": self.deepest_venue,
            "instant_cost_bps_consolidated": self.instant_cost_bps_consolidated,
            "instant_unfilled_qty_consolidated": self.consolidated.total.unfilled_qty,
            "consolidated": {
                **_snapshot_dict(self.consolidated_book),
                "instant_avg_price": self.consolidated.total.avg_price,
                "instant_levels_consumed": self.consolidated.total.levels_consumed,
                "allocation": allocation,
            },
            "venues": venues,
            "horizons": [dataclasses.asdict(row) for row in self.horizons.rows],
            "recommended_horizon_s": self.horizons.recommended_horizon_s,
            "unconstrained_optimal_horizon_s": self.horizons.unconstrained_optimum_s,
            "schedule": {
                "horizon_s": self.schedule_horizon_s,
                "n_periods": plan.n_periods,
                "period_s": self.schedule_horizon_s / plan.n_periods,
                "times_s": [float(t) * SECONDS_PER_DAY for t in plan.times],
                "holdings": plan.trajectory.tolist(),
                "trade_list": plan.trade_list.tolist(),
            },
            "expected_cost_bps": self.expected_cost_bps,
            "cost_std_bps": self.cost_std_bps,
            "cost_p05_bps": self.distribution.p05_bps,
            "cost_p50_bps": self.distribution.p50_bps,
            "cost_p95_bps": self.distribution.p95_bps,
            "mc_mean_bps": self.distribution.mean_bps,
            "mc_std_bps": self.distribution.std_bps,
            "mc_paths": self.distribution.n_paths,
            "mc_seed": self.distribution.seed,
            "cost_limit_bps": self.distribution.limit_bps,
            "prob_cost_exceeds_limit": self.distribution.prob_exceed_limit,
            "risk_aversion": self.risk_aversion,
            "risk_aversion_per_bps": self.risk_aversion_bps,
            "kappa": plan.kappa,
            "kappa_horizon": plan.kappa * plan.horizon,
            "ac_params": {
                "sigma": self.ac_params.sigma,
                "eta": self.ac_params.eta,
                "gamma": self.ac_params.gamma,
                "epsilon": self.ac_params.epsilon,
                "time_unit": "day",
            },
            "frontier": frontier,
        }
        cleaned: dict[str, Any] = _json_clean(data)
        return cleaned


def build_pretrade_report(
    venues: Sequence[VenueBook],
    side: int,
    quantity: float,
    horizon_s: float,
    urgency: Urgency | str,
    daily_volume: float,
    sigma_daily: float,
    settings: PreTradeSettings | None = None,
) -> PreTradeReport:
    """Build the pre-trade report (see the module docstring for the chain of models).

    ``side`` +1 buy / -1 sell; ``quantity`` in base units; ``horizon_s`` the requested
    horizon in seconds; ``urgency`` "low" / "medium" / "high"; ``daily_volume`` in base units
    per day (all venues); ``sigma_daily`` daily return volatility as a fraction.
    """
    settings = settings if settings is not None else PreTradeSettings()
    if isinstance(urgency, str):
        try:
            urgency = Urgency(urgency.lower())
        except ValueError:
            choices = ", ".join(u.value for u in Urgency)
            raise ValueError(f"urgency must be one of {choices}, got {urgency!r}") from None
    quantity, horizon_s = float(quantity), float(horizon_s)
    daily_volume, sigma_daily = float(daily_volume), float(sigma_daily)
    _check_ticket(venues, side, quantity, horizon_s, daily_volume, sigma_daily, settings)

    snapshots = tuple(book_snapshot(v.bid_px, v.bid_qty, v.ask_px, v.ask_qty) for v in venues)
    costs = tuple(venue_instant_cost(v, quantity, side) for v in venues)
    consolidated_book = consolidated_snapshot([(v.bid_px, v.bid_qty, v.ask_px, v.ask_qty) for v in venues])
    consolidated = consolidated_instant_cost(venues, quantity, side)
    depths = [snap.depth_qty(DEEPEST_BAND_PCT, side) for snap in snapshots]
    deepest = int(np.argmax(depths))
    mid = consolidated_book.mid

    total_depth = float(sum(depths))
    fee_bps = (
        sum(d * v.taker_fee_bps for d, v in zip(depths, venues, strict=True)) / total_depth
        if total_depth > 0.0
        else float(np.mean([v.taker_fee_bps for v in venues]))
    )
    fixed_cost_bps = 0.5 * max(consolidated_book.spread_bps, 0.0) + fee_bps
    model = dataclasses.replace(settings.horizon_model, fixed_cost_bps=fixed_cost_bps)

    n_periods = settings.n_periods
    params_req = calibrate_ac_params(model, quantity, mid, daily_volume, sigma_daily, horizon_s, n_periods)
    horizon_days = horizon_s / SECONDS_PER_DAY
    lam = risk_aversion_for_urgency(urgency, params_req, horizon_days, n_periods)
    lam_bps = risk_aversion_per_bps(lam, quantity, mid)
    advice = advise_horizon(quantity, daily_volume, sigma_daily, lam_bps, model, settings.horizons_s)

    if settings.schedule_for == "recommended":
        schedule_horizon_s = advice.recommended_horizon_s
        params = calibrate_ac_params(model, quantity, mid, daily_volume, sigma_daily, schedule_horizon_s, n_periods)
    else:
        schedule_horizon_s = horizon_s
        params = params_req
    schedule_days = schedule_horizon_s / SECONDS_PER_DAY
    plan = optimal_trajectory(params, quantity, schedule_days, n_periods, lam)
    distribution = simulate_ac_costs(
        params,
        plan.trajectory,
        schedule_days,
        mid,
        settings.mc_paths,
        settings.seed,
        side=side,
        limit_bps=settings.cost_limit_bps,
    )
    grid = lam * np.logspace(-2.0, 2.0, settings.frontier_points) if lam > 0.0 else np.zeros(1)
    frontier = efficient_frontier(params, quantity, schedule_days, n_periods, grid)

    return PreTradeReport(
        side=side,
        quantity=quantity,
        horizon_s=horizon_s,
        urgency=urgency,
        mid=mid,
        daily_volume=daily_volume,
        sigma_daily=sigma_daily,
        fixed_cost_bps=fixed_cost_bps,
        venue_names=tuple(v.name for v in venues),
        venue_snapshots=snapshots,
        venue_costs=costs,
        consolidated_book=consolidated_book,
        consolidated=consolidated,
        deepest_venue=venues[deepest].name,
        instant_cost_bps_deepest=costs[deepest].cost_bps,
        instant_cost_bps_consolidated=consolidated.total.cost_bps,
        horizons=advice,
        schedule_horizon_s=schedule_horizon_s,
        ac_params=params,
        plan=plan,
        risk_aversion=lam,
        risk_aversion_bps=lam_bps,
        distribution=distribution,
        frontier=frontier,
    )


def calibrate_ac_params(
    model: HorizonImpactModel,
    quantity: float,
    price: float,
    daily_volume: float,
    sigma_daily: float,
    horizon_s: float,
    n_periods: int,
) -> AlmgrenChrissParams:
    """AC parameters (days, $) whose linear schedule of ``quantity`` over ``horizon_s`` costs
    what ``model`` predicts (formulas in the module docstring)."""
    horizon_days = horizon_s / SECONDS_PER_DAY
    tau = horizon_days / n_periods
    dollars_per_bps = price * 1e-4
    gamma = 2.0 * dollars_per_bps * model.permanent_cost_bps(quantity, daily_volume, sigma_daily) / quantity
    temporary_bps = model.temporary_cost_bps(quantity, daily_volume, sigma_daily, horizon_s)
    eta_tilde = dollars_per_bps * temporary_bps * horizon_days / quantity
    if not eta_tilde > 0.0:
        raise ValueError(
            "the horizon model predicts no temporary impact (temporary_coeff or sigma is 0), so the "
            "Almgren-Chriss problem has no solution; set a positive temporary_coeff and sigma"
        )
    return AlmgrenChrissParams(
        sigma=sigma_daily * price,
        eta=eta_tilde + 0.5 * gamma * tau,
        gamma=gamma,
        epsilon=dollars_per_bps * model.fixed_cost_bps,
    )


def _snapshot_dict(snap: BookSnapshot) -> dict[str, float]:
    out = {
        "mid": snap.mid,
        "spread_bps": snap.spread_bps,
        "best_bid": snap.best_bid,
        "best_ask": snap.best_ask,
        "bid_top_qty": snap.bid_top_qty,
        "ask_top_qty": snap.ask_top_qty,
    }
    for band, bid, ask in zip(snap.depth_bands_pct, snap.bid_depth_qty, snap.ask_depth_qty, strict=True):
        key = f"{round(band * 100)}bps"
        out[f"depth_bid_qty_{key}"] = bid
        out[f"depth_ask_qty_{key}"] = ask
    return out


def _json_clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _check_ticket(
    venues: Sequence[VenueBook],
    side: int,
    quantity: float,
    horizon_s: float,
    daily_volume: float,
    sigma_daily: float,
    settings: PreTradeSettings,
) -> None:
    if not venues:
        raise ValueError("the pre-trade report needs at least one venue book")
    if side not in (1, -1):
        raise ValueError(f"side must be +1 (buy) or -1 (sell), got {side}")
    if not (math.isfinite(quantity) and quantity > 0.0):
        raise ValueError(f"quantity must be positive, got {quantity}")
    if not (math.isfinite(horizon_s) and horizon_s > 0.0):
        raise ValueError(f"horizon must be positive seconds, got {horizon_s}")
    if not (math.isfinite(daily_volume) and daily_volume > 0.0):
        raise ValueError(f"daily volume must be positive, got {daily_volume}")
    if not (math.isfinite(sigma_daily) and sigma_daily > 0.0):
        raise ValueError(f"daily sigma must be positive, got {sigma_daily}")
    if settings.schedule_for not in ("requested", "recommended"):
        raise ValueError(f"schedule_for must be 'requested' or 'recommended', got {settings.schedule_for!r}")
    if settings.n_periods < 1:
        raise ValueError(f"n_periods must be >= 1, got {settings.n_periods}")
