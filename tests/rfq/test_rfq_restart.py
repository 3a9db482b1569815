"""The RFQ service after a restart is the service that stopped: ids, requests, credit, reservations.

A desk is run on a journal, then a fresh engine and a fresh service (new venues, new desks, a new
clock at the same time) are built on the same journal and fed its records (`RfqService.replay`).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.store.journal import MemoryJournal
from core.actors import Actor, Role
from core.clock import SimClock
from core.engine import Engine
from core.execution.service import ExecutionService
from core.parent import ParentOrder
from core.rfq.model import DisclosurePolicy, RfqState
from core.rfq.service import RfqConfig, RfqService
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue
from tests.rfq.fakes import FakeDesk

TRADER = Actor("tina", Role.TRADER)
SUPER = Actor("sam", Role.SUPERVISOR)
T0 = 1_700_000_000.0


@dataclasses.dataclass
class Desk:
    clock: SimClock
    engine: Engine
    execution: ExecutionService
    rfq: RfqService
    desks: dict[str, FakeDesk]
    journal: MemoryJournal


def build(journal: MemoryJournal, now: float = T0, lots: tuple[str, str] = ("0.001", "0.001"),
          policy: DisclosurePolicy | None = None, **desk_kw: object) -> Desk:
    """An engine, execution and RFQ service on `journal`, restored from what it already holds."""
    clock = SimClock(start=now)
    venues = [FakeVenue(f"V{i}", clock, 1 + i, depth=20.0) for i in range(2)]
    for venue, lot in zip(venues, lots, strict=True):
        venue.inst = dataclasses.replace(venue.inst, lot_size=Decimal(lot), min_qty=Decimal(lot))
    engine = Engine(clock, journal, {v.name: v for v in venues})  # replays the OMS and the risk gate
    execution = ExecutionService(engine, SeedTree(1))
    desks = {
        f"D{i}": FakeDesk(f"D{i}", clock, lambda: execution.consolidated_mid(), **desk_kw)  # type: ignore[arg-type]
        for i in range(3)
    }
    rfq = RfqService(engine, execution, desks, SeedTree(1), policy, RfqConfig(request_every_s=0))  # type: ignore[arg-type]
    rfq.replay(journal.replay())
    clock.run_until(clock.now() + 3)  # books arrive
    return Desk(clock, engine, execution, rfq, desks, journal)


def started(qty: str = "100", **kw: object) -> Desk:
    desk = build(MemoryJournal(), **kw)  # type: ignore[arg-type]
    parent = ParentOrder("P1", BTC, Side.SELL, Decimal(qty), 3600.0, algo="twap", rfq_mode="manual")
    desk.execution.stage(parent, TRADER)
    desk.execution.start("P1", TRADER)
    return desk


def restarted(desk: Desk, at: float | None = None) -> Desk:
    """A new process on the same journal, at the same time (or later: `at`)."""
    return build(desk.journal, desk.clock.now() if at is None else at)


def ask(desk: Desk, name: str, qty: float) -> str:
    (r,) = desk.rfq.request("P1", TRADER, desks=[name], quantity=qty)
    desk.clock.run_until(desk.clock.now() + 0.6)  # the fake desk answers after 0.5 s
    assert r.state is RfqState.QUOTED and r.quote is not None
    return r.quote.quote_id


# ---- named regressions -----------------------------------------------------------------------------


def test_rfq_ids_continue_after_restart() -> None:
    desk = started()
    first = [r.rfq_id for r in desk.rfq.request("P1", TRADER, desks=["D0", "D1"], quantity=5.0)]
    assert first == ["R00001", "R00002"]
    desk.clock.run_until(desk.clock.now() + 1)
    again = restarted(desk)
    assert sorted(again.rfq.rfqs) == first
    assert {r.state for r in again.rfq.rfqs.values()} == {RfqState.QUOTED}
    (new,) = again.rfq.request("P1", TRADER, desks=["D2"], quantity=5.0)
    assert new.rfq_id == "R00003"
    created = [rec.payload["rfq_id"] for rec in again.journal.replay() if rec.kind == "rfq.created"]
    assert created == ["R00001", "R00002", "R00003"]  # no id is journaled twice


def test_unsettled_credit_survives_restart() -> None:
    desk = started()
    mid = desk.engine.mid("V0")
    desk.engine.risk.set_limit("desk_credit_limit", 15 * mid, SUPER)  # room for 15 BTC with each desk
    assert desk.rfq.accept(ask(desk, "D0", 10.0), TRADER)
    desk.clock.run_until(desk.clock.now() + 1)
    assert desk.rfq.unsettled["D0"] > 9 * mid

    again = restarted(desk)
    assert again.engine.risk.limits.desk_credit_limit == 15 * mid
    assert again.rfq.unsettled == desk.rfq.unsettled  # was back to 0 before the service replayed
    quote_id = ask(again, "D0", 10.0)
    assert again.rfq.accept(quote_id, TRADER) is False  # 10 + 10 BTC unsettled would pass the limit
    refused = again.rfq.rfqs[again.rfq.by_quote[quote_id]]
    assert refused.state is RfqState.REJECTED and "desk_credit_limit" in refused.reason
    assert not again.desks["D0"].accepts
    # settling what the old process filled frees the credit in the new one
    again.rfq.settle("D0", again.rfq.unsettled["D0"], SUPER)
    assert again.rfq.accept(ask(again, "D0", 10.0), TRADER)


def test_an_accept_in_flight_at_the_crash_keeps_its_credit_and_reservation() -> None:
    desk = started()
    assert desk.rfq.accept(ask(desk, "D1", 10.0), TRADER)  # the desk answers 0.2 s later: it never does
    again = restarted(desk)
    (r,) = again.rfq.rfqs.values()
    assert r.state is RfqState.ACCEPTED
    assert again.rfq.in_flight["D1"] == desk.rfq.in_flight["D1"] > 0
    assert again.rfq.reserved == {r.rfq_id: Decimal(10)} and again.engine.oms.reserved["P1"] == Decimal(10)
    assert again.rfq.state_digest() == desk.rfq.state_digest()


def test_a_quote_comes_back_expired_only_if_it_lapsed_before_the_restart() -> None:
    desk = started()
    quote_id = ask(desk, "D0", 5.0)
    quote = desk.rfq.rfqs[desk.rfq.by_quote[quote_id]].quote
    assert quote is not None
    soon = restarted(desk, at=quote.expires_ts - 1.0)
    assert soon.rfq.rfqs[soon.rfq.by_quote[quote_id]].state is RfqState.QUOTED
    late = restarted(desk, at=quote.expires_ts)
    assert late.rfq.rfqs[late.rfq.by_quote[quote_id]].state is RfqState.EXPIRED
    assert not [rec for rec in desk.journal.replay() if rec.kind == "rfq.expire"]  # in memory only


def test_apply_sends_schedules_and_journals_nothing() -> None:
    desk = started()
    ask(desk, "D0", 5.0)
    records = list(desk.journal.replay())
    clock = SimClock(start=desk.clock.now())
    engine = Engine(clock, desk.journal, {})
    execution = ExecutionService(engine, SeedTree(1))
    desks = {"D0": FakeDesk("D0", clock, lambda: 50_000.0)}
    rfq = RfqService(engine, execution, desks, SeedTree(1), None, RfqConfig(request_every_s=0))  # type: ignore[arg-type]
    for rec in records:
        rfq.apply(rec)
    assert clock.next_time() is None and not desks["D0"].requests
    assert len(list(desk.journal.replay())) == len(records)
    assert rfq.state_digest() == desk.rfq.state_digest()


# ---- the property -------------------------------------------------------------------------------


@settings(max_examples=40)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["request", "accept", "accept_part", "reject", "run", "run", "settle", "kill", "reset"]),
            st.integers(0, 5),
        ),
        max_size=24,
    ),
    last_look=st.booleans(),
    fill_fraction=st.sampled_from([1.0, 0.5]),
)
def test_a_service_rebuilt_from_its_journal_has_the_same_digest(
    steps: list[tuple[str, int]], last_look: bool, fill_fraction: float
) -> None:
    desk = started(qty="60", last_look=last_look, fill_fraction=fill_fraction, size_multiple=1.5)
    desk.engine.risk.set_limit("desk_credit_limit", 20 * desk.engine.mid("V0"), SUPER)
    desk.desks["D2"].reject_last_look = True
    rfq = desk.rfq
    for op, k in steps:
        live = sorted(r.quote.quote_id for r in rfq.rfqs.values() if r.state is RfqState.QUOTED and r.quote)
        try:
            if op == "request":
                rfq.request("P1", TRADER, desks=[f"D{k % 3}"])
                if k >= 2:  # mostly let the desk answer (0.5 s), sometimes restart before it does
                    desk.clock.run_until(desk.clock.now() + 0.6)
            elif op in ("accept", "accept_part") and live:
                quote_id = live[k % len(live)]
                quote = rfq.rfqs[rfq.by_quote[quote_id]].quote
                assert quote is not None
                part = None if op == "accept" else (quote.quantity / 2).quantize(Decimal("0.001"))
                rfq.accept(quote_id, TRADER, part)
            elif op == "reject" and live:
                rfq.reject(live[k % len(live)], TRADER)
            elif op == "settle" and rfq.unsettled[f"D{k % 3}"] > 0:
                rfq.settle(f"D{k % 3}", rfq.unsettled[f"D{k % 3}"] / 2, SUPER)
            elif op == "kill" and not desk.engine.risk.killed:
                desk.engine.kill_switch(SUPER, "property")
            elif op == "reset" and desk.engine.risk.killed:
                desk.engine.risk.reset_kill_switch(SUPER, "property")
            else:
                desk.clock.run_until(desk.clock.now() + [0.1, 0.3, 0.6, 2.0, 12.0, 40.0][k])
        except (ValueError, PermissionError):
            pass
    again = restarted(desk)
    assert again.rfq.state_digest() == rfq.state_digest()
    # and the restored reservations are the OMS's, request by request
    held = sum(again.rfq.reserved.values(), Decimal(0))
    assert held == again.engine.oms.reserved.get("P1", Decimal(0))


# ---- sizes in lots ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("lots", "lot"), [(("0.001", "0.001"), "0.001"), (("0.01", "0.001"), "0.001"),
                                            (("0.01", "0.1"), "0.01")])
def test_requested_and_accepted_sizes_are_whole_lots_of_the_finest_venue_lot(lots: tuple[str, str], lot: str) -> None:
    desk = started(lots=lots, size_multiple=1.2345)
    (r,) = desk.rfq.request("P1", TRADER, desks=["D0"], quantity=7.123456)
    assert r.requested_qty == (Decimal("7.123456") // Decimal(lot)) * Decimal(lot)
    desk.clock.run_until(desk.clock.now() + 0.6)
    assert r.quote is not None
    with pytest.raises(ValueError, match="whole number of lots"):
        desk.rfq.accept(r.quote.quote_id, TRADER, r.quote.quantity - Decimal(lot) / 2)
    assert desk.rfq.accept(r.quote.quote_id, TRADER)  # the desk's 8.79..., floored to the lot
    (accepted,) = [rec.payload for rec in desk.journal.replay() if rec.kind == "rfq.accept"]
    qty = Decimal(accepted["quantity"])
    assert qty % Decimal(lot) == 0 and r.quote.quantity - Decimal(lot) < qty <= r.quote.quantity


@settings(max_examples=40)
@given(asked=st.decimals("0.001", "40", places=6), lot=st.sampled_from(["0.001", "0.01", "0.1", "1"]),
       multiple=st.sampled_from([0.7, 1.0, 1.37, 3.0]))
def test_every_rfq_size_is_a_whole_number_of_lots(asked: Decimal, lot: str, multiple: float) -> None:
    desk = started(qty="50", lots=(lot, lot), size_multiple=multiple)
    sent = desk.rfq.request("P1", TRADER, desks=["D0"], quantity=float(asked))
    if Decimal(str(float(asked))) < Decimal(lot):
        assert sent == []
        return
    (r,) = sent
    assert r.requested_qty % Decimal(lot) == 0 and 0 < r.requested_qty <= asked
    desk.clock.run_until(desk.clock.now() + 0.6)
    assert r.quote is not None
    if r.quote.quantity >= Decimal(lot):
        assert desk.rfq.accept(r.quote.quote_id, TRADER)
        (rec,) = [x.payload for x in desk.journal.replay() if x.kind == "rfq.accept"]
        assert Decimal(rec["quantity"]) % Decimal(lot) == 0
