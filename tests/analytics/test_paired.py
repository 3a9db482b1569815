from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from core.analytics.paired import paired_difference, student_t_95, student_t_975, summary


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 19, 50, 200])
def test_student_t_quantile_matches_scipy(df: int) -> None:
    assert student_t_975(df) == pytest.approx(stats.t.ppf(0.975, df), rel=2e-4)


@pytest.mark.parametrize("df", [1, 2, 4, 9, 19, 30, 31, 59, 99, 500])
def test_one_sided_t_quantile_matches_scipy(df: int) -> None:
    assert student_t_95(df) == pytest.approx(stats.t.ppf(0.95, df), rel=2e-4)


def test_equivalence_and_noninferiority_are_schuirmanns_two_one_sided_tests() -> None:
    """Against scipy's one-sided paired t-tests at α = 0.05, with a margin of 5 % of a 30 bps mean."""
    rng = np.random.default_rng(11)
    margin = 0.05 * 30.0
    for shift, noise in ((0.0, 1.0), (0.3, 1.0), (1.2, 0.5), (-2.0, 1.0), (0.0, 8.0)):
        b = rng.normal(30, 5, 40)
        a = b + shift + rng.normal(0, noise, 40)
        d = a - b
        res = paired_difference(a, b)
        p_low = stats.ttest_1samp(d, -margin, alternative="greater").pvalue
        p_high = stats.ttest_1samp(d, margin, alternative="less").pvalue
        assert res.equivalent(margin) == (max(p_low, p_high) < 0.05), (shift, noise)
        assert res.noninferior(margin) == (p_high < 0.05), (shift, noise)
    same_market = paired_difference(b + 0.1, b)  # a constant 0.1 bps more: the interval is that point
    assert same_market.equivalent(margin) and same_market.noninferior(margin)
    worse = paired_difference(b + 2.0 + rng.normal(0, 0.2, 40), b)
    assert not worse.noninferior(margin) and not worse.equivalent(margin)


def test_paired_difference_matches_a_paired_t_interval() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(30, 5, 20)
    b = a - 2 + rng.normal(0, 1, 20)
    res = paired_difference(a, b)
    d = a - b
    lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert res.n == 20 and res.mean == pytest.approx(d.mean())
    assert res.ci_low == pytest.approx(lo, rel=1e-4) and res.ci_high == pytest.approx(hi, rel=1e-4)
    assert res.significant
    # 80 % power at the observed effect: ((1.96 + 0.84)·sd/mean)²
    assert res.seeds_for_80pct_power == int(np.ceil(((1.959964 + 0.841621) * d.std(ddof=1) / d.mean()) ** 2))


def test_no_difference_is_not_significant_and_summary_percentiles() -> None:
    a = np.arange(10.0)
    res = paired_difference(a, a + np.array([1, -1] * 5))
    assert not res.significant and res.mean == 0 and res.seeds_for_80pct_power is None
    s = summary(np.arange(101.0))
    assert s["p05"] == 5.0 and s["p50"] == 50.0 and s["p95"] == 95.0
