"""Shared helpers for the simulator tests (small scenarios, paired runs, statistics)."""

from __future__ import annotations

import numpy as np

from adapters.sim.market import MarketSim
from adapters.sim.scenario import Scenario, load_scenario


def quiet(name: str = "calm", **overrides: str) -> Scenario:
    """A shipped scenario without its events (background flow only), with dotted overrides."""
    sc = load_scenario(name, {"scenario.warmup_s": "120", **overrides})
    return Scenario(sc.scenario, sc.fundamental, sc.market, sc.parent, sc.venues, sc.desks, ())


def consolidated_mid_path(sim: MarketSim) -> tuple[np.ndarray, np.ndarray]:
    """Depth-weighted mean of the venue mids on the 1 s grid."""
    w = np.array([v.latent.depth_1pct for v in sim.scenario.venues])
    t, _ = sim.eval_log.mid_path(0)
    mids = np.array([sim.eval_log.mid_path(v)[1] for v in range(len(sim.venues))])
    return t, (w[:, None] * mids).sum(axis=0) / w.sum()


def walk_cost_bps(sim: MarketSim, venue: int, qty: float) -> tuple[float, float]:
    """(cost in bps from mid of selling `qty` at once into the bids, bid depth within 1 % of mid)."""
    _, bp, bq, ap, _ = sim.snapshot(venue, 8192)
    mid = 0.5 * (bp[0] + ap[0])
    if qty <= 0.0:
        return 0.0, float(bq[bp >= 0.99 * mid].sum())
    cum = np.cumsum(bq)
    k = int(np.searchsorted(cum, qty))
    if k >= len(cum):
        return float("nan"), float(bq[bp >= 0.99 * mid].sum())
    take = bq[: k + 1].copy()
    take[-1] -= cum[k] - qty
    avg = float((take * bp[: k + 1]).sum() / qty)
    return (mid - avg) / mid * 1e4, float(bq[bp >= 0.99 * mid].sum())


def pooled_acf(series: list[np.ndarray], lag: int) -> float:
    num = 0.0
    den = 0.0
    for x in series:
        y = x - x.mean()
        num += float((y[:-lag] * y[lag:]).sum())
        den += float((y * y).sum())
    return num / den
