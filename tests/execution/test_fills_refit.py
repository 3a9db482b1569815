"""Refit from our own fills: markouts per decision type against the AC path, the documented rule
(shrink a fraction whose decisions show no gain with n ≥ k; raise the confidence when the less
certain half shows none), on synthetic fills and on a real `simulate --journal` + `export`."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli import main
from app.commands.train import read_export
from core.execution.adaptive import AdaptiveConfig
from core.execution.fills_refit import DecisionRow, FillRow, RefitRule, attribute, refit_from_fills

T0 = 1_767_225_600.0
RULE = RefitRule(markout_s=300.0, min_decisions=3)


def parent(
    pid: str, price: Callable[[float], float], action: str, shift: float, p: float, at_s: float = 1000.0
) -> tuple[list[FillRow], DecisionRow]:
    """A seller filling 1 BTC every 10 s for 50 min along `price(t)`, one decision at `at_s`."""
    fills = [FillRow(pid, T0 + t, -1, price(t), 1.0) for t in range(0, 3000, 10)]
    return fills, DecisionRow(pid, T0 + at_s, action, shift, p, 300.0)


def flat_then_falling(t: float) -> float:
    """Flat, then from 1000 s on falling 1 $/s for 10 min (an informed seller), then flat."""
    return 60_000.0 - min(max(t - 1000.0, 0.0), 600.0)


def flat_then_recovering(t: float) -> float:
    """A dip at 1000 s (−300 $) recovering linearly over the next 5 min."""
    if 1000.0 <= t < 1300.0:
        return 60_000.0 - 300.0 + (t - 1000.0)
    return 60_000.0


def build(spec: list[tuple[Callable[[float], float], str, float, float]]) -> tuple[list[FillRow], list[DecisionRow]]:
    fills, decisions = [], []
    for k, (price, action, shift, p) in enumerate(spec):
        f, d = parent(f"P{k}", price, action, shift, p)
        fills += f
        decisions.append(d)
    return fills, decisions


def test_trading_ahead_of_a_fall_is_a_gain_and_holding_back_into_it_is_not() -> None:
    fills, decisions = build(
        [(flat_then_falling, "trade ahead", +2.0, 0.05)] * 4 + [(flat_then_falling, "hold back", -2.0, 0.95)] * 4
    )
    out = refit_from_fills(fills, decisions, AdaptiveConfig(), RULE)
    ahead, back = out["decision_types"]["trade ahead"], out["decision_types"]["hold back"]
    assert ahead["decisions"] == back["decisions"] == 4
    assert ahead["fills"] == back["fills"] == 4 * 30  # 300 s window, a fill every 10 s
    assert out["decision_types"]["ac path"]["fills"] == len(fills) - 8 * 30
    assert ahead["gain_bps_mean"] > 0 and ahead["edge_bps_mean"] > 0  # sold before the fall
    assert back["edge_bps_mean"] < 0  # held back while it kept falling: no gain
    after = out["parameters_after"]
    assert after["lean_frac"] == pytest.approx(0.02) and after["informed_frac"] == pytest.approx(0.04)
    assert any(c.startswith("lean_frac 0.04 → 0.02") for c in out["changes"])


def test_holding_back_through_a_recovery_is_a_gain_and_nothing_shrinks() -> None:
    fills, decisions = build([(flat_then_recovering, "hold back", -2.0, 0.95)] * 4)
    out = refit_from_fills(fills, decisions, AdaptiveConfig(), RULE)
    assert out["decision_types"]["hold back"]["edge_bps_mean"] > 0
    assert out["parameters_after"] == out["parameters_before"]


def test_too_few_decisions_change_nothing() -> None:
    fills, decisions = build([(flat_then_falling, "hold back", -2.0, 0.95)] * 2)
    out = refit_from_fills(fills, decisions, AdaptiveConfig(), RULE)
    assert out["decision_types"]["hold back"]["decisions"] == 2
    assert out["parameters_after"] == out["parameters_before"]


def test_the_confidence_rises_when_the_less_certain_decisions_show_no_gain() -> None:
    spec = [(flat_then_falling, "hold back", -2.0, 0.75)] * 3 + [(flat_then_recovering, "hold back", -2.0, 0.97)] * 6
    out = refit_from_fills(*build(spec), AdaptiveConfig(confidence=0.7), RULE)
    cal = out["confidence_calibration"]
    assert cal["split_at"] == pytest.approx(0.85)
    assert cal["low"]["decisions"] == 3 and cal["low"]["edge_bps_mean"] < 0 < cal["high"]["edge_bps_mean"]
    assert out["parameters_after"]["confidence"] == pytest.approx(0.85)


def test_fills_on_a_real_adaptive_simulation_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`simulate --algo adaptive --journal` → `export --csv` → `train --fills`, on a 20-min parent
    with a flush 5 min in (btc-mixed-4h, compressed by --set)."""
    journal, folder = tmp_path / "run.sqlite", tmp_path / "export"
    sets = [
        "scenario.duration_s=2700", "parent.start_s=[300,300]", "events.0.probability=1",
        "events.0.start_s=[600,600]", "events.1.probability=0", "events.2.probability=0",
        "events.1.start_s=[600,600]", "events.2.start_s=[600,600]",
    ]  # fmt: skip
    args = ["simulate", "--scenario", "btc-mixed-4h", "--algo", "adaptive", "--qty", "60", "--horizon", "20m"]
    args += ["--rfq", "off", "--seed", "1000003", "--policy", "defaults"]  # not the fitted one: it may never act
    args += ["--journal", str(journal), "--json", str(tmp_path / "sim.json")]
    assert main(args + [x for s in sets for x in ("--set", s)]) == 0
    sim = json.loads((tmp_path / "sim.json").read_text())
    (flush,) = sim["events"]  # the evaluation log's flush, 5 min into the parent, with what we did around it
    assert flush["kind"] == "flush" and flush["start_s"] == 600.0
    assert flush["class"] == ("transient_against" if flush["direction"] == -1 else "transient_favourable")  # a sell
    assert 0 < flush["window_qty"] <= sim["filled_qty"] + 1e-9 and flush["venue_qty_during"] <= flush["window_qty"]
    assert abs(flush["pre_mid"] / sim["arrival_mid"] - 1) < 0.01
    assert main(["export", "--journal", str(journal), "--csv", str(folder)]) == 0
    with (folder / "decisions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["action"] for r in rows] == [d["action"] for d in sim["decisions"]]
    assert any(d["action"] in ("lean in", "hold back", "trade ahead") for d in sim["decisions"])
    fills, decisions = read_export(folder)
    assert sum(f.qty for f in fills) == pytest.approx(sim["filled_qty"], abs=1e-6)
    out_json = tmp_path / "refit.json"
    assert main(["train", "--scenario", "btc-mixed-4h", "--fills", str(folder), "--policy", "defaults",
                 "--min-decisions", "1", "--out", str(tmp_path / "p.json"), "--json", str(out_json)]) == 0  # fmt: skip
    refit = json.loads(out_json.read_text())
    types = refit["decision_types"]
    assert sum(t["fills"] for t in types.values()) == refit["fills"] == len(fills)
    assert sum(types[a]["decisions"] for a in ("lean in", "hold back", "trade ahead")) >= 1
    assert refit["policy"] == "policy: defaults" and refit["parameters_before"]["lean_frac"] == 0.04
    written = json.loads((tmp_path / "p.json").read_text())  # the adjusted policy loads as a policy
    assert written["parameters"] == refit["parameters_after"] and written["refit"]["changes"] == refit["changes"]
    assert "fills" in capsys.readouterr().out


def test_a_held_decision_owns_the_fills_until_its_release_and_decay_end() -> None:
    """A hold-back held 20 min and then released owns the parent's fills up to the release plus its
    decay; without the release it owns only its window; a release of another venue changes nothing."""
    fills, decision = parent("P0", flat_then_recovering, "hold back", -2.0, 0.95)
    decision = DecisionRow("P0", T0 + 1000.0, "hold back", -2.0, 0.95, 300.0, "beta")
    release = DecisionRow("P0", T0 + 2200.0, "release", 0.0, 0.95, 300.0, "beta")
    elsewhere = DecisionRow("P0", T0 + 2200.0, "release", 0.0, 0.95, 300.0, "alpha")

    def owned(decisions: list[DecisionRow]) -> tuple[float, float]:
        times = [f.ts - T0 for f, k in zip(fills, attribute(fills, decisions), strict=True) if k == 0]
        return min(times), max(times)

    assert owned([decision]) == (1000.0, 1290.0)
    assert owned([decision, elsewhere]) == (1000.0, 1290.0)
    assert owned([decision, release]) == (1000.0, 2490.0)
