"""Monte Carlo shortfall: agreement with closed forms, determinism, RNG sanity."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import stats

from core.analytics.almgren_chriss import linear_execution, optimal_trajectory
from core.analytics.impact import AlmgrenChrissParams, ExponentialKernel, TransientImpactModel
from core.analytics.montecarlo import (
    simulate_ac_costs,
    simulate_shortfall_paths,
    simulate_transient_costs,
    standard_normal_paths,
)

PAPER = AlmgrenChrissParams(sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625)
X, S0, T, N = 1e6, 50.0, 5.0, 5


@pytest.mark.parametrize(
    ("plan_name", "n_periods", "seed"),
    [("optimal", 5, 20240501), ("linear", 40, 7)],
)
def test_mean_and_variance_agree_with_closed_form_at_200k_paths(plan_name: str, n_periods: int, seed: int) -> None:
    if plan_name == "optimal":
        plan = optimal_trajectory(PAPER, X, T, n_periods, 1e-6)
    else:
        plan = linear_execution(PAPER, X, T, n_periods)
    n = 200_000
    dist = simulate_ac_costs(PAPER, plan.trajectory, T, S0, n, seed)
    std_hat = dist.std_usd
    assert abs(dist.mean_usd - plan.expected_cost) <= 4.0 * std_hat / math.sqrt(n)
    assert abs(std_hat**2 - plan.variance) <= 4.0 * plan.variance * math.sqrt(2.0 / n)
    # bps view is the $ view divided by the notional.
    assert dist.notional_usd == pytest.approx(X * S0)
    assert dist.mean_bps == pytest.approx(dist.mean_usd / (X * S0) * 1e4)
    np.testing.assert_allclose(dist.samples_bps, dist.samples_usd / (X * S0) * 1e4)


def test_kernel_equals_a_plain_numpy_simulation_with_the_same_normals() -> None:
    plan = optimal_trajectory(PAPER, X, T, N, 1e-6)
    tau = T / N
    trades = plan.trade_list
    offset = PAPER.epsilon * np.sign(trades) + PAPER.eta * trades / tau
    perm = PAPER.gamma * trades
    sigma_step = PAPER.sigma * math.sqrt(tau)
    for side in (-1, 1):
        kernel = simulate_shortfall_paths(trades, offset, perm, sigma_step, S0, side, 1000, 99)
        xi = standard_normal_paths(99, 1000, N)
        # Mid before child k: S0 plus the shocks and permanent moves of periods < k.
        moves = sigma_step * xi + side * perm[None, :]
        mid_before = S0 + np.concatenate((np.zeros((1000, 1)), np.cumsum(moves, axis=1)[:, :-1]), axis=1)
        paid = (mid_before + side * offset[None, :]) @ trades
        reference = side * (paid - X * S0)
        np.testing.assert_allclose(kernel, reference, rtol=1e-10, atol=1e-6)


def test_same_seed_is_bit_identical_whatever_the_thread_count() -> None:
    plan = optimal_trajectory(PAPER, X, T, 48, 1e-6)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simulate_ac_costs(PAPER, plan.trajectory, T, S0, 20_001, seed=5).samples_usd
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        many = simulate_ac_costs(PAPER, plan.trajectory, T, S0, 20_001, seed=5).samples_usd
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, many)
    other = simulate_ac_costs(PAPER, plan.trajectory, T, S0, 20_001, seed=6).samples_usd
    assert not np.array_equal(one, other)
    # A path's numbers depend on its index only: the first paths of a larger run are the same.
    longer = simulate_ac_costs(PAPER, plan.trajectory, T, S0, 30_000, seed=5).samples_usd
    assert np.array_equal(longer[:20_001], one)


def test_normals_look_standard_and_independent() -> None:
    z = standard_normal_paths(2024, 4000, 250)
    flat = z.ravel()
    assert abs(flat.mean()) < 4.0 / math.sqrt(flat.size)
    assert abs(flat.var() - 1.0) < 4.0 * math.sqrt(2.0 / flat.size)
    assert stats.kstest(flat[:200_000], "norm").pvalue > 1e-3
    lag1 = np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]
    across = np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1]  # neighbouring paths
    limit = 4.0 / math.sqrt(flat.size)
    assert abs(lag1) < limit
    assert abs(across) < limit
    assert np.array_equal(z, standard_normal_paths(2024, 4000, 250))


def test_percentiles_and_limit_probability_of_a_gaussian_cost() -> None:
    plan = optimal_trajectory(PAPER, X, T, N, 1e-6)
    e_bps = plan.expected_cost_bps(S0)
    s_bps = plan.std_bps(S0)
    dist = simulate_ac_costs(PAPER, plan.trajectory, T, S0, 100_000, seed=3, limit_bps=e_bps + s_bps)
    # Under the AC model the cost is Gaussian: quantiles are mean +- 1.645 std.
    assert dist.p50_bps == pytest.approx(e_bps, abs=0.02 * s_bps)
    assert dist.p05_bps == pytest.approx(e_bps - 1.6449 * s_bps, abs=0.03 * s_bps)
    assert dist.p95_bps == pytest.approx(e_bps + 1.6449 * s_bps, abs=0.03 * s_bps)
    assert dist.prob_exceed_limit == pytest.approx(1.0 - stats.norm.cdf(1.0), abs=0.005)
    assert simulate_ac_costs(PAPER, plan.trajectory, T, S0, 100, seed=3).prob_exceed_limit is None


def test_transient_variant_matches_its_deterministic_impact_and_diffusion() -> None:
    model = TransientImpactModel(ExponentialKernel(g0_bps_per_s=0.05, decay_s=600.0), rate_exponent=0.5)
    period_s, n_periods = 60.0, 120
    qty, price, sigma_daily, volume = 200.0, 60_000.0, 0.03, 20_000.0
    holdings = np.linspace(qty, 0.0, n_periods + 1)
    n = 100_000
    dist = simulate_transient_costs(
        model, holdings, period_s, price, sigma_daily, volume, n, seed=11, side=1, fixed_cost_bps=3.0
    )
    expected_bps = 3.0 + model.expected_cost_bps(-np.diff(holdings), period_s, volume)
    sigma_step = price * sigma_daily / math.sqrt(86_400.0) * math.sqrt(period_s)
    std_bps = sigma_step * math.sqrt(np.sum(holdings[1:] ** 2)) / (qty * price) * 1e4
    assert expected_bps > 3.5  # the impact term is material in this example
    assert abs(dist.mean_bps - expected_bps) <= 4.0 * dist.std_bps / math.sqrt(n)
    assert abs(dist.std_bps**2 - std_bps**2) <= 4.0 * std_bps**2 * math.sqrt(2.0 / n)


def test_bad_inputs_are_refused() -> None:
    plan = optimal_trajectory(PAPER, X, T, N, 1e-6)
    with pytest.raises(ValueError, match="x_N = 0"):
        simulate_ac_costs(PAPER, plan.trajectory[:-1], T, S0, 10, seed=1)
    with pytest.raises(ValueError, match="seed"):
        simulate_ac_costs(PAPER, plan.trajectory, T, S0, 10, seed=-1)
    with pytest.raises(ValueError, match="side"):
        simulate_ac_costs(PAPER, plan.trajectory, T, S0, 10, seed=1, side=0)
    with pytest.raises(ValueError, match="n_paths"):
        simulate_ac_costs(PAPER, plan.trajectory, T, S0, 0, seed=1)
