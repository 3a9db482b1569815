"""`SimulatedExchange`: one simulated venue behind Binance spot semantics.

It owns a `MarketSim` driven on the wall clock (optionally accelerated: `speed` simulated seconds
per wall second), one symbol, the accounts (API key → secret, balances with free/locked), our
orders and our trades. Everything a REST or WebSocket handler needs is a plain method here, so
the protocol layer (`server.py`) only parses, signs, rate-limits and renders.

Invariants:
- exchange-side numbers are exact `Decimal`s on the venue's tick and lot grid; the simulator's
  floats are converted through integer ticks and lots, never printed and re-parsed;
- an order is placed (or refused) synchronously inside `place_order`: there is no moment when a
  request has been received but its order is neither live nor refused;
- order ids, trade ids and depth sequence ids only grow, across restarts too (offsets persist).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any

from adapters.exchange_server import errors as E
from adapters.sim.market import BookDiff, MarketSim, OwnEvent, Trade
from adapters.sim.scenario import load_scenario

log = logging.getLogger(__name__)

_CID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
EIGHT = Decimal("0.00000001")
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
TRADE_ID_SPREAD = 1000  # published trade id = simulator print id × this + the fill's number within the print


def fmt(value: Decimal) -> str:
    """Binance prints every decimal with 8 places."""
    return f"{value.quantize(EIGHT):f}"


@dataclass(slots=True)
class Account:
    api_key: str
    secret: str
    free: dict[str, Decimal] = field(default_factory=dict)
    locked: dict[str, Decimal] = field(default_factory=dict)
    uid: int = 1


@dataclass(slots=True)
class Order:
    order_id: int
    api_key: str
    client_id: str
    side: str  # BUY | SELL
    type: str  # LIMIT | LIMIT_MAKER | MARKET
    tif: str  # GTC | IOC ("" for MARKET and LIMIT_MAKER)
    price: Decimal  # 0 for MARKET
    orig_qty: Decimal
    time_ms: int
    executed: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)
    status: str = "NEW"
    update_ms: int = 0
    reserved_quote: Decimal = Decimal(0)  # buy orders: quote still locked for the leaves

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def leaves(self) -> Decimal:
        return self.orig_qty - self.executed


@dataclass(slots=True)
class OwnTrade:
    trade_id: int
    order_id: int
    api_key: str
    side: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    is_maker: bool


@dataclass(slots=True)
class Listeners:
    """Where market data and user events go (the server fans them out to websockets)."""

    depth: Callable[[dict[str, Any]], None] = lambda msg: None
    trade: Callable[[dict[str, Any]], None] = lambda msg: None
    user: Callable[[str, dict[str, Any]], None] = lambda api_key, msg: None


class SimulatedExchange:
    def __init__(
        self,
        scenario: str,
        venue: str,
        seed: int = 1,
        speed: float = 1.0,
        accounts: dict[str, str] | None = None,
        balances: dict[str, Decimal] | None = None,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"--speed must be positive, got {speed}")
        sc = load_scenario(scenario)
        names = [v.name for v in sc.venues]
        if venue not in names:
            raise ValueError(f"scenario {scenario!r} has no venue {venue!r}; choose one of {', '.join(names)}")
        self.clock = clock
        self.speed = speed
        self.sim = MarketSim(sc, seed, record_path=False)
        self.vi = names.index(venue)
        self.venue_name = venue
        self.spec = self.sim.venues[self.vi]
        for k in range(len(names)):  # only our venue's market data is served; drop the others' as they come
            if k != self.vi:
                self.sim.drain_market_data(k)
        self.base, self.quote = sc.scenario.symbol.split("/")
        self.symbol = self.base + self.quote
        self.tick = Decimal(str(self.spec.tick_size))
        self.lot = Decimal(str(self.spec.lot_size))
        self.min_notional = Decimal(str(self.spec.min_notional))
        self.max_price = Decimal("10000000")
        self.max_qty = Decimal("9000")
        self.maker_rate = Decimal(str(self.spec.maker_fee_bps)) / Decimal(10_000)
        self.taker_rate = Decimal(str(self.spec.taker_fee_bps)) / Decimal(10_000)
        self.listeners = Listeners()
        self.state_path = state_path
        self.accounts: dict[str, Account] = {}
        self.orders: dict[int, Order] = {}
        self.orders_by_cid: dict[tuple[str, str], list[int]] = {}
        self.trades: list[OwnTrade] = []
        self.cid_attempts: dict[str, int] = {}  # every newClientOrderId ever sent to POST /order
        self.next_order_id = 1
        self.trade_id_offset = 0
        self.seq_offset = 0
        self.last_seq = 0
        self.max_trade_id = 0
        self._print_fills: dict[int, int] = {}  # published print id → fills numbered within it
        self.depth_messages = 0
        self.dirty = False
        self._wall0 = clock()
        self._sim_origin = self.sim.now_s
        self._paused_at: float | None = None
        loaded = state_path is not None and state_path.exists() and self._load(state_path)
        if not loaded:
            for key, secret in (accounts or {}).items():
                acct = Account(key, secret, uid=len(self.accounts) + 1)
                acct.free = {a: Decimal(v) for a, v in (balances or {}).items()}
                self.accounts[key] = acct
        else:
            for key, secret in (accounts or {}).items():  # keys can be added, secrets rotated
                if key in self.accounts:
                    self.accounts[key].secret = secret
                else:
                    self.accounts[key] = Account(key, secret, {a: Decimal(v) for a, v in (balances or {}).items()})
        self.catch_up()

    # ------------------------------------------------------------------ time
    def sim_now(self) -> float:
        """Simulated seconds the market should have reached by now."""
        if self._paused_at is not None:
            return self._paused_at
        return self._sim_origin + (self.clock() - self._wall0) * self.speed

    def pause(self) -> int:
        """Freeze the market just after its next publish boundary, so the last diff published
        covers every change (the depth snapshot's lastUpdateId equals the last diff's u).
        Returns that sequence id. Our orders are still accepted and matched while paused."""
        if self._paused_at is None:
            dt = self.sim.scenario.market.publish_interval_ms / 1000.0
            boundary = (int(self.sim_now() / dt) + 1) * dt + 1e-6
            self.sim.advance_to(boundary)
            self._publish_market_data()
            for ev in self.sim.own_events_since_advance():
                self._own_event(ev)
            self._paused_at = self.sim.now_s
        return self.last_seq

    def resume(self) -> None:
        if self._paused_at is not None:
            self._sim_origin, self._wall0, self._paused_at = self._paused_at, self.clock(), None

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def catch_up(self) -> None:
        """Advance the market to the wall clock; publish its market data and our passive fills."""
        target = self.sim_now()
        if target > self.sim.now_s:
            self.sim.advance_to(target)
        self._publish_market_data()
        for ev in self.sim.own_events_since_advance():
            self._own_event(ev)

    def _publish_market_data(self) -> None:
        now_ms = self.now_ms()
        for item in self.sim.drain_market_data(self.vi):
            if isinstance(item, BookDiff):
                self.last_seq = item.last_seq + self.seq_offset
                self.depth_messages += 1
                bids = [
                    [fmt(Decimal(int(p)) * self.tick), fmt(Decimal(int(q)) * self.lot)]
                    for s, p, q in zip(item.side, item.price_ticks, item.qty_lots, strict=True)
                    if s > 0
                ]
                asks = [
                    [fmt(Decimal(int(p)) * self.tick), fmt(Decimal(int(q)) * self.lot)]
                    for s, p, q in zip(item.side, item.price_ticks, item.qty_lots, strict=True)
                    if s < 0
                ]
                self.listeners.depth(
                    {
                        "e": "depthUpdate",
                        "E": now_ms,
                        "s": self.symbol,
                        "U": item.first_seq + self.seq_offset,
                        "u": item.last_seq + self.seq_offset,
                        "b": bids,
                        "a": asks,
                    }
                )
            elif isinstance(item, Trade):
                price = self._px(item.price)
                qty = self._qty(item.qty)
                self.max_trade_id = max(self.max_trade_id, item.trade_id + self.trade_id_offset)
                print_id = (item.trade_id + self.trade_id_offset) * TRADE_ID_SPREAD
                self.listeners.trade(
                    {
                        "e": "trade",
                        "E": now_ms,
                        "s": self.symbol,
                        "t": print_id,
                        "p": fmt(price),
                        "q": fmt(qty),
                        "T": now_ms,
                        "m": item.aggressor < 0,
                        "M": True,
                    }
                )

    # ------------------------------------------------------------------ market data
    def depth(self, limit: int) -> dict[str, Any]:
        self.catch_up()
        seq, bp, bq, ap, aq = self.sim.snapshot(self.vi, depth=limit)
        return {
            "lastUpdateId": seq + self.seq_offset,
            "bids": [[fmt(self._px(p)), fmt(self._qty(q))] for p, q in zip(bp, bq, strict=True)],
            "asks": [[fmt(self._px(p)), fmt(self._qty(q))] for p, q in zip(ap, aq, strict=True)],
        }

    def exchange_info(self) -> dict[str, Any]:
        return {
            "timezone": "UTC",
            "serverTime": self.now_ms(),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            ],
            "exchangeFilters": [],
            "symbols": [
                {
                    "symbol": self.symbol,
                    "status": "TRADING",
                    "baseAsset": self.base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": self.quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8,
                    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                    "icebergAllowed": False,
                    "ocoAllowed": False,
                    "otoAllowed": False,
                    "quoteOrderQtyMarketAllowed": False,
                    "allowTrailingStop": False,
                    "cancelReplaceAllowed": False,
                    "amendAllowed": False,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": fmt(self.tick),
                            "maxPrice": fmt(self.max_price),
                            "tickSize": fmt(self.tick),
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": fmt(self.lot),
                            "maxQty": fmt(self.max_qty),
                            "stepSize": fmt(self.lot),
                        },
                        {
                            "filterType": "MARKET_LOT_SIZE",
                            "minQty": "0.00000000",
                            "maxQty": fmt(self.max_qty),
                            "stepSize": "0.00000000",
                        },
                        {
                            "filterType": "NOTIONAL",
                            "minNotional": fmt(self.min_notional),
                            "applyMinToMarket": True,
                            "maxNotional": "9000000.00000000",
                            "applyMaxToMarket": False,
                            "avgPriceMins": 5,
                        },
                    ],
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                    "defaultSelfTradePreventionMode": "NONE",
                    "allowedSelfTradePreventionModes": ["NONE"],
                }
            ],
        }

    # ------------------------------------------------------------------ orders
    def place_order(self, api_key: str, p: dict[str, str]) -> tuple[Order, list[OwnTrade]]:
        """Validate, reserve balance and send to the matching engine. Raises `BinanceError`."""
        self._check_symbol(p)
        side = p.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            raise E.missing("side")
        otype = p.get("type", "").upper()
        if otype not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
            raise E.BinanceError(-1116, "Invalid orderType.")
        cid = p.get("newClientOrderId") or f"x-{self.next_order_id:012d}"
        if not _CID_RE.match(cid):
            raise E.BinanceError(
                E.ILLEGAL_CHARS,
                "Illegal characters found in parameter 'newClientOrderId'; "
                "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            )
        self.cid_attempts[cid] = self.cid_attempts.get(cid, 0) + 1
        self.dirty = True
        if "quantity" not in p:
            raise E.missing("quantity")
        qty = _dec(p["quantity"], "quantity")
        tif = p.get("timeInForce", "").upper()
        price = Decimal(0)
        if otype == "LIMIT":
            if tif not in ("GTC", "IOC"):
                raise E.BinanceError(-1115, "Invalid timeInForce.") if tif else E.missing("timeInForce")
        else:
            tif = "GTC" if otype == "LIMIT_MAKER" else ""
        if otype != "MARKET":
            if "price" not in p:
                raise E.missing("price")
            price = _dec(p["price"], "price")
            if price < self.tick or price > self.max_price or price % self.tick != 0:
                raise E.filter_failure("PRICE_FILTER")
        if qty < self.lot or qty > self.max_qty or qty % self.lot != 0:
            raise E.filter_failure("LOT_SIZE")
        self.catch_up()
        ref = price if otype != "MARKET" else Decimal(str(self.sim.mid(self.vi)))
        if qty * ref < self.min_notional:
            raise E.filter_failure("NOTIONAL")
        acct = self.accounts[api_key]
        live = [o for o in self._orders_for_cid(api_key, cid) if o.is_open]
        if live:
            raise E.BinanceError(E.NEW_ORDER_REJECTED, E.MSG_DUPLICATE)
        reserve_asset, reserve = (self.base, qty) if side == "SELL" else (self.quote, qty * ref)
        if otype == "MARKET" and side == "BUY":
            reserve = (qty * ref * Decimal("1.05")).quantize(EIGHT)  # headroom for walking the book
        if acct.free.get(reserve_asset, Decimal(0)) < reserve:
            raise E.BinanceError(E.NEW_ORDER_REJECTED, E.MSG_INSUFFICIENT_BALANCE)
        now = self.now_ms()
        order = Order(self.next_order_id, api_key, cid, side, otype, tif, price, qty, now, update_ms=now)
        events = self.sim.submit(
            self.vi,
            order.order_id,
            1 if side == "BUY" else -1,
            None if otype == "MARKET" else float(price),
            float(qty),
            post_only=otype == "LIMIT_MAKER",
            ioc=tif == "IOC",
        )
        if events and events[0].kind == "reject":
            raise _reject_error(events[0].reason)
        self.next_order_id += 1
        self.orders[order.order_id] = order
        self.orders_by_cid.setdefault((api_key, cid), []).append(order.order_id)
        self._move(acct, reserve_asset, reserve, to_locked=True)
        if side == "BUY":
            order.reserved_quote = reserve
        self.listeners.user(api_key, self._report(order, "NEW"))
        trades: list[OwnTrade] = []
        for ev in events[1:]:
            if ev.own_id != order.order_id:  # another of our accounts' resting orders was hit
                self._own_event(ev)
            elif ev.kind == "fill":
                trades.append(self._fill(order, ev))
            elif ev.kind == "canceled":
                self._close(order, "EXPIRED")
        self._balance_update(acct)
        self._publish_market_data()
        return order, trades

    def cancel_order(self, api_key: str, p: dict[str, str]) -> Order:
        self._check_symbol(p)
        order = self._find(api_key, p)
        if order is None or not order.is_open:
            raise E.BinanceError(E.CANCEL_REJECTED, E.MSG_UNKNOWN_ORDER)
        self.catch_up()
        if not order.is_open:  # filled while we caught up
            raise E.BinanceError(E.CANCEL_REJECTED, E.MSG_UNKNOWN_ORDER)
        events = self.sim.cancel(self.vi, order.order_id)
        if events and events[0].kind == "reject":
            raise E.BinanceError(E.CANCEL_REJECTED, E.MSG_MARKET_CLOSED)
        cancel_cid = p.get("newClientOrderId") or f"cancel-{order.order_id}"
        self._close(order, "CANCELED", cancel_cid)
        self._balance_update(self.accounts[api_key])
        self._publish_market_data()
        return order

    def cancel_all(self, api_key: str, p: dict[str, str]) -> list[Order]:
        self._check_symbol(p)
        self.catch_up()
        mine = [o for o in self.orders.values() if o.api_key == api_key and o.is_open]
        if not mine:
            raise E.BinanceError(E.CANCEL_REJECTED, E.MSG_UNKNOWN_ORDER)
        for order in mine:
            events = self.sim.cancel(self.vi, order.order_id)
            if events and events[0].kind == "reject":
                raise E.BinanceError(E.CANCEL_REJECTED, E.MSG_MARKET_CLOSED)
            self._close(order, "CANCELED", f"cancel-{order.order_id}")
        self._balance_update(self.accounts[api_key])
        self._publish_market_data()
        return mine

    def query_order(self, api_key: str, p: dict[str, str]) -> Order:
        self._check_symbol(p)
        self.catch_up()
        order = self._find(api_key, p)
        if order is None:
            raise E.BinanceError(E.NO_SUCH_ORDER, E.MSG_NO_SUCH_ORDER)
        return order

    def open_orders(self, api_key: str, p: dict[str, str]) -> list[Order]:
        if "symbol" in p:
            self._check_symbol(p)
        self.catch_up()
        return [o for o in self.orders.values() if o.api_key == api_key and o.is_open]

    def my_trades(self, api_key: str, p: dict[str, str]) -> list[OwnTrade]:
        self._check_symbol(p)
        self.catch_up()
        limit = min(int(p.get("limit", 500)), 1000)
        rows = [t for t in self.trades if t.api_key == api_key]
        if "orderId" in p:
            rows = [t for t in rows if t.order_id == int(p["orderId"])]
        if "fromId" in p:
            rows = [t for t in rows if t.trade_id >= int(p["fromId"])]
        if "startTime" in p:
            rows = [t for t in rows if t.time_ms >= int(p["startTime"])]
        if "endTime" in p:
            rows = [t for t in rows if t.time_ms <= int(p["endTime"])]
        if "startTime" in p or "fromId" in p or "orderId" in p:
            return rows[:limit]
        return rows[-limit:]

    def account(self, api_key: str) -> dict[str, Any]:
        self.catch_up()
        acct = self.accounts[api_key]
        assets = sorted(set(acct.free) | set(acct.locked))
        maker = int(self.maker_rate * 10_000)
        taker = int(self.taker_rate * 10_000)
        return {
            "makerCommission": maker,
            "takerCommission": taker,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": fmt(self.maker_rate),
                "taker": fmt(self.taker_rate),
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.now_ms(),
            "accountType": "SPOT",
            "permissions": ["SPOT"],
            "uid": acct.uid,
            "balances": [
                {"asset": a, "free": fmt(acct.free.get(a, Decimal(0))), "locked": fmt(acct.locked.get(a, Decimal(0)))}
                for a in assets
            ],
        }

    # ------------------------------------------------------------------ rendering
    def order_json(self, o: Order, full: bool = False, trades: list[OwnTrade] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "symbol": self.symbol,
            "orderId": o.order_id,
            "orderListId": -1,
            "clientOrderId": o.client_id,
            "price": fmt(o.price),
            "origQty": fmt(o.orig_qty),
            "executedQty": fmt(o.executed),
            "cummulativeQuoteQty": fmt(o.cum_quote),
            "status": o.status,
            "timeInForce": o.tif or "GTC",
            "type": o.type,
            "side": o.side,
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": o.time_ms,
            "updateTime": o.update_ms,
            "isWorking": o.is_open,
            "workingTime": o.time_ms,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "NONE",
        }
        if full:
            out["transactTime"] = o.update_ms
            out["fills"] = [
                {
                    "price": fmt(t.price),
                    "qty": fmt(t.qty),
                    "commission": fmt(t.commission),
                    "commissionAsset": t.commission_asset,
                    "tradeId": t.trade_id,
                }
                for t in trades or []
            ]
        return out

    def trade_json(self, t: OwnTrade) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "id": t.trade_id,
            "orderId": t.order_id,
            "orderListId": -1,
            "price": fmt(t.price),
            "qty": fmt(t.qty),
            "quoteQty": fmt(t.price * t.qty),
            "commission": fmt(t.commission),
            "commissionAsset": t.commission_asset,
            "time": t.time_ms,
            "isBuyer": t.side == "BUY",
            "isMaker": t.is_maker,
            "isBestMatch": True,
        }

    # ------------------------------------------------------------------ queries for tests / admin
    def book_top(self, depth: int) -> dict[str, Any]:
        return self.depth(depth)

    def summary(self) -> dict[str, Any]:
        filled = sum((o.executed for o in self.orders.values()), Decimal(0))
        return {
            "symbol": self.symbol,
            "venue": self.venue_name,
            "sim_time_s": self.sim.now_s,
            "orders": len(self.orders),
            "open_orders": sum(1 for o in self.orders.values() if o.is_open),
            "filled_qty": str(filled),
            "trades": len(self.trades),
            "last_seq": self.last_seq,
            "duplicate_client_ids": {c: n for c, n in self.cid_attempts.items() if n > 1},
            "client_ids_sent": len(self.cid_attempts),
            "depth_messages": self.depth_messages,
        }

    # ------------------------------------------------------------------ persistence
    def save(self) -> None:
        """Write balances, orders, trades and id offsets (atomically: temp file, then rename)."""
        if self.state_path is None:
            return
        state = {
            "symbol": self.symbol,
            "accounts": {
                k: {
                    "free": {a: str(v) for a, v in acct.free.items()},
                    "locked": {a: str(v) for a, v in acct.locked.items()},
                    "uid": acct.uid,
                }
                for k, acct in self.accounts.items()
            },
            "orders": [
                {
                    **asdict(o),
                    **{k: str(getattr(o, k)) for k in ("price", "orig_qty", "executed", "cum_quote", "reserved_quote")},
                }
                for o in self.orders.values()
            ],
            "trades": [
                {**asdict(t), "price": str(t.price), "qty": str(t.qty), "commission": str(t.commission)}
                for t in self.trades
            ],
            "cid_attempts": self.cid_attempts,
            "next_order_id": self.next_order_id,
            "trade_id_offset": self._max_trade_id() // TRADE_ID_SPREAD + 1,
            "seq_offset": max(self.last_seq, self.sim.snapshot(self.vi, depth=1)[0] + self.seq_offset) + 1,
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_path)
        self.dirty = False

    def _load(self, path: Path) -> bool:
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("symbol") != self.symbol:
            raise ValueError(f"state file {path} is for {state.get('symbol')}, not {self.symbol}; use another file")
        for key, a in state["accounts"].items():
            self.accounts[key] = Account(
                key,
                "",
                {k: Decimal(v) for k, v in a["free"].items()},
                {k: Decimal(v) for k, v in a["locked"].items()},
                a.get("uid", 1),
            )
        dec_fields = ("price", "orig_qty", "executed", "cum_quote", "reserved_quote")
        for raw in state["orders"]:
            o = Order(**{k: (Decimal(v) if k in dec_fields else v) for k, v in raw.items()})  # type: ignore[arg-type]
            self.orders[o.order_id] = o
            self.orders_by_cid.setdefault((o.api_key, o.client_id), []).append(o.order_id)
        for raw in state["trades"]:
            self.trades.append(
                OwnTrade(**{k: (Decimal(v) if k in ("price", "qty", "commission") else v) for k, v in raw.items()})  # type: ignore[arg-type]
            )
        self.cid_attempts = dict(state["cid_attempts"])
        self.next_order_id = int(state["next_order_id"])
        self.trade_id_offset = int(state["trade_id_offset"])
        self.seq_offset = int(state["seq_offset"])
        # a fresh market: orders that were resting go back into its book at their price and leaves
        for o in self.orders.values():
            if o.is_open:
                events = self.sim.submit(
                    self.vi, o.order_id, 1 if o.side == "BUY" else -1, float(o.price), float(o.leaves), ioc=False
                )
                if events and events[0].kind == "reject":
                    log.warning("order %s could not be restored (%s): expired", o.order_id, events[0].reason)
                    self._close(o, "EXPIRED")
                for ev in events[1:]:
                    if ev.own_id != o.order_id:
                        self._own_event(ev)
                    elif ev.kind == "fill":
                        self._fill(o, ev)
        log.info("restored %d orders and %d trades from %s", len(self.orders), len(self.trades), path)
        return True

    # ------------------------------------------------------------------ internals
    def _max_trade_id(self) -> int:
        """Largest trade id handed out (in published units)."""
        return max(self.max_trade_id * TRADE_ID_SPREAD, max((t.trade_id for t in self.trades), default=0))

    def _trade_id(self, sim_trade_id: int) -> int:
        """A unique id per fill: the simulator prints one trade per price level per aggressor, which
        can fill several of our orders; Binance gives every match its own id."""
        base = (sim_trade_id + self.trade_id_offset) * TRADE_ID_SPREAD
        k = self._print_fills.get(base, 0) + 1
        if k >= TRADE_ID_SPREAD:
            raise RuntimeError("more fills in one simulated print than trade ids reserved for it")
        if len(self._print_fills) > 50_000:  # prints that old will not fill anything again
            self._print_fills.clear()
        self._print_fills[base] = k
        return base + k

    def _check_symbol(self, p: dict[str, str]) -> None:
        sym = p.get("symbol")
        if not sym:
            raise E.missing("symbol")
        if sym.upper() != self.symbol:
            raise E.BinanceError(E.BAD_SYMBOL, "Invalid symbol.")

    def _orders_for_cid(self, api_key: str, cid: str) -> list[Order]:
        return [self.orders[i] for i in self.orders_by_cid.get((api_key, cid), [])]

    def _find(self, api_key: str, p: dict[str, str]) -> Order | None:
        if p.get("orderId"):
            order = self.orders.get(int(p["orderId"]))
            return order if order is not None and order.api_key == api_key else None
        cid = p.get("origClientOrderId")
        if not cid:
            raise E.missing("orderId")
        found = self._orders_for_cid(api_key, cid)
        return found[-1] if found else None

    def _px(self, price: float) -> Decimal:
        return Decimal(round(price / self.spec.tick_size)) * self.tick

    def _qty(self, qty: float) -> Decimal:
        return Decimal(round(qty / self.spec.lot_size)) * self.lot

    def _move(self, acct: Account, asset: str, amount: Decimal, to_locked: bool) -> None:
        src, dst = (acct.free, acct.locked) if to_locked else (acct.locked, acct.free)
        src[asset] = src.get(asset, Decimal(0)) - amount
        dst[asset] = dst.get(asset, Decimal(0)) + amount

    def _own_event(self, ev: OwnEvent) -> None:
        order = self.orders.get(ev.own_id)
        if order is None or not order.is_open:
            return
        if ev.kind == "fill":
            self._fill(order, ev)
        elif ev.kind == "canceled":
            self._close(order, "EXPIRED")
        self._balance_update(self.accounts[order.api_key])

    def _fill(self, order: Order, ev: OwnEvent) -> OwnTrade:
        acct = self.accounts[order.api_key]
        price, qty = self._px(ev.price), self._qty(ev.qty)
        is_maker = ev.liquidity == "maker"
        rate = self.maker_rate if is_maker else self.taker_rate
        notional = price * qty
        if order.side == "SELL":
            fee, fee_asset = (notional * rate).quantize(EIGHT, ROUND_UP), self.quote
            acct.locked[self.base] = acct.locked.get(self.base, Decimal(0)) - qty
            acct.free[self.quote] = acct.free.get(self.quote, Decimal(0)) + notional - fee
        else:
            fee, fee_asset = (qty * rate).quantize(EIGHT, ROUND_UP), self.base
            held = order.price * qty if order.type != "MARKET" else min(notional, order.reserved_quote)
            acct.locked[self.quote] = acct.locked.get(self.quote, Decimal(0)) - held
            order.reserved_quote -= held
            acct.free[self.quote] = acct.free.get(self.quote, Decimal(0)) + held - notional
            acct.free[self.base] = acct.free.get(self.base, Decimal(0)) + qty - fee
        order.executed += qty
        order.cum_quote += notional
        order.update_ms = self.now_ms()
        order.status = "FILLED" if order.executed >= order.orig_qty else "PARTIALLY_FILLED"
        trade = OwnTrade(
            self._trade_id(ev.trade_id),
            order.order_id,
            order.api_key,
            order.side,
            price,
            qty,
            fee,
            fee_asset,
            order.update_ms,
            is_maker,
        )
        self.trades.append(trade)
        self.dirty = True
        if order.status == "FILLED":
            self._release(order)
        self.listeners.user(order.api_key, self._report(order, "TRADE", trade))
        return trade

    def _close(self, order: Order, status: str, cancel_cid: str = "") -> None:
        order.status = status
        order.update_ms = self.now_ms()
        self._release(order)
        self.dirty = True
        self.listeners.user(order.api_key, self._report(order, status, cancel_cid=cancel_cid))

    def _release(self, order: Order) -> None:
        acct = self.accounts[order.api_key]
        if order.side == "SELL":
            self._move(acct, self.base, order.leaves if order.status != "FILLED" else Decimal(0), to_locked=False)
        else:
            self._move(acct, self.quote, order.reserved_quote, to_locked=False)
            order.reserved_quote = Decimal(0)

    def _balance_update(self, acct: Account) -> None:
        self.listeners.user(
            acct.api_key,
            {
                "e": "outboundAccountPosition",
                "E": self.now_ms(),
                "u": self.now_ms(),
                "B": [
                    {"a": a, "f": fmt(acct.free.get(a, Decimal(0))), "l": fmt(acct.locked.get(a, Decimal(0)))}
                    for a in (self.base, self.quote)
                ],
            },
        )

    def _report(self, o: Order, exec_type: str, trade: OwnTrade | None = None, cancel_cid: str = "") -> dict[str, Any]:
        t_ms = o.update_ms
        return {
            "e": "executionReport",
            "E": t_ms,
            "s": self.symbol,
            "c": cancel_cid or o.client_id,
            "S": o.side,
            "o": o.type,
            "f": o.tif or "GTC",
            "q": fmt(o.orig_qty),
            "p": fmt(o.price),
            "P": "0.00000000",
            "F": "0.00000000",
            "g": -1,
            "C": o.client_id if cancel_cid else "",
            "x": exec_type,
            "X": o.status,
            "r": "NONE",
            "i": o.order_id,
            "l": fmt(trade.qty if trade else Decimal(0)),
            "z": fmt(o.executed),
            "L": fmt(trade.price if trade else Decimal(0)),
            "n": fmt(trade.commission if trade else Decimal(0)),
            "N": trade.commission_asset if trade else None,
            "T": t_ms,
            "t": trade.trade_id if trade else -1,
            "I": o.order_id,
            "w": o.is_open,
            "m": trade.is_maker if trade else False,
            "M": False,
            "O": o.time_ms,
            "Z": fmt(o.cum_quote),
            "Y": fmt(trade.price * trade.qty if trade else Decimal(0)),
            "Q": "0.00000000",
            "W": o.time_ms,
            "V": "NONE",
        }


def _dec(text: str, name: str) -> Decimal:
    bad = E.BinanceError(E.MANDATORY_PARAM_EMPTY_OR_MALFORMED, f"Illegal characters found in parameter '{name}'.")
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise bad from None
    if not value.is_finite() or value <= 0:
        raise bad
    return value


def _reject_error(reason: str) -> E.BinanceError:
    return {
        "post_only_would_cross": E.BinanceError(E.NEW_ORDER_REJECTED, E.MSG_WOULD_TAKE),
        "bad_tick": E.filter_failure("PRICE_FILTER"),
        "bad_lot": E.filter_failure("LOT_SIZE"),
        "min_notional": E.filter_failure("NOTIONAL"),
        "price_band": E.filter_failure("PERCENT_PRICE_BY_SIDE"),
        "venue_down": E.BinanceError(E.NEW_ORDER_REJECTED, E.MSG_MARKET_CLOSED),
        "duplicate_client_id": E.BinanceError(E.NEW_ORDER_REJECTED, E.MSG_DUPLICATE),
    }.get(reason, E.BinanceError(E.NEW_ORDER_REJECTED, f"Order rejected by the matching engine ({reason})."))
