"""Pre-trade analytics on plain arrays: book snapshot, instant cost, impact models,
Almgren-Chriss schedules, Monte Carlo cost distribution, horizon advisor, pre-trade report.

Pure numpy/numba; no I/O, no clock, no Qt. Every model's docstring cites its source.
"""

from core.analytics.almgren_chriss import (
    ExecutionPlan,
    Urgency,
    efficient_frontier,
    optimal_trajectory,
    reoptimize,
)
from core.analytics.horizon import HorizonImpactModel, advise_horizon
from core.analytics.impact import AlmgrenChrissParams, SquareRootImpact, TransientImpactModel
from core.analytics.instant_cost import VenueBook, consolidated_instant_cost, venue_instant_cost
from core.analytics.montecarlo import CostDistribution, simulate_ac_costs, simulate_transient_costs
from core.analytics.pretrade import PreTradeReport, PreTradeSettings, build_pretrade_report
from core.analytics.snapshot import BookSnapshot, book_snapshot, consolidated_snapshot

__all__ = [
    "AlmgrenChrissParams",
    "BookSnapshot",
    "CostDistribution",
    "ExecutionPlan",
    "HorizonImpactModel",
    "PreTradeReport",
    "PreTradeSettings",
    "SquareRootImpact",
    "TransientImpactModel",
    "Urgency",
    "VenueBook",
    "advise_horizon",
    "book_snapshot",
    "build_pretrade_report",
    "consolidated_instant_cost",
    "consolidated_snapshot",
    "efficient_frontier",
    "optimal_trajectory",
    "reoptimize",
    "simulate_ac_costs",
    "simulate_transient_costs",
    "venue_instant_cost",
]
