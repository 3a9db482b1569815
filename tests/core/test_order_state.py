"""The order state machine against an independent model of what an order's facts mean.

`OrderFacts` below does not look at `TRANSITIONS`: it keeps what is known about an order (did
the venue know it, is a cancel or a request outstanding, what is filled, how it ended) and says
what status those facts must show, and which events must never be refused. Every reachable fact
state is explored with every event, random sequences are checked by hypothesis, and the restart
defects (an UNKNOWN child with fills coming back NEW or REJECTED) are replayed through the OMS.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.oms import OrderManager, fill_to_dict, parent_to_dict
from core.orders import (
    TRANSITIONS,
    ChildOrder,
    Fill,
    IllegalTransition,
    Liquidity,
    OrderEvent,
    OrderStatus,
    TimeInForce,
)
from core.parent import ParentOrder
from core.ports import JournalRecord
from core.types import Instrument, Side

BTC = Instrument("BTC", "USDT")


def make_child(qty: str = "10", status: OrderStatus = OrderStatus.PENDING_NEW, filled: str = "0") -> ChildOrder:
    return ChildOrder("P1-000001", "P1", "venueA", BTC, Side.SELL, Decimal(qty), Decimal("50000"),
                      TimeInForce.GTC, 0.0, status=status, filled=Decimal(filled))


def make_fill(qty: str, trade_id: str, price: str = "50000") -> Fill:
    return Fill("P1-000001", "venueA", trade_id, "V1", Side.SELL, Decimal(price), Decimal(qty),
                Liquidity.MAKER, Decimal("0.1"), "USDT", 1.0, 1.001)


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




# ---- the independent model ------------------------------------------------------------------

E = OrderEvent
Step = OrderEvent | int  # an int is a fill of that many units (a new trade id each time)


@dataclass(frozen=True)
class OrderFacts:
    """What is known about one order, in the trader's words rather than the table's statuses."""

    ordered: int
    filled: int = 0
    venue_knows_it: bool = False  # it acked, or refused a cancel (it had the order)
    cancel_pending: bool = False  # our cancel is out and unanswered
    timed_out: bool = False  # a request went unanswered; nothing since said what became of it
    ended: str | None = None  # "filled" | "expired" | "canceled" | "rejected" | "lost"

    @property
    def live(self) -> bool:
        return self.ended is None

    def status(self) -> OrderStatus:
        """The status these facts must show."""
        if self.ended == "filled":
            return OrderStatus.FILLED
        if self.ended == "expired":
            return OrderStatus.EXPIRED
        if self.ended == "canceled":
            return OrderStatus.CANCELED
        if self.ended == "rejected":  # gone: what traded stays traded, so not "rejected"
            return OrderStatus.CANCELED if self.filled else OrderStatus.REJECTED
        if self.ended == "lost":  # not found: it was canceled there if it ever lived there
            return OrderStatus.CANCELED if self.filled or self.venue_knows_it else OrderStatus.REJECTED
        if self.timed_out:
            return OrderStatus.UNKNOWN
        if self.cancel_pending:
            return OrderStatus.PENDING_CANCEL
        if self.filled:
            return OrderStatus.PARTIALLY_FILLED
        return OrderStatus.NEW if self.venue_knows_it else OrderStatus.PENDING_NEW

    def after(self, step: Step) -> OrderFacts:
        """The facts after an event the order accepted."""
        if isinstance(step, int):
            filled = self.filled + step
            if filled == self.ordered:
                return replace(self, filled=filled, ended="filled", cancel_pending=False, timed_out=False)
            # a trade proves the order lived: it resolves a timeout (a pending cancel stays pending)
            return replace(self, filled=filled, timed_out=self.timed_out and not self.live)
        if not self.live:  # a late message about a finished order changes nothing
            return self
        if step is E.ACK:  # live at the venue; after a timeout we no longer know of our cancel
            return replace(self, venue_knows_it=True, timed_out=False,
                           cancel_pending=self.cancel_pending and not self.timed_out)
        if step is E.REJECT:
            return replace(self, ended="rejected")
        if step is E.CANCEL_REQUEST:
            return replace(self, cancel_pending=True, timed_out=False)
        if step is E.CANCEL_ACK:
            return replace(self, ended="canceled")
        if step is E.CANCEL_REJECT:
            return replace(self, cancel_pending=False, venue_knows_it=True)
        if step is E.EXPIRE:
            return replace(self, ended="expired")
        if step is E.TIMEOUT:
            return replace(self, timed_out=True, cancel_pending=False)
        assert step is E.NOT_FOUND
        # not there after our cancel (or after it lived): canceled; after a timeout: lost
        return replace(self, ended="lost" if self.timed_out else "canceled")

    def must_accept(self, step: Step) -> bool:
        """Events no order in these facts may refuse (others may be refused as contradictions)."""
        awaiting_answer = self.timed_out or self.cancel_pending or (not self.venue_knows_it and not self.filled)
        if isinstance(step, int):
            return self.filled + step <= self.ordered  # every fill that fits, even after a cancel or reject
        if step in (E.ACK, E.CANCEL_REQUEST, E.CANCEL_ACK, E.EXPIRE):
            return self.live
        if step is E.REJECT:
            return self.live and (self.timed_out or (not self.venue_knows_it and not self.filled))
        if step is E.TIMEOUT:
            return self.live and awaiting_answer
        if step is E.CANCEL_REJECT:
            return self.cancel_pending or not self.live
        assert step is E.NOT_FOUND
        return not self.live or self.venue_knows_it or bool(self.filled) or self.cancel_pending or self.timed_out


class Checked:
    """One child driven alongside its model, with every invariant checked after each step."""

    def __init__(self, ordered: int = 10) -> None:
        self.child = make_child(qty=str(ordered))
        self.facts = OrderFacts(ordered)
        self.applied = Decimal(0)
        self.trades = 0
        self.last_trade_applied = ""

    def step(self, step: Step) -> None:
        before = (self.child.status, self.child.filled)
        try:
            if isinstance(step, int):
                self.trades += 1
                assert self.child.apply_fill(make_fill(str(step), f"t{self.trades}"))
                self.applied += step
                self.last_trade_applied = f"t{self.trades}"
            else:
                self.child.transition(step)
        except IllegalTransition:
            assert not self.facts.must_accept(step), f"{step} refused in {self.facts}"
            assert (self.child.status, self.child.filled) == before  # a refused event changes nothing
        else:
            self.facts = self.facts.after(step)
        self.check()

    def check(self) -> None:
        child = self.child
        if child.status in (OrderStatus.NEW, OrderStatus.REJECTED):
            assert child.filled == 0, f"{child.status.value} with {child.filled} filled"
        assert 0 <= child.filled <= child.quantity and child.leaves >= 0
        assert child.filled == self.applied == self.facts.filled  # no fill lost, none counted twice
        assert child.status is self.facts.status(), f"{child.status} but the facts say {self.facts}"


ALPHABET: tuple[Step, ...] = (
    E.ACK, E.REJECT, 4, 3, E.CANCEL_REQUEST, E.CANCEL_ACK, E.CANCEL_REJECT, E.EXPIRE, E.TIMEOUT, E.NOT_FOUND,
)


def test_every_reachable_fact_state_takes_every_event_as_the_model_says() -> None:
    """Breadth-first over the model's reachable facts; each path is replayed on a real child."""
    seen: set[OrderFacts] = set()
    todo: deque[tuple[Step, ...]] = deque([()])
    while todo:
        path = todo.popleft()
        for step in ALPHABET:
            checked = Checked()
            for earlier in path:
                checked.step(earlier)
            checked.step(step)
            if checked.facts not in seen:
                seen.add(checked.facts)
                todo.append((*path, step))
    statuses = {f.status() for f in seen}
    assert statuses == set(OrderStatus)  # the exploration reached every status
    assert any(f.status() is OrderStatus.CANCELED and f.ended == "rejected" and f.filled for f in seen)


# events that leave the order live are drawn three times as often as those that end it: the
# interesting histories (a fill, a cancel, a timeout, then an answer) are long-lived ones
_KEEP_IT_LIVE: list[Any] = [E.ACK, E.CANCEL_REQUEST, E.CANCEL_REJECT, E.TIMEOUT, 1, 2, 4]
_MAY_END_IT: list[Any] = [
    E.REJECT, E.CANCEL_ACK, E.EXPIRE, E.NOT_FOUND,
    6,  # a fill of 6: an over-fill the order must refuse when more than 4 is filled
    "rest",  # a fill that completes the order
    "replay",  # a venue repeating the last trade id
]
steps = st.lists(st.sampled_from(_KEEP_IT_LIVE * 3 + _MAY_END_IT), min_size=4, max_size=40)


@settings(max_examples=500)  # cheap (no I/O), and a bad entry hides behind a 3-4 event prefix
@given(steps)
def test_random_event_sequences_match_the_model_and_keep_every_fill(seq: Sequence[Any]) -> None:
    checked = Checked()
    for item in seq:
        if item == "replay":
            if checked.last_trade_applied:
                before = (checked.child.status, checked.child.filled)
                assert not checked.child.apply_fill(make_fill("1", checked.last_trade_applied))
                assert (checked.child.status, checked.child.filled) == before
            continue
        if item == "rest":
            item = int(checked.child.quantity - checked.child.filled)
            if item == 0:
                continue
        checked.step(item)
    if checked.child.filled == checked.child.quantity:
        assert checked.child.status is OrderStatus.FILLED


def test_new_and_rejected_never_hold_fills_even_when_the_table_is_asked_directly() -> None:
    for status in OrderStatus:
        for event in OrderEvent:
            child = make_child(status=status, filled="4")
            try:
                child.transition(event)
            except IllegalTransition:
                assert child.status is status
                continue
            assert child.status not in (OrderStatus.NEW, OrderStatus.REJECTED)


# ---- the restart defects, through the OMS ------------------------------------------------------


def _acked_then_timed_out(cid: str, fills: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Journal records of a child of P1 (10 BTC): acked, `fills`, then a cancel that timed out."""
    parent = ParentOrder("P1", BTC, Side.SELL, Decimal(10), 3600.0)
    return [
        ("parent.staged", {**parent_to_dict(parent), "staged_mid": 50_000.0}),
        ("parent.started", {"parent_id": "P1", "arrival_mid": 50_000.0}),
        ("child.intent", {"client_id": cid, "parent_id": "P1", "venue": "venueA", "symbol": "BTC/USDT",
                          "side": "SELL", "quantity": "10", "price": "50000", "tif": "gtc", "ts": 2.0}),
        ("venue.report", {"client_id": cid, "venue_order_id": "V1", "status": "new", "reason": "", "venue_ts": 3.0}),
        *(("venue.fill", fill) for fill in fills),
        ("child.cancel_intent", {"client_id": cid, "reason": "pause"}),
        ("child.timeout", {"client_id": cid}),
    ]


def _unknown_child_with_fills() -> tuple[OrderManager, str, int]:
    """PARTIALLY_FILLED (4 of 10) → cancel → timeout → UNKNOWN, built from journal records."""
    cid = "P1-000001"
    records = _acked_then_timed_out(cid, fills=[fill_to_dict(make_fill("4", "t1"))])
    oms = OrderManager(None)
    for seq, (kind, payload) in enumerate(records, start=1):
        oms.apply(JournalRecord(seq, float(seq), kind, "system", payload))
    child = oms.children[cid]
    assert child.status is OrderStatus.UNKNOWN and child.filled == Decimal(4)
    return oms, cid, len(records)


def test_unknown_child_with_fills_acked_is_partially_filled() -> None:
    oms, cid, seq = _unknown_child_with_fills()
    report = {"client_id": cid, "venue_order_id": "V1", "status": "new", "reason": "", "venue_ts": 9.0}
    oms.apply(JournalRecord(seq + 1, 9.0, "venue.report", "system", report))
    child = oms.children[cid]
    assert child.status is OrderStatus.PARTIALLY_FILLED and child.filled == Decimal(4)
    assert child.leaves == Decimal(6) and oms.open_children("P1") == [child]
    assert oms.filled_qty("P1") == Decimal(4)


def test_unknown_child_with_fills_not_found_is_canceled() -> None:
    oms, cid, seq = _unknown_child_with_fills()
    oms.apply(JournalRecord(seq + 1, 9.0, "venue.not_found", "system", {"client_id": cid}))
    child = oms.children[cid]
    assert child.status is OrderStatus.CANCELED and child.filled == Decimal(4)
    assert child.leaves == 0 and oms.open_children("P1") == []
    assert oms.filled_qty("P1") == Decimal(4)


def test_unknown_child_with_fills_rejected_is_canceled_not_rejected() -> None:
    oms, cid, seq = _unknown_child_with_fills()
    report = {"client_id": cid, "venue_order_id": "", "status": "rejected", "reason": "other", "venue_ts": 9.0}
    oms.apply(JournalRecord(seq + 1, 9.0, "venue.report", "system", report))
    child = oms.children[cid]
    assert child.status is OrderStatus.CANCELED and child.filled == Decimal(4)


def test_an_acked_child_that_times_out_and_is_not_found_is_canceled_not_rejected() -> None:
    """It lived at the venue (acked, nothing filled), our cancel timed out, and reconciliation cannot
    find it: the venue canceled it. REJECTED would say it never lived (an export and TCA would
    count a live order as refused)."""
    cid = "P1-000001"
    records = [*_acked_then_timed_out(cid, fills=[]), ("venue.not_found", {"client_id": cid})]
    oms = OrderManager(None)
    for seq, (kind, payload) in enumerate(records, start=1):
        oms.apply(JournalRecord(seq, float(seq), kind, "system", payload))
    assert oms.children[cid].status is OrderStatus.CANCELED and oms.children[cid].filled == 0
    # one the venue never acknowledged is still REJECTED: it never lived there
    never = "P1-000002"
    oms.apply(JournalRecord(8, 8.0, "child.intent", "system", {**records[2][1], "client_id": never}))
    oms.apply(JournalRecord(9, 9.0, "child.timeout", "system", {"client_id": never}))
    oms.apply(JournalRecord(10, 10.0, "venue.not_found", "system", {"client_id": never}))
    assert oms.children[never].status is OrderStatus.REJECTED
