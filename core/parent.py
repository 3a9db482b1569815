"""The parent order: the block a desk receives, and its lifecycle.

staged → (pending approval →) running ⇄ paused → completing → done | canceled | stopped by risk.

`ParentOrder.move_to` is the only way a parent's state changes, and only along
`PARENT_TRANSITIONS` (the OMS applies journaled `parent.state` / `parent.started` records with it).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.orders import validate_parent_id
from core.types import Instrument, Side


class ParentState(enum.Enum):
    STAGED = "staged"
    PENDING_APPROVAL = "pending_approval"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETING = "completing"
    DONE = "done"
    CANCELED = "canceled"
    STOPPED_BY_RISK = "stopped_by_risk"

    @property
    def is_terminal(self) -> bool:
        return self in (ParentState.DONE, ParentState.CANCELED, ParentState.STOPPED_BY_RISK)


P = ParentState
PARENT_TRANSITIONS: dict[ParentState, frozenset[ParentState]] = {
    P.STAGED: frozenset({P.PENDING_APPROVAL, P.RUNNING, P.CANCELED}),
    P.PENDING_APPROVAL: frozenset({P.STAGED, P.RUNNING, P.CANCELED}),
    P.RUNNING: frozenset({P.PAUSED, P.COMPLETING, P.DONE, P.CANCELED, P.STOPPED_BY_RISK}),
    P.PAUSED: frozenset({P.RUNNING, P.COMPLETING, P.DONE, P.CANCELED, P.STOPPED_BY_RISK}),
    P.COMPLETING: frozenset({P.DONE, P.CANCELED, P.STOPPED_BY_RISK, P.PAUSED}),
    P.DONE: frozenset(),
    P.CANCELED: frozenset(),
    P.STOPPED_BY_RISK: frozenset(),
}


class EndAction(enum.Enum):
    """What happens at the end of the horizon with quantity left."""

    COMPLETE = "complete"  # finish aggressively within the price cap
    STOP = "stop"  # stop and leave the residual


class Urgency(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(slots=True)
class ParentOrder:
    """A block order. Quantities are base units (a notional ticket is converted at staging).

    `limit_price`: no child ever trades beyond it. `i_would_price`: at or beyond it the algo
    accelerates to its max participation. Times are UTC epoch seconds.

    The parent's own risk limits (None = none; a supervisor's cap at staging may fill them in):
    `max_slippage_bps` — the fills' average price against the arrival mid, in bps, positive = worse
    (the `ParentProgress.slippage_bps` convention), above which the parent is paused;
    `max_schedule_deviation` — |filled − schedule| as a fraction of the parent quantity, in (0, 1].
    """

    parent_id: str
    instrument: Instrument
    side: Side
    quantity: Decimal
    horizon_s: float
    algo: str = "ac"
    account: str = "default"
    client_ref: str = ""
    reporting_ccy: str = "USD"
    limit_price: Decimal | None = None
    i_would_price: Decimal | None = None
    urgency: Urgency = Urgency.MEDIUM
    risk_aversion: float | None = None
    start_ts: float | None = None
    end_ts: float | None = None
    end_action: EndAction = EndAction.COMPLETE
    venues: tuple[str, ...] = ()
    desks: tuple[str, ...] = ()
    max_participation: float = 0.25
    max_slippage_bps: float | None = None
    max_schedule_deviation: float | None = None
    rfq_mode: str = "manual"
    params: dict[str, Any] = field(default_factory=dict)
    trader: str = ""
    state: ParentState = ParentState.STAGED

    def __post_init__(self) -> None:
        validate_parent_id(self.parent_id)
        if self.quantity <= 0:
            raise ValueError(f"parent quantity must be positive, got {self.quantity}")
        if self.horizon_s <= 0:
            raise ValueError(f"horizon must be positive, got {self.horizon_s} s")
        if not 0 < self.max_participation <= 1:
            raise ValueError(f"max participation must be in (0, 1], got {self.max_participation}")
        if self.limit_price is not None and self.limit_price <= 0:
            raise ValueError(f"limit price must be positive, got {self.limit_price}")
        validate_max_slippage_bps(self.max_slippage_bps)
        validate_max_schedule_deviation(self.max_schedule_deviation)

    def can_move_to(self, state: ParentState) -> bool:
        return state in PARENT_TRANSITIONS[self.state]

    def move_to(self, state: ParentState) -> None:
        """Move along `PARENT_TRANSITIONS` or raise ValueError (changing nothing)."""
        if not self.can_move_to(state):
            raise ValueError(f"parent {self.parent_id}: cannot go from {self.state.value} to {state.value}")
        self.state = state

    def within_limit(self, price: Decimal) -> bool:
        """True when trading at `price` respects the limit (buy: ≤ limit, sell: ≥ limit)."""
        if self.limit_price is None:
            return True
        return price <= self.limit_price if self.side is Side.BUY else price >= self.limit_price


def validate_max_slippage_bps(value: float | None) -> None:
    """A parent's own slippage limit: None, or a positive finite number of bps."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"max slippage must be a positive number of bps vs the arrival mid (or none), got {value}")


def validate_max_schedule_deviation(value: float | None) -> None:
    """A parent's own schedule-deviation limit: None, or a fraction of its quantity in (0, 1]."""
    if value is not None and not (math.isfinite(value) and 0 < value <= 1):
        raise ValueError(
            f"max schedule deviation must be a fraction of the parent quantity in (0, 1] (or none), got {value}"
        )
