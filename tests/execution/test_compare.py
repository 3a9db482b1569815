"""`compare`: arms on the same seeds, paired statistics, the forecast-honesty summary."""

from __future__ import annotations

import numpy as np
import pytest

from app.commands.compare import compare, forecast_check, parse_arm, print_table
from app.simulation import SimRequest
from core.analytics.montecarlo import simulate_shortfall_paths


def row(
    is_bps: float, adj: float, p05: float = 10.0, p95: float = 50.0, expected: float = 30.0, instant: float = 60.0
) -> dict:
    pre = {"cost_p05_bps": p05, "cost_p95_bps": p95, "expected_cost_bps": expected, "instant_cost_bps_deepest": instant}
    return {"implementation_shortfall_bps": is_bps, "is_adjusted_bps": adj, "pretrade": pre}


def test_forecast_check_counts_seeds_inside_their_own_band_and_compares_the_means() -> None:
    rows = [row(10.0, 20.0), row(50.0, 30.0), row(9.99, 40.0), row(70.0, 30.0, p95=80.0)]
    f = forecast_check(rows)
    assert f["inside_p05_p95"] == 3 and f["seeds"] == 4  # both ends inclusive; 9.99 is outside
    assert f["is_adjusted_bps_mean"] == 30.0 and f["expected_cost_bps_mean"] == 30.0
    assert f["adjusted_over_expected"] == 1.0
    # the context: realized IS against the instant-execution estimate on the deepest venue (60 bps)
    assert f["implementation_shortfall_bps_mean"] == pytest.approx(34.9975)
    assert f["instant_deepest_bps_mean"] == 60.0 and f["below_instant_deepest"] == 3  # 70 is above


def test_bad_arms_say_what_to_write() -> None:
    base = SimRequest("btc-block-4h")
    with pytest.raises(ValueError, match="NAME=ALGO"):
        parse_arm("twap", base)
    with pytest.raises(ValueError, match="unknown option 'speed'"):
        parse_arm("a=twap:speed=2", base)


def test_two_arms_on_two_seeds_are_paired_and_reported(capsys: pytest.CaptureFixture[str]) -> None:
    # the parallel Monte Carlo has started its thread pool in this process (as earlier tests do in
    # CI): forked workers then died ("fork() called from a process already using GNU OpenMP")
    simulate_shortfall_paths(np.ones(4), np.zeros(4), np.zeros(4), 1.0, 100.0, -1, 64, 1)
    base = SimRequest("btc-block-4h", qty=5.0, horizon_s=300.0, rfq="off", mc_paths=2000)
    arms = [parse_arm("twap=twap", base), parse_arm("ac=ac:urgency=high", base)]
    out = compare("btc-block-4h", arms, [1, 2], workers=1, progress=False)
    assert set(out["arms"]) == {"twap", "ac"} and list(out["paired"]) == ["ac - twap"]
    for arm in out["arms"].values():
        assert set(arm["per_seed"]) == {"1", "2"}
        assert arm["unfilled_max"] == 0.0
        assert arm["forecast"]["seeds"] == 2 and 0 <= arm["forecast"]["inside_p05_p95"] <= 2
    d = out["paired"]["ac - twap"]["implementation_shortfall_bps"]
    per = out["arms"]
    diffs = [per["ac"]["per_seed"][s]["implementation_shortfall_bps"] - per["twap"]["per_seed"][s]
             ["implementation_shortfall_bps"] for s in ("1", "2")]
    assert d["n"] == 2 and d["mean"] == pytest.approx(sum(diffs) / 2)
    base_mean = sum(per["twap"]["per_seed"][s]["implementation_shortfall_bps"] for s in ("1", "2")) / 2
    margin = d["margin_5pct"]  # issue 9's robustness tests: 5 % of the first arm's mean
    assert margin["margin"] == pytest.approx(0.05 * abs(base_mean))
    assert margin["ci90_low"] <= d["mean"] <= margin["ci90_high"]
    assert d["ci95_low"] <= margin["ci90_low"] and margin["ci90_high"] <= d["ci95_high"]
    assert margin["equivalent"] == (-margin["margin"] < margin["ci90_low"] and margin["ci90_high"] < margin["margin"])
    assert out["event_behaviour"] == {}  # no adaptive arm
    print_table(out)
    text = capsys.readouterr().out
    assert "forecast: realized IS inside its [P5, P95]" in text and "ac - twap" in text
    assert "vs instant execution on the deepest venue" in text
    assert "equivalent: " in text and "non-inferior: " in text


@pytest.mark.slow
def test_the_shipped_policy_moves_volume_off_a_spoofed_venue_on_held_out_seeds() -> None:
    """CI smoke of issue 9's spoofing-phase run (docs/ai.md, 20/20 seeds on 1-20): the same forced
    spoofing phase on two held-out seeds, the fit of record against AC, judged by compare."""
    simulate_shortfall_paths(np.ones(4), np.zeros(4), np.zeros(4), 1.0, 100.0, -1, 64, 1)  # see above
    sets = {
        "parent.start_s": "[1800,1800]",
        "events.2.probability": "1",
        "events.2.start_s": "[1900,3000]",
        "events.2.duration_s": "[1200,2400]",
    }
    base = SimRequest("btc-mixed-4h", side="sell", qty=250.0, horizon_s=3600.0, rfq="off", sets=sets, mc_paths=2000)
    arms = [parse_arm("ac=ac", base), parse_arm("fitted=adaptive", base)]
    out = compare("btc-mixed-4h", arms, [1, 2], workers=1, progress=False)
    spoof = out["event_behaviour"]["fitted vs ac"]["spoof"]
    assert spoof["seeds"] == 2 and spoof["passed"] == 2, spoof
    assert all(arm["unfilled_max"] == 0.0 for arm in out["arms"].values())
    assert out["arms"]["fitted"]["policy"] is not None
