"""Order model: the parent block, its child orders, fills and the one order state-transition table.

Transitions resolve on (status, event, filled): two sentinel targets in the table depend on
whether anything is filled, so a child never forgets its fills — `OPEN` (the order is live) is
PARTIALLY_FILLED if filled else NEW, and `GONE` (the venue says it is gone, and no cancel of ours
was confirmed) is CANCELED if filled — or, when the venue cannot find it, if it had acked it (it
lived there, so it was canceled, not rejected) — else REJECTED.

Invariants kept here, and checked against an independent model in tests/core/test_order_state.py:
- a child's state only moves along `TRANSITIONS`; any other (state, event) pair raises;
- REJECTED and NEW mean nothing is filled (`transition` raises rather than break this), so an
  UNKNOWN child with fills comes back PARTIALLY_FILLED on an ack and CANCELED when not found;
- filled quantity never exceeds the ordered quantity, leaves are never negative;
- a fill that arrives after a cancel request, after the cancel is applied or after a reject
  (a venue that contradicts itself) is kept, never lost;
- a request that times out is UNKNOWN (resolved by reconciliation), never REJECTED;
- a fill is applied once per venue trade id, however often a venue replays it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from decimal import Decimal

from core.types import Instrument, Side


class OrderStatus(enum.Enum):
    PENDING_NEW = "pending_new"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_open(self) -> bool:
        """Could still trade at the venue (what a kill switch must cancel)."""
        return self in _OPEN


# a tuple, not a set: membership of enum members by identity is several times cheaper than
# hashing them (Enum.__hash__ runs in Python), and open_children asks this for every child
_OPEN = (
    OrderStatus.PENDING_NEW,
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.PENDING_CANCEL,
    OrderStatus.UNKNOWN,
)


class OrderEvent(enum.Enum):
    """What can happen to a child order. FILL is split by whether it completes the order."""

    ACK = "ack"
    REJECT = "reject"
    FILL_PARTIAL = "fill_partial"
    FILL_FULL = "fill_full"
    CANCEL_REQUEST = "cancel_request"
    CANCEL_ACK = "cancel_ack"
    CANCEL_REJECT = "cancel_reject"
    EXPIRE = "expire"
    TIMEOUT = "timeout"
    NOT_FOUND = "not_found"


S = OrderStatus
E = OrderEvent
# Targets resolved by whether anything is filled. PENDING_NEW has nothing filled (its first fill
# leaves it), so entries from it name NEW and REJECTED directly; `transition` checks it anyway.
OPEN = "open"  # live: PARTIALLY_FILLED if filled else NEW (a refused cancel, an ack after a timeout)
GONE = "gone"  # gone without our cancel confirmed: CANCELED if filled else REJECTED

TRANSITIONS: dict[tuple[OrderStatus, OrderEvent], OrderStatus | str] = {
    (S.PENDING_NEW, E.ACK): S.NEW,
    (S.PENDING_NEW, E.REJECT): S.REJECTED,
    (S.PENDING_NEW, E.FILL_PARTIAL): S.PARTIALLY_FILLED,
    (S.PENDING_NEW, E.FILL_FULL): S.FILLED,
    (S.PENDING_NEW, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PENDING_NEW, E.CANCEL_ACK): S.CANCELED,
    (S.PENDING_NEW, E.EXPIRE): S.EXPIRED,
    (S.PENDING_NEW, E.TIMEOUT): S.UNKNOWN,
    (S.NEW, E.ACK): S.NEW,
    (S.NEW, E.FILL_PARTIAL): S.PARTIALLY_FILLED,
    (S.NEW, E.FILL_FULL): S.FILLED,
    (S.NEW, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.NEW, E.CANCEL_ACK): S.CANCELED,
    (S.NEW, E.EXPIRE): S.EXPIRED,
    (S.NEW, E.NOT_FOUND): S.CANCELED,
    (S.PARTIALLY_FILLED, E.ACK): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL_PARTIAL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL_FULL): S.FILLED,
    (S.PARTIALLY_FILLED, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, E.CANCEL_ACK): S.CANCELED,
    (S.PARTIALLY_FILLED, E.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_FILLED, E.NOT_FOUND): S.CANCELED,
    (S.PENDING_CANCEL, E.ACK): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.REJECT): GONE,
    (S.PENDING_CANCEL, E.FILL_PARTIAL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.FILL_FULL): S.FILLED,
    (S.PENDING_CANCEL, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.CANCEL_ACK): S.CANCELED,
    (S.PENDING_CANCEL, E.CANCEL_REJECT): OPEN,
    (S.PENDING_CANCEL, E.EXPIRE): S.EXPIRED,
    (S.PENDING_CANCEL, E.TIMEOUT): S.UNKNOWN,
    (S.PENDING_CANCEL, E.NOT_FOUND): S.CANCELED,
    (S.FILLED, E.ACK): S.FILLED,
    (S.FILLED, E.CANCEL_REJECT): S.FILLED,
    (S.FILLED, E.NOT_FOUND): S.FILLED,
    (S.CANCELED, E.ACK): S.CANCELED,
    (S.CANCELED, E.FILL_PARTIAL): S.CANCELED,
    (S.CANCELED, E.FILL_FULL): S.FILLED,
    (S.CANCELED, E.CANCEL_ACK): S.CANCELED,
    (S.CANCELED, E.CANCEL_REJECT): S.CANCELED,
    (S.CANCELED, E.NOT_FOUND): S.CANCELED,
    (S.EXPIRED, E.ACK): S.EXPIRED,
    (S.EXPIRED, E.FILL_PARTIAL): S.EXPIRED,
    (S.EXPIRED, E.FILL_FULL): S.FILLED,
    (S.EXPIRED, E.CANCEL_REJECT): S.EXPIRED,
    (S.EXPIRED, E.NOT_FOUND): S.EXPIRED,
    (S.REJECTED, E.REJECT): S.REJECTED,
    # a fill after a reject (a not-found that raced the order): the venue was wrong, keep the fill
    (S.REJECTED, E.FILL_PARTIAL): S.CANCELED,
    (S.REJECTED, E.FILL_FULL): S.FILLED,
    (S.REJECTED, E.CANCEL_REJECT): S.REJECTED,
    (S.REJECTED, E.NOT_FOUND): S.REJECTED,
    (S.UNKNOWN, E.ACK): OPEN,
    (S.UNKNOWN, E.REJECT): GONE,
    (S.UNKNOWN, E.FILL_PARTIAL): S.PARTIALLY_FILLED,
    (S.UNKNOWN, E.FILL_FULL): S.FILLED,
    (S.UNKNOWN, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.UNKNOWN, E.CANCEL_ACK): S.CANCELED,
    (S.UNKNOWN, E.EXPIRE): S.EXPIRED,
    (S.UNKNOWN, E.TIMEOUT): S.UNKNOWN,
    # reconciliation found no trace of it at the venue: with nothing filled it never became a
    # live order; with fills it did, and is gone
    (S.UNKNOWN, E.NOT_FOUND): GONE,
}


class IllegalTransition(RuntimeError):
    """An event that the order's current state cannot accept (a bug or a corrupt venue feed)."""


class TimeInForce(enum.Enum):
    GTC = "gtc"
    IOC = "ioc"
    POST_ONLY = "post_only"


class Liquidity(enum.Enum):
    MAKER = "maker"
    TAKER = "taker"


# Exchanges cap client order ids (Binance: 36 chars of [.A-Z:/a-z0-9_-]); ours stay within 32.
CLIENT_ID_MAX_LEN = 32
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def client_order_id(parent_id: str, sequence: int) -> str:
    """Deterministic child id: parent id + sequence, e.g. 'BH7K2Q-000042'.

    The OMS resumes sequences from the journal, so a restart never reuses an id.
    """
    if sequence < 0:
        raise ValueError("client order sequence must not be negative")
    cid = f"{parent_id}-{sequence:06d}"
    if not _CLIENT_ID_RE.match(cid):
        raise ValueError(
            f"client order id {cid!r} breaks the exchanges' limit (1-32 chars of A-Z a-z 0-9 _ -); "
            "use a shorter parent id"
        )
    return cid


def validate_parent_id(parent_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_]{1,20}", parent_id):
        raise ValueError(f"parent id {parent_id!r} must be 1-20 characters of A-Z a-z 0-9 _")
    return parent_id


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution, as an audit-grade record.

    `venue_ts` is the venue's timestamp and `local_ts` our receive time, both UTC epoch seconds.
    `fee` is in `fee_currency` (positive = paid, negative = rebate).
    """

    client_id: str
    venue: str
    venue_trade_id: str
    venue_order_id: str
    side: Side
    price: Decimal
    quantity: Decimal
    liquidity: Liquidity
    fee: Decimal
    fee_currency: str
    venue_ts: float
    local_ts: float

    @property
    def dedupe_key(self) -> tuple[str, str]:
        return (self.venue, self.venue_trade_id)


@dataclass(slots=True)
class ChildOrder:
    """An order at one venue, owned by a parent. Mutated only through `apply`."""

    client_id: str
    parent_id: str
    venue: str
    instrument: Instrument
    side: Side
    quantity: Decimal
    price: Decimal | None  # None = market order
    tif: TimeInForce
    created_ts: float
    status: OrderStatus = OrderStatus.PENDING_NEW
    filled: Decimal = Decimal(0)
    notional_filled: Decimal = Decimal(0)
    fees_quote: Decimal = Decimal(0)
    venue_order_id: str = ""
    reject_reason: str = ""
    ack_ts: float | None = None
    fill_ids: set[tuple[str, str]] = field(default_factory=set)
    # the order lived at the venue (it acked or refused a cancel): what it remembers of its past
    # statuses to resolve the next event, as Nautilus's FSM keeps the previous status
    venue_knew: bool = False

    @property
    def leaves(self) -> Decimal:
        """Quantity still able to trade (zero once the order is done)."""
        return self.quantity - self.filled if self.status.is_open else Decimal(0)

    @property
    def avg_price(self) -> Decimal | None:
        return self.notional_filled / self.filled if self.filled else None

    def transition(self, event: OrderEvent) -> OrderStatus:
        """Move along the table or raise `IllegalTransition`; returns the new status.

        Raises too (and changes nothing) if the move would leave NEW or REJECTED with fills."""
        target = TRANSITIONS.get((self.status, event))
        if target is None:
            raise IllegalTransition(f"{self.client_id}: {event.value} is not allowed in {self.status.value}")
        if target == OPEN:
            target = OrderStatus.PARTIALLY_FILLED if self.filled else OrderStatus.NEW
        elif target == GONE:
            # not found after it lived at the venue (it acked, or refused a cancel): it was canceled
            # there, not rejected; a reject, or a child the venue never knew, is REJECTED
            lived = self.venue_knew and event is OrderEvent.NOT_FOUND
            target = OrderStatus.CANCELED if self.filled or lived else OrderStatus.REJECTED
        assert isinstance(target, OrderStatus)
        if self.filled and target in (OrderStatus.NEW, OrderStatus.REJECTED):
            raise IllegalTransition(
                f"{self.client_id}: {event.value} would make it {target.value} with {self.filled} filled"
            )
        if event in (OrderEvent.ACK, OrderEvent.CANCEL_REJECT):
            self.venue_knew = True
        self.status = target
        return target

    def apply_fill(self, fill: Fill) -> bool:
        """Apply a fill once; returns False for a replayed trade id. Over-fills raise."""
        if fill.dedupe_key in self.fill_ids:
            return False
        new_filled = self.filled + fill.quantity
        if fill.quantity <= 0:
            raise IllegalTransition(f"{self.client_id}: fill quantity must be positive, got {fill.quantity}")
        if new_filled > self.quantity:
            raise IllegalTransition(
                f"{self.client_id}: fill of {fill.quantity} would exceed ordered {self.quantity} "
                f"(already filled {self.filled})"
            )
        self.transition(OrderEvent.FILL_FULL if new_filled == self.quantity else OrderEvent.FILL_PARTIAL)
        self.fill_ids.add(fill.dedupe_key)
        self.filled = new_filled
        self.notional_filled += fill.price * fill.quantity
        if fill.fee_currency == self.instrument.quote:
            self.fees_quote += fill.fee
        else:  # fee charged in base: value it at the fill price
            self.fees_quote += fill.fee * fill.price
        return True
