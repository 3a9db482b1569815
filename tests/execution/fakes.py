"""A small deterministic venue for execution unit tests (the simulator tests the real market).

The book is a fixed ladder around a mid that random-walks each second; IOC orders fill against
the ladder; resting orders fill when the public tape trades through their price. Everything is
driven by a SimClock and a seeded generator.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from core.clock import SimClock
from core.events import BookUpdate, Trades
from core.orders import ChildOrder, Fill, Liquidity, OrderStatus, TimeInForce
from core.ports import Balance, RejectReason, VenueCallbacks, VenueOrderReport
from core.types import Instrument, Side, VenueInstrument

BTC = Instrument("BTC", "USDT")


class FakeVenue:
    def __init__(
        self,
        name: str,
        clock: SimClock,
        seed: int,
        mid: float = 50_000.0,
        depth: float = 5.0,
        tape_per_s: float = 2.0,
        latency_s: float = 0.02,
        base: float = 1e6,
        quote: float = 1e12,
        tick_size: str = "0.1",
        lot_size: str = "0.001",
        min_qty: str = "0.001",
        min_notional: str = "10",
    ) -> None:
        """The grid (`tick_size`, `lot_size`, `min_qty`, `min_notional`) is the venue's instrument;
        the ladder sits on its ticks and fills come in its lots."""
        self.name = name
        self.clock = clock
        self.rng = np.random.default_rng(seed)
        self.mid = mid
        self.depth = depth
        self.tape_per_s = tape_per_s
        self.latency_s = latency_s
        self.inst = VenueInstrument(
            name,
            BTC,
            "BTCUSDT",
            Decimal(tick_size),
            Decimal(lot_size),
            Decimal(min_qty),
            Decimal(min_notional),
            maker_fee_bps=1.0,
            taker_fee_bps=5.0,
        )
        self.resting: dict[str, ChildOrder] = {}
        self.filled: dict[str, Decimal] = {}
        self.cb: VenueCallbacks | None = None
        self.bal = {"BTC": Decimal(str(base)), "USDT": Decimal(str(quote))}
        self.trade_seq = 0
        self.sent: list[ChildOrder] = []
        self.up = True
        self.public_volume = 0.0
        self.rate_limit_per_s: float | None = None  # orders per rolling second, like an exchange
        self.order_times: list[float] = []
        self.rate_limited = 0
        self.arrived: list[str] = []
        self.mid_at_submit: list[float] = []
        self.published_mid = float("nan")  # the mid of the last book we published (what risk sees)

    # --- port ---
    def instrument(self, symbol: str) -> VenueInstrument:
        return self.inst

    @property
    def is_up(self) -> bool:
        return self.up

    def connect(self, callbacks: VenueCallbacks) -> None:
        self.cb = callbacks
        self.clock.call_later(0.0, self._heartbeat)

    def balances(self) -> dict[str, Balance]:
        locked_base = sum(
            (
                o.quantity - self.filled.get(o.client_id, Decimal(0))
                for o in self.resting.values()
                if o.side is Side.SELL
            ),
            Decimal(0),
        )
        return {
            "BTC": Balance(self.name, "BTC", self.bal["BTC"], locked_base),
            "USDT": Balance(self.name, "USDT", self.bal["USDT"]),
        }

    def depth_snapshot(self, symbol: str, levels: int) -> BookUpdate:
        b, bq, a, aq = self.levels()
        return BookUpdate(
            self.clock.now(), self.name, symbol, 0, b[:levels], bq[:levels], a[:levels], aq[:levels], True
        )

    def book_mid(self) -> float:
        b, _, a, _ = self.levels()
        return 0.5 * (float(b[0]) + float(a[0]))

    def submit(self, order: ChildOrder) -> None:
        self.sent.append(order)
        self.mid_at_submit.append(self.published_mid)
        self.clock.call_later(self.latency_s, lambda: self._arrive(order))

    def cancel(self, order: ChildOrder) -> None:
        def arrive() -> None:
            assert self.cb
            if self.resting.pop(order.client_id, None) is None:
                self.cb.on_cancel_reject(order.client_id, RejectReason.NOT_FOUND)
            else:
                self.cb.on_order(
                    VenueOrderReport(
                        order.client_id,
                        "v" + order.client_id,
                        OrderStatus.CANCELED,
                        self.filled.get(order.client_id, Decimal(0)),
                        self.clock.now(),
                    )
                )

        self.clock.call_later(self.latency_s, arrive)

    def cancel_by_id(self, symbol: str, client_id: str, venue_order_id: str) -> None:
        order = self.resting.get(client_id)
        if order is not None:
            self.cancel(order)

    def cancel_all(self, symbol: str) -> None:
        for order in list(self.resting.values()):
            self.cancel(order)

    def open_orders(self, symbol: str) -> list[VenueOrderReport]:
        return [
            VenueOrderReport(o.client_id, "v" + o.client_id, OrderStatus.NEW, Decimal(0), 0.0)
            for o in self.resting.values()
        ]

    def fills_since(self, symbol: str, since_ts: float) -> list[Fill]:
        return []

    # --- market ---
    def levels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        tick = float(self.inst.tick_size)
        bid0 = np.floor(self.mid / tick) * tick - tick
        bid_px = bid0 - np.arange(20) * 5 * tick
        ask_px = bid0 + 2 * tick + np.arange(20) * 5 * tick
        qty = self.depth * (1 + np.arange(20) * 0.5)
        return bid_px, qty.copy(), ask_px, qty.copy()

    def _heartbeat(self) -> None:
        assert self.cb
        now = self.clock.now()
        if self.up:
            self.mid *= float(np.exp(self.rng.normal(0, 2e-4)))
            b, bq, a, aq = self.levels()
            self.published_mid = 0.5 * (float(b[0]) + float(a[0]))
            self.cb.on_book(BookUpdate(now, self.name, "BTC/USDT", int(now * 10), b, bq, a, aq))
            n = self.rng.poisson(self.tape_per_s)
            if n:
                sides = self.rng.choice([-1, 1], n).astype(np.int8)
                qtys = self.rng.exponential(0.5, n)
                prices = np.where(sides > 0, a[0], b[0]) + sides * self.rng.exponential(1.0, n)
                self.public_volume += float(qtys.sum())
                self.cb.on_trades(Trades(now, self.name, "BTC/USDT", prices, qtys, sides, np.full(n, now)))
                for order in list(self.resting.values()):
                    through = (
                        prices[(sides < 0) & (prices <= float(order.price))]
                        if order.side is Side.BUY
                        else prices[(sides > 0) & (prices >= float(order.price))]
                    )
                    if len(through):
                        self._fill(
                            order,
                            order.quantity - self.filled.get(order.client_id, Decimal(0)),
                            order.price or Decimal(0),
                            Liquidity.MAKER,
                        )
        self.clock.call_later(1.0, self._heartbeat)

    def _arrive(self, order: ChildOrder) -> None:
        assert self.cb
        now = self.clock.now()
        self.arrived.append(order.client_id)
        if self.rate_limit_per_s is not None:
            self.order_times = [t for t in self.order_times if t > now - 1.0] + [now]
            if len(self.order_times) > self.rate_limit_per_s:
                self.rate_limited += 1
                self.cb.on_order(
                    VenueOrderReport(
                        order.client_id, "", OrderStatus.REJECTED, Decimal(0), now, RejectReason.RATE_LIMITED
                    )
                )
                return
        if not self.up:
            self.cb.on_order(
                VenueOrderReport(order.client_id, "", OrderStatus.REJECTED, Decimal(0), now, RejectReason.VENUE_DOWN)
            )
            return
        self.cb.on_order(VenueOrderReport(order.client_id, "v" + order.client_id, OrderStatus.NEW, Decimal(0), now))
        b, bq, a, aq = self.levels()
        px, qty = (a, aq) if order.side is Side.BUY else (b, bq)
        left = order.quantity
        if order.tif is TimeInForce.IOC or order.price is None:
            for p, q in zip(px, qty, strict=False):
                if order.price is not None and (
                    (order.side is Side.BUY and p > float(order.price))
                    or (order.side is Side.SELL and p < float(order.price))
                ):
                    break
                got = min(left, self._on_lot(q))
                if got > 0:
                    self._fill(order, got, self._on_tick(p), Liquidity.TAKER)
                    left -= got
                if left <= 0:
                    break
            if left > 0:
                self.cb.on_order(
                    VenueOrderReport(
                        order.client_id, "v" + order.client_id, OrderStatus.CANCELED, order.quantity - left, now
                    )
                )
        else:
            self.resting[order.client_id] = order

    def _on_tick(self, price: float) -> Decimal:
        """A ladder level (a float) as the exact price on the tick grid it was built on."""
        tick = self.inst.tick_size
        return (Decimal(repr(float(price))) / tick).to_integral_value() * tick

    def _on_lot(self, qty: float) -> Decimal:
        lot = self.inst.lot_size
        return (Decimal(repr(float(qty))) / lot).to_integral_value() * lot

    def _fill(self, order: ChildOrder, qty: Decimal, price: Decimal, liq: Liquidity) -> None:
        assert self.cb
        if qty <= 0:
            return
        self.trade_seq += 1
        self.filled[order.client_id] = self.filled.get(order.client_id, Decimal(0)) + qty
        if self.filled[order.client_id] >= order.quantity:
            self.resting.pop(order.client_id, None)
        delta = qty if order.side is Side.BUY else -qty
        self.bal["BTC"] += delta
        self.bal["USDT"] -= delta * price
        fee_bps = self.inst.maker_fee_bps if liq is Liquidity.MAKER else self.inst.taker_fee_bps
        self.cb.on_fill(
            Fill(
                order.client_id,
                self.name,
                f"{self.name}-{self.trade_seq}",
                "v" + order.client_id,
                order.side,
                price,
                qty,
                liq,
                price * qty * Decimal(str(fee_bps)) / 10_000,
                "USDT",
                self.clock.now(),
                self.clock.now(),
            )
        )
