"""Faults on the live path, injected by the loopback exchange's own knobs, against the real ccxt
client: garbled REST answers and websocket frames, a stalled user-data subscription, a long
outage, a burst of 429s. For each: the venue recovers or says it is stale within the staleness
limit, no order is priced off a frozen book, no child stays PENDING_NEW past its ack timeout, a
rate-limit burst does not exclude the venue, and the parent completes."""

from __future__ import annotations

from decimal import Decimal

from core.execution.service import ExecutionConfig, ExecutionService
from core.orders import OrderStatus
from core.parent import ParentOrder, ParentState
from core.seeds import SeedTree
from core.types import Side
from tests.connectivity.helpers import BTC, TRADER, Rig, arun, loopback, rig, until


def pending_new_s(r: Rig) -> dict[str, float]:
    """Per child: how long it was PENDING_NEW (s): from its creation to the OMS's first update of
    it (every later state is announced on the bus); still PENDING_NEW counts up to now."""
    left: dict[str, float] = {}
    for u in r.updates:
        if u.status is not OrderStatus.PENDING_NEW:
            left.setdefault(u.client_id, u.ts)
    now = r.engine.clock.now()
    return {cid: left.get(cid, now) - c.created_ts for cid, c in r.engine.oms.children.items()}


def test_garbled_order_answers_leave_no_child_pending_new_and_the_parent_completes() -> None:
    """Answers to new orders arrive malformed or truncated (the order is placed); the user stream
    lags, so those answers are all the venue hears in time. Each such child is UNKNOWN at once and
    settled from the exchange's record: none stays PENDING_NEW, none is sent twice."""

    async def scenario() -> None:
        garble = {
            "rest_malformed_prob": "0.3",
            "rest_truncated_prob": "0.3",
            "rest_garble_only": "POST /api/v3/order",
            "user_delay_ms": "3000",
        }
        ack_timeout_s = 2.0
        async with (
            loopback(faults=garble) as server,
            rig(server, ack_timeout_s=ack_timeout_s, request_timeout_s=3.0) as r,
        ):
            service = ExecutionService(r.engine, SeedTree(11), ExecutionConfig(interval_s=0.4, passive_refresh_s=2))
            service.stage(ParentOrder("GR", BTC, Side.SELL, Decimal(1), 6.0, algo="twap", venues=("loop",)), TRADER)
            service.start("GR", TRADER)
            oms = r.engine.oms
            await until(lambda: oms.parents["GR"].state.is_terminal, timeout_s=40, what="parent done")
            await until(lambda: not oms.open_children("GR"), timeout_s=10, what="children settled")
            ex = server.exchange
            garbled = server.stats["rest_garbled"]
            assert garbled >= 2, server.stats
            waits = pending_new_s(r)
            assert waits and max(waits.values()) <= ack_timeout_s, sorted(waits.items(), key=lambda kv: -kv[1])[:3]
            assert r.venue.stats["unreadable_answers"] == garbled, (dict(r.venue.stats), server.stats)
            unknown = [c for c in oms.children if "unknown" in r.statuses(c)]
            assert len(unknown) >= garbled  # each unreadable answer made its child UNKNOWN
            assert oms.parents["GR"].state is ParentState.DONE
            venue_filled = sum((o.executed for o in ex.orders.values() if o.client_id.startswith("GR-")), Decimal(0))
            assert venue_filled == oms.filled_qty("GR") == Decimal(1)
            assert all(n == 1 for n in ex.cid_attempts.values()), ex.cid_attempts
            print(
                f"garbled answers: {garbled}, children: {len(oms.children)}, UNKNOWN then settled: {len(unknown)}, "
                f"longest PENDING_NEW: {max(waits.values()):.3f} s (ack timeout {ack_timeout_s} s)"
            )

    arun(scenario())
