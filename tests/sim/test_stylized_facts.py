"""Stylized facts of real markets (Cont 2007) on `calm` and `volatile`: 24 pooled simulated
hours of 1-minute venue-mid returns per scenario."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kurtosis

from adapters.sim.market import MarketSim
from tests.sim.simkit import pooled_acf, quiet

pytestmark = pytest.mark.slow


def one_minute_returns(name: str, seeds: tuple[int, ...] = (1, 2, 3), hours: float = 8.0) -> list[np.ndarray]:
    sc = quiet(name, **{"scenario.duration_s": str(hours * 3600.0)})
    out = []
    for seed in seeds:
        sim = MarketSim(sc, seed=seed, market_data=False)
        sim.advance_to(hours * 3600.0)
        for v in range(len(sim.venues)):
            _, mid = sim.eval_log.mid_path(v)
            out.append(np.diff(np.log(mid[::60])))
    return out


# measured 2026-11-25: calm  kurtosis 9.35, rho1 -0.023, acf|r| lag1 0.322, lag20 0.159;
#                      volatile kurtosis 9.41, rho1 0.050, acf|r| lag1 0.243, lag20 0.064 (ratio 0.26: tight)
@pytest.mark.parametrize("name", ["calm", "volatile"])
def test_stylized_facts(name):
    rets = one_minute_returns(name)
    assert sum(len(r) for r in rets) // len(rets[0]) * len(rets[0]) >= 3 * 3 * 479  # 24 h per venue
    excess_kurtosis = float(kurtosis(np.concatenate([r / r.std() for r in rets])))
    rho1 = pooled_acf(rets, 1)
    acf_abs = [pooled_acf([np.abs(r) for r in rets], k) for k in range(1, 21)]
    print(f"{name}: excess kurtosis {excess_kurtosis:.2f}, rho1 {rho1:.3f}, acf|r| lag1 {acf_abs[0]:.3f} "
          f"lag5 {acf_abs[4]:.3f} lag10 {acf_abs[9]:.3f} lag20 {acf_abs[19]:.3f}")
    assert excess_kurtosis > 1.0  # heavy tails
    assert abs(rho1) < 0.1  # no linear autocorrelation
    assert min(acf_abs) > 0.0  # volatility clustering over lags 1-20 ...
    assert acf_abs[19] >= 0.25 * acf_abs[0]  # ... decaying slowly
