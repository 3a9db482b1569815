"""`CcxtVenue`: a `core.ports.Venue` over ccxt's async REST API and ccxt.pro websockets.

This class only assembles the parts (each built here and handed the parts it needs) and answers
the port by delegating to them. What the venue guarantees the engine, and where:

- **Books** (`book_sync`): ccxt.pro's Binance diff-depth recipe, every diff audited; a sequence
  gap is never applied — we publish an empty book (so no decision uses a stale one) and resnapshot;
  a book with no update for ``book_stale_after_s`` is stale: the venue reports down, publishes an
  empty book and resubscribes. A websocket frame ccxt cannot handle fails its connection
  (`ws_guard`), so no stream goes silent behind an "up" venue.
  Public trades: `trade_stream`.
- **Orders** (`order_entry`): our deterministic client ids; no answer within ``ack_timeout_s`` is
  a timeout (UNKNOWN, never rejected), settled by asking the exchange; a refusal the exchange
  states is a reject with our `RejectReason`; a cancel never overtakes its own order's submit.
- **Fills and states** (`order_tracker`): from the user stream, from order answers and from
  reconciliation; ack, then fills, then status; each venue trade id delivered once (the OMS
  dedupes again by trade id).
- **Reconciliation** (`reconcile`) on every (re)connect of the user stream (`user_stream`): open
  orders, every child our OMS holds open, fills since the stream was last known good, balances;
  orders the venue has and we do not are kept in `orphans` for `cancel_by_id`.
- **Rate limits and clock** (`session`): a 429/418 blocks every REST call of this venue until the
  Retry-After has passed; signing uses the exchange's time, an offset beyond half the
  ``recvWindow`` is an alert on the status (`health`).

Callbacks are invoked on the engine's asyncio loop (`callbacks`). Without a running loop (the
standalone ``kill`` command) order entry and the queries run to completion on a private loop
(`tasks`).
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

from adapters.ccxt.balances import Balances
from adapters.ccxt.book_sync import BookAudit, BookSync
from adapters.ccxt.callbacks import CallbackRelay
from adapters.ccxt.config import CcxtVenueConfig
from adapters.ccxt.health import VenueHealth
from adapters.ccxt.order_entry import OrderEntry
from adapters.ccxt.order_tracker import OrderTracker, Track
from adapters.ccxt.reconcile import OrderView, Reconciler
from adapters.ccxt.session import ExchangeFactory, ExchangeSession, make_exchange
from adapters.ccxt.tasks import TaskRunner, loop_running
from adapters.ccxt.trade_stream import TradeStream
from adapters.ccxt.user_stream import UserStream
from adapters.secrets.store import ApiCredentials, SecretStore
from core.events import BookUpdate
from core.orders import ChildOrder, Fill
from core.ports import Balance, VenueCallbacks, VenueOrderReport
from core.types import VenueInstrument

__all__ = ["BookAudit", "CcxtVenue", "make_exchange"]


class CcxtVenue:
    """One exchange account. `credentials`: the keys, else looked up by the config's key reference
    in `secret_store`; `view`: the OMS to reconcile against (None for the standalone kill);
    `exchange_factory`: makes the ccxt client (default `make_exchange`)."""

    def __init__(
        self,
        config: CcxtVenueConfig,
        credentials: ApiCredentials | None = None,
        secret_store: SecretStore | None = None,
        view: OrderView | None = None,
        exchange_factory: ExchangeFactory | None = None,
    ) -> None:
        self.name = config.name
        self.config = config
        self.view = view
        self.stats: collections.Counter[str] = collections.Counter()  # event counts, by name
        engine = self._engine = CallbackRelay()
        runner = self._runner = TaskRunner(config.name, at_exit=self.close_blocking)
        health = self._health = VenueHealth(config.symbols, engine)
        balances = self._balances = Balances(config.name)
        session = self._session = ExchangeSession(
            config, credentials, secret_store, exchange_factory, runner, health, engine, balances, self.stats
        )
        tracker = self._tracker = OrderTracker(config.name, session, engine, view, self.stats)
        orders = self._orders = OrderEntry(config, session, tracker, engine, runner, self.stats)
        reconciler = self._reconciler = Reconciler(
            config, session, tracker, orders, engine, view, health, balances, runner, self.stats
        )
        self._user_stream = UserStream(config, session, tracker, reconciler, health, balances, runner, self.stats)
        self._books = BookSync(config, session, health, engine, runner, self.stats)
        self._trades = TradeStream(config, session, engine, runner)

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
            return self._runner.run_blocking(self._reconciler.fetch_open_reports(symbol))
        return self._tracker.open_reports(symbol)

    def fills_since(self, symbol: str, since_ts: float) -> list[Fill]:
        if not loop_running():
            return self._runner.run_blocking(self._reconciler.fetch_fills(symbol, since_ts))
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

    async def reconcile(self, reason: str = "requested") -> dict[str, Any]:
        """Bring the engine in line with the exchange now (see `adapters.ccxt.reconcile`). Returns a summary."""
        return await self._reconciler.reconcile(reason)

    async def close(self) -> None:
        await self._runner.stop()
        await self._session.close()

    def close_blocking(self) -> None:
        self._runner.close_private_loop(self.close)

    async def _supervise(self) -> None:
        """Load the markets (retrying), then start every stream and the settle loop."""
        await self._session.open()
        self._books.install_audit()
        self._runner.spawn(self._user_stream.run_orders())
        self._runner.spawn(self._user_stream.run_balances())
        self._runner.spawn(self._session.run_clock())
        self._runner.spawn(self._reconciler.run_settle())
        self._runner.spawn(self._books.run_staleness())
        for symbol in self.config.symbols:
            self._runner.spawn(self._books.run(symbol))
            self._runner.spawn(self._trades.run(symbol))

    # ================================================================== what `run` and the tests read
    def status_detail(self) -> str:
        return self._health.detail()

    @property
    def last_reconcile(self) -> dict[str, Any]:
        """The summary of the last reconciliation ({} before the first)."""
        return self._reconciler.last_reconcile

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

    # the connectivity tests also look inside: the client, the tracks, the fills, the book flags
    @property
    def _ex(self) -> Any:
        return self._session.ex

    @property
    def _tracks(self) -> dict[str, Track]:
        return self._tracker.tracks

    @property
    def _fills(self) -> collections.deque[Fill]:
        return self._tracker.fills

    @property
    def _books_synced(self) -> dict[str, bool]:
        return self._health.books_synced

    async def _sweep_trades(self, symbol: str, since_ts: float) -> int:
        return await self._reconciler.sweep_trades(symbol, since_ts)
