"""A 429 backs off until Retry-After has passed and never earns a 418, even with an exchange
that bans at the first request sent while told to wait."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from core.execution.service import ExecutionConfig, ExecutionService
from core.parent import ParentOrder
from core.ports import RejectReason
from core.seeds import SeedTree
from core.types import Side
from tests.connectivity.helpers import BTC, TRADER, arun, loopback, rig, until


def test_429_backs_off_and_never_earns_a_418() -> None:
    async def scenario() -> None:
        strict = {"ban_after_violations": "1", "violation_grace_ms": "500", "retry_after_s": "1"}
        async with loopback(faults=strict) as server, rig(server) as r:
            service = ExecutionService(r.engine, SeedTree(5), ExecutionConfig(interval_s=0.25, passive_refresh_s=1.0))
            service.stage(ParentOrder("RL", BTC, Side.SELL, Decimal(1), 12.0, algo="twap", venues=("loop",)), TRADER)
            service.start("RL", TRADER)
            oms = r.engine.oms
            await asyncio.sleep(2.0)
            sent_before = len(oms.children)
            server.faults.update({"http_status": 429, "http_status_for_s": 2.5}, time.time())
            await asyncio.sleep(2.6)
            sent_during = len(oms.children)
            await until(lambda: len(oms.children) > sent_during + 2, timeout_s=10, what="trading again after 429s")
            assert server.stats["http_429"] >= 1, server.stats
            assert server.stats["violations"] == 0 and server.stats["http_418"] == 0, server.stats
            assert r.venue.stats["rate_limited"] >= 1 and r.venue.stats["rest_waits"] >= 1
            rate_limited = [c for c in oms.children.values() if c.reject_reason == RejectReason.RATE_LIMITED]
            assert sent_during >= sent_before and all(not c.status.is_open for c in rate_limited)
            print(
                f"429s answered: {server.stats['http_429']}, violations: {server.stats['violations']}, "
                f"418s: {server.stats['http_418']}, venue back-offs: {r.venue.stats['rate_limited']}, "
                f"calls held back: {r.venue.stats['rest_waits']}, orders refused 429: {len(rate_limited)}"
            )
            service.cancel("RL", TRADER)
            try:
                await until(lambda: not oms.open_children("RL"), what="canceled")
            except AssertionError:
                bad = oms.open_children("RL")
                raise AssertionError(
                    [
                        (
                            c.client_id,
                            r.statuses(c.client_id),
                            r.venue._tracks[c.client_id],
                            [
                                (x.kind, x.payload)
                                for x in r.engine.journal.records
                                if x.payload.get("client_id") == c.client_id
                            ],
                        )
                        for c in bad
                    ]
                ) from None

    arun(scenario())
