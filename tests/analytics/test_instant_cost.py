"""Walking one venue's book and the fee-adjusted consolidated book."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.analytics.instant_cost import (
    VenueBook,
    consolidated_instant_cost,
    venue_instant_cost,
    walk_book,
)


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_buy_walk_by_hand() -> None:
    # asks 100 x1, 101 x2, 102 x3; buy 2.5 against mid 99.5 with a 10 bps taker fee.
    cost = walk_book(a(100, 101, 102), a(1, 2, 3), 2.5, side=1, reference_mid=99.5, taker_fee_bps=10.0)
    assert cost.filled_qty == 2.5
    assert cost.unfilled_qty == 0.0
    assert cost.fully_filled
    assert cost.levels_consumed == 2
    assert cost.notional == pytest.approx(100.0 + 1.5 * 101.0)
    assert cost.avg_price == pytest.approx(251.5 / 2.5)
    assert cost.fee_paid == pytest.approx(0.2515)
    assert cost.avg_effective_price == pytest.approx(100.6 * 1.001)
    assert cost.cost_bps == pytest.approx((100.6 * 1.001 - 99.5) / 99.5 * 1e4)
    assert cost.cost_bps_ex_fees == pytest.approx((100.6 - 99.5) / 99.5 * 1e4)
    assert cost.worst_price == 101.0


def test_sell_walk_by_hand() -> None:
    # bids 99 x1, 98 x1, 97 x5; sell 3 against mid 99.5, fee 20 bps.
    cost = walk_book(a(99, 98, 97), a(1, 1, 5), 3.0, side=-1, reference_mid=99.5, taker_fee_bps=20.0)
    avg = (99 + 98 + 97) / 3.0
    assert cost.avg_price == pytest.approx(avg)
    assert cost.avg_effective_price == pytest.approx(avg * (1 - 0.002))
    assert cost.cost_bps == pytest.approx((99.5 - avg * 0.998) / 99.5 * 1e4)
    assert cost.cost_bps > 0.0
    assert cost.worst_price == 97.0
    assert cost.levels_consumed == 3


def test_thin_book_reports_unfilled_quantity() -> None:
    cost = walk_book(a(100, 101), a(1, 2), 10.0, side=1, reference_mid=99.5)
    assert cost.filled_qty == 3.0
    assert cost.unfilled_qty == 7.0
    assert not cost.fully_filled
    assert cost.avg_price == pytest.approx(302.0 / 3.0)  # cost of what could be filled


def test_venue_cost_uses_the_venues_own_mid() -> None:
    book = VenueBook("x", a(99, 98), a(1, 1), a(101, 102), a(1, 1), taker_fee_bps=0.0)
    buy = venue_instant_cost(book, 1.0, 1)
    sell = venue_instant_cost(book, 1.0, -1)
    assert buy.reference_mid == 100.0
    assert buy.cost_bps == pytest.approx(100.0)
    assert sell.cost_bps == pytest.approx(100.0)


def test_consolidated_walk_orders_levels_by_fee_adjusted_price() -> None:
    # A: cheaper raw ask but 20 bps fee (effective 100.2); B: 100.1 with no fee.
    venue_a = VenueBook("A", a(99.0), a(5.0), a(100.0, 100.5), a(1.0, 5.0), taker_fee_bps=20.0)
    venue_b = VenueBook("B", a(99.1), a(5.0), a(100.1, 100.3), a(1.0, 1.0), taker_fee_bps=0.0)
    result = consolidated_instant_cost([venue_a, venue_b], 2.5, side=1)
    alloc = {x.venue: x for x in result.allocations}
    # Order: B 100.1 (eff 100.1), A 100.0 (eff 100.2), B 100.3 (eff 100.3) -> takes 1 + 1 + 0.5.
    assert alloc["B"].filled_qty == pytest.approx(1.5)
    assert alloc["A"].filled_qty == pytest.approx(1.0)
    assert alloc["B"].levels_consumed == 2
    assert alloc["B"].notional == pytest.approx(100.1 + 0.5 * 100.3)
    assert alloc["A"].fee_paid == pytest.approx(100.0 * 0.002)
    total = result.total
    assert total.filled_qty == pytest.approx(2.5)
    assert total.reference_mid == pytest.approx((99.1 + 100.0) / 2.0)
    spent = 100.1 + 0.5 * 100.3 + 100.0 * 1.002
    assert total.avg_effective_price == pytest.approx(spent / 2.5)
    assert total.cost_bps == pytest.approx((spent / 2.5 - total.reference_mid) / total.reference_mid * 1e4)


def test_consolidated_sell_and_unfilled() -> None:
    venue_a = VenueBook("A", a(99.0, 98.0), a(1.0, 1.0), a(100.0), a(1.0), taker_fee_bps=0.0)
    venue_b = VenueBook("B", a(99.05), a(1.0), a(100.1), a(1.0), taker_fee_bps=10.0)  # eff 98.95
    result = consolidated_instant_cost([venue_a, venue_b], 5.0, side=-1)
    alloc = {x.venue: x for x in result.allocations}
    assert alloc["A"].filled_qty == 2.0
    assert alloc["B"].filled_qty == 1.0
    assert result.total.unfilled_qty == pytest.approx(2.0)
    with pytest.raises(ValueError, match="unique"):
        consolidated_instant_cost([venue_a, venue_a], 1.0, side=-1)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="side"):
        walk_book(a(100), a(1), 1.0, side=0, reference_mid=99.0)
    with pytest.raises(ValueError, match="ascending"):
        walk_book(a(101, 100), a(1, 1), 1.0, side=1, reference_mid=99.0)
    with pytest.raises(ValueError, match="quantity"):
        walk_book(a(100), a(1), -1.0, side=1, reference_mid=99.0)
    with pytest.raises(ValueError, match="non-positive"):
        walk_book(a(100, 101), a(1, 0), 1.0, side=1, reference_mid=99.0)


@st.composite
def venue_books(draw: st.DrawFn, name: str) -> VenueBook:
    n = draw(st.integers(1, 12))
    mid = draw(st.floats(90.0, 110.0))
    steps = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n)))
    qty_b = np.array(draw(st.lists(st.floats(0.01, 10.0), min_size=n, max_size=n)))
    qty_a = np.array(draw(st.lists(st.floats(0.01, 10.0), min_size=n, max_size=n)))
    fee = draw(st.floats(0.0, 30.0))
    return VenueBook(name, mid - np.cumsum(steps), qty_b, mid + np.cumsum(steps), qty_a, fee)


@given(book=venue_books("v"), quantity=st.floats(0.01, 150.0), side=st.sampled_from([1, -1]))
def test_walk_invariants(book: VenueBook, quantity: float, side: int) -> None:
    cost = venue_instant_cost(book, quantity, side)
    assert cost.filled_qty + cost.unfilled_qty == pytest.approx(quantity, rel=1e-12)
    px, qty = book.side_levels(side)
    assert cost.filled_qty == pytest.approx(min(quantity, float(qty.sum())), rel=1e-12)
    assert cost.cost_bps > 0.0  # a taker always pays at least half the spread
    assert cost.cost_bps >= cost.cost_bps_ex_fees - 1e-9
    # Average price lies between the best and the worst level touched.
    assert min(px[0], cost.worst_price) - 1e-9 <= cost.avg_price <= max(px[0], cost.worst_price) + 1e-9
    # Taking more never makes the average price better.
    more = venue_instant_cost(book, quantity * 1.5, side)
    assert more.cost_bps >= cost.cost_bps - 1e-9


@given(
    first=venue_books("a"),
    second=venue_books("b"),
    quantity=st.floats(0.01, 20.0),
    side=st.sampled_from([1, -1]),
)
def test_consolidated_is_never_worse_than_one_venue_alone(
    first: VenueBook, second: VenueBook, quantity: float, side: int
) -> None:
    merged = consolidated_instant_cost([first, second], quantity, side)
    assert merged.total.filled_qty == pytest.approx(sum(x.filled_qty for x in merged.allocations), rel=1e-12)
    for venue in (first, second):
        alone = venue_instant_cost(venue, quantity, side)
        if alone.fully_filled:
            assert merged.total.fully_filled
            # Effective money spent (buy) or received (sell), fees included.
            merged_money = merged.total.avg_effective_price * quantity
            alone_money = alone.avg_effective_price * quantity
            assert side * merged_money <= side * alone_money + 1e-9 * alone_money
    assert not math.isnan(merged.total.avg_price)
