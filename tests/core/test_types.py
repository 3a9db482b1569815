from __future__ import annotations

from decimal import Decimal

import pytest

from core.orders import client_order_id
from core.types import Instrument, Price, Quantity, Side, VenueInstrument

VI = VenueInstrument("A", Instrument("BTC", "USDT"), "BTCUSDT", Decimal("0.1"), Decimal("0.001"),
                     Decimal("0.001"), Decimal("5"))


def test_prices_and_quantities_validate_against_the_instrument() -> None:
    assert VI.price("50000.3").value == Decimal("50000.3")
    with pytest.raises(ValueError, match=r"not a multiple of the tick size 0\.1"):
        VI.price("50000.35")
    with pytest.raises(ValueError, match="not a multiple of the lot size"):
        VI.quantity("0.0015")
    assert VI.quantity(0.003).lots == 3  # floats go through their repr, not their binary value


def test_rounding_never_improves_a_passive_price_and_sizes_round_down() -> None:
    assert VI.round_price(50000.37, Side.BUY).value == Decimal("50000.3")
    assert VI.round_price(50000.31, Side.SELL).value == Decimal("50000.4")
    assert VI.round_price(50000.31, Side.BUY, passive=False).value == Decimal("50000.4")
    assert VI.floor_quantity(1.23456).value == Decimal("1.234")
    assert VI.floor_quantity(20.0 - 19.999).lots == 1  # float residue of one lot is still one lot
    assert VI.floor_quantity(0.000999).lots == 0


def test_min_size_checks_say_why() -> None:
    assert "below the venue minimum" in (VI.check_order(VI.price("10"), VI.quantity("0.1")) or "")
    assert VI.check_order(VI.price("50000"), VI.quantity("0.001")) is None


def test_client_ids_are_deterministic_and_fit_exchange_limits() -> None:
    assert client_order_id("BH7K2Q", 42) == "BH7K2Q-000042"
    with pytest.raises(ValueError, match="shorter parent id"):
        client_order_id("X" * 30, 1)


def test_value_types_compare_by_value() -> None:
    assert Price(5, Decimal("0.1")) < Price(6, Decimal("0.1"))
    assert Quantity(3, Decimal("0.001")).value == Decimal("0.003")
    assert Side.parse("Sell") is Side.SELL and Side.SELL.sign == -1
    assert Instrument.parse("eth/usdt").symbol == "ETH/USDT"
