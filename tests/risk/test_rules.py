"""Every pre-trade rule: pass, fail and the exact boundary."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.orders import ChildOrder, OrderStatus, TimeInForce
from core.parent import ParentOrder
from core.risk.rules import (
    Duplicate,
    MaxChildNotional,
    MaxChildQuantity,
    MaxOpenOrders,
    MaxParticipation,
    OrderProposal,
    ParentLimit,
    PriceBand,
    RiskContext,
    RiskLimits,
    SelfTrade,
    VenueExposure,
)
from core.types import Instrument, Side, VenueInstrument

BTC = Instrument("BTC", "USDT")
GRID = VenueInstrument("A", BTC, "BTCUSDT", Decimal("0.1"), Decimal("0.001"))


def proposal(qty: str = "1", price: str | None = "50000", side: Side = Side.SELL) -> OrderProposal:
    return OrderProposal(
        "P1", "A", "BTC/USDT", side, GRID.quantity(qty), None if price is None else GRID.price(price), TimeInForce.GTC
    )


def resting(side: Side, price: str, qty: str = "1", cid: str = "Q-000001") -> ChildOrder:
    return ChildOrder(
        cid, "Q", "A", BTC, side, Decimal(qty), Decimal(price), TimeInForce.GTC, 0.0, status=OrderStatus.NEW
    )


def ctx(
    limits: RiskLimits | None = None,
    open_children: list[ChildOrder] | None = None,
    others: float = 100.0,
    ours: float = 0.0,
    parent: ParentOrder | None = None,
    mid: float = 50_000.0,
) -> RiskContext:
    return RiskContext(
        now=10.0,
        limits=limits or RiskLimits(),
        parent=parent,
        mid=lambda v: mid,
        open_children=lambda v: list(open_children or []),
        recent_volume=lambda v, w: others,
        our_recent_volume=lambda v, w: ours,
    )


@pytest.mark.parametrize(("qty", "ok"), [("49.999", True), ("50", True), ("50.001", False)])
def test_max_child_quantity(qty: str, ok: bool) -> None:
    assert (MaxChildQuantity().check(proposal(qty), ctx()) is None) is ok


@pytest.mark.parametrize(("qty", "ok"), [("99", True), ("100", True), ("100.001", False)])
def test_max_child_notional(qty: str, ok: bool) -> None:
    assert (MaxChildNotional().check(proposal(qty), ctx()) is None) is ok  # 100 × 50,000 = 5,000,000


@pytest.mark.parametrize(("price", "ok"), [("51500", True), ("48500", True), ("51500.5", False), ("48499", False)])
def test_price_band_300_bps(price: str, ok: bool) -> None:
    assert (PriceBand().check(proposal(price=price), ctx()) is None) is ok


def test_price_band_refuses_without_market_data() -> None:
    assert "no market data" in (PriceBand().check(proposal(), ctx(mid=float("nan"))) or "")


def test_parent_limit_for_both_sides() -> None:
    sell = ParentOrder("P1", BTC, Side.SELL, Decimal(10), 60, limit_price=Decimal(50_000))
    buy = ParentOrder("P1", BTC, Side.BUY, Decimal(10), 60, limit_price=Decimal(50_000))
    assert ParentLimit().check(proposal(price="50000"), ctx(parent=sell)) is None
    assert "beyond parent limit" in (ParentLimit().check(proposal(price="49999.9"), ctx(parent=sell)) or "")
    assert ParentLimit().check(proposal(price="50000", side=Side.BUY), ctx(parent=buy)) is None
    assert ParentLimit().check(proposal(price="50000.1", side=Side.BUY), ctx(parent=buy)) is not None
    assert "market order refused" in (ParentLimit().check(proposal(price=None), ctx(parent=sell)) or "")


@pytest.mark.parametrize(("qty", "ok"), [("99", True), ("100", True), ("101", False)])
def test_max_participation_half(qty: str, ok: bool) -> None:
    # others traded 100: our 100 more would be exactly 50 %
    assert (MaxParticipation().check(proposal(qty), ctx(others=100.0)) is None) is ok


def test_max_participation_does_not_judge_an_empty_tape() -> None:
    assert MaxParticipation().check(proposal("10"), ctx(others=0.5)) is None


def test_max_open_orders_boundary() -> None:
    limits = RiskLimits(max_open_orders_per_venue=2)
    one = [resting(Side.SELL, "50001")]
    two = [*one, resting(Side.SELL, "50002", cid="Q-000002")]
    assert MaxOpenOrders().check(proposal(), ctx(limits, one)) is None
    assert "max_open_orders_per_venue 2" in (MaxOpenOrders().check(proposal(), ctx(limits, two)) or "")


def test_venue_exposure_boundary() -> None:
    limits = RiskLimits(max_venue_exposure_notional=100_000.0)
    assert VenueExposure().check(proposal("1"), ctx(limits, [resting(Side.SELL, "50000")])) is None  # exactly 100k
    assert VenueExposure().check(proposal("1.001"), ctx(limits, [resting(Side.SELL, "50000")])) is not None


def test_duplicate_within_window_only() -> None:
    p = proposal()
    c = ctx()
    c.recent_sent = [(9.0, p)]  # exactly duplicate_window_s ago: the window is inclusive
    assert "duplicate" in (Duplicate().check(p, c) or "")
    c.recent_sent = [(9.5, p)]
    assert "duplicate" in (Duplicate().check(p, c) or "")
    c.recent_sent = [(8.9, p)]
    assert Duplicate().check(p, c) is None
    c.recent_sent = [(9.5, proposal(qty="2"))]
    assert Duplicate().check(p, c) is None


def test_self_trade_prevention() -> None:
    our_bid = [resting(Side.BUY, "49990")]
    assert "our own order" in (SelfTrade().check(proposal(price="49990"), ctx(open_children=our_bid)) or "")
    assert SelfTrade().check(proposal(price="49990.1"), ctx(open_children=our_bid)) is None
    assert SelfTrade().check(proposal(price=None), ctx(open_children=our_bid)) is not None
    assert SelfTrade().check(proposal(price="49000", side=Side.BUY), ctx(open_children=our_bid)) is None
