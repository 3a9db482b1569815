"""Almgren-Chriss (2000) discrete-time solution checked against independent solutions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize

from core.analytics.almgren_chriss import (
    URGENCY_KAPPA_T,
    Urgency,
    cost_variance,
    efficient_frontier,
    eta_tilde,
    expected_cost,
    immediate_execution,
    kappa_from_risk_aversion,
    linear_execution,
    optimal_trajectory,
    reoptimize,
    risk_aversion_for_urgency,
    risk_aversion_from_kappa,
    risk_aversion_from_per_bps,
    risk_aversion_per_bps,
)
from core.analytics.impact import AlmgrenChrissParams

# The paper's example (section 3): 1e6 shares at $50, 30 %/yr vol, 5 days in 5 periods.
X, S0, T, N = 1e6, 50.0, 5.0, 5
PAPER = AlmgrenChrissParams(sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625)
LAM = 1e-6


def first_order_solution(params: AlmgrenChrissParams, shares: float, horizon: float, n: int, lam: float) -> np.ndarray:
    """Minimize E + lambda V over x_1..x_{N-1} by solving the linear first-order system.

    d/dx_j: (2 eta~/tau)(2 x_j - x_{j-1} - x_{j+1}) + 2 lambda sigma^2 tau x_j = 0,
    with x_0 = X and x_N = 0 (no sinh formula involved).
    """
    tau = horizon / n
    et = params.eta - 0.5 * params.gamma * tau
    a = et / tau
    b = lam * params.sigma**2 * tau
    m = n - 1
    matrix = np.zeros((m, m))
    rhs = np.zeros(m)
    for j in range(m):
        matrix[j, j] = 2.0 * a + b
        if j > 0:
            matrix[j, j - 1] = -a
        if j < m - 1:
            matrix[j, j + 1] = -a
    if m > 0:
        rhs[0] = a * shares
    inner = np.linalg.solve(matrix, rhs) if m > 0 else np.zeros(0)
    return np.concatenate(([shares], inner, [0.0]))


def scipy_solution(params: AlmgrenChrissParams, shares: float, horizon: float, n: int, lam: float) -> np.ndarray:
    """Minimize E + lambda V numerically over the trade list with scipy (BFGS)."""
    tau = horizon / n

    def objective(y: np.ndarray) -> float:
        x = np.concatenate(([1.0], y, [0.0])) * shares
        return (expected_by_dynamics(params, x, tau) + lam * variance_by_dynamics(params, x, tau)) / shares**2

    result = minimize(objective, np.linspace(1.0, 0.0, n + 1)[1:-1], method="BFGS", options={"gtol": 1e-13})
    return np.concatenate(([1.0], result.x, [0.0])) * shares


def expected_by_dynamics(params: AlmgrenChrissParams, x: np.ndarray, tau: float) -> float:
    """E[shortfall] summed child by child from the price dynamics (not the closed form):
    each child pays its temporary impact plus the permanent impact of all earlier children."""
    n = x[:-1] - x[1:]
    temporary = np.sum(n * (params.epsilon * np.sign(n) + params.eta * n / tau))
    permanent = sum(n[k] * params.gamma * np.sum(n[:k]) for k in range(n.shape[0]))
    return float(temporary + permanent)


def variance_by_dynamics(params: AlmgrenChrissParams, x: np.ndarray, tau: float) -> float:
    """Var[shortfall]: the shock of period k moves the price paid for all later children."""
    n = x[:-1] - x[1:]
    exposure = np.array([np.sum(n[k + 1 :]) for k in range(n.shape[0])])
    return float(params.sigma**2 * tau * np.sum(exposure**2))


def test_paper_example_matches_independent_solutions_to_four_significant_figures() -> None:
    plan = optimal_trajectory(PAPER, X, T, N, LAM)
    direct = first_order_solution(PAPER, X, T, N, LAM)
    numeric = scipy_solution(PAPER, X, T, N, LAM)
    tau = T / N
    np.testing.assert_allclose(plan.trajectory, direct, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(plan.trajectory, numeric, rtol=1e-4, atol=1e-6)
    assert plan.expected_cost == pytest.approx(expected_by_dynamics(PAPER, direct, tau), rel=1e-4)
    assert plan.variance == pytest.approx(variance_by_dynamics(PAPER, direct, tau), rel=1e-4)
    assert plan.expected_cost == pytest.approx(expected_by_dynamics(PAPER, numeric, tau), rel=1e-4)
    assert plan.variance == pytest.approx(variance_by_dynamics(PAPER, numeric, tau), rel=1e-4)


def test_paper_example_numbers() -> None:
    plan = optimal_trajectory(PAPER, X, T, N, LAM)
    # The paper reports kappa ~ 0.6/day for lambda = 1e-6.
    assert round(plan.kappa, 1) == 0.6
    assert plan.kappa == pytest.approx(0.60708, rel=1e-4)
    assert plan.eta_tilde == pytest.approx(2.375e-6, rel=1e-12)
    assert plan.kappa_tilde_sq == pytest.approx(1e-6 * 0.95**2 / 2.375e-6, rel=1e-12)
    # kappa solves (2/tau^2)(cosh(kappa tau) - 1) = kappa~^2 exactly.
    tau = T / N
    assert 2.0 / tau**2 * (math.cosh(plan.kappa * tau) - 1.0) == pytest.approx(plan.kappa_tilde_sq, rel=1e-12)
    np.testing.assert_allclose(plan.trajectory, X * np.sinh(plan.kappa * (T - plan.times)) / np.sinh(plan.kappa * T))
    assert plan.trade_list.sum() == pytest.approx(X, rel=1e-12)
    assert plan.expected_cost == pytest.approx(911_227.0, rel=1e-6)
    assert plan.variance == pytest.approx(3.641286e11, rel=1e-6)


def test_extremes_closed_forms() -> None:
    linear = linear_execution(PAPER, X, T, N)
    immediate = immediate_execution(PAPER, X, T, N)
    et = eta_tilde(PAPER, T / N)
    assert linear.expected_cost == pytest.approx(0.5 * PAPER.gamma * X**2 + PAPER.epsilon * X + et * X**2 / T)
    assert linear.variance == pytest.approx(PAPER.sigma**2 * X**2 * T / 3.0 * (1 - 1 / N) * (1 - 1 / (2 * N)))
    assert immediate.expected_cost == pytest.approx(PAPER.epsilon * X + PAPER.eta * X**2 / (T / N))
    assert immediate.variance == 0.0


def test_zero_risk_aversion_gives_linear_schedule_with_minimum_expected_cost() -> None:
    plan = optimal_trajectory(PAPER, X, T, N, 0.0)
    assert plan.kappa == 0.0
    np.testing.assert_allclose(plan.trajectory, X * (1.0 - np.arange(N + 1) / N), rtol=0, atol=1e-9)
    assert plan.expected_cost == pytest.approx(linear_execution(PAPER, X, T, N).expected_cost, rel=1e-12)
    for lam in (1e-9, 1e-7, 1e-6, 1e-5):
        assert optimal_trajectory(PAPER, X, T, N, lam).expected_cost > plan.expected_cost
    # Tiny lambda is continuous with the limit (no 0/0 in the sinh ratio).
    tiny = optimal_trajectory(PAPER, X, T, N, 1e-15)
    np.testing.assert_allclose(tiny.trajectory, plan.trajectory, rtol=1e-8, atol=1e-6)


def test_large_risk_aversion_approaches_immediate_execution() -> None:
    immediate = immediate_execution(PAPER, X, T, N)
    plan = optimal_trajectory(PAPER, X, T, N, 1e-2)
    assert plan.trajectory[1] < 1e-3 * X
    assert plan.expected_cost == pytest.approx(immediate.expected_cost, rel=1e-3)
    huge = optimal_trajectory(PAPER, X, 500.0, 500, 1e6)  # kappa*T ~ 13000: sinh would overflow
    assert np.all(np.isfinite(huge.trajectory))
    assert huge.trade_list[0] == pytest.approx(X, rel=1e-9)


def test_frontier_is_monotone_between_the_extremes() -> None:
    grid = np.logspace(-9, -3, 25)
    frontier = efficient_frontier(PAPER, X, T, N, grid)
    assert np.all(np.diff(frontier.expected_cost) > 0.0)
    assert np.all(np.diff(frontier.variance) < 0.0)
    assert np.all(np.diff(frontier.kappa) > 0.0)
    assert frontier.expected_cost[0] >= frontier.linear.expected_cost
    assert frontier.expected_cost[-1] <= frontier.immediate.expected_cost
    assert frontier.variance[0] <= frontier.linear.variance


def test_eta_tilde_non_positive_is_refused_with_a_fix() -> None:
    bad = AlmgrenChrissParams(sigma=0.95, eta=1e-7, gamma=2.5e-7, epsilon=0.0)
    with pytest.raises(ValueError, match=r"eta~.*<= 0.*increase eta.*more periods"):
        optimal_trajectory(bad, X, T, N, LAM)
    # More periods shrink tau and make the same parameters valid.
    assert optimal_trajectory(bad, X, T, 50, LAM).eta_tilde == pytest.approx(1e-7 - 0.5 * 2.5e-7 * 0.1)


@pytest.mark.parametrize(("shares", "horizon", "periods"), [(0.0, 5.0, 5), (1e6, 0.0, 5), (1e6, 5.0, 0)])
def test_bad_grid_is_refused(shares: float, horizon: float, periods: int) -> None:
    with pytest.raises(ValueError):
        optimal_trajectory(PAPER, shares, horizon, periods, LAM)


def test_plan_is_read_only_and_infinite_risk_aversion_is_refused() -> None:
    plan = optimal_trajectory(PAPER, X, T, N, LAM)
    with pytest.raises(ValueError):
        plan.trajectory[1] = 0.0
    with pytest.raises(ValueError, match="immediate_execution"):
        optimal_trajectory(PAPER, X, T, N, math.inf)


def test_reoptimization_on_what_is_left_reproduces_the_tail() -> None:
    plan = optimal_trajectory(PAPER, X, 10.0, 20, LAM)
    for j in (1, 7, 19):
        tail = reoptimize(PAPER, plan.trajectory[j], 10.0 - plan.times[j], 20 - j, LAM)
        np.testing.assert_allclose(tail.trajectory, plan.trajectory[j:], rtol=1e-9, atol=1e-6)
    # After an OTC fill of 30 % of what is left at step 4, the schedule is re-solved on the rest.
    after = reoptimize(PAPER, 0.7 * plan.trajectory[4], 10.0 - plan.times[4], 16, LAM)
    np.testing.assert_allclose(after.trajectory, 0.7 * plan.trajectory[4:], rtol=1e-9, atol=1e-6)


def test_urgency_maps_to_kappa_t() -> None:
    for urgency, kappa_t in URGENCY_KAPPA_T.items():
        lam = risk_aversion_for_urgency(urgency, PAPER, T, N)
        assert optimal_trajectory(PAPER, X, T, N, lam).kappa * T == pytest.approx(kappa_t, rel=1e-10)
    low = risk_aversion_for_urgency(Urgency.LOW, PAPER, T, N)
    high = risk_aversion_for_urgency(Urgency.HIGH, PAPER, T, N)
    assert low < risk_aversion_for_urgency(Urgency.MEDIUM, PAPER, T, N) < high


def test_kappa_and_risk_aversion_are_inverse() -> None:
    et = eta_tilde(PAPER, 1.0)
    for lam in (0.0, 1e-8, 1e-6, 1e-3):
        kappa = kappa_from_risk_aversion(lam, PAPER.sigma, et, 1.0)
        assert risk_aversion_from_kappa(kappa, PAPER.sigma, et, 1.0) == pytest.approx(lam, rel=1e-12, abs=1e-300)


def test_risk_aversion_per_bps_convention() -> None:
    plan = optimal_trajectory(PAPER, X, T, N, LAM)
    lam_bps = risk_aversion_per_bps(LAM, X, S0)
    assert lam_bps == pytest.approx(LAM * X * S0 * 1e-4)
    assert risk_aversion_from_per_bps(lam_bps, X, S0) == pytest.approx(LAM)
    dollars_per_bps = X * S0 * 1e-4
    objective_usd = plan.expected_cost + LAM * plan.variance
    objective_bps = plan.expected_cost_bps(S0) + lam_bps * plan.std_bps(S0) ** 2
    assert objective_usd == pytest.approx(dollars_per_bps * objective_bps, rel=1e-12)


def test_closed_forms_for_arbitrary_trajectories_match_dynamics() -> None:
    rng = np.random.default_rng(11)
    x = np.concatenate(([X], np.sort(rng.uniform(0, X, N - 1))[::-1], [0.0]))
    x[2] = x[1] * 1.1  # a buy-back: non-monotone on purpose
    tau = T / N
    assert expected_cost(PAPER, x, tau) == pytest.approx(expected_by_dynamics(PAPER, x, tau), rel=1e-12)
    assert cost_variance(PAPER, x, tau) == pytest.approx(variance_by_dynamics(PAPER, x, tau), rel=1e-12)


@given(
    sigma=st.floats(0.01, 5.0),
    eta=st.floats(1e-7, 1e-4),
    gamma_share=st.floats(0.0, 0.9),
    lam=st.floats(0.0, 1e-4),
    n=st.integers(1, 30),
    horizon=st.floats(0.1, 20.0),
)
def test_optimum_beats_the_first_order_solution_and_perturbations(
    sigma: float, eta: float, gamma_share: float, lam: float, n: int, horizon: float
) -> None:
    tau = horizon / n
    gamma = gamma_share * 2.0 * eta / tau  # keeps eta~ > 0
    params = AlmgrenChrissParams(sigma=sigma, eta=eta, gamma=gamma, epsilon=0.01)
    plan = optimal_trajectory(params, 1e5, horizon, n, lam)
    direct = first_order_solution(params, 1e5, horizon, n, lam)
    np.testing.assert_allclose(plan.trajectory, direct, rtol=1e-6, atol=1e-6)
    best = plan.expected_cost + lam * plan.variance
    rng = np.random.default_rng(n)
    for _ in range(3):
        other = plan.trajectory.copy()
        other[1:-1] *= 1.0 + 0.05 * rng.standard_normal(n - 1)
        value = expected_cost(params, other, tau) + lam * cost_variance(params, other, tau)
        assert value >= best * (1.0 - 1e-12)
