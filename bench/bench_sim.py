"""Simulator speed: btc-block-4h with background flow only, four simulated hours.

    python -m bench.bench_sim [--seed N] [--step-ms 100]

Prints the machine line, wall time for 4 h (first call compiles the kernel: a warm-up run is
done first and not timed), order events per second of wall time, and the market's own rates.
Results go to docs/benchmarks.md (a benchmark, not a timed test).
"""

from __future__ import annotations

import argparse
import time

from adapters.sim.market import MarketSim
from adapters.sim.scenario import Scenario, load_scenario
from bench.machine import machine_line


def _background_only(name: str) -> Scenario:
    sc = load_scenario(name)
    return Scenario(sc.scenario, sc.fundamental, sc.market, sc.parent, sc.venues, sc.desks, ())


def run(seed: int, step_s: float, drain: bool) -> dict[str, float]:
    sc = _background_only("btc-block-4h")
    t0 = time.perf_counter()
    sim = MarketSim(sc, seed=seed, market_data=drain)
    t_init = time.perf_counter() - t0
    horizon = sc.scenario.duration_s
    t0 = time.perf_counter()
    t = 0.0
    messages = 0
    while t < horizon:
        t = min(t + step_s, horizon)
        sim.advance_to(t)
        if drain:
            for v in range(len(sim.venues)):
                messages += len(sim.drain_market_data(v))
    wall = time.perf_counter() - t0
    st = sim.stats()
    events = sum(v["order_events"] for v in st["venues"])  # type: ignore[index]
    return {"init_s": t_init, "wall_s": wall, "events": events, "events_per_wall_s": events / wall,
            "deep_events_per_sim_s": st["venues"][0]["order_events_per_s"],  # type: ignore[index]
            "messages": messages, "otr": st["venues"][0]["order_to_trade"]}  # type: ignore[index]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--step-ms", type=float, default=100.0, help="advance_to step (the engine's publish interval)")
    args = ap.parse_args()
    print(machine_line())
    sim = MarketSim(_background_only("btc-block-4h"), seed=0)  # compile / load the numba cache
    sim.advance_to(1.0)
    for step_s, drain, label in ((14_400.0, False, "one advance_to(4 h), market data discarded"),
                                 (args.step_ms / 1000.0, True, f"advance_to every {args.step_ms:.0f} ms + drain")):
        r = run(args.seed, step_s, drain)
        print(f"btc-block-4h, background only, {label}: 4 simulated hours in {r['wall_s']:.1f} s "
              f"(init + 10 min warm-up {r['init_s']:.1f} s); {r['events'] / 1e6:.1f} M order events, "
              f"{r['events_per_wall_s'] / 1e6:.2f} M events/s; deepest venue {r['deep_events_per_sim_s']:.0f} "
              f"order events per simulated s, order-to-trade {r['otr']:.0f}; messages drained {r['messages']}")


if __name__ == "__main__":
    main()
