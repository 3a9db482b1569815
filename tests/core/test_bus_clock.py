from __future__ import annotations

import numpy as np

from core.bus import Bus
from core.clock import SimClock
from core.events import Alert, LoopLag
from core.seeds import SeedTree


def test_a_raising_handler_does_not_stop_delivery_and_becomes_an_alert() -> None:
    bus = Bus(now=lambda: 42.0)
    got: list[float] = []
    alerts: list[Alert] = []

    def broken(event: LoopLag) -> None:
        raise RuntimeError("boom")

    bus.subscribe(LoopLag, got.append)  # type: ignore[arg-type]
    bus.subscribe(LoopLag, broken)
    bus.subscribe(LoopLag, lambda e: got.append(e.lag_ms))
    bus.subscribe(Alert, alerts.append)
    bus.publish(LoopLag(1.0, 7.0, 7.0))
    assert len(got) == 2 and got[1] == 7.0
    assert len(alerts) == 1 and "boom" in alerts[0].detail and alerts[0].ts == 42.0


def test_unsubscribe_stops_delivery() -> None:
    bus = Bus()
    got: list[object] = []
    unsubscribe = bus.subscribe(LoopLag, got.append)
    unsubscribe()
    bus.publish(LoopLag(1.0, 1.0, 1.0))
    assert got == []


def test_sim_clock_fires_in_time_order_with_ties_in_schedule_order() -> None:
    clock = SimClock(start=100.0)
    order: list[tuple[float, str]] = []
    clock.call_at(105.0, lambda: order.append((clock.now(), "b")))
    clock.call_at(102.0, lambda: order.append((clock.now(), "a")))
    clock.call_at(105.0, lambda: order.append((clock.now(), "c")))
    cancelled = clock.call_later(1.0, lambda: order.append((clock.now(), "x")))
    cancelled.cancel()
    clock.call_later(3.0, lambda: clock.call_later(0.5, lambda: order.append((clock.now(), "nested"))))
    clock.run_until(104.0)
    assert order == [(102.0, "a"), (103.5, "nested")]
    assert clock.now() == 104.0
    clock.run()
    assert order[2:] == [(105.0, "b"), (105.0, "c")]


def test_past_timers_fire_now_not_in_the_past() -> None:
    clock = SimClock(start=10.0)
    seen: list[float] = []
    clock.call_at(5.0, lambda: seen.append(clock.now()))
    clock.run()
    assert seen == [10.0]


def test_seed_tree_streams_are_independent_and_reproducible() -> None:
    a1 = SeedTree(7).generator("venue/A").normal(size=5)
    a2 = SeedTree(7).generator("venue/A").normal(size=5)
    b = SeedTree(7).generator("venue/B").normal(size=5)
    other_root = SeedTree(8).generator("venue/A").normal(size=5)
    assert np.array_equal(a1, a2)
    assert not np.allclose(a1, b) and not np.allclose(a1, other_root)
