"""`python main.py ac`: Almgren-Chriss (2000) optimal schedule, expected cost and variance.

Units are the paper's: time (``--horizon``) in days, ``--sigma`` in $/share/day^(1/2), ``--eta``
in $/share per share/day, ``--gamma`` in $/share per share, ``--epsilon`` in $/share,
``--risk-aversion`` (lambda) in 1/$. Any other time unit works if used for all of them.

JSON output (``--json PATH`` or ``--json -`` for stdout), schema_version 1::

    {"schema_version": 1, "inputs": {...}, "tau", "eta_tilde", "kappa_tilde_sq", "kappa",
     "half_life", "times": [t0..tN], "trajectory": [x0..xN], "trade_list": [n1..nN],
     "expected_cost", "variance", "std", "expected_cost_bps", "std_bps",
     "risk_aversion_per_bps", "linear": {"expected_cost", "variance"},
     "immediate": {"expected_cost", "variance"}}

Bad input (N < 1, eta~ = eta - gamma*tau/2 <= 0, negative parameters) prints a message on
stderr and returns exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from core.analytics.almgren_chriss import (
    immediate_execution,
    linear_execution,
    optimal_trajectory,
    risk_aversion_per_bps,
)
from core.analytics.impact import AlmgrenChrissParams

SCHEMA_VERSION = 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "ac",
        help="Almgren-Chriss optimal execution schedule (paper units: days, $)",
        description="Optimal liquidation trajectory of Almgren & Chriss (2000), discrete time.",
    )
    parser.add_argument("--price", type=float, required=True, help="initial price S0, $/share")
    parser.add_argument("--shares", type=float, required=True, help="shares to trade X (> 0)")
    parser.add_argument("--horizon", type=float, required=True, help="horizon T, days")
    parser.add_argument("--periods", type=int, required=True, help="number of periods N (>= 1)")
    parser.add_argument("--sigma", type=float, required=True, help="volatility, $/share/day^(1/2)")
    parser.add_argument("--eta", type=float, required=True, help="temporary impact, $/share per share/day")
    parser.add_argument("--gamma", type=float, required=True, help="permanent impact, $/share per share")
    parser.add_argument("--epsilon", type=float, default=0.0, help="fixed cost per share, $ (default 0)")
    parser.add_argument("--risk-aversion", type=float, required=True, help="lambda, 1/$ (0 = linear schedule)")
    parser.add_argument("--json", metavar="PATH|-", help="write JSON to PATH, or to stdout with '-'")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        result = solve(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json == "-":
        json.dump(result, sys.stdout, indent=2, allow_nan=False)
        print()
        return 0
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
        except OSError as exc:
            print(f"error: cannot write {args.json}: {exc}", file=sys.stderr)
            return 2
    print(format_table(result))
    return 0


def solve(args: argparse.Namespace) -> dict[str, Any]:
    """Compute the JSON-able result; raises ValueError for bad input."""
    for name in ("price", "shares", "horizon", "sigma", "eta", "gamma", "epsilon", "risk_aversion"):
        value = getattr(args, name)
        if not math.isfinite(value):
            raise ValueError(f"--{name.replace('_', '-')} must be a finite number, got {value}")
    if args.price <= 0.0:
        raise ValueError(f"--price must be positive, got {args.price}")
    if args.periods < 1:
        raise ValueError(f"--periods (N) must be at least 1, got {args.periods}")
    if args.risk_aversion < 0.0:
        raise ValueError(f"--risk-aversion must be >= 0, got {args.risk_aversion}")
    params = AlmgrenChrissParams(sigma=args.sigma, eta=args.eta, gamma=args.gamma, epsilon=args.epsilon)
    plan = optimal_trajectory(params, args.shares, args.horizon, args.periods, args.risk_aversion)
    linear = linear_execution(params, args.shares, args.horizon, args.periods)
    immediate = immediate_execution(params, args.shares, args.horizon, args.periods)
    return {
        "schema_version": SCHEMA_VERSION,
        "inputs": {
            "price": args.price,
            "shares": args.shares,
            "horizon": args.horizon,
            "periods": args.periods,
            "sigma": args.sigma,
            "eta": args.eta,
            "gamma": args.gamma,
            "epsilon": args.epsilon,
            "risk_aversion": args.risk_aversion,
        },
        "tau": plan.tau,
        "eta_tilde": plan.eta_tilde,
        "kappa_tilde_sq": plan.kappa_tilde_sq,
        "kappa": plan.kappa,
        "half_life": plan.half_life if math.isfinite(plan.half_life) else None,
        "times": plan.times.tolist(),
        "trajectory": plan.trajectory.tolist(),
        "trade_list": plan.trade_list.tolist(),
        "expected_cost": plan.expected_cost,
        "variance": plan.variance,
        "std": plan.std,
        "expected_cost_bps": plan.expected_cost_bps(args.price),
        "std_bps": plan.std_bps(args.price),
        "risk_aversion_per_bps": risk_aversion_per_bps(args.risk_aversion, args.shares, args.price),
        "linear": {"expected_cost": linear.expected_cost, "variance": linear.variance},
        "immediate": {"expected_cost": immediate.expected_cost, "variance": immediate.variance},
    }


def format_table(result: dict[str, Any]) -> str:
    """Readable summary and the trade schedule, one period per line."""
    half_life = result["half_life"]
    lines = [
        "Almgren-Chriss optimal execution (2000), discrete time",
        f"  tau = {result['tau']:.6g}   eta~ = {result['eta_tilde']:.6g}   kappa = {result['kappa']:.6g}"
        f"   half-life = {'inf' if half_life is None else f'{half_life:.6g}'}",
        f"  E[cost] = {result['expected_cost']:,.2f}   Var = {result['variance']:.6g}   std = {result['std']:,.2f}",
        f"  E[cost] = {result['expected_cost_bps']:.3f} bps   std = {result['std_bps']:.3f} bps of X*S0",
        f"  linear:    E = {result['linear']['expected_cost']:,.2f}   Var = {result['linear']['variance']:.6g}",
        f"  immediate: E = {result['immediate']['expected_cost']:,.2f}   Var = {result['immediate']['variance']:.6g}",
        "",
        f"  {'k':>4} {'t_k':>12} {'holdings x_k':>18} {'trade n_k':>18}",
    ]
    trades = [None, *result["trade_list"]]
    for k, (t, x, n) in enumerate(zip(result["times"], result["trajectory"], trades, strict=True)):
        trade = "" if n is None else f"{n:18,.2f}"
        lines.append(f"  {k:>4} {t:>12.6g} {x:>18,.2f} {trade:>18}")
    return "\n".join(lines)
