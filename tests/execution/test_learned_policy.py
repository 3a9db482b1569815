"""The fitted policy as an artifact: train refuses evaluation seeds, policy files round-trip and a
broken one names the key to fix, the adaptive algo runs with the fitted parameters and says so."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

import app.policy
from adapters.sim.scenario import load_scenario
from app.cli import main
from app.commands.train import check_training_seeds, json_safe, training_market
from app.simulation import SimRequest, run_simulation
from core.execution.adaptive import AdaptiveAc, AdaptiveConfig
from core.execution.policy import AdaptivePolicy, PolicyError, load_policy, parameters_of
from core.parent import ParentOrder
from core.types import Side
from tests.execution.fakes import BTC
from tests.execution.test_adaptive import Signals, dip, shift
from tests.execution.test_service import TRADER, setup

FITTED = AdaptiveConfig(confidence=0.8, lean_frac=0.02, informed_frac=0.06, window_s=600.0)


def policy_doc(config: AdaptiveConfig = FITTED) -> dict:
    return {"schema_version": 1, "kind": "adaptive_policy", "scenario": "x", "parameters": parameters_of(config)}


def test_training_refuses_evaluation_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="≥ 1,000,000"):
        check_training_seeds([1_000_001, 999_999])
    check_training_seeds([1_000_000, 1_000_001])  # the first training seed is allowed
    rc = main(["train", "--scenario", "btc-mixed-4h", "--seeds", "1-16", "--out", "/nonexistent/p.json"])
    err = capsys.readouterr().err
    assert rc == 2 and "held out for evaluation" in err and "1000001-1000016" in err


def test_a_policy_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(policy_doc()))
    policy = load_policy(path, shown_as="resources/policy/x.json")
    assert policy.config == FITTED
    assert policy.label == "policy: fitted resources/policy/x.json"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["parameters"].update(lean_frac=0.5), "lean_frac"),  # beyond max_shift_frac
        (lambda d: d["parameters"].update(confidence="high"), "confidence = 'high' must be a number"),
        (lambda d: d["parameters"].pop("window_s"), "lacks window_s"),
        (lambda d: d["parameters"].update(lean_fraction=0.02), "unknown key 'lean_fraction'"),
        (lambda d: d.update(schema_version=7), "schema_version is 7"),
        (lambda d: d.update(parameters=[0.7]), "'parameters' must be an object"),
    ],
)
def test_a_corrupted_policy_file_names_the_key_and_what_to_change(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = policy_doc()
    mutate(doc)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PolicyError, match=message) as err:
        load_policy(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("key", "legacy", "other"),
    [("toxicity_weight", 1.0, 0.0), ("venue_tilt", 1.0, 20.0), ("max_hold_s", 0.0, 900.0), ("lean_take", 0.0, 1.0)],
)
def test_a_policy_fitted_before_a_key_existed_runs_as_it_was_fitted(tmp_path: Path, key: str, legacy, other) -> None:  # type: ignore[no-untyped-def]
    """Files written before a key was fitted lack it and load with the value they ran with, not
    today's default: `toxicity_weight` 1 (the router fully weighed surveillance), `venue_tilt` 1
    (a lean moved the whole schedule and routed like AC), `max_hold_s` 0 (a shift decayed from its
    start) and `lean_take` 0 (a lean was worked by the schedule, nothing taken on the moved venue)."""
    doc = policy_doc()
    doc["parameters"].pop(key, None)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    assert getattr(load_policy(path).config, key) == legacy
    doc["parameters"][key] = other
    path.write_text(json.dumps(doc))
    assert getattr(load_policy(path).config, key) == other


def test_a_policy_file_that_is_not_json_says_refit(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"schema_version": 1, "parameters": {')
    with pytest.raises(PolicyError, match=r"not valid JSON.*train"):
        load_policy(path)


def test_the_adaptive_algo_runs_with_the_fitted_parameters() -> None:
    """Same transient dip, same seller: the fitted lean_frac (2 %) holds back half what the default (4 %) does."""
    moved = {}
    policies = {"defaults": AdaptivePolicy(AdaptiveConfig()), "fitted": AdaptivePolicy(FITTED, "fitted p")}
    for name, policy in policies.items():
        clock, engine, service, venues = setup()
        signals = Signals()
        service.signals = signals
        service.adaptive_policy = policy  # as the composition sets it (app/simulation.py, app/terminal_sim.py)
        service.stage(ParentOrder("P1", BTC, Side.SELL, Decimal("50"), 3600.0, algo="adaptive"), TRADER)
        service.start("P1", TRADER)
        clock.run_until(clock.now() + 600)
        algo = service.runners["P1"].algo
        assert isinstance(algo, AdaptiveAc) and algo.config == policy.config and algo.policy_label == policy.label
        signals.dips["V0"] = dip(clock, "V0", -1, 0.95)
        clock.run_until(clock.now() + 11)
        moved[name] = shift(service)
    assert moved["defaults"] == pytest.approx(-0.04 * 50, rel=0.05)
    assert moved["fitted"] == pytest.approx(-0.02 * 50, rel=0.05)


def test_a_response_the_policy_switched_off_is_recorded_as_no_change() -> None:
    clock, engine, service, venues = setup()
    signals = Signals()
    service.signals = signals
    service.adaptive_policy = AdaptivePolicy(AdaptiveConfig(lean_frac=0.0), "fitted p")
    service.stage(ParentOrder("P1", BTC, Side.SELL, Decimal("50"), 3600.0, algo="adaptive"), TRADER)
    service.start("P1", TRADER)
    clock.run_until(clock.now() + 600)
    signals.dips["V0"] = dip(clock, "V0", -1, 0.95)
    clock.run_until(clock.now() + 11)
    [decision] = service.runners["P1"].decisions
    assert decision["action"] == "no change" and "(lean_frac is 0)" in decision["reason"]
    assert shift(service) == 0.0


def test_explicit_parameters_override_the_policy_key_by_key() -> None:
    policy = AdaptivePolicy(FITTED, "fitted p").with_overrides({"lean_frac": 0.0})
    assert policy.config.lean_frac == 0.0 and policy.config.informed_frac == FITTED.informed_frac
    assert policy.label == "policy: fitted p + overrides lean_frac=0.0"


def test_simulate_loads_the_scenarios_fitted_policy_and_reports_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app.policy, "POLICY_DIR", tmp_path)
    req = SimRequest("btc-block-4h", algo="adaptive", qty=2.0, horizon_s=120.0, seed=4, rfq="off", mc_paths=500)
    assert run_simulation(req).result["algo_note"] == "policy: defaults"
    (tmp_path / "btc-block-4h.json").write_text(json.dumps(policy_doc()))
    result = run_simulation(req).result
    assert result["algo_note"].startswith("policy: fitted") and result["algo_note"].endswith("btc-block-4h.json")
    assert result["policy"]["parameters"]["lean_frac"] == 0.02 and result["policy"]["parameters"]["window_s"] == 600.0
    (tmp_path / "btc-block-4h.json").write_text(json.dumps({**policy_doc(), "parameters": {"confidence": 2}}))
    with pytest.raises(PolicyError, match=r"btc-block-4h\.json"):
        run_simulation(req)


def test_the_training_market_is_compressed_around_a_short_parent_at_the_same_rate() -> None:
    sc = load_scenario("btc-mixed-4h")
    qty, sets = training_market(sc, 3600.0, None)
    assert qty == pytest.approx(1000.0 / 4)
    assert sets["parent.horizon_s"] == "3600" and sets["scenario.duration_s"] == "5400"
    short = load_scenario("btc-mixed-4h", sets)  # the scenario's own validation accepts it
    for event in short.events:
        assert 900.0 <= event.start_s[0] <= event.start_s[1] <= 3900.0
    assert training_market(sc, 4 * 3600.0, None) == (1000.0, {})  # the scenario's own horizon: as is
    assert json_safe({"a": [float("inf"), 1.0]}) == {"a": [None, 1.0]}


@pytest.mark.slow
def test_the_same_training_seeds_give_the_same_policy(tmp_path: Path) -> None:
    """Two fits on the same seeds: identical documents but for the provenance (date, wall time, commit)."""
    docs = []
    for k in range(2):
        out = tmp_path / f"p{k}.json"
        args = ["train", "--scenario", "btc-mixed-4h", "--seeds", "1000001-1000002", "--horizon", "11m"]
        assert main([*args, "--candidates", "2", "--rungs", "2", "--out", str(out)]) == 0
        docs.append(json.loads(out.read_text()))
    for doc in docs:  # when, how long, and the tree's state (others commit to it meanwhile) are not the fit
        assert set(doc.pop("provenance")) == {"commit", "uncommitted_changes", "date", "machine", "wall_s"}
    assert docs[0] == docs[1]
    assert docs[0]["training"]["seeds"] == [1_000_001, 1_000_002] and len(docs[0]["candidates"]) == 2
    assert all(len(c["rungs"]) == 1 and c["rungs"][0]["seeds"] == 2 for c in docs[0]["candidates"])
    assert load_policy(tmp_path / "p0.json").config == AdaptiveConfig(**docs[0]["parameters"])


def test_a_fit_records_the_code_it_started_on_not_an_edit_made_while_it_ran(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The fit of record said `uncommitted_changes: true` only because docs were edited during its
    20 minutes: the commit is read when the fit starts."""
    import app.commands.train as train
    from core.execution.policy_search import SearchConfig, SeedOutcome

    versions = iter([{"commit": "started", "uncommitted_changes": False}])
    edited = {"commit": "edited", "uncommitted_changes": True}
    monkeypatch.setattr(train, "code_version", lambda: next(versions, edited))

    class Evaluator:  # every candidate costs what AC costs; reading the version mid-fit sees the edit
        def __init__(self, base, workers, progress):  # type: ignore[no-untyped-def]
            self.ac: dict = {}
            self.adaptive: dict = {}
            self.inert: dict = {}
            self.runs = {"ac": 0, "adaptive": 0}

        def result(self, index, params, seed):  # type: ignore[no-untyped-def]
            return self.adaptive[(index, seed)]

        def __call__(self, candidates, seeds):  # type: ignore[no-untyped-def]
            assert train.code_version()["commit"] == "edited"
            out = {}
            for i, _ in candidates:
                for s in seeds:
                    self.ac[s] = self.adaptive[(i, s)] = {"is_adjusted_bps": 20.0 + s % 3}
                    out[(i, s)] = SeedOutcome(20.0 + s % 3, 20.0 + s % 3, True)
            return out

    monkeypatch.setattr(train, "SimEvaluator", Evaluator)
    base = SimRequest("btc-mixed-4h", algo="adaptive", qty=10.0, horizon_s=600.0)
    search = SearchConfig(candidates=2, rung_seeds=(2,))
    doc = train.fit("btc-mixed-4h", [1_000_001, 1_000_002], base, search, progress=False)
    assert doc["provenance"]["commit"] == "started" and doc["provenance"]["uncommitted_changes"] is False


def test_a_run_without_decisions_is_reused_only_by_candidates_that_route_the_same(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Without a scored dip a candidate still reads `toxicity_weight` (the router weighs
    surveillance every tick). The fit of 2026-11-26 11:47 scored the AC-equivalent candidate
    (weight 0) with a weight-0.5 candidate's runs on 3 of 16 seeds: J 0.16 bps where AC's own
    runs give 0. Each weight gets its own no-decision run; equal weights share it."""
    import app.commands.train as train

    ran: list[tuple[str, int]] = []

    def run_arms(jobs, workers, progress):  # type: ignore[no-untyped-def]
        out: dict = {}
        for name, req, seed in jobs:
            ran.append((name, seed))
            weight = req.adaptive.get("toxicity_weight", 1.0) if req.algo == "adaptive" else 0.0
            out.setdefault(name, {})[seed] = {"is_adjusted_bps": 20.0 + 10.0 * weight, "decisions": [],
                                              "unfilled_qty": 0.0}
        return out

    monkeypatch.setattr(train, "run_arms", run_arms)
    base = SimRequest("btc-mixed-4h", algo="adaptive", qty=10.0, horizon_s=600.0)
    evaluator = train.SimEvaluator(base, workers=1, progress=False)
    candidates = [(0, {"toxicity_weight": 0.5, "lean_frac": 0.04}), (1, {"toxicity_weight": 0.0}),
                  (2, {"toxicity_weight": 0.5, "lean_frac": 0.02})]
    out = evaluator(candidates, [1_000_001, 1_000_002])
    for s in (1_000_001, 1_000_002):
        assert out[(0, s)].adaptive_bps == out[(2, s)].adaptive_bps == 25.0  # weight 0.5: one run shared
        assert out[(1, s)].adaptive_bps == out[(1, s)].ac_bps == 20.0  # weight 0 routes like AC
    assert sorted(n for n, _ in ran if n != "ac") == ["c0", "c0", "c1", "c1"]
    assert evaluator.runs["adaptive_reused"] == 2
