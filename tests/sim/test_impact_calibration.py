"""Square-root impact emerging from the book, and the btc-block-4h calibration targets.

Targets and sources: docs/simulator.md ("Calibration")."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from adapters.sim.market import MarketSim
from tests.sim.simkit import consolidated_mid_path, quiet, walk_cost_bps

pytestmark = pytest.mark.slow

START_S = 300.0


def twap_impact_path(sc, seed: int, qty: float, horizon_s: float, after_s: float, child_s: float = 10.0):
    """Sell `qty` by a plain TWAP (market orders every child_s, split by venue depth) and return
    (t, impact bps vs the same seed without the metaorder, paired cost bps of our fills)."""
    depth = np.array([v.latent.depth_1pct for v in sc.venues])
    share = depth / depth.sum()
    n = int(horizon_s / child_s)
    paths = []
    fills: list[tuple[float, float, float]] = []
    for q in (0.0, qty):
        sim = MarketSim(sc, seed=seed, market_data=False)
        oid = 0
        for k in range(n):
            t = START_S + k * child_s
            sim.advance_to(t)
            if q == 0.0:
                continue
            for v in range(len(sc.venues)):
                oid += 1
                for e in sim.submit(v, oid, -1, None, round(q * share[v] / n, 4)):
                    if e.kind == "fill":
                        fills.append((t, e.price, e.qty))
        sim.advance_to(START_S + horizon_s + after_s)
        paths.append(consolidated_mid_path(sim))
    t, base = paths[0]
    _, hit = paths[1]
    f = np.array(fills)
    ref = np.interp(f[:, 0], t, base)
    cost = float(((ref - f[:, 1]) * f[:, 2]).sum() / (ref * f[:, 2]).sum() * 1e4)
    return t, (base - hit) / base * 1e4, cost


def peak_impacts(sc, sizes, seeds, horizon_s=1800.0):
    peaks = []
    for q in sizes:
        mean_path = None
        for seed in seeds:
            t, imp, _ = twap_impact_path(sc, seed, q, horizon_s, after_s=60.0)
            mean_path = imp if mean_path is None else mean_path + imp
        mean_path /= len(seeds)
        smooth = np.convolve(mean_path, np.ones(60) / 60.0, mode="same")
        window = (t >= START_S) & (t <= START_S + horizon_s)
        peaks.append(float(smooth[window].max()))
    return np.array(peaks)


@pytest.mark.parametrize("regimes", [
    "true",  # measured 2026-11-26 (10 seeds): 5.8 / 15.5 / 32.4 / 61.1 bps, delta 0.67
    "false",  # measured: 6.0 / 16.0 / 31.4 / 61.3 bps, delta 0.66 (from the book, not the regimes)
])
def test_square_root_impact(regimes):
    sc = quiet("calm", **{"fundamental.regimes": regimes, "scenario.duration_s": "2400"})
    sizes = np.array([30.0, 100.0, 300.0, 1000.0])  # 1.5 decades, 30 min TWAPs
    peaks = peak_impacts(sc, sizes, seeds=range(10))
    delta = float(np.polyfit(np.log(sizes), np.log(peaks), 1)[0])
    print(f"regimes={regimes}: peak impact bps {np.round(peaks, 1)}, delta {delta:.2f}")
    assert np.all(np.diff(peaks) > 0)
    assert 0.4 <= delta <= 0.7


def test_btc_block_4h_book_calibration_across_10_seeds():
    sc = quiet("btc-block-4h", **{"scenario.warmup_s": "600"})
    costs, depths, spreads, others = [], [], [], []
    for seed in range(10):
        sim = MarketSim(sc, seed=seed, market_data=False)
        for t in (0.0, 1200.0, 2400.0, 3600.0):
            sim.advance_to(t)
            c, d = walk_cost_bps(sim, 0, 1000.0)
            costs.append(c)
            depths.append(d)
            others.append([walk_cost_bps(sim, v, 0.0)[1] for v in (1, 2)])
        for t in np.arange(3601.0, 4800.0, 10.0):
            sim.advance_to(float(t))
            b, a = sim.best(0)
            spreads.append((a - b) / (0.5 * (a + b)) * 1e4)
    print(f"1,000 BTC walk on the deepest venue: {np.mean(costs):.1f} bps (range {np.min(costs):.1f}-"
          f"{np.max(costs):.1f}); depth within 1 %: {np.mean(depths):.0f} BTC; spread {np.mean(spreads):.2f} bps; "
          f"other venues' depth {np.mean(others, axis=0).round(0)}")
    assert 60.0 <= np.mean(costs) <= 90.0
    assert 560.0 <= np.mean(depths) <= 830.0
    assert 0.5 <= np.mean(spreads) <= 2.0
    assert np.all(np.mean(others, axis=0) < 0.6 * np.mean(depths))


@functools.cache
def _twap_4h_10_seeds() -> tuple[list[float], float, float]:
    sc = quiet("btc-block-4h", **{"scenario.duration_s": "18000"})
    costs, perm = [], []
    for seed in range(10):
        t, imp, cost = twap_impact_path(sc, seed, 1000.0, 14_400.0, after_s=3600.0, child_s=10.0)
        costs.append(cost)
        end = (t >= START_S + 14_100.0) & (t <= START_S + 14_400.0)
        later = (t >= START_S + 14_400.0 + 3300.0) & (t <= START_S + 14_400.0 + 3600.0)
        perm.append((imp[end].mean(), imp[later].mean()))
    peak, after = np.mean(perm, axis=0)
    print(f"TWAP 1,000 BTC over 4 h, 3 venues: paired cost {np.mean(costs):.1f} bps (per seed "
          f"{np.round(costs, 1)}); impact at the end {peak:.1f} bps, one hour later {after:.1f} bps "
          f"(permanent share {after / peak:.2f})")
    return costs, float(peak), float(after)


# measured: see docs/simulator.md ("Measured by the tests")
def test_btc_block_4h_twap_cost_across_10_seeds():
    costs, _, _ = _twap_4h_10_seeds()
    assert 25.0 <= np.mean(costs) <= 45.0


def test_btc_block_4h_twap_permanent_share_about_two_thirds():
    _, peak, after = _twap_4h_10_seeds()
    assert peak > 0.0
    assert 0.45 <= after / peak <= 0.9
