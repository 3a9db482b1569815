"""Pre-trade check chain: each rule is small, named, and says why it refused.

A rule sees an `OrderProposal` (what would be sent) and a `RiskContext` (what the engine knows:
reference mids, open orders, recent volume, balances, the parent) and returns None to pass or a
refusal text naming the limit. Rules never send, cancel or queue — the gate does that.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from core.orders import ChildOrder, TimeInForce
from core.parent import ParentOrder
from core.types import Price, Quantity, Side


@dataclass(frozen=True, slots=True)
class OrderProposal:
    """A child the engine would send: its size and price are made by the venue's instrument
    (`Engine.send_child` checks them against the venue's grid); `price` None is a market order.
    An OTC acceptance (`otc`) carries the desk's exact size and price instead."""

    parent_id: str
    venue: str
    symbol: str
    side: Side
    quantity: Quantity
    price: Price | None
    tif: TimeInForce
    account: str = "default"

    def __post_init__(self) -> None:
        if not isinstance(self.quantity, Quantity) or not (self.price is None or isinstance(self.price, Price)):
            raise TypeError(
                f"an order proposal takes a Quantity and a Price made by the venue's instrument, got "
                f"{type(self.quantity).__name__} and {type(self.price).__name__}"
            )

    @classmethod
    def otc(
        cls, parent_id: str, venue: str, symbol: str, side: Side, quantity: Decimal, price: Decimal, account: str
    ) -> OrderProposal:
        """An OTC acceptance: no venue grid, so the desk's size and quote are taken exactly."""
        return cls(parent_id, venue, symbol, side, Quantity.exact(quantity), Price.exact(price), TimeInForce.IOC,
                   account)


@dataclass(slots=True)
class RiskLimits:
    """Defaults documented in docs/risk.md. Hard limits are supervisor-owned."""

    max_child_qty: float = 50.0  # base units
    max_child_notional: float = 5_000_000.0  # quote
    price_band_bps: float = 300.0  # fat finger: child price within ±band of the venue mid
    max_participation: float = 0.5  # of recent volume on that venue (window below)
    participation_window_s: float = 300.0
    participation_min_volume: float = 1.0  # below this recent volume the rule does not judge
    max_open_orders_per_venue: int = 200
    max_venue_exposure_notional: float = 50_000_000.0  # open notional per venue
    duplicate_window_s: float = 1.0
    max_parent_notional: float = 200_000_000.0  # per parent (hard)
    max_daily_notional: float = 1_000_000_000.0  # per trader and day (hard)
    four_eyes_notional: float = 100_000_000.0  # parents above this wait for a supervisor
    desk_credit_limit: float = 30_000_000.0  # unsettled OTC notional per desk


@dataclass(slots=True)
class RiskContext:
    now: float
    limits: RiskLimits
    parent: ParentOrder | None
    mid: Callable[[str], float]  # venue → mid (nan when unknown)
    open_children: Callable[[str | None], list[ChildOrder]]  # venue (None = all) → our open children
    recent_volume: Callable[[str, float], float]  # (venue, window_s) → others' traded volume
    recent_sent: list[tuple[float, OrderProposal]] = field(default_factory=list)
    our_recent_volume: Callable[[str, float], float] = lambda venue, window: 0.0


class Rule(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, p: OrderProposal, ctx: RiskContext) -> str | None: ...


@dataclass(frozen=True, slots=True)
class MaxChildQuantity:
    name: str = "max_child_qty"

    def check(self, p: OrderProposal, ctx: RiskContext) -> str | None:
        limit = ctx.limits.max_child_qty
        return None if float(p.quantity) <= limit else f"child quantity {p.quantity} above max_child_qty {limit:g}"


@dataclass(frozen=True, slots=True)
class MaxChildNotional:
    name: str = "max_child_notional"

    def check(self, p: OrderProposal, ctx: RiskContext) -> str | None:
        price = float(p.price) if p.price is not None else ctx.mid(p.venue)
        notional = float(p.quantity) * price
        limit = ctx.limits.max_child_notional
        if math.isnan(notional):
            return "no reference price to value a market order"
        return None if notional <= limit else f"child notional {notional:,.0f} above max_child_notional {limit:,.0f}"


@dataclass(frozen=True, slots=True)
class PriceBand:
    """Fat-finger check: the child's price within ±band of the venue's mid."""

    name: str = "price_band"

    def check(self, p: OrderProposal, ctx: RiskContext) -> str | None:
        mid = ctx.mid(p.venue)
        if math.isnan(mid):
            return f"no market data on {p.venue}: cannot check the price band"
        if p.price is None:
            return None
        dev_bps = abs(float(p.price) - mid) / mid * 1e4
        band = ctx.limits.price_band_bps
        return (
            None if dev_bps <= band else f"price {p.price} is {dev_bps:.0f} bps from mid {mid:.2f} (band {band:g} bps)"
        )


@dataclass(frozen=True, slots=True)
class ParentLimit:
    name: str = "parent_limit"

    def check(self, p: OrderProposal, ctx: RiskContext) -> str | None:
        parent = ctx.parent
        if parent is None or parent.limit_price is None:
            return None
        if p.price is None:
            return f"market order refused: parent {parent.parent_id} has a limit price {parent.limit_price}"
        ok = p.price.value <= parent.limit_price if p.side is Side.BUY else p.price.value >= parent.limit_price
        return None if ok else f"price {p.price} beyond parent limit {parent.limit_price}"


@dataclass(frozen=True, slots=True)
class MaxParticipation:
    """Our volume on the venue over the window, including this child, against others' volume."""

    name: str = "max_participation"

    def check(self, p: OrderProposal, ctx: RiskContext) -> str | None:
        lim = ctx.limits
        others = ctx.recent_volume(p.venue, lim.participation_window_s)
        if others < lim.participation_min_volume:
            return None
        ours = ctx.our_recent_volume(p.venue, lim.participation_window_s) + float(p.quantity)
        share = ours / (ours + others)
        return (
            None
            if share <= lim.max_participation
            else (
                f"would take {share:.0%} of recent volume on {p.venue} (max_participation {lim.max_participation:.0%})"
            )
        )

    def room(self, venue: str, ctx: RiskContext, queued: float) -> float:
        """The most we may still send to `venue` (base units, all parents together) before `check`
        refuses a child there: our recent volume, the child included, may reach p/(1 − p) × others'
        recent volume. Our IOC children still in flight and the `queued` children waiting for the
        venue's message budget count as already ours (their fills land on the tape later). inf when
        the rule does not judge (others' recent volume below `participation_min_volume`, or p ≥ 1).
        A hair under the boundary, so float rounding in `check`'s share never tips it over."""
        lim = ctx.limits
        others = ctx.recent_volume(venue, lim.participation_window_s)
        if others < lim.participation_min_volume:
            return math.inf
        p = lim.max_participation
        if p >= 1.0:
            return math.inf
        ours = ctx.our_recent_volume(venue, lim.participation_window_s)
        in_flight = sum(float(c.leaves) for c in ctx.open_children(venue) if c.tif is TimeInForce.IOC)
        in_flight += queued
        return max(p / (1.0 - p) * others * (1.0 - 1e-9) - ours - in_flight, 0.0)


@dataclass(frozen=True, slots=True)
class MaxOpenOrders:
    name: str = "max_open_orders"

    def check(self, p: OrderProposal, ctx: RiskContext) -> str | None:
        n = len(ctx.open_children(p.venue))
        limit = ctx.limits.max_open_orders_per_venue
        return None if n < limit else f"{n} open orders on {p.venue} (max_open_orders_per_venue {limit})"


@dataclass(frozen=True, slots=True)
class VenueExposure:
    name: str = "venue_exposure"

    def check(self, p: OrderProposal, ctx: RiskContext) -> str | None:
        mid = ctx.mid(p.venue)
        open_notional = sum(float(c.leaves) * float(c.price or mid) for c in ctx.open_children(p.venue))
        new = float(p.quantity) * float(p.price if p.price is not None else mid)
        limit = ctx.limits.max_venue_exposure_notional
        total = open_notional + new
        return None if total <= limit else f"open notional on {p.venue} would be {total:,.0f} (max {limit:,.0f})"


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The same parent, venue, side, price and quantity within the window is a duplicate."""

    name: str = "duplicate"

    def check(self, p: OrderProposal, ctx: RiskContext) -> str | None:
        window = ctx.limits.duplicate_window_s
        for ts, q in reversed(ctx.recent_sent):
            if ctx.now - ts > window:
                break
            if q == p:
                return f"identical child sent {ctx.now - ts:.3f} s ago (duplicate_window_s {window:g})"
        return None


@dataclass(frozen=True, slots=True)
class SelfTrade:
    """Never cross our own resting order (any parent, any account) on the same venue."""

    name: str = "self_trade"

    def check(self, p: OrderProposal, ctx: RiskContext) -> str | None:
        for c in ctx.open_children(p.venue):
            if c.side is p.side or c.price is None or c.instrument.symbol != p.symbol:
                continue
            crosses = p.price is None or (p.price.value >= c.price if p.side is Side.BUY else p.price.value <= c.price)
            if crosses:
                return f"would trade against our own order {c.client_id} at {c.price} on {p.venue}"
        return None


DEFAULT_RULES: tuple[Rule, ...] = (
    MaxChildQuantity(),
    MaxChildNotional(),
    PriceBand(),
    ParentLimit(),
    MaxParticipation(),
    MaxOpenOrders(),
    VenueExposure(),
    Duplicate(),
    SelfTrade(),
)
