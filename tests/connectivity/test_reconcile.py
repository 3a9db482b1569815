"""Reconciliation on every (re)connect: fills missed while disconnected applied exactly once,
orders of unknown fate settled by the exchange's record, orphans reported and cancelable, and
a restarted engine (journal replay) brought in line with the exchange."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from adapters.ccxt import CcxtVenue, CcxtVenueConfig, OmsOrderView
from adapters.exchange_server.server import ExchangeServer
from adapters.store.journal import MemoryJournal
from core.clock import LiveClock
from core.engine import Engine
from core.events import Alert
from core.orders import OrderStatus, TimeInForce
from core.types import Price, Quantity, Side
from tests.connectivity.helpers import CREDS, KEY, Rig, arun, loopback, rig, stage, until


def rest_at_ask(r: Rig, parent: str, qty: Decimal):
    ask = Decimal(str(r.engine.books["loop"].ask_px[0]))
    child = r.engine.oms.new_child(
        parent, "loop", Side.SELL, Quantity.exact(qty), Price.exact(ask), TimeInForce.GTC, r.engine.clock.now()
    )
    r.venue.submit(child)
    return child


def take_out(server: ExchangeServer, price: Decimal) -> None:
    """Another account buys everything offered up to `price` (our resting sell included)."""
    depth = server.exchange.depth(1000)
    qty = sum(Decimal(q) for p, q in depth["asks"] if Decimal(p) <= price)
    server.exchange.place_order(
        "other",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "IOC",
            "quantity": str(qty),
            "price": str(price),
        },
    )


def journal_fills(journal: MemoryJournal, cid: str) -> list[str]:
    return [
        r.payload["venue_trade_id"] for r in journal.records if r.kind == "venue.fill" and r.payload["client_id"] == cid
    ]


def test_fill_missed_during_a_venue_restart_is_applied_exactly_once() -> None:
    async def scenario() -> None:
        async with loopback() as server, rig(server, request_timeout_s=1.0, unknown_grace_s=0.5) as r:
            stage(r.engine, "MF")
            child = rest_at_ask(r, "MF", Decimal("0.05"))
            await until(lambda: child.status is OrderStatus.NEW, what="resting")
            restart = asyncio.ensure_future(server.restart(down_s=1.5))
            await until(lambda: not r.venue.is_up, what="venue sees the outage")
            take_out(server, child.price)  # fills while nobody is listening
            blind = r.engine.oms.new_child(
                "MF", "loop", Side.SELL, Quantity.exact(Decimal("0.01")), Price.exact(child.price + 500),
                TimeInForce.GTC, r.engine.clock.now(),
            )
            r.venue.submit(blind)  # sent into the outage: connection refused → UNKNOWN
            await restart
            await until(lambda: child.status is OrderStatus.FILLED, timeout_s=20, what="missed fill applied")
            await until(lambda: blind.status is OrderStatus.REJECTED, timeout_s=20, what="blind order settled")
            trades = [t for t in server.exchange.trades if t.order_id == int(child.venue_order_id)]
            journal = r.engine.journal
            assert isinstance(journal, MemoryJournal)
            assert sorted(journal_fills(journal, child.client_id)) == sorted(str(t.trade_id) for t in trades)
            assert child.filled == sum(t.qty for t in trades) == Decimal("0.05")
            assert "unknown" in r.statuses(blind.client_id)
            assert not server.exchange.orders_by_cid.get((KEY, blind.client_id))
            # replays change nothing: the venue and the OMS both dedupe by trade id
            assert await r.venue._sweep_trades("BTC/USDT", 0.0) == 0
            for fill in [f for f in r.venue._fills if f.client_id == child.client_id]:
                assert r.engine.oms.on_fill(fill, r.engine.clock.now()) is False
            assert len(journal_fills(journal, child.client_id)) == len(trades)
            assert r.venue.stats["user_stream_drops"] >= 1 and r.venue.stats["reconciliations"] >= 2

    arun(scenario())


def test_orphan_is_reported_and_cancelable() -> None:
    async def scenario() -> None:
        async with loopback() as server, rig(server) as r:
            alerts: list[Alert] = []
            r.engine.bus.subscribe(Alert, alerts.append)
            ask = Decimal(str(r.engine.books["loop"].ask_px[0]))
            server.exchange.place_order(
                KEY,
                {
                    "symbol": "BTCUSDT",
                    "side": "SELL",
                    "type": "LIMIT",
                    "timeInForce": "GTC",
                    "quantity": "0.01",
                    "price": str(ask + 300),
                    "newClientOrderId": "MANUAL-1",
                },
            )
            await until(lambda: "MANUAL-1" in r.venue.orphans, what="orphan seen")
            assert any(a.kind == "orphan_order" and "MANUAL-1" in a.detail for a in alerts)
            orphan = r.venue.orphans["MANUAL-1"]
            r.venue.cancel_by_id("BTC/USDT", orphan.client_id, orphan.venue_order_id)
            await until(lambda: not server.exchange.open_orders(KEY, {"symbol": "BTCUSDT"}), what="orphan canceled")
            await until(lambda: "MANUAL-1" not in r.venue.orphans, what="orphan cleared")

    arun(scenario())


def test_restarted_engine_reconciles_with_the_exchange() -> None:
    async def scenario() -> None:
        async with loopback() as server:
            journal = MemoryJournal()
            engine = Engine(LiveClock(), journal)
            venue = CcxtVenue(CcxtVenueConfig("loop", url=server.url), credentials=CREDS, view=OmsOrderView(engine.oms))
            engine.add_venue(venue)
            await venue.wait_ready(30)
            stage(engine, "RS")
            ask = Decimal(str(engine.books["loop"].ask_px[0]))
            resting = engine.oms.new_child(
                "RS", "loop", Side.SELL, Quantity.exact(Decimal("0.02")), Price.exact(ask), TimeInForce.GTC,
                engine.clock.now(),
            )
            venue.submit(resting)
            await until(lambda: resting.status is OrderStatus.NEW, what="resting")
            far = engine.oms.new_child(
                "RS", "loop", Side.SELL, Quantity.exact(Decimal("0.02")), Price.exact(ask + 400), TimeInForce.GTC,
                engine.clock.now()
            )
            venue.submit(far)
            await until(lambda: far.status is OrderStatus.NEW, what="far resting")
            engine.oms.request_cancels([far], engine.oms.children[far.client_id] and __actor(), engine.clock.now())
            # crash: the cancel intent is journaled but never sent; an intent for a new child too
            unsent = engine.oms.new_child(
                "RS", "loop", Side.SELL, Quantity.exact(Decimal("0.01")), Price.exact(ask + 500), TimeInForce.GTC,
                engine.clock.now()
            )
            await venue.close()
            take_out(server, resting.price)  # fills while we are down
            engine2 = Engine(LiveClock(), journal)  # the restart: state from the journal only
            oms2 = engine2.oms
            assert oms2.children[resting.client_id].status is OrderStatus.NEW
            assert oms2.children[far.client_id].status is OrderStatus.PENDING_CANCEL
            assert oms2.children[unsent.client_id].status is OrderStatus.PENDING_NEW
            venue2 = CcxtVenue(
                CcxtVenueConfig("loop", url=server.url, unknown_grace_s=0.3), credentials=CREDS, view=OmsOrderView(oms2)
            )
            engine2.add_venue(venue2)
            try:
                await venue2.wait_ready(30)
                c = oms2.children
                await until(lambda: c[resting.client_id].status is OrderStatus.FILLED, what="fill while down")
                await until(lambda: c[far.client_id].status is OrderStatus.CANCELED, what="cancel re-sent")
                await until(lambda: c[unsent.client_id].status is OrderStatus.REJECTED, what="never sent → rejected")
                assert venue2.last_reconcile["fills_swept"] >= 1 and venue2.last_reconcile["recanceled"] == 1
                venue_filled = sum(
                    (o.executed for o in server.exchange.orders.values() if o.client_id.startswith("RS-")), Decimal(0)
                )
                assert venue_filled == oms2.filled_qty("RS") == Decimal("0.02")
                assert not server.exchange.open_orders(KEY, {"symbol": "BTCUSDT"})
            finally:
                await venue2.close()

    arun(scenario())


def __actor():  # the trader who asked for the cancel
    from tests.connectivity.helpers import TRADER

    return TRADER
