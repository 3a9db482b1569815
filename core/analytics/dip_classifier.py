"""Transient dip vs informed move: detect a fast price move on a venue, describe it later, classify it.

Later is `DipConfig.horizon_s` after the onset: 60 s (the issue's protocol, `DEFAULT_MODEL`), or
20 s (`EARLY_HORIZON_S`, `EARLY_MODEL`: the look surveillance and the execution policy use).

A *transient dip* (a liquidation flush, a fat finger) is pressure on one venue's book that the
rest of the market does not share: the venue drops on heavy one-sided volume, the other venues
follow only part of the way, the side that was hit refills and the price partly recovers. An
*informed move* is the whole market re-pricing: every venue moves together, little volume is
needed, there is no recovery and often follow-through. A transient dip favours buyers (and a
seller should hold back); an informed move against us calls for trading faster.

Public data only (L2 books, trades; no event schedule, no clock but the data's timestamps).

- `DipMonitor` — per venue, on per-second summaries of mid, extremes, traded volume by aggressor
  and the depth near the mid on each side: an onset is a move of at least ``onset_bps`` from the
  running high (low) of the last ``lookback_s``; the onset time is that high's (low's) second.
  At onset + ``horizon_s`` it computes the features (`FEATURES`) and the classifier's probability.
- `DipClassifier` — logistic regression on standardized features: P(transient | features).
- `fit_logistic` — deterministic Newton-Raphson (IRLS) with an L2 penalty, numpy only.

Sign convention: every feature is measured in the direction of the move (a down-move and an
up-move of the same shape have the same features); ``direction`` is -1 for a dip (price down)
and +1 for a spike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from core.events import BookUpdate, Trades

FloatArray = npt.NDArray[np.float64]

# The model's inputs. The move's size itself ("drop_bps" in `Dip.features`, the largest excursion
# within the horizon in bps of the pre-onset mid) is described but deliberately not an input: a
# classifier must separate transient from informed moves of the same size.
FEATURES: tuple[str, ...] = (
    "retained",  # move still in place at the horizon / largest excursion (1 = no recovery, >1 follow-through)
    "others_follow",  # the other venues' move over the same window / this venue's excursion (median)
    "dislocation",  # (this venue's mid - the others' median mid) at the horizon, in the move's direction / excursion
    "log_volume_spike",  # log of move-direction volume in the window / the venue's typical volume per window
    "log_refill",  # log of the hit side's depth near its touch at the horizon / before the onset
    "log_spread_ratio",  # log of the spread at the horizon / before the onset (a liquidity vacuum stays wide)
    "aggressor_share",  # share of the window's volume traded in the move's direction
)


@dataclass(frozen=True, slots=True)
class DipConfig:
    onset_bps: float = 30.0  # a move of at least this from the running high/low starts a dip
    lookback_s: int = 30  # running high/low window
    onset_near_frac: float = 0.25  # the onset is the last second the mid was within this share of onset_bps
    #                               of the running high (low)
    horizon_s: int = 60  # features are computed this long after the onset
    refractory_s: int = 300  # no new onset on a venue for this long after one
    depth_band_bps: float = 10.0  # "depth near the touch": within this many bps behind the side's best price
    volume_baseline_s: int = 1800  # typical volume per horizon: median over this much history
    history_s: int = 4096  # per-second ring buffer length (>= volume_baseline_s + horizon_s + lookback_s)


@dataclass(frozen=True, slots=True)
class DipModel:
    """A fitted logistic model: P(transient) = sigmoid(intercept + coef . (x - mean) / scale)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    trained_on: str = ""


# Fitted by `python -m bench.eval_surveillance fit-dips` on training seeds only (>= 1,000,000); see docs/ai.md.
DEFAULT_MODEL = DipModel(
    features=FEATURES,
    mean=(0.770624, 0.808206, -0.0121393, 2.74529, 0.530642, 1.03737, 0.841904),
    scale=(0.29138, 0.241883, 0.0858852, 0.861708, 1.6269, 1.2759, 0.0672923),
    coef=(-1.85133, -1.20095, 0.429482, 2.74154, -0.374863, 0.623837, -2.47359),
    intercept=-0.808795,
    trained_on='seeds 1000001-1000016 (16 x 4 h), 185 flush / 209 informed, l2=1',
)


# The early look the execution policy acts on (core/analytics/surveillance.py): 20 s after the
# onset a flush's dip is still there (in the simulator it is mostly gone by 60 s), and the
# venue's dislocation from the others already separates it from a market-wide informed move.
EARLY_HORIZON_S = 20
# Fitted by `python -m bench.eval_surveillance fit-dips --horizon 20` on training seeds only; see docs/ai.md.
EARLY_MODEL = DipModel(
    features=FEATURES,
    mean=(0.943131, 0.852402, 0.126826, 3.58563, 1.62256, 1.46444, 0.876894),
    scale=(0.130677, 0.204556, 0.166279, 0.771439, 1.03574, 1.47972, 0.0651088),
    coef=(-1.48532, -0.450407, 2.87644, 1.37177, 0.172093, 0.735771, -2.15804),
    intercept=-0.30746,
    trained_on='seeds 1000001-1000016 (16 x 4 h), 185 flush / 209 informed, l2=1, features 20 s after the onset',
)


def model_for(horizon_s: int) -> DipModel:
    """The fitted model for features computed `horizon_s` after the onset (60 s or the early 20 s)."""
    models = {DipConfig().horizon_s: DEFAULT_MODEL, EARLY_HORIZON_S: EARLY_MODEL}
    if horizon_s not in models:
        raise ValueError(f"no dip model is fitted for a {horizon_s} s horizon; use one of {sorted(models)} "
                         f"or fit one (python -m bench.eval_surveillance fit-dips --horizon {horizon_s})")
    return models[horizon_s]


class DipClassifier:
    """P(transient dip) from the `FEATURES` vector (deterministic; no state)."""

    def __init__(self, model: DipModel = DEFAULT_MODEL) -> None:
        if tuple(model.features) != FEATURES:
            raise ValueError(f"model features {model.features} do not match {FEATURES}; refit the model")
        self.model = model
        self._mean = np.asarray(model.mean, dtype=np.float64)
        self._scale = np.asarray(model.scale, dtype=np.float64)
        self._coef = np.asarray(model.coef, dtype=np.float64)

    def predict_proba(self, x: FloatArray | Sequence[float]) -> FloatArray:
        """Probabilities for one feature vector (shape (k,)) or a matrix (n, k); nan features count as the mean."""
        a = np.asarray(x, dtype=np.float64)
        z = (a - self._mean) / self._scale
        z = np.where(np.isfinite(z), z, 0.0)
        out: FloatArray = _sigmoid(self.model.intercept + z @ self._coef)
        return out

    @staticmethod
    def fit(x: FloatArray, y: npt.NDArray[np.int64] | FloatArray, l2: float = 1.0, trained_on: str = "") -> DipModel:
        """Standardize, then fit a ridge logistic regression (deterministic)."""
        x = np.asarray(x, dtype=np.float64)
        mean = np.nanmean(x, axis=0)
        scale = np.nanstd(x, axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        z = np.where(np.isfinite(x), (x - mean) / scale, 0.0)
        coef, intercept = fit_logistic(z, np.asarray(y, dtype=np.float64), l2)
        return DipModel(FEATURES, tuple(float(v) for v in mean), tuple(float(v) for v in scale),
                        tuple(float(v) for v in coef), float(intercept), trained_on)


def fit_logistic(x: FloatArray, y: FloatArray, l2: float = 1.0, max_iter: int = 100,
                 tol: float = 1e-10) -> tuple[FloatArray, float]:
    """Ridge logistic regression by Newton-Raphson; the intercept is not penalized. Deterministic."""
    n, k = x.shape
    a = np.hstack([np.ones((n, 1)), x])
    w = np.zeros(k + 1)
    pen = np.full(k + 1, l2)
    pen[0] = 0.0
    for _ in range(max_iter):
        p = _sigmoid(a @ w)
        grad = a.T @ (p - y) + pen * w
        hess = (a * (p * (1.0 - p))[:, None]).T @ a + np.diag(pen) + 1e-9 * np.eye(k + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.max(np.abs(step))) < tol:
            break
    return w[1:].copy(), float(w[0])


def _sigmoid(z: FloatArray | float) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64))))


# --------------------------------------------------------------------------------------------
# Detection and features
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Dip:
    """One detected move and, once its horizon has passed, its features and P(transient)."""

    venue: str
    onset_ts: float
    detect_ts: float
    direction: int  # -1 price down, +1 price up
    pre_mid: float
    features: dict[str, float] = field(default_factory=dict)
    p_transient: float = math.nan
    scored_ts: float = math.nan

    def vector(self) -> FloatArray:
        return np.array([self.features.get(f, math.nan) for f in FEATURES])


REFILL_FLOOR = 0.05  # share of the pre-onset depth added to both sides of the refill ratio
REFILL_CLIP = 3.0  # |log refill| is capped here

# columns of the per-second ring buffer
_MID, _LO, _HI, _BUY, _SELL, _DBID, _DASK, _SPREAD, _NCOL = 0, 1, 2, 3, 4, 5, 6, 7, 8


class _Series:
    """Per-second summaries of one venue in a ring buffer indexed by epoch second."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.rows: FloatArray = np.full((n, _NCOL), np.nan)
        self.stamp = np.full(n, -1, dtype=np.int64)
        self.last_sec = -1

    def row(self, sec: int) -> FloatArray:
        i = sec % self.n
        if self.stamp[i] != sec:
            self.stamp[i] = sec
            r = self.rows[i]
            r[:] = np.nan
            r[_BUY] = 0.0
            r[_SELL] = 0.0
        row: FloatArray = self.rows[i]
        return row

    def get(self, sec0: int, sec1: int, col: int) -> FloatArray:
        """Column values for seconds [sec0, sec1] (nan where unseen)."""
        secs = np.arange(sec0, sec1 + 1)
        idx = secs % self.n
        ok = self.stamp[idx] == secs
        out: FloatArray = np.where(ok, self.rows[idx, col], np.nan)
        return out

    def mid_at(self, sec: int) -> float:
        """Last mid known at the end of `sec` (carried forward over silent seconds, up to 60 s)."""
        for s in range(sec, sec - 60, -1):
            i = s % self.n
            if self.stamp[i] == s and math.isfinite(self.rows[i, _MID]):
                return float(self.rows[i, _MID])
        return math.nan


class DipMonitor:
    """Detects dips/spikes on every venue and scores them `horizon_s` after their onset."""

    def __init__(self, config: DipConfig | None = None, classifier: DipClassifier | None = None,
                 on_scored: Callable[[Dip], None] | None = None) -> None:
        self.cfg = config or DipConfig()
        self.classifier = classifier or DipClassifier(model_for(self.cfg.horizon_s))
        self.on_scored = on_scored
        self._series: dict[str, _Series] = {}
        self._pending: list[Dip] = []
        self._last_onset: dict[str, float] = {}
        self.dips: list[Dip] = []

    def on_book(self, book: BookUpdate) -> None:
        mid = book.mid
        if not math.isfinite(mid):
            return
        s = self._series.get(book.venue)
        if s is None:
            s = self._series[book.venue] = _Series(self.cfg.history_s)
        sec = math.floor(book.ts)
        new_second = sec != s.last_sec
        if new_second and s.last_sec >= 0:
            self._second_closed(book.venue, s, s.last_sec)
        r = s.row(sec)
        r[_MID] = mid
        r[_LO] = mid if not math.isfinite(r[_LO]) else min(r[_LO], mid)
        r[_HI] = mid if not math.isfinite(r[_HI]) else max(r[_HI], mid)
        if new_second:  # depth once a second is enough for a refill rate
            band = self.cfg.depth_band_bps * 1e-4 * mid
            bb, ba = float(book.bid_px[0]), float(book.ask_px[0])
            r[_DBID] = float(book.bid_qty[book.bid_px >= bb - band].sum())
            r[_DASK] = float(book.ask_qty[book.ask_px <= ba + band].sum())
            r[_SPREAD] = (ba - bb) / mid * 1e4
        s.last_sec = sec
        self._score_due(book.ts)

    def on_trades(self, trades: Trades) -> None:
        s = self._series.get(trades.venue)
        if s is None:
            return
        r = s.row(math.floor(trades.ts))
        buy = trades.aggressor > 0
        r[_BUY] += float(trades.qty[buy].sum())
        r[_SELL] += float(trades.qty[~buy].sum())

    # ---- detection -------------------------------------------------------------------------

    def _second_closed(self, venue: str, s: _Series, sec: int) -> None:
        cfg = self.cfg
        if sec - self._last_onset.get(venue, -math.inf) < cfg.refractory_s:
            return
        mids = s.get(sec - cfg.lookback_s, sec, _MID)
        now = float(mids[-1])
        past = mids[:-1]
        if not math.isfinite(now) or np.isnan(past).all():
            return
        top, bottom = float(np.nanmax(past)), float(np.nanmin(past))
        if (top - now) / top * 1e4 >= cfg.onset_bps:
            direction, ref = -1, top
        elif (now - bottom) / bottom * 1e4 >= cfg.onset_bps:
            direction, ref = 1, bottom
        else:
            return
        # the onset: the last second the mid was still near its pre-move level
        near = ref * cfg.onset_near_frac * cfg.onset_bps * 1e-4
        still = np.flatnonzero(np.isfinite(past) & (-direction * (ref - past) <= near))
        k = int(still[-1]) if len(still) else 0
        onset_sec = sec - cfg.lookback_s + k
        pre = float(past[k]) if math.isfinite(past[k]) else ref
        dip = Dip(venue, float(onset_sec), float(sec + 1), direction, pre)
        self._last_onset[venue] = float(sec)
        self._pending.append(dip)
        self.dips.append(dip)

    def _score_due(self, ts: float) -> None:
        if not self._pending:
            return
        due = [d for d in self._pending if ts >= d.onset_ts + self.cfg.horizon_s + 1.0]
        if not due:
            return
        self._pending = [d for d in self._pending if d not in due]
        for d in due:
            d.features = self.features(d)
            d.p_transient = float(self.classifier.predict_proba(d.vector()))
            d.scored_ts = ts
            if self.on_scored is not None:
                self.on_scored(d)

    def features(self, d: Dip) -> dict[str, float]:
        """The `FEATURES` of a dip from the per-second summaries up to onset + horizon."""
        cfg = self.cfg
        s = self._series[d.venue]
        t0 = int(d.onset_ts)
        t1 = t0 + cfg.horizon_s
        sign = -d.direction  # +1: measure moves downward
        m0 = d.pre_mid
        path = s.get(t0, t1, _MID)
        ext = float(np.nanmin(path)) if sign > 0 else float(np.nanmax(path))
        drop = sign * (m0 - ext) / m0 * 1e4
        m1 = s.mid_at(t1)
        held = sign * (m0 - m1) / m0 * 1e4
        drop_safe = max(drop, 1.0)
        follows, others_mid = [], []
        for v, o in self._series.items():
            if v == d.venue:
                continue
            a, b = o.mid_at(t0 - 1), o.mid_at(t1)
            if math.isfinite(a) and math.isfinite(b):
                follows.append(sign * (a - b) / a * 1e4 / drop_safe)
                others_mid.append(b)
        others_follow = float(np.median(follows)) if follows else math.nan
        dislocation = (sign * (float(np.median(others_mid)) - m1) / m1 * 1e4 / drop_safe) if others_mid else math.nan
        col_with, col_against = (_SELL, _BUY) if sign > 0 else (_BUY, _SELL)
        v_with = float(np.nansum(s.get(t0, t1, col_with)))
        v_against = float(np.nansum(s.get(t0, t1, col_against)))
        hist0 = t0 - cfg.volume_baseline_s
        vol = s.get(hist0, t0 - 1, _BUY) + s.get(hist0, t0 - 1, _SELL)  # nan where the venue was not seen
        n_win = len(vol) // (cfg.horizon_s + 1)
        windows = vol[len(vol) - n_win * (cfg.horizon_s + 1):].reshape(n_win, -1)
        seen = windows[np.isfinite(windows).all(axis=1)].sum(axis=1)
        typical = float(np.median(seen)) if len(seen) else math.nan
        spike = math.log((v_with + 1e-6) / max(typical, 1e-6)) if math.isfinite(typical) else math.nan
        hit_col = _DBID if sign > 0 else _DASK
        before = s.get(t0 - 10, t0 - 1, hit_col)
        after = s.get(t1 - 4, t1, hit_col)
        b_ok, a_ok = before[np.isfinite(before)], after[np.isfinite(after)]
        refill = math.nan
        if len(b_ok) and len(a_ok) and float(np.mean(b_ok)) > 0:
            b = float(np.mean(b_ok))
            floor = REFILL_FLOOR * b  # an emptied side reads as a large negative number, not -inf
            refill = min(REFILL_CLIP, max(-REFILL_CLIP, math.log((float(np.mean(a_ok)) + floor) / (b + floor))))
        share = v_with / (v_with + v_against) if v_with + v_against > 0 else math.nan
        sp0 = s.get(t0 - 30, t0 - 1, _SPREAD)
        sp1 = s.get(t1 - 4, t1, _SPREAD)
        sp0, sp1 = sp0[np.isfinite(sp0)], sp1[np.isfinite(sp1)]
        spread_ratio = (math.log(max(float(np.mean(sp1)), 1e-3) / max(float(np.median(sp0)), 1e-3))
                        if len(sp0) and len(sp1) else math.nan)
        return {
            "drop_bps": drop,
            "retained": held / drop_safe,
            "others_follow": others_follow,
            "dislocation": dislocation,
            "log_volume_spike": spike,
            "log_refill": refill,
            "aggressor_share": share,
            "log_spread_ratio": spread_ratio,
        }
