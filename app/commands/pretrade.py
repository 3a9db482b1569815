"""`python main.py pretrade`: the pre-trade report for a block on a simulated scenario's live books.

JSON shape: docs/pretrade.md (the report) — top level `instant_cost_bps_deepest`,
`instant_cost_bps_consolidated`, per venue `instant_cost_bps`, horizons, recommendation, percentiles.
"""

from __future__ import annotations

import argparse

from app.commands.common import add_json_argument, check_output_file, parse_duration, parse_sets, write_json
from app.simulation import SimRequest, prepare


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("pretrade", help="pre-trade cost report for a block on a scenario's books")
    p.add_argument("--scenario", required=True)
    p.add_argument("--side", default="sell", choices=("buy", "sell"))
    p.add_argument("--qty", type=float, required=True)
    p.add_argument("--horizon", required=True, help="e.g. 4h")
    p.add_argument("--urgency", default="medium", choices=("low", "medium", "high"))
    p.add_argument("--risk-aversion", type=float, help="λ in 1/$ (the report's urgency mapping is bypassed)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--venues", help="comma-separated venue names (default: all)")
    p.add_argument("--mc-paths", type=int, default=100_000)
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    add_json_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.qty <= 0:
        raise ValueError("--qty must be positive")
    check_output_file(args.json, "--json")
    req = SimRequest(
        scenario=args.scenario,
        side=args.side,
        qty=args.qty,
        horizon_s=parse_duration(args.horizon, "--horizon"),
        seed=args.seed,
        sets=parse_sets(args.sets),
        urgency=args.urgency,
        venues=tuple(v.strip() for v in args.venues.split(",")) if args.venues else (),
        mc_paths=args.mc_paths,
    )
    report = prepare(req).pretrade.to_dict()
    write_json(args.json, report)
    if args.json != "-":
        print_report(report)
    return 0


def print_report(r: dict) -> None:  # type: ignore[type-arg]
    print(
        f"{r.get('side_name', r.get('side'))} {r['quantity']:g} over {r['horizon_s'] / 3600:g} h at mid {r['mid']:.2f}"
    )
    print(
        f"instant cost: deepest venue {r['instant_cost_bps_deepest']:.1f} bps, "
        f"consolidated {r['instant_cost_bps_consolidated']:.1f} bps"
    )
    for name, v in r["venues"].items():
        print(
            f"  {name:10s} spread {v.get('spread_bps', float('nan')):6.2f} bps"
            f"  instant {v['instant_cost_bps']:7.1f} bps"
        )
    rec = r.get("recommended_horizon_s")
    if rec:
        print(f"recommended horizon: {rec / 3600:g} h")
    print(
        f"expected cost {r['expected_cost_bps']:.1f} bps; P5/P50/P95 {r['cost_p05_bps']:.1f} / "
        f"{r['cost_p50_bps']:.1f} / {r['cost_p95_bps']:.1f} bps"
    )
