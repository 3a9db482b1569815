"""Orders through the real ccxt client and our venue: placed, partially filled, canceled,
rejected — with the right OMS states, exact fills, and the exchange agreeing with the journal."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from core.actors import SYSTEM
from core.orders import OrderStatus, TimeInForce
from core.ports import RejectReason
from core.types import Price, Quantity, Side
from tests.connectivity.helpers import KEY, Rig, arun, loopback, rig, stage, until


def send(r: Rig, parent: str, qty: Decimal, price: Decimal | None, tif: TimeInForce = TimeInForce.GTC):
    # straight to the adapter, bypassing Engine.send_child's grid check: the venue must refuse off-grid values itself
    exact = None if price is None else Price.exact(price)
    child = r.engine.oms.new_child(parent, "loop", Side.SELL, Quantity.exact(qty), exact, tif, r.engine.clock.now())
    r.venue.submit(child)
    return child


def server_order(r: Rig, cid: str):
    ex = r.server.exchange
    return ex.orders[ex.orders_by_cid[(KEY, cid)][-1]]


def test_instrument_metadata_is_exact() -> None:
    async def scenario() -> None:
        async with loopback() as server, rig(server) as r:
            inst = r.venue.instrument("BTC/USDT")
            assert (inst.tick_size, inst.lot_size, inst.min_qty, inst.min_notional_quote) == (
                Decimal("1"),
                Decimal("0.0001"),
                Decimal("0.0001"),
                Decimal("5"),
            )
            assert (inst.maker_fee_bps, inst.taker_fee_bps) == (1.0, 4.0)
            assert r.venue.balances()["BTC"].available == Decimal(1000)
            assert abs(r.venue.clock_offset_ms) < 1000 and not r.venue.clock_alert
            deep = r.venue.depth_snapshot("BTC/USDT", 300)
            assert len(deep.bid_px) == len(deep.ask_px) == 300 and deep.bid_px[0] < deep.ask_px[0]
            assert (np.diff(deep.bid_px) < 0).all() and (np.diff(deep.ask_px) > 0).all()

    arun(scenario())


def test_resting_order_partially_filled_then_canceled() -> None:
    async def scenario() -> None:
        async with loopback() as server, rig(server) as r:
            stage(r.engine, "PF")
            book = r.engine.books["loop"]
            best_bid, bid_qty = Decimal(str(book.bid_px[0])), Decimal(str(book.bid_qty[0]))
            # sell more than the best bid holds at that price: takes the level, the rest rests there
            qty = bid_qty + Decimal("0.5")
            child = send(r, "PF", qty, best_bid)
            await until(lambda: child.status is OrderStatus.PARTIALLY_FILLED, what="partial fill")
            await until(lambda: child.filled == server_order(r, child.client_id).executed, what="fills applied")
            assert Decimal(0) < child.filled < qty
            r.engine.cancel_children([child])
            await until(lambda: child.status is OrderStatus.CANCELED, what="cancel")
            venue_order = server_order(r, child.client_id)
            assert venue_order.status == "CANCELED" and venue_order.executed == child.filled
            statuses = r.statuses(child.client_id)
            assert (
                statuses[0] == "new"
                and "partially_filled" in statuses
                and statuses[-2:] == ["pending_cancel", "canceled"]
            )
            fills = [f for f in r.venue._fills if f.client_id == child.client_id]
            assert sum(f.quantity for f in fills) == child.filled
            assert len({f.venue_trade_id for f in fills}) == len(fills) == len(child.fill_ids)
            assert child.venue_order_id == str(venue_order.order_id)
            assert all(f.fee_currency == "USDT" and f.fee > 0 for f in fills)

    arun(scenario())


def test_ioc_remainder_expires_and_rejects_map_to_our_reasons() -> None:
    async def scenario() -> None:
        async with loopback() as server, rig(server) as r:
            stage(r.engine, "IO")
            book = r.engine.books["loop"]
            best_bid = Decimal(str(book.bid_px[0]))
            ioc = send(r, "IO", Decimal(str(book.bid_qty[0])) + Decimal(1), best_bid, TimeInForce.IOC)
            off_tick = send(r, "IO", Decimal("0.1"), best_bid + Decimal("0.5"))  # refused before ccxt rounds it
            too_big = send(r, "IO", Decimal(5000), best_bid + 100)
            tiny = send(r, "IO", Decimal("0.0001"), Decimal(100))
            await until(lambda: all(not c.status.is_open for c in (ioc, off_tick, too_big, tiny)), what="answers")
            assert ioc.status is OrderStatus.EXPIRED and ioc.filled == server_order(r, ioc.client_id).executed > 0
            assert (off_tick.status, off_tick.reject_reason) == (OrderStatus.REJECTED, RejectReason.BAD_TICK)
            assert (too_big.status, too_big.reject_reason) == (OrderStatus.REJECTED, RejectReason.INSUFFICIENT_BALANCE)
            assert (tiny.status, tiny.reject_reason) == (OrderStatus.REJECTED, RejectReason.MIN_NOTIONAL)

    arun(scenario())


def test_cancel_all_and_cancel_of_a_filled_order() -> None:
    async def scenario() -> None:
        async with loopback() as server, rig(server) as r:
            stage(r.engine, "CA")
            ask = Decimal(str(r.engine.books["loop"].ask_px[0]))
            resting = [send(r, "CA", Decimal("0.01"), ask + 50 + k) for k in range(3)]
            await until(lambda: all(c.status is OrderStatus.NEW for c in resting), what="acks")
            r.engine.cancel_everything(SYSTEM, "test")
            await until(lambda: all(c.status is OrderStatus.CANCELED for c in resting), what="cancel-all")
            assert not server.exchange.open_orders(KEY, {"symbol": "BTCUSDT"})
            # a cancel that arrives after the fill: the OMS ends FILLED, not canceled
            bid = Decimal(str(r.engine.books["loop"].bid_px[0]))
            filled = send(r, "CA", Decimal("0.001"), bid, TimeInForce.IOC)
            r.engine.cancel_children([filled])
            await until(lambda: not filled.status.is_open, what="settled")
            assert filled.status is OrderStatus.FILLED and filled.filled == Decimal("0.001")

    arun(scenario())
