"""Events on the bus: small frozen, slotted dataclasses. Times are UTC epoch seconds (float).

Market-data payloads are numpy arrays (prices and sizes as float64, best level first).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from core.orders import Fill, OrderStatus
from core.types import Side

FloatArray = npt.NDArray[np.float64]


class Severity(enum.IntEnum):
    INFO = 10
    WARNING = 20
    ERROR = 30
    CRITICAL = 40


@dataclass(frozen=True, slots=True)
class Alert:
    ts: float
    severity: Severity
    kind: str
    source: str
    detail: str
    venue: str = ""
    parent_id: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class BookUpdate:
    """A venue's L2 book after applying a diff (or a fresh snapshot when `is_snapshot`)."""

    ts: float
    venue: str
    symbol: str
    seq: int
    bid_px: FloatArray
    bid_qty: FloatArray
    ask_px: FloatArray
    ask_qty: FloatArray
    is_snapshot: bool = False

    @property
    def mid(self) -> float:
        if not len(self.bid_px) or not len(self.ask_px):
            return float("nan")
        return 0.5 * (float(self.bid_px[0]) + float(self.ask_px[0]))


@dataclass(frozen=True, slots=True, eq=False)
class Trades:
    """Public trades on a venue since the last message. `aggressor` is +1 buy / -1 sell."""

    ts: float
    venue: str
    symbol: str
    price: FloatArray
    qty: FloatArray
    aggressor: npt.NDArray[np.int8]
    trade_ts: FloatArray


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A child order changed state (ack, reject, cancel, expire, timeout, reconciliation)."""

    ts: float
    client_id: str
    parent_id: str
    venue: str
    status: OrderStatus
    filled: Decimal
    leaves: Decimal
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FillEvent:
    ts: float
    parent_id: str
    fill: Fill


@dataclass(frozen=True, slots=True)
class VenueStatus:
    ts: float
    venue: str
    connected: bool
    latency_ms: float
    detail: str = ""


class TradingState(enum.Enum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


@dataclass(frozen=True, slots=True)
class TradingStateChanged:
    ts: float
    scope: str  # "global", "venue:<name>" or "symbol:<BTC/USDT>"
    state: TradingState
    actor: str
    reason: str


@dataclass(frozen=True, slots=True)
class ParentProgress:
    ts: float
    parent_id: str
    state: str
    side: Side
    quantity: float
    filled: float
    leaves: float
    avg_price: float
    arrival_mid: float
    slippage_bps: float
    schedule_qty: float
    participation: float
    working: float
    otc_qty: float


@dataclass(frozen=True, slots=True)
class OverrideApplied:
    ts: float
    parent_id: str
    actor: str
    field: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class LoopLag:
    """Event-loop lag metric: how late a periodic probe ran (ms)."""

    ts: float
    lag_ms: float
    max_lag_ms: float


@dataclass(frozen=True, slots=True)
class RfqQuoteArrived:
    """A desk quoted: what the RFQ dialog shows (with its countdown to `expires_ts`)."""

    ts: float
    rfq_id: str
    quote_id: str
    parent_id: str
    desk: str
    side: Side
    quantity: float
    price: float
    expires_ts: float
    last_look: bool
    better_than_exchange_bps: float
    better_than_exchange_usd: float
    recommendation: str
    reason: str


@dataclass(frozen=True, slots=True)
class RfqStateChanged:
    ts: float
    rfq_id: str
    parent_id: str
    desk: str
    state: str
    detail: str = ""
    filled_qty: float = 0.0
