"""Smart order router: decides *where* a slice goes.

Marketable slices walk the consolidated, fee-adjusted book of the allowed venues up to the price
cap and send each venue what its levels can give. Passive slices are split by a venue score:
depth at our side of the touch × recent fill rate × (1 − toxicity) × preference / (1 + maker fee)
(preference: the adaptive policy's per-venue weight, 1 for every other algo). Every
allocation is capped by the venue's available balance less what our working orders there lock,
rounded down to the venue's lot, and dropped below the venue's minimum.

This module is the one place where the execution tick's floats become a venue's lots and ticks
(`child_values`): everything after it — the risk gate, `Engine.send_child`, the OMS — carries
`Quantity` and `Price` made by the venue's instrument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from core.events import BookUpdate
from core.types import Price, Quantity, Side, VenueInstrument


@dataclass(slots=True)
class VenueRouting:
    """What the router knows about one venue."""

    instrument: VenueInstrument
    book: BookUpdate | None
    taker_fee_bps: float
    maker_fee_bps: float
    capacity: float  # base units we may still send there (balance − locked, aggregate caps)
    toxicity: float = 0.0  # 0 neutral … 1 avoid (fed by surveillance)
    fill_rate: float = 1.0  # recent passive fill ratio (neutral prior 1)
    preference: float = 1.0  # > 1 favour, < 1 disfavour (the adaptive policy's per-venue weight)
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Allocation:
    """One child to send: on `venue`'s lot and tick grid, at or above its minimum size."""

    venue: str
    quantity: Quantity
    price: Price  # limit price (marketable: worst level taken, capped; passive: where to rest)


def child_values(
    inst: VenueInstrument, side: Side, quantity: float | Decimal, price: float | Decimal, passive: bool
) -> tuple[Quantity, Price] | None:
    """A float size and price as a child the venue accepts, or None when it is below the venue's
    minimum size or notional (dropped: the schedule sends it later, merged with the next slice).

    The size is floored to whole lots (never more than asked). The price is snapped to the tick:
    passive (a resting order) never improves on `price` for `side` — a buy rounds down, a sell
    up; marketable (`passive=False`, `price` the worst level to take) rounds toward reaching the
    level — a buy up, a sell down (`VenueInstrument.round_price`)."""
    q = inst.floor_quantity(quantity)
    p = inst.round_price(price, side, passive=passive)
    if q.lots <= 0 or p.ticks <= 0 or inst.check_order(p, q) is not None:
        return None
    return q, p


@dataclass(slots=True)
class Router:
    improve_when_spread_ticks: int = 3  # passive: step inside the spread when it is this wide
    min_weight: float = 1e-9
    venues: dict[str, VenueRouting] = field(default_factory=dict)

    def marketable(self, side: Side, quantity: float, price_cap: float) -> list[Allocation]:
        """Take liquidity up to `price_cap` (buy: ≤ cap, sell: ≥ cap), cheapest fee-adjusted first."""
        levels: list[tuple[float, float, float, str]] = []  # (effective, price, qty, venue)
        for name, v in self.venues.items():
            if not v.enabled or v.book is None or v.capacity <= 0 or v.toxicity >= 1.0:
                continue
            px, qty = (v.book.ask_px, v.book.ask_qty) if side is Side.BUY else (v.book.bid_px, v.book.bid_qty)
            fee = v.taker_fee_bps * 1e-4
            for p, q in zip(px.tolist(), qty.tolist(), strict=False):
                if (side is Side.BUY and p > price_cap) or (side is Side.SELL and p < price_cap):
                    break
                effective = p * (1 + fee) if side is Side.BUY else -p * (1 - fee)
                # toxic venues look worse than they are, so cleaner liquidity is taken first
                # toxic or disfavoured venues look slightly worse than they are, favoured ones slightly
                # better, so at equal prices the preferred liquidity is taken first
                tilt = 1e-3 * v.toxicity - 1e-4 * math.log(v.preference)
                levels.append((effective * (1 + math.copysign(1.0, effective) * tilt), p, q, name))
        levels.sort(key=lambda lv: lv[0])
        take: dict[str, float] = {}
        worst: dict[str, float] = {}
        left = quantity
        for _, p, q, name in levels:
            if left <= 0:
                break
            room = self.venues[name].capacity - take.get(name, 0.0)
            got = min(q, left, room)
            if got <= 0:
                continue
            take[name] = take.get(name, 0.0) + got
            worst[name] = p
            left -= got
        return self._finish(side, take, worst, passive=False)

    def passive(self, side: Side, quantity: float) -> list[Allocation]:
        """Rest `quantity` at (or one tick inside) each venue's touch, split by venue score."""
        weights: dict[str, float] = {}
        prices: dict[str, float] = {}
        for name, v in self.venues.items():
            if not v.enabled or v.book is None or v.capacity <= 0 or not len(v.book.bid_px) or not len(v.book.ask_px):
                continue
            bid, ask = float(v.book.bid_px[0]), float(v.book.ask_px[0])
            tick = float(v.instrument.tick_size)
            touch_qty = float(np.sum((v.book.bid_qty if side is Side.BUY else v.book.ask_qty)[:5]))
            score = touch_qty * v.fill_rate * (1.0 - v.toxicity) * v.preference / (1.0 + v.maker_fee_bps * 1e-4)
            if score <= self.min_weight:
                continue
            weights[name] = score
            improve = (ask - bid) >= self.improve_when_spread_ticks * tick
            if side is Side.BUY:
                prices[name] = bid + tick if improve else bid
            else:
                prices[name] = ask - tick if improve else ask
        total = sum(weights.values())
        if total <= 0:
            return []
        take = {name: min(quantity * w / total, self.venues[name].capacity) for name, w in weights.items()}
        return self._finish(side, take, prices, passive=True)

    def _finish(self, side: Side, take: dict[str, float], price: dict[str, float], passive: bool) -> list[Allocation]:
        out: list[Allocation] = []
        for name, qty in take.items():
            values = child_values(self.venues[name].instrument, side, qty, price[name], passive)
            if values is not None:
                out.append(Allocation(name, *values))
        return out
