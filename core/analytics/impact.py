"""Market impact models: square-root law (with calibration), Almgren-Chriss linear parameters,
and a transient (propagator) impact model with exponential or power-law decay.

Units: ``sigma_daily`` is the daily standard deviation of returns as a fraction (0.03 = 3 %),
volumes are base units per day, costs are in bps of the traded notional (positive = cost).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

SECONDS_PER_DAY: float = 86_400.0


# --------------------------------------------------------------------------------------------
# Square-root law
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SquareRootImpact:
    """Square-root law of market impact for a metaorder of ``Q`` units:

    ``cost_bps = y * sigma_daily * (Q / V_daily) ** exponent * 1e4``

    Source: B. Tóth, Y. Lempérière, C. Deremble, J. de Lataillade, J. Kockelkoren and
    J.-P. Bouchaud, "Anomalous price impact and the critical nature of liquidity in financial
    markets", Phys. Rev. X 1, 021006 (2011); J.-P. Bouchaud, J. Bonart, J. Donier and
    M. Gould, "Trades, Quotes and Prices" (CUP 2018), ch. 12. The law was also observed on
    Bitcoin metaorders by J. Donier and J. Bonart, Market Microstructure and Liquidity 1(2),
    2015.

    Attributes:
        y: prefactor ``Y``, "of order one" in the sources. The default 1.0 is a conservative
            placeholder; calibrate it on your own fills with :func:`calibrate_square_root`.
        exponent: ``delta``; 0.5 is the square-root law. Empirical fits give 0.4-0.7.
    """

    y: float = 1.0
    exponent: float = 0.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.y) and self.y >= 0.0):
            raise ValueError(f"square-root law Y must be finite and >= 0, got {self.y}")
        if not (math.isfinite(self.exponent) and 0.0 < self.exponent <= 2.0):
            raise ValueError(f"square-root law exponent must be in (0, 2], got {self.exponent}")

    def cost_bps(self, quantity: float, daily_volume: float, sigma_daily: float) -> float:
        """Expected cost in bps of a metaorder of ``quantity`` units (same units as volume)."""
        if daily_volume <= 0.0:
            raise ValueError("daily volume must be positive")
        return float(self.y * sigma_daily * (abs(quantity) / daily_volume) ** self.exponent * 1e4)

    def cost_bps_array(self, quantity: FloatArray, daily_volume: FloatArray, sigma_daily: FloatArray) -> FloatArray:
        """Vectorized :meth:`cost_bps`."""
        out: FloatArray = self.y * sigma_daily * (np.abs(quantity) / daily_volume) ** self.exponent * 1e4
        return out


@dataclass(frozen=True, slots=True)
class SquareRootFit:
    """Result of :func:`calibrate_square_root`.

    ``r_squared`` is in the space the fit was done in (log costs for ``method="log"``, raw
    bps for ``method="direct"``); ``residual_std`` likewise (log units or bps).
    """

    model: SquareRootImpact
    method: str
    n_samples: int
    r_squared: float
    residual_std: float


def calibrate_square_root(
    quantity: FloatArray,
    daily_volume: FloatArray,
    sigma_daily: FloatArray,
    cost_bps: FloatArray,
    method: str = "log",
    fit_exponent: bool = True,
    fixed_exponent: float = 0.5,
) -> SquareRootFit:
    """Fit ``Y`` (and optionally the exponent) of the square-root law to executed metaorders.

    ``method="log"``: ordinary least squares of ``ln(cost_bps / (1e4 sigma))`` on
    ``ln(Q / V)`` (intercept ``ln Y``, slope = exponent). Needs every cost > 0; costs of
    single metaorders are noisy and often negative, in which case use ``"direct"``.

    ``method="direct"``: least squares on the costs themselves. For a fixed exponent ``Y`` has
    a closed form (regression through the origin on ``1e4 sigma (Q/V)^delta``); the exponent
    is found by golden-section search of the profiled sum of squares on ``[0.05, 1.5]``.

    With ``fit_exponent=False`` the exponent is held at ``fixed_exponent``.
    """
    q = np.abs(np.asarray(quantity, dtype=np.float64))
    v = np.asarray(daily_volume, dtype=np.float64)
    s = np.asarray(sigma_daily, dtype=np.float64)
    c = np.asarray(cost_bps, dtype=np.float64)
    n = q.shape[0]
    if not (q.shape == v.shape == s.shape == c.shape) or q.ndim != 1:
        raise ValueError("quantity, daily_volume, sigma_daily and cost_bps must be 1-D arrays of equal length")
    if n < (3 if fit_exponent else 2):
        raise ValueError(f"need at least {3 if fit_exponent else 2} samples to calibrate, got {n}")
    if np.any(q <= 0.0) or np.any(v <= 0.0) or np.any(s <= 0.0):
        raise ValueError("quantities, volumes and sigmas must be positive")
    participation = q / v
    if method == "log":
        if np.any(c <= 0.0):
            bad = int(np.count_nonzero(c <= 0.0))
            raise ValueError(
                f"{bad} of {n} costs are <= 0 and have no logarithm; use method='direct' for noisy single-order costs"
            )
        target = np.log(c / (1e4 * s))
        x = np.log(participation)
        if fit_exponent:
            design = np.column_stack((np.ones(n), x))
            coef, *_ = np.linalg.lstsq(design, target, rcond=None)
            log_y, exponent = float(coef[0]), float(coef[1])
        else:
            exponent = fixed_exponent
            log_y = float(np.mean(target - exponent * x))
        residual = target - (log_y + exponent * x)
        model = SquareRootImpact(y=math.exp(log_y), exponent=exponent)
        return SquareRootFit(model, "log", n, _r_squared(target, residual), float(np.std(residual, ddof=1)))
    if method == "direct":
        if fit_exponent:
            exponent = _golden_section(lambda d: _direct_sse(participation, s, c, d)[1], 0.05, 1.5)
        else:
            exponent = fixed_exponent
        y, sse = _direct_sse(participation, s, c, exponent)
        residual = c - y * 1e4 * s * participation**exponent
        dof = max(n - (2 if fit_exponent else 1), 1)
        model = SquareRootImpact(y=max(y, 0.0), exponent=exponent)
        return SquareRootFit(model, "direct", n, _r_squared(c, residual), math.sqrt(sse / dof))
    raise ValueError(f"method must be 'log' or 'direct', got {method!r}")


def _direct_sse(participation: FloatArray, sigma: FloatArray, cost: FloatArray, exponent: float) -> tuple[float, float]:
    basis = 1e4 * sigma * participation**exponent
    y = float(np.dot(basis, cost) / np.dot(basis, basis))
    residual = cost - y * basis
    return y, float(np.dot(residual, residual))


def _golden_section(func: Callable[[float], float], lo: float, hi: float, tol: float = 1e-7) -> float:
    inv_phi = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - inv_phi * (b - a), a + inv_phi * (b - a)
    fc, fd = func(c), func(d)
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - inv_phi * (b - a)
            fc = func(c)
        else:
            a, c, fc = c, d, fd
            d = a + inv_phi * (b - a)
            fd = func(d)
    return 0.5 * (a + b)


def _r_squared(target: FloatArray, residual: FloatArray) -> float:
    total = float(np.sum((target - target.mean()) ** 2))
    return 1.0 - float(np.sum(residual**2)) / total if total > 0.0 else float("nan")


# --------------------------------------------------------------------------------------------
# Almgren-Chriss linear impact
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlmgrenChrissParams:
    """Linear permanent + temporary impact of Almgren & Chriss (2000), in the paper's units.

    Source: R. Almgren and N. Chriss, "Optimal execution of portfolio transactions",
    Journal of Risk 3(2), 2000, section 2. Time unit: days (any unit works if it is
    used consistently for ``sigma``, ``eta`` and the horizon).

    Defaults are the paper's worked example (a $50 stock, 30 %/yr volatility); for crypto
    blocks :func:`core.analytics.pretrade.calibrate_ac_params` derives them from the
    square-root law instead.

    Attributes:
        sigma: arithmetic price volatility, $/share/day^(1/2) (paper: 0.95 for 30 %/yr at $50).
        eta: temporary impact ``h(v) = epsilon sgn(v) + eta v``, $/share per (share/day)
            (paper: 2.5e-6).
        gamma: permanent impact ``g(v) = gamma v``, $/share per share (paper: 2.5e-7).
        epsilon: fixed cost per share, $ (half the spread plus fees; paper: 0.0625).
    """

    sigma: float = 0.95
    eta: float = 2.5e-6
    gamma: float = 2.5e-7
    epsilon: float = 0.0625

    def __post_init__(self) -> None:
        for name in ("sigma", "eta", "gamma", "epsilon"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"Almgren-Chriss {name} must be finite and >= 0, got {value}")


# --------------------------------------------------------------------------------------------
# Transient impact (propagator)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExponentialKernel:
    """Exponentially decaying impact kernel ``G(u) = g0 * exp(-u / decay_s)``.

    Source: A. Obizhaeva and J. Wang, "Optimal trading strategy and supply/demand
    dynamics", Journal of Financial Markets 16(1), 2013 (resilience ``rho = 1 / decay_s``).

    Attributes:
        g0_bps_per_s: impact accumulated per second of trading at unit participation
            (``v`` equal to the average market rate ``V_daily / 86400``), in bps per second.
            Default 0.05: with ``rate_exponent = 0.5`` and the default decay, trading at 10 %
            of the market rate settles at ``sqrt(0.1) * 0.05 * 300 ~ 4.7`` bps of impact.
        decay_s: resilience time of the book in seconds (default 300 s).
    """

    g0_bps_per_s: float = 0.05
    decay_s: float = 300.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.g0_bps_per_s) and self.g0_bps_per_s >= 0.0):
            raise ValueError(f"kernel g0_bps_per_s must be finite and >= 0, got {self.g0_bps_per_s}")
        if not (math.isfinite(self.decay_s) and self.decay_s > 0.0):
            raise ValueError(f"exponential kernel decay_s must be positive, got {self.decay_s}")

    def cumulative(self, u: FloatArray) -> FloatArray:
        """``H(u) = int_0^u G``; zero for ``u <= 0``."""
        up = np.maximum(u, 0.0)
        out: FloatArray = self.g0_bps_per_s * self.decay_s * -np.expm1(-up / self.decay_s)
        return out

    def double_cumulative(self, u: FloatArray) -> FloatArray:
        """``H2(u) = int_0^u H``; zero for ``u <= 0``."""
        up = np.maximum(u, 0.0)
        d = self.decay_s
        out: FloatArray = self.g0_bps_per_s * d * (up + d * np.expm1(-up / d))
        return out


@dataclass(frozen=True, slots=True)
class PowerLawKernel:
    """Power-law decaying impact kernel ``G(u) = g0 / (1 + u / t0) ** beta``.

    Source: J.-P. Bouchaud, Y. Gefen, M. Potters and M. Wyart, "Fluctuations and response in
    financial markets: the subtle nature of 'random' price changes", Quantitative Finance 4(2),
    2004; J. Gatheral, "No-dynamic-arbitrage and market impact", Quantitative Finance 10(7),
    2010 (with ``f(v) ~ v^delta`` and ``delta + beta = 1`` it yields the square-root law).

    Attributes:
        g0_bps_per_s: kernel at ``u = 0`` in bps per second at unit participation. Default
            0.0659 = what :meth:`TransientImpactModel.from_square_root_law` gives for
            ``Y = 1``, ``sigma_daily = 3 %`` and ``t0 = 60 s``.
        t0_s: short-time cutoff in seconds (default 60 s).
        beta: decay exponent in (0, 2) (default 0.5).
    """

    g0_bps_per_s: float = 0.0659
    t0_s: float = 60.0
    beta: float = 0.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.g0_bps_per_s) and self.g0_bps_per_s >= 0.0):
            raise ValueError(f"kernel g0_bps_per_s must be finite and >= 0, got {self.g0_bps_per_s}")
        if not 0.0 < self.beta < 2.0:
            raise ValueError(f"power-law kernel beta must be in (0, 2), got {self.beta}")
        if self.t0_s <= 0.0:
            raise ValueError(f"power-law kernel t0_s must be positive, got {self.t0_s}")

    def cumulative(self, u: FloatArray) -> FloatArray:
        """``H(u) = int_0^u G``; zero for ``u <= 0``."""
        x = 1.0 + np.maximum(u, 0.0) / self.t0_s
        g0, t0, b = self.g0_bps_per_s, self.t0_s, self.beta
        if b == 1.0:
            out: FloatArray = g0 * t0 * np.log(x)
            return out
        out = g0 * t0 * (x ** (1.0 - b) - 1.0) / (1.0 - b)
        return out

    def double_cumulative(self, u: FloatArray) -> FloatArray:
        """``H2(u) = int_0^u H``; zero for ``u <= 0``."""
        up = np.maximum(u, 0.0)
        x = 1.0 + up / self.t0_s
        g0, t0, b = self.g0_bps_per_s, self.t0_s, self.beta
        if b == 1.0:
            out: FloatArray = g0 * t0 * ((t0 + up) * np.log(x) - up)
            return out
        out = g0 * t0 / (1.0 - b) * (t0 * (x ** (2.0 - b) - 1.0) / (2.0 - b) - up)
        return out


ImpactKernel = ExponentialKernel | PowerLawKernel


@dataclass(frozen=True, slots=True)
class TransientImpactModel:
    """Transient impact of a trading-rate schedule (Gatheral 2010, propagator form):

    ``I(t) = sum_j f(v_j) * int_{period j, s < t} G(t - s) ds``  (bps, positive = against us)

    with ``f(v) = (v / V_rate) ** rate_exponent``, ``V_rate = V_daily / 86400`` the average
    market rate and a schedule trading at constant rate ``v_j = n_j / period_s`` in each period.
    The kernel integrals ``H`` and ``H2`` are closed-form, so the path and the cost are exact
    for the piecewise-constant schedule (no time-stepping error).

    Sources: J. Gatheral, Quantitative Finance 10(7), 2010; Bouchaud et al., QF 4(2), 2004;
    Obizhaeva & Wang, JFM 16(1), 2013.

    Attributes:
        kernel: decay kernel ``G`` (exponential or power law).
        rate_exponent: ``delta`` in ``f(v)``; 0.5 with a power-law ``beta = 0.5`` gives the
            square-root law (Gatheral 2010).
    """

    kernel: ImpactKernel = dataclasses.field(default_factory=PowerLawKernel)
    rate_exponent: float = 0.5

    @classmethod
    def from_square_root_law(
        cls, sqrt_law: SquareRootImpact, sigma_daily: float, t0_s: float = 1.0
    ) -> TransientImpactModel:
        """Power-law model whose peak impact matches the square-root law.

        With ``beta = 1 - delta`` (``delta`` = the law's exponent) and ``t0 << T``, a
        constant-rate execution of ``Q`` over ``T`` seconds peaks at
        ``g0 t0^beta (Q / V_rate)^delta / delta``, independent of ``T``; matching it to
        ``Y sigma (Q / V_daily)^delta 1e4`` gives
        ``g0 = delta Y sigma 1e4 / (86400^delta t0^beta)``. The relative error for finite
        ``t0`` is of order ``(t0 / T)^(1 - beta)``.
        """
        delta = sqrt_law.exponent
        if not 0.0 < delta < 1.0:
            raise ValueError("from_square_root_law needs an exponent in (0, 1)")
        beta = 1.0 - delta
        g0 = delta * sqrt_law.y * sigma_daily * 1e4 / (SECONDS_PER_DAY**delta * t0_s**beta)
        return cls(kernel=PowerLawKernel(g0_bps_per_s=g0, t0_s=t0_s, beta=beta), rate_exponent=delta)

    def rate_factor(self, trade_qty: FloatArray, period_s: float, daily_volume: float) -> FloatArray:
        """``f(v_j)`` for each period's traded quantity (always >= 0)."""
        if period_s <= 0.0 or daily_volume <= 0.0:
            raise ValueError("period_s and daily_volume must be positive")
        rate = np.abs(np.asarray(trade_qty, dtype=np.float64)) / period_s
        out: FloatArray = (rate / (daily_volume / SECONDS_PER_DAY)) ** self.rate_exponent
        return out

    def impact_path_bps(
        self, trade_qty: FloatArray, period_s: float, daily_volume: float, eval_times_s: FloatArray
    ) -> FloatArray:
        """Impact ``I(t)`` in bps at ``eval_times_s``; period ``j`` spans
        ``[j * period_s, (j + 1) * period_s)`` and trades ``trade_qty[j]`` at a constant rate."""
        f = self.rate_factor(trade_qty, period_s, daily_volume)
        starts = np.arange(f.shape[0], dtype=np.float64) * period_s
        t = np.asarray(eval_times_s, dtype=np.float64)[:, None]
        h = self.kernel.cumulative
        contribution = h(t - starts[None, :]) - h(t - starts[None, :] - period_s)
        out: FloatArray = contribution @ f
        return out

    def period_average_impact_bps(self, trade_qty: FloatArray, period_s: float, daily_volume: float) -> FloatArray:
        """Time-average of ``I(t)`` over each period, in bps: the average impact paid by the
        child trading in that period (the rate is constant inside a period)."""
        f = self.rate_factor(trade_qty, period_s, daily_volume)
        n = f.shape[0]
        lag = np.arange(n, dtype=np.float64)[:, None] - np.arange(n, dtype=np.float64)[None, :]
        h2 = self.kernel.double_cumulative
        # (1/tau) int_{a_k}^{b_k} [H(t - a_j) - H(t - b_j)] dt in terms of H2 at lags (k-j)tau.
        weights = (h2((lag + 1.0) * period_s) - 2.0 * h2(lag * period_s) + h2((lag - 1.0) * period_s)) / period_s
        out: FloatArray = weights @ f
        return out

    def expected_cost_bps(self, trade_qty: FloatArray, period_s: float, daily_volume: float) -> float:
        """Impact cost of the schedule in bps of the traded quantity (quantity-weighted average
        of :meth:`period_average_impact_bps`)."""
        q = np.abs(np.asarray(trade_qty, dtype=np.float64))
        total = float(q.sum())
        if total <= 0.0:
            return 0.0
        return float(np.dot(q, self.period_average_impact_bps(q, period_s, daily_volume)) / total)
