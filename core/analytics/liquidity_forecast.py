"""Short-horizon liquidity forecasts per venue from public data: traded volume and near-touch depth
over the next ``horizon_s`` seconds, and the probability of a volume burst within that horizon.

Inputs are the same public messages the surveillance detectors read (`BookUpdate`, `Trades`); the
state is a handful of exponentially weighted rates per venue, updated once a second.

- Volume: ``E[V(t, t+H)] = H * exp(b0 + b . f)`` — a log-linear blend of the fast and slow
  volume rates, the trade-count rate and the spread/volatility state (fitted by least squares on
  log volume, training seeds only). A naive forecast (the slow rate times H) is the benchmark.
- Depth near the touch (both sides, within ``depth_band_bps`` of each side's best) at t + H:
  the same form on the depth features.
- Burst: a *volume burst* is ``V(t, t+H) >= burst_mult x`` the venue's typical H-volume (the
  median over the last ``baseline_s``). ``P(burst) = sigmoid(c0 + c . f)`` (ridge logistic,
  `core.analytics.dip_classifier.fit_logistic`); calibration is reported on held-out seeds.

Feature vector (`FEATURES`), all relative to the venue's own slow baseline so one model serves
venues of different size: log fast/slow volume rate, log slow rate/typical rate, log trade-count
rate ratio, log near-touch depth / its slow mean, log spread / its slow mean, absolute mid move
over the last minute in bps.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.analytics.dip_classifier import fit_logistic
from core.events import BookUpdate, Trades

FloatArray = npt.NDArray[np.float64]

FEATURES: tuple[str, ...] = (
    "log_vol_fast_slow",  # log(fast volume rate / slow volume rate)
    "log_vol_slow_typical",  # log(slow volume rate / typical rate over the baseline)
    "log_trades_fast_slow",  # log(fast trade-count rate / slow trade-count rate)
    "log_depth_rel",  # log(near-touch depth now / its slow mean)
    "log_spread_rel",  # log(spread now / its slow mean)
    "abs_move_bps",  # |mid move| over the last 60 s, bps
)


@dataclass(frozen=True, slots=True)
class LiquidityConfig:
    horizon_s: int = 300  # forecast horizon
    fast_half_life_s: float = 30.0
    slow_half_life_s: float = 900.0
    baseline_s: int = 3600  # typical H-volume: median over this much history
    burst_mult: float = 3.0  # a burst: the next H's volume is at least this x the typical H-volume
    depth_band_bps: float = 10.0
    warmup_s: int = 900  # no forecast before this much history


@dataclass(frozen=True, slots=True)
class LiquidityModel:
    """Fitted coefficients (intercept first) of the three heads on `FEATURES`."""

    volume: tuple[float, ...]  # log(V_H / (H * slow rate)) = volume . [1, f]
    depth: tuple[float, ...]  # log(depth_{t+H} / slow mean depth) = depth . [1, f]
    burst: tuple[float, ...]  # logit P(burst) = burst . [1, f]
    trained_on: str = ""


# Fitted by `python -m bench.eval_surveillance fit-liquidity` on training seeds only (>= 1,000,000).
DEFAULT_LIQUIDITY_MODEL = LiquidityModel(
    volume=(0.246113, 0.0809955, -0.921448, -0.053346, -0.00398926, -0.0423026, -0.00394523),
    depth=(-0.138549, -0.0199578, -0.186147, -0.162996, 0.0955061, 0.00706527, -0.00108108),
    burst=(-1.73618, 0.218397, 0.20874, -0.386975, -0.0389926, 0.0460176, -0.0136685),
    trained_on='seeds 1000001-1000012 (12 x 4 h), 15876 samples, 2312 bursts',
)


@dataclass(frozen=True, slots=True)
class LiquidityForecast:
    venue: str
    ts: float
    horizon_s: float
    volume: float  # expected traded volume over the horizon, base units
    volume_naive: float  # slow rate x horizon (the benchmark)
    depth: float  # expected near-touch depth (both sides) at the horizon, base units
    p_burst: float  # P(volume >= burst_mult x typical over the horizon)
    typical_volume: float  # the venue's typical volume per horizon (median)


class _Venue:
    def __init__(self, cfg: LiquidityConfig) -> None:
        self.cfg = cfg
        self.sec = -1
        self.vol_sec = 0.0
        self.trades_sec = 0.0
        self.mid = math.nan
        self.depth = math.nan
        self.spread = math.nan
        self.vol_fast = self.vol_slow = self.tr_fast = self.tr_slow = 0.0
        self.depth_slow = self.spread_slow = math.nan
        self.n = 0
        self.hist_vol: deque[float] = deque(maxlen=cfg.baseline_s)
        self.mids: deque[float] = deque(maxlen=61)

    def close_second(self) -> None:
        cfg = self.cfg
        af = 1.0 - 0.5 ** (1.0 / cfg.fast_half_life_s)
        a_s = max(1.0 - 0.5 ** (1.0 / cfg.slow_half_life_s), 1.0 / (self.n + 1))
        self.vol_fast += af * (self.vol_sec - self.vol_fast)
        self.vol_slow += a_s * (self.vol_sec - self.vol_slow)
        self.tr_fast += af * (self.trades_sec - self.tr_fast)
        self.tr_slow += a_s * (self.trades_sec - self.tr_slow)
        if math.isfinite(self.depth):
            self.depth_slow = self.depth if not math.isfinite(self.depth_slow) else (
                self.depth_slow + a_s * (self.depth - self.depth_slow))
        if math.isfinite(self.spread):
            self.spread_slow = self.spread if not math.isfinite(self.spread_slow) else (
                self.spread_slow + a_s * (self.spread - self.spread_slow))
        self.hist_vol.append(self.vol_sec)
        self.mids.append(self.mid)
        self.n += 1
        self.vol_sec = 0.0
        self.trades_sec = 0.0

    def typical_h_volume(self) -> float:
        h = self.cfg.horizon_s
        v = np.fromiter(self.hist_vol, float, len(self.hist_vol))
        n = len(v) // h
        if n == 0:
            return math.nan
        return float(np.median(v[len(v) - n * h:].reshape(n, h).sum(axis=1)))

    def features(self) -> FloatArray:
        eps = 1e-9
        typical = self.typical_h_volume() / self.cfg.horizon_s
        move = abs(self.mids[-1] - self.mids[0]) / self.mids[0] * 1e4 if len(self.mids) > 1 else 0.0
        return np.array([
            math.log((self.vol_fast + eps) / (self.vol_slow + eps)),
            math.log((self.vol_slow + eps) / (typical + eps)) if math.isfinite(typical) else 0.0,
            math.log((self.tr_fast + eps) / (self.tr_slow + eps)),
            math.log((self.depth + eps) / (self.depth_slow + eps)) if math.isfinite(self.depth_slow) else 0.0,
            math.log((self.spread + eps) / (self.spread_slow + eps)) if math.isfinite(self.spread_slow) else 0.0,
            move if math.isfinite(move) else 0.0,
        ])


class LiquidityForecaster:
    """Per-venue liquidity state from public messages; `forecast(venue)` once warmed up."""

    def __init__(self, config: LiquidityConfig | None = None, model: LiquidityModel = DEFAULT_LIQUIDITY_MODEL) -> None:
        self.cfg = config or LiquidityConfig()
        self.model = model
        self._venues: dict[str, _Venue] = {}
        self._vol = np.asarray(model.volume)
        self._depth = np.asarray(model.depth)
        self._burst = np.asarray(model.burst)

    def on_book(self, book: BookUpdate) -> None:
        v = self._venue(book.venue, book.ts)
        if len(book.bid_px) and len(book.ask_px):
            mid = book.mid
            band = self.cfg.depth_band_bps * 1e-4 * mid
            bb, ba = float(book.bid_px[0]), float(book.ask_px[0])
            v.mid = mid
            v.spread = (ba - bb) / mid * 1e4
            v.depth = float(book.bid_qty[book.bid_px >= bb - band].sum() + book.ask_qty[book.ask_px <= ba + band].sum())

    def on_trades(self, trades: Trades) -> None:
        v = self._venue(trades.venue, trades.ts)
        v.vol_sec += float(trades.qty.sum())
        v.trades_sec += len(trades.qty)

    def _venue(self, name: str, ts: float) -> _Venue:
        v = self._venues.get(name)
        if v is None:
            v = self._venues[name] = _Venue(self.cfg)
        sec = math.floor(ts)
        if v.sec < 0:
            v.sec = sec
        while v.sec < sec:  # close every elapsed second (silent seconds count as zero volume)
            v.close_second()
            v.sec += 1
        return v

    def ready(self, venue: str) -> bool:
        v = self._venues.get(venue)
        return v is not None and v.n >= self.cfg.warmup_s

    def features(self, venue: str) -> FloatArray:
        return self._venues[venue].features()

    def baseline(self, venue: str) -> tuple[float, float, float]:
        """(slow volume rate per s, slow mean near-touch depth, typical volume per horizon) of `venue`."""
        v = self._venues[venue]
        return v.vol_slow, v.depth_slow, v.typical_h_volume()

    def forecast(self, venue: str) -> LiquidityForecast | None:
        """The forecast for the next `horizon_s` on `venue`, or None before warm-up."""
        if not self.ready(venue):
            return None
        v = self._venues[venue]
        x = np.concatenate([[1.0], v.features()])
        h = self.cfg.horizon_s
        naive = v.vol_slow * h
        volume = naive * math.exp(float(x @ self._vol))
        depth = v.depth_slow * math.exp(float(x @ self._depth)) if math.isfinite(v.depth_slow) else math.nan
        p = 1.0 / (1.0 + math.exp(-float(x @ self._burst)))
        return LiquidityForecast(venue, float(v.sec), h, volume, naive, depth, p, v.typical_h_volume())


def fit_liquidity(x: FloatArray, log_vol_ratio: FloatArray, log_depth_ratio: FloatArray,
                  burst: FloatArray, l2: float = 1.0, trained_on: str = "") -> LiquidityModel:
    """Least squares for the two log-ratio heads (ridge `l2` on the slopes), ridge logistic for the burst."""
    a = np.hstack([np.ones((len(x), 1)), x])
    pen = np.eye(a.shape[1]) * l2
    pen[0, 0] = 0.0

    def ridge(y: FloatArray) -> tuple[float, ...]:
        ok = np.isfinite(y)
        w = np.linalg.solve(a[ok].T @ a[ok] + pen, a[ok].T @ y[ok])
        return tuple(float(c) for c in w)

    coef, intercept = fit_logistic(x, burst, l2)
    return LiquidityModel(ridge(log_vol_ratio), ridge(log_depth_ratio),
                          (float(intercept), *(float(c) for c in coef)), trained_on)
