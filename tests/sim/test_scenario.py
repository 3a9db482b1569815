"""Scenario files: every shipped one loads, overrides work, bad input gives a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adapters.sim.scenario import SCENARIO_DIR, ScenarioError, draw_timeline, load_scenario

SHIPPED = ["calm", "volatile", "outage", "eth-500-30m", "btc-block-4h", "btc-mixed-4h"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load(name):
    sc = load_scenario(name)
    assert sc.scenario.name == name
    assert len(sc.venues) >= 2
    assert (SCENARIO_DIR / f"{name}.toml").exists()


def test_btc_block_4h_tells_the_story():
    sc = load_scenario("btc-block-4h")
    assert len(sc.venues) == 3 and len(sc.desks) == 5
    depth = [v.latent.depth_1pct for v in sc.venues]
    assert depth == sorted(depth, reverse=True) and depth[0] > 2 * depth[2]
    for seed in range(10):
        ev = draw_timeline(sc, np.random.default_rng(seed))
        kinds = {e.kind: e for e in ev}
        assert 2700 <= kinds["flush"].start_s <= 4500
        assert 6000 <= kinds["axe"].start_s <= 8400 and kinds["axe"].end_s - kinds["axe"].start_s == pytest.approx(600)
        assert 250 <= kinds["axe"].params["qty"] <= 350
        assert kinds["spoof"].venue == 0 and kinds["spoof"].start_s >= 9000


def test_btc_mixed_4h_draws_events_with_probabilities():
    sc = load_scenario("btc-mixed-4h")
    assert sc.scenario.duration_s == 18000 and sc.parent is not None and sc.parent.start_s == (0.0, 3600.0)
    counts: dict[str, int] = {}
    starts = set()
    for seed in range(400):
        ev = draw_timeline(sc, np.random.default_rng(seed))
        for e in ev:
            counts[e.kind] = counts.get(e.kind, 0) + 1
            starts.add(round(e.start_s))
    assert 0.4 < counts["flush"] / 400 < 0.6
    assert 0.2 < counts["informed"] / 400 < 0.4
    assert 0.4 < counts["spoof"] / 400 < 0.6
    assert 0.15 * 5 * 400 * 0.5 < counts["axe"] < 0.5 * 5 * 400
    assert len(starts) > 300  # times vary with the seed


def test_dotted_overrides_by_index_and_by_name():
    sc = load_scenario("btc-block-4h", {"venues.0.taker_fee_bps": "5", "venues.gamma.latent.depth_1pct": "90",
                                        "fundamental.regimes": "false", "events.0.dip": "[0.006, 0.007]"})
    assert sc.venues[0].taker_fee_bps == 5.0
    assert sc.venues[2].latent.depth_1pct == 90.0
    assert sc.fundamental.regimes is False
    assert sc.events[0].dip == (0.006, 0.007)


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"venues.0.taker_fee": "5"}, "unknown key(s) ['taker_fee']"),
    ({"venues.0.tick_size": "'one'"}, "venues.0.tick_size: expected a number"),
    ({"venues.7.tick_size": "1"}, "index 7 out of range"),
    ({"venues.delta.tick_size": "1"}, "no entry named 'delta'"),
    ({"events.0.start_s": "[4500, 2700]"}, "bounds reversed"),
    ({"events.0.venue": "'omega'"}, "events.0.venue = 'omega'"),
    ({"events.0.kind": "'tsunami'"}, "use one of"),
    ({"venues.0.market_orders.branching": "1.2"}, "must be in [0, 1)"),
    ({"fundamental.start_regime": "'stormy'"}, "use 'calm' or 'volatile'"),
    ({"venues.1.name": "'alpha'"}, "must be unique"),
    ({"venues.0.tick_size": "100"}, "use a finer tick"),
])
def test_errors_name_the_key_and_the_fix(overrides, fragment):
    with pytest.raises(ScenarioError) as exc:
        load_scenario("btc-block-4h", overrides)
    assert fragment in str(exc.value)


def test_missing_scenario_and_bad_toml(tmp_path: Path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario("no-such-market")
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario\nname = 1\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)
    child = tmp_path / "child.toml"
    child.write_text('[scenario]\nextends = "btc-block-4h"\nname = "child"\n[fundamental]\ndaily_vol_calm = 0.03\n')
    sc = load_scenario(child)
    assert sc.scenario.name == "child" and sc.fundamental.daily_vol_calm == 0.03 and len(sc.venues) == 3
