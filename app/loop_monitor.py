"""Event-loop lag monitor: a probe scheduled every `interval_s` measures how late it runs.

A lag above a few tens of ms means something blocks the loop (a paint, a handler) — a bug.
Publishes `LoopLag` on the bus about once a second.
"""

from __future__ import annotations

import asyncio
import time

from core.bus import Bus
from core.events import LoopLag


class LoopLagMonitor:
    def __init__(self, bus: Bus, interval_s: float = 0.05, publish_every_s: float = 1.0) -> None:
        self.bus = bus
        self.interval_s = interval_s
        self.publish_every_s = publish_every_s
        self.samples_ms: list[float] = []
        self._window_max = 0.0
        self._last_publish = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._expected = 0.0

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_event_loop()
        self._expected = time.monotonic() + self.interval_s
        self._handle = self._loop.call_later(self.interval_s, self._probe)

    def stop(self) -> None:
        if self._handle:
            self._handle.cancel()

    def _probe(self) -> None:
        now = time.monotonic()
        lag_ms = max(0.0, (now - self._expected) * 1000.0)
        self.samples_ms.append(lag_ms)
        if len(self.samples_ms) > 10_000:
            del self.samples_ms[:5_000]
        self._window_max = max(self._window_max, lag_ms)
        if now - self._last_publish >= self.publish_every_s:
            self.bus.publish(LoopLag(time.time(), lag_ms, self._window_max))
            self._window_max, self._last_publish = 0.0, now
        self._expected = now + self.interval_s
        self._handle = self._loop.call_later(self.interval_s, self._probe)
