"""What the desk says about itself while it runs: the latest progress of every parent and the
alerts raised, folded from the bus in one place so the window, `run`'s JSON lines and
`simulate`'s report read the same facts.

Neither holds state a restart must restore: progress is recomputed at the next tick and an alert
describes a moment (the journal keeps what caused it: breakers, refusals, venue reports).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from core.bus import Bus
from core.events import Alert, ParentProgress, Severity


class ProgressBook:
    """The last `ParentProgress` of every parent (elapsed, filled, schedule, slippage)."""

    def __init__(self, bus: Bus) -> None:
        self.latest: dict[str, ParentProgress] = {}
        bus.subscribe(ParentProgress, self._on_progress)

    def _on_progress(self, progress: ParentProgress) -> None:
        self.latest[progress.parent_id] = progress

    def get(self, parent_id: str) -> ParentProgress | None:
        return self.latest.get(parent_id)


class AlertLog:
    """Every alert at or above `min_severity`, oldest first, at most `keep` of them (the oldest go).

    `listeners` are called with each kept alert (the headless `run` prints breaker firings)."""

    def __init__(self, bus: Bus, min_severity: Severity = Severity.INFO, keep: int = 5_000) -> None:
        self.min_severity = min_severity
        self.alerts: deque[Alert] = deque(maxlen=keep)
        self.listeners: list[Callable[[Alert], None]] = []
        bus.subscribe(Alert, self._on_alert)

    def _on_alert(self, alert: Alert) -> None:
        if alert.severity < self.min_severity:
            return
        self.alerts.append(alert)
        for listener in self.listeners:
            listener(alert)

    def since(self, ts: float, min_severity: Severity = Severity.INFO) -> list[Alert]:
        return [a for a in self.alerts if a.ts >= ts and a.severity >= min_severity]
