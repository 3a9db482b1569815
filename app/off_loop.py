"""CPU work off the event loop: the pre-trade report's Monte Carlo must never block the window.

When the asyncio loop runs (the terminal under qasync), a job runs in the loop's default
executor and its result comes back on the loop; without a running loop (tests, headless checks)
it runs inline. `pending` counts jobs still out (the screenshot demo waits for them). A job that
raises is advice that failed, not a crash: `failed` gets the exception and the log says why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class OffLoop:
    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self.pending = 0

    def run(
        self,
        job: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[Exception], None],
        what: str = "pre-trade report",
    ) -> None:
        """Run `job` off the loop; call `done(result)` or `failed(exc)` on the loop's thread."""
        loop = self.loop
        if loop is None or not loop.is_running():
            try:
                result = job()
            except Exception as exc:  # the report is advice: show why it failed, keep the staged parent
                log.exception("%s failed", what)
                failed(exc)
                return
            done(result)
            return
        self.pending += 1
        future = loop.run_in_executor(None, job)

        def finished(f: asyncio.Future[Any]) -> None:
            self.pending -= 1
            exc = f.exception()
            if exc is not None:
                log.error("%s failed: %s", what, exc)
                failed(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            else:
                done(f.result())

        future.add_done_callback(finished)
