"""The ticket's typed request: validated on creation, prices snapped passively to the tick; and
parent ids the OMS allocates so that a restart never reuses one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.store.journal import MemoryJournal
from core.actors import Actor, Role
from core.oms import OrderManager
from core.parent import ParentOrder
from core.stage_request import StageRequest
from core.types import Instrument, Side

BTC = Instrument("BTC", "USDT")
TRADER = Actor("tina", Role.TRADER)


def request(side: Side = Side.SELL, **kw: object) -> StageRequest:
    return StageRequest(BTC, side, Decimal(10), 3600.0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("side", "typed", "staged"),
    [
        (Side.SELL, "60000.004", "60000.01"),  # a sell limit rounds up: never sells cheaper than typed
        (Side.BUY, "60000.009", "60000.00"),  # a buy limit rounds down: never pays more than typed
        (Side.SELL, "60000.01", "60000.01"),  # already on the tick: unchanged
    ],
)
def test_limit_and_i_would_prices_snap_to_the_tick_never_looser(side: Side, typed: str, staged: str) -> None:
    snapped = request(side, limit_price=Decimal(typed), i_would_price=Decimal(typed)).snapped(Decimal("0.01"))
    assert snapped.limit_price == Decimal(staged) and snapped.i_would_price == Decimal(staged)
    assert snapped.quantity == Decimal(10) and snapped.side is side  # nothing else changes


def test_a_request_without_prices_snaps_to_itself() -> None:
    plain = request()
    assert plain.snapped(Decimal("0.01")) == plain


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"algo": "vwapp"}, "unknown algo 'vwapp'"),
        ({"limit_price": Decimal(-1)}, "limit price must be a positive price"),
        ({"max_participation": 1.5}, r"max participation must be a fraction in \(0, 1\]"),
        ({"rfq_mode": "always"}, "unknown RFQ mode"),
        ({"limit_price": Decimal(60_000), "i_would_price": Decimal(59_000)}, "beyond the limit"),  # a sell
    ],
)
def test_a_bad_request_says_what_to_change(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        request(**kw)


def test_bad_quantity_and_horizon_are_refused() -> None:
    with pytest.raises(ValueError, match="quantity must be a positive number of BTC"):
        StageRequest(BTC, Side.SELL, Decimal(0), 3600.0)
    with pytest.raises(ValueError, match="horizon must be a positive number of seconds"):
        StageRequest(BTC, Side.SELL, Decimal(1), float("nan"))


def test_an_emitted_request_cannot_be_changed() -> None:
    r = request(params={"rate": 0.1}, venues=["alpha"])  # type: ignore[arg-type]
    assert r.venues == ("alpha",)
    with pytest.raises(TypeError):
        r.params["rate"] = 0.5  # type: ignore[index]


def test_parent_ids_come_from_the_oms_and_a_restart_never_reuses_one() -> None:
    journal = MemoryJournal()
    oms = OrderManager(journal)
    first, second = oms.allocate_parent_id("BH"), oms.allocate_parent_id("BH")
    assert (first, second) == ("BH0001", "BH0002")  # two allocations never collide, staged or not
    for pid in (first, second):
        oms.stage(ParentOrder(pid, BTC, Side.SELL, Decimal(1), 60.0), TRADER, 0.0)
    oms.stage(ParentOrder("BH0041", BTC, Side.SELL, Decimal(1), 60.0), TRADER, 0.0)  # a hand-typed id
    restarted = OrderManager(journal)
    restarted.replay(journal)
    assert restarted.allocate_parent_id("BH") == "BH0042"  # past everything the journal holds
    assert restarted.allocate_parent_id("SIM") == "SIM0001"  # each prefix counts on its own
