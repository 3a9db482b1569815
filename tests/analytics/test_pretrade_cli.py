"""`python main.py pretrade` on btc-block-4h: what the trader reads before the block."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pretrade_reports_instant_costs_horizons_recommendation_and_percentiles(tmp_path: Path) -> None:
    out = tmp_path / "pretrade.json"
    proc = subprocess.run(
        [
            sys.executable,
            "main.py",
            "pretrade",
            "--scenario",
            "btc-block-4h",
            "--side",
            "sell",
            "--qty",
            "1000",
            "--horizon",
            "4h",
            "--seed",
            "2",
            "--mc-paths",
            "20000",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text())
    assert r["schema_version"] == 1
    assert 0 < r["instant_cost_bps_consolidated"] < 500 and 0 < r["instant_cost_bps_deepest"] < 500
    # walking every venue at once is never worse than the deepest alone before fees differ much
    assert r["instant_cost_bps_consolidated"] <= r["instant_cost_bps_deepest"] + 5
    assert set(r["venues"]) == {"alpha", "beta", "gamma"}
    assert all("instant_cost_bps" in v for v in r["venues"].values())
    horizons = [h["horizon_s"] for h in r["horizons"]]
    assert r["recommended_horizon_s"] in horizons and len(horizons) >= 5
    assert all(h["expected_cost_bps"] > 0 and h["cost_std_bps"] > 0 for h in r["horizons"])
    # a longer horizon trades slower: lower expected cost, more risk (the trade-off the advisor weighs)
    by_h = sorted(r["horizons"], key=lambda h: h["horizon_s"])
    assert by_h[0]["expected_cost_bps"] > by_h[-1]["expected_cost_bps"]
    assert by_h[0]["cost_std_bps"] < by_h[-1]["cost_std_bps"]
    assert r["cost_p05_bps"] < r["cost_p50_bps"] < r["cost_p95_bps"]
    assert "instant cost: deepest venue" in proc.stdout  # the readable summary for the trader


def test_bad_pretrade_input_says_what_to_change() -> None:
    proc = subprocess.run(
        [sys.executable, "main.py", "pretrade", "--scenario", "btc-block-4h", "--qty", "10", "--horizon", "four hours"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "write a positive number with s, m, h or d" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "main.py", "pretrade", "--scenario", "no-such-scenario", "--qty", "10", "--horizon", "1h"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "no-such-scenario" in proc.stderr
