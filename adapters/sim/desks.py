"""Simulated OTC desks behind the engine's `LiquidityProvider` port.

Each desk (scenario `[[desks]]`) answers a request after a response delay with a quote around the
consolidated mid of the simulated venues:

    distance_bps = base_spread + size_spread·√(q/100) + ttl_spread·(ttl/10 s) − side·skew

(a seller gets mid·(1 − distance), a buyer mid·(1 + distance)); the quote's time to live is drawn
in the desk's `expiry_s` range. Spreads widening with size and quote life follow public
descriptions of block RFQ pricing (dealers charge for inventory risk ∝ σ√size and for the option
a firm quote gives the taker). An *axed* desk — one that wants the other side of our trade during
its axe window, from the evaluation timeline — quotes up to its axe size through the exchanges'
touch by its improvement and keeps the quote firm for the axe's expiry (the brief's 10 minutes).

Pre-hedging: a desk with `prehedge_fraction` > 0 trades that share of the *requested* size on the
exchanges in our direction right after the request (market orders spread over 30 s) — the
information leakage a requester pays for disclosing size. Post-trade layoff: a fill outside an
axe does not vanish from the market — the desk internalizes part of it against its other flow and
lays `layoff_fraction` of it off on the exchanges in our direction, in equal market-order slices
every `LAYOFF_SLICE_S` over `layoff_s` (default half over 30 minutes; an assumption, not a
calibration: dealers' internalization rates are private and vary). A fill into an axe is not
laid off: the axe is the desk's own need for the other side. Last look: a non-firm desk may reject
an accept within `last_look_ms` with probability `last_look_reject_prob`, and always when the mid
has moved against it by more than the quote's edge. A quote is never filled after its expiry.
Desk randomness is drawn from each desk's own stream (`SeedTree`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np

from adapters.sim.exchange import SimExchange
from adapters.sim.scenario import DeskConfig
from core.ports import OtcExecution, Quote
from core.types import Side

RESPONSE_DELAY_S = (0.5, 3.0)
PREHEDGE_SPREAD_S = 30.0
PREHEDGE_SLICES = 10
LAYOFF_SLICE_S = 30.0


class SimDesk:
    def __init__(self, exchange: SimExchange, config: DeskConfig, index: int, rng: np.random.Generator) -> None:
        self.exchange = exchange
        self.config = config
        self.index = index
        self.name = config.name
        self.rng = rng
        self._n = 0
        self._own_order_ids = 10_000_000 * (index + 1)
        self.quotes: dict[str, Quote] = {}
        self.prehedged_qty = 0.0
        self.laid_off_qty = 0.0  # sent to the exchanges after our fills (scheduled so far)
        self.filled_qty = 0.0
        self._listeners: list[Callable[[str], None]] = []
        self.axe_filled = 0.0  # what the axe has absorbed so far
        for ev in exchange.market.eval_log.windows("axe"):
            if int(ev.params.get("desk", -1)) == index:
                exchange.clock.call_at(exchange.to_ts(ev.start_s), self._announce_axe)

    def set_indication_listener(self, callback: Callable[[str], None]) -> None:
        """Axe indications: the desk tells its clients it has appetite (they then ask it for a quote)."""
        self._listeners.append(callback)

    def _announce_axe(self) -> None:
        for callback in self._listeners:
            callback(self.name)

    # ---- helpers ------------------------------------------------------------------------------

    def _mid(self) -> float:
        m = self.exchange.market
        mids = [m.mid(v) for v in range(len(m.venues)) if m.is_up(v)]
        mids = [x for x in mids if not math.isnan(x)]
        return float(np.mean(mids)) if mids else math.nan

    def _axe(self, t_s: float) -> dict[str, float] | None:
        for ev in self.exchange.market.eval_log.windows("axe"):
            if int(ev.params.get("desk", -1)) == self.index and ev.start_s <= t_s <= ev.end_s:
                return {"qty": ev.params["qty"], "improvement_bps": ev.params["improvement_bps"], "end_s": ev.end_s}
        return None

    def _touch(self, side: Side) -> float:
        """The exchanges' best price for our side: best bid for a seller, best ask for a buyer."""
        m = self.exchange.market
        prices = [m.best(v)[0 if side is Side.SELL else 1] for v in range(len(m.venues)) if m.is_up(v)]
        prices = [p for p in prices if not math.isnan(p)]
        if not prices:
            return math.nan
        return max(prices) if side is Side.SELL else min(prices)

    # ---- port ---------------------------------------------------------------------------------

    def request_quote(
        self, rfq_id: str, symbol: str, side: Side, quantity: Decimal, on_quote: Callable[[Quote], None]
    ) -> None:
        cfg = self.config
        clock = self.exchange.clock
        if cfg.prehedge_fraction > 0:
            self._prehedge(side, float(quantity) * cfg.prehedge_fraction)
        delay = float(self.rng.uniform(*RESPONSE_DELAY_S))

        def answer() -> None:
            self.exchange.catch_up()
            t_s = self.exchange.market.now_s
            mid = self._mid()
            if math.isnan(mid):
                return  # the desk does not quote into a dark market
            axe = self._axe(t_s)
            ttl = float(self.rng.uniform(*cfg.expiry_s))
            qty = min(float(quantity), cfg.max_qty)
            if axe is not None and axe["qty"] - self.axe_filled > 0:
                qty = max(qty, axe["qty"] - self.axe_filled)  # an axe offers more than was asked
                touch = self._touch(side)
                price = touch * (1 - side.sign * axe["improvement_bps"] * 1e-4)
                ttl = max(axe["end_s"] - t_s, 1.0)
            else:
                axe = None
                # positive skew: the desk wants to buy, so sellers get a better price and buyers a worse one
                skew = cfg.skew_bps if side is Side.SELL else -cfg.skew_bps
                dist = (
                    cfg.base_spread_bps
                    + cfg.size_spread_bps_per_sqrt_100 * math.sqrt(qty / 100.0)
                    + cfg.ttl_spread_bps_per_10s * ttl / 10.0
                    - skew
                )
                price = mid * (1 + side.sign * dist * 1e-4)  # a seller gets less than mid, a buyer pays more
            self._n += 1
            now = clock.now()
            tick = Decimal(repr(self.exchange.venues[0].spec.tick_size))
            lot = Decimal(repr(self.exchange.venues[0].spec.lot_size))
            px = (Decimal(repr(price)) / tick).to_integral_value(ROUND_FLOOR if side is Side.SELL else ROUND_CEILING)
            q = (Decimal(repr(qty)) / lot).to_integral_value(ROUND_FLOOR) * lot
            quote = Quote(
                f"{self.name}-{self._n}",
                rfq_id,
                self.name,
                side,
                q,
                px * tick,
                now,
                now + ttl,
                last_look=not cfg.firm,
                min_quantity=lot,
            )
            self.quotes[quote.quote_id] = quote
            on_quote(quote)

        clock.call_later(delay, answer)

    def accept(self, quote: Quote, quantity: Decimal, on_result: Callable[[OtcExecution], None]) -> None:
        cfg = self.config
        clock = self.exchange.clock
        accept_ts = clock.now()
        delay = cfg.last_look_ms / 1000.0 if not cfg.firm else 0.05

        def answer() -> None:
            now = clock.now()
            if accept_ts >= quote.expires_ts:
                on_result(OtcExecution(quote.quote_id, Decimal(0), quote.price, "", now, "quote expired"))
                return
            if not cfg.firm:
                mid = self._mid()
                # the desk walks away when the market moved through its price, or by its habit
                against = (quote.side is Side.SELL and mid < float(quote.price)) or (
                    quote.side is Side.BUY and mid > float(quote.price)
                )
                if against or self.rng.random() < cfg.last_look_reject_prob:
                    on_result(OtcExecution(quote.quote_id, Decimal(0), quote.price, "", now, "last look"))
                    return
            qty = min(quantity, quote.quantity)
            self.filled_qty += float(qty)
            if self._axe(self.exchange.market.now_s) is not None:
                self.axe_filled += float(qty)
            elif cfg.layoff_fraction > 0 and qty > 0:
                self._lay_off(quote.side, float(qty) * cfg.layoff_fraction)
            self._n += 1
            on_result(OtcExecution(quote.quote_id, qty, quote.price, f"otc:{self.name}-{self._n}", now))

        clock.call_later(delay, answer)

    # ---- the desk's own exchange trading: pre-hedging and post-trade layoff -------------------

    def _prehedge(self, our_side: Side, qty: float) -> None:
        """Trade in our direction on the deepest venue ahead of the quote (information leakage)."""
        self.prehedged_qty += self._trade_in_slices(our_side.sign, qty, PREHEDGE_SLICES, PREHEDGE_SPREAD_S)

    def _lay_off(self, our_side: Side, qty: float) -> None:
        """After buying from a seller (selling to a buyer), unwind that share on the exchanges."""
        slices = max(1, round(self.config.layoff_s / LAYOFF_SLICE_S))
        self.laid_off_qty += self._trade_in_slices(our_side.sign, qty, slices, self.config.layoff_s)

    def _trade_in_slices(self, direction: int, qty: float, slices: int, over_s: float) -> float:
        """Market orders of equal lots on the deepest venue, `slices` of them evenly over `over_s`;
        returns the quantity scheduled (whole lots)."""
        ex = self.exchange
        m = ex.market
        lot = ex.venues[0].spec.lot_size
        per = math.floor(qty / slices / lot) * lot
        if per <= 0:
            return 0.0

        def slice_once() -> None:
            ex.catch_up()
            self._own_order_ids += 1
            # these orders belong to no SimVenue: the exchange ignores their fills (the desk's account)
            m.submit(0, self._own_order_ids, direction, None, per, ioc=True)

        for k in range(slices):
            ex.clock.call_later(over_s * k / slices, slice_once)
        return per * slices
