"""What the order ticket asks the desk to stage: a typed, validated request.

The ticket (widgets/ticket.py) emits a `StageRequest`; the desk side (app/bridge.py) snaps its
prices to the instrument's tick (`snapped`), floors its quantity to the venues' lot, allocates a
parent id and stages the parent. Nothing crosses as an untyped dict: a request that exists is
valid, and a bad value fails here with a message that says what to change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType

from core.parent import EndAction, Urgency, validate_max_schedule_deviation, validate_max_slippage_bps
from core.types import Instrument, Side, snap_price

ALGOS = ("ac", "adaptive", "twap", "vwap", "pov", "iceberg")
RFQ_MODES = ("manual", "auto", "off")


@dataclass(frozen=True, slots=True)
class StageRequest:
    """A parent order as the trader described it.

    Units: `quantity` in base units, exact (the desk floors it to the venues' lot); prices in
    quote per base unit — `limit_price`: no child trades beyond it; `i_would_price`: at or beyond
    it the algo speeds up to its max participation; `horizon_s` in seconds;
    `max_participation` and `max_schedule_deviation` as fractions in (0, 1]; `max_slippage_bps`
    in bps against the arrival mid (positive = worse). `params`: the algo's parameters (POV
    `rate` as a fraction, iceberg `display_qty` in base units). `venues`/`desks`: empty = all.
    `notional_usd`: what the quantity was worth at the reference mid when the ticket was read
    (nan when unknown; display only)."""

    instrument: Instrument
    side: Side
    quantity: Decimal
    horizon_s: float
    algo: str = "ac"
    limit_price: Decimal | None = None
    i_would_price: Decimal | None = None
    urgency: Urgency = Urgency.MEDIUM
    end_action: EndAction = EndAction.COMPLETE
    params: Mapping[str, float] = field(default_factory=dict)
    max_participation: float = 0.25
    venues: tuple[str, ...] = ()
    desks: tuple[str, ...] = ()
    rfq_mode: str = "manual"
    max_slippage_bps: float | None = None
    max_schedule_deviation: float | None = None
    notional_usd: float = math.nan

    def __post_init__(self) -> None:
        if not isinstance(self.quantity, Decimal) or not self.quantity.is_finite() or self.quantity <= 0:
            raise ValueError(f"quantity must be a positive number of {self.instrument.base}, got {self.quantity}")
        if not math.isfinite(self.horizon_s) or self.horizon_s <= 0:
            raise ValueError(f"horizon must be a positive number of seconds, got {self.horizon_s}")
        for name in ("limit_price", "i_would_price"):
            price = getattr(self, name)
            if price is not None and (not isinstance(price, Decimal) or not price.is_finite() or price <= 0):
                raise ValueError(f"{name.replace('_', ' ')} must be a positive price (or none), got {price}")
        if self.limit_price is not None and self.i_would_price is not None and not _within(
            self.side, self.i_would_price, self.limit_price
        ):
            raise ValueError(
                f"i-would price {self.i_would_price} is beyond the limit {self.limit_price}: the algo could never "
                f"trade there; set it {'at or below' if self.side is Side.BUY else 'at or above'} the limit"
            )
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; choose one of {', '.join(ALGOS)}")
        if self.rfq_mode not in RFQ_MODES:
            raise ValueError(f"unknown RFQ mode {self.rfq_mode!r}; choose one of {', '.join(RFQ_MODES)}")
        if not 0 < self.max_participation <= 1:
            raise ValueError(f"max participation must be a fraction in (0, 1], got {self.max_participation}")
        validate_max_slippage_bps(self.max_slippage_bps)
        validate_max_schedule_deviation(self.max_schedule_deviation)
        # frozen all the way down: the ticket cannot change a request it has emitted
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "venues", tuple(self.venues))
        object.__setattr__(self, "desks", tuple(self.desks))

    def snapped(self, tick_size: Decimal) -> StageRequest:
        """This request with its limit and i-would prices on the `tick_size` grid, passively: a
        sell's round up and a buy's round down, so neither is ever looser than what was typed
        (a sell limit of 60000.004 on a 0.01 tick is 60000.01)."""
        return replace(
            self,
            limit_price=_snap(self.limit_price, tick_size, self.side),
            i_would_price=_snap(self.i_would_price, tick_size, self.side),
        )


def _snap(price: Decimal | None, tick_size: Decimal, side: Side) -> Decimal | None:
    return None if price is None else snap_price(price, tick_size, side, passive=True).value


def _within(side: Side, price: Decimal, limit: Decimal) -> bool:
    return price <= limit if side is Side.BUY else price >= limit
