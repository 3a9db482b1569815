"""Quote evaluation: is this OTC price better than doing the same quantity on exchange?

A quote for q at price P replaces the *last* q of the R still to do on exchange, which costs
more than q alone (impact is convex in size). With C(R) the modelled exchange cost of R over the
remaining horizon (Almgren–Chriss with the parent's calibrated η, γ, ε and its risk aversion λ),
ΔV the cost variance it removes and m the mid:

    better_than_exchange_bps = 10⁴·[C(R) − C(R − q) + λ·ΔV] / (q·m)
                               − 10⁴·side·(P − m)/m − fees_bps − p_LL × adverse_move_bps

positive = OTC is better. The same evaluation and accept rule serve every algo.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.analytics.almgren_chriss import optimal_trajectory
from core.analytics.impact import AlmgrenChrissParams


@dataclass(frozen=True, slots=True)
class QuoteEvaluation:
    better_than_exchange_bps: float
    better_than_exchange_usd: float
    exchange_cost_bps: float  # marginal exchange cost of the quantity, risk included
    quote_cost_bps: float  # side·(P − m)/m in bps
    recommendation: str  # "accept" / "reject"
    reason: str


def _cost_and_variance(
    params: AlmgrenChrissParams, qty: float, time_left_s: float, period_s: float, risk_aversion: float
) -> tuple[float, float]:
    if qty <= 0:
        return 0.0, 0.0
    n = max(1, round(time_left_s / period_s))
    plan = optimal_trajectory(params, qty, max(time_left_s, period_s), n, risk_aversion)
    return plan.expected_cost, plan.variance


def evaluate_quote(
    *,
    side: int,
    quote_qty: float,
    quote_price: float,
    mid: float,
    remaining_qty: float,
    time_left_s: float,
    params: AlmgrenChrissParams,
    risk_aversion: float,
    period_s: float = 60.0,
    fees_bps: float = 0.0,
    last_look_reject_rate: float = 0.0,
    adverse_move_bps: float = 0.0,
    accept_threshold_bps: float = 0.0,
) -> QuoteEvaluation:
    """Evaluate a quote as in the module docstring; `accept_threshold_bps` is the policy's k."""
    q = min(quote_qty, remaining_qty) if remaining_qty > 0 else quote_qty
    r = max(remaining_qty, q)
    c_r, v_r = _cost_and_variance(params, r, time_left_s, period_s, risk_aversion)
    c_rest, v_rest = _cost_and_variance(params, r - q, time_left_s, period_s, risk_aversion)
    exchange_bps = 1e4 * ((c_r - c_rest) + risk_aversion * (v_r - v_rest)) / (q * mid)
    quote_bps = 1e4 * side * (quote_price - mid) / mid
    better = exchange_bps - quote_bps - fees_bps - last_look_reject_rate * adverse_move_bps
    usd = better * 1e-4 * q * mid
    if better >= accept_threshold_bps:
        rec, why = "accept", f"better than exchange by {better:.1f} bps (${usd:,.0f}) on {q:g}"
    else:
        rec, why = (
            "reject",
            f"worse than exchange by {-better:.1f} bps (${-usd:,.0f}) on {q:g}"
            if better < 0
            else (f"only {better:.1f} bps better, below the {accept_threshold_bps:g} bps threshold"),
        )
    return QuoteEvaluation(better, usd, exchange_bps, quote_bps, rec, why)
