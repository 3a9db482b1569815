"""Simulated exchanges: `MarketSim` venues behind the engine's `Venue` port, on a `SimClock`.

`SimExchange` drives the market: every publish interval (100 ms, as Binance's depth stream) it
advances the compiled background flow to the clock's time, and each venue publishes its book
(the L2 state after that interval's diffs, `depth` levels per side) and its trades to the engine
after the venue's market-data latency. Our own orders behave as on a real venue:

- a submit reaches the matching engine after the order-entry latency (with jitter); there it is
  checked like an exchange checks it — venue up, message rate (rolling second), balance, tick,
  lot, min notional, post-only — then matched with a real queue position; acks, fills and IOC
  remainders come back after the latency;
- a cancel arriving after the order is gone answers order-not-found;
- passive fills of resting orders during the background flow come back through the user stream;
- balances: base and quote per venue; open orders lock what they could spend.

Prices/quantities cross into the engine as `Decimal` on the venue's tick and lot grid.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numba import njit

from adapters.sim import kernel as K
from adapters.sim.market import BookDiff, MarketSim, OwnEvent, Trade, VenueSpec
from core.clock import SimClock
from core.events import BookUpdate, Trades
from core.orders import ChildOrder, Fill, Liquidity, OrderStatus, TimeInForce
from core.ports import Balance, RejectReason, VenueCallbacks, VenueOrderReport
from core.types import Instrument, Side, VenueInstrument

BOOK_DEPTH = 40  # levels per side published to the engine (ladders show 20+)


@njit(cache=True, nogil=True)
def _top_levels(
    bk: np.ndarray,
    venue: int,
    best_bid: int,
    best_ask: int,
    depth: int,
    out_bid_idx: np.ndarray,
    out_bid_lots: np.ndarray,
    out_ask_idx: np.ndarray,
    out_ask_lots: np.ndarray,
) -> tuple[int, int]:
    """The first `depth` non-empty levels from the touch outward, per side (all queue planes).

    Walks from the best price instead of scanning the whole 8,192-level window: publishing a
    book every 100 ms on three venues must cost microseconds, not a full-array scan."""
    nb = 0
    i = best_bid
    while i >= 0 and nb < depth:
        q = bk[venue, K.QH + K.BID, i] + bk[venue, K.QL + K.BID, i] + bk[venue, K.QT + K.BID, i]
        if q > 0:
            out_bid_idx[nb] = i
            out_bid_lots[nb] = q
            nb += 1
        i -= 1
    na = 0
    i = best_ask
    while i < K.NLEV and na < depth:
        q = bk[venue, K.QH + K.ASK, i] + bk[venue, K.QL + K.ASK, i] + bk[venue, K.QT + K.ASK, i]
        if q > 0:
            out_ask_idx[na] = i
            out_ask_lots[na] = q
            na += 1
        i += 1
    return nb, na


def _dec(value: float, step: float) -> Decimal:
    """A float known to be on the `step` grid as an exact Decimal."""
    step_d = Decimal(repr(step))
    return (Decimal(round(value / step)) * step_d).normalize() if step > 0 else Decimal(repr(value))


def _run_all(callbacks: list[Callable[[], None]]) -> Callable[[], None]:
    def run() -> None:
        for callback in callbacks:
            callback()

    return run


@dataclass(slots=True)
class _Resting:
    child: ChildOrder
    own_id: int
    locked_base: Decimal
    locked_quote: Decimal


class SimVenue:
    """One simulated exchange implementing `core.ports.Venue`."""

    def __init__(
        self,
        exchange: SimExchange,
        index: int,
        spec: VenueSpec,
        instrument: Instrument,
        base_balance: float,
        quote_balance: float,
        rng: np.random.Generator,
    ) -> None:
        self.exchange = exchange
        self.index = index
        self.spec = spec
        self.name = spec.name
        self.rng = rng
        self._inst = VenueInstrument(
            spec.name,
            instrument,
            spec.symbol,
            Decimal(repr(spec.tick_size)),
            Decimal(repr(spec.lot_size)),
            Decimal(repr(spec.lot_size)),
            Decimal(repr(spec.min_notional)),
            spec.maker_fee_bps,
            spec.taker_fee_bps,
        )
        self._cb: VenueCallbacks | None = None
        self._total = {instrument.base: Decimal(repr(base_balance)), instrument.quote: Decimal(repr(quote_balance))}
        self._resting: dict[int, _Resting] = {}
        self._by_client: dict[str, int] = {}
        self._seen_client_ids: set[str] = set()
        self._msg_times: deque[float] = deque()
        self._trades_out: list[Trade] = []
        self.fills: list[Fill] = []
        self.rejects: dict[str, int] = {}
        self.latency_extra_ms = 0.0

    # ---- port ---------------------------------------------------------------------------------

    def instrument(self, symbol: str) -> VenueInstrument:
        return self._inst

    @property
    def is_up(self) -> bool:
        return self.exchange.market.is_up(self.index)

    def connect(self, callbacks: VenueCallbacks) -> None:
        self._cb = callbacks

    def balances(self) -> dict[str, Balance]:
        base, quote = self._inst.instrument.base, self._inst.instrument.quote
        lb = sum((r.locked_base for r in self._resting.values()), Decimal(0))
        lq = sum((r.locked_quote for r in self._resting.values()), Decimal(0))
        return {
            base: Balance(self.name, base, self._total[base], lb),
            quote: Balance(self.name, quote, self._total[quote], lq),
        }

    def depth_snapshot(self, symbol: str, levels: int) -> BookUpdate:
        ex = self.exchange
        ex.catch_up()
        seq, bp, bq, ap, aq = ex.market.snapshot(self.index, levels)
        return BookUpdate(ex.now_ts(), self.name, self._inst.instrument.symbol, seq, bp, bq, ap, aq, is_snapshot=True)

    def submit(self, order: ChildOrder) -> None:
        self.exchange.clock.call_later(self._latency_s(), lambda: self._arrive(order))

    def cancel(self, order: ChildOrder) -> None:
        self.exchange.clock.call_later(self._latency_s(), lambda: self._cancel_arrive(order.client_id))

    def cancel_by_id(self, symbol: str, client_id: str, venue_order_id: str) -> None:
        self.exchange.clock.call_later(self._latency_s(), lambda: self._cancel_arrive(client_id))

    def cancel_all(self, symbol: str) -> None:
        def arrive() -> None:
            for rest in list(self._resting.values()):
                self._cancel_arrive(rest.child.client_id)

        self.exchange.clock.call_later(self._latency_s(), arrive)

    def open_orders(self, symbol: str) -> list[VenueOrderReport]:
        return [
            VenueOrderReport(r.child.client_id, str(r.own_id), OrderStatus.NEW, Decimal(0), self.exchange.now_ts())
            for r in self._resting.values()
        ]

    def fills_since(self, symbol: str, since_ts: float) -> list[Fill]:
        return [f for f in self.fills if f.venue_ts >= since_ts]

    # ---- order entry --------------------------------------------------------------------------

    def _latency_s(self) -> float:
        jitter = self.spec.latency_jitter_ms * float(self.rng.standard_normal())
        return max(self.spec.latency_ms + self.latency_extra_ms + jitter, 0.1) / 1000.0

    def _reply(self, fn: Callable[[], None]) -> None:
        self.exchange.clock.call_later(self._latency_s(), fn)

    def _reject(self, order: ChildOrder, reason: str) -> None:
        self.rejects[reason] = self.rejects.get(reason, 0) + 1
        assert self._cb is not None
        cb, ts = self._cb, self.exchange.now_ts()
        self._reply(
            lambda: cb.on_order(VenueOrderReport(order.client_id, "", OrderStatus.REJECTED, Decimal(0), ts, reason))
        )

    def _rate_ok(self) -> bool:
        now = self.exchange.clock.now()
        while self._msg_times and self._msg_times[0] <= now - 1.0:
            self._msg_times.popleft()
        if len(self._msg_times) >= self.spec.rate_limit_msgs_per_s:
            return False
        self._msg_times.append(now)
        return True

    def _arrive(self, order: ChildOrder) -> None:
        ex = self.exchange
        ex.catch_up()
        if not self.is_up:
            return self._reject(order, RejectReason.VENUE_DOWN)
        if not self._rate_ok():
            return self._reject(order, RejectReason.RATE_LIMITED)
        if order.client_id in self._seen_client_ids:
            return self._reject(order, RejectReason.DUPLICATE_CLIENT_ID)
        self._seen_client_ids.add(order.client_id)
        inst = self._inst
        if order.quantity % inst.lot_size != 0:
            return self._reject(order, RejectReason.BAD_LOT)
        if order.price is not None and order.price % inst.tick_size != 0:
            return self._reject(order, RejectReason.BAD_TICK)
        ref = float(order.price) if order.price is not None else ex.market.mid(self.index)
        if float(order.quantity) * ref < self.spec.min_notional:
            return self._reject(order, RejectReason.MIN_NOTIONAL)
        base, quote = inst.instrument.base, inst.instrument.quote
        bal = self.balances()
        fee = Decimal(repr(max(self.spec.taker_fee_bps, self.spec.maker_fee_bps, 0.0))) / Decimal(10_000)
        need_quote = order.quantity * Decimal(repr(ref)) * (1 + fee) if order.side is Side.BUY else Decimal(0)
        need_base = order.quantity if order.side is Side.SELL else Decimal(0)
        if need_base > bal[base].available or need_quote > bal[quote].available:
            return self._reject(order, RejectReason.INSUFFICIENT_BALANCE)
        own_id = ex.next_own_id(self)
        ioc = order.tif is TimeInForce.IOC
        events = ex.market.submit(
            self.index,
            own_id,
            order.side.sign,
            None if order.price is None else float(order.price),
            float(order.quantity),
            post_only=order.tif is TimeInForce.POST_ONLY,
            ioc=ioc,
        )
        if events and events[0].kind == "reject":
            self._seen_client_ids.discard(order.client_id)
            reason = events[0].reason
            return self._reject(order, reason if reason != "price_band" else RejectReason.OTHER)
        self._by_client[order.client_id] = own_id
        resting = _Resting(order, own_id, need_base, need_quote)
        self._resting[own_id] = resting
        ts = ex.now_ts()
        replies: list[Callable[[], None]] = []
        cb = self._cb
        assert cb is not None
        replies.append(
            lambda: cb.on_order(VenueOrderReport(order.client_id, str(own_id), OrderStatus.NEW, Decimal(0), ts))
        )
        for ev in events[1:]:
            replies.extend(self._apply_own_event(ev))
        self._reply(_run_all(replies))

    def _cancel_arrive(self, client_id: str) -> None:
        ex = self.exchange
        ex.catch_up()
        assert self._cb is not None
        cb = self._cb
        own_id = self._by_client.get(client_id)
        if own_id is None or own_id not in self._resting:
            self._reply(lambda: cb.on_cancel_reject(client_id, RejectReason.NOT_FOUND))
            return
        events = ex.market.cancel(self.index, own_id)
        replies: list[Callable[[], None]] = []
        for ev in events:
            if ev.kind == "not_found":
                replies.append(lambda: cb.on_cancel_reject(client_id, RejectReason.NOT_FOUND))
            elif ev.kind == "reject":
                replies.append(lambda reason=ev.reason: cb.on_cancel_reject(client_id, reason))
            else:
                replies.extend(self._apply_own_event(ev))
        self._reply(_run_all(replies))

    # ---- own events (immediate and passive) ---------------------------------------------------

    def deliver_passive(self, events: list[OwnEvent]) -> None:
        replies: list[Callable[[], None]] = []
        for ev in events:
            replies.extend(self._apply_own_event(ev))
        if replies:
            self._reply(_run_all(replies))

    def _apply_own_event(self, ev: OwnEvent) -> list[Callable[[], None]]:
        rest = self._resting.get(ev.own_id)
        if rest is None:
            return []
        cb = self._cb
        assert cb is not None
        child = rest.child
        ts = self.exchange.to_ts(ev.ts)
        if ev.kind == "fill":
            inst = self._inst
            qty = _dec(ev.qty, self.spec.lot_size)
            price = _dec(ev.price, self.spec.tick_size)
            liq = Liquidity.MAKER if ev.liquidity == "maker" else Liquidity.TAKER
            fee_bps = self.spec.maker_fee_bps if liq is Liquidity.MAKER else self.spec.taker_fee_bps
            fee = (price * qty * Decimal(repr(fee_bps)) / Decimal(10_000)).quantize(Decimal("0.00000001"))
            base, quote = inst.instrument.base, inst.instrument.quote
            sign = 1 if child.side is Side.BUY else -1
            self._total[base] += sign * qty
            self._total[quote] -= sign * qty * price + fee
            if child.side is Side.SELL:
                rest.locked_base = max(rest.locked_base - qty, Decimal(0))
            else:
                rest.locked_quote = max(
                    rest.locked_quote - qty * price * (1 + Decimal(repr(fee_bps)) / 10_000), Decimal(0)
                )
            if ev.leaves <= 1e-12:
                self._resting.pop(ev.own_id, None)
            fill = Fill(
                child.client_id,
                self.name,
                f"{self.name}-{ev.trade_id}",
                str(ev.own_id),
                child.side,
                price,
                qty,
                liq,
                fee,
                quote,
                ts,
                ts,
            )
            self.fills.append(fill)
            return [lambda: cb.on_fill(fill)]
        if ev.kind == "canceled":
            self._resting.pop(ev.own_id, None)
            filled = child.quantity - _dec(ev.qty, self.spec.lot_size)
            return [
                lambda: cb.on_order(
                    VenueOrderReport(child.client_id, str(ev.own_id), OrderStatus.CANCELED, filled, ts, ev.reason)
                )
            ]
        return []

    # ---- market data --------------------------------------------------------------------------

    def publish(self, msgs: list[Trade | BookDiff]) -> None:
        """Send this interval's book and trades to the engine after the market-data latency."""
        cb = self._cb
        if cb is None or not self.is_up:
            return
        if not msgs:
            return  # nothing changed on this venue in this interval: no message, as on a real feed
        ex = self.exchange
        trades = [m for m in msgs if isinstance(m, Trade)]
        seq, bp, bq, ap, aq = ex.top_of_book(self.index, BOOK_DEPTH)
        ts = ex.now_ts()
        symbol = self._inst.instrument.symbol
        book = BookUpdate(ts, self.name, symbol, seq, bp, bq, ap, aq, is_snapshot=False)
        tr = None
        if trades:
            tr = Trades(
                ts,
                self.name,
                symbol,
                np.array([t.price for t in trades]),
                np.array([t.qty for t in trades]),
                np.array([t.aggressor for t in trades], dtype=np.int8),
                np.array([ex.to_ts(t.ts) for t in trades]),
            )

        def deliver() -> None:
            cb.on_book(book)
            if tr is not None:
                cb.on_trades(tr)

        ex.clock.call_later(self.spec.latency_ms / 1000.0, deliver)


class SimExchange:
    """Drives a `MarketSim` on a `SimClock` and exposes its venues as `SimVenue`s.

    `start_ts` is the UTC epoch time of the market's t = 0 (the engine sees epoch times).
    Balances per venue: `balances[name] = (base, quote)`; venues not listed get `default_balance`.
    """

    def __init__(
        self,
        market: MarketSim,
        clock: SimClock,
        start_ts: float,
        seed_tree_rng: Callable[[str], np.random.Generator],
        balances: dict[str, tuple[float, float]] | None = None,
        default_balance: tuple[float, float] = (100_000.0, 1e10),
    ) -> None:
        self.market = market
        self.clock = clock
        self.start_ts = start_ts
        self.interval_s = market.scenario.market.publish_interval_ms / 1000.0
        instrument = Instrument.parse(market.scenario.scenario.symbol)
        self.venues = [
            SimVenue(
                self,
                i,
                spec,
                instrument,
                *(balances or {}).get(spec.name, default_balance),
                rng=seed_tree_rng(f"venue-latency/{spec.name}"),
            )
            for i, spec in enumerate(market.venues)
        ]
        self._own_ids = 0
        self._own_owner: dict[int, SimVenue] = {}
        self._running = False
        self._tick_no = 0
        self._was_up = [True] * len(self.venues)

    def now_ts(self) -> float:
        return self.start_ts + self.market.now_s

    def top_of_book(self, venue: int, depth: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Like `MarketSim.snapshot` for the best `depth` levels per side, without a full scan."""
        m = self.market
        spec = m.venues[venue]
        vi = m.vi[venue]
        bi, bl = np.empty(depth, np.int64), np.empty(depth, np.int64)
        ai, al = np.empty(depth, np.int64), np.empty(depth, np.int64)
        nb, na = _top_levels(m.bk, venue, int(vi[K.VI_BEST_BID]), int(vi[K.VI_BEST_ASK]), depth, bi, bl, ai, al)
        base = int(vi[K.VI_BASE])
        return (
            int(vi[K.VI_SEQ]),
            (base + bi[:nb]) * spec.tick_size,
            bl[:nb] * spec.lot_size,
            (base + ai[:na]) * spec.tick_size,
            al[:na] * spec.lot_size,
        )

    def to_ts(self, t_s: float) -> float:
        return self.start_ts + t_s

    def next_own_id(self, venue: SimVenue) -> int:
        self._own_ids += 1
        self._own_owner[self._own_ids] = venue
        return self._own_ids

    def catch_up(self) -> None:
        """Advance the market to the clock's time (before an order reaches a matching engine)."""
        t = self.clock.now() - self.start_ts
        if t > self.market.now_s:
            self.market.advance_to(t)
        self._route_passive()

    def _route_passive(self) -> None:
        events = self.market.own_events_since_advance()
        if not events:
            return
        by_venue: dict[int, list[OwnEvent]] = {}
        for ev in events:
            by_venue.setdefault(ev.venue, []).append(ev)
        for idx, evs in by_venue.items():
            self.venues[idx].deliver_passive(evs)

    def start(self) -> None:
        if not self._running:
            self._running = True
            self.clock.call_at(self.clock.now(), self._tick)

    def stop(self) -> None:
        self._running = False

    def _tick(self) -> None:
        if not self._running:
            return
        self.catch_up()
        for i, venue in enumerate(self.venues):
            up = venue.is_up
            if up != self._was_up[i] and venue._cb is not None:
                venue._cb.on_status(up, "venue up" if up else "venue down")
                self._was_up[i] = up
            venue.publish(self.market.drain_market_data(i))
        # an integer tick count: recomputing the next time from a float clock near 1.7e9 s could
        # land on the current instant again and spin forever
        self._tick_no = max(self._tick_no + 1, math.floor((self.clock.now() - self.start_ts) / self.interval_s) + 1)
        self.clock.call_at(self.start_ts + self._tick_no * self.interval_s, self._tick)
