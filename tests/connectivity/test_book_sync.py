"""Our book equals the exchange's after thousands of diffs with injected sequence gaps: every
gap is detected and resnapshotted, and no diff is ever applied across a gap."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from tests.connectivity.helpers import arun, loopback, rig, until


async def book_run(diffs: int, gap_every: int, speed: float) -> None:
    async with loopback(speed=speed) as server, rig(server, snapshot_limit=1000) as r:
        audit = r.venue.book_audit["BTC/USDT"]
        injected = 0
        next_gap = gap_every
        while audit.applied < diffs:
            if audit.applied >= next_gap and r.venue.is_up:
                injected += 1
                server.withhold_depth += 1  # the next diff-depth message is never sent: a gap
                await until(
                    lambda n=injected: audit.gaps == n and audit.resyncs == n + 1 and r.venue.is_up,
                    timeout_s=20,
                    what=f"gap {injected} detected and resnapshotted",
                )
                next_gap = audit.applied + gap_every
            await asyncio.sleep(0.01)
        last_id = server.exchange.pause()
        await until(
            lambda: r.venue._ex.orderbooks["BTC/USDT"]["nonce"] == last_id,
            timeout_s=10,
            what="our book caught up with the paused exchange",
        )
        theirs = server.exchange.depth(200)
        assert theirs["lastUpdateId"] == last_id
        ours = r.venue._ex.orderbooks["BTC/USDT"]
        for side in ("bids", "asks"):
            expected = np.array([[float(p), float(q)] for p, q in theirs[side]])
            got = np.array(ours[side][:200], dtype=float)
            np.testing.assert_array_equal(got, expected, err_msg=f"{side} differ")
        engine_book = r.engine.books["loop"]
        np.testing.assert_array_equal(engine_book.bid_px, [float(p) for p, _ in theirs["bids"][:50]])
        np.testing.assert_array_equal(engine_book.ask_qty, [float(q) for _, q in theirs["asks"][:50]])
        assert injected >= 1 and audit.gaps == injected == server.stats["depth_skipped"]
        assert audit.resyncs == audit.gaps + 1  # the first snapshot plus one per gap
        assert audit.continuity_breaks == 0
        assert audit.applied >= diffs
        print(
            f"book sync: {audit.applied} diffs applied, {audit.gaps} gaps injected and detected, "
            f"{audit.resyncs} snapshots, {audit.continuity_breaks} diffs across a gap"
        )


def test_book_equals_exchange_after_1500_diffs_with_gaps() -> None:
    arun(book_run(diffs=1500, gap_every=400, speed=25.0), timeout_s=120)


@pytest.mark.slow
def test_book_equals_exchange_after_10000_diffs_with_gaps() -> None:
    arun(book_run(diffs=10_000, gap_every=500, speed=50.0), timeout_s=600)
