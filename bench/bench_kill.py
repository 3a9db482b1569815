"""Kill switch: engine time from press to every cancel sent, with 300 working orders on 3 venues.

Run: python -m bench.bench_kill
"""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

from adapters.sim.exchange import SimExchange
from adapters.sim.market import MarketSim
from adapters.sim.scenario import load_scenario
from bench.machine import machine_line
from core.actors import Actor, Role
from core.clock import SimClock
from core.engine import Engine
from core.orders import TimeInForce
from core.parent import ParentOrder
from core.seeds import SeedTree
from core.types import Instrument, Side

SUPER = Actor("bench", Role.SUPERVISOR)


def one(seed: int) -> tuple[float, int, int, float]:
    market = MarketSim(load_scenario("btc-block-4h", {}), seed)
    clock = SimClock(start=1_767_225_600.0)
    exchange = SimExchange(market, clock, clock.now(), SeedTree(seed).generator)
    engine = Engine(clock, None)
    for v in exchange.venues:
        engine.add_venue(v)
        engine.risk.set_venue_rate_limit(v.name, int(v.spec.rate_limit_msgs_per_s))
    exchange.start()
    clock.run_until(clock.now() + 2)
    engine.risk.limits.max_open_orders_per_venue = 1000
    engine.oms.stage(ParentOrder("K", Instrument.parse("BTC/USDT"), Side.SELL, Decimal(1000), 3600), SUPER, clock.now())
    for i in range(300):
        venue = exchange.venues[i % 3]
        ask = float(engine.books[venue.name].ask_px[0])
        price = Decimal(int(ask * 1.01) + i // 3)  # resting 100 bps above the touch: they stay working
        inst = venue.instrument("BTC/USDT")
        engine.send_child("K", venue.name, Side.SELL, inst.quantity("0.01"), inst.price(price), TimeInForce.GTC)
    clock.run_until(clock.now() + 15)  # the rate budget releases the burst within the venues' limits
    working = len(engine.oms.open_children())
    t0, c0 = time.perf_counter(), time.thread_time()
    canceled = engine.kill_switch(SUPER)
    elapsed_ms = (time.perf_counter() - t0) * 1e3
    cpu_ms = (time.thread_time() - c0) * 1e3
    clock.run_until(clock.now() + 3)
    left = sum(len(v.open_orders("BTC/USDT")) for v in exchange.venues)
    assert sum(canceled.values()) == working
    return elapsed_ms, working, left, cpu_ms


def main() -> None:
    print(machine_line())
    runs = [one(s) for s in range(1, 6)]
    ms = [r[0] for r in runs]
    cpu = [r[3] for r in runs]
    print(f"kill switch with {runs[0][1]} working orders on 3 venues: press → all cancels sent "
          f"median {statistics.median(ms):.2f} ms wall ({statistics.median(cpu):.2f} ms CPU), "
          f"max {max(ms):.2f} ms wall over {len(ms)} runs; "
          f"open at venues afterwards: {[r[2] for r in runs]}")


if __name__ == "__main__":
    main()
