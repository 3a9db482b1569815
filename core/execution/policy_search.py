"""Fitting the adaptive policy: successive halving over a bounded grid, judged paired against AC.

The objective of a candidate on training seeds S (each seed run twice, adaptive and AC, on the
same simulated market — common random numbers):

    J = mean_s(a_s − c_s) + std_penalty_bps · max(0, std(a)/std(c) − std_ratio_max)

with a_s, c_s the adjusted shortfalls (bps, positive = cost) of adaptive and AC on seed s, and
J = +inf when any adaptive parent was left unfilled (issue 9: every parent filled; adaptive's
shortfall std at most 1.1× AC's). Lower is better.

Search (deterministic for a search seed): the documented defaults, the policy that never shifts
(lean_frac = informed_frac = 0: AC plus spoof-aware routing), the policy that is AC (no shift,
toxicity_weight = 0), and `candidates − 3` distinct points drawn from the grid by
`numpy.random.default_rng(search_seed)`; then successive halving
(Jamieson & Talwalkar 2016, "Non-stochastic best arm identification and hyperparameter
optimization", AISTATS; the rung schedule of Li et al. 2018, Hyperband, JMLR 18): every
survivor runs on the first n_r training seeds of rung r, the best ⌈k/eta⌉ by J go on (ties by
candidate order), and the best on the last rung is the fit. Seeds are prefixes, so every rung
compares candidates on the same seeds and a survivor's earlier runs are reused.

The evaluator is injected: `train` runs simulations; the tests use a synthetic objective.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.execution.adaptive import AdaptiveConfig

# Bounded grid (fractions ≤ max_shift_frac 0.08; confidence inside (0.5, 1); windows 2-10 min).
DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "confidence": (0.6, 0.7, 0.8, 0.9),
    "lean_frac": (0.0, 0.02, 0.04, 0.06, 0.08),
    "informed_frac": (0.0, 0.02, 0.04, 0.06, 0.08),
    "window_s": (120.0, 300.0, 600.0),
    "toxicity_weight": (0.0, 0.5, 1.0),
    "venue_tilt": (1.0, 4.0, 20.0),
}


@dataclass(frozen=True, slots=True)
class SeedOutcome:
    """One training seed of one candidate: adaptive's and AC's adjusted shortfall (bps)."""

    adaptive_bps: float
    ac_bps: float
    filled: bool  # the adaptive parent was filled completely


@dataclass(frozen=True, slots=True)
class SearchConfig:
    candidates: int = 8  # on the first rung (the defaults and the no-shift policy included)
    rung_seeds: tuple[int, ...] = (4, 8, 16)  # training seeds per rung (prefixes of the seed list)
    eta: int = 2  # keep ⌈k/eta⌉ candidates per rung
    search_seed: int = 0  # draws the candidates from the grid
    std_ratio_max: float = 1.1  # issue 9: adaptive's shortfall std ≤ 1.1× AC's
    std_penalty_bps: float = 50.0  # J rises this many bps per unit of std ratio above the max

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ValueError(f"search candidates must be at least 1, got {self.candidates}")
        if not self.rung_seeds or any(b <= a for a, b in itertools.pairwise(self.rung_seeds)):
            raise ValueError(f"rung seeds must increase, e.g. 4,8,16; got {list(self.rung_seeds)}")
        if self.rung_seeds[0] < 2:
            raise ValueError("the first rung needs at least 2 seeds (a standard deviation)")
        if self.eta < 2:
            raise ValueError(f"eta must be at least 2 (keep half or fewer per rung), got {self.eta}")


# (candidates, seeds) -> outcome per (candidate index, seed); asked only for pairs not yet run
Evaluator = Callable[[list[tuple[int, dict[str, float]]], list[int]], dict[tuple[int, int], SeedOutcome]]


@dataclass(slots=True)
class CandidateRecord:
    index: int
    parameters: dict[str, float]
    rungs: list[dict[str, Any]] = field(default_factory=list)  # objective per rung it ran on


def draw_candidates(grid: Mapping[str, Sequence[float]], n: int, search_seed: int) -> list[dict[str, float]]:
    """The defaults, the no-shift policy, the policy that is AC (no shift and toxicity ignored),
    then distinct grid points drawn with `search_seed`.

    The AC-equivalent candidate makes "nothing beats AC" a possible answer: the fit then runs AC.

    Points that run identically are drawn once: with both fractions 0 nothing is ever shifted,
    so `confidence` and `window_s` change no schedule (the first fit drew two such no-shift
    candidates and spent a slot on a copy)."""
    defaults = AdaptiveConfig()
    keys = sorted(grid)
    first = {k: float(getattr(defaults, k)) for k in keys}
    off = {**first, "lean_frac": 0.0, "informed_frac": 0.0} if {"lean_frac", "informed_frac"} <= set(keys) else first
    plain = {**off, "toxicity_weight": 0.0} if "toxicity_weight" in keys else off
    out: list[dict[str, float]] = []
    seen: set[tuple[tuple[str, float], ...]] = set()

    def add(cand: dict[str, float]) -> None:
        key = _behaviour(cand, first)
        if key not in seen and len(out) < n:
            seen.add(key)
            out.append(cand)

    add(first)
    add(off)
    add(plain)
    points = [
        dict(zip(keys, (float(v) for v in values), strict=True))
        for values in itertools.product(*(grid[k] for k in keys))
    ]
    rng = np.random.default_rng(search_seed)
    for i in rng.permutation(len(points)):
        add(points[int(i)])
    return out


def _behaviour(cand: dict[str, float], defaults: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """What decides a candidate's schedule: without any shift, its threshold and window do not;
    without a lean or hold-back, neither does the venue tilt that aims one."""
    if cand.get("lean_frac") == 0.0 and cand.get("informed_frac") == 0.0:
        cand = {**cand, **{k: defaults[k] for k in ("confidence", "window_s") if k in defaults}}
    if cand.get("lean_frac") == 0.0 and "venue_tilt" in defaults:
        cand = {**cand, "venue_tilt": defaults["venue_tilt"]}
    return tuple(sorted(cand.items()))


def objective(outcomes: Sequence[SeedOutcome], config: SearchConfig) -> dict[str, Any]:
    """J and its parts over one candidate's seeds (see the module docstring)."""
    a = np.array([o.adaptive_bps for o in outcomes])
    c = np.array([o.ac_bps for o in outcomes])
    diff = a - c
    sd_a, sd_c = float(np.std(a, ddof=1)), float(np.std(c, ddof=1))
    ratio = sd_a / sd_c if sd_c > 0 else (1.0 if sd_a == 0 else math.inf)
    filled = all(o.filled for o in outcomes)
    mean = float(np.mean(diff))
    j = mean + config.std_penalty_bps * max(0.0, ratio - config.std_ratio_max) if filled else math.inf
    return {
        "seeds": len(outcomes),
        "objective": j,
        "mean_diff_bps": mean,
        "sd_diff_bps": float(np.std(diff, ddof=1)),
        "std_ratio": ratio,
        "all_filled": filled,
    }


def successive_halving(
    seeds: Sequence[int],
    evaluate: Evaluator,
    config: SearchConfig,
    grid: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, Any]:
    """Run the search; returns the chosen parameters and every candidate's objectives per rung."""
    if len(seeds) < config.rung_seeds[-1]:
        raise ValueError(
            f"the last rung uses {config.rung_seeds[-1]} seeds but {len(seeds)} were given: "
            "give more training seeds or smaller rungs"
        )
    records = [
        CandidateRecord(i, p)
        for i, p in enumerate(draw_candidates(grid or DEFAULT_GRID, config.candidates, config.search_seed))
    ]
    results: dict[tuple[int, int], SeedOutcome] = {}
    alive = list(records)
    for rung, n in enumerate(config.rung_seeds):
        rung_seeds = list(seeds[:n])
        todo = [s for s in rung_seeds if any((r.index, s) not in results for r in alive)]
        if todo:
            results.update(evaluate([(r.index, r.parameters) for r in alive], todo))
        for r in alive:
            missing = [s for s in rung_seeds if (r.index, s) not in results]
            if missing:
                raise RuntimeError(f"the evaluator returned no outcome for candidate {r.index} on seeds {missing}")
            r.rungs.append({"rung": rung, **objective([results[(r.index, s)] for s in rung_seeds], config)})
        ranked = sorted(alive, key=lambda r: (r.rungs[-1]["objective"], r.index))
        if rung < len(config.rung_seeds) - 1:
            alive = ranked[: max(1, math.ceil(len(ranked) / config.eta))]
        else:
            alive = ranked[:1]
    best = alive[0]
    return {
        "chosen": {"candidate": best.index, "parameters": best.parameters, **best.rungs[-1]},
        "candidates": [{"candidate": r.index, "parameters": r.parameters, "rungs": r.rungs} for r in records],
        "evaluations": len(results),
    }
