"""The private websocket: our order reports and balance updates as the exchange pushes them.

- **Orders**: subscribe (``authenticate``), reconcile, then apply every ``executionReport`` through
  the `OrderTracker`. The stream counts as up from the subscription; it is lost on any error, and
  then resubscribed after a back-off (``reconnect_min_s`` doubling up to ``reconnect_max_s``) and
  reconciled again, from the moment it was lost (`VenueHealth.user_down_since`), so a fill
  pushed while it was down is swept, not lost.
- **The subscription is bounded and starts clean.** ccxt's ``authenticate`` (Binance spot: a
  signed ``userDataStream.subscribe.signature`` over the WebSocket API) waits for its answer with
  no timeout, and a failed attempt can leave its pending future and flags on a connection that
  stays open, so every later attempt waits on it for ever (ccxt 4.5, ``pro/binance.py``
  ``ensure_user_data_stream_ws_subscribe_signature``: an error answer is handled twice and the
  second ``del client.subscriptions[...]`` raises before the future is rejected). So each
  attempt has ``auth_timeout_s``; on any failure its connection is dropped (`ws_guard`) and the
  next attempt opens a fresh one, dialled at once: ccxt's own dial back-off would sleep between
  signing the request and sending it, and after a long outage (≥ ~20 s) send it outside the
  ``recvWindow`` — that refusal is what hit the double delete.
- **Balances**: ``outboundAccountPosition`` events update `Balances`, watched only while the order
  stream is subscribed (two concurrent subscriptions confuse ccxt: the second returns before the
  first is answered); on an error the watch is retried after ``5 × reconnect_min_s``
  (reconciliation reads the account anyway).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from adapters.ccxt.balances import Balances
from adapters.ccxt.config import CcxtVenueConfig
from adapters.ccxt.errors import short
from adapters.ccxt.health import VenueHealth
from adapters.ccxt.order_tracker import OrderTracker
from adapters.ccxt.reconcile import Reconciler
from adapters.ccxt.session import ExchangeSession
from adapters.ccxt.tasks import TaskRunner
from adapters.ccxt.ws_guard import drop_connection, forget_dial_backoff

log = logging.getLogger(__name__)


class UserStream:
    def __init__(
        self,
        config: CcxtVenueConfig,
        session: ExchangeSession,
        tracker: OrderTracker,
        reconciler: Reconciler,
        health: VenueHealth,
        balances: Balances,
        runner: TaskRunner,
        stats: collections.Counter[str],
    ) -> None:
        self.name = config.name
        self.config = config
        self._session = session
        self._tracker = tracker
        self._reconciler = reconciler
        self._health = health
        self._balances = balances
        self._runner = runner
        self._stats = stats

    async def run_orders(self) -> None:
        """Subscribe, reconcile, apply order reports; resubscribe and reconcile after every loss."""
        delay = self.config.reconnect_min_s
        resubscribed = False
        while not self._runner.closed:
            try:
                ex = self._session.ex
                if not resubscribed:
                    await self._subscribe(ex)
                    self._health.mark_user_stream_up()
                    first = not self._health.reconciled_once
                    await self._reconciler.reconcile("first connect" if first else "user stream reconnected")
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
                    self._stats["user_stream_drops"] += 1
                    log.warning("venue %s: user stream lost (%s); reconnecting", self.name, short(exc))
                self._health.mark_user_stream_down(time.time())
                resubscribed = False
                self._health.report(f"user stream down: {short(exc)}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_s)

    async def _subscribe(self, ex: Any) -> None:
        """ccxt's ``authenticate``, bounded by ``auth_timeout_s``; after any failure the user-data
        connection is dropped so that nothing the attempt left behind blocks the next one."""
        url = user_stream_url(ex)
        if url is not None:
            forget_dial_backoff(ex, url)
        try:
            await asyncio.wait_for(ex.authenticate({"type": "spot"}), self.config.auth_timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, TimeoutError):
                self._stats["user_auth_timeouts"] += 1
                exc = TimeoutError(f"user-data subscription not answered within {self.config.auth_timeout_s:g} s")
            if url is not None:
                drop_connection(ex, url, f"user-data subscription failed: {short(exc)}")
            raise exc from None

    async def run_balances(self) -> None:
        """Apply balance updates while the order stream is subscribed, until the venue closes."""
        while not self._runner.closed:
            if not self._health.user_up:
                await asyncio.sleep(self.config.reconnect_min_s)
                continue
            try:
                balance = await self._session.ex.watch_balance()
                self._balances.from_stream(balance.get("info") or {})
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(self.config.reconnect_min_s * 5)


def user_stream_url(ex: Any) -> str | None:
    """The WebSocket API url ccxt subscribes spot user data on (Binance), if the client has one."""
    try:
        return str(ex.urls["api"]["ws"]["ws-api"]["spot"])
    except (AttributeError, KeyError, TypeError):
        return None
