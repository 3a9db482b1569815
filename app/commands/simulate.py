"""`python main.py simulate`: one parent order on the embedded market, to completion, headless.

The JSON shape is documented in docs/json.md (schema_version 1).
"""

from __future__ import annotations

import argparse
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.commands.common import add_json_argument, check_output_file, parse_duration, parse_sets, write_json
from app.simulation import SimRequest, run_simulation
from core.types import Instrument


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("simulate", help="run one parent order on a simulated scenario and report it")
    add_simulation_arguments(p)
    p.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="SECONDS:FIELD=VALUE",
        help="apply a mid-trade override at a simulated time, e.g. 3600:urgency=high, 1800:pause=1",
    )
    p.add_argument("--kill-at", type=float, metavar="SECONDS", help="press the kill switch at this simulated time")
    p.add_argument(
        "--journal", type=Path, metavar="PATH", help="write the run's journal (SQLite) here, for `export` (new file)"
    )
    add_json_argument(p)
    p.set_defaults(handler=run)


def add_simulation_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", required=True, help="scenario name (resources/scenarios) or a TOML path")
    p.add_argument("--algo", default="ac", choices=("twap", "vwap", "pov", "iceberg", "ac", "adaptive"))
    p.add_argument("--side", default="sell", choices=("buy", "sell"))
    p.add_argument("--qty", type=float, help="base units (default: the scenario's parent quantity)")
    p.add_argument("--horizon", help="e.g. 4h, 30m (default: the scenario's)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--venues", help="comma-separated venue names (default: all)")
    p.add_argument("--rfq", default="auto", choices=("off", "manual-reject", "auto"))
    p.add_argument(
        "--probe",
        metavar="DESKS[:FRACTION]",
        help="leakage probe: at the start ask DESKS desks for FRACTION (default 1) of the block, reject every "
        "quote (needs --rfq manual-reject)",
    )
    p.add_argument("--urgency", default="medium", choices=("low", "medium", "high"))
    p.add_argument(
        "--policy",
        default="auto",
        help="adaptive algo: auto (the scenario's fitted resources/policy/<scenario>.json if any), defaults, or a file",
    )
    p.add_argument("--risk-aversion", type=float, help="λ in 1/$ (overrides --urgency)")
    p.add_argument("--limit", type=float, help="limit price")
    p.add_argument(
        "--max-slippage", type=float, metavar="BPS", help="the parent's own limit: pause above this slippage vs arrival"
    )
    p.add_argument(
        "--max-schedule-deviation",
        type=float,
        metavar="FRACTION",
        help="the parent's own limit: pause when |filled - schedule| exceeds this fraction of the quantity",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a dotted scenario key, e.g. venues.0.taker_fee_bps=5",
    )


def request_from_args(args: argparse.Namespace) -> SimRequest:
    overrides = []
    for item in getattr(args, "override", []):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*([a-z_]+)\s*=\s*(.*)", item)
        if not m:
            raise ValueError(f"--override {item!r}: write SECONDS:field=value, e.g. 3600:urgency=high")
        overrides.append((float(m.group(1)), m.group(2), m.group(3)))
    if args.qty is not None and args.qty <= 0:
        raise ValueError("--qty must be positive")
    kill_at = getattr(args, "kill_at", None)
    if kill_at is not None and not 0 <= kill_at < math.inf:
        raise ValueError(f"--kill-at {kill_at:g}: give simulated seconds after the parent's start, 0 or more")
    return SimRequest(
        scenario=args.scenario,
        algo=args.algo,
        side=args.side,
        qty=args.qty,
        horizon_s=None if args.horizon is None else parse_duration(args.horizon, "--horizon"),
        seed=args.seed,
        venues=tuple(v.strip() for v in args.venues.split(",")) if args.venues else (),
        sets=parse_sets(args.sets),
        overrides=overrides,
        rfq=args.rfq,
        urgency=args.urgency,
        policy=getattr(args, "policy", "auto"),
        risk_aversion=args.risk_aversion,
        limit_price=args.limit,
        max_slippage_bps=getattr(args, "max_slippage", None),
        max_schedule_deviation=getattr(args, "max_schedule_deviation", None),
        kill_at_s=getattr(args, "kill_at", None),
        **parse_probe(args.probe),
    )


def parse_probe(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    m = re.fullmatch(r"\s*(\d+)\s*(?::\s*([0-9.]+)\s*)?", text)
    if not m:
        raise ValueError(f"--probe {text!r}: write DESKS[:FRACTION], e.g. 5:1.0 (five desks, the whole block)")
    return {"probe_desks": int(m.group(1)), "probe_fraction": float(m.group(2) or 1.0)}


def run(args: argparse.Namespace) -> int:
    journal = getattr(args, "journal", None)
    if journal is not None and journal.exists():
        raise ValueError(f"--journal {journal} exists: give a new file (a run's journal is not appended to another)")
    check_output_file(journal, "--journal")  # before the run: its end must not be lost to a bad path
    check_output_file(args.json, "--json")
    sim = run_simulation(request_from_args(args), journal_path=journal)
    if args.json:
        write_json(args.json, sim.result)
    if args.json != "-":
        print(summary_line(sim.result, Instrument.parse(sim.scenario.scenario.symbol)))
    return 0


def summary_line(r: dict[str, Any], instrument: Instrument) -> str:
    """One line for the trader, a unit on every figure: quantities in the base currency, prices in
    the quote currency, costs in bps of the arrival notional, wall-clock time in seconds."""
    base, quote = instrument.base, instrument.quote
    avg = "-" if r["avg_price"] is None else f"{r['avg_price']:.2f} {quote}"
    return (
        f"{r['scenario']} {r['algo']} seed {r['seed']}: {r['side']} {plain(r['qty'])} {base}, "
        f"filled {plain(r['filled_qty'])} {base} at {avg} (arrival {r['arrival_mid']:.2f} {quote}); "
        f"IS {r['implementation_shortfall_bps']:.2f} bps, adjusted {r['is_adjusted_bps']:.2f} bps; "
        f"OTC {plain(r['otc_qty'])} {base}; {r['child_orders']} children; wall {r['wall_s']:.1f} s"
    )


def plain(qty: float) -> str:
    """A quantity as the decimals it has, never in exponent form (20, 1.3982, 0.00001)."""
    return format(Decimal(repr(float(qty))).normalize(), "f")
