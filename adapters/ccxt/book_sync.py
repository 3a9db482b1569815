"""The local L2 book of each symbol, kept in sync with the exchange and audited.

Books follow ccxt.pro's Binance diff-depth recipe: a REST snapshot (``snapshot_limit`` levels),
buffered websocket diffs, and ``U``/``u`` continuity (each diff's first update id must be the
previous diff's last + 1). What this module adds:

- **No decision on a stale book.** A diff that does not continue the previous one is never
  applied: ccxt raises, we count a gap, publish an *empty* book for the symbol and resubscribe,
  which takes a fresh snapshot. A stream error does the same after a back-off
  (``reconnect_min_s`` doubling up to ``reconnect_max_s``); so does a frame ccxt cannot read
  (`ws_guard` fails its connection).
- **A book that stops updating is stale.** A synced book with no update for
  ``book_stale_after_s`` (whatever froze it: trades on their own stream may still flow) is marked
  stale — the venue reports itself down with the reason, the engine gets an empty book, so neither
  the router nor the risk gate's price band will price an order off it — and its connection is
  dropped and resubscribed.
- **An audit that proves it.** ccxt's diff handler is wrapped to count, per symbol, the diffs
  applied, the snapshots the book was rebuilt from, and any diff applied across a gap
  (``continuity_breaks``: must stay 0). The tests and `run`'s summary read `BookAudit`.
- **What the engine receives**: after every diff a `BookUpdate` of the top ``book_levels`` per
  side (prices and sizes as float64 arrays, best first; ``seq`` = the last update id applied);
  `is_snapshot` on the first book after a (re)sync.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass
from typing import Any

import ccxt
import numpy as np

from adapters.ccxt.callbacks import CallbackRelay
from adapters.ccxt.config import CcxtVenueConfig
from adapters.ccxt.errors import short
from adapters.ccxt.health import VenueHealth
from adapters.ccxt.session import ExchangeSession
from adapters.ccxt.tasks import TaskRunner
from adapters.ccxt.ws_guard import drop_connection, forget_dial_backoff, url_watching
from core.events import BookUpdate

log = logging.getLogger(__name__)
_EMPTY = np.empty(0, dtype=np.float64)


@dataclass(slots=True)
class BookAudit:
    """Per symbol: how the local book was kept (the tests read it)."""

    applied: int = 0  # diffs applied
    gaps: int = 0  # sequence gaps detected (each one resnapshotted)
    resyncs: int = 0  # snapshots the book was (re)built from
    continuity_breaks: int = 0  # diffs applied across a gap: must stay 0
    stale: int = 0  # times the book stopped updating for book_stale_after_s (each resubscribed)
    last_update_id: int = 0


class BookSync:
    """The books of one venue's configured symbols (ccxt keeps them in ``ex.orderbooks``)."""

    def __init__(
        self,
        config: CcxtVenueConfig,
        session: ExchangeSession,
        health: VenueHealth,
        engine: CallbackRelay,
        runner: TaskRunner,
        stats: collections.Counter[str],
    ) -> None:
        self.name = config.name
        self.config = config
        self._session = session
        self._health = health
        self._engine = engine
        self._runner = runner
        self._stats = stats
        self.audit: dict[str, BookAudit] = {s: BookAudit() for s in config.symbols}
        self._last_update: dict[str, float] = {}  # monotonic s of each symbol's last book from ccxt

    async def run(self, symbol: str) -> None:
        """Keep `symbol`'s book in sync and publish it after every diff, until the venue closes."""
        delay = self.config.reconnect_min_s
        audit = self.audit[symbol]
        while not self._runner.closed:
            try:
                book = await self._session.ex.watch_order_book(symbol, self.config.snapshot_limit)
            except asyncio.CancelledError:
                raise
            except (ccxt.ChecksumError, ccxt.InvalidNonce) as exc:
                audit.gaps += 1
                self._stats["book_gaps"] += 1
                self._lost(symbol, f"sequence gap ({short(exc)}): resnapshot")
                continue
            except Exception as exc:
                self._stats["book_stream_errors"] += 1
                self._lost(symbol, f"book stream down: {short(exc)}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_s)
                forget_dial_backoff(self._session.ex)  # this loop's back-off is the only one
                continue
            delay = self.config.reconnect_min_s
            self._last_update[symbol] = time.monotonic()
            first = self._health.mark_book_synced(symbol)
            if first:
                self._health.report(f"{symbol} book synced")
            if self._engine.attached:
                self._engine.on_book(book_update(self.name, symbol, book, self.config.book_levels, first))

    async def run_staleness(self) -> None:
        """Mark stale, and resubscribe, every synced book with no update for ``book_stale_after_s``."""
        limit = self.config.book_stale_after_s
        if limit <= 0:
            return
        while not self._runner.closed:
            # wake when the oldest synced book would turn stale (not on a fixed period, which
            # would let a book serve up to one period past the limit)
            now = time.monotonic()
            synced = [s for s in self.config.symbols if self._health.books_synced.get(s, False)]
            due = min((self._last_update.get(s, now) + limit for s in synced), default=now + min(1.0, limit / 4))
            await asyncio.sleep(max(due - now, 0.005))
            now = time.monotonic()
            for symbol in self.config.symbols:
                age = now - self._last_update.get(symbol, now)
                if age >= limit and self._health.books_synced.get(symbol, False):
                    self._stale(symbol, age)

    def local_snapshot(self, symbol: str, levels: int) -> BookUpdate:
        """The local book to `levels` deep (at most `snapshot_limit`: deeper levels are not kept
        in sync); an empty book while it is resynchronising."""
        ex = self._session.ex
        book = ex.orderbooks.get(symbol) if ex is not None else None
        if book is None or not self._health.books_synced.get(symbol, False):
            return empty_book(self.name, symbol)
        return book_update(self.name, symbol, book, min(levels, self.config.snapshot_limit), True)

    async def fetch_depth(self, symbol: str, levels: int) -> BookUpdate:
        """The exchange's REST depth, `levels` deep (at most 5000, the exchange's limit)."""
        ex = await self._session.exchange_ready()
        book = await self._session.rest(ex.fetch_order_book, symbol, min(levels, 5000))
        return book_update(self.name, symbol, book, levels, True)

    def install_audit(self) -> None:
        """Wrap ccxt's diff application to count diffs and prove none is applied across a gap.
        Once, before the first book is watched."""
        ex = self._session.ex
        original = getattr(ex, "handle_order_book_message", None)
        if original is None:
            return

        def audited(client: Any, message: dict[str, Any], orderbook: Any) -> Any:
            symbol = orderbook.get("symbol") or self._session.symbol_of(str(message.get("s"))) or ""
            audit = self.audit.get(symbol)
            prev = orderbook.get("nonce")
            result = original(client, message, orderbook)
            if audit is not None:
                first_id, last_id = int(message.get("U", 0)), int(message.get("u", 0))
                if prev is not None and audit.last_update_id == prev and first_id != prev + 1:
                    audit.continuity_breaks += 1
                elif prev is not None and audit.last_update_id != prev:
                    audit.resyncs += 1  # first diff on a fresh snapshot: U ≤ lastUpdateId+1 ≤ u
                    if not first_id <= prev + 1 <= last_id:
                        audit.continuity_breaks += 1
                audit.applied += 1
                audit.last_update_id = last_id
            return result

        ex.handle_order_book_message = audited

    def _stale(self, symbol: str, age_s: float) -> None:
        self.audit[symbol].stale += 1
        self._stats["book_stale"] += 1
        why = f"{symbol} book stale: no update for {age_s:.1f} s (limit {self.config.book_stale_after_s:g} s)"
        log.warning("venue %s: %s; resubscribing", self.name, why)
        self._lost(symbol, why, stale=True)
        ex = self._session.ex
        url = url_watching(ex, f"orderbook::{symbol}")
        if url is not None:
            drop_connection(ex, url, why)  # the watch raises; run() resubscribes with a fresh snapshot

    def _lost(self, symbol: str, why: str, stale: bool = False) -> None:
        was = self._health.mark_book_stale(symbol) if stale else self._health.mark_book_lost(symbol)
        if was:
            # an empty book, so nothing downstream prices off the stale one while we resync
            self._engine.on_book(empty_book(self.name, symbol))
            log.info("venue %s: %s book lost (%s)", self.name, symbol, why)
            self._health.report(why)


def book_update(venue: str, symbol: str, book: Any, levels: int, is_snapshot: bool) -> BookUpdate:
    """A ccxt order book (``bids``/``asks`` as [price, size] rows, best first) as a `BookUpdate`."""
    bids = np.asarray(book["bids"][:levels], dtype=np.float64).reshape(-1, 2)
    asks = np.asarray(book["asks"][:levels], dtype=np.float64).reshape(-1, 2)
    return BookUpdate(
        time.time(),
        venue,
        symbol,
        int(book.get("nonce") or 0),
        bids[:, 0].copy(),
        bids[:, 1].copy(),
        asks[:, 0].copy(),
        asks[:, 1].copy(),
        is_snapshot,
    )


def empty_book(venue: str, symbol: str) -> BookUpdate:
    return BookUpdate(time.time(), venue, symbol, 0, _EMPTY, _EMPTY, _EMPTY, _EMPTY, True)
