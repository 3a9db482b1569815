"""The order state-transition table, exhaustively, and properties over random event sequences."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.orders import (
    OPEN,
    TRANSITIONS,
    ChildOrder,
    Fill,
    IllegalTransition,
    Liquidity,
    OrderEvent,
    OrderStatus,
    TimeInForce,
)
from core.types import Instrument, Side

BTC = Instrument("BTC", "USDT")


def make_child(qty: str = "10", status: OrderStatus = OrderStatus.PENDING_NEW, filled: str = "0") -> ChildOrder:
    return ChildOrder("P1-000001", "P1", "venueA", BTC, Side.SELL, Decimal(qty), Decimal("50000"),
                      TimeInForce.GTC, 0.0, status=status, filled=Decimal(filled))


def make_fill(qty: str, trade_id: str, price: str = "50000") -> Fill:
    return Fill("P1-000001", "venueA", trade_id, "V1", Side.SELL, Decimal(price), Decimal(qty),
                Liquidity.MAKER, Decimal("0.1"), "USDT", 1.0, 1.001)


@pytest.mark.parametrize(("status", "event"), list(itertools.product(OrderStatus, OrderEvent)))
def test_every_state_event_pair_moves_as_the_table_says_or_raises(status: OrderStatus, event: OrderEvent) -> None:
    for filled in ("0", "4"):
        child = make_child(status=status, filled=filled)
        expected = TRANSITIONS.get((status, event))
        if expected is None:
            with pytest.raises(IllegalTransition):
                child.transition(event)
            assert child.status is status  # an illegal event changes nothing
        elif expected == OPEN:
            assert child.transition(event) is (OrderStatus.PARTIALLY_FILLED if filled != "0" else OrderStatus.NEW)
        else:
            assert child.transition(event) is expected


def test_timeout_goes_to_unknown_never_rejected() -> None:
    for status in OrderStatus:
        target = TRANSITIONS.get((status, OrderEvent.TIMEOUT))
        assert target in (None, OrderStatus.UNKNOWN)


def test_fill_after_cancel_request_and_after_cancel_is_kept() -> None:
    child = make_child()
    child.transition(OrderEvent.ACK)
    child.transition(OrderEvent.CANCEL_REQUEST)
    assert child.apply_fill(make_fill("3", "t1"))
    assert child.status is OrderStatus.PENDING_CANCEL and child.filled == Decimal(3)
    child.transition(OrderEvent.CANCEL_ACK)
    assert child.apply_fill(make_fill("2", "t2"))  # late fill after the cancel
    assert child.status is OrderStatus.CANCELED and child.filled == Decimal(5)
    assert child.apply_fill(make_fill("5", "t3"))  # completes: the order did fill in full
    assert child.status is OrderStatus.FILLED and child.leaves == 0


def test_replayed_fill_is_applied_once_and_overfill_raises() -> None:
    child = make_child(qty="5")
    child.transition(OrderEvent.ACK)
    assert child.apply_fill(make_fill("2", "t1"))
    assert not child.apply_fill(make_fill("2", "t1"))
    assert child.filled == Decimal(2)
    with pytest.raises(IllegalTransition):
        child.apply_fill(make_fill("4", "t9"))
    assert child.filled == Decimal(2) and child.status is OrderStatus.PARTIALLY_FILLED


events = st.lists(
    st.one_of(
        st.sampled_from(list(OrderEvent)).filter(lambda e: e not in (OrderEvent.FILL_FULL, OrderEvent.FILL_PARTIAL)),
        st.tuples(st.just("fill"), st.integers(1, 6), st.integers(0, 12)),
    ),
    max_size=40,
)


@given(events)
def test_random_event_sequences_keep_quantities_sane(seq: list[object]) -> None:
    child = make_child(qty="10")
    applied = Decimal(0)
    seen: set[str] = set()
    for ev in seq:
        try:
            if isinstance(ev, tuple):
                _, qty, tid = ev
                trade_id = f"t{tid}"
                if child.apply_fill(make_fill(str(qty), trade_id)):
                    applied += qty
                    seen.add(trade_id)
            else:
                assert isinstance(ev, OrderEvent)
                child.transition(ev)
        except IllegalTransition:
            pass
        assert child.filled <= child.quantity
        assert child.leaves >= 0
        assert child.filled == applied  # no fill lost, none counted twice
        if child.filled == child.quantity:
            assert child.status is OrderStatus.FILLED
