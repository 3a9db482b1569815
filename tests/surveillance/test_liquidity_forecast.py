"""Liquidity forecaster: state from public messages, the naive benchmark, deterministic fitting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.analytics.liquidity_forecast import (
    DEFAULT_LIQUIDITY_MODEL,
    FEATURES,
    LiquidityConfig,
    LiquidityForecaster,
    LiquidityModel,
    fit_liquidity,
)
from core.events import BookUpdate, Trades

T0 = 1_767_225_600.0


def _feed(fc: LiquidityForecaster, seconds: int, rate_per_s: float, burst_from: int = -1) -> None:
    rng = np.random.default_rng(1)
    for s in range(seconds):
        ts = T0 + s
        q = np.full(40, 0.25)
        fc.on_book(BookUpdate(ts, "A", "X", s, 100.0 - 0.01 * np.arange(40), q, 100.02 + 0.01 * np.arange(40), q))
        r = rate_per_s * (5.0 if 0 <= burst_from <= s else 1.0)
        n = int(rng.poisson(4))
        if n:
            fc.on_trades(Trades(ts, "A", "X", np.full(n, 100.0), np.full(n, r / 4.0), np.ones(n, dtype=np.int8),
                                np.full(n, ts)))


def test_steady_market_forecasts_its_own_rate_after_warm_up() -> None:
    early = LiquidityForecaster(LiquidityConfig(warmup_s=600))
    _feed(early, 300, 0.5)
    assert early.forecast("A") is None  # still warming up
    naive = LiquidityModel((0.0,) * 7, (0.0,) * 7, (0.0,) * 7)
    for model in (naive, DEFAULT_LIQUIDITY_MODEL):
        fc = LiquidityForecaster(LiquidityConfig(warmup_s=600), model)
        _feed(fc, 2400, 0.5)
        f = fc.forecast("A")
        assert f is not None
        assert f.volume_naive == pytest.approx(0.5 * 300, rel=0.15)
        if model is naive:
            assert f.volume == pytest.approx(f.volume_naive) and f.p_burst == 0.5
        else:  # a steady market: the fitted model stays near its own rate and sees no burst coming
            assert f.volume == pytest.approx(f.volume_naive, rel=0.5) and f.p_burst < 0.2
    assert f.depth == pytest.approx(0.25 * 2 * 11, rel=0.2)  # 10 bps of 100 = 0.1: 11 levels per side
    assert 0.0 <= f.p_burst <= 1.0
    assert f.typical_volume == pytest.approx(150.0, rel=0.15)


def test_an_ongoing_burst_shows_in_the_fast_over_slow_feature() -> None:
    fc = LiquidityForecaster(LiquidityConfig(warmup_s=600))
    _feed(fc, 2400, 0.5, burst_from=2300)
    x = dict(zip(FEATURES, fc.features("A"), strict=True))
    assert x["log_vol_fast_slow"] > 1.0
    assert abs(x["log_depth_rel"]) < 0.05


def test_fit_is_deterministic_and_recovers_a_linear_head() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3000, len(FEATURES)))
    yv = 0.3 + 0.8 * x[:, 0] + rng.normal(0, 0.1, 3000)
    yd = -0.1 + 0.5 * x[:, 3] + rng.normal(0, 0.1, 3000)
    burst = (rng.random(3000) < 1 / (1 + np.exp(-(-2.0 + 1.5 * x[:, 0])))).astype(float)
    a = fit_liquidity(x, yv, yd, burst, l2=1.0)
    b = fit_liquidity(x.copy(), yv.copy(), yd.copy(), burst.copy(), l2=1.0)
    assert a == b
    assert isinstance(a, LiquidityModel)
    assert a.volume[0] == pytest.approx(0.3, abs=0.02) and a.volume[1] == pytest.approx(0.8, abs=0.02)
    assert a.depth[4] == pytest.approx(0.5, abs=0.02)
    assert a.burst[1] == pytest.approx(1.5, abs=0.2) and math.isfinite(a.burst[0])
