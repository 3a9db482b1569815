"""Book snapshot, consolidated snapshot, volatility estimators, volume profile."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.analytics.snapshot import (
    SECONDS_PER_DAY,
    SECONDS_PER_YEAR,
    book_snapshot,
    close_to_close_volatility,
    consolidated_snapshot,
    garman_klass_volatility,
    intraday_volume_profile,
    parkinson_volatility,
    recent_volume,
    scale_volatility,
)


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_snapshot_by_hand() -> None:
    # mid 100; bids at -0.05 %, -0.3 %, -0.8 %, -1.5 %, -3 %; asks mirrored.
    bid_px = a(99.95, 99.7, 99.2, 98.5, 97.0)
    ask_px = a(100.05, 100.3, 100.8, 101.5, 103.0)
    qty = a(1.0, 2.0, 3.0, 4.0, 5.0)
    snap = book_snapshot(bid_px, qty, ask_px, qty * 2.0)
    assert snap.mid == pytest.approx(100.0)
    assert snap.spread_bps == pytest.approx(10.0)
    assert snap.bid_top_qty == 1.0
    assert snap.ask_top_qty == 2.0
    assert snap.depth_bands_pct == (0.1, 0.5, 1.0, 2.0)
    assert snap.bid_depth_qty == pytest.approx((1.0, 3.0, 6.0, 10.0))
    assert snap.ask_depth_qty == pytest.approx((2.0, 6.0, 12.0, 20.0))
    assert snap.depth_qty(1.0, side=1) == pytest.approx(12.0)  # a buyer takes asks
    assert snap.depth_qty(1.0, side=-1) == pytest.approx(6.0)


def test_band_edge_counts() -> None:
    snap = book_snapshot(a(99.0), a(1.0), a(101.0), a(1.0), depth_bands_pct=(1.0,))
    assert snap.bid_depth_qty == (1.0,)  # exactly 1 % below mid
    assert snap.ask_depth_qty == (1.0,)


def test_bad_books_are_refused() -> None:
    with pytest.raises(ValueError, match="crossed"):
        book_snapshot(a(101.0), a(1.0), a(100.0), a(1.0))
    with pytest.raises(ValueError, match="descending"):
        book_snapshot(a(99.0, 99.5), a(1.0, 1.0), a(101.0), a(1.0))
    with pytest.raises(ValueError, match="empty"):
        book_snapshot(a(), a(), a(101.0), a(1.0))
    with pytest.raises(ValueError, match="equal length"):
        book_snapshot(a(99.0), a(1.0, 2.0), a(101.0), a(1.0))


def test_consolidated_snapshot_merges_levels() -> None:
    venue_1 = (a(99.9, 99.5), a(1.0, 2.0), a(100.2, 100.6), a(1.0, 2.0))
    venue_2 = (a(100.0, 99.5), a(0.5, 3.0), a(100.2, 101.5), a(4.0, 1.0))
    snap = consolidated_snapshot([venue_1, venue_2])
    assert snap.best_bid == 100.0
    assert snap.best_ask == 100.2
    assert snap.mid == pytest.approx(100.1)
    assert snap.bid_top_qty == 0.5
    assert snap.ask_top_qty == 5.0  # 100.2 on both venues aggregated
    assert snap.bid_depth_qty[1] == pytest.approx(0.5 + 1.0)  # bids >= 99.5995: not 99.5
    assert snap.bid_depth_qty[2] == pytest.approx(0.5 + 1.0 + 2.0 + 3.0)  # bids >= 99.099
    assert snap.ask_depth_qty[1] == pytest.approx(5.0 + 2.0)  # <= 100.6005


def test_crossed_venues_show_a_negative_spread() -> None:
    venue_1 = (a(100.5), a(1.0), a(101.0), a(1.0))
    venue_2 = (a(99.0), a(1.0), a(100.0), a(1.0))
    snap = consolidated_snapshot([venue_1, venue_2])
    assert snap.spread_bps < 0.0
    assert snap.spread_bps == pytest.approx((100.0 - 100.5) / 100.25 * 1e4)


def simulated_bars(seed: int, sigma_per_bar: float, n_bars: int, steps: int) -> tuple[np.ndarray, ...]:
    """OHLC bars of a driftless geometric Brownian motion sampled `steps` times per bar."""
    rng = np.random.default_rng(seed)
    increments = rng.standard_normal((n_bars, steps)) * sigma_per_bar / math.sqrt(steps)
    log_path = np.cumsum(increments.ravel()).reshape(n_bars, steps)
    open_log = np.concatenate(([0.0], log_path[:-1, -1]))
    high = np.exp(np.maximum(log_path.max(axis=1), open_log)) * 100.0
    low = np.exp(np.minimum(log_path.min(axis=1), open_log)) * 100.0
    return np.exp(open_log) * 100.0, high, low, np.exp(log_path[:, -1]) * 100.0


def test_volatility_estimators_recover_a_known_sigma() -> None:
    # 2 % per hour bars -> daily 2 % * sqrt(24), annual 2 % * sqrt(24 * 365).
    open_, high, low, close = simulated_bars(42, 0.02, 4000, 400)
    interval = 3600.0
    annual = 0.02 * math.sqrt(24 * 365)
    closes = np.concatenate((open_[:1], close))
    cc = close_to_close_volatility(closes, interval)
    assert cc == pytest.approx(annual, rel=0.03)
    # Discrete sampling makes high-low estimators biased low by a few percent.
    assert parkinson_volatility(high, low, interval) == pytest.approx(annual, rel=0.06)
    assert garman_klass_volatility(open_, high, low, close, interval) == pytest.approx(annual, rel=0.06)
    daily = close_to_close_volatility(closes, interval, per_s=SECONDS_PER_DAY)
    assert daily == pytest.approx(cc / math.sqrt(365.0), rel=1e-12)


def test_volatility_scaling() -> None:
    assert scale_volatility(0.01, 60.0, 3600.0) == pytest.approx(0.01 * math.sqrt(60.0))
    assert SECONDS_PER_YEAR == 365 * 86400
    with pytest.raises(ValueError, match="at least 3"):
        close_to_close_volatility(a(1.0, 2.0), 60.0)
    with pytest.raises(ValueError, match="high >= low"):
        parkinson_volatility(a(1.0), a(2.0), 60.0)


def test_recent_volume_and_intraday_profile() -> None:
    day = 86_400.0
    ts = a(10.0, 3600.0, 3700.0, day + 7200.0, day + 86_399.0)
    qty = a(1.0, 2.0, 3.0, 4.0, 10.0)
    assert recent_volume(ts, qty, now_s=3700.0, window_s=3690.0) == pytest.approx(5.0)  # (10, 3700]
    profile = intraday_volume_profile(ts, qty, bucket_s=3600.0)
    assert profile.shape == (24,)
    assert profile.sum() == pytest.approx(1.0)
    assert profile[0] == pytest.approx(1.0 / 20.0)
    assert profile[1] == pytest.approx(5.0 / 20.0)
    assert profile[2] == pytest.approx(4.0 / 20.0)
    assert profile[23] == pytest.approx(10.0 / 20.0)
    assert np.all(intraday_volume_profile(a(), a(), 3600.0) == 0.0)
    with pytest.raises(ValueError, match="divide a day"):
        intraday_volume_profile(ts, qty, bucket_s=7000.0)
