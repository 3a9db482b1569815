"""`CcxtVenue`: a `core.ports.Venue` over ccxt's async REST API and ccxt.pro websockets.

What it guarantees the engine:

- **Books** come from ccxt.pro's Binance diff-depth recipe (REST snapshot, buffered diffs,
  ``U``/``u`` continuity). Every applied diff is audited here: a diff whose ``U`` is not the
  previous ``u + 1`` is never applied — ccxt raises, we count a gap, publish an empty book (so no
  decision uses a stale one) and resubscribe, which takes a fresh snapshot.
- **Orders** go out with our deterministic client ids (``newClientOrderId``). A new order with no
  answer within ``ack_timeout_s`` is reported as a timeout — the OMS makes it UNKNOWN, never
  rejected — and is settled by asking the exchange for that client id. A refusal the exchange
  states is a reject with our `RejectReason`. A cancel never overtakes its own order's submit.
- **Fills** arrive from the user stream, from order answers and from reconciliation; each
  venue trade id is delivered once by this venue, and the OMS dedupes again by trade id.
- **Reconciliation** runs on every (re)connect of the user stream: open orders at the venue,
  every child our OMS holds open (UNKNOWN and PENDING_NEW ones resolved by query, PENDING_CANCEL
  ones canceled again), fills since the last moment the stream was known good, balances.
  Orders the venue has and we do not are reported (the OMS raises an alert) and kept in
  `orphans` for `cancel_by_id`.
- **Rate limits**: ccxt's limiter is on; a 429/418 blocks every REST call of this venue until
  the exchange's Retry-After has passed (no request is sent while told to back off).
- **Clock**: the offset to the exchange is measured at connect and every minute; signing uses
  the exchange's time, and an offset beyond half the ``recvWindow`` is logged as a warning and
  reported on the venue status.

Callbacks are invoked on the engine's asyncio loop. Without a running loop (the standalone
``kill`` command) the order-entry methods run to completion synchronously on a private loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from adapters.ccxt.balances import Balances
from adapters.ccxt.book_sync import BookAudit, BookSync
from adapters.ccxt.callbacks import CallbackRelay
from adapters.ccxt.config import CcxtVenueConfig
from adapters.ccxt.errors import is_indeterminate, is_not_found, is_rate_limit, reject_reason, short
from adapters.ccxt.health import VenueHealth
from adapters.ccxt.reconcile import OrderView
from adapters.ccxt.session import ExchangeSession
from adapters.ccxt.tasks import TaskRunner, loop_running
from adapters.ccxt.trade_stream import TradeStream
from adapters.secrets.store import ApiCredentials, SecretStore
from core.events import BookUpdate
from core.orders import ChildOrder, Fill, Liquidity, OrderStatus, TimeInForce
from core.ports import Balance, RejectReason, VenueCallbacks, VenueOrderReport
from core.types import Side, VenueInstrument

log = logging.getLogger(__name__)
T = TypeVar("T")

_STATUS = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
_RANK = {
    OrderStatus.NEW: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELED: 3,
    OrderStatus.EXPIRED: 3,
    OrderStatus.REJECTED: 3,
}


@dataclass(slots=True)
class _Track:
    """What this venue knows about one of our orders (the in-flight tracker)."""

    client_id: str
    symbol: str
    side: Side | None = None
    venue_order_id: str = ""
    status: OrderStatus | None = None  # last status reported to the engine
    acked: bool = False
    filled: Decimal = Decimal(0)  # sum of the fills delivered
    trade_ids: set[str] = field(default_factory=set)
    submitted: asyncio.Event | None = None  # set once our submit has an answer (or was settled)
    settling: bool = False


class CcxtVenue:
    def __init__(
        self,
        config: CcxtVenueConfig,
        credentials: ApiCredentials | None = None,
        secret_store: SecretStore | None = None,
        view: OrderView | None = None,
        exchange_factory: Callable[[CcxtVenueConfig, ApiCredentials], Any] | None = None,
    ) -> None:
        self.name = config.name
        self.config = config
        self.view = view
        self.stats: collections.Counter[str] = collections.Counter()
        self._engine = CallbackRelay()
        self._runner = TaskRunner(config.name, at_exit=self.close_blocking)
        self._health = VenueHealth(config.symbols, self._engine)
        self._balances = Balances(config.name)
        self._session = ExchangeSession(
            config,
            credentials,
            secret_store,
            exchange_factory,
            self._runner,
            self._health,
            self._engine,
            self._balances,
            self.stats,
        )
        self._tracks: dict[str, _Track] = {}
        self._vid_to_cid: dict[str, str] = {}
        self._venue_open: dict[str, VenueOrderReport] = {}
        self._open_symbol: dict[str, str] = {}
        self._fills: collections.deque[Fill] = collections.deque(maxlen=50_000)
        self.orphans: dict[str, VenueOrderReport] = {}
        self._books = BookSync(config, self._session, self._health, self._engine, self._runner, self.stats)
        self._trades = TradeStream(config, self._session, self._engine, self._runner)
        self.last_reconcile: dict[str, Any] = {}

    # ================================================================== the Venue port
    def instrument(self, symbol: str) -> VenueInstrument:
        inst = self._session.instruments.get(symbol)
        if inst is None:
            raise ValueError(
                f"venue {self.name}: no instrument {symbol} (connected: {bool(self._session.instruments)}; "
                f"configured symbols: {', '.join(self.config.symbols)})"
            )
        return inst

    def connect(self, callbacks: VenueCallbacks) -> None:
        """Start connecting on the running loop; `wait_ready()` awaits the first reconciliation."""
        self._engine.attach(callbacks)
        self._runner.spawn(self._supervise())

    @property
    def is_up(self) -> bool:
        return self._health.is_up

    def submit(self, order: ChildOrder) -> None:
        track = self._tracks.get(order.client_id)
        if track is None:
            track = _Track(order.client_id, order.instrument.symbol, order.side)
            self._tracks[order.client_id] = track
        track.submitted = asyncio.Event()
        self._runner.dispatch(self._submit(order, track))

    def cancel(self, order: ChildOrder) -> None:
        self._runner.dispatch(self._cancel(order.client_id, order.instrument.symbol, order.venue_order_id))

    def cancel_all(self, symbol: str) -> None:
        self._runner.dispatch(self._cancel_all(symbol))

    def cancel_by_id(self, symbol: str, client_id: str, venue_order_id: str) -> None:
        self._runner.dispatch(self._cancel(client_id, symbol, venue_order_id))

    def open_orders(self, symbol: str) -> list[VenueOrderReport]:
        """Our open orders at the venue: fresh from the exchange when called outside the loop,
        else as last known from the user stream and reconciliation."""
        if not loop_running():
            return self._runner.run_blocking(self._fetch_open_reports(symbol))
        return [r for cid, r in self._venue_open.items() if self._open_symbol.get(cid) == symbol]

    def fills_since(self, symbol: str, since_ts: float) -> list[Fill]:
        if not loop_running():
            return self._runner.run_blocking(self._fetch_fills(symbol, since_ts))
        return [f for f in self._fills if f.venue_ts >= since_ts and self._fill_symbol(f) == symbol]

    def balances(self) -> dict[str, Balance]:
        return self._balances.snapshot()

    def depth_snapshot(self, symbol: str, levels: int) -> BookUpdate:
        """The local book to `levels` deep (at most `snapshot_limit`: deeper levels are not kept in
        sync); fresh from the exchange's REST depth when called outside the loop. An empty book
        while the local one is resynchronising."""
        if not loop_running():
            return self._runner.run_blocking(self._books.fetch_depth(symbol, levels))
        return self._books.local_snapshot(symbol, levels)

    # ================================================================== lifecycle
    async def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Until markets are loaded, the user stream is subscribed and reconciled, books are synced."""
        assert self._engine.attached, "connect() first"
        deadline = time.monotonic() + timeout_s
        await asyncio.wait_for(self._health.ready.wait(), timeout_s)
        while not self.is_up:
            if time.monotonic() > deadline:
                raise TimeoutError(f"venue {self.name} not up after {timeout_s} s: {self.status_detail()}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        await self._runner.stop()
        await self._session.close()

    def close_blocking(self) -> None:
        self._runner.close_private_loop(self.close)

    def status_detail(self) -> str:
        return self._health.detail()

    @property
    def clock_offset_ms(self) -> float:
        """The exchange's clock minus ours, ms (NaN until measured)."""
        return self._health.clock_offset_ms

    @property
    def clock_rtt_ms(self) -> float:
        return self._health.clock_rtt_ms

    @property
    def clock_alert(self) -> bool:
        return self._health.clock_alert

    @property
    def book_audit(self) -> dict[str, BookAudit]:
        """Per symbol: diffs applied, gaps, resyncs and continuity breaks (must stay 0)."""
        return self._books.audit

    @property
    def _books_synced(self) -> dict[str, bool]:  # read by the connectivity tests
        return self._health.books_synced

    @property
    def _ex(self) -> Any:  # the ccxt client, read by the connectivity tests
        return self._session.ex

    # ================================================================== connection supervisor
    async def _supervise(self) -> None:
        await self._session.open()
        self._books.install_audit()
        self._runner.spawn(self._user_loop())
        self._runner.spawn(self._balance_loop())
        self._runner.spawn(self._session.run_clock())
        self._runner.spawn(self._settle_loop())
        for symbol in self.config.symbols:
            self._runner.spawn(self._books.run(symbol))
            self._runner.spawn(self._trades.run(symbol))

    # ================================================================== orders out
    async def _submit(self, order: ChildOrder, track: _Track) -> None:
        cid = order.client_id
        try:
            await self._session.wait_for_markets(self.config.ack_timeout_s)
        except TimeoutError:
            self._reject(track, RejectReason.VENUE_DOWN, "venue not connected; order not sent")
            return
        ex = self._session.ex
        inst = self._session.instruments.get(order.instrument.symbol)
        if inst is not None:  # ccxt would silently round an off-grid price or size: refuse it instead
            if order.price is not None and order.price % inst.tick_size != 0:
                self._reject(track, RejectReason.BAD_TICK, f"price {order.price} is off the {inst.tick_size} tick")
                self._mark_submitted(track)
                return
            if order.quantity % inst.lot_size != 0:
                self._reject(track, RejectReason.BAD_LOT, f"quantity {order.quantity} is off the {inst.lot_size} lot")
                self._mark_submitted(track)
                return
        params: dict[str, Any] = {"newClientOrderId": cid}
        if order.tif is TimeInForce.POST_ONLY:
            params["postOnly"] = True
        elif order.price is not None:
            params["timeInForce"] = "IOC" if order.tif is TimeInForce.IOC else "GTC"
        call = asyncio.ensure_future(
            self._session.rest(
                ex.create_order,
                order.instrument.symbol,
                "market" if order.price is None else "limit",
                "buy" if order.side is Side.BUY else "sell",
                str(order.quantity),
                None if order.price is None else str(order.price),
                params,
            )
        )
        self.stats["orders_sent"] += 1
        try:
            try:
                response = await asyncio.wait_for(asyncio.shield(call), self.config.ack_timeout_s)
            except TimeoutError:
                self.stats["ack_timeouts"] += 1
                if not track.acked:  # the user stream may have acked it already
                    log.warning(
                        "venue %s: no ack for %s within %.1f s: UNKNOWN until settled",
                        self.name,
                        cid,
                        self.config.ack_timeout_s,
                    )
                    self._engine.on_timeout(cid)
                response = await call  # ccxt's own timeout bounds this wait
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_indeterminate(exc):
                if not track.acked and track.status is None and not track.settling:
                    self._engine.on_timeout(cid)
                self._runner.spawn(self._settle(track, f"submit failed: {short(exc)}"))
            else:
                self._reject(track, reject_reason(exc), short(exc))
            self._mark_submitted(track)
            return
        self._mark_submitted(track)
        await self._apply_order(response.get("info") or {}, rest_fills=True)

    def _mark_submitted(self, track: _Track) -> None:
        if track.submitted is not None:
            track.submitted.set()

    async def _cancel(self, cid: str, symbol: str, venue_order_id: str) -> None:
        track = self._tracks.get(cid)
        if track is not None and track.submitted is not None and not track.submitted.is_set():
            await track.submitted.wait()  # a cancel never overtakes its own order
        ex = await self._session.exchange_ready()
        vid = venue_order_id or (track.venue_order_id if track else "")
        params = {} if vid else {"origClientOrderId": cid}
        try:
            response = await self._session.rest(ex.cancel_order, vid or None, symbol, params)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_not_found(exc):
                await self._query_and_apply(cid, symbol, still_open_reason="cancel refused: order not open")
            elif is_indeterminate(exc) or is_rate_limit(exc):
                await self._query_and_apply(cid, symbol, still_open_reason=f"cancel failed: {short(exc)}")
            else:
                self._engine.on_cancel_reject(cid, reject_reason(exc))
            return
        self.stats["cancels"] += 1
        await self._apply_order(response.get("info") or {})

    async def _cancel_all(self, symbol: str) -> None:
        ex = await self._session.exchange_ready()
        try:
            rows = await self._session.rest(ex.cancel_all_orders, symbol)
        except Exception as exc:
            if is_not_found(exc):
                return  # nothing open
            log.warning("venue %s: cancel-all %s failed: %s", self.name, symbol, short(exc))
            return
        for row in rows:
            await self._apply_order(row.get("info") or {})

    async def _query_and_apply(self, cid: str, symbol: str, still_open_reason: str = "") -> None:
        """Ask the exchange about one order and apply what it says; 'does not exist' → NOT_FOUND."""
        ex = await self._session.exchange_ready()
        try:
            order = await self._session.rest(ex.fetch_order, None, symbol, {"origClientOrderId": cid})
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_not_found(exc):
                self._engine.on_cancel_reject(cid, RejectReason.NOT_FOUND)
                self._forget_open(cid)
            elif still_open_reason:
                self._engine.on_cancel_reject(cid, f"{still_open_reason} ({short(exc)})")
            return
        info = order.get("info") or {}
        await self._apply_order(info)
        if still_open_reason and info.get("status") in ("NEW", "PARTIALLY_FILLED"):
            self._engine.on_cancel_reject(cid, still_open_reason)

    async def _settle(self, track: _Track, why: str) -> None:
        """An order whose fate is unknown: ask until the exchange says. 'Does not exist' twice,
        `unknown_grace_s` apart, means it never reached the matching engine."""
        if track.settling:
            return
        track.settling = True
        self.stats["settling"] += 1
        delay, not_found = 0.2, 0
        try:
            while not self._runner.closed:
                await asyncio.sleep(delay)
                try:
                    ex = await self._session.exchange_ready()
                    order = await self._session.rest(
                        ex.fetch_order, None, track.symbol, {"origClientOrderId": track.client_id}
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if is_not_found(exc):
                        not_found += 1
                        if not_found >= 2:
                            log.info("venue %s: %s never reached the exchange (%s)", self.name, track.client_id, why)
                            self.stats["settled_not_found"] += 1
                            track.status = OrderStatus.REJECTED
                            self._engine.on_cancel_reject(track.client_id, RejectReason.NOT_FOUND)
                            return
                        delay = self.config.unknown_grace_s
                    else:
                        delay = min(max(delay, 0.2) * 2, self.config.reconnect_max_s)
                    continue
                self.stats["settled_found"] += 1
                await self._apply_order(order.get("info") or {})
                return
        finally:
            track.settling = False

    def _reject(self, track: _Track, reason: str, detail: str) -> None:
        log.info("venue %s: %s rejected: %s (%s)", self.name, track.client_id, reason, detail)
        self.stats["rejects"] += 1
        track.status = OrderStatus.REJECTED
        self._engine.on_order(
            VenueOrderReport(track.client_id, "", OrderStatus.REJECTED, Decimal(0), time.time(), reason)
        )

    # ================================================================== state from the exchange
    async def _apply_order(self, info: dict[str, Any], rest_fills: bool = False) -> None:
        """A REST order object (create/query/cancel/openOrders answer)."""
        if not info or "orderId" not in info:
            return
        cid = str(info.get("origClientOrderId") or info.get("clientOrderId") or "")
        vid = str(info["orderId"])
        symbol = self._session.symbol_of(str(info.get("symbol"))) or str(info.get("symbol"))
        track = self._track(cid, vid, symbol, info.get("side"))
        ts = int(info.get("updateTime") or info.get("transactTime") or info.get("time") or time.time() * 1000) / 1000
        status = _STATUS.get(str(info.get("status")))
        self._ack(track, status, ts)
        if rest_fills:
            for f in info.get("fills") or []:
                self._deliver(
                    track,
                    self._fill(
                        track,
                        str(f["tradeId"]),
                        Decimal(f["price"]),
                        Decimal(f["qty"]),
                        Liquidity.TAKER,
                        Decimal(f["commission"]),
                        str(f["commissionAsset"]),
                        ts,
                    ),
                )
        await self._sync(track, status, Decimal(str(info.get("executedQty", "0"))), ts)

    async def _apply_report(self, info: dict[str, Any], trade_infos: list[dict[str, Any]]) -> None:
        """A user-stream executionReport (the latest for its order) and the TRADE reports seen."""
        if info.get("e") != "executionReport":
            return
        x = info.get("x")
        cid = str(info["C"]) if x == "CANCELED" and info.get("C") else str(info.get("c"))
        vid = str(info["i"])
        symbol = self._session.symbol_of(str(info.get("s"))) or str(info.get("s"))
        track = self._track(cid, vid, symbol, info.get("S"))
        status = _STATUS.get(str(info.get("X")))
        ts = int(info.get("T") or info.get("E") or time.time() * 1000) / 1000
        self._ack(track, status, ts)
        for t in [*trade_infos, info]:
            if t.get("x") == "TRADE" and str(t.get("i")) == vid:
                self._deliver(
                    track,
                    self._fill(
                        track,
                        str(t["t"]),
                        Decimal(t["L"]),
                        Decimal(t["l"]),
                        Liquidity.MAKER if t.get("m") else Liquidity.TAKER,
                        Decimal(t.get("n") or "0"),
                        str(t.get("N") or self._quote(symbol)),
                        int(t["T"]) / 1000,
                    ),
                )
        reason = str(info.get("r") or "") if info.get("X") == "REJECTED" else ""
        await self._sync(track, status, Decimal(str(info.get("z", "0"))), ts, reason)

    async def _sync(
        self, track: _Track, status: OrderStatus | None, cum_filled: Decimal, ts: float, reason: str = ""
    ) -> None:
        """Report a venue state to the engine: ack first, fills before the terminal state,
        never backwards (a late NEW after FILLED is dropped)."""
        if status is None:
            return
        cid, vid = track.client_id, track.venue_order_id
        self._ack(track, status, ts)
        if cum_filled > track.filled:
            await self._fetch_order_fills(track)
        if status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
            self._venue_open[cid] = VenueOrderReport(cid, vid, status, cum_filled, ts)
            self._open_symbol[cid] = track.symbol
            if self.view is not None and not self.view.knows(cid) and cid not in self.orphans:
                self.orphans[cid] = self._venue_open[cid]
                log.warning(
                    "venue %s: orphan order %s (%s) — not in our journal; cancelable with cancel_by_id",
                    self.name,
                    cid,
                    vid,
                )
        else:
            self._forget_open(cid)
        current = _RANK.get(track.status, 0) if track.status is not None else 0
        if current >= 3 or _RANK[status] <= current:
            return
        track.status = status
        self._engine.on_order(VenueOrderReport(cid, vid, status, cum_filled, ts, reason))

    def _ack(self, track: _Track, status: OrderStatus | None, ts: float) -> None:
        """The first thing the engine hears about a live order is its ack (then fills, then the end)."""
        if track.acked or status is None or status is OrderStatus.REJECTED:
            return
        track.acked = True
        self._engine.on_order(
            VenueOrderReport(track.client_id, track.venue_order_id, OrderStatus.NEW, track.filled, ts)
        )
        if track.status is None:
            track.status = OrderStatus.NEW

    async def _fetch_order_fills(self, track: _Track) -> None:
        """The trades of one order (when the venue says more is filled than we have seen)."""
        if not track.venue_order_id:
            return
        try:
            ex = await self._session.exchange_ready()
            trades = await self._session.rest(
                ex.fetch_my_trades, track.symbol, None, 1000, {"orderId": track.venue_order_id}
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "venue %s: fills of %s not fetched (%s); the next reconciliation applies them",
                self.name,
                track.client_id,
                short(exc),
            )
            return
        for t in trades:
            self._deliver_rest_trade(track, t.get("info") or {})

    def _deliver_rest_trade(self, track: _Track, row: dict[str, Any]) -> None:
        self._deliver(
            track,
            self._fill(
                track,
                str(row["id"]),
                Decimal(row["price"]),
                Decimal(row["qty"]),
                Liquidity.MAKER if row.get("isMaker") else Liquidity.TAKER,
                Decimal(row.get("commission") or "0"),
                str(row.get("commissionAsset") or self._quote(track.symbol)),
                int(row["time"]) / 1000,
                Side.BUY if row.get("isBuyer") else Side.SELL,
            ),
        )

    def _fill(
        self,
        track: _Track,
        trade_id: str,
        price: Decimal,
        qty: Decimal,
        liquidity: Liquidity,
        fee: Decimal,
        fee_ccy: str,
        venue_ts: float,
        side: Side | None = None,
    ) -> Fill:
        return Fill(
            track.client_id,
            self.name,
            trade_id,
            track.venue_order_id,
            side or track.side or Side.SELL,
            price,
            qty,
            liquidity,
            fee,
            fee_ccy,
            venue_ts,
            time.time(),
        )

    def _deliver(self, track: _Track, fill: Fill) -> None:
        if fill.venue_trade_id in track.trade_ids:
            return
        track.trade_ids.add(fill.venue_trade_id)
        track.filled += fill.quantity
        self._fills.append(fill)
        self.stats["fills"] += 1
        self._engine.on_fill(fill)

    def _track(self, cid: str, vid: str, symbol: str, side: Any) -> _Track:
        track = self._tracks.get(cid)
        if track is None:
            track = _Track(cid, symbol)
            self._tracks[cid] = track
        if vid and not track.venue_order_id:
            track.venue_order_id = vid
            self._vid_to_cid[vid] = cid
        if track.side is None and side:
            track.side = Side.BUY if str(side).upper() == "BUY" else Side.SELL
        return track

    def _forget_open(self, cid: str) -> None:
        self._venue_open.pop(cid, None)
        self._open_symbol.pop(cid, None)
        self.orphans.pop(cid, None)

    # ================================================================== reconciliation
    async def reconcile(self, reason: str = "requested") -> dict[str, Any]:
        """Bring the engine in line with the exchange (see the module docstring). Returns a summary."""
        t0 = time.monotonic()
        ex = await self._session.exchange_ready()
        summary: dict[str, Any] = {
            "reason": reason,
            "open_at_venue": 0,
            "resolved": 0,
            "fills_swept": 0,
            "orphans": 0,
            "recanceled": 0,
        }
        watermark = self._fill_watermark()
        for symbol in self.config.symbols:
            rows = await self._session.rest(ex.fetch_open_orders, symbol)
            open_cids: set[str] = set()
            for row in rows:
                info = row.get("info") or {}
                open_cids.add(str(info.get("clientOrderId")))
                await self._apply_order(info)
            for cid in [c for c, s in self._open_symbol.items() if s == symbol and c not in open_cids]:
                self._forget_open(cid)
            summary["open_at_venue"] += len(open_cids)
            if self.view is not None:
                for child in self.view.open_children(self.name):
                    if child.instrument.symbol != symbol:
                        continue
                    cid = child.client_id
                    track = self._tracks.get(cid)
                    if cid in open_cids:
                        if child.status is OrderStatus.PENDING_CANCEL:
                            summary["recanceled"] += 1
                            self._runner.spawn(self._cancel(cid, symbol, child.venue_order_id))
                        continue
                    if track is not None and track.submitted is not None and not track.submitted.is_set():
                        continue  # our own submit is still in flight in this process
                    if track is not None and track.settling:
                        continue
                    summary["resolved"] += 1
                    track = self._track(cid, child.venue_order_id, symbol, child.side.name)
                    if child.status is OrderStatus.PENDING_NEW:
                        self._engine.on_timeout(cid)  # sent or not, we cannot know: UNKNOWN until the exchange says
                    self._runner.spawn(self._settle(track, f"open in our journal, not open at the venue ({reason})"))
            if watermark is not None:
                summary["fills_swept"] += await self._sweep_trades(symbol, watermark)
        account = await self._session.rest(ex.fetch_balance)
        self._balances.from_account(account.get("info") or {})
        summary["orphans"] = len(self.orphans)
        summary["duration_ms"] = round((time.monotonic() - t0) * 1000, 1)
        self.stats["reconciliations"] += 1
        self.last_reconcile = summary
        if self.orphans:
            log.warning(
                "venue %s: %d orphan order(s) at the venue: %s",
                self.name,
                len(self.orphans),
                ", ".join(sorted(self.orphans)),
            )
        log.info("venue %s: reconciled (%s)", self.name, summary)
        return summary

    def _fill_watermark(self) -> float | None:
        """Since when fills may be missing: the user stream's last outage, or on the first connect
        the oldest child the OMS still cares about (none: the last 10 minutes)."""
        health = self._health
        if health.reconciled_once and health.user_down_since is not None:
            return health.user_down_since - 5.0
        if health.reconciled_once:
            return None
        if self.view is not None:
            return self.view.fill_watermark(self.name)
        return time.time() - 600.0

    async def _sweep_trades(self, symbol: str, since_ts: float) -> int:
        ex = self._session.ex
        swept = 0
        rows = await self._session.rest(ex.fetch_my_trades, symbol, int(since_ts * 1000), 1000)
        while True:
            for t in rows:
                row = t.get("info") or {}
                vid = str(row.get("orderId"))
                cid = self._vid_to_cid.get(vid) or (self.view.client_id_for(self.name, vid) if self.view else None)
                if cid is None:
                    try:
                        order = await self._session.rest(ex.fetch_order, vid, symbol)
                        cid = str((order.get("info") or {}).get("clientOrderId"))
                    except Exception as exc:
                        log.warning(
                            "venue %s: trade %s of unknown order %s (%s)", self.name, row.get("id"), vid, short(exc)
                        )
                        continue
                track = self._track(cid, vid, symbol, "BUY" if row.get("isBuyer") else "SELL")
                before = len(track.trade_ids)
                self._deliver_rest_trade(track, row)
                swept += len(track.trade_ids) - before
            if len(rows) < 1000:
                return swept
            last_id = int((rows[-1].get("info") or {})["id"])
            rows = await self._session.rest(ex.fetch_my_trades, symbol, None, 1000, {"fromId": last_id + 1})

    async def _settle_loop(self) -> None:
        """Orders stuck in PENDING_CANCEL or UNKNOWN for a while are asked about (REST only; the
        user stream may be fine while a cancel answer was lost)."""
        while not self._runner.closed:
            await asyncio.sleep(max(self.config.unknown_grace_s * 2, 1.0))
            if self.view is None or not self._health.reconciled_once:
                continue
            now = time.time()
            for child in self.view.open_children(self.name):
                if child.status not in (OrderStatus.PENDING_CANCEL, OrderStatus.UNKNOWN):
                    continue
                track = self._tracks.get(child.client_id)
                if track is not None and (track.settling or (track.submitted and not track.submitted.is_set())):
                    continue
                if now - child.created_ts < self.config.request_timeout_s:
                    continue
                if child.status is OrderStatus.UNKNOWN:
                    self._runner.spawn(
                        self._settle(
                            self._track(
                                child.client_id, child.venue_order_id, child.instrument.symbol, child.side.name
                            ),
                            "stuck UNKNOWN",
                        )
                    )
                else:
                    self.stats["recancel_stuck"] += 1
                    self._runner.spawn(
                        self._query_and_apply(
                            child.client_id, child.instrument.symbol, still_open_reason="cancel not confirmed"
                        )
                    )

    # ================================================================== streams
    async def _user_loop(self) -> None:
        delay = self.config.reconnect_min_s
        resubscribed = False
        while not self._runner.closed:
            try:
                ex = self._session.ex
                if not resubscribed:
                    await ex.authenticate({"type": "spot"})
                    self._health.mark_user_stream_up()
                    first = not self._health.reconciled_once
                    await self.reconcile("first connect" if first else "user stream reconnected")
                    self._health.mark_reconciled()
                    resubscribed = True
                    delay = self.config.reconnect_min_s
                    self._health.report("user stream subscribed and reconciled")
                orders = await ex.watch_orders()
                for order in orders:
                    trades = [t.get("info") or {} for t in (order.get("trades") or [])]
                    await self._apply_report(order.get("info") or {}, trades)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if resubscribed or self._health.user_up:
                    self.stats["user_stream_drops"] += 1
                    log.warning("venue %s: user stream lost (%s); reconnecting", self.name, short(exc))
                self._health.mark_user_stream_down(time.time())
                resubscribed = False
                self._health.report(f"user stream down: {short(exc)}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_s)

    async def _balance_loop(self) -> None:
        while not self._runner.closed:
            try:
                balance = await self._session.ex.watch_balance()
                self._balances.from_stream(balance.get("info") or {})
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(self.config.reconnect_min_s * 5)

    # ================================================================== helpers
    def _quote(self, symbol: str) -> str:
        return symbol.split("/")[1] if "/" in symbol else ""

    def _fill_symbol(self, fill: Fill) -> str:
        track = self._tracks.get(fill.client_id)
        return track.symbol if track else ""

    async def _fetch_open_reports(self, symbol: str) -> list[VenueOrderReport]:
        ex = await self._session.exchange_ready()
        rows = await self._session.rest(ex.fetch_open_orders, symbol)
        out = []
        for row in rows:
            info = row.get("info") or {}
            out.append(
                VenueOrderReport(
                    str(info.get("clientOrderId")),
                    str(info.get("orderId")),
                    _STATUS.get(str(info.get("status")), OrderStatus.NEW),
                    Decimal(str(info.get("executedQty", "0"))),
                    int(info.get("updateTime") or 0) / 1000,
                )
            )
        return out

    async def _fetch_fills(self, symbol: str, since_ts: float) -> list[Fill]:
        before = len(self._fills)
        await self._session.exchange_ready()
        await self._sweep_trades(symbol, since_ts)
        return [f for f in list(self._fills)[before:] if f.venue_ts >= since_ts]
