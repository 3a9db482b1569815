"""Square-root law and its calibration; transient propagator kernels and impact paths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from core.analytics.impact import (
    AlmgrenChrissParams,
    ExponentialKernel,
    PowerLawKernel,
    SquareRootImpact,
    TransientImpactModel,
    calibrate_square_root,
)


def test_square_root_law_number() -> None:
    law = SquareRootImpact(y=0.8, exponent=0.5)
    # 0.8 * 2 % * sqrt(1 %) * 1e4 = 16 bps
    assert law.cost_bps(100.0, 10_000.0, 0.02) == pytest.approx(16.0)
    assert law.cost_bps(-100.0, 10_000.0, 0.02) == pytest.approx(16.0)  # sells cost too
    np.testing.assert_allclose(
        law.cost_bps_array(np.array([100.0, 400.0]), np.array([1e4, 1e4]), np.array([0.02, 0.02])), [16.0, 32.0]
    )


def synthetic_metaorders(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    volume = rng.uniform(5e3, 5e4, n)
    quantity = volume * 10.0 ** rng.uniform(-4.0, -1.0, n)  # 0.01 % .. 10 % of ADV
    sigma = rng.uniform(0.01, 0.06, n)
    return quantity, volume, sigma


def test_log_calibration_recovers_y_and_exponent_within_10_percent() -> None:
    quantity, volume, sigma = synthetic_metaorders(1, 1500)
    true = SquareRootImpact(y=0.7, exponent=0.6)
    rng = np.random.default_rng(2)
    cost = true.cost_bps_array(quantity, volume, sigma) * np.exp(0.4 * rng.standard_normal(1500))
    fit = calibrate_square_root(quantity, volume, sigma, cost, method="log")
    assert fit.model.y == pytest.approx(0.7, rel=0.10)
    assert fit.model.exponent == pytest.approx(0.6, rel=0.10)
    assert fit.residual_std == pytest.approx(0.4, rel=0.1)
    assert fit.n_samples == 1500


def test_direct_calibration_recovers_y_and_exponent_from_additive_noise() -> None:
    quantity, volume, sigma = synthetic_metaorders(3, 3000)
    true = SquareRootImpact(y=0.9, exponent=0.5)
    rng = np.random.default_rng(4)
    clean = true.cost_bps_array(quantity, volume, sigma)
    cost = clean + 0.3 * clean.std() * rng.standard_normal(3000)
    assert np.any(cost <= 0.0)  # noisy single-order costs go negative: log fit impossible
    with pytest.raises(ValueError, match="direct"):
        calibrate_square_root(quantity, volume, sigma, cost, method="log")
    fit = calibrate_square_root(quantity, volume, sigma, cost, method="direct")
    assert fit.model.y == pytest.approx(0.9, rel=0.10)
    assert fit.model.exponent == pytest.approx(0.5, rel=0.10)
    fixed = calibrate_square_root(quantity, volume, sigma, cost, method="direct", fit_exponent=False)
    assert fixed.model.exponent == 0.5
    assert fixed.model.y == pytest.approx(0.9, rel=0.05)


def test_calibration_rejects_bad_input() -> None:
    q, v, s = synthetic_metaorders(5, 10)
    with pytest.raises(ValueError, match="method"):
        calibrate_square_root(q, v, s, np.ones(10), method="nls")
    with pytest.raises(ValueError, match="equal length"):
        calibrate_square_root(q, v, s, np.ones(9))
    with pytest.raises(ValueError, match="at least"):
        calibrate_square_root(q[:2], v[:2], s[:2], np.ones(2))


def test_almgren_chriss_params_validate() -> None:
    with pytest.raises(ValueError, match="eta"):
        AlmgrenChrissParams(sigma=1.0, eta=-1.0, gamma=0.0)
    with pytest.raises(ValueError, match="sigma"):
        AlmgrenChrissParams(sigma=math.nan, eta=1.0, gamma=0.0)


KERNELS = [
    ExponentialKernel(g0_bps_per_s=0.2, decay_s=120.0),
    PowerLawKernel(g0_bps_per_s=0.2, t0_s=30.0, beta=0.5),
    PowerLawKernel(g0_bps_per_s=0.2, t0_s=30.0, beta=1.0),
    PowerLawKernel(g0_bps_per_s=0.2, t0_s=30.0, beta=1.5),
]


def kernel_value(kernel: ExponentialKernel | PowerLawKernel, u: float) -> float:
    if isinstance(kernel, ExponentialKernel):
        return kernel.g0_bps_per_s * math.exp(-u / kernel.decay_s)
    return float(kernel.g0_bps_per_s / (1.0 + u / kernel.t0_s) ** kernel.beta)


@pytest.mark.parametrize("kernel", KERNELS, ids=["exp", "pow0.5", "pow1", "pow1.5"])
def test_kernel_integrals_match_quadrature(kernel: ExponentialKernel | PowerLawKernel) -> None:
    for u in (0.5, 30.0, 400.0, 5000.0):
        h = integrate.quad(lambda s: kernel_value(kernel, s), 0.0, u, limit=200)[0]
        h2 = integrate.quad(lambda s: integrate.quad(lambda r: kernel_value(kernel, r), 0.0, s)[0], 0.0, u, limit=200)[
            0
        ]
        assert float(kernel.cumulative(np.array([u]))[0]) == pytest.approx(h, rel=1e-8)
        assert float(kernel.double_cumulative(np.array([u]))[0]) == pytest.approx(h2, rel=1e-7)
    assert float(kernel.cumulative(np.array([-1.0]))[0]) == 0.0
    assert float(kernel.double_cumulative(np.array([-1.0]))[0]) == 0.0


@pytest.mark.parametrize("kernel", KERNELS[:2], ids=["exp", "pow0.5"])
def test_impact_path_matches_a_brute_force_propagator(kernel: ExponentialKernel | PowerLawKernel) -> None:
    model = TransientImpactModel(kernel, rate_exponent=0.5)
    trades = np.array([3.0, 0.0, 5.0, 1.0])
    period_s, volume = 60.0, 8640.0  # V_rate = 0.1 per second
    times = np.array([0.0, 30.0, 60.0, 150.0, 239.0, 600.0])
    path = model.impact_path_bps(trades, period_s, volume, times)
    # Brute force: chop each period into 6000 slices of instantaneous trading.
    steps = 6000
    dt = period_s / steps
    f = (trades / period_s / 0.1) ** 0.5
    slice_mid = (np.arange(len(trades) * steps) + 0.5) * dt
    slice_f = np.repeat(f, steps)
    for t, value in zip(times, path, strict=True):
        mask = slice_mid < t
        g = np.array([kernel_value(kernel, t - s) for s in slice_mid[mask]])
        assert value == pytest.approx(float(np.sum(slice_f[mask] * g) * dt), rel=2e-3, abs=1e-9)
    assert path[0] == 0.0


def test_period_average_equals_time_average_of_the_path() -> None:
    model = TransientImpactModel(PowerLawKernel(g0_bps_per_s=0.3, t0_s=20.0, beta=0.4), rate_exponent=0.6)
    trades = np.array([2.0, 4.0, 0.5, 3.0, 1.0])
    period_s, volume = 90.0, 20_000.0
    averages = model.period_average_impact_bps(trades, period_s, volume)
    for k in range(trades.shape[0]):
        numeric = integrate.quad(
            lambda t: float(model.impact_path_bps(trades, period_s, volume, np.array([t]))[0]),
            k * period_s,
            (k + 1) * period_s,
            limit=200,
        )[0]
        assert averages[k] == pytest.approx(numeric / period_s, rel=1e-7)
    expected = float(np.dot(trades, averages) / trades.sum())
    assert model.expected_cost_bps(trades, period_s, volume) == pytest.approx(expected)


def test_power_law_from_square_root_law_reproduces_the_law_for_long_executions() -> None:
    law = SquareRootImpact(y=0.8, exponent=0.5)
    sigma, volume, quantity = 0.03, 20_000.0, 200.0
    model = TransientImpactModel.from_square_root_law(law, sigma, t0_s=1.0)
    assert isinstance(model.kernel, PowerLawKernel)
    assert model.kernel.beta == pytest.approx(0.5)
    for horizon_s in (3600.0, 4 * 3600.0, 12 * 3600.0):
        n = 60
        trades = np.full(n, quantity / n)
        peak = float(model.impact_path_bps(trades, horizon_s / n, volume, np.array([horizon_s]))[0])
        # Peak impact is T-independent and equals the square-root law up to O(sqrt(t0/T)).
        assert peak == pytest.approx(law.cost_bps(quantity, volume, sigma), rel=0.02)
    # After the trade the impact decays (transient, not permanent).
    late = float(model.impact_path_bps(trades, horizon_s / n, volume, np.array([2 * horizon_s]))[0])
    assert late < 0.5 * peak


def test_documented_defaults() -> None:
    from_law = TransientImpactModel.from_square_root_law(SquareRootImpact(y=1.0), 0.03, t0_s=60.0)
    assert isinstance(from_law.kernel, PowerLawKernel)
    assert PowerLawKernel().g0_bps_per_s == pytest.approx(from_law.kernel.g0_bps_per_s, rel=1e-3)
    # Exponential default: ~4.7 bps steady-state impact at 10 % of the market rate.
    model = TransientImpactModel(ExponentialKernel(), rate_exponent=0.5)
    volume = 86_400.0  # market rate 1 unit/s
    trades = np.full(100, 0.1 * 60.0)  # 10 % participation in 60 s periods for 100 min
    steady = float(model.impact_path_bps(trades, 60.0, volume, np.array([6000.0]))[0])
    assert steady == pytest.approx(math.sqrt(0.1) * 0.05 * 300.0, rel=1e-3)
    assert AlmgrenChrissParams() == AlmgrenChrissParams(sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625)
    with pytest.raises(ValueError, match="decay_s"):
        ExponentialKernel(decay_s=0.0)
