"""A new order without an answer is UNKNOWN — never rejected, never sent twice — and the
exchange's own record settles it: late ack, lost ack, lost request, 5XX."""

from __future__ import annotations

import time
from decimal import Decimal

from core.execution.service import ExecutionConfig, ExecutionService
from core.orders import OrderStatus, TimeInForce
from core.parent import ParentOrder
from core.ports import RejectReason
from core.seeds import SeedTree
from core.types import Price, Quantity, Side
from tests.connectivity.helpers import BTC, KEY, TRADER, arun, loopback, rig, stage, until


def test_late_ack_lost_ack_lost_request_and_5xx_each_settle_without_a_duplicate() -> None:
    async def scenario() -> None:
        # the user stream lags too (else its NEW would ack the order before the REST answer is missed)
        async with (
            loopback(faults={"user_delay_ms": "1500"}) as server,
            rig(server, ack_timeout_s=0.3, request_timeout_s=1.0, unknown_grace_s=0.3) as r,
        ):
            stage(r.engine, "AK")
            ex = server.exchange
            away = Decimal(str(r.engine.books["loop"].ask_px[0])) + 100

            def send(k: int):
                child = r.engine.oms.new_child(
                    "AK", "loop", Side.SELL, Quantity.exact(Decimal("0.01")), Price.exact(away + k), TimeInForce.GTC,
                    r.engine.clock.now(),
                )
                r.venue.submit(child)
                return child

            server.faults.update({"ack_delay_ms": 1200}, time.time())  # the answer comes, late
            late = send(1)
            await until(lambda: late.status is OrderStatus.UNKNOWN, what="late ack → unknown")
            await until(lambda: late.status is OrderStatus.NEW, what="late ack applied")
            server.faults.update({"ack_delay_ms": 0, "ack_drop_prob": 1, "drop_hold_s": 3}, time.time())
            lost_ack = send(2)  # placed, answer never comes
            await until(lambda: lost_ack.status is OrderStatus.UNKNOWN, what="lost ack → unknown")
            await until(lambda: lost_ack.status is OrderStatus.NEW, timeout_s=10, what="settled by query")
            server.faults.update({"ack_drop_prob": 0, "order_drop_prob": 1}, time.time())
            lost = send(3)  # the request never reaches the matching engine
            await until(lambda: lost.status is OrderStatus.UNKNOWN, what="lost request → unknown")
            await until(lambda: lost.status is OrderStatus.REJECTED, timeout_s=10, what="settled: never placed")
            server.faults.update({"order_drop_prob": 0, "http_status": 503}, time.time())  # until cleared
            five = send(4)
            await until(lambda: five.status is OrderStatus.UNKNOWN, what="503 → unknown")
            server.faults.update({"http_status": 0}, time.time())
            await until(lambda: five.status is OrderStatus.REJECTED, timeout_s=10, what="503 settled")
            for child, placed in ((late, True), (lost_ack, True), (lost, False), (five, False)):
                assert len(ex.orders_by_cid.get((KEY, child.client_id), [])) == (1 if placed else 0)
                assert "unknown" in r.statuses(child.client_id)
                assert child.reject_reason in ("", RejectReason.NOT_FOUND, "not found at venue")
            assert all(n == 1 for n in ex.cid_attempts.values())
            assert r.venue.stats["ack_timeouts"] >= 3

    arun(scenario())


def test_parent_under_slow_acks_never_duplicates_or_overfills() -> None:
    async def scenario() -> None:
        slow = {"ack_delay_ms": "700", "ack_delay_prob": "0.5", "user_delay_ms": "400"}
        async with loopback(faults=slow) as server, rig(server, ack_timeout_s=0.25, request_timeout_s=2.0) as r:
            service = ExecutionService(r.engine, SeedTree(3), ExecutionConfig(interval_s=0.4, passive_refresh_s=2))
            service.stage(ParentOrder("SLOW", BTC, Side.SELL, Decimal(1), 6.0, algo="twap", venues=("loop",)), TRADER)
            service.start("SLOW", TRADER)
            oms = r.engine.oms

            def done() -> bool:
                return oms.parents["SLOW"].state.is_terminal

            await until(done, timeout_s=40, what="parent done")
            await until(lambda: not oms.open_children("SLOW"), timeout_s=10, what="children settled")
            ex = server.exchange
            venue_filled = sum((o.executed for o in ex.orders.values() if o.client_id.startswith("SLOW-")), Decimal(0))
            assert venue_filled == oms.filled_qty("SLOW") == Decimal(1)  # the last lot too (the float-residue fix)
            assert all(n == 1 for n in ex.cid_attempts.values()), ex.cid_attempts
            assert r.venue.stats["ack_timeouts"] > 0
            assert any(u.status is OrderStatus.UNKNOWN for u in r.updates)

    arun(scenario())
