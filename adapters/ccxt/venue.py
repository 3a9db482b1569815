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
from decimal import Decimal
from typing import Any, TypeVar

from adapters.ccxt.balances import Balances
from adapters.ccxt.book_sync import BookAudit, BookSync
from adapters.ccxt.callbacks import CallbackRelay
from adapters.ccxt.config import CcxtVenueConfig
from adapters.ccxt.errors import short
from adapters.ccxt.health import VenueHealth
from adapters.ccxt.order_entry import OrderEntry
from adapters.ccxt.order_tracker import VENUE_STATUS, OrderTracker, Track
from adapters.ccxt.reconcile import OrderView
from adapters.ccxt.session import ExchangeSession
from adapters.ccxt.tasks import TaskRunner, loop_running
from adapters.ccxt.trade_stream import TradeStream
from adapters.secrets.store import ApiCredentials, SecretStore
from core.events import BookUpdate
from core.orders import ChildOrder, Fill, OrderStatus
from core.ports import Balance, VenueCallbacks, VenueOrderReport
from core.types import VenueInstrument

log = logging.getLogger(__name__)
T = TypeVar("T")


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
        self._tracker = OrderTracker(config.name, self._session, self._engine, view, self.stats)
        self._orders = OrderEntry(config, self._session, self._tracker, self._engine, self._runner, self.stats)
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
        self._orders.submit(order)

    def cancel(self, order: ChildOrder) -> None:
        self._orders.cancel(order.client_id, order.instrument.symbol, order.venue_order_id)

    def cancel_all(self, symbol: str) -> None:
        self._orders.cancel_all(symbol)

    def cancel_by_id(self, symbol: str, client_id: str, venue_order_id: str) -> None:
        self._orders.cancel(client_id, symbol, venue_order_id)

    def open_orders(self, symbol: str) -> list[VenueOrderReport]:
        """Our open orders at the venue: fresh from the exchange when called outside the loop,
        else as last known from the user stream and reconciliation."""
        if not loop_running():
            return self._runner.run_blocking(self._fetch_open_reports(symbol))
        return self._tracker.open_reports(symbol)

    def fills_since(self, symbol: str, since_ts: float) -> list[Fill]:
        if not loop_running():
            return self._runner.run_blocking(self._fetch_fills(symbol, since_ts))
        return self._tracker.fills_since(symbol, since_ts)

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
    def orphans(self) -> dict[str, VenueOrderReport]:
        """Orders open at the venue that our journal does not know (cancel them with `cancel_by_id`)."""
        return self._tracker.orphans

    @property
    def _tracks(self) -> dict[str, Track]:  # read by the connectivity tests
        return self._tracker.tracks

    @property
    def _fills(self) -> collections.deque[Fill]:  # read by the connectivity tests
        return self._tracker.fills

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
                await self._tracker.apply_order(info)
            for cid in [c for c in self._tracker.open_client_ids(symbol) if c not in open_cids]:
                self._tracker.forget_open(cid)
            summary["open_at_venue"] += len(open_cids)
            if self.view is not None:
                for child in self.view.open_children(self.name):
                    if child.instrument.symbol != symbol:
                        continue
                    cid = child.client_id
                    track = self._tracker.tracks.get(cid)
                    if cid in open_cids:
                        if child.status is OrderStatus.PENDING_CANCEL:
                            summary["recanceled"] += 1
                            self._runner.spawn(self._orders.send_cancel(cid, symbol, child.venue_order_id))
                        continue
                    if track is not None and track.submitted is not None and not track.submitted.is_set():
                        continue  # our own submit is still in flight in this process
                    if track is not None and track.settling:
                        continue
                    summary["resolved"] += 1
                    track = self._tracker.track(cid, child.venue_order_id, symbol, child.side.name)
                    if child.status is OrderStatus.PENDING_NEW:
                        self._engine.on_timeout(cid)  # sent or not, we cannot know: UNKNOWN until the exchange says
                    self._runner.spawn(
                        self._orders.settle(track, f"open in our journal, not open at the venue ({reason})")
                    )
            if watermark is not None:
                summary["fills_swept"] += await self._sweep_trades(symbol, watermark)
        account = await self._session.rest(ex.fetch_balance)
        self._balances.from_account(account.get("info") or {})
        summary["orphans"] = len(self._tracker.orphans)
        summary["duration_ms"] = round((time.monotonic() - t0) * 1000, 1)
        self.stats["reconciliations"] += 1
        self.last_reconcile = summary
        if self._tracker.orphans:
            log.warning(
                "venue %s: %d orphan order(s) at the venue: %s",
                self.name,
                len(self._tracker.orphans),
                ", ".join(sorted(self._tracker.orphans)),
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
                cid = self._tracker.client_id_of(vid) or (
                    self.view.client_id_for(self.name, vid) if self.view else None
                )
                if cid is None:
                    try:
                        order = await self._session.rest(ex.fetch_order, vid, symbol)
                        cid = str((order.get("info") or {}).get("clientOrderId"))
                    except Exception as exc:
                        log.warning(
                            "venue %s: trade %s of unknown order %s (%s)", self.name, row.get("id"), vid, short(exc)
                        )
                        continue
                track = self._tracker.track(cid, vid, symbol, "BUY" if row.get("isBuyer") else "SELL")
                before = len(track.trade_ids)
                self._tracker.apply_trade_row(track, row)
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
                track = self._tracker.tracks.get(child.client_id)
                if track is not None and (track.settling or (track.submitted and not track.submitted.is_set())):
                    continue
                if now - child.created_ts < self.config.request_timeout_s:
                    continue
                if child.status is OrderStatus.UNKNOWN:
                    self._runner.spawn(
                        self._orders.settle(
                            self._tracker.track(
                                child.client_id, child.venue_order_id, child.instrument.symbol, child.side.name
                            ),
                            "stuck UNKNOWN",
                        )
                    )
                else:
                    self.stats["recancel_stuck"] += 1
                    self._runner.spawn(
                        self._orders.query_and_apply(
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
                    await self._tracker.apply_report(order.get("info") or {}, trades)
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
                    VENUE_STATUS.get(str(info.get("status")), OrderStatus.NEW),
                    Decimal(str(info.get("executedQty", "0"))),
                    int(info.get("updateTime") or 0) / 1000,
                )
            )
        return out

    async def _fetch_fills(self, symbol: str, since_ts: float) -> list[Fill]:
        before = len(self._tracker.fills)
        await self._session.exchange_ready()
        await self._sweep_trades(symbol, since_ts)
        return [f for f in list(self._tracker.fills)[before:] if f.venue_ts >= since_ts]
