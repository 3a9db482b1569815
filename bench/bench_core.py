"""Bus throughput (no-op handler) and SimClock throughput (four simulated hours of 100 ms timers).

Run: python -m bench.bench_core
"""

from __future__ import annotations

import itertools
import time

from bench.machine import machine_line
from core.bus import Bus
from core.clock import SimClock
from core.events import LoopLag


def bench_bus(n: int = 1_000_000) -> float:
    bus = Bus()
    bus.subscribe(LoopLag, lambda e: None)
    event = LoopLag(0.0, 0.0, 0.0)
    publish = bus.publish
    t0 = time.perf_counter()
    for _ in range(n):
        publish(event)
    return n / (time.perf_counter() - t0)


def bench_sim_clock(n: int = 144_000, step_s: float = 0.1) -> tuple[float, float, bool]:
    """Schedule n timers 100 ms apart (in shuffled order) and fire them all; check the order."""
    import random

    clock = SimClock()
    fired: list[float] = []
    times = [i * step_s for i in range(1, n + 1)]
    random.Random(1).shuffle(times)
    t0 = time.perf_counter()
    for t in times:
        clock.call_at(t, lambda: fired.append(clock.now()))
    clock.run()
    wall = time.perf_counter() - t0
    in_order = all(a <= b for a, b in itertools.pairwise(fired)) and len(fired) == n
    return wall, n / wall, in_order


def main() -> None:
    print(machine_line())
    print(f"bus: {bench_bus():,.0f} events/s (one no-op handler)")
    wall, rate, ok = bench_sim_clock()
    print(f"SimClock: 144,000 timers (4 simulated hours at 100 ms) scheduled+fired in {wall * 1000:.0f} ms "
          f"= {rate:,.0f} timers/s, in time order: {ok}")


if __name__ == "__main__":
    main()
