"""`python main.py train`: fit the adaptive policy on training seeds, or refit it from our fills.

Fit (`--scenario NAME --seeds 1000001-1000016`): successive halving over a bounded grid of
`confidence`, `lean_frac`, `informed_frac` and `window_s` (core/execution/policy_search.py), each
candidate judged by its paired adjusted-shortfall difference against `ac` on the same seeds
(common random numbers), with a penalty when adaptive's std exceeds 1.1× AC's and +inf when a
parent is left unfilled. Only training seeds ≥ 1,000,000: evaluation seeds 1..N stay held out.
The runs are `compare` arms (`c3=adaptive:policy=defaults,confidence=0.8,…` and `ac=ac`) run by
compare's worker pool. Writes resources/policy/<scenario>.json (or --out), which adaptive runs on
that scenario then load (app/policy.py).

Cheap by construction: the training parent is short (`--horizon`, default 1 h, quantity scaled to
the scenario's average rate) and the scenario is compressed around it (every event's start drawn
inside the parent's life, the parent started after a 10-min warm-up); a seed on which the first
candidate made no decision at all is the same run for every candidate (nothing the parameters
touch happened), so it is run once.

Refit (`--fills DIR`): the CSV directory `python main.py export` writes (fills, children,
decisions): the markout of the fills made under each decision type against fills on the AC path,
and the rule of core/execution/fills_refit.py applied to the policy in use.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import platform
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from adapters.sim.scenario import Scenario, load_scenario
from app.commands.common import (
    add_json_argument,
    check_output_file,
    parse_duration,
    parse_seeds,
    parse_sets,
    write_json,
)
from app.commands.compare import parse_arm, run_arms
from app.policy import policy_path, resolve_policy, shown
from app.simulation import SimRequest
from core.analytics.paired import paired_difference, summary
from core.execution.adaptive import AdaptiveConfig
from core.execution.fills_refit import DecisionRow, FillRow, RefitRule, refit_from_fills
from core.execution.policy import FITTED_KEYS, POLICY_SCHEMA_VERSION, parameters_of
from core.execution.policy_search import DEFAULT_GRID, SearchConfig, SeedOutcome, successive_halving

TRAINING_SEED0 = 1_000_000  # as calibrate: seeds below are evaluation seeds, never fitted on
WARMUP_S = 600.0  # market before the training parent starts (books and flow settle)
EVENT_MARGIN_S = 300.0  # an event starts at least this long after the parent and before its end
TAIL_S = 1_200.0  # market after the horizon (completion, markouts)
MC_PATHS = 2_000  # the pre-trade Monte Carlo's paths (it only reports; AC's schedule does not use it)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "train", help="fit the adaptive policy (training seeds ≥ 1,000,000) or refit it from fills"
    )
    p.add_argument("--scenario", required=True)
    p.add_argument("--seeds", default="1000001-1000016", help="training seeds, all ≥ 1,000,000")
    p.add_argument("--side", default="sell", choices=("buy", "sell"))
    p.add_argument("--horizon", default="1h", help="training parent's horizon; the scenario is compressed around it")
    p.add_argument("--qty", type=float, help="training parent's quantity (default: the scenario's rate × horizon)")
    p.add_argument("--rfq", default="off", choices=("off", "manual-reject", "auto"))
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    defaults = SearchConfig()
    p.add_argument("--candidates", type=int, default=defaults.candidates, help="candidates on the first rung")
    p.add_argument("--rungs", default=",".join(str(n) for n in defaults.rung_seeds), help="training seeds per rung")
    p.add_argument("--search-seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", type=Path, help="policy file to write (fit: default resources/policy/<scenario>.json)")
    p.add_argument(
        "--fills", type=Path, metavar="DIR", help="refit from an export directory (fills, children, decisions)"
    )
    p.add_argument("--policy", default="auto", help="with --fills: the policy to adjust (auto, defaults or a file)")
    p.add_argument("--markout", default="5m", help="with --fills: markout horizon (default 5m)")
    p.add_argument("--min-decisions", type=int, default=RefitRule().min_decisions, help="with --fills: k of the rule")
    add_json_argument(p)
    p.set_defaults(handler=run)


def check_training_seeds(seeds: list[int]) -> None:
    """Refuse evaluation seeds: fitting on them would leave nothing held out."""
    low = [s for s in seeds if s < TRAINING_SEED0]
    if low:
        shown_low = ", ".join(str(s) for s in low[:5]) + ("…" if len(low) > 5 else "")
        raise ValueError(
            f"training seeds must be ≥ {TRAINING_SEED0:,} (seeds 1..N are held out for evaluation); "
            f"got {shown_low}: write e.g. --seeds 1000001-1000016"
        )
    if len(set(seeds)) != len(seeds):
        raise ValueError("training seeds repeat: give each seed once")


def training_market(scenario: Scenario, horizon_s: float, qty: float | None) -> tuple[float, dict[str, str]]:
    """The training parent's quantity and the `--set`s that compress the scenario around it.

    Same average rate as the scenario's own parent; the parent starts after `WARMUP_S`; every
    event's start range is clipped into [start + EVENT_MARGIN_S, end − EVENT_MARGIN_S] and its
    duration range to at most half the horizon; the run ends `TAIL_S` after the horizon. With the
    scenario's own horizon nothing is compressed."""
    parent = scenario.parent
    if parent is None:
        if qty is None:
            raise ValueError(f"scenario {scenario.name} has no [parent]: give --qty")
        return qty, {}
    if qty is None:  # on every venue's lot grid, or the residual below a lot could never fill
        lot = coarsest_lot(scenario)
        qty = round(math.floor(parent.quantity * min(horizon_s / parent.horizon_s, 1.0) / lot) * lot, 10)
    if horizon_s >= parent.horizon_s:
        return qty, {}
    if horizon_s <= 2 * EVENT_MARGIN_S:
        raise ValueError(f"--horizon must exceed {2 * EVENT_MARGIN_S:.0f} s so events fall inside the parent's life")
    start, end = WARMUP_S, WARMUP_S + horizon_s
    sets = {
        "scenario.duration_s": f"{end + TAIL_S:.0f}",
        "parent.start_s": f"[{start:.0f}, {start:.0f}]",
        "parent.horizon_s": f"{horizon_s:.0f}",
    }
    for k, event in enumerate(scenario.events):
        lo, hi = start + EVENT_MARGIN_S, end - EVENT_MARGIN_S
        sets[f"events.{k}.start_s"] = f"[{lo:.0f}, {hi:.0f}]"
        d_lo, d_hi = event.duration_s
        cap = horizon_s / 2
        sets[f"events.{k}.duration_s"] = f"[{min(d_lo, cap / 2):.0f}, {min(d_hi, cap):.0f}]"
    return qty, sets


def coarsest_lot(scenario: Scenario) -> float:
    """The largest lot size among the scenario's venues (base units)."""
    return max(float(v.lot_size) for v in scenario.venues)


class SimEvaluator:
    """The search's evaluator: `compare` arms on training seeds, AC once per seed, and a seed on
    which a candidate made no decision at all reused for every candidate that routes the same (an
    exact shortcut: without a scored dip only `toxicity_weight` is read — the router weighs
    surveillance every tick — so candidates with the same weight run the same; reusing a run
    across weights was a bug that scored a candidate with another's routing)."""

    def __init__(self, base: SimRequest, workers: int, progress: bool) -> None:
        self.base = base
        # filled = less left than the execution service treats as done (half the smallest lot; we use the coarsest)
        self.unfilled_tolerance = 0.5 * coarsest_lot(load_scenario(base.scenario, base.sets))
        self.workers = workers
        self.progress = progress
        self.ac: dict[int, dict[str, Any]] = {}
        self.inert: dict[tuple[int, float], dict[str, Any]] = {}  # (seed, toxicity_weight) → the run
        self.adaptive: dict[tuple[int, int], dict[str, Any]] = {}
        self.runs: Counter[str] = Counter()

    @staticmethod
    def routing(params: dict[str, float]) -> float:
        """What a candidate reads without a scored dip: the router's toxicity weight."""
        return float(params.get("toxicity_weight", AdaptiveConfig().toxicity_weight))

    def __call__(
        self, candidates: list[tuple[int, dict[str, float]]], seeds: list[int]
    ) -> dict[tuple[int, int], SeedOutcome]:
        firsts: dict[float, tuple[int, dict[str, float]]] = {}
        for i, params in candidates:
            firsts.setdefault(self.routing(params), (i, params))
        jobs = [("ac", self._arm("ac", "ac"), s) for s in seeds if s not in self.ac]
        jobs += [
            (f"c{i}", self._candidate(i, params), s)
            for w, (i, params) in firsts.items()
            for s in seeds
            if (s, w) not in self.inert and (i, s) not in self.adaptive
        ]
        self._run(jobs)
        for w, (i, _) in firsts.items():
            for s in seeds:
                result = self.adaptive.get((i, s))
                if result is not None and not result["decisions"]:
                    self.inert.setdefault((s, w), result)
        jobs = [
            (f"c{i}", self._candidate(i, params), s)
            for s in seeds
            for i, params in candidates
            if (s, self.routing(params)) not in self.inert and (i, s) not in self.adaptive
        ]
        self._run(jobs)
        out = {}
        for i, params in candidates:
            for s in seeds:
                if (i, s) not in self.adaptive:
                    self.runs["adaptive_reused"] += 1
                res = self.result(i, params, s)
                out[(i, s)] = SeedOutcome(
                    float(res["is_adjusted_bps"]),
                    float(self.ac[s]["is_adjusted_bps"]),
                    float(res["unfilled_qty"]) < self.unfilled_tolerance,
                )
        return out

    def result(self, index: int, params: dict[str, float], seed: int) -> dict[str, Any]:
        """Candidate `index`'s run on `seed`: its own, else the no-decision run of its routing."""
        own = self.adaptive.get((index, seed))
        return own if own is not None else self.inert[(seed, self.routing(params))]

    def _arm(self, name: str, spec: str) -> SimRequest:
        return parse_arm(f"{name}={spec}", self.base)[1]

    def _candidate(self, index: int, params: dict[str, float]) -> SimRequest:
        keys = ",".join(f"{k}={params[k]:g}" for k in sorted(params))
        return self._arm(f"c{index}", f"adaptive:policy=defaults,{keys}")

    def _run(self, jobs: list[tuple[str, SimRequest, int]]) -> None:
        if not jobs:
            return
        results = run_arms(jobs, self.workers, self.progress)
        for name, per_seed in results.items():
            for seed, res in per_seed.items():
                if name == "ac":
                    self.ac[seed] = res
                    self.runs["ac"] += 1
                else:
                    self.adaptive[(int(name[1:]), seed)] = res
                    self.runs["adaptive"] += 1


def fit(
    scenario: str,
    seeds: list[int],
    base: SimRequest,
    search: SearchConfig,
    workers: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the search on simulations and return the policy document (docs/json.md, `train`)."""
    check_training_seeds(seeds)
    t0 = time.perf_counter()
    code = code_version()  # the code the fit runs, read before it starts (edits during a fit are not its code)
    evaluator = SimEvaluator(base, workers, progress)
    found = successive_halving(seeds, evaluator, search)
    chosen = found["chosen"]
    if not math.isfinite(chosen["objective"]):
        raise ValueError(
            "no candidate filled every parent on the training seeds: give a longer --horizon or smaller --qty"
        )
    used = seeds[: search.rung_seeds[-1]]
    params = parameters_of(AdaptiveConfig(**chosen["parameters"]))
    ac_bps = [float(evaluator.ac[s]["is_adjusted_bps"]) for s in used]
    a_bps = [float(evaluator.result(chosen["candidate"], chosen["parameters"], s)["is_adjusted_bps"]) for s in used]
    sc = load_scenario(scenario, base.sets)
    return {
        "schema_version": POLICY_SCHEMA_VERSION,
        "kind": "adaptive_policy",
        "scenario": scenario,
        "instrument": sc.scenario.symbol,
        "parameters": params,
        "fitted_keys": list(FITTED_KEYS),
        "objective": {
            "metric": "is_adjusted_bps",
            "formula": "mean(adaptive - ac) + std_penalty_bps * max(0, std(adaptive)/std(ac) - std_ratio_max); "
            "inf if a parent is left unfilled",
            "std_ratio_max": search.std_ratio_max,
            "std_penalty_bps": search.std_penalty_bps,
        },
        "training": {
            "seeds": seeds,
            "seeds_used": used,
            "side": base.side,
            "qty": base.qty,
            "horizon_s": base.horizon_s,
            "rfq": base.rfq,
            "sets": base.sets,
            "candidate_base": "defaults",
        },
        "search": {
            "method": "successive halving",
            "grid": {k: list(v) for k, v in DEFAULT_GRID.items()},
            "candidates": search.candidates,
            "rung_seeds": list(search.rung_seeds),
            "eta": search.eta,
            "search_seed": search.search_seed,
        },
        "chosen": chosen,
        "chosen_vs_ac": paired_difference(a_bps, ac_bps).as_dict(),
        "ac_is_adjusted_bps": summary(ac_bps),
        "candidates": found["candidates"],
        "per_seed": {
            "ac": {str(s): float(evaluator.ac[s]["is_adjusted_bps"]) for s in sorted(evaluator.ac)},
            "adaptive": {  # each candidate on the seeds of the last rung it reached
                f"c{c['candidate']}": {
                    str(s): float(evaluator.result(c["candidate"], c["parameters"], s)["is_adjusted_bps"])
                    for s in seeds[: c["rungs"][-1]["seeds"]]
                }
                for c in found["candidates"]
            },
            "no_decision_seeds": sorted({s for s, _ in evaluator.inert}),
        },
        "runs": dict(sorted(evaluator.runs.items())),
        "provenance": provenance(time.perf_counter() - t0, code),
    }


def json_safe(value: Any) -> Any:
    """NaN and ±inf (no sample, an unfilled candidate's objective) as null: strict JSON readers reject them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def code_version() -> dict[str, Any]:
    """The commit and whether tracked files differed from it, now."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def provenance(wall_s: float, code: dict[str, Any] | None = None) -> dict[str, Any]:
    """Commit (and whether the tree had uncommitted changes) when the fit started, date, machine:
    enough to audit a fit."""
    return {
        **(code or code_version()),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}, "
        f"python {platform.python_version()}",
        "wall_s": round(wall_s, 1),
    }


def run(args: argparse.Namespace) -> int:
    if args.fills is not None:
        return run_refit(args)
    out = args.out or policy_path(args.scenario)
    check_output_file(out, "--out")  # before the fit: its result must not be lost to a bad path
    check_output_file(args.json, "--json")
    seeds = parse_seeds(args.seeds)
    check_training_seeds(seeds)
    rungs = tuple(int(x) for x in args.rungs.split(","))
    search = SearchConfig(candidates=args.candidates, rung_seeds=rungs, search_seed=args.search_seed)
    horizon = parse_duration(args.horizon, "--horizon")
    qty, sets = training_market(load_scenario(args.scenario), horizon, args.qty)
    sets.update(parse_sets(args.sets))
    base = SimRequest(
        scenario=args.scenario,
        side=args.side,
        qty=qty,
        horizon_s=horizon,
        rfq=args.rfq,
        sets=sets,
        mc_paths=MC_PATHS,
    )
    doc = json_safe(fit(args.scenario, seeds, base, search, args.workers, progress=args.json != "-"))
    write_json(str(out), doc)
    write_json(args.json, doc)
    if args.json != "-":
        print_fit(doc, out)
    return 0


def print_fit(doc: dict[str, Any], out: Path) -> None:
    print(
        f"{doc['scenario']}: {len(doc['training']['seeds_used'])} training seeds, runs {doc['runs']}, "
        f"{doc['provenance']['wall_s']} s"
    )
    for cand in doc["candidates"]:
        p = cand["parameters"]
        text = " ".join(f"{k} {p[k]:g}" for k in sorted(p))
        rungs = "  ".join(
            f"n={r['seeds']}: J {r['objective']:.2f} (Δ {r['mean_diff_bps']:.2f}, std ratio {r['std_ratio']:.2f})"
            for r in cand["rungs"]
        )
        print(f"  c{cand['candidate']:<2d} {text:60s} {rungs}")
    c = doc["chosen"]
    print(f"chosen c{c['candidate']}: {doc['parameters']} — J {c['objective']:.2f} bps on {c['seeds']} seeds")
    print(f"policy written to {shown(out)}")


def run_refit(args: argparse.Namespace) -> int:
    """`train --fills DIR`: markouts per decision type and the rule's adjusted parameters."""
    check_output_file(args.out, "--out")
    check_output_file(args.json, "--json")
    policy = resolve_policy(args.scenario, args.policy)
    rule = RefitRule(markout_s=parse_duration(args.markout, "--markout"), min_decisions=args.min_decisions)
    fills, decisions = read_export(args.fills)
    report = refit_from_fills(fills, decisions, policy.config, rule)
    doc = json_safe(
        {"schema_version": 1, "kind": "fills_refit", "export": str(args.fills), "policy": policy.label, **report}
    )
    if args.out is not None:
        write_json(str(args.out), refitted_policy(args.scenario, doc, policy.label))
    write_json(args.json, doc)
    if args.json != "-":
        print_refit(doc, args.out)
    return 0


def read_export(path: Path) -> tuple[list[FillRow], list[DecisionRow]]:
    """Fills (with their parent, through children.csv) and decisions from `export`'s CSV directory."""
    folder = path.parent if path.suffix == ".csv" else path
    tables = {name: folder / f"{name}.csv" for name in ("fills", "children", "decisions")}
    missing = [str(p) for p in tables.values() if not p.exists()]
    if missing:
        raise ValueError(
            f"--fills {path}: missing {', '.join(missing)}; give the directory `python main.py export --csv DIR` wrote"
        )
    parent_of = {row["client_id"]: row["parent_id"] for row in _rows(tables["children"])}
    fills = []
    for row in _rows(tables["fills"]):
        parent = parent_of.get(row["client_id"])
        if parent is None:
            raise ValueError(f"{tables['fills']}: fill of child {row['client_id']} not in children.csv (export both)")
        side = {"BUY": 1, "SELL": -1}.get(row["side"])
        if side is None:
            raise ValueError(f"{tables['fills']}: side {row['side']!r} must be BUY or SELL")
        fills.append(FillRow(parent, float(row["venue_ts"]), side, float(row["price"]), float(row["quantity"])))
    decisions = [
        DecisionRow(
            row["parent_id"],
            dt.datetime.fromisoformat(row["time"]).timestamp(),
            row["action"],
            float(row["shift_qty"]),
            float(row["p_transient"]) if row["p_transient"] else math.nan,
            float(row["window_s"]) if row["window_s"] else AdaptiveConfig().window_s,
            row.get("venue", "") or "",
        )
        for row in _rows(tables["decisions"])
    ]
    return fills, decisions


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if "(no rows)" not in row]


def refitted_policy(scenario: str, refit: dict[str, Any], base_label: str) -> dict[str, Any]:
    """A policy document with the rule's parameters; `refit` says from what and what changed."""
    sc = load_scenario(scenario)
    return {
        "schema_version": POLICY_SCHEMA_VERSION,
        "kind": "adaptive_policy",
        "scenario": scenario,
        "instrument": sc.scenario.symbol,
        "parameters": refit["parameters_after"],
        "fitted_keys": list(FITTED_KEYS),
        "refit": {"from_policy": base_label, "export": refit["export"], "changes": refit["changes"]},
        "provenance": provenance(0.0),
    }


def print_refit(doc: dict[str, Any], out: Path | None) -> None:
    rule = doc["rule"]
    print(
        f"{doc['fills']} fills ({doc['fills_without_reference']} without a {rule['markout_s']:g}-s reference), "
        f"{doc['acting_decisions']} acting decisions of {doc['decisions']}; {doc['policy']}"
    )
    for name, row in doc["decision_types"].items():
        edge = ""
        if "decisions" in row:
            edge = f"; {row['decisions']} decisions, edge {_bps(row['edge_bps_mean'])} ± {_bps(row['edge_bps_se'])}"
        print(f"  {name:12s} {row['fills']:6d} fills, gain {_bps(row['gain_bps_mean'])}{edge}")
    for change in doc["changes"]:
        print(f"  {change}")
    if out is not None:
        print(f"policy written to {shown(out)}")


def _bps(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} bps"
