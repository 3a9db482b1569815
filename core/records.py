"""Typed journal records: one frozen class per record kind, and the one codec kind ↔ class.

The journal stores `(seq, ts, kind, actor, payload)` with a JSON payload (adapters/store). Every
kind the desk writes has a class here; `encode` turns a record into the payload that is written
and `decode` turns a stored payload back into its class. Writing goes through `decode` too
(`check_payload`), so a writer and a replay can never disagree about a record's fields: a
missing field or an unknown kind is an error at the write, not a silent gap at the next restart.

Replay (`decode`) is strict: an unknown kind raises `RecordError` naming the kind and its seq;
a missing required field raises naming the field. Fields added by later versions carry defaults,
so journals written by earlier releases still open (tests/core/test_records.py replays one
written by the release before typed records).

Values keep their journal form (decimals as strings, enums as their values): the classes are the
schema; the components that own the state (OMS, risk gate, breakers, execution, RFQ) turn them
into domain objects when they apply them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

from core.ports import JournalRecord


class RecordError(ValueError):
    """A journal record that does not match its kind's class (or a kind this version does not know)."""


@dataclass(frozen=True, slots=True)
class Record:
    """Base of every journal record class. `KIND` is the journal's `kind` column."""

    KIND: ClassVar[str] = ""
    # fields not declared by the class are refused, except in classes that keep them in `extra`
    OPEN: ClassVar[bool] = False


RECORD_TYPES: dict[str, type[Record]] = {}
R = TypeVar("R", bound=type[Record])


def _kind(name: str, *, open_fields: bool = False) -> Any:
    def register(cls: R) -> R:
        if name in RECORD_TYPES:
            raise RuntimeError(f"record kind {name} registered twice")
        cls.KIND = name
        cls.OPEN = open_fields
        RECORD_TYPES[name] = cls
        return cls

    return register


# ---- parents ---------------------------------------------------------------------------------


@_kind("parent.staged")
@dataclass(frozen=True, slots=True)
class ParentStaged(Record):
    """A parent order as staged (core/oms.py `parent_to_dict`), with the consolidated mid then."""

    parent_id: str
    instrument: str
    side: str
    quantity: str
    horizon_s: float
    algo: str = "ac"
    account: str = "default"
    client_ref: str = ""
    reporting_ccy: str = "USD"
    limit_price: str | None = None
    i_would_price: str | None = None
    urgency: str = "medium"
    risk_aversion: float | None = None
    start_ts: float | None = None
    end_ts: float | None = None
    end_action: str = "complete"
    venues: list[str] = field(default_factory=list)
    desks: list[str] = field(default_factory=list)
    max_participation: float = 0.25
    max_slippage_bps: float | None = None
    max_schedule_deviation: float | None = None
    rfq_mode: str = "manual"
    params: dict[str, Any] = field(default_factory=dict)
    trader: str = ""
    state: str = "staged"
    staged_mid: float = math.nan


@_kind("parent.state")
@dataclass(frozen=True, slots=True)
class ParentStateChanged(Record):
    parent_id: str
    state: str
    reason: str = ""


@_kind("parent.started")
@dataclass(frozen=True, slots=True)
class ParentStarted(Record):
    parent_id: str
    arrival_mid: float


@_kind("parent.override")
@dataclass(frozen=True, slots=True)
class ParentOverride(Record):
    parent_id: str
    field: str
    old: Any = None
    new: Any = None


@_kind("algo.decision", open_fields=True)
@dataclass(frozen=True, slots=True)
class AlgoDecision(Record):
    """One decision of the adaptive policy, with its reason; its other fields vary by decision."""

    parent_id: str
    extra: dict[str, Any] = field(default_factory=dict)


# ---- children and venues ---------------------------------------------------------------------


@_kind("child.intent")
@dataclass(frozen=True, slots=True)
class ChildIntent(Record):
    """A child order about to be sent (journaled before the venue is called)."""

    client_id: str
    parent_id: str
    venue: str
    symbol: str
    side: str
    quantity: str
    price: str | None
    tif: str
    ts: float


@_kind("child.cancel_intent")
@dataclass(frozen=True, slots=True)
class ChildCancelIntent(Record):
    client_id: str
    reason: str = ""


@_kind("child.timeout")
@dataclass(frozen=True, slots=True)
class ChildTimeout(Record):
    client_id: str


@_kind("venue.report")
@dataclass(frozen=True, slots=True)
class VenueReport(Record):
    client_id: str
    venue_order_id: str
    status: str
    reason: str = ""
    venue_ts: float = 0.0


@_kind("venue.cancel_rejected")
@dataclass(frozen=True, slots=True)
class VenueCancelRejected(Record):
    client_id: str
    reason: str = ""


@_kind("venue.not_found")
@dataclass(frozen=True, slots=True)
class VenueNotFound(Record):
    client_id: str


@_kind("venue.fill")
@dataclass(frozen=True, slots=True)
class VenueFill(Record):
    client_id: str
    venue: str
    venue_trade_id: str
    venue_order_id: str
    side: str
    price: str
    quantity: str
    liquidity: str
    fee: str
    fee_currency: str
    venue_ts: float
    local_ts: float


@_kind("venue.routing")
@dataclass(frozen=True, slots=True)
class VenueRouting(Record):
    """A venue switched on or off for routing, and who holds it off afterwards."""

    venue: str
    requested: str
    enabled: bool
    held_by: list[str] = field(default_factory=list)


# ---- OTC and RFQ -----------------------------------------------------------------------------


@_kind("otc.fill")
@dataclass(frozen=True, slots=True)
class OtcFill(Record):
    parent_id: str
    desk: str
    desk_trade_id: str
    quantity: str
    price: str
    quote_id: str
    settlement: str = "pending"


@_kind("otc.reserve")
@dataclass(frozen=True, slots=True)
class OtcReserve(Record):
    parent_id: str
    quantity: str
    quote_id: str


@_kind("otc.release")
@dataclass(frozen=True, slots=True)
class OtcRelease(Record):
    parent_id: str
    quantity: str
    quote_id: str


@dataclass(frozen=True, slots=True)
class RfqRecord(Record):
    """A step of one request (core/rfq/service.py `_journal`): which request, and the step's facts."""

    rfq_id: str
    parent_id: str
    desk: str
    extra: dict[str, Any] = field(default_factory=dict)


@_kind("rfq.created", open_fields=True)
@dataclass(frozen=True, slots=True)
class RfqCreated(RfqRecord):
    pass


@_kind("rfq.quote", open_fields=True)
@dataclass(frozen=True, slots=True)
class RfqQuoted(RfqRecord):
    pass


@_kind("rfq.accept", open_fields=True)
@dataclass(frozen=True, slots=True)
class RfqAccepted(RfqRecord):
    pass


@_kind("rfq.accept_reduced", open_fields=True)
@dataclass(frozen=True, slots=True)
class RfqAcceptReduced(RfqRecord):
    pass


@_kind("rfq.reject", open_fields=True)
@dataclass(frozen=True, slots=True)
class RfqRejected(RfqRecord):
    pass


@_kind("rfq.withdraw", open_fields=True)
@dataclass(frozen=True, slots=True)
class RfqWithdrawn(RfqRecord):
    pass


@_kind("rfq.expire", open_fields=True)
@dataclass(frozen=True, slots=True)
class RfqExpired(RfqRecord):
    pass


@_kind("rfq.risk_transfer")
@dataclass(frozen=True, slots=True)
class RfqRiskTransfer(Record):
    parent_id: str
    desks: list[str]
    quantity: float


@_kind("rfq.settled")
@dataclass(frozen=True, slots=True)
class RfqSettled(Record):
    desk: str
    notional: float
    unsettled: float


# ---- risk ------------------------------------------------------------------------------------


@_kind("risk.kill")
@dataclass(frozen=True, slots=True)
class RiskKill(Record):
    reason: str = "kill switch"
    purged: int = 0
    standalone: bool = False


@_kind("risk.kill_reset")
@dataclass(frozen=True, slots=True)
class RiskKillReset(Record):
    reason: str = "reset"


@_kind("risk.kill_report")
@dataclass(frozen=True, slots=True)
class RiskKillReport(Record):
    venues: list[str] = field(default_factory=list)
    left_open: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


@_kind("risk.state")
@dataclass(frozen=True, slots=True)
class RiskState(Record):
    scope: str
    state: str
    reason: str = ""


@_kind("risk.limit")
@dataclass(frozen=True, slots=True)
class RiskLimit(Record):
    name: str
    old: Any = None
    new: Any = None


@_kind("risk.refused")
@dataclass(frozen=True, slots=True)
class RiskRefused(Record):
    rule: str
    detail: str = ""
    venue: str = ""
    parent_id: str = ""
    side: str = ""
    quantity: str = ""
    price: str = ""


@_kind("risk.breaker")
@dataclass(frozen=True, slots=True)
class BreakerTripped(Record):
    """A circuit breaker fired; `paused`: the parents its firing paused (empty before this field existed)."""

    rule: str
    target: str
    action: str
    detail: str = ""
    paused: list[str] = field(default_factory=list)


@_kind("risk.breaker_reset")
@dataclass(frozen=True, slots=True)
class BreakerReset(Record):
    key: str
    by: str = "automatic"


# ---- the terminal and headless runs ----------------------------------------------------------


@_kind("alert.ack")
@dataclass(frozen=True, slots=True)
class AlertAck(Record):
    alert_id: str
    severity: str = ""
    kind: str = ""
    source: str = ""
    detail: str = ""
    venue: str = ""
    parent_id: str = ""
    alert_ts: float | None = None


@_kind("terminal.exit")
@dataclass(frozen=True, slots=True)
class TerminalExit(Record):
    choice: str
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    working_qty: float = 0.0


@_kind("terminal.exit_cancels")
@dataclass(frozen=True, slots=True)
class TerminalExitCancels(Record):
    confirmed: int = 0
    unconfirmed: list[str] = field(default_factory=list)
    waited_s: float = 0.0


@_kind("run.exit")
@dataclass(frozen=True, slots=True)
class RunExit(Record):
    parent_id: str
    choice: str
    working: list[str] = field(default_factory=list)


# ---- the codec -------------------------------------------------------------------------------


def decode(kind: str, payload: Mapping[str, Any], seq: int | None = None) -> Record:
    """The typed record of a stored `(kind, payload)`; `RecordError` says what does not match."""
    where = f"journal record {seq} ({kind})" if seq is not None else f"journal record {kind}"
    cls = RECORD_TYPES.get(kind)
    if cls is None:
        raise RecordError(
            f"{where}: unknown kind; this version knows {len(RECORD_TYPES)} kinds (core/records.py). "
            "The journal was written by a newer Blockhouse, or edited: open it with that version"
        )
    declared = {f.name: f for f in fields(cls) if f.name != "extra"}
    values: dict[str, Any] = {}
    for name, f in declared.items():
        if name in payload:
            values[name] = payload[name]
        elif f.default is MISSING and f.default_factory is MISSING:
            raise RecordError(f"{where}: field {name!r} is missing")
    unknown = {k: v for k, v in payload.items() if k not in declared}
    if unknown:
        if not cls.OPEN:
            raise RecordError(f"{where}: unexpected field(s) {', '.join(sorted(unknown))}")
        values["extra"] = dict(unknown)
    return cls(**values)


def encode(record: Record) -> tuple[str, dict[str, Any]]:
    """`(kind, payload)` of a typed record, as the journal stores it."""
    payload: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.name == "extra":
            payload.update(value)
        else:
            payload[f.name] = value
    return record.KIND, payload


def check_payload(kind: str, payload: Mapping[str, Any]) -> None:
    """Refuse to write what a replay could not read back (the writer's side of the codec)."""
    decode(kind, payload)


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal row with its typed record: what every stateful component applies on replay."""

    seq: int
    ts: float
    actor: str
    record: Record

    @property
    def kind(self) -> str:
        return self.record.KIND


def typed(rec: JournalRecord) -> Entry:
    return Entry(rec.seq, rec.ts, rec.actor, decode(rec.kind, rec.payload, rec.seq))


def typed_replay(records: Iterable[JournalRecord]) -> Iterator[tuple[JournalRecord, Entry]]:
    """Each stored row with its typed record; raises `RecordError` at the first row that does not decode."""
    for rec in records:
        yield rec, typed(rec)
