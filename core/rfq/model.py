"""RFQ state machine, disclosure policy and desk scorecard.

One request per desk: draft → sent → quoted → accepted → filled | last-look rejected; a quote
can also expire or be rejected by the trader; a request can be canceled (withdrawn) while open.
An accepted quote that the desk never confirms also ends: expired when it lapses while exchange
orders are still being canceled to make room for it, rejected when the exchange filled the rest
meanwhile. `Rfq.move_to` is the only way a request changes state (the service journals each move).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from core.ports import Quote
from core.types import Side


class RfqState(enum.Enum):
    DRAFT = "draft"
    SENT = "sent"
    QUOTED = "quoted"
    ACCEPTED = "accepted"
    FILLED = "filled"
    LAST_LOOK_REJECTED = "last_look_rejected"
    EXPIRED = "expired"
    REJECTED = "rejected"  # by the trader (or the policy)
    CANCELED = "canceled"  # withdrawn by us before a decision

    @property
    def is_open(self) -> bool:
        return self in (RfqState.DRAFT, RfqState.SENT, RfqState.QUOTED, RfqState.ACCEPTED)


R = RfqState
RFQ_TRANSITIONS: dict[RfqState, frozenset[RfqState]] = {
    R.DRAFT: frozenset({R.SENT, R.CANCELED}),
    R.SENT: frozenset({R.QUOTED, R.EXPIRED, R.CANCELED}),
    R.QUOTED: frozenset({R.ACCEPTED, R.EXPIRED, R.REJECTED, R.CANCELED}),
    # the desk answers (fill or last look), or we never send the accept: expired or rejected
    R.ACCEPTED: frozenset({R.FILLED, R.LAST_LOOK_REJECTED, R.EXPIRED, R.REJECTED}),
    R.FILLED: frozenset(),
    R.LAST_LOOK_REJECTED: frozenset(),
    R.EXPIRED: frozenset(),
    R.REJECTED: frozenset(),
    R.CANCELED: frozenset(),
}


@dataclass(slots=True)
class Rfq:
    rfq_id: str
    parent_id: str
    desk: str
    side: Side
    requested_qty: Decimal
    created_ts: float
    risk_transfer: bool = False
    state: RfqState = RfqState.DRAFT
    quote: Quote | None = None
    sent_ts: float | None = None
    decision_ts: float | None = None
    decision: str = ""
    reason: str = ""
    actor: str = ""
    filled_qty: Decimal = Decimal(0)
    fill_price: Decimal | None = None
    better_than_exchange_bps: float = float("nan")
    mid_at_request: float = float("nan")

    def move_to(self, state: RfqState) -> None:
        """Move along `RFQ_TRANSITIONS` or raise ValueError (changing nothing)."""
        if state not in RFQ_TRANSITIONS[self.state]:
            raise ValueError(f"RFQ {self.rfq_id}: cannot go from {self.state.value} to {state.value}")
        self.state = state


@dataclass(slots=True)
class DisclosurePolicy:
    """How much of the block a desk may see. Defaults in docs/rfq.md.

    Each request asks for `fraction` of the remaining quantity, randomized by ±`jitter`, and never
    more than `max_fraction` of the parent's quantity (the block) — outside risk-transfer mode."""

    fraction: float = 0.2
    jitter: float = 0.25
    max_fraction: float = 0.3
    max_desks: int = 3
    stagger_s: float = 0.0  # 0 = simultaneous
    anonymous: bool = True
    risk_transfer_max_desks: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.fraction <= self.max_fraction < 1:
            raise ValueError("RFQ disclosure needs 0 < fraction ≤ max_fraction < 1 (a desk never sees the block)")

    def request_size(self, remaining: float, block: float, rng: np.random.Generator, lot: float) -> float:
        raw = remaining * self.fraction * (1.0 + self.jitter * (2.0 * rng.random() - 1.0))
        capped = min(raw, self.max_fraction * block, remaining)
        return math.floor(capped / lot) * lot


@dataclass(slots=True)
class DeskScore:
    """A desk's record: who answers, who fills, who leaks, who picks us off."""

    requests: int = 0
    quotes: int = 0
    accepts: int = 0
    fills: int = 0
    last_look_rejects: int = 0
    response_s: list[float] = field(default_factory=list)
    leakage_bps: list[float] = field(default_factory=list)  # mid move against us, request → decision
    markout_bps: list[float] = field(default_factory=list)  # mid move after our fill (desk's edge)

    @property
    def hit_rate(self) -> float:
        return self.quotes / self.requests if self.requests else 1.0

    @property
    def last_look_reject_rate(self) -> float:
        return self.last_look_rejects / self.accepts if self.accepts else 0.0

    def score(self) -> float:
        """Higher is better: answers, fills, and neither leaks nor marks out against us."""
        resp = float(np.mean(self.response_s)) if self.response_s else 1.0
        leak = float(np.mean(self.leakage_bps)) if self.leakage_bps else 0.0
        mark = float(np.mean(self.markout_bps)) if self.markout_bps else 0.0
        return (
            self.hit_rate * (1.0 - self.last_look_reject_rate) / (1.0 + resp / 10.0)
            - 0.05 * max(leak, 0.0)
            - (0.05 * max(mark, 0.0))
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "quotes": self.quotes,
            "accepts": self.accepts,
            "fills": self.fills,
            "hit_rate": self.hit_rate,
            "last_look_reject_rate": self.last_look_reject_rate,
            "avg_response_s": float(np.mean(self.response_s)) if self.response_s else float("nan"),
            "avg_leakage_bps": float(np.mean(self.leakage_bps)) if self.leakage_bps else float("nan"),
            "avg_markout_bps": float(np.mean(self.markout_bps)) if self.markout_bps else float("nan"),
            "score": self.score(),
        }
