"""Monte Carlo distribution of the implementation shortfall of an execution schedule.

Price dynamics are those of Almgren & Chriss (2000), section 2 (arithmetic random walk)::

    S~_k = S_{k-1} + side * offset_k                       execution price of child k
    S_k  = S_{k-1} + sigma_step * xi_k + side * perm_k      mid after period k

with ``side = +1`` for a buy program and ``-1`` for a sell (the paper's liquidation) and the
child sizes ``n_k = x_{k-1} - x_k`` taken from a holdings array ``x_0..x_N``.
Shortfall ($) = ``side * (sum_k n_k S~_k - X S_0)``, positive = cost; in bps of ``X S_0``.

- :func:`simulate_ac_costs`: the AC model itself, ``offset_k = epsilon sgn(n_k) + eta n_k / tau``
  (temporary impact ``h``), ``perm_k = gamma n_k`` (``tau g(n_k / tau)``),
  ``sigma_step = sigma sqrt(tau)``. Its sample mean and variance converge to the closed-form
  E and V of :mod:`core.analytics.almgren_chriss`.
- :func:`simulate_transient_costs`: a crypto schedule under the transient (propagator)
  impact model of :class:`core.analytics.impact.TransientImpactModel`:
  ``offset_k = S_0 1e-4 (fixed_cost_bps + I_k)`` where ``I_k`` is the period-average impact
  (already accounts for all earlier children and its decay, so ``perm_k = 0``), and
  ``sigma_step = S_0 sigma_per_sqrt_s sqrt(period_s)``, ``sigma_per_sqrt_s`` being the
  return volatility per sqrt(second) (daily sigma / sqrt(86400)).

Random numbers and determinism: path ``p`` draws its normals from its own counter-based
stream, a SplitMix64 generator (G. Steele, D. Lea, C. Flood, "Fast splittable pseudorandom
number generators", OOPSLA 2014) whose state starts at a hash of ``(seed, p)``; normals come
from Marsaglia's polar method. A path's numbers therefore depend only on the seed and the path
index, and results are bit-identical whatever the number of threads.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from core.analytics.impact import AlmgrenChrissParams, TransientImpactModel

FloatArray = npt.NDArray[np.float64]

SECONDS_PER_DAY: float = 86_400.0

# Serializes calls into the parallel kernels: numba's fallback "workqueue" threading layer
# aborts on concurrent launches from several executor threads (omp and tbb do not).
_PARALLEL_LAUNCH_LOCK = threading.Lock()

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_POW_M53 = 1.0 / 9007199254740992.0


@dataclass(frozen=True, slots=True)
class CostDistribution:
    """Simulated implementation shortfall of a schedule (positive = cost).

    ``samples_usd``/``samples_bps`` hold one value per path (bps of ``X S_0``).
    ``prob_exceed_limit`` is the share of paths costing more than ``limit_bps`` (None when no
    limit was given). Percentiles use linear interpolation between order statistics.
    """

    n_paths: int
    seed: int
    notional_usd: float
    mean_usd: float
    std_usd: float
    mean_bps: float
    std_bps: float
    p05_bps: float
    p50_bps: float
    p95_bps: float
    limit_bps: float | None
    prob_exceed_limit: float | None
    samples_usd: FloatArray
    samples_bps: FloatArray


def simulate_ac_costs(
    params: AlmgrenChrissParams,
    holdings: FloatArray,
    horizon: float,
    price: float,
    n_paths: int,
    seed: int,
    side: int = -1,
    limit_bps: float | None = None,
) -> CostDistribution:
    """Shortfall distribution of ``holdings`` (``x_0..x_N``, ``x_N = 0``) under the AC model.

    ``horizon`` and ``params`` use the same time unit (the paper: days); ``tau = horizon / N``.
    Default ``side=-1`` is the paper's liquidation.
    """
    x = _check_holdings(holdings)
    if not (math.isfinite(horizon) and horizon > 0.0):
        raise ValueError(f"horizon must be positive, got {horizon}")
    tau = horizon / (x.shape[0] - 1)
    trades = x[:-1] - x[1:]
    offset = params.epsilon * np.sign(trades) + params.eta * trades / tau
    perm = params.gamma * trades
    return _distribution(trades, offset, perm, params.sigma * math.sqrt(tau), price, side, n_paths, seed, limit_bps)


def simulate_transient_costs(
    model: TransientImpactModel,
    holdings: FloatArray,
    period_s: float,
    price: float,
    sigma_daily: float,
    daily_volume: float,
    n_paths: int,
    seed: int,
    side: int,
    fixed_cost_bps: float = 0.0,
    limit_bps: float | None = None,
) -> CostDistribution:
    """Shortfall distribution of a crypto schedule under transient (propagator) impact.

    ``holdings`` ``x_0..x_N`` in base units at ``t_k = k period_s`` seconds; ``sigma_daily`` is
    the daily return volatility (fraction), converted to ``sigma_daily / sqrt(86400)`` per
    sqrt(second); ``fixed_cost_bps`` (half spread plus taker fee) is paid on every child.
    """
    x = _check_holdings(holdings)
    if not (math.isfinite(period_s) and period_s > 0.0):
        raise ValueError(f"period_s must be positive, got {period_s}")
    trades = x[:-1] - x[1:]
    impact_bps = model.period_average_impact_bps(trades, period_s, daily_volume)
    offset = price * 1e-4 * (fixed_cost_bps * np.sign(trades) + impact_bps * np.sign(trades))
    perm = np.zeros_like(trades)
    sigma_step = price * sigma_daily / math.sqrt(SECONDS_PER_DAY) * math.sqrt(period_s)
    return _distribution(trades, offset, perm, sigma_step, price, side, n_paths, seed, limit_bps)


def simulate_shortfall_paths(
    trades: FloatArray,
    exec_offset: FloatArray,
    perm_step: FloatArray,
    sigma_step: float,
    price: float,
    side: int,
    n_paths: int,
    seed: int,
) -> FloatArray:
    """Raw kernel call: shortfall in $ for each path (see the module docstring for the model)."""
    if side not in (1, -1):
        raise ValueError(f"side must be +1 (buy) or -1 (sell), got {side}")
    if n_paths < 1:
        raise ValueError(f"n_paths must be >= 1, got {n_paths}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed}")
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (trades, exec_offset, perm_step)]
    if not arrays[0].shape == arrays[1].shape == arrays[2].shape:
        raise ValueError("trades, exec_offset and perm_step must have the same length")
    with _PARALLEL_LAUNCH_LOCK:
        out: FloatArray = _shortfall_kernel(
            arrays[0],
            arrays[1],
            arrays[2],
            float(sigma_step),
            float(price),
            float(side),
            int(n_paths),
            np.uint64(seed),
        )
    return out


def standard_normal_paths(seed: int, n_paths: int, n_steps: int) -> FloatArray:
    """The normals ``xi[p, k]`` the shortfall kernel draws for ``seed`` (for tests and reuse)."""
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed}")
    with _PARALLEL_LAUNCH_LOCK:
        out: FloatArray = _normals_kernel(np.uint64(seed), int(n_paths), int(n_steps))
    return out


def _distribution(
    trades: FloatArray,
    offset: FloatArray,
    perm: FloatArray,
    sigma_step: float,
    price: float,
    side: int,
    n_paths: int,
    seed: int,
    limit_bps: float | None,
) -> CostDistribution:
    if not (math.isfinite(price) and price > 0.0):
        raise ValueError(f"price must be positive, got {price}")
    samples = simulate_shortfall_paths(trades, offset, perm, sigma_step, price, side, n_paths, seed)
    notional = float(np.sum(trades)) * price  # X S_0, since x_N = 0
    bps = samples / notional * 1e4
    p05, p50, p95 = (float(v) for v in np.percentile(bps, [5.0, 50.0, 95.0]))
    ddof = 1 if n_paths > 1 else 0
    return CostDistribution(
        n_paths=n_paths,
        seed=seed,
        notional_usd=notional,
        mean_usd=float(samples.mean()),
        std_usd=float(samples.std(ddof=ddof)),
        mean_bps=float(bps.mean()),
        std_bps=float(bps.std(ddof=ddof)),
        p05_bps=p05,
        p50_bps=p50,
        p95_bps=p95,
        limit_bps=limit_bps,
        prob_exceed_limit=None if limit_bps is None else float(np.mean(bps > limit_bps)),
        samples_usd=samples,
        samples_bps=bps,
    )


def _check_holdings(holdings: FloatArray) -> FloatArray:
    x = np.asarray(holdings, dtype=np.float64)
    if x.ndim != 1 or x.shape[0] < 2:
        raise ValueError("holdings must be a 1-D array x_0..x_N with N >= 1")
    if not np.all(np.isfinite(x)):
        raise ValueError("holdings must be finite")
    if x[0] <= 0.0:
        raise ValueError(f"holdings must start at the block size x_0 > 0, got {x[0]}")
    if x[-1] != 0.0:
        raise ValueError(f"holdings must end at x_N = 0 (schedule completes), got {x[-1]}")
    return x


# --------------------------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finalizer (a bijective 64-bit hash)."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True)
def _path_state(seed: np.uint64, path: int) -> np.uint64:
    return _mix64(_mix64(seed) ^ _mix64(np.uint64(path) * _GOLDEN + _GOLDEN))


@njit(cache=True, nogil=True)
def _polar_pair(state: np.uint64) -> tuple[np.uint64, float, float]:
    """Two independent N(0, 1) by Marsaglia's polar method; returns the advanced state."""
    while True:
        state = state + _GOLDEN
        u1 = float(_mix64(state) >> _S11) * _TWO_POW_M53
        state = state + _GOLDEN
        u2 = float(_mix64(state) >> _S11) * _TWO_POW_M53
        a = 2.0 * u1 - 1.0
        b = 2.0 * u2 - 1.0
        s = a * a + b * b
        if 0.0 < s < 1.0:
            f = math.sqrt(-2.0 * math.log(s) / s)
            return state, a * f, b * f


@njit(cache=True, nogil=True, parallel=True)
def _shortfall_kernel(
    trades: FloatArray,
    exec_offset: FloatArray,
    perm_step: FloatArray,
    sigma_step: float,
    price: float,
    side: float,
    n_paths: int,
    seed: np.uint64,
) -> FloatArray:
    n_steps = trades.shape[0]
    total = 0.0
    for k in range(n_steps):
        total += trades[k]
    out = np.empty(n_paths, dtype=np.float64)
    for p in prange(n_paths):
        state = _path_state(seed, p)
        mid = price
        paid = 0.0
        spare = 0.0
        have_spare = False
        for k in range(n_steps):
            paid += trades[k] * (mid + side * exec_offset[k])
            if have_spare:
                xi = spare
                have_spare = False
            else:
                state, xi, spare = _polar_pair(state)
                have_spare = True
            mid += sigma_step * xi + side * perm_step[k]
        out[p] = side * (paid - total * price)
    return out


@njit(cache=True, nogil=True, parallel=True)
def _normals_kernel(seed: np.uint64, n_paths: int, n_steps: int) -> FloatArray:
    out = np.empty((n_paths, n_steps), dtype=np.float64)
    for p in prange(n_paths):
        state = _path_state(seed, p)
        k = 0
        while k < n_steps:
            state, z0, z1 = _polar_pair(state)
            out[p, k] = z0
            if k + 1 < n_steps:
                out[p, k + 1] = z1
            k += 2
    return out
