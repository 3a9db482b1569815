"""The private websocket: our order reports and balance updates as the exchange pushes them.

- **Orders**: subscribe (``authenticate``), reconcile, then apply every ``executionReport`` through
  the `OrderTracker`. The stream counts as up from the subscription; it is lost on any error, and
  then resubscribed after a back-off (``reconnect_min_s`` doubling up to ``reconnect_max_s``) and
  reconciled again, from the moment it was lost (`VenueHealth.user_down_since`), so a fill
  pushed while it was down is swept, not lost.
- **Balances**: ``outboundAccountPosition`` events update `Balances`; on an error the watch is
  retried after ``5 × reconnect_min_s`` (reconciliation reads the account anyway).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time

from adapters.ccxt.balances import Balances
from adapters.ccxt.config import CcxtVenueConfig
from adapters.ccxt.errors import short
from adapters.ccxt.health import VenueHealth
from adapters.ccxt.order_tracker import OrderTracker
from adapters.ccxt.reconcile import Reconciler
from adapters.ccxt.session import ExchangeSession
from adapters.ccxt.tasks import TaskRunner

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
                    await ex.authenticate({"type": "spot"})
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

    async def run_balances(self) -> None:
        """Apply balance updates until the venue closes."""
        while not self._runner.closed:
            try:
                balance = await self._session.ex.watch_balance()
                self._balances.from_stream(balance.get("info") or {})
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(self.config.reconnect_min_s * 5)
