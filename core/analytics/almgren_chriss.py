"""Almgren-Chriss optimal execution, discrete time, exactly as in the paper.

Source: R. Almgren and N. Chriss, "Optimal execution of portfolio transactions", Journal of
Risk 3(2), 5-39, 2000. Equation numbers below refer to that paper.

Setting (section 2): liquidate ``X`` shares over ``T`` in ``N`` periods of ``tau = T/N``;
holdings ``x_0 = X, x_1, ..., x_N = 0`` at ``t_k = k tau``; trade list ``n_k = x_{k-1} - x_k``
(shares sold in period ``k``). Arithmetic random walk with linear impact::

    S_k = S_{k-1} + sigma tau^(1/2) xi_k - tau g(n_k / tau),   g(v) = gamma v       (permanent)
    S~_k = S_{k-1} - h(n_k / tau),                   h(v) = epsilon sgn(v) + eta v   (temporary)

Implementation shortfall ``X S_0 - sum n_k S~_k`` has (section 2)::

    E = 1/2 gamma X^2 + epsilon sum |n_k| + (eta~ / tau) sum n_k^2,   eta~ = eta - gamma tau / 2
    V = sigma^2 tau sum_{k=1..N} x_k^2

Minimizing ``E + lambda V`` (lambda: risk aversion in 1/$) gives (section 2)::

    kappa~^2 = lambda sigma^2 / eta~,   (2 / tau^2)(cosh(kappa tau) - 1) = kappa~^2
    x_j = X sinh(kappa (T - t_j)) / sinh(kappa T)

Units are the paper's: time in days, ``sigma`` in $/share/day^(1/2), ``eta`` in
$/share per share/day, ``gamma`` in $/share per share, ``epsilon`` in $/share, ``lambda`` in
1/$. The model is symmetric, so a buy program of ``X`` shares has the same trajectory, E and V.

Risk aversion per bps of notional (this module's convention): with ``N$ = X S_0 1e-4`` dollars
per bps, ``E + lambda V = N$ (E_bps + lambda_bps Var_bps)`` where ``E_bps = E / N$``,
``Var_bps = V / N$^2`` (bps^2) and ``lambda_bps = lambda X S_0 1e-4`` (1/bps).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.analytics.impact import AlmgrenChrissParams

FloatArray = npt.NDArray[np.float64]


class Urgency(enum.Enum):
    """Trader urgency, mapped to ``kappa T`` (how front-loaded the optimal schedule is)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


#: kappa * T per urgency. 0.5: nearly linear (TWAP-like); 2: moderately front-loaded;
#: 5: most of the block in the first fifth of the horizon.
URGENCY_KAPPA_T: dict[Urgency, float] = {Urgency.LOW: 0.5, Urgency.MEDIUM: 2.0, Urgency.HIGH: 5.0}


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """A trajectory with its Almgren-Chriss expected cost and variance.

    ``trajectory`` holds ``x_0..x_N`` (shares still to trade), ``trade_list`` ``n_1..n_N``,
    ``times`` ``t_0..t_N``. ``expected_cost`` is in $, ``variance`` in $^2. For the two
    extremes ``risk_aversion``/``kappa`` are 0 (linear) or ``inf`` (immediate).
    """

    shares: float
    horizon: float
    n_periods: int
    tau: float
    risk_aversion: float
    eta_tilde: float
    kappa_tilde_sq: float
    kappa: float
    times: FloatArray
    trajectory: FloatArray
    trade_list: FloatArray
    expected_cost: float
    variance: float

    @property
    def std(self) -> float:
        """Standard deviation of the cost, $."""
        return math.sqrt(self.variance)

    @property
    def half_life(self) -> float:
        """``theta = 1 / kappa`` (paper section 2): time to trade ~63 % of the block."""
        return math.inf if self.kappa == 0.0 else 1.0 / self.kappa

    def expected_cost_bps(self, price: float) -> float:
        """Expected cost in bps of the initial notional ``X S_0``."""
        return self.expected_cost / (self.shares * price) * 1e4

    def std_bps(self, price: float) -> float:
        """Cost standard deviation in bps of the initial notional ``X S_0``."""
        return self.std / (self.shares * price) * 1e4


@dataclass(frozen=True, slots=True)
class EfficientFrontier:
    """Optimal (E, V) pairs over a grid of risk aversions (paper section 3)."""

    risk_aversion: FloatArray
    kappa: FloatArray
    expected_cost: FloatArray
    variance: FloatArray
    linear: ExecutionPlan
    immediate: ExecutionPlan


def eta_tilde(params: AlmgrenChrissParams, tau: float) -> float:
    """``eta~ = eta - gamma tau / 2``; raises ``ValueError`` if not positive.

    A non-positive ``eta~`` makes the quadratic cost concave (the paper assumes ``eta~ > 0``):
    the optimization has no minimum and the formulas break down.
    """
    value = params.eta - 0.5 * params.gamma * tau
    if not value > 0.0:
        raise ValueError(
            f"eta~ = eta - gamma*tau/2 = {params.eta:g} - {params.gamma:g}*{tau:g}/2 = {value:g} <= 0: "
            "the temporary impact is too small for the permanent impact at this period length; "
            "increase eta, decrease gamma, or use more periods (smaller tau = T/N)"
        )
    return value


def kappa_from_risk_aversion(risk_aversion: float, sigma: float, eta_tilde_: float, tau: float) -> float:
    """Solve ``(2/tau^2)(cosh(kappa tau) - 1) = lambda sigma^2 / eta~`` for ``kappa`` (1/time).

    Uses the equivalent ``kappa = (2 / tau) asinh(kappa~ tau / 2)``, exact because
    ``cosh(a) - 1 = 2 sinh(a/2)^2``, which stays accurate as ``kappa~ -> 0``.
    """
    if not (math.isfinite(risk_aversion) and risk_aversion >= 0.0):
        raise ValueError(
            f"risk aversion must be finite and >= 0, got {risk_aversion} "
            "(use immediate_execution for the lambda -> infinity extreme)"
        )
    kappa_tilde = math.sqrt(risk_aversion * sigma * sigma / eta_tilde_)
    return 2.0 / tau * math.asinh(0.5 * kappa_tilde * tau)


def risk_aversion_from_kappa(kappa: float, sigma: float, eta_tilde_: float, tau: float) -> float:
    """Inverse of :func:`kappa_from_risk_aversion`: ``lambda = eta~ kappa~^2 / sigma^2`` with
    ``kappa~^2 = (4 / tau^2) sinh(kappa tau / 2)^2``."""
    if kappa < 0.0:
        raise ValueError(f"kappa must be >= 0, got {kappa}")
    if sigma <= 0.0:
        if kappa == 0.0:
            return 0.0
        raise ValueError("with sigma = 0 there is no risk, so no risk aversion produces kappa > 0")
    kappa_tilde_sq = (2.0 / tau * math.sinh(0.5 * kappa * tau)) ** 2
    return eta_tilde_ * kappa_tilde_sq / (sigma * sigma)


def optimal_trajectory(
    params: AlmgrenChrissParams, shares: float, horizon: float, n_periods: int, risk_aversion: float
) -> ExecutionPlan:
    """Optimal discrete trajectory for risk aversion ``lambda`` (paper, section 2).

    ``lambda = 0`` gives ``kappa = 0`` and the linear schedule (the limit of the sinh ratio),
    which minimizes E.
    """
    tau = _check_grid(shares, horizon, n_periods)
    et = eta_tilde(params, tau)
    kappa = kappa_from_risk_aversion(risk_aversion, params.sigma, et, tau)
    times = np.arange(n_periods + 1, dtype=np.float64) * tau
    times[-1] = horizon
    trajectory = shares * _sinh_ratio(kappa, horizon, times)
    return _plan(params, shares, horizon, n_periods, risk_aversion, kappa, trajectory)


def reoptimize(
    params: AlmgrenChrissParams,
    remaining_shares: float,
    remaining_time: float,
    remaining_periods: int,
    risk_aversion: float,
) -> ExecutionPlan:
    """Re-solve on what is left (new ``X``, ``T``, ``N``), e.g. after fills, an OTC print or an
    override. With unchanged parameters this reproduces the tail of the original schedule
    (the sinh trajectory is time-consistent); with updated ``sigma``,
    ``eta``, ``gamma`` or ``lambda`` it is the new optimum from here.
    """
    return optimal_trajectory(params, remaining_shares, remaining_time, remaining_periods, risk_aversion)


def linear_execution(params: AlmgrenChrissParams, shares: float, horizon: float, n_periods: int) -> ExecutionPlan:
    """Constant-rate schedule ``x_k = X (1 - k/N)``: minimum E, the ``lambda = 0`` extreme.

    E = 1/2 gamma X^2 + epsilon X + eta~ X^2 / T;
    V = 1/3 sigma^2 X^2 T (1 - 1/N)(1 - 1/(2N)) (paper, section 2).
    """
    tau = _check_grid(shares, horizon, n_periods)
    trajectory = shares * (1.0 - np.arange(n_periods + 1, dtype=np.float64) / n_periods)
    return _plan(params, shares, horizon, n_periods, 0.0, 0.0, trajectory, tau=tau)


def immediate_execution(params: AlmgrenChrissParams, shares: float, horizon: float, n_periods: int) -> ExecutionPlan:
    """Everything in the first period: minimum variance (V = 0), ``lambda -> inf`` extreme.

    E = epsilon X + eta X^2 / tau (paper, section 2).
    """
    tau = _check_grid(shares, horizon, n_periods)
    trajectory = np.zeros(n_periods + 1, dtype=np.float64)
    trajectory[0] = shares
    return _plan(params, shares, horizon, n_periods, math.inf, math.inf, trajectory, tau=tau)


def efficient_frontier(
    params: AlmgrenChrissParams,
    shares: float,
    horizon: float,
    n_periods: int,
    risk_aversions: FloatArray,
) -> EfficientFrontier:
    """Optimal (E, V) for each ``lambda`` in ``risk_aversions`` plus the two extremes."""
    lam = np.asarray(risk_aversions, dtype=np.float64)
    plans = [optimal_trajectory(params, shares, horizon, n_periods, float(value)) for value in lam]
    return EfficientFrontier(
        risk_aversion=lam.copy(),
        kappa=np.array([p.kappa for p in plans], dtype=np.float64),
        expected_cost=np.array([p.expected_cost for p in plans], dtype=np.float64),
        variance=np.array([p.variance for p in plans], dtype=np.float64),
        linear=linear_execution(params, shares, horizon, n_periods),
        immediate=immediate_execution(params, shares, horizon, n_periods),
    )


def expected_cost(params: AlmgrenChrissParams, trajectory: FloatArray, tau: float) -> float:
    """E of any trajectory ``x_0..x_N``: ``1/2 gamma X^2 + epsilon sum|n_k| + (eta~/tau) sum n_k^2``
    ($, paper section 2). Valid for non-monotone trajectories too, provided
    ``x_N = 0``."""
    x = np.asarray(trajectory, dtype=np.float64)
    n = x[:-1] - x[1:]
    et = eta_tilde(params, tau)
    return float(0.5 * params.gamma * x[0] ** 2 + params.epsilon * np.sum(np.abs(n)) + et / tau * np.dot(n, n))


def cost_variance(params: AlmgrenChrissParams, trajectory: FloatArray, tau: float) -> float:
    """V of any trajectory: ``sigma^2 tau sum_{k=1..N} x_k^2`` ($^2, paper section 2)."""
    x = np.asarray(trajectory, dtype=np.float64)[1:]
    return float(params.sigma**2 * tau * np.dot(x, x))


def risk_aversion_for_urgency(urgency: Urgency, params: AlmgrenChrissParams, horizon: float, n_periods: int) -> float:
    """``lambda`` (1/$) whose optimal schedule over ``horizon`` has ``kappa T`` equal to the
    urgency's value in :data:`URGENCY_KAPPA_T` (independent of X: kappa does not depend on it)."""
    tau = horizon / n_periods
    kappa = URGENCY_KAPPA_T[urgency] / horizon
    return risk_aversion_from_kappa(kappa, params.sigma, eta_tilde(params, tau), tau)


def risk_aversion_per_bps(risk_aversion: float, shares: float, price: float) -> float:
    """``lambda_bps = lambda X S_0 1e-4``: the same preference with E in bps and Var in bps^2
    (see the module docstring)."""
    return risk_aversion * shares * price * 1e-4


def risk_aversion_from_per_bps(risk_aversion_bps: float, shares: float, price: float) -> float:
    """Inverse of :func:`risk_aversion_per_bps`."""
    return risk_aversion_bps / (shares * price * 1e-4)


def _sinh_ratio(kappa: float, horizon: float, times: FloatArray) -> FloatArray:
    """``sinh(kappa (T - t)) / sinh(kappa T)`` without overflow or 0/0.

    Written as ``exp(-kappa t) * expm1(-2 kappa (T - t)) / expm1(-2 kappa T)``, exact for all
    ``kappa > 0``; ``kappa = 0`` is the linear limit ``(T - t) / T``.
    """
    remaining = horizon - times
    if kappa == 0.0:
        out: FloatArray = remaining / horizon
        return out
    out = np.exp(-kappa * times) * np.expm1(-2.0 * kappa * remaining) / np.expm1(-2.0 * kappa * horizon)
    return out


def _plan(
    params: AlmgrenChrissParams,
    shares: float,
    horizon: float,
    n_periods: int,
    risk_aversion: float,
    kappa: float,
    trajectory: FloatArray,
    tau: float | None = None,
) -> ExecutionPlan:
    tau = horizon / n_periods if tau is None else tau
    et = eta_tilde(params, tau)
    trajectory[-1] = 0.0  # exact completion (round-off in the sinh ratio)
    times = np.arange(n_periods + 1, dtype=np.float64) * tau
    times[-1] = horizon
    trade_list = trajectory[:-1] - trajectory[1:]
    for array in (trajectory, times, trade_list):
        array.flags.writeable = False  # a plan is a value: copy it to edit
    return ExecutionPlan(
        shares=shares,
        horizon=horizon,
        n_periods=n_periods,
        tau=tau,
        risk_aversion=risk_aversion,
        eta_tilde=et,
        kappa_tilde_sq=math.inf if math.isinf(risk_aversion) else risk_aversion * params.sigma**2 / et,
        kappa=kappa,
        times=times,
        trajectory=trajectory,
        trade_list=trade_list,
        expected_cost=expected_cost(params, trajectory, tau),
        variance=cost_variance(params, trajectory, tau),
    )


def _check_grid(shares: float, horizon: float, n_periods: int) -> float:
    if not (math.isfinite(shares) and shares > 0.0):
        raise ValueError(f"shares to trade must be a positive number, got {shares}")
    if not (math.isfinite(horizon) and horizon > 0.0):
        raise ValueError(f"horizon T must be positive, got {horizon}")
    if isinstance(n_periods, bool) or int(n_periods) != n_periods or n_periods < 1:
        raise ValueError(f"number of periods N must be an integer >= 1, got {n_periods}")
    return horizon / n_periods
