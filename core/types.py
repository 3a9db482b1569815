"""Value types of the trading domain: sides, instruments, exact prices and quantities.

Prices and quantities cross every boundary (venue, journal, FIX) as `Decimal` multiples of the
instrument's tick and lot on that venue; floats live only inside models. A `Price` or `Quantity`
validates on creation, so an off-tick price can never reach a venue.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation


class Side(enum.IntEnum):
    """Order side; the integer value is the sign used in cost formulas (buy = +1, sell = -1)."""

    BUY = 1
    SELL = -1

    @property
    def sign(self) -> int:
        return int(self.value)

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @classmethod
    def parse(cls, text: str) -> Side:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"side must be 'buy' or 'sell', got {text!r}") from None


def to_decimal(value: Decimal | int | float | str, what: str = "value") -> Decimal:
    """Exact decimal of a number; floats go through their shortest repr, never their binary value."""
    if isinstance(value, Decimal):
        result = value
    else:
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{what} must be finite, got {value!r}")
    return result


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable pair independent of venue, e.g. BTC/USDT."""

    base: str
    quote: str

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"

    @classmethod
    def parse(cls, symbol: str) -> Instrument:
        parts = symbol.strip().upper().split("/")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"instrument must look like 'BTC/USDT', got {symbol!r}")
        return cls(parts[0], parts[1])

    def __str__(self) -> str:
        return self.symbol


@dataclass(frozen=True, slots=True)
class VenueInstrument:
    """An instrument as one venue lists it: its own symbol and its precision rules.

    tick_size: price increment (quote currency); lot_size: quantity increment (base currency);
    min_qty and min_notional_quote: the venue's smallest order; fees in bps of notional.
    """

    venue: str
    instrument: Instrument
    venue_symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal = Decimal(0)
    min_notional_quote: Decimal = Decimal(0)
    maker_fee_bps: float = 0.0  # our account's fee tier on this venue (negative = rebate)
    taker_fee_bps: float = 0.0

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError(f"{self.venue} {self.venue_symbol}: tick and lot sizes must be positive")

    def price(self, value: Decimal | int | float | str) -> Price:
        """A price that must already be on the tick grid."""
        return Price.of(value, self.tick_size)

    def quantity(self, value: Decimal | int | float | str) -> Quantity:
        """A quantity that must already be a whole number of lots."""
        return Quantity.of(value, self.lot_size)

    def round_price(self, value: float | Decimal, side: Side, passive: bool = True) -> Price:
        """Round to the tick grid; passive rounding never improves on the given price for `side`.

        A passive buy rounds down and a passive sell rounds up (never pay more than asked);
        `passive=False` rounds the other way (a marketable cap that still reaches the level).
        See `snap_price` for the float residue it absorbs."""
        return snap_price(value, self.tick_size, side, passive)

    def floor_quantity(self, value: float | Decimal) -> Quantity:
        """Largest whole number of lots not above `value` (never rounds a size up).

        A millionth of a lot of slack absorbs float residue: 20.0 − 19.9999 is 9.99999e-05 in
        binary, which must still be the one lot left to trade, not zero."""
        lots = (to_decimal(value, "quantity") / self.lot_size + Decimal("1e-6")).to_integral_value(ROUND_FLOOR)
        return Quantity(max(int(lots), 0), self.lot_size)

    def check_order(self, price: Price | None, qty: Quantity) -> str | None:
        """Why the venue would refuse this order's size, or None when it is acceptable."""
        if qty.value < self.min_qty or qty.lots <= 0:
            return f"quantity {qty} below the venue minimum {self.min_qty}"
        if price is not None and price.value * qty.value < self.min_notional_quote:
            return f"notional {price.value * qty.value} below the venue minimum {self.min_notional_quote}"
        return None

    def grid_error(self, price: Price | None, qty: Quantity) -> str | None:
        """Why this venue would refuse the order as malformed — off its tick or lot grid, not
        positive, or below its minimum size or notional — or None when it may be sent.

        Checks the exact values, not the grid they were made on: a `Price` made on a 0.01 grid
        is on a 0.1 venue's grid only when it is a multiple of 0.1."""
        where = f"{self.venue} {self.venue_symbol}"
        if qty.value % self.lot_size != 0:
            return f"{where}: quantity {qty} is not a multiple of the lot size {self.lot_size}"
        if price is not None:
            if price.value <= 0:
                return f"{where}: price must be positive, got {price}"
            if price.value % self.tick_size != 0:
                return f"{where}: price {price} is not a multiple of the tick size {self.tick_size}"
        refusal = self.check_order(price, qty)
        return None if refusal is None else f"{where}: {refusal}"


def snap_price(value: float | Decimal, tick_size: Decimal, side: Side, passive: bool = True) -> Price:
    """`value` on the `tick_size` grid, rounded for `side` (see `VenueInstrument.round_price`).

    Passive (a resting order, a limit a trader typed): a buy rounds down and a sell rounds up, so
    the price is never looser than the one given. `passive=False` (a marketable cap) rounds
    toward reaching the level: a buy up, a sell down. A float goes through its shortest repr, so
    a level printed as 49495.200000000004 is a tick above 49495.2 for a marketable buy."""
    down = (side is Side.BUY) == passive
    ticks = (to_decimal(value, "price") / tick_size).to_integral_value(ROUND_FLOOR if down else ROUND_CEILING)
    return Price(int(ticks), tick_size)


@dataclass(frozen=True, slots=True, order=True)
class Price:
    """A price as an integer number of ticks; `value` is the exact decimal."""

    ticks: int
    tick_size: Decimal = field(compare=False)

    @classmethod
    def of(cls, value: Decimal | int | float | str, tick_size: Decimal) -> Price:
        exact = to_decimal(value, "price")
        ticks = exact / tick_size
        if ticks != ticks.to_integral_value():
            raise ValueError(f"price {exact} is not a multiple of the tick size {tick_size}")
        if exact <= 0:
            raise ValueError(f"price must be positive, got {exact}")
        return cls(int(ticks), tick_size)

    @classmethod
    def exact(cls, value: Decimal) -> Price:
        """A price with no venue grid (an OTC desk's quote): on the grid of its own last digit."""
        exact = to_decimal(value, "price")
        return cls.of(exact, Decimal(1).scaleb(_exponent(exact)))

    @property
    def value(self) -> Decimal:
        return self.ticks * self.tick_size

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True, order=True)
class Quantity:
    """A quantity as an integer number of lots; `value` is the exact decimal in base units."""

    lots: int
    lot_size: Decimal = field(compare=False)

    @classmethod
    def of(cls, value: Decimal | int | float | str, lot_size: Decimal) -> Quantity:
        exact = to_decimal(value, "quantity")
        lots = exact / lot_size
        if lots != lots.to_integral_value():
            raise ValueError(f"quantity {exact} is not a multiple of the lot size {lot_size}")
        if exact < 0:
            raise ValueError(f"quantity must not be negative, got {exact}")
        return cls(int(lots), lot_size)

    @classmethod
    def exact(cls, value: Decimal) -> Quantity:
        """A size with no venue lot (an OTC trade): on the grid of its own last digit."""
        exact = to_decimal(value, "quantity")
        return cls.of(exact, Decimal(1).scaleb(_exponent(exact)))

    @property
    def value(self) -> Decimal:
        return self.lots * self.lot_size

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        return str(self.value)


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: `to_decimal` refused NaN and infinities
    return exponent
