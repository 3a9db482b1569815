"""Cost of executing a block right now by walking the visible book (one venue or consolidated).

Sign conventions: ``side = +1`` buys and walks the asks, ``side = -1`` sells and walks the bids.
A cost in bps is positive when the trader is worse off than the reference mid:
``cost_bps = side * (avg_effective_price - mid) / mid * 1e4``.

Fees: a taker fee of ``f`` bps is charged on the traded notional, so a buyer's effective price
per unit is ``price * (1 + f/1e4)`` and a seller's ``price * (1 - f/1e4)``.

Source: this is the mechanical "walk the book" cost (the instantaneous-execution cost of
Almgren & Chriss 2000's immediate strategy evaluated on the actual book instead of a linear
impact function); nothing here is a model. Depth beyond the last visible level is unknown,
so any quantity the book cannot fill is reported as ``unfilled_qty``, never extrapolated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.analytics.snapshot import merge_book_sides, validate_book_side

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class InstantCost:
    """Result of walking one venue's book for ``requested_qty`` base units.

    ``avg_price`` is the volume-weighted fill price before fees, ``avg_effective_price``
    includes the taker fee. Both are NaN when nothing could be filled. ``cost_bps`` (fee
    included) and ``cost_bps_ex_fees`` are measured on the filled part only against
    ``reference_mid``; ``unfilled_qty > 0`` means the visible book was too thin.
    """

    side: int
    requested_qty: float
    filled_qty: float
    unfilled_qty: float
    avg_price: float
    avg_effective_price: float
    worst_price: float
    reference_mid: float
    notional: float
    fee_paid: float
    cost_bps: float
    cost_bps_ex_fees: float
    levels_consumed: int
    taker_fee_bps: float

    @property
    def fully_filled(self) -> bool:
        return self.unfilled_qty == 0.0


@dataclass(frozen=True, slots=True)
class VenueBook:
    """One venue's L2 book (float64 arrays, best first) and its taker fee in bps."""

    name: str
    bid_px: FloatArray
    bid_qty: FloatArray
    ask_px: FloatArray
    ask_qty: FloatArray
    taker_fee_bps: float = 0.0

    def side_levels(self, side: int) -> tuple[FloatArray, FloatArray]:
        """Levels a taker of ``side`` consumes: asks for a buy, bids for a sell."""
        return (self.ask_px, self.ask_qty) if side > 0 else (self.bid_px, self.bid_qty)

    @property
    def mid(self) -> float:
        return 0.5 * (float(self.bid_px[0]) + float(self.ask_px[0]))


@dataclass(frozen=True, slots=True)
class VenueAllocation:
    """One venue's share of a consolidated walk (``avg_price`` NaN when it got nothing)."""

    venue: str
    filled_qty: float
    notional: float
    fee_paid: float
    avg_price: float
    levels_consumed: int


@dataclass(frozen=True, slots=True)
class ConsolidatedCost:
    """Walk of the fee-adjusted consolidated book; ``total`` is measured against the
    consolidated mid (average of the best bid and best ask over all venues)."""

    total: InstantCost
    allocations: tuple[VenueAllocation, ...]


def walk_book(
    px: FloatArray,
    qty: FloatArray,
    quantity: float,
    side: int,
    reference_mid: float,
    taker_fee_bps: float = 0.0,
) -> InstantCost:
    """Walk one side of a book (``px``/``qty`` best first) for ``quantity`` base units.

    ``px``/``qty`` must be the side the taker consumes (asks for ``side=+1``, bids for
    ``side=-1``). ``reference_mid`` is the mid the cost is measured against.
    """
    _check_order(quantity, side, taker_fee_bps)
    validate_book_side(px, qty, descending=side < 0, name="ask" if side > 0 else "bid")
    take = _take_quantities(qty, quantity)
    return _summarize(px, take, quantity, side, reference_mid, taker_fee_bps)


def venue_instant_cost(book: VenueBook, quantity: float, side: int) -> InstantCost:
    """Walk ``book`` for ``quantity`` on ``side``, cost measured against the venue's own mid."""
    px, qty = book.side_levels(side)
    return walk_book(px, qty, quantity, side, book.mid, book.taker_fee_bps)


def consolidated_instant_cost(venues: Sequence[VenueBook], quantity: float, side: int) -> ConsolidatedCost:
    """Walk all venues' levels in order of fee-adjusted effective price.

    Levels are merged by effective price (buy: ``price * (1 + fee)``, ascending; sell:
    ``price * (1 - fee)``, descending); ties go to the venue listed first, then the better
    raw level. This greedy order is the cheapest way to take ``quantity`` from the visible
    books. The cost is measured against the consolidated mid (fees ignored for the mid).
    """
    if not venues:
        raise ValueError("consolidated_instant_cost needs at least one venue")
    names = [v.name for v in venues]
    if len(set(names)) != len(names):
        raise ValueError(f"venue names must be unique, got {names}")
    for venue in venues:
        _check_order(quantity, side, venue.taker_fee_bps)
        validate_book_side(venue.bid_px, venue.bid_qty, descending=True, name=f"{venue.name} bid")
        validate_book_side(venue.ask_px, venue.ask_qty, descending=False, name=f"{venue.name} ask")

    px_parts: list[FloatArray] = []
    qty_parts: list[FloatArray] = []
    venue_parts: list[IntArray] = []
    level_parts: list[IntArray] = []
    fee_parts: list[FloatArray] = []
    for index, venue in enumerate(venues):
        px, qty = venue.side_levels(side)
        px_parts.append(px)
        qty_parts.append(qty)
        venue_parts.append(np.full(px.shape[0], index, dtype=np.int64))
        level_parts.append(np.arange(px.shape[0], dtype=np.int64))
        fee_parts.append(np.full(px.shape[0], venue.taker_fee_bps, dtype=np.float64))
    all_px = np.concatenate(px_parts)
    all_qty = np.concatenate(qty_parts)
    all_venue = np.concatenate(venue_parts)
    all_level = np.concatenate(level_parts)
    all_fee = np.concatenate(fee_parts)
    effective = all_px * (1.0 + side * all_fee * 1e-4)
    # lexsort: last key is primary. Buy wants the lowest effective price, sell the highest.
    order = np.lexsort((all_level, all_venue, side * effective))
    take_sorted = _take_quantities(all_qty[order], quantity)
    take = np.zeros_like(all_qty)
    take[order] = take_sorted

    filled = float(take.sum())
    notional = float(np.sum(take * all_px))
    fee_paid = float(np.sum(take * all_px * all_fee * 1e-4))
    merged_bid, _ = merge_book_sides([(v.bid_px, v.bid_qty) for v in venues], descending=True)
    merged_ask, _ = merge_book_sides([(v.ask_px, v.ask_qty) for v in venues], descending=False)
    mid = 0.5 * (float(merged_bid[0]) + float(merged_ask[0]))
    total = _from_totals(
        side=side,
        requested_qty=quantity,
        filled=filled,
        notional=notional,
        fee_paid=fee_paid,
        worst_price=_worst_price(all_px, take, side),
        reference_mid=mid,
        levels=int(np.count_nonzero(take)),
        # Effective fee rate of the whole fill, so avg_effective_price is consistent.
        taker_fee_bps=fee_paid / notional * 1e4 if notional > 0.0 else 0.0,
    )
    allocations = []
    for index, venue in enumerate(venues):
        mask = all_venue == index
        v_take = take[mask]
        v_notional = float(np.sum(v_take * all_px[mask]))
        v_filled = float(v_take.sum())
        allocations.append(
            VenueAllocation(
                venue=venue.name,
                filled_qty=v_filled,
                notional=v_notional,
                fee_paid=v_notional * venue.taker_fee_bps * 1e-4,
                avg_price=v_notional / v_filled if v_filled > 0.0 else float("nan"),
                levels_consumed=int(np.count_nonzero(v_take)),
            )
        )
    return ConsolidatedCost(total=total, allocations=tuple(allocations))


def _take_quantities(qty: FloatArray, quantity: float) -> FloatArray:
    """Quantity taken from each level when walking ``qty`` (in walk order) for ``quantity``."""
    cumulative_before = np.concatenate(([0.0], np.cumsum(qty)[:-1]))
    return np.clip(quantity - cumulative_before, 0.0, qty)


def _summarize(
    px: FloatArray, take: FloatArray, quantity: float, side: int, reference_mid: float, taker_fee_bps: float
) -> InstantCost:
    notional = float(np.sum(take * px))
    return _from_totals(
        side=side,
        requested_qty=quantity,
        filled=float(take.sum()),
        notional=notional,
        fee_paid=notional * taker_fee_bps * 1e-4,
        worst_price=_worst_price(px, take, side),
        reference_mid=reference_mid,
        levels=int(np.count_nonzero(take)),
        taker_fee_bps=taker_fee_bps,
    )


def _from_totals(
    *,
    side: int,
    requested_qty: float,
    filled: float,
    notional: float,
    fee_paid: float,
    worst_price: float,
    reference_mid: float,
    levels: int,
    taker_fee_bps: float,
) -> InstantCost:
    if filled > 0.0:
        avg = notional / filled
        avg_eff = (notional + side * fee_paid) / filled
        cost_bps = side * (avg_eff - reference_mid) / reference_mid * 1e4
        cost_ex = side * (avg - reference_mid) / reference_mid * 1e4
    else:
        avg = avg_eff = cost_bps = cost_ex = float("nan")
    # Clamp round-off so a fully filled order reports exactly zero unfilled.
    unfilled = max(requested_qty - filled, 0.0)
    if unfilled <= 1e-12 * max(requested_qty, 1.0):
        unfilled = 0.0
    return InstantCost(
        side=side,
        requested_qty=requested_qty,
        filled_qty=filled,
        unfilled_qty=unfilled,
        avg_price=avg,
        avg_effective_price=avg_eff,
        worst_price=worst_price,
        reference_mid=reference_mid,
        notional=notional,
        fee_paid=fee_paid,
        cost_bps=cost_bps,
        cost_bps_ex_fees=cost_ex,
        levels_consumed=levels,
        taker_fee_bps=taker_fee_bps,
    )


def _worst_price(px: FloatArray, take: FloatArray, side: int) -> float:
    touched = px[take > 0.0]
    if touched.shape[0] == 0:
        return float("nan")
    return float(touched.max()) if side > 0 else float(touched.min())


def _check_order(quantity: float, side: int, taker_fee_bps: float) -> None:
    if side not in (1, -1):
        raise ValueError(f"side must be +1 (buy) or -1 (sell), got {side}")
    if not np.isfinite(quantity) or quantity <= 0.0:
        raise ValueError(f"quantity must be a positive number of base units, got {quantity}")
    if not np.isfinite(taker_fee_bps) or not 0.0 <= taker_fee_bps < 1e4:
        raise ValueError(f"taker fee must be in [0, 10000) bps, got {taker_fee_bps}")
