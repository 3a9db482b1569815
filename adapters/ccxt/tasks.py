"""Where a ccxt venue's coroutines run, and how they stop.

On the engine's asyncio loop every piece of background work (a stream loop, a submit, a settle)
is a task tracked here, so `stop()` cancels all of them and one that fails is logged instead of
vanishing. Outside any loop (the standalone ``kill`` command) order entry and queries run to
completion on a private loop, released at interpreter exit because it holds ccxt's HTTP session.

Invariant: once `stop()` has begun, `closed` is true and every loop of the venue leaves at its
next check of it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class TaskRunner:
    """The background tasks of one venue (`venue`: its name, for logs).

    `at_exit` is registered with `atexit` the first time a private loop is made; it should call
    `close_private_loop` with the venue's own close."""

    def __init__(self, venue: str, at_exit: Callable[[], None]) -> None:
        self._venue = venue
        self._at_exit = at_exit
        self._tasks: set[asyncio.Task[Any]] = set()
        self._private_loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def dispatch(self, coro: Coroutine[Any, Any, Any]) -> None:
        """In the background on the running loop; without one, to completion before returning."""
        if loop_running():
            self.spawn(coro)
        else:
            self.run_blocking(coro)

    def run_blocking(self, coro: Coroutine[Any, Any, T]) -> T:
        """Outside any event loop (the standalone kill): run to completion on a private loop."""
        if self._private_loop is None:
            self._private_loop = asyncio.new_event_loop()
            atexit.register(self._at_exit)  # release ccxt's HTTP session when the command ends
        return self._private_loop.run_until_complete(coro)

    async def stop(self) -> None:
        """Mark the venue closed, cancel every task and wait until each has ended."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def close_private_loop(self, close: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run `close()` on the private loop (if one was made), then close that loop."""
        if self._private_loop is not None:
            self._private_loop.run_until_complete(close())
            self._private_loop.close()
            self._private_loop = None

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("venue %s: background task failed", self._venue, exc_info=task.exception())


def loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
