"""`python main.py compare`: several arms on the same seeds (common random numbers), paired.

Arms: `NAME=ALGO[:key=value,…]` with keys venues (A+B or deepest), rfq, urgency, qty, horizon,
risk_aversion, probe_desks and probe_fraction (a leakage probe at the start: that many desks asked
for that fraction of the block, every quote rejected; needs rfq=manual-reject), rfq_desks (desks
asked per RFQ round, the disclosure policy's max_desks), set.<dotted.scenario.key>, and for the
adaptive algo policy (auto, defaults or a policy file) and its parameters (confidence, lean_frac,
informed_frac, window_s, max_age_s, max_shift_frac, same_move_s; core/execution/adaptive.py), which
override the policy key by key. `--algos twap,ac` is shorthand for arms named after their algos. Per
arm: mean/std/P05/P50/P95 of shortfall (raw and adjusted); for each arm against the first: the
paired difference with its 95 % CI, n, the paired sd and the seeds 80 % power would need at the
observed difference. Seeds run in parallel processes.

Risk: per arm, on how many seeds each circuit breaker fired (`breakers`, e.g. the slippage
breaker's firing rate over 100 calm seeds in docs/risk.md) and how many children each pre-trade
rule refused (`refusals`); per seed, the breakers that fired.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import fields, replace
from typing import Any

from app.commands.common import (
    add_json_argument,
    check_output_file,
    parse_duration,
    parse_seeds,
    parse_sets,
    worker_context,
    write_json,
)
from app.simulation import SimRequest, run_simulation
from core.analytics.event_behaviour import behaviour_summary
from core.analytics.paired import paired_difference, summary
from core.execution.adaptive import AdaptiveConfig
from core.execution.policy import config_values

ADAPTIVE_KEYS = tuple(f.name for f in fields(AdaptiveConfig))

SCHEMA_VERSION = 1
METRICS = ("implementation_shortfall_bps", "is_adjusted_bps")
MARGIN_SHARE = 0.05  # equivalence / non-inferiority margin, a share of the first arm's mean


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("compare", help="compare algorithms/arms on the same seeds with paired statistics")
    p.add_argument("--scenario", required=True)
    p.add_argument("--arms", nargs="+", default=[], metavar="NAME=ALGO[:key=value,...]")
    p.add_argument("--algos", help="shorthand: comma-separated algos, one arm each")
    p.add_argument("--seeds", default="1-20")
    p.add_argument("--side", default="sell", choices=("buy", "sell"))
    p.add_argument("--qty", type=float)
    p.add_argument("--horizon")
    p.add_argument("--rfq", default="auto", choices=("off", "manual-reject", "auto"), help="default for every arm")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--workers", type=int, default=2)
    add_json_argument(p)
    p.set_defaults(handler=run)


def parse_arm(text: str, base: SimRequest) -> tuple[str, SimRequest]:
    name, sep, spec = text.partition("=")
    if not sep or not name:
        raise ValueError(f"arm {text!r}: write NAME=ALGO[:key=value,...], e.g. traditional=twap:venues=deepest,rfq=off")
    algo, _, opts = spec.partition(":")
    req = replace(base, algo=algo, sets=dict(base.sets))
    for opt in filter(None, (o.strip() for o in opts.split(","))):
        key, eq, value = opt.partition("=")
        if not eq:
            raise ValueError(f"arm {name}: option {opt!r} must be key=value")
        if key == "venues":
            req.venues = tuple(value.split("+"))
        elif key == "rfq":
            req.rfq = value
        elif key == "urgency":
            req.urgency = value
        elif key == "qty":
            req.qty = float(value)
        elif key == "horizon":
            req.horizon_s = parse_duration(value, f"arm {name}: horizon")
        elif key == "risk_aversion":
            req.risk_aversion = float(value)
        elif key == "side":
            req.side = value
        elif key == "probe_desks":
            req.probe_desks = int(value)
        elif key == "probe_fraction":
            req.probe_fraction = float(value)
        elif key == "rfq_desks":
            req.rfq_max_desks = int(value)
        elif key.startswith("set."):
            req.sets[key[4:]] = value
        elif key == "policy":
            req.policy = value
        elif key in ADAPTIVE_KEYS:
            req.adaptive = {**req.adaptive, **config_values({key: value}, f"arm {name}")}
        else:
            raise ValueError(
                f"arm {name}: unknown option {key!r} (venues, rfq, urgency, qty, horizon, "
                f"risk_aversion, side, probe_desks, probe_fraction, rfq_desks, set.<key>, policy, "
                f"{', '.join(ADAPTIVE_KEYS)})"
            )
    if (req.adaptive or req.policy != "auto") and algo != "adaptive":
        raise ValueError(f"arm {name}: policy and adaptive parameters apply to algo adaptive only, not {algo!r}")
    return name, req


def _one(arm: str, req: SimRequest) -> tuple[str, int, dict[str, Any]]:
    result = run_simulation(req).result
    keep = (
        "implementation_shortfall_bps",
        "is_adjusted_bps",
        "filled_qty",
        "unfilled_qty",
        "otc_qty",
        "wall_s",
        "pretrade",
        "per_venue",
        "avg_price",
        "arrival_mid",
        "child_orders",
        "algo_note",
        "policy",
        "decisions",
        "side",
        "events",
    )
    out = {k: result[k] for k in keep}
    events = result["risk_events"]
    out["breakers"] = sorted({e["rule"] for e in events if e["action"] != "refused"})
    out["refusals"] = dict(Counter(e["rule"] for e in events if e["action"] == "refused"))
    return arm, req.seed, out


def run_arms(
    jobs: list[tuple[str, SimRequest, int]], workers: int = 2, progress: bool = True
) -> dict[str, dict[int, dict[str, Any]]]:
    """Run (arm name, request, seed) jobs in spawned worker processes; results[arm][seed].

    The runner `compare` and `train` share: each job is one simulation, deterministic per seed."""
    results: dict[str, dict[int, dict[str, Any]]] = {name: {} for name, _, _ in jobs}
    if not jobs:
        return results
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=worker_context()) as pool:
        futures = [pool.submit(_one, name, replace(req, seed=s, sets=dict(req.sets))) for name, req, s in jobs]
        for done, fut in enumerate(as_completed(futures), 1):
            name, seed, res = fut.result()
            results[name][seed] = res
            if progress:
                bar = "#" * int(30 * done / len(jobs))
                sys.stderr.write(f"\r[{bar:<30}] {done}/{len(jobs)} runs, {time.perf_counter() - t0:6.1f} s")
                sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")
    return results


def compare(
    scenario: str, arms: list[tuple[str, SimRequest]], seeds: list[int], workers: int = 2, progress: bool = True
) -> dict[str, Any]:
    t0 = time.perf_counter()
    results = run_arms([(name, req, s) for s in seeds for name, req in arms], workers, progress)
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario,
        "seeds": seeds,
        "arms": {},
        "paired": {},
        "wall_s": round(time.perf_counter() - t0, 2),
    }
    for name, req in arms:
        per_seed = [results[name][s] for s in seeds]
        out["arms"][name] = {
            "algo": req.algo,
            "venues": list(req.venues) or "all",
            "rfq": req.rfq,
            "urgency": req.urgency,
            "policy": results[name][seeds[0]]["policy"] if req.algo == "adaptive" else None,
            **{m: summary([r[m] for r in per_seed]) for m in METRICS},
            "unfilled_max": max(r["unfilled_qty"] for r in per_seed),
            "otc_qty_mean": sum(r["otc_qty"] for r in per_seed) / len(per_seed),
            "breakers": _seeds_per_rule(r["breakers"] for r in per_seed),
            "refusals": dict(sum((Counter(r["refusals"]) for r in per_seed), Counter())),
            "forecast": forecast_check(per_seed),
            "per_seed": {
                str(s): {m: results[name][s][m] for m in (*METRICS, "otc_qty", "unfilled_qty", "breakers")}
                for s in seeds
            },
        }
    base_name = arms[0][0]
    for name, _ in arms[1:]:
        pair: dict[str, Any] = {}
        for m in METRICS:
            base_values = [results[base_name][s][m] for s in seeds]
            diff = paired_difference([results[name][s][m] for s in seeds], base_values)
            # issue 9's robustness: equivalent within, or not worse by more than, 5 % of the base's mean
            margin = MARGIN_SHARE * abs(sum(base_values) / len(base_values))
            pair[m] = {**diff.as_dict(), "margin_5pct": diff.margin_tests(margin)}
        out["paired"][f"{name} - {base_name}"] = pair
    # issue 9's event behaviour: each adaptive arm against the first AC arm, seed by seed
    ac_arm = next((name for name, req in arms if req.algo == "ac"), None)
    out["event_behaviour"] = {
        f"{name} vs {ac_arm}": behaviour_summary(results[name], results[ac_arm], seeds)
        for name, req in arms
        if req.algo == "adaptive" and ac_arm is not None
    }
    return out


def forecast_check(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Is the pre-trade forecast honest? Seeds whose realized shortfall fell inside its own
    [P5, P95], and the mean adjusted shortfall against the mean forecast expected cost (OTC fills
    are not in the forecast: compare arms with rfq=off for this).

    As context (issue 9; any schedule beats a market order for the block): the realized shortfall
    against the pre-trade's instant-execution estimate on the deepest venue, both as means and
    as the seeds on which the realized cost was the lower."""
    n = len(per_seed)
    inside = sum(
        1
        for r in per_seed
        if r["pretrade"]["cost_p05_bps"] <= r["implementation_shortfall_bps"] <= r["pretrade"]["cost_p95_bps"]
    )
    expected = sum(r["pretrade"]["expected_cost_bps"] for r in per_seed) / n
    adjusted = sum(r["is_adjusted_bps"] for r in per_seed) / n
    realized = sum(r["implementation_shortfall_bps"] for r in per_seed) / n
    instant = [r["pretrade"].get("instant_cost_bps_deepest") for r in per_seed]
    known = [
        (r["implementation_shortfall_bps"], x)
        for r, x in zip(per_seed, instant, strict=True)
        if x is not None and math.isfinite(x)
    ]
    instant_mean = sum(x for _, x in known) / len(known) if known else None
    return {
        "inside_p05_p95": inside,
        "seeds": n,
        "expected_cost_bps_mean": round(expected, 4),
        "is_adjusted_bps_mean": round(adjusted, 4),
        "adjusted_over_expected": round(adjusted / expected, 4) if expected else None,
        "implementation_shortfall_bps_mean": round(realized, 4),
        "instant_deepest_bps_mean": round(instant_mean, 4) if instant_mean is not None else None,
        "below_instant_deepest": sum(1 for is_bps, x in known if is_bps < x),
    }


def _seeds_per_rule(fired_per_seed: Iterable[list[str]]) -> dict[str, int]:
    """On how many seeds each breaker fired (at least once)."""
    return dict(Counter(rule for fired in fired_per_seed for rule in fired))


def run(args: argparse.Namespace) -> int:
    check_output_file(args.json, "--json")  # before the runs: their result must not be lost to a bad path
    base = SimRequest(
        scenario=args.scenario,
        side=args.side,
        qty=args.qty,
        rfq=args.rfq,
        horizon_s=None if args.horizon is None else parse_duration(args.horizon, "--horizon"),
        sets=parse_sets(args.sets),
    )
    arm_texts = list(args.arms)
    if args.algos:
        arm_texts += [f"{a}={a}" for a in args.algos.split(",")]
    if len(arm_texts) < 1:
        raise ValueError("give --arms NAME=ALGO[:opts] ... or --algos a,b")
    arms = [parse_arm(t, base) for t in arm_texts]
    if len({n for n, _ in arms}) != len(arms):
        raise ValueError("arm names must be unique")
    result = compare(args.scenario, arms, parse_seeds(args.seeds), args.workers)
    write_json(args.json, result)
    if args.json != "-":
        print_table(result)
    return 0


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['scenario']}: {len(result['seeds'])} seeds, {result['wall_s']} s")
    print(f"{'arm':16s} {'IS mean':>9s} {'IS std':>8s} {'IS p95':>8s} {'adj mean':>9s} {'adj std':>8s} {'OTC':>7s}")
    for name, arm in result["arms"].items():
        raw, adj = arm["implementation_shortfall_bps"], arm["is_adjusted_bps"]
        print(
            f"{name:16s} {raw['mean']:9.2f} {raw['std']:8.2f} {raw['p95']:8.2f} {adj['mean']:9.2f} {adj['std']:8.2f}"
            f" {arm['otc_qty_mean']:7.1f}"
        )
    n = len(result["seeds"])
    for name, arm in result["arms"].items():
        fired = ", ".join(f"{rule} on {k}/{n} seeds" for rule, k in sorted(arm["breakers"].items())) or "none"
        refused = ", ".join(f"{rule} {k}" for rule, k in sorted(arm["refusals"].items())) or "none"
        print(f"{name:16s} breakers fired: {fired}; children refused: {refused}")
    for name, arm in result["arms"].items():
        f = arm["forecast"]
        ratio = f["adjusted_over_expected"]
        print(
            f"{name:16s} forecast: realized IS inside its [P5, P95] on {f['inside_p05_p95']}/{f['seeds']} seeds; "
            f"mean adjusted {f['is_adjusted_bps_mean']:.2f} vs expected {f['expected_cost_bps_mean']:.2f} bps"
            f"{f' ({ratio:.2f}x)' if ratio is not None else ''}"
        )
        if f["instant_deepest_bps_mean"] is not None:
            print(
                f"{'':16s} context: mean IS {f['implementation_shortfall_bps_mean']:.2f} vs instant execution on the "
                f"deepest venue {f['instant_deepest_bps_mean']:.2f} bps; lower on {f['below_instant_deepest']}/"
                f"{f['seeds']} seeds"
            )
    for pair, stats in result["paired"].items():
        for metric, d in stats.items():
            power = d["seeds_for_80pct_power"]
            print(
                f"{pair:24s} {metric:30s} Δ {d['mean']:7.2f} bps  95% CI [{d['ci95_low']:.2f}, {d['ci95_high']:.2f}]"
                f"  sd {d['sd']:.2f}  n {d['n']}  seeds for 80% power: {power if power else '-'}"
                f"{'  *' if d['significant'] else ''}"
            )
            if "margin_5pct" in d:
                t = d["margin_5pct"]
                print(
                    f"{'':24s} {'':30s} ±5 % of the first arm ({t['margin']:.2f} bps): 90% CI "
                    f"[{t['ci90_low']:.2f}, {t['ci90_high']:.2f}]  equivalent: {'yes' if t['equivalent'] else 'no'}"
                    f"  non-inferior: {'yes' if t['noninferior'] else 'no'}"
                )
    for pair, classes in result.get("event_behaviour", {}).items():
        parts = []
        for cls, b in classes.items():
            p = b["sign_test_p"]
            parts.append(f"{cls} {b['passed']}/{b['seeds']}" + (f" (p {p:.3f})" if p is not None else ""))
        print(f"{pair:24s} event behaviour (seeds passed): {'; '.join(parts)}")
