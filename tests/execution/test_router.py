"""The router's venue choice: cheapest fee-adjusted liquidity first, toxic venues after clean ones at
the same price for buyers and sellers alike, and the adaptive policy's per-venue preference."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from core.events import BookUpdate
from core.execution.router import Router, VenueRouting
from core.types import Side, VenueInstrument
from tests.execution.fakes import BTC


def venue(name: str, toxicity: float = 0.0, preference: float = 1.0) -> VenueRouting:
    inst = VenueInstrument(
        name, BTC, "BTCUSDT", Decimal("0.1"), Decimal("0.001"), Decimal("0.001"), Decimal("10"),
        maker_fee_bps=1.0, taker_fee_bps=5.0,
    )
    bids = np.array([49_999.0, 49_998.0]), np.array([1.0, 1.0])
    asks = np.array([50_001.0, 50_002.0]), np.array([1.0, 1.0])
    book = BookUpdate(0.0, name, "BTC/USDT", 1, bids[0], bids[1], asks[0], asks[1])
    return VenueRouting(inst, book, 5.0, 1.0, 100.0, toxicity=toxicity, preference=preference)


def router(*venues: VenueRouting) -> Router:
    return Router(venues={v.instrument.venue: v for v in venues})


def test_a_sell_sweep_takes_the_clean_venue_before_the_toxic_one_at_the_same_bid() -> None:
    """Regression: the toxicity penalty multiplied the (negative) effective price of a sell, so a
    spoofed venue looked ~5 bps *better* to a seller at toxicity 0.5 and was hit first."""
    for side in (Side.SELL, Side.BUY):
        cap = 49_000.0 if side is Side.SELL else 51_000.0
        allocs = router(venue("A", toxicity=0.5), venue("B")).marketable(side, 1.0, cap)
        assert [(a.venue, a.quantity.value) for a in allocs] == [("B", Decimal("1.000"))], side


def test_the_preferred_venue_is_taken_first_at_the_same_price_and_weighted_up_when_resting() -> None:
    for side in (Side.SELL, Side.BUY):
        cap = 49_000.0 if side is Side.SELL else 51_000.0
        allocs = router(venue("A"), venue("B", preference=4.0)).marketable(side, 1.0, cap)
        assert [a.venue for a in allocs] == ["B"], side
    for preference, split in ((4.0, {"A": 0.2, "B": 0.8}), (0.25, {"A": 0.8, "B": 0.2})):
        allocs = router(venue("A"), venue("B", preference=preference)).passive(Side.SELL, 1.0)
        assert {a.venue: float(a.quantity) for a in allocs} == split, preference


def test_a_better_price_still_wins_over_a_preference() -> None:
    """The preference breaks ties (≈1.4 bps at ×4); it never sends a sweep to a clearly worse price."""
    cheap = venue("A")
    cheap.book = BookUpdate(0.0, "A", "BTC/USDT", 1, np.array([49_979.0]), np.array([1.0]),
                            np.array([49_980.0]), np.array([1.0]))  # asks 4 bps below B's
    allocs = router(cheap, venue("B", preference=4.0)).marketable(Side.BUY, 1.0, 51_000.0)
    assert [a.venue for a in allocs] == ["A"]
