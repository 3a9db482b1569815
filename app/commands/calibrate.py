"""`python main.py calibrate --scenario NAME`: fit the pre-trade impact model to the simulator.

Runs TWAP metaorders (both sides, several sizes and horizons) on calibration seeds ≥ 1,000,000
(never an evaluation seed), measures each run's noise-reduced shortfall (`is_adjusted_bps`) and
the market's daily volume and volatility, and fits the horizon model's two coefficients by
least squares (the model is linear in them once the fixed cost is known):

    cost_bps − fixed_bps = c · σ·√(Q/(V·T_days))·10⁴ + γ · ½·σ·Q/V·10⁴

(square-root temporary impact, Almgren et al. 2005 / Tóth et al. 2011; permanent impact linear in
Q/V, Almgren et al. 2005). Writes resources/calibration/<scenario>.json, which the pre-trade
report — and through it the AC algo's η, γ — reads.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from app.commands.common import check_output_file, parse_duration, parse_sets, worker_context
from app.simulation import CALIBRATION_DIR, SimRequest, run_simulation

CALIBRATION_SEED0 = 1_000_000


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("calibrate", help="fit the pre-trade impact model to a scenario (seeds ≥ 1,000,000)")
    p.add_argument("--scenario", required=True)
    p.add_argument("--sizes", default="100,300,1000", help="metaorder sizes (base units)")
    p.add_argument("--horizons", default="1h,4h")
    p.add_argument("--seeds", type=int, default=3, help="calibration seeds per (size, horizon)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(handler=run)


def _one(req: SimRequest) -> dict[str, Any]:
    run = run_simulation(req)
    stats = run.market.stats()
    t, mid = run.market.eval_log.mid_path(0)
    step = max(1, round(60.0 / max(float(np.median(np.diff(t))), 1e-9))) if len(t) > 2 else 1
    r = np.diff(np.log(mid[::step]))
    return {
        "qty": req.qty,
        "horizon_s": req.horizon_s,
        "side": req.side,
        "seed": req.seed,
        "is_adjusted_bps": run.result["is_adjusted_bps"],
        "fixed_bps": _fixed_bps(run),
        "daily_volume": sum(v["volume_per_day"] for v in stats["venues"]),  # type: ignore[index]
        "sigma_daily": float(np.std(r) * math.sqrt(1440)) if len(r) > 10 else float("nan"),
    }


def _fixed_bps(run: Any) -> float:
    p = run.pretrade
    return float(p.fixed_cost_bps)


def calibrate(
    scenario: str, sizes: list[float], horizons: list[float], seeds: int, workers: int, sets: dict[str, str]
) -> dict[str, Any]:
    jobs = []
    k = 0
    for q in sizes:
        for h in horizons:
            for i in range(seeds):
                side = "sell" if i % 2 == 0 else "buy"
                jobs.append(
                    SimRequest(
                        scenario=scenario,
                        algo="twap",
                        side=side,
                        qty=q,
                        horizon_s=h,
                        seed=CALIBRATION_SEED0 + k,
                        rfq="off",
                        sets=dict(sets),
                        mc_paths=2000,
                    )
                )
                k += 1
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=worker_context()) as pool:
        rows = list(pool.map(_one, jobs))
    daily_volume = float(np.median([r["daily_volume"] for r in rows]))
    sigma = float(np.nanmedian([r["sigma_daily"] for r in rows]))
    y = np.array([r["is_adjusted_bps"] - r["fixed_bps"] for r in rows])
    temp = np.array([sigma * math.sqrt(r["qty"] / (daily_volume * r["horizon_s"] / 86_400.0)) * 1e4 for r in rows])
    perm = np.array([0.5 * sigma * r["qty"] / daily_volume * 1e4 for r in rows])
    design = np.column_stack([temp, perm])
    (c, g), *_ = np.linalg.lstsq(design, y, rcond=None)
    c, g = max(float(c), 1e-3), max(float(g), 0.0)
    fitted = design @ np.array([c, g])
    return {
        "schema_version": 1,
        "scenario": scenario,
        "seeds_from": CALIBRATION_SEED0,
        "runs": len(rows),
        "daily_volume": daily_volume,
        "sigma_daily": sigma,
        "temporary_coeff": c,
        "temporary_exponent": 0.5,
        "permanent_coeff": g,
        "rmse_bps": float(np.sqrt(np.mean((y - fitted) ** 2))),
        "wall_s": round(time.perf_counter() - t0, 1),
        "samples": rows,
    }


def run(args: argparse.Namespace) -> int:
    sizes = [float(x) for x in args.sizes.split(",")]
    horizons = [parse_duration(x, "--horizons") for x in args.horizons.split(",")]
    path = CALIBRATION_DIR / f"{args.scenario}.json"
    check_output_file(path, "calibration file")  # before the runs: minutes of work must not end in a bad path
    result = calibrate(args.scenario, sizes, horizons, args.seeds, args.workers, parse_sets(args.sets))
    CALIBRATION_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"{args.scenario}: daily volume {result['daily_volume']:,.0f}, σ daily {result['sigma_daily']:.4f}, "
        f"temporary c {result['temporary_coeff']:.3f}, permanent γ {result['permanent_coeff']:.3f}, "
        f"rmse {result['rmse_bps']:.1f} bps over {result['runs']} runs → {path}"
    )
    return 0
