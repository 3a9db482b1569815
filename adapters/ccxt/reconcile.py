"""Reconciliation: bringing the engine in line with the exchange's record of our orders.

It runs on every (re)connect of the user stream (the first one before the venue counts as up)
and on request, and covers:

- **open orders at the venue**: each is applied (acks, fills, status); one our journal does not
  know is an orphan — reported (the OMS raises an alert) and kept for `cancel_by_id`;
- **every child our OMS holds open** that the venue does not show open: resolved by asking the
  exchange for its client id (a PENDING_NEW one is UNKNOWN until it answers); one still open
  there while PENDING_CANCEL on our side is canceled again;
- **fills** since the last moment the user stream was known good (its last outage minus 5 s; on
  the first connect, the oldest child the OMS still cares about, else the last 10 minutes),
  swept from ``myTrades`` page by page — each venue trade id is delivered once;
- **balances**, from the account.

Between reconciliations, children stuck in PENDING_CANCEL or UNKNOWN for longer than
``request_timeout_s`` are asked about over REST every ``max(2 × unknown_grace_s, 1 s)``: the user
stream may be fine while a cancel's answer was lost. A child still PENDING_NEW after
``ack_timeout_s + request_timeout_s`` whose submit has ended in this process (whatever ended it
without an answer) is made UNKNOWN and settled the same way: no child stays PENDING_NEW.

The `Venue` port does not carry the OMS, so a ccxt venue is given an `OrderView` (the engine's
OMS behind `OmsOrderView`) to find the children that are open on our side but not at the
exchange, and how far back fills may have been missed. Everything the venue learns still goes
back through the engine's callbacks, so every change is journaled by the OMS.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from decimal import Decimal
from typing import Any, Protocol

from adapters.ccxt.balances import Balances
from adapters.ccxt.callbacks import CallbackRelay
from adapters.ccxt.config import CcxtVenueConfig
from adapters.ccxt.errors import short
from adapters.ccxt.health import VenueHealth
from adapters.ccxt.order_entry import OrderEntry
from adapters.ccxt.order_tracker import VENUE_STATUS, OrderTracker
from adapters.ccxt.session import ExchangeSession
from adapters.ccxt.tasks import TaskRunner
from core.oms import OrderManager
from core.orders import ChildOrder, Fill, OrderStatus
from core.ports import VenueOrderReport

log = logging.getLogger(__name__)
_PAGE = 1000  # rows per myTrades request (the exchange's maximum)


class Reconciler:
    """Reconciles one venue. `view`: the OMS (None in the standalone kill: open orders, fills and
    balances are still read, but no child of ours is resolved and no orphan is told apart)."""

    def __init__(
        self,
        config: CcxtVenueConfig,
        session: ExchangeSession,
        tracker: OrderTracker,
        orders: OrderEntry,
        engine: CallbackRelay,
        view: OrderView | None,
        health: VenueHealth,
        balances: Balances,
        runner: TaskRunner,
        stats: collections.Counter[str],
    ) -> None:
        self.name = config.name
        self.config = config
        self._session = session
        self._tracker = tracker
        self._orders = orders
        self._engine = engine
        self._view = view
        self._health = health
        self._balances = balances
        self._runner = runner
        self._stats = stats
        self.last_reconcile: dict[str, Any] = {}  # the summary of the last reconciliation

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
            if self._view is not None:
                for child in self._view.open_children(self.name):
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
                summary["fills_swept"] += await self.sweep_trades(symbol, watermark)
        account = await self._session.rest(ex.fetch_balance)
        self._balances.from_account(account.get("info") or {})
        orphans = self._tracker.orphans
        summary["orphans"] = len(orphans)
        summary["duration_ms"] = round((time.monotonic() - t0) * 1000, 1)
        self._stats["reconciliations"] += 1
        self.last_reconcile = summary
        if orphans:
            log.warning(
                "venue %s: %d orphan order(s) at the venue: %s",
                self.name,
                len(orphans),
                ", ".join(sorted(orphans)),
            )
        log.info("venue %s: reconciled (%s)", self.name, summary)
        return summary

    async def sweep_trades(self, symbol: str, since_ts: float) -> int:
        """Deliver our trades on `symbol` since `since_ts` (epoch s) not seen yet; how many were new."""
        ex = self._session.ex
        swept = 0
        rows = await self._session.rest(ex.fetch_my_trades, symbol, int(since_ts * 1000), _PAGE)
        while True:
            for t in rows:
                row = t.get("info") or {}
                vid = str(row.get("orderId"))
                cid = self._tracker.client_id_of(vid) or (
                    self._view.client_id_for(self.name, vid) if self._view else None
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
            if len(rows) < _PAGE:
                return swept
            last_id = int((rows[-1].get("info") or {})["id"])
            rows = await self._session.rest(ex.fetch_my_trades, symbol, None, _PAGE, {"fromId": last_id + 1})

    async def run_settle(self) -> None:
        """Orders stuck in PENDING_CANCEL or UNKNOWN for a while are asked about (REST only; the
        user stream may be fine while a cancel answer was lost); one left PENDING_NEW by a submit
        that ended without a usable answer is made UNKNOWN and settled."""
        while not self._runner.closed:
            await asyncio.sleep(max(self.config.unknown_grace_s * 2, 1.0))
            if self._view is None or not self._health.reconciled_once:
                continue
            try:
                self._ask_about_stuck(self._view)
            except Exception:  # this loop is the safety net: it must outlive any one bad round
                log.exception("venue %s: settling stuck orders failed; retrying next round", self.name)

    def _ask_about_stuck(self, view: OrderView) -> None:
        """One round of `run_settle`: spawn a settle or a query for each stuck child."""
        now = time.time()
        unanswered_s = self.config.ack_timeout_s + self.config.request_timeout_s
        for child in view.open_children(self.name):
            track = self._tracker.tracks.get(child.client_id)
            if track is not None and (track.settling or (track.submitted and not track.submitted.is_set())):
                continue
            if child.status is OrderStatus.PENDING_NEW:
                if track is not None and now - child.created_ts > unanswered_s:
                    self._stats["pending_new_unanswered"] += 1
                    self._orders.resolve_unknown(track, "submit ended without an answer we could use")
                continue
            if child.status not in (OrderStatus.PENDING_CANCEL, OrderStatus.UNKNOWN):
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
                self._stats["recancel_stuck"] += 1
                self._runner.spawn(
                    self._orders.query_and_apply(
                        child.client_id, child.instrument.symbol, still_open_reason="cancel not confirmed"
                    )
                )

    async def fetch_open_reports(self, symbol: str) -> list[VenueOrderReport]:
        """Our open orders on `symbol` as the exchange lists them now (nothing is applied)."""
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

    async def fetch_fills(self, symbol: str, since_ts: float) -> list[Fill]:
        """Our fills on `symbol` since `since_ts` (epoch s) that this sweep delivered."""
        before = len(self._tracker.fills)
        await self._session.exchange_ready()
        await self.sweep_trades(symbol, since_ts)
        return [f for f in list(self._tracker.fills)[before:] if f.venue_ts >= since_ts]

    def _fill_watermark(self) -> float | None:
        """Since when fills may be missing: the user stream's last outage, or on the first connect
        the oldest child the OMS still cares about (none: the last 10 minutes)."""
        health = self._health
        if health.reconciled_once and health.user_down_since is not None:
            return health.user_down_since - 5.0
        if health.reconciled_once:
            return None
        if self._view is not None:
            return self._view.fill_watermark(self.name)
        return time.time() - 600.0


class OrderView(Protocol):
    def open_children(self, venue: str) -> list[ChildOrder]: ...

    def knows(self, client_id: str) -> bool: ...

    def fill_watermark(self, venue: str) -> float | None:
        """Epoch seconds from which our fills on `venue` may be incomplete (None: no history)."""
        ...

    def client_id_for(self, venue: str, venue_order_id: str) -> str | None: ...


class OmsOrderView:
    def __init__(self, oms: OrderManager) -> None:
        self.oms = oms

    def open_children(self, venue: str) -> list[ChildOrder]:
        return self.oms.open_children(venue=venue)

    def knows(self, client_id: str) -> bool:
        return client_id in self.oms.children

    def fill_watermark(self, venue: str) -> float | None:
        """The oldest child on `venue` that is still open or belongs to a parent still working."""
        times = [
            c.created_ts
            for c in self.oms.children.values()
            if c.venue == venue and (c.status.is_open or not self.oms.parents[c.parent_id].state.is_terminal)
        ]
        return min(times) - 1.0 if times else None

    def client_id_for(self, venue: str, venue_order_id: str) -> str | None:
        for c in self.oms.children.values():
            if c.venue == venue and c.venue_order_id == venue_order_id:
                return c.client_id
        return None
