"""Disconnect storm: every websocket dropped every 30 s of venue time for 10 minutes of venue time
(accelerated ×10) while a parent works. No decision is taken on a stale book, no fill is lost."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from core.execution.service import ExecutionConfig, ExecutionService
from core.parent import ParentOrder
from core.seeds import SeedTree
from core.types import Side
from tests.connectivity.helpers import BTC, KEY, TRADER, arun, loopback, rig, until

SPEED = 10.0
VENUE_MINUTES = 10.0


@pytest.mark.slow
def test_disconnect_storm_no_stale_decision_no_lost_fill() -> None:
    async def scenario() -> None:
        async with loopback(speed=SPEED, faults={"ws_drop_every_s": "30"}) as server, rig(server) as r:
            venue, engine = r.venue, r.engine
            decisions: list[tuple[bool, bool, float]] = []  # (book synced, book non-empty, book age s)
            submit = venue.submit

            def audited_submit(order):  # type: ignore[no-untyped-def]
                book = engine.books.get("loop")
                decisions.append(
                    (
                        venue._books_synced["BTC/USDT"],
                        book is not None and len(book.bid_px) > 0,
                        time.time() - book.ts if book is not None else float("inf"),
                    )
                )
                submit(order)

            venue.submit = audited_submit  # type: ignore[method-assign]
            wall_s = VENUE_MINUTES * 60 / SPEED
            service = ExecutionService(engine, SeedTree(11), ExecutionConfig(interval_s=0.5, passive_refresh_s=2.0))
            service.stage(ParentOrder("ST", BTC, Side.SELL, Decimal(8), wall_s, algo="twap", venues=("loop",)), TRADER)
            service.start("ST", TRADER)
            t_end = time.monotonic() + wall_s
            await until(lambda: time.monotonic() > t_end, timeout_s=wall_s + 5, what="storm over")
            service.cancel("ST", TRADER)
            oms = engine.oms
            await until(lambda: not oms.open_children("ST"), timeout_s=20, what="children settled")
            await venue.reconcile("final check")
            ours = [o for o in server.exchange.orders.values() if o.client_id.startswith("ST-")]
            venue_filled = sum((o.executed for o in ours), Decimal(0))
            trade_ids = {
                str(t.trade_id)
                for t in server.exchange.trades
                if t.api_key == KEY and t.order_id in {o.order_id for o in ours}
            }
            journal_trade_ids = {tid for (v, tid) in oms.fill_keys if v == "loop"}
            print(
                f"storm: {server.stats['ws_drops']} drops, {venue.stats['user_stream_drops']} user-stream losses, "
                f"{venue.stats['reconciliations']} reconciliations, {venue.book_audit['BTC/USDT'].resyncs} book "
                f"snapshots, {len(decisions)} orders sent, {len(trade_ids)} fills, filled {venue_filled}"
            )
            assert server.stats["ws_drops"] >= VENUE_MINUTES * 60 / 30 - 2
            assert venue.stats["reconciliations"] >= server.stats["ws_drops"]
            assert decisions and all(synced and non_empty and age < 1.0 for synced, non_empty, age in decisions)
            assert trade_ids == journal_trade_ids  # no fill lost, none invented
            assert venue_filled == oms.filled_qty("ST") > 0
            assert venue.book_audit["BTC/USDT"].continuity_breaks == 0

    arun(scenario(), timeout_s=400)
