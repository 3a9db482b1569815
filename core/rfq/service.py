"""RFQ workflow: discreet requests to OTC desks, quotes evaluated against the exchange,
accept or reject before expiry (by the trader or the policy), last look, no over-fill.

Decision modes per parent (`ParentOrder.rfq_mode`): "manual" (the trader decides; an
unanswered quote expires), "auto" (accept when better than exchange by ≥ k bps and within the
limit price), "manual-reject" (every quote is rejected and nothing is asked on the service's own initiative —
no periodic requests, no answer to axe indications: the mode that measures leakage), "off".

Accepting: the quote's quantity is reserved and exchange children are canceled down so that
filled + working + reserved ≤ the parent's quantity; only then is the accept sent, and never
after the quote's expiry (checked against the clock at send time). A fill reduces what the
algo still has to do and re-plans at once; a last-look reject or an expiry releases the
reservation and leaves the schedule whole.

Sizes are whole lots: requested and accepted quantities are floored to the finest lot among the
parent's venues (a desk's fill lands in the same position the venues trade, and the finest lot
never leaves a residual the exchange could not trade).

Every move of a request is journaled (`rfq.*` records, and the OMS's `otc.*` for fills and
reservations), and `apply` rebuilds the service from them after a restart: see its docstring.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from core.actors import SYSTEM, Actor
from core.engine import Engine
from core.events import RfqQuoteArrived, RfqStateChanged
from core.execution.service import ExecutionService
from core.parent import ParentOrder, ParentState
from core.ports import JournalRecord, LiquidityProvider, OtcExecution, Quote
from core.rfq.evaluation import QuoteEvaluation, evaluate_quote
from core.rfq.model import DeskScore, DisclosurePolicy, Rfq, RfqState
from core.risk.rules import OrderProposal
from core.seeds import SeedTree
from core.types import Side, VenueInstrument

log = logging.getLogger(__name__)

_RFQ_ID = re.compile(r"R(\d+)")


@dataclass(slots=True)
class RfqConfig:
    auto_accept_threshold_bps: float = 0.0  # k: accept when better than exchange by at least this
    adverse_move_bps: float = 10.0  # expected move against us after a last-look reject
    request_every_s: float = 900.0  # how often a running parent asks again (0 = only on demand)
    first_request_after_s: float = 60.0
    accept_wait_step_s: float = 0.01  # while exchange cancels are in flight before an accept
    markout_s: float = 60.0
    # the credit limit per desk is the risk gate's `desk_credit_limit` (RiskLimits, supervisor-owned)


class RfqService:
    def __init__(
        self,
        engine: Engine,
        execution: ExecutionService,
        desks: dict[str, LiquidityProvider],
        seeds: SeedTree,
        policy: DisclosurePolicy | None = None,
        config: RfqConfig | None = None,
    ) -> None:
        self.engine = engine
        self.execution = execution
        self.desks = desks
        self.policy = policy or DisclosurePolicy()
        self.config = config or RfqConfig()
        self.rng = seeds.generator("rfq")
        self.rfqs: dict[str, Rfq] = {}
        self.by_quote: dict[str, str] = {}
        self.scores: dict[str, DeskScore] = {name: DeskScore() for name in desks}
        self.unsettled: dict[str, float] = {name: 0.0 for name in desks}  # filled, not yet settled (quote)
        self.in_flight: dict[str, float] = {name: 0.0 for name in desks}  # accepted, not yet answered (quote)
        self.reserved: dict[str, Decimal] = {}  # rfq id → base quantity its accept still holds
        self.evaluations: dict[str, QuoteEvaluation] = {}
        self._seq = 0
        self._timers: dict[str, Any] = {}
        self._restoring = False  # True inside `apply`: restore state, publish nothing
        self._send_ts: dict[str, float] = {}  # staggered requests restored as drafts: when each was due
        engine.risk.on_kill.append(self._on_kill)
        for desk in desks.values():
            listen = getattr(desk, "set_indication_listener", None)
            if listen is not None:  # desks that publish axe indications
                listen(self._on_indication)

    def _on_indication(self, desk: str) -> None:
        """A desk signals appetite (an axe): ask it now for every running parent that allows it."""
        for parent_id, parent in self.engine.oms.parents.items():
            if parent.state is not ParentState.RUNNING or parent.rfq_mode in ("off", "manual-reject"):
                continue
            if self.engine.risk.killed:
                continue
            if parent.desks and desk not in parent.desks:
                continue
            if any(r.desk == desk and r.parent_id == parent_id and r.state.is_open for r in self.rfqs.values()):
                continue
            self.request(parent_id, SYSTEM, desks=[desk])

    def _on_kill(self, actor: Actor) -> None:
        self.withdraw_all(actor, "kill switch")

    # ---- scheduling -----------------------------------------------------------------------------

    def watch(self, parent_id: str) -> None:
        """Ask desks periodically while the parent runs (modes other than 'off')."""
        parent = self.engine.oms.parents[parent_id]
        if parent.rfq_mode in ("off", "manual-reject") or not self.desks:
            return
        self.engine.clock.call_later(self.config.first_request_after_s, lambda: self._periodic(parent_id))

    def _periodic(self, parent_id: str) -> None:
        parent = self.engine.oms.parents[parent_id]
        if parent.state not in (ParentState.RUNNING, ParentState.PAUSED) or parent.rfq_mode == "off":
            return
        if not any(r.state.is_open for r in self.rfqs.values() if r.parent_id == parent_id):
            self.request(parent_id, SYSTEM)
        if self.config.request_every_s > 0:
            self.engine.clock.call_later(self.config.request_every_s, lambda: self._periodic(parent_id))

    # ---- requests -----------------------------------------------------------------------------

    def remaining(self, parent_id: str) -> float:
        oms = self.engine.oms
        parent = oms.parents[parent_id]
        return float(parent.quantity - oms.done_qty(parent_id) - oms.reserved.get(parent_id, Decimal(0)))

    def remaining_qty(self, parent_id: str) -> Decimal:
        """Base quantity the parent still has to do, exactly: quantity − done − reserved."""
        oms = self.engine.oms
        return oms.parents[parent_id].quantity - oms.done_qty(parent_id) - oms.reserved.get(parent_id, Decimal(0))

    def otc_instrument(self, parent: ParentOrder) -> VenueInstrument:
        """The instrument whose lot OTC sizes are made of: the finest lot among the parent's venues."""
        listed = [self.engine.venues[v].instrument(parent.instrument.symbol) for v in self._venues(parent)]
        return min(listed, key=lambda inst: inst.lot_size)

    def ranked_desks(self, parent_id: str) -> list[str]:
        parent = self.engine.oms.parents[parent_id]
        allowed = [d for d in (parent.desks or tuple(self.desks)) if d in self.desks]
        return sorted(allowed, key=lambda d: (-self.scores[d].score(), d))

    def request(
        self,
        parent_id: str,
        actor: Actor,
        risk_transfer: bool = False,
        desks: list[str] | None = None,
        quantity: float | None = None,
    ) -> list[Rfq]:
        """Send RFQs for part of the remaining block (or all of it in risk-transfer mode).

        Risk transfer asks at most `risk_transfer_max_desks` named desks for the whole remaining
        size, or for an explicit `quantity` (an explicit, journaled disclosure beyond the policy)."""
        oms, now = self.engine.oms, self.engine.clock.now()
        parent = oms.parents[parent_id]
        if self.engine.risk.killed:
            raise PermissionError("kill switch engaged: no RFQ may be sent")
        remaining = self.remaining(parent_id)
        inst = self.otc_instrument(parent)
        lot = float(inst.lot_size)
        if risk_transfer:
            chosen = desks or self.ranked_desks(parent_id)[: self.policy.risk_transfer_max_desks]
            if len(chosen) > self.policy.risk_transfer_max_desks:
                raise ValueError(f"risk transfer asks at most {self.policy.risk_transfer_max_desks} named desks")
            size = remaining if quantity is None else min(quantity, remaining)
            size = float(inst.floor_quantity(size))
            oms.record("rfq.risk_transfer", {"parent_id": parent_id, "desks": chosen, "quantity": size}, actor, now)
        else:
            chosen = (desks or self.ranked_desks(parent_id))[: self.policy.max_desks]
            size = (
                quantity
                if quantity is not None
                else self.policy.request_size(remaining, float(parent.quantity), self.rng, lot)
            )
            size = min(size, self.policy.max_fraction * float(parent.quantity), remaining)
        requested = inst.floor_quantity(size)  # whole lots, never more than asked
        if requested.lots <= 0 or not chosen:
            return []
        created = []
        for i, desk in enumerate(chosen):
            self._seq += 1
            rfq = Rfq(
                f"R{self._seq:05d}",
                parent_id,
                desk,
                parent.side,
                requested.value,
                now,
                risk_transfer=risk_transfer,
                mid_at_request=self.execution.consolidated_mid(),
            )
            self.rfqs[rfq.rfq_id] = rfq
            delay_s = i * self.policy.stagger_s
            self._journal(rfq, "rfq.created", actor, requested_qty=str(rfq.requested_qty), risk_transfer=risk_transfer,
                          side=rfq.side.name, send_after_s=delay_s)  # fmt: skip
            if delay_s == 0:  # journaled, so sent: the desk hears it when this tick is done
                self._mark_sent(rfq, now)
            self.engine.clock.call_later(delay_s, self._sender(rfq))
            created.append(rfq)
        return created

    def _sender(self, rfq: Rfq) -> Callable[[], None]:
        return lambda: self._send(rfq)

    def _send(self, rfq: Rfq) -> None:
        if rfq.state is RfqState.DRAFT:  # a staggered request whose turn has come
            self._mark_sent(rfq, self.engine.clock.now())
        elif rfq.state is not RfqState.SENT:
            return  # withdrawn before the desk heard of it
        parent = self.engine.oms.parents[rfq.parent_id]
        self.desks[rfq.desk].request_quote(
            rfq.rfq_id, parent.instrument.symbol, rfq.side, rfq.requested_qty, self._on_quote
        )

    def _mark_sent(self, rfq: Rfq, ts: float) -> None:
        rfq.move_to(RfqState.SENT)
        rfq.sent_ts = ts
        self.scores[rfq.desk].requests += 1
        if not self._restoring:
            self._state(rfq, "sent to desk")

    # ---- quotes -------------------------------------------------------------------------------

    def _on_quote(self, quote: Quote) -> None:
        rfq = self.rfqs.get(quote.rfq_id)
        if rfq is None or rfq.state is not RfqState.SENT:
            return  # withdrawn meanwhile
        now = self.engine.clock.now()
        rfq.quote = quote
        rfq.move_to(RfqState.QUOTED)
        score = self.scores[rfq.desk]
        score.quotes += 1
        score.response_s.append(now - (rfq.sent_ts or now))
        self.by_quote[quote.quote_id] = rfq.rfq_id
        evaluation = self.evaluate(rfq, quote)
        rfq.better_than_exchange_bps = evaluation.better_than_exchange_bps
        self.evaluations[quote.quote_id] = evaluation
        self._journal(
            rfq,
            "rfq.quote",
            SYSTEM,
            quote_id=quote.quote_id,
            quantity=str(quote.quantity),
            price=str(quote.price),
            expires_ts=quote.expires_ts,
            last_look=quote.last_look,
            better_than_exchange_bps=evaluation.better_than_exchange_bps,
            min_quantity=str(quote.min_quantity),
            received_ts=quote.received_ts,
        )
        self.engine.bus.publish(
            RfqQuoteArrived(
                now,
                rfq.rfq_id,
                quote.quote_id,
                rfq.parent_id,
                rfq.desk,
                rfq.side,
                float(quote.quantity),
                float(quote.price),
                quote.expires_ts,
                quote.last_look,
                evaluation.better_than_exchange_bps,
                evaluation.better_than_exchange_usd,
                evaluation.recommendation,
                evaluation.reason,
            )
        )
        self._timers[rfq.rfq_id] = self.engine.clock.call_at(quote.expires_ts, lambda: self._expire(rfq.rfq_id))
        mode = self.engine.oms.parents[rfq.parent_id].rfq_mode
        if mode == "manual-reject":  # before the risk-transfer rule: this mode never accepts
            self.reject(quote.quote_id, SYSTEM, "policy: reject every quote")
        elif mode == "auto" or (rfq.risk_transfer and mode != "manual"):
            if evaluation.recommendation == "accept" and self._within_limit(rfq, quote):
                self.accept(quote.quote_id, SYSTEM)
            else:
                self.reject(quote.quote_id, SYSTEM, evaluation.reason)

    def evaluate(self, rfq: Rfq, quote: Quote) -> QuoteEvaluation:
        oms = self.engine.oms
        parent = oms.parents[rfq.parent_id]
        mid = self.execution.consolidated_mid(parent.venues)
        runner = self.execution.runners.get(rfq.parent_id)
        risk_aversion = float(runner.algo.risk_aversion) if runner else 0.0  # λ of the parent's schedule
        remaining = self.remaining(rfq.parent_id)
        # an accept is capped at what is left: judge the part that can be taken, not a larger quote
        quote_qty = min(float(quote.quantity), remaining) if remaining > 0 else float(quote.quantity)
        now = self.engine.clock.now()
        time_left = max((parent.end_ts or now + parent.horizon_s) - now, self.execution.config.ac_period_s)
        score = self.scores[rfq.desk]
        return evaluate_quote(
            side=parent.side.sign,
            quote_qty=quote_qty,
            quote_price=float(quote.price),
            mid=mid,
            remaining_qty=max(remaining, quote_qty),
            time_left_s=time_left,
            # the same impact model the algo trades with (the pre-trade's calibration when set)
            params=self.execution.ac_params or self.execution.calibration.ac_params(mid),
            risk_aversion=risk_aversion,
            period_s=self.execution.config.ac_period_s,
            last_look_reject_rate=score.last_look_reject_rate if quote.last_look else 0.0,
            adverse_move_bps=self.config.adverse_move_bps,
            accept_threshold_bps=self.config.auto_accept_threshold_bps,
        )

    def _within_limit(self, rfq: Rfq, quote: Quote) -> bool:
        return self.engine.oms.parents[rfq.parent_id].within_limit(quote.price)

    # ---- decisions ----------------------------------------------------------------------------

    def accept(self, quote_id: str, actor: Actor, quantity: Decimal | None = None) -> bool:
        """Accept (part of) a quote. Refused after expiry, or by the risk gate before the accept is
        sent: kill switch, trading state, the parent's limit price, the desk's credit limit."""
        rfq = self.rfqs[self.by_quote[quote_id]]
        quote = rfq.quote
        assert quote is not None
        now = self.engine.clock.now()
        if rfq.state is not RfqState.QUOTED:
            raise ValueError(f"quote {quote_id} is {rfq.state.value}; only a live quote can be accepted")
        if now >= quote.expires_ts:
            self._expire(rfq.rfq_id)
            return False
        if self.engine.risk.killed:
            raise PermissionError("kill switch engaged: no quote may be accepted")
        qty = quote.quantity if quantity is None else quantity
        if qty < quote.min_quantity or qty > quote.quantity:
            raise ValueError(f"accept between {quote.min_quantity} and {quote.quantity}, not {qty}")
        parent = self.engine.oms.parents[rfq.parent_id]
        lot = self.otc_instrument(parent).lot_size
        if quantity is not None and quantity % lot:
            raise ValueError(f"accept a whole number of lots of {lot} {parent.instrument.base}, not {quantity}")
        # the desk's quantity and what is left, each floored to whole lots: never more than either
        qty = min(_whole_lots(qty, lot), _whole_lots(self.remaining_qty(rfq.parent_id), lot))
        if qty <= 0:
            self.reject(quote_id, actor, "nothing left to do")
            return False
        proposal = OrderProposal.otc(
            rfq.parent_id, f"otc:{rfq.desk}", parent.instrument.symbol, parent.side, qty, quote.price, parent.account
        )
        exposure = self.unsettled[rfq.desk] + self.in_flight[rfq.desk]
        refusal = self.engine.risk.check_otc_accept(proposal, rfq.desk, exposure, actor)
        if refusal is not None:  # journaled by the gate (risk.refused) with its rule
            self.reject(quote_id, actor, f"risk: {refusal}")
            return False
        self.in_flight[rfq.desk] += float(qty * quote.price)
        self.reserved[rfq.rfq_id] = self.reserved.get(rfq.rfq_id, Decimal(0)) + qty
        rfq.move_to(RfqState.ACCEPTED)
        rfq.decision_ts, rfq.decision, rfq.actor = now, "accepted", str(actor)
        self._leakage(rfq)
        self.scores[rfq.desk].accepts += 1
        self.engine.oms.reserve(rfq.parent_id, qty, quote_id, actor, now)
        self._journal(rfq, "rfq.accept", actor, quote_id=quote_id, quantity=str(qty))
        self._state(rfq, f"accepted {qty}")
        self._make_room_then_send(rfq, quote, qty)
        return True

    def _make_room_then_send(self, rfq: Rfq, quote: Quote, qty: Decimal) -> None:
        oms = self.engine.oms
        parent = oms.parents[rfq.parent_id]
        over = (
            oms.done_qty(rfq.parent_id)
            + oms.working_qty(rfq.parent_id)
            + oms.reserved.get(rfq.parent_id, Decimal(0))
            - parent.quantity
        )
        self.engine.risk.purge_queue(rfq.parent_id)
        if over > 0 and not oms.open_children(rfq.parent_id):
            # nothing left to cancel: exchange fills arrived while the cancels were in flight, so
            # less is left than was reserved — accept that much (waiting would never make room)
            qty = self._shrink_accept(rfq, quote, qty, over)
            if qty <= 0:
                return
            over = Decimal(0)
        if over > 0:
            self.engine.cancel_children(oms.open_children(rfq.parent_id), SYSTEM, "room for OTC accept")
            if self.engine.clock.now() + self.config.accept_wait_step_s < quote.expires_ts:
                self.engine.clock.call_later(
                    self.config.accept_wait_step_s, lambda: self._make_room_then_send(rfq, quote, qty)
                )
                return
            self._release(rfq, qty, "expired while exchange orders were being canceled")
            self._expire_accepted(rfq, "expired before the accept could be sent")
            return
        if self.engine.clock.now() >= quote.expires_ts:  # never accept after expiry
            self._release(rfq, qty, "expired")
            self._expire_accepted(rfq, "expired")
            return
        self.desks[rfq.desk].accept(quote, qty, lambda res: self._on_execution(rfq, qty, res))

    def _shrink_accept(self, rfq: Rfq, quote: Quote, qty: Decimal, over: Decimal) -> Decimal:
        """Reduce an accept waiting for room by what the exchange filled meanwhile; below the
        quote's minimum (or nothing left) the accept is withdrawn and the quote rejected."""
        cut = min(over, qty)
        self._release(rfq, cut, "exchange filled meanwhile")
        left = qty - cut
        if left <= 0 or left < quote.min_quantity:
            if left > 0:
                self._release(rfq, left, "below the quote's minimum")
            rfq.move_to(RfqState.REJECTED)
            rfq.decision, rfq.reason = "rejected", "the exchange filled the rest while making room"
            self._journal(rfq, "rfq.reject", SYSTEM, quote_id=quote.quote_id, reason=rfq.reason)
            self._state(rfq, rfq.reason)
            return Decimal(0)
        self._journal(rfq, "rfq.accept_reduced", SYSTEM, quote_id=quote.quote_id, quantity=str(left))
        return left

    def _on_execution(self, rfq: Rfq, reserved: Decimal, result: OtcExecution) -> None:
        now = self.engine.clock.now()
        score = self.scores[rfq.desk]
        self._release(rfq, reserved, "accept answered")
        if result.rejected_reason or result.filled <= 0:
            rfq.move_to(RfqState.LAST_LOOK_REJECTED)
            rfq.reason = result.rejected_reason or "no fill"
            score.last_look_rejects += 1
            # the desk's refusal, not our decision: an rfq.reject marked last_look and without the
            # quote_id our decisions carry (a fill is journaled as otc.fill)
            self._journal(rfq, "rfq.reject", SYSTEM, reason=rfq.reason, last_look=True)
            self._state(rfq, f"last-look reject: {rfq.reason}")
        else:
            filled = min(result.filled, reserved)
            rfq.move_to(RfqState.FILLED)
            rfq.filled_qty, rfq.fill_price = filled, result.price
            score.fills += 1
            self.unsettled[rfq.desk] += float(filled * result.price)
            self.engine.oms.on_otc_fill(
                rfq.parent_id, rfq.desk, result.desk_trade_id, filled, result.price, result.quote_id, SYSTEM, now
            )
            self._state(rfq, f"filled {filled} at {result.price}", float(filled))
            mid_at_fill = self.execution.consolidated_mid()
            self.engine.clock.call_later(self.config.markout_s, lambda: self._markout(rfq, mid_at_fill))
        self.execution.replan(rfq.parent_id)

    def settle(self, desk: str, notional: float, actor: Actor) -> None:
        """Record that `notional` (quote) with `desk` has settled: it no longer uses the desk's credit."""
        if desk not in self.unsettled:
            raise ValueError(f"unknown desk {desk!r}; desks: {', '.join(self.unsettled)}")
        if not 0 < notional <= self.unsettled[desk] + 1e-6:
            raise ValueError(f"settle between 0 and the unsettled {self.unsettled[desk]:,.2f} with {desk}")
        self.unsettled[desk] = max(self.unsettled[desk] - notional, 0.0)
        self.engine.oms.record(
            "rfq.settled", {"desk": desk, "notional": notional, "unsettled": self.unsettled[desk]}, actor,
            self.engine.clock.now(),
        )  # fmt: skip

    def reject(self, quote_id: str, actor: Actor, reason: str = "rejected by trader") -> None:
        rfq = self.rfqs[self.by_quote[quote_id]]
        if rfq.state is not RfqState.QUOTED:
            return
        rfq.move_to(RfqState.REJECTED)
        rfq.decision_ts, rfq.decision, rfq.reason, rfq.actor = self.engine.clock.now(), "rejected", reason, str(actor)
        self._leakage(rfq)
        self._cancel_timer(rfq.rfq_id)
        self._journal(rfq, "rfq.reject", actor, quote_id=quote_id, reason=reason)
        self._state(rfq, reason)

    def withdraw_all(self, actor: Actor, reason: str) -> int:
        n = 0
        for rfq in self.rfqs.values():
            if rfq.state in (RfqState.DRAFT, RfqState.SENT, RfqState.QUOTED):
                rfq.move_to(RfqState.CANCELED)
                rfq.decision, rfq.reason, rfq.actor = "withdrawn", reason, str(actor)
                self._cancel_timer(rfq.rfq_id)
                self._journal(rfq, "rfq.withdraw", actor, reason=reason)
                self._state(rfq, reason)
                n += 1
        return n

    def _expire_accepted(self, rfq: Rfq, detail: str) -> None:
        """An accept never sent because its quote lapsed first (its quantity is already released)."""
        rfq.move_to(RfqState.EXPIRED)
        self._journal(rfq, "rfq.expire", SYSTEM, reason=detail)
        self._state(rfq, detail)

    def _expire(self, rfq_id: str) -> None:
        rfq = self.rfqs[rfq_id]
        if rfq.state is RfqState.QUOTED:
            rfq.move_to(RfqState.EXPIRED)
            rfq.decision, rfq.decision_ts = "expired", self.engine.clock.now()
            self._journal(rfq, "rfq.expire", SYSTEM)
            self._state(rfq, "quote expired")

    # ---- restore from the journal ---------------------------------------------------------------

    def apply(self, rec: JournalRecord) -> None:
        """Restore state from one journal record; fed every record in order after construction.

        Sends, schedules, journals and publishes nothing, so it is safe before any timer exists.
        What comes back: the id counter (the next id follows the highest journaled), every request
        with its state, quote, decision and fill, the quote index, each desk's unsettled notional
        (`otc.fill` adds, `rfq.settled` sets what was left), the accepts in flight against each
        desk's credit and what each still reserves (the OMS restores the parent's reservation from
        the same `otc.*` records), and the scorecard's counts. Not restored: the scorecard's
        response times, leakage and markouts, and quote evaluations (the journal holds no mids).

        A request open at the crash stays as journaled — sent and unanswered, quoted, or accepted
        with its answer lost (its reservation and credit stay held until the desk confirms it by
        other means) — except what `after_replay` settles from the restart time."""
        handler = getattr(self, "_apply_" + rec.kind.replace(".", "_"), None)
        if handler is None:
            return
        self._restoring = True
        try:
            handler(rec.payload, rec)
        finally:
            self._restoring = False

    def replay(self, records: Iterable[JournalRecord]) -> None:
        """`apply` every record, then `after_replay`."""
        for rec in records:
            self.apply(rec)
        self.after_replay()

    def after_replay(self) -> None:
        """Settle, in memory, what the restart time decides: a staggered request whose send time
        had passed was sent, and a quote past its expiry is expired (its timer died with the old
        process; nothing is journaled, so a second restart decides the same). Publishes nothing."""
        now = self.engine.clock.now()
        self._restoring = True
        try:
            for rfq in self.rfqs.values():
                if rfq.state is RfqState.DRAFT and self._send_ts.get(rfq.rfq_id, math.inf) <= now:
                    self._mark_sent(rfq, self._send_ts[rfq.rfq_id])
                elif rfq.state is RfqState.QUOTED and rfq.quote is not None and rfq.quote.expires_ts <= now:
                    rfq.move_to(RfqState.EXPIRED)
                    rfq.decision, rfq.decision_ts = "expired", rfq.quote.expires_ts
        finally:
            self._restoring = False

    def _apply_rfq_created(self, p: dict[str, Any], rec: JournalRecord) -> None:
        rfq_id = p["rfq_id"]
        number = _RFQ_ID.fullmatch(rfq_id)
        if number is not None:
            self._seq = max(self._seq, int(number.group(1)))
        # journals before sizes-in-lots had no side: the parent's, which the OMS replayed first
        side = Side[p["side"]] if "side" in p else self.engine.oms.parents[p["parent_id"]].side
        rfq = Rfq(rfq_id, p["parent_id"], p["desk"], side, Decimal(p["requested_qty"]), rec.ts,
                  risk_transfer=bool(p.get("risk_transfer", False)))  # fmt: skip
        self.rfqs[rfq_id] = rfq
        self._desk_books(rfq.desk)
        send_after_s = float(p.get("send_after_s", 0.0))
        if send_after_s == 0:  # sent as it was journaled (see `request`)
            self._mark_sent(rfq, rec.ts)
        else:
            self._send_ts[rfq_id] = rec.ts + send_after_s

    def _apply_rfq_quote(self, p: dict[str, Any], rec: JournalRecord) -> None:
        rfq = self.rfqs[p["rfq_id"]]
        if rfq.state is RfqState.DRAFT:  # a staggered request: a desk only quotes what it was sent
            self._mark_sent(rfq, self._send_ts.get(rfq.rfq_id, rec.ts))
        quote = Quote(p["quote_id"], rfq.rfq_id, rfq.desk, rfq.side, Decimal(p["quantity"]), Decimal(p["price"]),
                      float(p.get("received_ts", rec.ts)), float(p["expires_ts"]), bool(p["last_look"]),
                      Decimal(p.get("min_quantity", "0")))  # fmt: skip
        rfq.quote = quote
        rfq.move_to(RfqState.QUOTED)
        self.scores[rfq.desk].quotes += 1
        self.by_quote[quote.quote_id] = rfq.rfq_id
        rfq.better_than_exchange_bps = float(p.get("better_than_exchange_bps", float("nan")))

    def _apply_rfq_accept(self, p: dict[str, Any], rec: JournalRecord) -> None:
        rfq = self.rfqs[p["rfq_id"]]
        qty = Decimal(p["quantity"])
        assert rfq.quote is not None
        self.in_flight[rfq.desk] += float(qty * rfq.quote.price)
        self.reserved[rfq.rfq_id] = self.reserved.get(rfq.rfq_id, Decimal(0)) + qty
        rfq.move_to(RfqState.ACCEPTED)
        rfq.decision_ts, rfq.decision, rfq.actor = rec.ts, "accepted", rec.actor
        self.scores[rfq.desk].accepts += 1

    def _apply_rfq_reject(self, p: dict[str, Any], rec: JournalRecord) -> None:
        rfq = self.rfqs[p["rfq_id"]]
        if p.get("last_look"):
            rfq.move_to(RfqState.LAST_LOOK_REJECTED)
            rfq.reason = p.get("reason", "")
            self.scores[rfq.desk].last_look_rejects += 1
            return
        from_quote = rfq.state is RfqState.QUOTED  # else an accept withdrawn before it was sent
        rfq.move_to(RfqState.REJECTED)
        rfq.decision, rfq.reason = "rejected", p.get("reason", "")
        if from_quote:
            rfq.decision_ts, rfq.actor = rec.ts, rec.actor

    def _apply_rfq_withdraw(self, p: dict[str, Any], rec: JournalRecord) -> None:
        rfq = self.rfqs[p["rfq_id"]]
        rfq.move_to(RfqState.CANCELED)
        rfq.decision, rfq.reason, rfq.actor = "withdrawn", p.get("reason", ""), rec.actor

    def _apply_rfq_expire(self, p: dict[str, Any], rec: JournalRecord) -> None:
        rfq = self.rfqs[p["rfq_id"]]
        from_quote = rfq.state is RfqState.QUOTED  # else an accept that lapsed while making room
        rfq.move_to(RfqState.EXPIRED)
        if from_quote:
            rfq.decision, rfq.decision_ts = "expired", rec.ts

    def _apply_rfq_settled(self, p: dict[str, Any], rec: JournalRecord) -> None:
        self._desk_books(p["desk"])
        self.unsettled[p["desk"]] = float(p["unsettled"])

    def _apply_otc_fill(self, p: dict[str, Any], rec: JournalRecord) -> None:
        qty, price = Decimal(p["quantity"]), Decimal(p["price"])
        self._desk_books(p["desk"])
        self.unsettled[p["desk"]] += float(qty * price)
        rfq = self.rfqs.get(self.by_quote.get(p["quote_id"], ""))
        if rfq is None:
            return
        rfq.move_to(RfqState.FILLED)
        rfq.filled_qty, rfq.fill_price = qty, price
        self.scores[rfq.desk].fills += 1

    def _apply_otc_release(self, p: dict[str, Any], rec: JournalRecord) -> None:
        rfq = self.rfqs.get(self.by_quote.get(p["quote_id"], ""))
        if rfq is not None:
            self._unreserve(rfq, Decimal(p["quantity"]))

    def _desk_books(self, desk: str) -> None:
        """A desk named in the journal but no longer configured still has its books."""
        self.scores.setdefault(desk, DeskScore())
        self.unsettled.setdefault(desk, 0.0)
        self.in_flight.setdefault(desk, 0.0)

    def state_digest(self) -> dict[str, Any]:
        """Everything the service holds that the journal restores, JSON-comparable: equal for a
        live desk and for one rebuilt from its journal when their state is equal. A desk with
        nothing recorded is left out (which desks are configured is configuration, not state)."""
        rfqs = {}
        for rfq_id, r in sorted(self.rfqs.items()):
            q = r.quote
            rfqs[rfq_id] = {
                "state": r.state.value,
                "parent_id": r.parent_id,
                "desk": r.desk,
                "side": r.side.name,
                "requested_qty": str(r.requested_qty),
                "risk_transfer": r.risk_transfer,
                "quote": None
                if q is None
                else [q.quote_id, str(q.quantity), str(q.price), q.expires_ts, q.last_look, str(q.min_quantity)],
                "decision": r.decision,
                "reason": r.reason,
                "filled_qty": str(r.filled_qty),
                "fill_price": None if r.fill_price is None else str(r.fill_price),
            }
        return {
            "last_id": self._seq,
            "rfqs": rfqs,
            "by_quote": dict(sorted(self.by_quote.items())),
            "unsettled": {desk: v for desk, v in sorted(self.unsettled.items()) if v},
            "in_flight": {desk: v for desk, v in sorted(self.in_flight.items()) if v},
            "reserved": {k: str(v) for k, v in sorted(self.reserved.items())},
            "scores": {
                desk: counts
                for desk, s in sorted(self.scores.items())
                if any(counts := [s.requests, s.quotes, s.accepts, s.fills, s.last_look_rejects])
            },
        }

    # ---- bookkeeping --------------------------------------------------------------------------

    def _release(self, rfq: Rfq, qty: Decimal, why: str) -> None:
        """The accepted quantity is answered (filled or not) or expired: no longer reserved, and
        no longer in flight against the desk's credit (a fill moves to `unsettled`)."""
        quote_id = rfq.quote.quote_id if rfq.quote else ""
        self._unreserve(rfq, qty)
        self.engine.oms.release(rfq.parent_id, qty, quote_id, SYSTEM, self.engine.clock.now())

    def _unreserve(self, rfq: Rfq, qty: Decimal) -> None:
        if rfq.quote is not None:
            self.in_flight[rfq.desk] = max(self.in_flight[rfq.desk] - float(qty * rfq.quote.price), 0.0)
        left = self.reserved.pop(rfq.rfq_id, Decimal(0)) - qty
        if left > 0:
            self.reserved[rfq.rfq_id] = left

    def _venues(self, parent: ParentOrder) -> tuple[str, ...]:
        return parent.venues or tuple(self.engine.venues)

    def _leakage(self, rfq: Rfq) -> None:
        mid = self.execution.consolidated_mid()
        if not math.isnan(rfq.mid_at_request) and not math.isnan(mid):
            # adverse = up for a buyer, down for a seller, between our request and our decision
            self.scores[rfq.desk].leakage_bps.append(
                rfq.side.sign * (mid - rfq.mid_at_request) / rfq.mid_at_request * 1e4
            )

    def _markout(self, rfq: Rfq, mid_at_fill: float) -> None:
        mid = self.execution.consolidated_mid()
        if rfq.fill_price is None or math.isnan(mid):
            return
        # the desk's edge: how far the market moved in its favour after it traded with us
        edge = (mid - float(rfq.fill_price)) / float(rfq.fill_price) * 1e4
        self.scores[rfq.desk].markout_bps.append(edge if rfq.side is Side.SELL else -edge)

    def _cancel_timer(self, rfq_id: str) -> None:
        timer = self._timers.pop(rfq_id, None)
        if timer is not None:
            timer.cancel()

    def _journal(self, rfq: Rfq, kind: str, actor: Actor, **extra: Any) -> None:
        payload = {"rfq_id": rfq.rfq_id, "parent_id": rfq.parent_id, "desk": rfq.desk, **extra}
        self.engine.oms.record(kind, payload, actor, self.engine.clock.now())

    def _state(self, rfq: Rfq, detail: str, filled: float = 0.0) -> None:
        self.engine.bus.publish(
            RfqStateChanged(
                self.engine.clock.now(), rfq.rfq_id, rfq.parent_id, rfq.desk, rfq.state.value, detail, filled
            )
        )

    def report(self, parent_id: str, start_ts: float) -> list[dict[str, Any]]:
        """The `rfqs` array of the simulate JSON."""
        out = []
        for rfq in self.rfqs.values():
            if rfq.parent_id != parent_id:
                continue
            q = rfq.quote
            decision = rfq.decision or ("expired" if rfq.state is RfqState.EXPIRED else rfq.state.value)
            if rfq.state is RfqState.LAST_LOOK_REJECTED:
                decision = "last_look_rejected"
            out.append(
                {
                    "desk": rfq.desk,
                    "time_s": round(rfq.created_ts - start_ts, 3),
                    "requested_qty": float(rfq.requested_qty),
                    "quoted_qty": float(q.quantity) if q else None,
                    "quoted_price": float(q.price) if q else None,
                    "expires_s": round(q.expires_ts - q.received_ts, 3) if q else None,
                    "decision": decision,
                    "state": rfq.state.value,  # final: an accepted quote may still have expired
                    "reason": rfq.reason,
                    "filled_qty": float(rfq.filled_qty),
                    "better_than_exchange_bps": None
                    if math.isnan(rfq.better_than_exchange_bps)
                    else round(rfq.better_than_exchange_bps, 2),
                    "risk_transfer": rfq.risk_transfer,
                }
            )
        return out


def _whole_lots(quantity: Decimal, lot: Decimal) -> Decimal:
    """The largest whole number of lots not above `quantity` (exact: no float, no slack)."""
    return int((quantity / lot).to_integral_value(rounding=ROUND_FLOOR)) * lot
