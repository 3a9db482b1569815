"""Ports: what core needs from the outside world, as `typing.Protocol`s.

Venue calls never block: `submit` and `cancel` return at once and the venue later reports
acks, rejects, fills and cancels through the callbacks given to `connect` (the engine turns
them into journaled events). A venue that cannot answer in time reports a timeout, never a
reject, so the order becomes UNKNOWN and reconciliation settles it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from core.events import BookUpdate, Trades
from core.orders import ChildOrder, Fill, OrderStatus
from core.types import Side, VenueInstrument


class RejectReason:
    """Reject reasons every venue maps its errors to (strings, stable in the journal)."""

    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    BAD_TICK = "bad_tick"
    BAD_LOT = "bad_lot"
    MIN_NOTIONAL = "min_notional"
    RATE_LIMITED = "rate_limited"
    VENUE_DOWN = "venue_down"
    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    NOT_FOUND = "not_found"
    RISK = "risk"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Balance:
    """Per venue and asset. `locked` is held by open orders; available = total - locked."""

    venue: str
    asset: str
    total: Decimal
    locked: Decimal = Decimal(0)

    @property
    def available(self) -> Decimal:
        return self.total - self.locked


@dataclass(frozen=True, slots=True)
class VenueOrderReport:
    """What a venue says about one of our orders (acks, cancels, rejects, reconciliation)."""

    client_id: str
    venue_order_id: str
    status: OrderStatus
    filled: Decimal
    venue_ts: float
    reason: str = ""


@dataclass(slots=True)
class VenueCallbacks:
    """How a venue reports back to the engine. All are called on the engine's loop."""

    on_book: Callable[[BookUpdate], None]
    on_trades: Callable[[Trades], None]
    on_order: Callable[[VenueOrderReport], None]
    on_fill: Callable[[Fill], None]
    on_cancel_reject: Callable[[str, str], None]  # (client_id, reason); reason NOT_FOUND = order gone
    on_timeout: Callable[[str], None]  # (client_id): no answer in time, the order is UNKNOWN
    on_status: Callable[[bool, str], None] = field(default=lambda up, detail: None)


class Venue(Protocol):
    name: str

    def instrument(self, symbol: str) -> VenueInstrument: ...

    def connect(self, callbacks: VenueCallbacks) -> None: ...

    def submit(self, order: ChildOrder) -> None: ...

    def cancel(self, order: ChildOrder) -> None: ...

    def cancel_all(self, symbol: str) -> None: ...

    def cancel_by_id(self, symbol: str, client_id: str, venue_order_id: str) -> None:
        """Cancel an order we may not hold in the OMS (an orphan, or from a standalone kill)."""
        ...

    def open_orders(self, symbol: str) -> list[VenueOrderReport]: ...

    def fills_since(self, symbol: str, since_ts: float) -> list[Fill]: ...

    def balances(self) -> dict[str, Balance]: ...

    def depth_snapshot(self, symbol: str, levels: int) -> BookUpdate:
        """A deep L2 snapshot (pre-trade walks the whole book, not the streamed top levels)."""
        ...

    @property
    def is_up(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Quote:
    """A desk's firm (or last-look) price for a size, valid until `expires_ts`."""

    quote_id: str
    rfq_id: str
    desk: str
    side: Side  # the side WE would trade
    quantity: Decimal
    price: Decimal
    received_ts: float
    expires_ts: float
    last_look: bool
    min_quantity: Decimal = Decimal(0)  # the least the desk lets us accept (partial accepts)


@dataclass(frozen=True, slots=True)
class OtcExecution:
    """The desk's answer to an accept: a fill (possibly smaller) or a last-look reject."""

    quote_id: str
    filled: Decimal
    price: Decimal
    desk_trade_id: str
    ts: float
    rejected_reason: str = ""


class LiquidityProvider(Protocol):
    """An OTC desk. Requests and accepts are answered later through the callbacks."""

    name: str

    def request_quote(
        self, rfq_id: str, symbol: str, side: Side, quantity: Decimal, on_quote: Callable[[Quote], None]
    ) -> None: ...

    def accept(
        self, quote: Quote, quantity: Decimal, on_result: Callable[[OtcExecution], None]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class JournalRecord:
    seq: int
    ts: float
    kind: str
    actor: str
    payload: dict[str, Any]


class Journal(Protocol):
    """Append-only log of every command and venue event. Appends are durable on return."""

    def append(self, kind: str, payload: dict[str, Any], actor: str, ts: float) -> int: ...

    def append_many(self, records: list[tuple[str, dict[str, Any], str, float]]) -> int: ...

    def replay(self, from_seq: int = 0) -> Iterator[JournalRecord]: ...

    def close(self) -> None: ...
