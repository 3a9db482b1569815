"""Order manager: the one place order state changes, event-sourced through the journal.

Every change is a record: it is appended to the journal first, then applied by `apply`. Replaying
the journal through `apply` rebuilds the same state exactly, including the client-id sequences,
so a restarted engine never reuses an id. Submit and cancel *intents* are committed before the
engine sends them; a batch of intents (a kill switch's cancels) is one commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from core.actors import SYSTEM, Actor
from core.bus import Bus
from core.events import Alert, FillEvent, OrderUpdate, Severity
from core.orders import (
    ChildOrder,
    Fill,
    IllegalTransition,
    Liquidity,
    OrderEvent,
    OrderStatus,
    TimeInForce,
    client_order_id,
    validate_parent_id,
)
from core.parent import EndAction, ParentOrder, ParentState, Urgency
from core.ports import Journal, JournalRecord, VenueOrderReport
from core.records import check_payload
from core.types import Instrument, Price, Quantity, Side

log = logging.getLogger(__name__)

_REPORT_EVENTS: dict[OrderStatus, OrderEvent] = {
    OrderStatus.NEW: OrderEvent.ACK,
    OrderStatus.REJECTED: OrderEvent.REJECT,
    OrderStatus.CANCELED: OrderEvent.CANCEL_ACK,
    OrderStatus.EXPIRED: OrderEvent.EXPIRE,
}


class OrderManager:
    def __init__(self, journal: Journal | None, bus: Bus | None = None) -> None:
        self.journal = journal
        self.bus = bus
        self.parents: dict[str, ParentOrder] = {}
        self.children: dict[str, ChildOrder] = {}
        self.children_of: dict[str, list[str]] = {}
        # the children that could still trade, in creation order: open_children is asked on every
        # routing decision and risk check, and scanning every child ever sent made a 4 h block
        # quadratic in its children (2,400 of them: about a sixth of a `simulate` profile)
        self._open: dict[str, ChildOrder] = {}
        self._filled: dict[str, Decimal] = {}  # exchange fills per parent, kept as fills apply
        self.sequences: dict[str, int] = {}
        self.fill_keys: set[tuple[str, str]] = set()
        self.orphan_fills: list[Fill] = []
        self.staged_mid: dict[str, float] = {}
        self.arrival_mid: dict[str, float] = {}
        self.overrides: list[dict[str, Any]] = []
        self.otc_fills: dict[str, list[dict[str, Any]]] = {}  # parent → OTC executions
        self.reserved: dict[str, Decimal] = {}  # parent → quantity reserved for accepted quotes
        self.last_seq = 0
        self._replaying = False
        self._parent_numbers: dict[str, int] = {}  # prefix → the last number `allocate_parent_id` gave

    # ---- commands: journal first, then apply ------------------------------------------------

    def record(self, kind: str, payload: dict[str, Any], actor: Actor, ts: float) -> None:
        check_payload(kind, payload)  # what a replay could not read back is never written
        seq = self.journal.append(kind, payload, str(actor), ts) if self.journal else self.last_seq + 1
        self.apply(JournalRecord(seq, ts, kind, str(actor), payload))

    def record_many(self, items: list[tuple[str, dict[str, Any]]], actor: Actor, ts: float) -> None:
        """Several records in one journal transaction (e.g. 300 cancel intents)."""
        if not items:
            return
        for kind, payload in items:
            check_payload(kind, payload)
        rows = [(kind, payload, str(actor), ts) for kind, payload in items]
        last = self.journal.append_many(rows) if self.journal else self.last_seq + len(rows)
        first = last - len(rows) + 1
        for i, (kind, payload) in enumerate(items):
            self.apply(JournalRecord(first + i, ts, kind, str(actor), payload))

    def allocate_parent_id(self, prefix: str) -> str:
        """The next unused parent id `prefix` + a number of at least 4 digits (BH0001, BH0002, …):
        one past the highest such id among the staged parents — rebuilt from the journal, so a
        restart never reuses one — and past any this manager handed out before (two allocations
        never collide, even before either is staged)."""
        last = self._parent_numbers.get(prefix, 0)
        for parent_id in self.parents:
            number = parent_id[len(prefix):]
            if parent_id.startswith(prefix) and number.isascii() and number.isdigit():
                last = max(last, int(number))
        parent_id = validate_parent_id(f"{prefix}{last + 1:04d}")
        self._parent_numbers[prefix] = last + 1
        return parent_id

    def stage(self, parent: ParentOrder, actor: Actor, ts: float, staged_mid: float = float("nan")) -> None:
        if parent.parent_id in self.parents:
            raise ValueError(f"parent id {parent.parent_id} already exists; choose another")
        self.record("parent.staged", {**parent_to_dict(parent), "staged_mid": staged_mid}, actor, ts)

    def set_parent_state(self, parent_id: str, state: ParentState, actor: Actor, ts: float, reason: str = "") -> None:
        parent = self.parents[parent_id]
        if not parent.can_move_to(state):  # refused before anything is journaled
            raise ValueError(f"parent {parent_id}: cannot go from {parent.state.value} to {state.value}")
        self.record("parent.state", {"parent_id": parent_id, "state": state.value, "reason": reason}, actor, ts)

    def start(self, parent_id: str, arrival_mid: float, actor: Actor, ts: float) -> None:
        parent = self.parents[parent_id]
        if not parent.can_move_to(ParentState.RUNNING):
            raise ValueError(f"parent {parent_id} is {parent.state.value}: it cannot start")
        self.record("parent.started", {"parent_id": parent_id, "arrival_mid": arrival_mid}, actor, ts)

    def override(self, parent_id: str, field: str, old: Any, new: Any, actor: Actor, ts: float) -> None:
        payload = {"parent_id": parent_id, "field": field, "old": _jsonable(old), "new": _jsonable(new)}
        self.record("parent.override", payload, actor, ts)

    def next_client_id(self, parent_id: str) -> str:
        return client_order_id(parent_id, self.sequences.get(parent_id, 0) + 1)

    def new_child(
        self,
        parent_id: str,
        venue: str,
        side: Side,
        quantity: Quantity,
        price: Price | None,
        tif: TimeInForce,
        ts: float,
        actor: Actor = SYSTEM,
    ) -> ChildOrder:
        """Journal the submit intent and return the child; the caller then sends it.

        `quantity` and `price` are made by the venue's instrument (`Engine.send_child` has checked
        them against the venue's grid). The journal keeps their exact decimal strings, as it always
        has, so old journals replay unchanged; the `ChildOrder` keeps plain `Decimal` fields, read
        as such everywhere (fills, leaves, blotters) — the grid is enforced here, at the boundary
        where a new child is made, not re-derived on every read."""
        if not isinstance(quantity, Quantity) or not (price is None or isinstance(price, Price)):
            raise TypeError(
                f"a child takes a Quantity and a Price made by the venue's instrument, got "
                f"{type(quantity).__name__} and {type(price).__name__}"
            )
        client_id = self.next_client_id(parent_id)
        payload = {
            "client_id": client_id,
            "parent_id": parent_id,
            "venue": venue,
            "symbol": self.parents[parent_id].instrument.symbol,
            "side": side.name,
            "quantity": str(quantity.value),
            "price": None if price is None else str(price.value),
            "tif": tif.value,
            "ts": ts,
        }
        self.record("child.intent", payload, actor, ts)
        return self.children[client_id]

    def request_cancels(
        self, children: Iterable[ChildOrder], actor: Actor, ts: float, reason: str = ""
    ) -> list[ChildOrder]:
        """Journal cancel intents for every still-open child (one commit) and return them."""
        todo = [c for c in children if c.status.is_open and c.status is not OrderStatus.PENDING_CANCEL]
        self.record_many(
            [("child.cancel_intent", {"client_id": c.client_id, "reason": reason}) for c in todo], actor, ts
        )
        return todo

    def on_report(self, report: VenueOrderReport, ts: float) -> None:
        """A venue ack, reject, cancel, expiry or cancel refusal."""
        if report.client_id not in self.children:
            self._alert(ts, "orphan_order", f"venue reported unknown order {report.client_id}")
            return
        self.record(
            "venue.report",
            {
                "client_id": report.client_id,
                "venue_order_id": report.venue_order_id,
                "status": report.status.value,
                "reason": report.reason,
                "venue_ts": report.venue_ts,
            },
            SYSTEM,
            ts,
        )

    def on_cancel_refused(self, client_id: str, reason: str, ts: float) -> None:
        self.record("venue.cancel_rejected", {"client_id": client_id, "reason": reason}, SYSTEM, ts)

    def on_not_found(self, client_id: str, ts: float) -> None:
        self.record("venue.not_found", {"client_id": client_id}, SYSTEM, ts)

    def on_timeout(self, client_id: str, ts: float) -> None:
        self.record("child.timeout", {"client_id": client_id}, SYSTEM, ts)

    def on_fill(self, fill: Fill, ts: float) -> bool:
        """Apply a fill exactly once (dedupe by venue trade id); False when it was a replay."""
        if fill.dedupe_key in self.fill_keys:
            return False
        self.record("venue.fill", fill_to_dict(fill), SYSTEM, ts)
        return True

    def on_otc_fill(
        self,
        parent_id: str,
        desk: str,
        desk_trade_id: str,
        quantity: Decimal,
        price: Decimal,
        quote_id: str,
        actor: Actor,
        ts: float,
    ) -> None:
        payload = {
            "parent_id": parent_id,
            "desk": desk,
            "desk_trade_id": desk_trade_id,
            "quantity": str(quantity),
            "price": str(price),
            "quote_id": quote_id,
            "settlement": "pending",
        }
        self.record("otc.fill", payload, actor, ts)

    def reserve(self, parent_id: str, quantity: Decimal, quote_id: str, actor: Actor, ts: float) -> None:
        """Hold `quantity` for an accept in flight so filled + working + reserved ≤ quantity."""
        self.record("otc.reserve", {"parent_id": parent_id, "quantity": str(quantity), "quote_id": quote_id}, actor, ts)

    def release(self, parent_id: str, quantity: Decimal, quote_id: str, actor: Actor, ts: float) -> None:
        self.record("otc.release", {"parent_id": parent_id, "quantity": str(quantity), "quote_id": quote_id}, actor, ts)

    # ---- state: the only code that mutates --------------------------------------------------

    def apply(self, rec: JournalRecord) -> None:
        self.last_seq = rec.seq
        p = rec.payload
        handler = getattr(self, "_apply_" + rec.kind.replace(".", "_"), None)
        if handler is not None:
            handler(p, rec)

    def _apply_parent_staged(self, p: dict[str, Any], rec: JournalRecord) -> None:
        parent = parent_from_dict(p)
        self.parents[parent.parent_id] = parent
        self.children_of.setdefault(parent.parent_id, [])
        self.staged_mid[parent.parent_id] = float(p.get("staged_mid", float("nan")))

    def _apply_parent_state(self, p: dict[str, Any], rec: JournalRecord) -> None:
        parent, state = self.parents[p["parent_id"]], ParentState(p["state"])
        if state is not parent.state:  # a repeated state is a no-op
            self._move_parent(parent, state, rec)

    def _apply_parent_started(self, p: dict[str, Any], rec: JournalRecord) -> None:
        parent = self.parents[p["parent_id"]]
        if parent.state is ParentState.RUNNING:
            return  # a resume journaled by an earlier version: the first start's arrival and time stand
        if not self._move_parent(parent, ParentState.RUNNING, rec):
            return
        if parent.start_ts is None:
            parent.start_ts = rec.ts
        self.arrival_mid[parent.parent_id] = float(p["arrival_mid"])

    def _apply_parent_override(self, p: dict[str, Any], rec: JournalRecord) -> None:
        self.overrides.append({**p, "ts": rec.ts, "actor": rec.actor})
        parent = self.parents[p["parent_id"]]
        field, new = p["field"], p["new"]
        if field in _DECIMAL_FIELDS:
            setattr(parent, field, None if new is None else Decimal(str(new)))
        elif field == "urgency":
            parent.urgency = Urgency(new)
        elif field == "venues":
            parent.venues = tuple(new)
        elif field in _FLOAT_FIELDS:
            setattr(parent, field, None if new is None else float(new))
        elif field == "rfq_mode":
            parent.rfq_mode = str(new)
        else:
            parent.params[field] = new

    def _apply_otc_fill(self, p: dict[str, Any], rec: JournalRecord) -> None:
        self.otc_fills.setdefault(p["parent_id"], []).append({**p, "ts": rec.ts})

    def _apply_otc_reserve(self, p: dict[str, Any], rec: JournalRecord) -> None:
        self.reserved[p["parent_id"]] = self.reserved.get(p["parent_id"], Decimal(0)) + Decimal(p["quantity"])

    def _apply_otc_release(self, p: dict[str, Any], rec: JournalRecord) -> None:
        self.reserved[p["parent_id"]] = max(
            self.reserved.get(p["parent_id"], Decimal(0)) - Decimal(p["quantity"]), Decimal(0)
        )

    def _apply_child_intent(self, p: dict[str, Any], rec: JournalRecord) -> None:
        parent = self.parents[p["parent_id"]]
        child = ChildOrder(
            client_id=p["client_id"],
            parent_id=p["parent_id"],
            venue=p["venue"],
            instrument=parent.instrument,
            side=Side[p["side"]],
            quantity=Decimal(p["quantity"]),
            price=None if p["price"] is None else Decimal(p["price"]),
            tif=TimeInForce(p["tif"]),
            created_ts=rec.ts,
        )
        self.children[child.client_id] = child
        self.children_of.setdefault(parent.parent_id, []).append(child.client_id)
        self._open[child.client_id] = child
        seq = int(child.client_id.rsplit("-", 1)[1])
        self.sequences[parent.parent_id] = max(self.sequences.get(parent.parent_id, 0), seq)

    def _apply_child_cancel_intent(self, p: dict[str, Any], rec: JournalRecord) -> None:
        self._transition(p["client_id"], OrderEvent.CANCEL_REQUEST, rec.ts)

    def _apply_child_timeout(self, p: dict[str, Any], rec: JournalRecord) -> None:
        self._transition(p["client_id"], OrderEvent.TIMEOUT, rec.ts)

    def _apply_venue_report(self, p: dict[str, Any], rec: JournalRecord) -> None:
        child = self.children[p["client_id"]]
        if p["venue_order_id"]:
            child.venue_order_id = p["venue_order_id"]
        status = OrderStatus(p["status"])
        if status is OrderStatus.NEW and child.ack_ts is None:
            child.ack_ts = rec.ts
        if status is OrderStatus.REJECTED:
            child.reject_reason = p["reason"]
        event = _REPORT_EVENTS.get(status)
        if event is None:  # fills travel as fills; a report of 'filled' only confirms
            return
        self._transition(child.client_id, event, rec.ts, p["reason"])

    def _apply_venue_cancel_rejected(self, p: dict[str, Any], rec: JournalRecord) -> None:
        self._transition(p["client_id"], OrderEvent.CANCEL_REJECT, rec.ts, p["reason"])

    def _apply_venue_not_found(self, p: dict[str, Any], rec: JournalRecord) -> None:
        self._transition(p["client_id"], OrderEvent.NOT_FOUND, rec.ts, "not found at venue")

    def _apply_venue_fill(self, p: dict[str, Any], rec: JournalRecord) -> None:
        fill = fill_from_dict(p)
        if fill.dedupe_key in self.fill_keys:
            return
        self.fill_keys.add(fill.dedupe_key)
        child = self.children.get(fill.client_id)
        if child is None:
            self.orphan_fills.append(fill)
            self._alert(rec.ts, "orphan_fill", f"fill {fill.venue_trade_id} for unknown order {fill.client_id}")
            return
        try:
            child.apply_fill(fill)
        except IllegalTransition as exc:  # keep the record: an over-fill is a venue bug to investigate
            self.orphan_fills.append(fill)
            self._alert(rec.ts, "bad_fill", str(exc))
            return
        self._sync_open(child)
        self._filled[child.parent_id] = self._filled.get(child.parent_id, Decimal(0)) + fill.quantity
        if self.bus and not self._replaying:
            self.bus.publish(FillEvent(rec.ts, child.parent_id, fill))
            self._publish_update(child, rec.ts)

    def _move_parent(self, parent: ParentOrder, state: ParentState, rec: JournalRecord) -> bool:
        """Apply a journaled parent move through its table. Commands check the table before they
        journal, so a refusal here means a journal this version cannot follow: it is reported, the
        record stays in the journal, and the parent keeps its state."""
        try:
            parent.move_to(state)
        except ValueError as exc:
            self._alert(rec.ts, "illegal_parent_transition", f"journal record {rec.seq} ({rec.kind}): {exc}")
            return False
        return True

    def _transition(self, client_id: str, event: OrderEvent, ts: float, reason: str = "") -> None:
        child = self.children[client_id]
        try:
            child.transition(event)
        except IllegalTransition as exc:
            self._alert(ts, "illegal_transition", str(exc))
            return
        self._sync_open(child)
        self._publish_update(child, ts, reason)

    def _sync_open(self, child: ChildOrder) -> None:
        """Keep `_open` equal to the open children in creation order after `child` changed."""
        if not child.status.is_open:
            self._open.pop(child.client_id, None)
        elif child.client_id not in self._open:  # reopened (a refused cancel after a timeout): rare
            self._open = {cid: c for cid, c in self.children.items() if c.status.is_open}

    def _publish_update(self, child: ChildOrder, ts: float, reason: str = "") -> None:
        if self.bus and not self._replaying:
            self.bus.publish(
                OrderUpdate(
                    ts, child.client_id, child.parent_id, child.venue, child.status, child.filled, child.leaves, reason
                )
            )

    def _alert(self, ts: float, kind: str, detail: str) -> None:
        log.warning("%s: %s", kind, detail)
        if self.bus and not self._replaying:
            self.bus.publish(Alert(ts, Severity.WARNING, kind, "oms", detail))

    # ---- queries -----------------------------------------------------------------------------

    def replay(self, journal: Journal) -> None:
        """Rebuild state from `journal` (publishing nothing while replaying)."""
        with self.replaying():
            for rec in journal.replay():
                self.apply(rec)

    @contextmanager
    def replaying(self) -> Iterator[None]:
        """Apply records without publishing (a desk's one-pass replay fans records out itself)."""
        self._replaying = True
        try:
            yield
        finally:
            self._replaying = False

    def children_for(self, parent_id: str) -> list[ChildOrder]:
        return [self.children[c] for c in self.children_of.get(parent_id, ())]

    def open_children(self, parent_id: str | None = None, venue: str | None = None) -> list[ChildOrder]:
        return [
            c for c in self._open.values()
            if (parent_id is None or c.parent_id == parent_id) and (venue is None or c.venue == venue)
        ]

    def filled_qty(self, parent_id: str) -> Decimal:
        """Exchange fills only (see `otc_qty` and `done_qty`)."""
        return self._filled.get(parent_id, Decimal(0))

    def otc_qty(self, parent_id: str) -> Decimal:
        return sum((Decimal(f["quantity"]) for f in self.otc_fills.get(parent_id, ())), Decimal(0))

    def done_qty(self, parent_id: str) -> Decimal:
        """Everything executed for the parent: exchange and OTC."""
        return self.filled_qty(parent_id) + self.otc_qty(parent_id)

    def working_qty(self, parent_id: str) -> Decimal:
        return sum((c.leaves for c in self.open_children(parent_id)), Decimal(0))

    def state_digest(self) -> dict[str, Any]:
        """A comparable summary of all order state (used to prove replay is exact)."""
        return {
            "parents": {k: (v.state.value, str(v.quantity), str(v.limit_price)) for k, v in self.parents.items()},
            "children": {
                k: (c.status.value, str(c.filled), str(c.notional_filled), str(c.fees_quote), c.venue_order_id)
                for k, c in self.children.items()
            },
            "sequences": dict(self.sequences),
            "fills": sorted(self.fill_keys),
            "otc": {k: [f["desk_trade_id"] for f in v] for k, v in self.otc_fills.items()},
            "reserved": {k: str(v) for k, v in self.reserved.items()},
            "orphans": len(self.orphan_fills),
        }


_DECIMAL_FIELDS = ("limit_price", "i_would_price", "quantity")
_FLOAT_FIELDS = (
    "max_participation",
    "horizon_s",
    "end_ts",
    "risk_aversion",
    "max_slippage_bps",
    "max_schedule_deviation",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value
    return value


def parent_to_dict(parent: ParentOrder) -> dict[str, Any]:
    d = asdict(parent)
    d["instrument"] = parent.instrument.symbol
    d["side"] = parent.side.name
    d["urgency"] = parent.urgency.value
    d["end_action"] = parent.end_action.value
    d["state"] = parent.state.value
    for key in ("quantity", "limit_price", "i_would_price"):
        d[key] = None if d[key] is None else str(d[key])
    d["venues"], d["desks"] = list(parent.venues), list(parent.desks)
    return d


def parent_from_dict(d: dict[str, Any]) -> ParentOrder:
    def dec(key: str) -> Decimal | None:
        return None if d.get(key) is None else Decimal(str(d[key]))

    quantity = dec("quantity")
    assert quantity is not None
    return ParentOrder(
        parent_id=d["parent_id"],
        instrument=Instrument.parse(d["instrument"]),
        side=Side[d["side"]],
        quantity=quantity,
        horizon_s=float(d["horizon_s"]),
        algo=d.get("algo", "ac"),
        account=d.get("account", "default"),
        client_ref=d.get("client_ref", ""),
        reporting_ccy=d.get("reporting_ccy", "USD"),
        limit_price=dec("limit_price"),
        i_would_price=dec("i_would_price"),
        urgency=Urgency(d.get("urgency", "medium")),
        risk_aversion=d.get("risk_aversion"),
        start_ts=d.get("start_ts"),
        end_ts=d.get("end_ts"),
        end_action=EndAction(d.get("end_action", "complete")),
        venues=tuple(d.get("venues", ())),
        desks=tuple(d.get("desks", ())),
        max_participation=float(d.get("max_participation", 0.25)),
        max_slippage_bps=_optional_float(d.get("max_slippage_bps")),
        max_schedule_deviation=_optional_float(d.get("max_schedule_deviation")),
        rfq_mode=d.get("rfq_mode", "manual"),
        params=dict(d.get("params", {})),
        trader=d.get("trader", ""),
        state=ParentState(d.get("state", "staged")),
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def fill_to_dict(fill: Fill) -> dict[str, Any]:
    return {
        "client_id": fill.client_id,
        "venue": fill.venue,
        "venue_trade_id": fill.venue_trade_id,
        "venue_order_id": fill.venue_order_id,
        "side": fill.side.name,
        "price": str(fill.price),
        "quantity": str(fill.quantity),
        "liquidity": fill.liquidity.value,
        "fee": str(fill.fee),
        "fee_currency": fill.fee_currency,
        "venue_ts": fill.venue_ts,
        "local_ts": fill.local_ts,
    }


def fill_from_dict(d: dict[str, Any]) -> Fill:
    return Fill(
        client_id=d["client_id"],
        venue=d["venue"],
        venue_trade_id=d["venue_trade_id"],
        venue_order_id=d["venue_order_id"],
        side=Side[d["side"]],
        price=Decimal(d["price"]),
        quantity=Decimal(d["quantity"]),
        liquidity=Liquidity(d["liquidity"]),
        fee=Decimal(d["fee"]),
        fee_currency=d["fee_currency"],
        venue_ts=float(d["venue_ts"]),
        local_ts=float(d["local_ts"]),
    )
