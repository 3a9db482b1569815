"""Clocks: one interface for live, simulated and paced-simulated time.

Nothing in core reads the wall clock directly; every timeout goes through a `Clock`.
Times are UTC epoch seconds as floats.

- `SimClock`: discrete-event. Time jumps from timer to timer; timers fire in time order and, at
  equal times, in the order they were scheduled. `run_until(t)` fires everything due by `t`.
- `LiveClock`: wall time; timers run on an asyncio loop.
- `PacedClock`: simulated time that advances at `speed` × the wall clock on an asyncio loop
  (the GUI on the embedded market, the loopback exchange).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from typing import Protocol

Callback = Callable[[], None]


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callback) -> Timer: ...

    def call_later(self, delay_s: float, callback: Callback) -> Timer: ...


class _SimTimer:
    __slots__ = ("callback", "canceled", "when")

    def __init__(self, when: float, callback: Callback) -> None:
        self.when = when
        self.callback = callback
        self.canceled = False

    def cancel(self) -> None:
        self.canceled = True


class SimClock:
    """Discrete-event clock. Deterministic: same schedule, same firing order."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._heap: list[tuple[float, int, _SimTimer]] = []
        self._seq = 0
        self.fired = 0

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callback) -> _SimTimer:
        timer = _SimTimer(max(when, self._now), callback)
        self._seq += 1
        heapq.heappush(self._heap, (timer.when, self._seq, timer))
        return timer

    def call_later(self, delay_s: float, callback: Callback) -> _SimTimer:
        return self.call_at(self._now + max(delay_s, 0.0), callback)

    def next_time(self) -> float | None:
        while self._heap and self._heap[0][2].canceled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def run_until(self, end: float) -> None:
        """Fire every timer due at or before `end` in time order, then set the time to `end`."""
        heap = self._heap
        while heap and heap[0][0] <= end:
            when, _, timer = heapq.heappop(heap)
            if timer.canceled:
                continue
            self._now = when
            self.fired += 1
            timer.callback()
        self._now = max(self._now, end)

    def run(self, max_time: float = float("inf")) -> None:
        """Fire timers until none are left or the next is after `max_time`."""
        while (nxt := self.next_time()) is not None and nxt <= max_time:
            self.run_until(nxt)

    @property
    def pending(self) -> int:
        return sum(1 for _, _, t in self._heap if not t.canceled)


class LiveClock:
    """Wall-clock time (UTC epoch seconds) with timers on an asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop or asyncio.get_event_loop()

    def now(self) -> float:
        return time.time()

    def call_at(self, when: float, callback: Callback) -> asyncio.TimerHandle:
        return self._get_loop().call_later(max(when - time.time(), 0.0), callback)

    def call_later(self, delay_s: float, callback: Callback) -> asyncio.TimerHandle:
        return self._get_loop().call_later(max(delay_s, 0.0), callback)


class PacedClock:
    """Simulated time running at `speed` × wall time from `start` (UTC epoch seconds)."""

    def __init__(self, start: float, speed: float = 1.0, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"simulation speed must be positive, got {speed}")
        self._start = start
        self._wall0 = time.monotonic()
        self.speed = speed
        self._loop = loop

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop or asyncio.get_event_loop()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._wall0) * self.speed

    def set_speed(self, speed: float) -> None:
        """Change speed without a jump in simulated time."""
        if speed <= 0:
            raise ValueError(f"simulation speed must be positive, got {speed}")
        self._start, self._wall0, self.speed = self.now(), time.monotonic(), speed

    def jump(self, seconds: float) -> None:
        """Skip simulated time forward (the embedded market is then advanced to catch up)."""
        if seconds < 0:
            raise ValueError("simulated time never runs backwards")
        self._start += seconds

    def call_at(self, when: float, callback: Callback) -> asyncio.TimerHandle:
        return self._get_loop().call_later(max(when - self.now(), 0.0) / self.speed, callback)

    def call_later(self, delay_s: float, callback: Callback) -> asyncio.TimerHandle:
        return self._get_loop().call_later(max(delay_s, 0.0) / self.speed, callback)
