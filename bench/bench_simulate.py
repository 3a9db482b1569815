"""The headless block run: `simulate --scenario btc-block-4h --algo ac`, seed by seed.

    python -m bench.bench_simulate [--seeds 1-10] [--rfq auto|off]

For each seed: wall time of the whole run (market warm-up, pre-trade, four simulated hours of
engine, report), filled quantity (exchange + OTC), unfilled, duration and shortfall. Prints one
line per seed and a summary (wall median / max; every seed filled to within one lot?). A
benchmark, not a timed test: results go to docs/benchmarks.md with the machine and load.
"""

from __future__ import annotations

import argparse
import os
import statistics

from app.commands.common import parse_seeds
from app.simulation import SimRequest, run_simulation
from bench.machine import machine_line

LOT = 0.0001  # the BTC venues' lot in btc-block-4h


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="1-10")
    p.add_argument("--rfq", default="auto", choices=("auto", "off"))
    args = p.parse_args(argv)
    print(machine_line(), f"load {os.getloadavg()[0]:.1f}")
    walls, complete = [], []
    for seed in parse_seeds(args.seeds):
        r = run_simulation(SimRequest("btc-block-4h", algo="ac", seed=seed, rfq=args.rfq)).result
        done = r["filled_qty"]
        ok = abs(done - r["qty"]) <= LOT
        walls.append(r["wall_s"])
        complete.append(ok)
        print(
            f"seed {seed:3d}: wall {r['wall_s']:6.1f} s  filled {done:9.4f} (OTC {r['otc_qty']:8.3f})  "
            f"unfilled {r['unfilled_qty']:.4f}  duration {r['duration_s'] / 3600:.2f} h  "
            f"IS {r['implementation_shortfall_bps']:6.1f} bps  {'ok' if ok else 'NOT FILLED'}",
            flush=True,
        )
    print(
        f"{len(walls)} runs: wall median {statistics.median(walls):.1f} s, max {max(walls):.1f} s; "
        f"filled to within one lot: {sum(complete)}/{len(complete)}"
    )
    return 0 if all(complete) else 1


if __name__ == "__main__":
    raise SystemExit(main())
