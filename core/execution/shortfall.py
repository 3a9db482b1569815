"""Implementation shortfall — one definition everywhere, in bps of the notional at arrival.

    IS = 10⁴ / (X·m₀) × [ Σᵢ side·(pᵢ − m₀)·qᵢ + Σ fees + side·(m_T − m₀)·R + C_liq(R) ]

over all fills (exchange and OTC): X the parent quantity, m₀ the consolidated mid at start, m_T
at the end, R the unfilled quantity and C_liq(R) the cost of walking the consolidated book with R
at the end, so leaving quantity unfilled is never free. side = +1 buy, −1 sell; positive = cost.
(Perold 1988, "The implementation shortfall: paper versus reality", with the unfilled part
charged at the end-of-horizon book.)

The adjusted figure subtracts the market's own move along our holdings,
Σₖ side·xₖ·ΔFₖ with xₖ the quantity still to trade and ΔFₖ the exogenous fundamental's change
over step k — the same cost with most of the price noise removed (simulator only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class ShortfallBreakdown:
    total_bps: float
    execution_bps: float  # Σ side·(p − m₀)·q of what was filled
    fees_bps: float
    opportunity_bps: float  # side·(m_T − m₀)·R + C_liq(R)
    filled_qty: float
    avg_price: float


def implementation_shortfall_bps(
    side: int,
    quantity: float,
    arrival_mid: float,
    fill_prices: Sequence[float] | npt.NDArray[np.float64],
    fill_qtys: Sequence[float] | npt.NDArray[np.float64],
    fees_quote: float,
    end_mid: float,
    unfilled_liquidation_cost: float,
) -> ShortfallBreakdown:
    """IS as defined above. `unfilled_liquidation_cost` is C_liq(R) in quote currency (≥ 0)."""
    if quantity <= 0 or arrival_mid <= 0:
        raise ValueError("shortfall needs a positive parent quantity and arrival mid")
    p = np.asarray(fill_prices, dtype=np.float64)
    q = np.asarray(fill_qtys, dtype=np.float64)
    filled = float(q.sum())
    unfilled = max(quantity - filled, 0.0)
    scale = 1e4 / (quantity * arrival_mid)
    execution = float(side * np.dot(p - arrival_mid, q)) * scale
    fees = fees_quote * scale
    opportunity = (side * (end_mid - arrival_mid) * unfilled + unfilled_liquidation_cost) * scale
    avg = float(np.dot(p, q) / filled) if filled > 0 else float("nan")
    return ShortfallBreakdown(execution + fees + opportunity, execution, fees, opportunity, filled, avg)


def market_move_bps(
    side: int,
    quantity: float,
    arrival_mid: float,
    holdings: npt.NDArray[np.float64],
    fundamental: npt.NDArray[np.float64],
) -> float:
    """Σₖ side·xₖ·ΔFₖ in bps of X·m₀: holdings xₖ (still to trade) at the start of each step and the
    fundamental sampled at the step boundaries (len(fundamental) == len(holdings) + 1)."""
    x = np.asarray(holdings, dtype=np.float64)
    f = np.asarray(fundamental, dtype=np.float64)
    if len(f) != len(x) + 1:
        raise ValueError("fundamental must have one more sample than holdings")
    # a seller still holding x loses x·|ΔF| when the price falls: side = −1 makes that a +cost
    return float(side * np.dot(x, np.diff(f))) * 1e4 / (quantity * arrival_mid)


def vwap_slippage_bps(side: int, avg_price: float, market_vwap: float) -> float:
    """Our average price against the market's VWAP over the same period; positive = worse."""
    return side * (avg_price - market_vwap) / market_vwap * 1e4
