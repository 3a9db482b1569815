"""What this venue knows about each of our orders, and the one path by which the exchange's word
about an order reaches the engine.

The in-flight tracker keeps a `Track` per client id: the venue order id, the side, the last status
reported, whether the ack went out, the fills delivered (sum and venue trade ids) and whether our
own submit is still in flight or being settled. Every answer the exchange gives about an order — a
REST order object (create, query, cancel, open orders), a user-stream ``executionReport``, a row of
``myTrades`` — is applied here, and for each order the engine hears, in this order:

1. the ack (NEW, with what is filled so far), once;
2. each fill, once per venue trade id (the OMS dedupes again by trade id);
3. its status, never backwards: PARTIALLY_FILLED after NEW, one terminal state, and nothing after
   it (a late NEW after FILLED is dropped).

When the exchange says more is filled than we have seen, the order's trades are fetched before its
status is reported, so a terminal state never overtakes its own fills. Orders open at the venue
are remembered (`open_reports`); those the OMS does not know are kept as `orphans` until they close.
Prices, quantities and fees are Decimals parsed from the exchange's strings; times are epoch seconds.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from adapters.ccxt.callbacks import CallbackRelay
from adapters.ccxt.errors import UnreadableAnswer, short
from adapters.ccxt.session import ExchangeSession
from core.orders import ChildOrder, Fill, Liquidity, OrderStatus
from core.ports import RejectReason, VenueOrderReport
from core.types import Side

if TYPE_CHECKING:
    from adapters.ccxt.reconcile import OrderView

log = logging.getLogger(__name__)

# the exchange's order status (Binance ``X`` / ``status``) → ours
VENUE_STATUS = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
# how far along an order is: a status is reported only if it ranks above the last one, 3 is final
_RANK = {
    OrderStatus.NEW: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELED: 3,
    OrderStatus.EXPIRED: 3,
    OrderStatus.REJECTED: 3,
}


@dataclass(slots=True)
class Track:
    """What this venue knows about one of our orders. `submitted` and `settling` belong to order
    entry (our request in flight, our queries under way); the rest is written by the tracker."""

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
    timed_out: bool = False  # order entry reported it timed out (the OMS holds it UNKNOWN until settled)


class OrderTracker:
    """The orders of one venue (`name`). `view`: the OMS, to tell our orders from orphans (None:
    no orphan detection, as in the standalone kill)."""

    def __init__(
        self,
        name: str,
        session: ExchangeSession,
        engine: CallbackRelay,
        view: OrderView | None,
        stats: collections.Counter[str],
    ) -> None:
        self.name = name
        self._session = session
        self._engine = engine
        self._view = view
        self._stats = stats
        self.tracks: dict[str, Track] = {}
        self._vid_to_cid: dict[str, str] = {}
        self._venue_open: dict[str, VenueOrderReport] = {}
        self._open_symbol: dict[str, str] = {}
        self.fills: collections.deque[Fill] = collections.deque(maxlen=50_000)  # delivered, oldest first
        self.orphans: dict[str, VenueOrderReport] = {}

    # ---------------------------------------------------------------- what we know
    def track(self, cid: str, vid: str, symbol: str, side: Any) -> Track:
        """The track of `cid`, made if new; learns the venue order id and side (``BUY``/``SELL``)."""
        track = self.tracks.get(cid)
        if track is None:
            track = Track(cid, symbol)
            self.tracks[cid] = track
        if vid and not track.venue_order_id:
            track.venue_order_id = vid
            self._vid_to_cid[vid] = cid
        if track.side is None and side:
            track.side = Side.BUY if str(side).upper() == "BUY" else Side.SELL
        return track

    def track_order(self, order: ChildOrder) -> Track:
        """The track of a child we are about to send."""
        track = self.tracks.get(order.client_id)
        if track is None:
            track = Track(order.client_id, order.instrument.symbol, order.side)
            self.tracks[order.client_id] = track
        return track

    def client_id_of(self, venue_order_id: str) -> str | None:
        return self._vid_to_cid.get(venue_order_id)

    def open_reports(self, symbol: str) -> list[VenueOrderReport]:
        """Our orders open at the venue on `symbol`, as last heard."""
        return [r for cid, r in self._venue_open.items() if self._open_symbol.get(cid) == symbol]

    def open_client_ids(self, symbol: str) -> list[str]:
        return [c for c, s in self._open_symbol.items() if s == symbol]

    def fills_since(self, symbol: str, since_ts: float) -> list[Fill]:
        """Fills delivered on `symbol` with a venue time at or after `since_ts` (epoch s)."""
        return [f for f in self.fills if f.venue_ts >= since_ts and self._fill_symbol(f) == symbol]

    def forget_open(self, cid: str) -> None:
        self._venue_open.pop(cid, None)
        self._open_symbol.pop(cid, None)
        self.orphans.pop(cid, None)

    # ---------------------------------------------------------------- what the exchange says
    async def apply_order(self, info: dict[str, Any], rest_fills: bool = False) -> None:
        """A REST order object (create/query/cancel/openOrders answer); `rest_fills`: its ``fills``
        (a create answer's immediate, taker fills) are delivered too."""
        if not info or "orderId" not in info:
            return
        cid = str(info.get("origClientOrderId") or info.get("clientOrderId") or "")
        vid = str(info["orderId"])
        symbol = self._session.symbol_of(str(info.get("symbol"))) or str(info.get("symbol"))
        track = self.track(cid, vid, symbol, info.get("side"))
        ts = int(info.get("updateTime") or info.get("transactTime") or info.get("time") or time.time() * 1000) / 1000
        status = VENUE_STATUS.get(str(info.get("status")))
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

    async def apply_report(self, info: dict[str, Any], trade_infos: list[dict[str, Any]]) -> None:
        """A user-stream executionReport (the latest for its order) and the TRADE reports seen."""
        if info.get("e") != "executionReport":
            return
        x = info.get("x")
        cid = str(info["C"]) if x == "CANCELED" and info.get("C") else str(info.get("c"))
        vid = str(info["i"])
        symbol = self._session.symbol_of(str(info.get("s"))) or str(info.get("s"))
        track = self.track(cid, vid, symbol, info.get("S"))
        status = VENUE_STATUS.get(str(info.get("X")))
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
                        str(t.get("N") or _quote(symbol)),
                        int(t["T"]) / 1000,
                    ),
                )
        reason = str(info.get("r") or "") if info.get("X") == "REJECTED" else ""
        await self._sync(track, status, Decimal(str(info.get("z", "0"))), ts, reason)

    def apply_trade_row(self, track: Track, row: dict[str, Any]) -> None:
        """One row of the exchange's ``myTrades`` (delivered unless its trade id was seen)."""
        self._deliver(
            track,
            self._fill(
                track,
                str(row["id"]),
                Decimal(row["price"]),
                Decimal(row["qty"]),
                Liquidity.MAKER if row.get("isMaker") else Liquidity.TAKER,
                Decimal(row.get("commission") or "0"),
                str(row.get("commissionAsset") or _quote(track.symbol)),
                int(row["time"]) / 1000,
                Side.BUY if row.get("isBuyer") else Side.SELL,
            ),
        )

    def report_rejected(self, track: Track, reason: str) -> None:
        """A new order refused (by the exchange, or here before it was sent)."""
        track.status = OrderStatus.REJECTED
        self._engine.on_order(
            VenueOrderReport(track.client_id, "", OrderStatus.REJECTED, Decimal(0), time.time(), reason)
        )

    def report_never_placed(self, track: Track) -> None:
        """An order of unknown fate that the exchange has never heard of: gone (NOT_FOUND)."""
        track.status = OrderStatus.REJECTED
        self._engine.on_cancel_reject(track.client_id, RejectReason.NOT_FOUND)

    # ---------------------------------------------------------------- to the engine, in order
    async def _sync(
        self, track: Track, status: OrderStatus | None, cum_filled: Decimal, ts: float, reason: str = ""
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
            if self._view is not None and not self._view.knows(cid) and cid not in self.orphans:
                self.orphans[cid] = self._venue_open[cid]
                log.warning(
                    "venue %s: orphan order %s (%s) — not in our journal; cancelable with cancel_by_id",
                    self.name,
                    cid,
                    vid,
                )
        else:
            self.forget_open(cid)
        current = _RANK.get(track.status, 0) if track.status is not None else 0
        if current >= 3 or _RANK[status] <= current:
            return
        track.status = status
        self._engine.on_order(VenueOrderReport(cid, vid, status, cum_filled, ts, reason))

    def _ack(self, track: Track, status: OrderStatus | None, ts: float) -> None:
        """The first thing the engine hears about a live order is its ack (then fills, then the end)."""
        if track.acked or status is None or status is OrderStatus.REJECTED:
            return
        track.acked = True
        self._engine.on_order(
            VenueOrderReport(track.client_id, track.venue_order_id, OrderStatus.NEW, track.filled, ts)
        )
        if track.status is None:
            track.status = OrderStatus.NEW

    async def _fetch_order_fills(self, track: Track) -> None:
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
            self.apply_trade_row(track, t.get("info") or {})

    def _fill(
        self,
        track: Track,
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

    def _deliver(self, track: Track, fill: Fill) -> None:
        if fill.venue_trade_id in track.trade_ids:
            return
        track.trade_ids.add(fill.venue_trade_id)
        track.filled += fill.quantity
        self.fills.append(fill)
        self._stats["fills"] += 1
        self._engine.on_fill(fill)

    def _fill_symbol(self, fill: Fill) -> str:
        track = self.tracks.get(fill.client_id)
        return track.symbol if track else ""


def order_info(answer: Any) -> dict[str, Any]:
    """The exchange's own order object in a ccxt answer (its ``info``); `UnreadableAnswer` when
    there is none — ccxt returns the raw text of a body that is not JSON as the answer, so a
    truncated or corrupted answer arrives as a string, not as an error."""
    info = answer.get("info") if isinstance(answer, dict) else None
    if not isinstance(info, dict) or "orderId" not in info:
        shown = answer.get("info") if isinstance(answer, dict) else answer
        raise UnreadableAnswer(f"not an order: {str(shown)[:120]!r}")
    return info


def _quote(symbol: str) -> str:
    """The quote currency of "BASE/QUOTE" (fees default to it)."""
    return symbol.split("/")[1] if "/" in symbol else ""
