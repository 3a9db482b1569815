"""In-process publish/subscribe by event type, with isolated handlers.

A handler that raises is logged and reported as an `Alert`; delivery to the others continues.
Delivery is a synchronous call in subscription order (hot paths stay cheap and deterministic).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from core.events import Alert, Severity

log = logging.getLogger(__name__)
E = TypeVar("E")
Handler = Callable[[Any], None]


class Bus:
    def __init__(self, now: Callable[[], float] = lambda: 0.0) -> None:
        self._handlers: dict[type, list[Handler]] = {}
        self._now = now

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Register `handler` for exactly `event_type`; returns a function that unsubscribes it."""
        handlers = self._handlers.setdefault(event_type, [])
        handlers.append(handler)
        return lambda: handlers.remove(handler) if handler in handlers else None

    def publish(self, event: object) -> None:
        for handler in tuple(self._handlers.get(type(event), ())):
            try:
                handler(event)
            except Exception as exc:  # isolate: one broken subscriber must not starve the rest
                log.exception("handler %r failed on %s", handler, type(event).__name__)
                if not isinstance(event, Alert):  # an alert handler failing must not recurse
                    self.publish(
                        Alert(
                            ts=self._now(),
                            severity=Severity.ERROR,
                            kind="handler_error",
                            source=getattr(handler, "__qualname__", repr(handler)),
                            detail=f"{type(exc).__name__}: {exc} (while handling {type(event).__name__})",
                        )
                    )
