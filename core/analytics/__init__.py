"""Pre-trade analytics on plain arrays: book snapshot, instant cost, impact models,
Almgren-Chriss schedules, Monte Carlo cost distribution, horizon advisor, pre-trade report.

Pure numpy/numba; no I/O, no clock, no Qt. Every model's docstring cites its source.

The names below load their module on first use (PEP 562), so importing one model (say the
Almgren-Chriss schedule an algo needs) does not import numba for the Monte Carlo kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_MODULE_OF = {
    "AlmgrenChrissParams": "core.analytics.impact",
    "BookSnapshot": "core.analytics.snapshot",
    "CostDistribution": "core.analytics.montecarlo",
    "ExecutionPlan": "core.analytics.almgren_chriss",
    "HorizonImpactModel": "core.analytics.horizon",
    "PreTradeReport": "core.analytics.pretrade",
    "PreTradeSettings": "core.analytics.pretrade",
    "SquareRootImpact": "core.analytics.impact",
    "TransientImpactModel": "core.analytics.impact",
    "Urgency": "core.analytics.almgren_chriss",
    "VenueBook": "core.analytics.instant_cost",
    "advise_horizon": "core.analytics.horizon",
    "book_snapshot": "core.analytics.snapshot",
    "build_pretrade_report": "core.analytics.pretrade",
    "consolidated_instant_cost": "core.analytics.instant_cost",
    "consolidated_snapshot": "core.analytics.snapshot",
    "efficient_frontier": "core.analytics.almgren_chriss",
    "optimal_trajectory": "core.analytics.almgren_chriss",
    "reoptimize": "core.analytics.almgren_chriss",
    "simulate_ac_costs": "core.analytics.montecarlo",
    "simulate_transient_costs": "core.analytics.montecarlo",
    "venue_instant_cost": "core.analytics.instant_cost",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'core.analytics' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
