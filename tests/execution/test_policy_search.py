"""The learned layer's search: successive halving picks what the objective says, honours the std
cap and the every-parent-filled rule, asks only for the runs it needs, and is deterministic."""

from __future__ import annotations

import math

import pytest

from core.execution.policy_search import SearchConfig, SeedOutcome, draw_candidates, objective, successive_halving

GRID = {
    "confidence": (0.7,),
    "lean_frac": (0.0, 0.02, 0.06),
    "informed_frac": (0.0, 0.04),
    "window_s": (300.0,),
}
SEEDS = list(range(1_000_001, 1_000_009))


def seed_noise(seed: int) -> float:
    """A market effect shared by both arms on a seed (common random numbers): cancels in the pair."""
    return ((seed * 7919) % 23) - 11.0


class FakeEvaluator:
    """Synthetic paired objective: adaptive − ac = 100·|lean − 0.06| + 50·|informed − 0.04| bps."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []

    def __call__(self, candidates, seeds):  # type: ignore[no-untyped-def]
        out = {}
        for i, p in candidates:
            for s in seeds:
                self.asked.append((i, s))
                ac = 20.0 + seed_noise(s)
                diff = 100 * abs(p["lean_frac"] - 0.06) + 50 * abs(p["informed_frac"] - 0.04) + 0.1 * (s % 3)
                out[(i, s)] = SeedOutcome(ac + diff, ac, True)
        return out


def test_the_search_picks_the_candidate_the_objective_prefers() -> None:
    evaluator = FakeEvaluator()
    config = SearchConfig(candidates=6, rung_seeds=(2, 4, 8), search_seed=3)
    found = successive_halving(SEEDS, evaluator, config, GRID)
    assert found["chosen"]["parameters"]["lean_frac"] == 0.06
    assert found["chosen"]["parameters"]["informed_frac"] == 0.04
    assert found["chosen"]["seeds"] == 8 and found["chosen"]["mean_diff_bps"] == pytest.approx(0.1 * 8 / 8, abs=0.2)
    # 6 candidates on 2 seeds, 3 on the next 2, 2 on the last 4: 12 + 6 + 8 runs, none asked twice
    assert len(evaluator.asked) == len(set(evaluator.asked)) == 26
    rungs = sorted(len(c["rungs"]) for c in found["candidates"])
    assert rungs == [1, 1, 1, 2, 3, 3]


def test_a_lower_mean_with_too_much_spread_or_an_unfilled_parent_is_not_chosen() -> None:
    grid = {"confidence": (0.7,), "lean_frac": (0.0, 0.02, 0.04), "informed_frac": (0.0,), "window_s": (300.0,)}

    def evaluate(candidates, seeds):  # type: ignore[no-untyped-def]
        out = {}
        for i, p in candidates:
            for s in seeds:
                ac = 20.0 + seed_noise(s)
                if p["lean_frac"] == 0.02:  # 5 bps better on average but 3x AC's spread around it
                    out[(i, s)] = SeedOutcome(20.0 - 5.0 + 3 * seed_noise(s), ac, True)
                elif p["lean_frac"] == 0.04:  # 10 bps better but leaves a parent unfilled on one seed
                    out[(i, s)] = SeedOutcome(ac - 10.0, ac, s != seeds[-1])
                else:
                    out[(i, s)] = SeedOutcome(ac - 1.0, ac, True)
        return out

    found = successive_halving(SEEDS[:4], evaluate, SearchConfig(candidates=4, rung_seeds=(4,)), grid)
    assert found["chosen"]["parameters"]["lean_frac"] == 0.0
    by_lean = {c["parameters"]["lean_frac"]: c["rungs"][-1] for c in found["candidates"]}  # the defaults too
    assert by_lean[0.02]["std_ratio"] > 1.1 and by_lean[0.02]["mean_diff_bps"] < by_lean[0.0]["mean_diff_bps"]
    assert by_lean[0.04]["objective"] == math.inf and not by_lean[0.04]["all_filled"]


def test_candidates_start_with_the_defaults_and_no_shift_and_are_deterministic() -> None:
    a = draw_candidates(GRID, 5, search_seed=11)
    assert a == draw_candidates(GRID, 5, search_seed=11)
    assert a[0] == {"confidence": 0.7, "lean_frac": 0.04, "informed_frac": 0.04, "window_s": 300.0}
    assert a[1] == {**a[0], "lean_frac": 0.0, "informed_frac": 0.0}
    assert len({tuple(sorted(c.items())) for c in a}) == 5  # distinct
    assert draw_candidates(GRID, 5, search_seed=12) != a  # another search seed draws other points


def test_the_objective_penalises_only_the_spread_above_the_cap() -> None:
    config = SearchConfig()
    same = [SeedOutcome(10.0 + k, 12.0 + k, True) for k in range(4)]
    assert objective(same, config)["objective"] == pytest.approx(-2.0)  # std ratio 1: no penalty
    wide = [SeedOutcome(10.0 + 2 * k, 12.0 + k, True) for k in range(4)]  # std ratio 2
    j = objective(wide, config)
    assert j["std_ratio"] == pytest.approx(2.0)
    assert j["objective"] == pytest.approx(j["mean_diff_bps"] + 50.0 * (2.0 - 1.1))


def test_bad_search_settings_and_too_few_seeds_say_what_to_change() -> None:
    with pytest.raises(ValueError, match="must increase"):
        SearchConfig(rung_seeds=(8, 4))
    with pytest.raises(ValueError, match="more training seeds"):
        successive_halving(SEEDS[:3], FakeEvaluator(), SearchConfig(rung_seeds=(2, 4)), GRID)


def test_candidates_that_run_identically_are_drawn_once() -> None:
    """Both fractions 0: nothing is shifted, so threshold and window change nothing — one such candidate."""
    grid = {"confidence": (0.6, 0.9), "lean_frac": (0.0, 0.02), "informed_frac": (0.0,), "window_s": (120.0, 600.0)}
    cands = draw_candidates(grid, 10, search_seed=0)
    no_shift = [c for c in cands if c["lean_frac"] == 0.0 and c["informed_frac"] == 0.0]
    assert len(no_shift) == 1
    assert len(cands) == 1 + 1 + 4  # the defaults, the no-shift policy, the four lean_frac=0.02 points


def test_a_venue_tilt_without_a_lean_runs_identically_and_is_drawn_once() -> None:
    """The tilt only aims a lean or hold-back: with lean_frac 0 every tilt is the same candidate."""
    grid = {"lean_frac": (0.0, 0.04), "informed_frac": (0.04,), "venue_tilt": (1.0, 4.0, 20.0)}
    cands = draw_candidates(grid, 10, search_seed=0)
    assert len([c for c in cands if c["lean_frac"] == 0.0 and c["informed_frac"] == 0.04]) == 1
    assert sorted(c["venue_tilt"] for c in cands if c["lean_frac"] == 0.04) == [1.0, 4.0, 20.0]


def test_the_third_candidate_is_ac_itself_so_nothing_beating_ac_fits_ac() -> None:
    """With the routing response in the grid, the search always holds the policy that changes
    nothing (no shift, surveillance ignored by the router): if no candidate beats AC, it is chosen."""
    grid = {**GRID, "toxicity_weight": (0.0, 0.5, 1.0)}
    cands = draw_candidates(grid, 6, search_seed=3)
    assert cands[1] == {**cands[0], "lean_frac": 0.0, "informed_frac": 0.0}
    assert cands[2] == {**cands[1], "toxicity_weight": 0.0}

    def ac_is_best(candidates, seeds):  # type: ignore[no-untyped-def]
        out = {}
        for i, p in candidates:
            for s in seeds:
                ac = 20.0 + seed_noise(s)
                cost = 30 * p["lean_frac"] + 20 * p["informed_frac"] + 1.5 * p["toxicity_weight"]
                out[(i, s)] = SeedOutcome(ac + cost + (0.01 * (s % 2) if cost else 0.0), ac, True)
        return out

    result = successive_halving(SEEDS, ac_is_best, SearchConfig(candidates=6, rung_seeds=(2, 4, 8)), grid)
    assert result["chosen"]["candidate"] == 2
    assert result["chosen"]["parameters"]["toxicity_weight"] == 0.0
    assert result["chosen"]["mean_diff_bps"] == 0.0
