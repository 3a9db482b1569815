"""Sizes and prices cross into the engine as `Quantity`/`Price` made by the venue's instrument:
the router is where floats become lots and ticks, `Engine.send_child` refuses anything off the
venue's grid before risk or the journal sees it, and the journal keeps exact decimal strings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.store.journal import MemoryJournal
from core.actors import SYSTEM
from core.clock import SimClock
from core.engine import Engine
from core.execution.router import child_values
from core.orders import TimeInForce
from core.parent import ParentOrder
from core.risk.gate import Decision
from core.risk.rules import OrderProposal
from core.types import Price, Quantity, Side
from tests.execution.fakes import BTC, FakeVenue


def rig(journal: MemoryJournal | None = None, **grid: str) -> tuple[Engine, FakeVenue]:
    clock = SimClock(start=1_700_000_000.0)
    venue = FakeVenue("V0", clock, 1, **grid)  # type: ignore[arg-type]
    engine = Engine(clock, journal, {"V0": venue})
    clock.run_until(clock.now() + 2)  # a book, so the price band can judge
    engine.oms.stage(ParentOrder("P1", BTC, Side.SELL, Decimal(10), 600.0), SYSTEM, clock.now())
    return engine, venue


def test_send_child_refuses_a_price_off_the_venues_tick_and_names_the_tick() -> None:
    engine, venue = rig(tick_size="0.1")
    inst = venue.inst
    fine = Price.of("50000.05", Decimal("0.01"))  # a valid price on another venue's grid
    with pytest.raises(ValueError, match=r"price 50000\.05 is not a multiple of the tick size 0\.1"):
        engine.send_child("P1", "V0", Side.SELL, inst.quantity("1"), fine, TimeInForce.GTC)
    assert not venue.sent and not engine.oms.children  # nothing sent, nothing journaled


def test_send_child_refuses_a_size_off_the_lot_or_below_the_minimum_and_says_which() -> None:
    engine, venue = rig(lot_size="0.001", min_qty="0.01")
    inst = venue.inst
    with pytest.raises(ValueError, match=r"quantity 0\.0015 is not a multiple of the lot size 0\.001"):
        engine.send_child("P1", "V0", Side.SELL, Quantity.of("0.0015", Decimal("0.0001")), inst.price("50100"))
    with pytest.raises(ValueError, match=r"below the venue minimum 0\.01"):
        engine.send_child("P1", "V0", Side.SELL, inst.quantity("0.005"), inst.price("50100"))
    assert not venue.sent and not engine.oms.children


def test_a_float_or_a_bare_decimal_never_reaches_send_child() -> None:
    engine, venue = rig()
    with pytest.raises(TypeError, match="Quantity and a Price"):
        engine.send_child("P1", "V0", Side.SELL, 1.0, 50_100.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Quantity and a Price"):
        engine.send_child("P1", "V0", Side.SELL, venue.inst.quantity("1"), Decimal("50100"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Quantity and a Price"):
        OrderProposal("P1", "V0", "BTC/USDT", Side.SELL, Decimal(1), None, TimeInForce.GTC)  # type: ignore[arg-type]
    assert not venue.sent


def test_a_child_on_the_grid_is_sent_and_journaled_as_its_exact_decimals() -> None:
    journal = MemoryJournal()
    engine, venue = rig(journal)
    inst = venue.inst
    decision, child = engine.send_child("P1", "V0", Side.SELL, inst.quantity("1.25"), inst.price("50100.3"))
    assert decision is Decision.SEND and child is not None and venue.sent == [child]
    assert child.quantity == Decimal("1.25") and child.price == Decimal("50100.3")  # still read as Decimal
    intent = [r for r in journal.records if r.kind == "child.intent"][-1].payload
    assert Decimal(intent["quantity"]) == Decimal("1.25") and intent["price"] == "50100.3"
    again = Engine(SimClock(), journal)  # replay builds the same child
    replayed = again.oms.children[child.client_id]
    assert (replayed.quantity, replayed.price) == (child.quantity, child.price)


def test_an_old_journal_with_plain_decimal_strings_replays_unchanged() -> None:
    journal = MemoryJournal()
    engine, _ = rig(journal)
    staged = [r for r in journal.records if r.kind == "parent.staged"]
    old = MemoryJournal()  # what an earlier release wrote: strings, whatever their exponent
    old.records = [*staged]
    old.append("child.intent", {"client_id": "P1-000001", "parent_id": "P1", "venue": "V0", "symbol": "BTC/USDT",
                                "side": "SELL", "quantity": "0.5", "price": "50000.50", "tif": "gtc", "ts": 1.0},
               "system", 1.0)
    child = Engine(SimClock(), old).oms.children["P1-000001"]
    assert child.quantity == Decimal("0.5") and str(child.price) == "50000.50"


@pytest.mark.parametrize(
    ("side", "passive", "price", "expected"),
    [
        (Side.SELL, True, 50_000.04, "50000.1"),  # a resting sell never asks less than given
        (Side.BUY, True, 50_000.06, "50000.0"),  # a resting buy never bids more than given
        (Side.BUY, False, 50_000.04, "50000.1"),  # a marketable buy reaches the level
        (Side.SELL, False, 50_000.06, "50000.0"),  # a marketable sell reaches the level
    ],
)
def test_the_router_snaps_floats_to_the_venues_grid(side: Side, passive: bool, price: float, expected: str) -> None:
    inst = FakeVenue("V0", SimClock(), 1, tick_size="0.1", lot_size="0.001").inst
    values = child_values(inst, side, 1.23456, price, passive)
    assert values is not None
    qty, px = values
    assert isinstance(qty, Quantity) and isinstance(px, Price)
    assert qty.value == Decimal("1.234") and px.value == Decimal(expected)


def test_the_router_drops_a_size_below_the_venues_minimum() -> None:
    inst = FakeVenue("V0", SimClock(), 1, lot_size="0.001", min_qty="0.01", min_notional="10").inst
    assert child_values(inst, Side.SELL, 0.0099, 50_000.0, True) is None  # floors to 0.009 < 0.01
    assert child_values(inst, Side.SELL, 0.01, 500.0, True) is None  # notional 5 < 10
    assert child_values(inst, Side.SELL, 0.0101, 50_000.0, True) is not None


def test_an_otc_proposal_keeps_the_desks_exact_size_and_price() -> None:
    p = OrderProposal.otc("P1", "otc:north", "BTC/USDT", Side.SELL, Decimal("12.34567891"), Decimal("50012.5"), "a")
    assert p.quantity.value == Decimal("12.34567891") and p.price is not None and p.price.value == Decimal("50012.5")
    assert p.tif is TimeInForce.IOC
