"""The RFQ state machine against an independent model, on its own and inside the service.

`RequestFacts` says, from what has happened to a request (sent? quoted? accepted? how it ended),
which events it may still take and which state it is in; it never reads `RFQ_TRANSITIONS`.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.store.journal import MemoryJournal
from core.events import RfqQuoteArrived, RfqStateChanged
from core.orders import Liquidity
from core.ports import Quote
from core.rfq.model import Rfq, RfqState
from core.rfq.service import RfqService
from core.types import Side
from tests.rfq.fakes import FakeDesk
from tests.rfq.test_rfq import SUPER, TRADER, quoted, rig

R = RfqState
EVENTS = ("send", "quote", "accept", "fill", "last_look", "expire", "reject", "cancel")
# the state each event asks for; the table may refuse it
TARGET = {
    "send": R.SENT, "quote": R.QUOTED, "accept": R.ACCEPTED, "fill": R.FILLED,
    "last_look": R.LAST_LOOK_REJECTED, "expire": R.EXPIRED, "reject": R.REJECTED, "cancel": R.CANCELED,
}


@dataclass(frozen=True)
class RequestFacts:
    """What has happened to one request, in the desk's words."""

    sent: bool = False
    quoted: bool = False
    accepted: bool = False
    ended: str | None = None  # how it ended: one of the events that end a request

    def allows(self, event: str) -> bool:
        if self.ended is not None:
            return False  # a finished request never reopens
        return {
            "send": not self.sent,
            "quote": self.sent and not self.quoted,
            "accept": self.quoted and not self.accepted,
            "fill": self.accepted,  # only the desk's answer to our accept fills
            "last_look": self.accepted,
            "expire": self.sent,  # unanswered, unaccepted, or accepted but never sent to the desk
            "reject": self.quoted,  # by the trader, or an accept withdrawn before it was sent
            "cancel": not self.accepted,  # withdrawn while nothing is committed
        }[event]

    def after(self, event: str) -> RequestFacts:
        if event == "send":
            return replace(self, sent=True)
        if event == "quote":
            return replace(self, quoted=True)
        if event == "accept":
            return replace(self, accepted=True)
        return replace(self, ended=event)

    def state(self) -> RfqState:
        if self.ended is not None:
            return TARGET[self.ended]
        if self.accepted:
            return R.ACCEPTED
        if self.quoted:
            return R.QUOTED
        return R.SENT if self.sent else R.DRAFT


def drive(rfq: Rfq, facts: RequestFacts, event: str, fill_qty: Decimal = Decimal(1)) -> RequestFacts:
    """Ask the request to take `event`; check it against the model; return the new facts."""
    before = rfq.state
    try:
        rfq.move_to(TARGET[event])
    except ValueError:
        assert not facts.allows(event), f"{event} refused in {facts}"
        assert rfq.state is before
        return facts
    assert facts.allows(event), f"{event} taken in {facts} ({before.value} → {rfq.state.value})"
    if event == "fill":
        rfq.filled_qty = fill_qty
    facts = facts.after(event)
    assert rfq.state is facts.state()
    return facts


def new_rfq() -> Rfq:
    return Rfq("R00001", "P1", "D0", Side.SELL, Decimal(5), 0.0)


def test_every_reachable_request_takes_every_event_as_the_model_says() -> None:
    seen: set[RequestFacts] = set()
    todo: deque[tuple[str, ...]] = deque([()])
    while todo:
        path = todo.popleft()
        for event in EVENTS:
            rfq, facts = new_rfq(), RequestFacts()
            for earlier in (*path, event):
                facts = drive(rfq, facts, earlier)
            if facts not in seen:
                seen.add(facts)
                todo.append((*path, event))
    assert {f.state() for f in seen} == set(RfqState)
    # the moves a desk that never confirms needs
    assert RequestFacts(True, True, True).allows("expire") and RequestFacts(True, True, True).allows("reject")


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(EVENTS), st.integers(1, 9)), max_size=20))
def test_random_sequences_never_reopen_and_only_a_fill_fills(events: list[tuple[str, int]]) -> None:
    rfq, facts = new_rfq(), RequestFacts()
    for event, qty in events:
        was_finished = not rfq.state.is_open
        before = rfq.state
        facts = drive(rfq, facts, event, Decimal(qty))
        if was_finished:
            assert rfq.state is before  # a terminal request never reopens
        assert (rfq.filled_qty > 0) == (rfq.state is R.FILLED)


# ---- inside the service: every move through the table, journaled --------------------------------


def journaled(rfq: RfqService) -> list[tuple[str, dict[str, Any]]]:
    journal = rfq.engine.oms.journal
    assert isinstance(journal, MemoryJournal)
    return [(r.kind, r.payload) for r in journal.records]


def watch_states(rfq: RfqService) -> dict[str, list[str]]:
    """Every state each request shows, in order (a quote's arrival is published as its own event)."""
    seen: dict[str, list[str]] = {}
    rfq.engine.bus.subscribe(RfqStateChanged, lambda ev: seen.setdefault(ev.rfq_id, []).append(ev.state))
    rfq.engine.bus.subscribe(RfqQuoteArrived, lambda ev: seen.setdefault(ev.rfq_id, []).append(R.QUOTED.value))
    return seen


def check_history(rfq: RfqService, seen: dict[str, list[str]]) -> None:
    """Each request's published states follow the model, and each way of ending is journaled."""
    records = journaled(rfq)
    for rfq_id, states in seen.items():
        facts = RequestFacts()
        for state in states:
            event = next((e for e, s in TARGET.items() if s.value == state and facts.allows(e)), None)
            assert event is not None, f"{rfq_id}: {' → '.join(states)} leaves the model at {state}"
            facts = facts.after(event)
        r = rfq.rfqs[rfq_id]
        assert r.state is facts.state()
        assert (r.filled_qty > 0) == (r.state is R.FILLED)
        quote_id = r.quote.quote_id if r.quote else None
        mine = [(k, p) for k, p in records if p.get("rfq_id") == rfq_id or (quote_id and p.get("quote_id") == quote_id)]
        kinds = [k for k, _ in mine]
        expected_record = {
            R.EXPIRED: "rfq.expire", R.REJECTED: "rfq.reject", R.LAST_LOOK_REJECTED: "rfq.reject",
            R.CANCELED: "rfq.withdraw", R.FILLED: "otc.fill",
        }.get(r.state)
        if expected_record is not None:
            assert expected_record in kinds, f"{rfq_id} ended {r.state.value} unjournaled: {kinds}"
        if r.state is R.LAST_LOOK_REJECTED:
            assert any(k == "rfq.reject" and p.get("last_look") for k, p in mine)


@settings(max_examples=25)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["request", "accept", "reject", "run", "kill"]), st.integers(0, 4)),
        max_size=20,
    ),
    last_look=st.booleans(),
    seed=st.integers(1, 20),
)
def test_service_moves_follow_the_model_and_are_journaled(
    steps: list[tuple[str, int]], last_look: bool, seed: int
) -> None:
    clock, engine, execution, rfq, desks = rig(qty="40", seed=seed, last_look=last_look, ttl_s=20.0)
    engine.oms.journal = MemoryJournal()
    desks["D3"].reject_last_look = True
    seen = watch_states(rfq)
    for op, k in steps:
        live = quoted(rfq)
        try:
            if op == "request":
                rfq.request("P1", TRADER, desks=[f"D{k}"])
            elif op == "accept" and live:
                rfq.accept(live[k % len(live)].quote.quote_id, TRADER)  # type: ignore[union-attr]
            elif op == "reject" and live:
                rfq.reject(live[k % len(live)].quote.quote_id, TRADER)  # type: ignore[union-attr]
            elif op == "kill" and not engine.risk.killed:
                engine.kill_switch(SUPER)
            else:
                clock.run_until(clock.now() + 4 * (k + 1))
        except (ValueError, PermissionError):
            pass
    clock.run_until(clock.now() + 60)
    check_history(rfq, seen)


class MinimumDesk(FakeDesk):
    """Quotes that may only be taken whole (`min_quantity` = the quoted quantity)."""

    def request_quote(self, rfq_id: str, symbol: str, side: Side, quantity: Decimal,
                      on_quote: Callable[[Quote], None]) -> None:
        super().request_quote(rfq_id, symbol, side, quantity,
                              lambda q: on_quote(dataclasses.replace(q, min_quantity=q.quantity)))


def test_an_accept_that_lapses_while_making_room_expires_through_the_table_and_is_journaled() -> None:
    clock, engine, execution, rfq, desks = rig(size_multiple=50.0, ttl_s=0.3)
    engine.oms.journal = MemoryJournal()
    seen = watch_states(rfq)
    clock.run_until(clock.now() + 600)  # the algo has children working
    assert engine.oms.open_children("P1")
    (r,) = rfq.request("P1", TRADER, desks=["D0"], quantity=5.0)
    clock.run_until(clock.now() + 0.5)
    assert r.quote is not None
    clock.run_until(r.quote.expires_ts - 0.005)  # too late to cancel the children and still send
    assert rfq.accept(r.quote.quote_id, TRADER)
    assert r.state is R.EXPIRED and not desks["D0"].accepts
    assert seen[r.rfq_id][-2:] == ["accepted", "expired"]
    assert engine.oms.reserved["P1"] == 0 and rfq.in_flight["D0"] == 0
    assert ("rfq.expire", r.rfq_id) in [(k, p.get("rfq_id")) for k, p in journaled(rfq)]
    check_history(rfq, seen)


def test_an_accept_the_exchange_filled_under_is_rejected_through_the_table_and_journaled() -> None:
    clock, engine, execution, rfq, desks = rig(size_multiple=50.0, ttl_s=600.0)
    mid = desks["D0"].mid
    rfq.desks["D0"] = desks["D0"] = MinimumDesk("D0", clock, mid, size_multiple=50.0, ttl_s=600.0)
    engine.oms.journal = MemoryJournal()
    seen = watch_states(rfq)
    clock.run_until(clock.now() + 600)
    (r,) = rfq.request("P1", TRADER, desks=["D0"], quantity=5.0)
    clock.run_until(clock.now() + 0.6)
    assert r.quote is not None and r.quote.min_quantity == r.quote.quantity
    venue, order = next((v, o) for v in engine.venues.values() for o in v.resting.values())
    assert rfq.accept(r.quote.quote_id, TRADER)  # reserves all that is left and cancels the children
    venue._fill(order, Decimal("0.005"), order.price, Liquidity.MAKER)  # a fill races the cancel
    clock.run_until(clock.now() + 5)
    assert r.state is R.REJECTED and r.filled_qty == 0 and not desks["D0"].accepts
    assert seen[r.rfq_id][-2:] == ["accepted", "rejected"]
    assert engine.oms.reserved["P1"] == 0 and rfq.in_flight["D0"] == pytest.approx(0.0, abs=1e-6)
    rejects = [p for k, p in journaled(rfq) if k == "rfq.reject" and p["rfq_id"] == r.rfq_id]
    assert len(rejects) == 1 and "exchange filled" in rejects[0]["reason"]
    check_history(rfq, seen)
