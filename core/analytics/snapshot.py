"""Market snapshot from L2 arrays: mid, spread, depth bands, realized volatility, volume profile.

Conventions (all functions in this module):

- A book side is two float64 arrays of equal length, best level first: bids strictly
  descending in price, asks strictly ascending, quantities in base units (BTC, not USD) and
  strictly positive.
- ``spread_bps = (best_ask - best_bid) / mid * 1e4`` with ``mid = (best_bid + best_ask) / 2``.
- Depth "within b % of mid" is the base quantity resting at prices ``>= mid * (1 - b/100)``
  on the bid side and ``<= mid * (1 + b/100)`` on the ask side (a level exactly on the band
  edge counts).
- Volatilities are standard deviations of log returns. Every estimator takes the sample
  interval in seconds and the interval to express the answer in (``per_s``), which defaults
  to one year of 365 days (crypto trades every day): ``sigma_per = sigma_interval *
  sqrt(per_s / interval_s)`` (i.i.d. returns, variance linear in time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

SECONDS_PER_DAY: float = 86_400.0
DAYS_PER_YEAR: float = 365.0
SECONDS_PER_YEAR: float = SECONDS_PER_DAY * DAYS_PER_YEAR

#: Depth bands reported by default, in percent of mid (0.1 %, 0.5 %, 1 %, 2 %).
DEFAULT_DEPTH_BANDS_PCT: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0)


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """What one (or a consolidated) order book looks like right now.

    Prices in quote currency, quantities in base units. ``bid_depth_qty[i]`` and
    ``ask_depth_qty[i]`` are the base quantities within ``depth_bands_pct[i]`` percent of mid.
    ``spread_bps`` is negative for a crossed consolidated book (an arbitrage across venues).
    """

    best_bid: float
    best_ask: float
    mid: float
    spread_bps: float
    bid_top_qty: float
    ask_top_qty: float
    depth_bands_pct: tuple[float, ...]
    bid_depth_qty: tuple[float, ...]
    ask_depth_qty: tuple[float, ...]

    def depth_qty(self, band_pct: float, side: int) -> float:
        """Depth within ``band_pct`` % of mid on the side a taker of ``side`` consumes.

        ``side=+1`` (buy) consumes asks, ``side=-1`` (sell) consumes bids.
        """
        index = self.depth_bands_pct.index(band_pct)
        return self.ask_depth_qty[index] if side > 0 else self.bid_depth_qty[index]


def book_snapshot(
    bid_px: FloatArray,
    bid_qty: FloatArray,
    ask_px: FloatArray,
    ask_qty: FloatArray,
    depth_bands_pct: Sequence[float] = DEFAULT_DEPTH_BANDS_PCT,
) -> BookSnapshot:
    """Snapshot of one venue's L2 book (arrays best first; see module docstring).

    Raises ``ValueError`` for an empty side, unsorted levels, non-positive quantities or a
    crossed single-venue book (bad data, not a market state).
    """
    validate_book_side(bid_px, bid_qty, descending=True, name="bid")
    validate_book_side(ask_px, ask_qty, descending=False, name="ask")
    if bid_px[0] >= ask_px[0]:
        raise ValueError(
            f"crossed or locked book: best bid {bid_px[0]} >= best ask {ask_px[0]}; "
            "a single venue's book must have bid < ask (resnapshot the venue)"
        )
    return _snapshot_from_sides(bid_px, bid_qty, ask_px, ask_qty, depth_bands_pct)


def consolidated_snapshot(
    books: Sequence[tuple[FloatArray, FloatArray, FloatArray, FloatArray]],
    depth_bands_pct: Sequence[float] = DEFAULT_DEPTH_BANDS_PCT,
) -> BookSnapshot:
    """Snapshot of several venues' books merged level by level (no fees applied).

    ``books`` holds ``(bid_px, bid_qty, ask_px, ask_qty)`` per venue. The consolidated best
    bid is the highest bid on any venue, the best ask the lowest ask, the mid their average;
    depth is summed over venues around that consolidated mid. Venues may cross each other,
    in which case ``spread_bps`` is negative (reported, not hidden).
    """
    if not books:
        raise ValueError("consolidated_snapshot needs at least one venue book")
    for i, (bpx, bqty, apx, aqty) in enumerate(books):
        validate_book_side(bpx, bqty, descending=True, name=f"venue {i} bid")
        validate_book_side(apx, aqty, descending=False, name=f"venue {i} ask")
    bid_px, bid_qty = merge_book_sides([(b[0], b[1]) for b in books], descending=True)
    ask_px, ask_qty = merge_book_sides([(b[2], b[3]) for b in books], descending=False)
    return _snapshot_from_sides(bid_px, bid_qty, ask_px, ask_qty, depth_bands_pct)


def merge_book_sides(sides: Sequence[tuple[FloatArray, FloatArray]], descending: bool) -> tuple[FloatArray, FloatArray]:
    """Merge several venues' levels of one side into one price-sorted side.

    Equal prices on different venues are aggregated into one level.
    """
    prices = np.concatenate([np.asarray(s[0], dtype=np.float64) for s in sides])
    qtys = np.concatenate([np.asarray(s[1], dtype=np.float64) for s in sides])
    unique_px, inverse = np.unique(prices, return_inverse=True)
    merged_qty = np.bincount(inverse, weights=qtys, minlength=unique_px.shape[0]).astype(np.float64)
    if descending:
        return unique_px[::-1].copy(), merged_qty[::-1].copy()
    return unique_px, merged_qty


def depth_within(px: FloatArray, qty: FloatArray, mid: float, band_pct: float, side_is_bid: bool) -> float:
    """Base quantity resting within ``band_pct`` percent of ``mid`` on one side."""
    mask = px >= mid * (1.0 - band_pct / 100.0) if side_is_bid else px <= mid * (1.0 + band_pct / 100.0)
    return float(np.sum(qty[mask]))


def validate_book_side(px: FloatArray, qty: FloatArray, descending: bool, name: str) -> None:
    """Raise ``ValueError`` unless ``px``/``qty`` form a valid, non-empty, sorted book side."""
    if px.ndim != 1 or qty.ndim != 1 or px.shape[0] != qty.shape[0]:
        raise ValueError(f"{name} prices and quantities must be 1-D arrays of equal length")
    if px.shape[0] == 0:
        raise ValueError(f"{name} side is empty; a snapshot needs at least one level per side")
    if not (np.all(np.isfinite(px)) and np.all(np.isfinite(qty))):
        raise ValueError(f"{name} side holds non-finite prices or quantities")
    if np.any(px <= 0.0) or np.any(qty <= 0.0):
        raise ValueError(f"{name} side holds non-positive prices or quantities")
    steps = np.diff(px)
    if (descending and np.any(steps >= 0.0)) or (not descending and np.any(steps <= 0.0)):
        order = "strictly descending (best bid first)" if descending else "strictly ascending (best ask first)"
        raise ValueError(f"{name} prices must be {order}")


def _snapshot_from_sides(
    bid_px: FloatArray,
    bid_qty: FloatArray,
    ask_px: FloatArray,
    ask_qty: FloatArray,
    depth_bands_pct: Sequence[float],
) -> BookSnapshot:
    best_bid = float(bid_px[0])
    best_ask = float(ask_px[0])
    mid = 0.5 * (best_bid + best_ask)
    bands = tuple(float(b) for b in depth_bands_pct)
    if any(b <= 0.0 for b in bands):
        raise ValueError(f"depth bands must be positive percentages, got {bands}")
    return BookSnapshot(
        best_bid=best_bid,
        best_ask=best_ask,
        mid=mid,
        spread_bps=(best_ask - best_bid) / mid * 1e4,
        bid_top_qty=float(bid_qty[0]),
        ask_top_qty=float(ask_qty[0]),
        depth_bands_pct=bands,
        bid_depth_qty=tuple(depth_within(bid_px, bid_qty, mid, b, side_is_bid=True) for b in bands),
        ask_depth_qty=tuple(depth_within(ask_px, ask_qty, mid, b, side_is_bid=False) for b in bands),
    )


# --------------------------------------------------------------------------------------------
# Realized volatility
# --------------------------------------------------------------------------------------------


def scale_volatility(sigma: float, from_interval_s: float, to_interval_s: float) -> float:
    """Rescale a volatility between intervals: ``sigma * sqrt(to / from)`` (i.i.d. returns)."""
    if from_interval_s <= 0.0 or to_interval_s <= 0.0:
        raise ValueError("volatility intervals must be positive seconds")
    return sigma * math.sqrt(to_interval_s / from_interval_s)


def close_to_close_volatility(close: FloatArray, interval_s: float, per_s: float = SECONDS_PER_YEAR) -> float:
    """Close-to-close estimator: sample std (ddof=1) of log returns, rescaled to ``per_s``.

    ``close`` are prices sampled every ``interval_s`` seconds. Needs at least 3 prices.
    """
    prices = _positive_prices(close, "close")
    if prices.shape[0] < 3:
        raise ValueError("close-to-close volatility needs at least 3 prices (2 returns)")
    returns = np.diff(np.log(prices))
    return scale_volatility(float(np.std(returns, ddof=1)), interval_s, per_s)


def parkinson_volatility(
    high: FloatArray, low: FloatArray, interval_s: float, per_s: float = SECONDS_PER_YEAR
) -> float:
    """Parkinson (1980) high-low estimator, rescaled to ``per_s``.

    ``sigma_interval^2 = mean(ln(H/L)^2) / (4 ln 2)`` over bars of ``interval_s`` seconds.
    Source: M. Parkinson, "The extreme value method for estimating the variance of the rate of
    return", Journal of Business 53(1), 1980. Assumes zero drift and continuous trading.
    """
    h = _positive_prices(high, "high")
    lo = _positive_prices(low, "low")
    if h.shape != lo.shape or h.shape[0] < 1:
        raise ValueError("high and low must be non-empty arrays of equal length")
    if np.any(h < lo):
        raise ValueError("every bar needs high >= low")
    variance = float(np.mean(np.log(h / lo) ** 2)) / (4.0 * math.log(2.0))
    return scale_volatility(math.sqrt(variance), interval_s, per_s)


def garman_klass_volatility(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    interval_s: float,
    per_s: float = SECONDS_PER_YEAR,
) -> float:
    """Garman-Klass (1980) OHLC estimator, rescaled to ``per_s``.

    ``sigma_interval^2 = mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2)``.
    Source: M. Garman and M. Klass, "On the estimation of security price volatilities from
    historical data", Journal of Business 53(1), 1980. Assumes zero drift, no opening jump.
    """
    o = _positive_prices(open_, "open")
    h = _positive_prices(high, "high")
    lo = _positive_prices(low, "low")
    c = _positive_prices(close, "close")
    if not (o.shape == h.shape == lo.shape == c.shape) or o.shape[0] < 1:
        raise ValueError("open, high, low and close must be non-empty arrays of equal length")
    if np.any(h < lo) or np.any(h < np.maximum(o, c)) or np.any(lo > np.minimum(o, c)):
        raise ValueError("every bar needs low <= open, close <= high")
    hl = np.log(h / lo)
    co = np.log(c / o)
    variance = float(np.mean(0.5 * hl**2 - (2.0 * math.log(2.0) - 1.0) * co**2))
    return scale_volatility(math.sqrt(max(variance, 0.0)), interval_s, per_s)


def _positive_prices(values: FloatArray, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0.0):
        raise ValueError(f"{name} prices must be finite and positive")
    return arr


# --------------------------------------------------------------------------------------------
# Volume
# --------------------------------------------------------------------------------------------


def recent_volume(timestamp_s: FloatArray, qty: FloatArray, now_s: float, window_s: float) -> float:
    """Base quantity traded in ``(now_s - window_s, now_s]`` (trade timestamps in seconds)."""
    _check_trades(timestamp_s, qty)
    if window_s <= 0.0:
        raise ValueError("window_s must be positive")
    mask = (timestamp_s > now_s - window_s) & (timestamp_s <= now_s)
    return float(np.sum(qty[mask]))


def intraday_volume_profile(timestamp_s: FloatArray, qty: FloatArray, bucket_s: float = 3600.0) -> FloatArray:
    """Share of volume by time of day (UTC), one bucket per ``bucket_s`` seconds.

    Bucket ``i`` covers seconds ``[i * bucket_s, (i + 1) * bucket_s)`` after midnight UTC of
    every day in the sample. The result sums to 1 (all zeros if there is no volume).
    ``bucket_s`` must divide a day evenly.
    """
    _check_trades(timestamp_s, qty)
    n_buckets_f = SECONDS_PER_DAY / bucket_s if bucket_s > 0.0 else 0.0
    n_buckets = round(n_buckets_f)
    if n_buckets < 1 or abs(n_buckets_f - n_buckets) > 1e-9:
        raise ValueError(f"bucket_s must divide a day (86400 s) evenly, got {bucket_s}")
    second_of_day = np.mod(timestamp_s, SECONDS_PER_DAY)
    bucket = np.minimum((second_of_day // bucket_s).astype(np.int64), n_buckets - 1)
    volume = np.bincount(bucket, weights=qty, minlength=n_buckets).astype(np.float64)
    total = float(volume.sum())
    return volume / total if total > 0.0 else volume


def _check_trades(timestamp_s: FloatArray, qty: FloatArray) -> None:
    if timestamp_s.ndim != 1 or qty.ndim != 1 or timestamp_s.shape != qty.shape:
        raise ValueError("timestamps and quantities must be 1-D arrays of equal length")
    if np.any(qty < 0.0):
        raise ValueError("trade quantities must be non-negative")
