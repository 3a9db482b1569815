"""OTC acceptances pass the risk gate before the accept is sent: the desk's credit limit on
unsettled notional (fills not yet settled plus accepts in flight), the trading state, the
parent's limit. Refusals are journaled like a child's (`risk.refused`) and listed in risk events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.store.journal import MemoryJournal
from core.actors import Actor, Role
from core.clock import SimClock
from core.engine import Engine
from core.events import TradingState
from core.execution.service import ExecutionService
from core.parent import ParentOrder
from core.rfq.model import Rfq, RfqState
from core.rfq.service import RfqConfig, RfqService
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue
from tests.rfq.fakes import FakeDesk

TRADER = Actor("tina", Role.TRADER)
SUPER = Actor("sam", Role.SUPERVISOR)


def rig(side: Side = Side.SELL) -> tuple[SimClock, Engine, RfqService, dict[str, FakeDesk]]:
    clock = SimClock(start=1_700_000_000.0)
    venues = [FakeVenue(f"V{i}", clock, 1 + i, depth=20.0) for i in range(2)]
    engine = Engine(clock, MemoryJournal(), {v.name: v for v in venues})
    execution = ExecutionService(engine, SeedTree(1))
    desks = {f"D{i}": FakeDesk(f"D{i}", clock, lambda: execution.consolidated_mid()) for i in range(2)}
    rfq = RfqService(engine, execution, desks, SeedTree(1), None, RfqConfig(request_every_s=0))  # type: ignore[arg-type]
    clock.run_until(clock.now() + 3)
    execution.stage(ParentOrder("P1", BTC, side, Decimal(100), 3600.0, algo="twap", rfq_mode="manual"), TRADER)
    execution.start("P1", TRADER)
    return clock, engine, rfq, desks


def ask(clock: SimClock, rfq: RfqService, desk: str, qty: float) -> Rfq:
    (r,) = rfq.request("P1", TRADER, desks=[desk], quantity=qty)
    clock.run_until(clock.now() + 0.6)  # the fake desk answers after 0.5 s
    assert r.state is RfqState.QUOTED
    return r


def refusals(engine: Engine) -> list[dict[str, object]]:
    assert engine.journal is not None
    return [rec.payload for rec in engine.journal.replay() if rec.kind == "risk.refused"]


def test_a_desk_over_its_credit_is_refused_before_the_accept_is_sent_counting_accepts_in_flight() -> None:
    clock, engine, rfq, desks = rig()
    mid = engine.mid("V0")
    engine.risk.set_limit("desk_credit_limit", 15 * mid, SUPER)  # room for 15 BTC with each desk
    first, second = ask(clock, rfq, "D0", 10.0), ask(clock, rfq, "D0", 10.0)
    assert first.quote is not None and second.quote is not None
    assert rfq.accept(first.quote.quote_id, TRADER)
    # the first accept is still in flight: its 10 BTC count against D0's credit already
    assert rfq.accept(second.quote.quote_id, TRADER) is False
    assert second.state is RfqState.REJECTED and "desk_credit_limit" in second.reason
    (refused,) = refusals(engine)
    assert refused["rule"] == "desk_credit" and refused["venue"] == "otc:D0"
    assert engine.risk.events[-1].rule == "desk_credit"
    clock.run_until(clock.now() + 2)
    assert [a[0] for a in desks["D0"].accepts] == [first.quote.quote_id]  # the refused one never left
    assert first.state is RfqState.FILLED and rfq.in_flight["D0"] == 0.0
    assert rfq.unsettled["D0"] == pytest.approx(10 * float(first.quote.price))
    # another desk has its own credit; settling D0's trade frees D0's
    other = ask(clock, rfq, "D1", 10.0)
    assert other.quote is not None and rfq.accept(other.quote.quote_id, TRADER)
    third = ask(clock, rfq, "D0", 10.0)
    assert third.quote is not None and rfq.accept(third.quote.quote_id, TRADER) is False
    rfq.settle("D0", rfq.unsettled["D0"], SUPER)
    fourth = ask(clock, rfq, "D0", 10.0)
    assert fourth.quote is not None and rfq.accept(fourth.quote.quote_id, TRADER)


def test_a_quote_inside_the_credit_limit_at_the_boundary_is_accepted() -> None:
    clock, engine, rfq, desks = rig()
    r = ask(clock, rfq, "D0", 10.0)
    assert r.quote is not None
    engine.risk.set_limit("desk_credit_limit", float(r.quote.quantity * r.quote.price), SUPER)  # exactly
    assert rfq.accept(r.quote.quote_id, TRADER)
    assert refusals(engine) == []


def test_no_quote_is_accepted_while_trading_is_halted_or_against_reducing() -> None:
    clock, engine, rfq, desks = rig(side=Side.BUY)
    r = ask(clock, rfq, "D0", 5.0)
    assert r.quote is not None
    engine.risk.set_state("global", TradingState.REDUCING, SUPER, "test")
    assert rfq.accept(r.quote.quote_id, TRADER) is False  # a buy does not reduce a spot inventory
    assert refusals(engine)[-1]["rule"] == "trading_state"
    engine.risk.set_state("global", TradingState.ACTIVE, SUPER, "test")
    r = ask(clock, rfq, "D0", 5.0)
    engine.risk.set_state("symbol:BTC/USDT", TradingState.HALTED, SUPER, "test")
    assert r.quote is not None and rfq.accept(r.quote.quote_id, TRADER) is False
    assert refusals(engine)[-1]["rule"] == "trading_state" and desks["D0"].accepts == []
