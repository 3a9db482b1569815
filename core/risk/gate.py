"""The risk gate every child passes before it leaves: trading states, the check chain, the
message-rate budget, the kill switch and supervisor-owned limits.

Decisions: SEND (checked, within budget), QUEUE (checked, but the venue's message budget is
spent: released in order as the budget refills, and checked again on release), REFUSE (a rule
or a trading state said no — journaled with the rule and its detail).

Trading state per scope — "global", "venue:<name>", "symbol:<BTC/USDT>":
ACTIVE (all allowed), REDUCING (only orders that reduce the account's position; cancels allowed),
HALTED (no new orders; cancels allowed). The strictest applicable scope wins.

Kill switch (supervisor only): global HALTED, every algo stopped, every working child canceled on
every venue (venue cancel-all first, then one by one), the rate queue purged, pending RFQs
withdrawn, and new orders refused from any source until a supervisor resets it.
"""

from __future__ import annotations

import enum
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from core.actors import Actor, Role, require_supervisor
from core.clock import Clock, Timer
from core.events import Alert, Severity, TradingState, TradingStateChanged
from core.ports import JournalRecord
from core.records import Entry, RiskKill, RiskKillReset, RiskLimit, typed
from core.records import RiskState as RiskStateRecord
from core.risk.rules import (
    DEFAULT_RULES,
    MaxParticipation,
    OrderProposal,
    ParentLimit,
    RiskContext,
    RiskLimits,
    Rule,
)
from core.types import Side

log = logging.getLogger(__name__)

_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class Decision(enum.Enum):
    SEND = "send"
    QUEUE = "queue"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class RiskEvent:
    ts: float
    rule: str
    action: str
    detail: str
    venue: str = ""
    parent_id: str = ""


@dataclass(slots=True)
class MessageBudget:
    """At most `limit` new orders in any rolling `window_s` (how exchanges count), so the venue
    never sees more than its limit whatever the burst."""

    limit: int
    window_s: float
    sent: deque[float] = field(default_factory=deque)

    def time_until_free(self, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.window_s:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.limit else self.sent[0] + self.window_s - now

    def spend(self, now: float) -> None:
        self.sent.append(now)


@dataclass(slots=True)
class _Queued:
    proposal: OrderProposal
    actor: Actor
    send: Callable[[OrderProposal], object]
    queued_ts: float


@dataclass(slots=True)
class RiskGate:
    clock: Clock
    limits: RiskLimits
    journal_event: Callable[[str, dict[str, Any], Actor], None]
    publish: Callable[[object], None]
    context: Callable[[OrderProposal | None], RiskContext]  # None: a venue's context with no child in view
    reduces_position: Callable[[OrderProposal], bool] = lambda p: p.side is Side.SELL
    rules: tuple[Rule, ...] = DEFAULT_RULES
    order_share_of_limit: float = 0.8  # new orders use this share of a venue's message limit
    states: dict[str, TradingState] = field(default_factory=dict)
    killed: bool = False
    budgets: dict[str, MessageBudget] = field(default_factory=dict)
    queues: dict[str, deque[_Queued]] = field(default_factory=dict)
    release_timers: dict[str, Timer] = field(default_factory=dict)
    recent_sent: list[tuple[float, OrderProposal]] = field(default_factory=list)
    events: list[RiskEvent] = field(default_factory=list)
    rejects: deque[float] = field(default_factory=deque)
    on_kill: list[Callable[[Actor], None]] = field(default_factory=list)
    killed_by: str = ""  # who pressed the kill switch (journaled actor), while it is engaged
    kill_reason: str = ""

    # ---- rate budget --------------------------------------------------------------------------

    def set_venue_rate_limit(self, venue: str, messages: int, window_s: float = 1.0) -> None:
        """The venue allows `messages` per rolling `window_s`; new orders use `order_share_of_limit`
        of it and leave the rest for cancels, which never wait."""
        self.budgets[venue] = MessageBudget(max(1, int(messages * self.order_share_of_limit)), window_s)

    # ---- trading state ------------------------------------------------------------------------

    def state_for(self, venue: str, symbol: str) -> TradingState:
        candidates = [
            self.states.get("global", TradingState.ACTIVE),
            self.states.get(f"venue:{venue}", TradingState.ACTIVE),
            self.states.get(f"symbol:{symbol}", TradingState.ACTIVE),
        ]
        return max(candidates, key=lambda s: _RANK[s])

    def set_state(self, scope: str, state: TradingState, actor: Actor, reason: str) -> None:
        if scope == "global" and self.killed and state is not TradingState.HALTED:
            require_supervisor(actor, "leaving the kill switch's HALTED state")
            raise PermissionError("the kill switch is engaged: reset it with reset_kill_switch")
        self.states[scope] = state
        self.journal_event("risk.state", {"scope": scope, "state": state.value, "reason": reason}, actor)
        self.publish(TradingStateChanged(self.clock.now(), scope, state, str(actor), reason))

    # ---- the check ----------------------------------------------------------------------------

    def submit(self, proposal: OrderProposal, actor: Actor, send: Callable[[OrderProposal], object]) -> Decision:
        """Check `proposal`; send it now, queue it for the rate budget, or refuse it."""
        refusal = self._refusal(proposal)
        if refusal is not None:
            self._refuse(proposal, *refusal)
            return Decision.REFUSE
        queue = self.queues.get(proposal.venue)
        budget = self.budgets.get(proposal.venue)
        if budget is not None and (queue or budget.time_until_free(self.clock.now()) > 0):
            self.queues.setdefault(proposal.venue, deque()).append(_Queued(proposal, actor, send, self.clock.now()))
            self._schedule_release(proposal.venue)
            return Decision.QUEUE
        self._send(proposal, send)
        return Decision.SEND

    def _refusal(self, p: OrderProposal) -> tuple[str, str] | None:
        if self.killed:
            return ("kill_switch", "kill switch engaged: new orders refused until a supervisor resets it")
        state = self.state_for(p.venue, p.symbol)
        if state is TradingState.HALTED:
            return ("trading_state", f"trading HALTED for {p.venue} {p.symbol}")
        if state is TradingState.REDUCING and not self.reduces_position(p):
            return ("trading_state", f"trading REDUCING for {p.venue} {p.symbol}: only position-reducing orders")
        ctx = self.context(p)
        ctx.recent_sent = self.recent_sent
        for rule in self.rules:
            detail = rule.check(p, ctx)
            if detail is not None:
                return (rule.name, detail)
        return None

    def check_otc_accept(self, p: OrderProposal, desk: str, unsettled_notional: float, actor: Actor) -> str | None:
        """The checks an OTC acceptance passes before it is sent to `desk`: the kill switch, the
        trading state, the parent's limit price and the desk's credit on unsettled notional
        (`desk_credit_limit`; `unsettled_notional` counts fills not yet settled and accepts in
        flight). Returns None to go ahead, or the refusal's detail — journaled like a child's."""
        assert p.price is not None, "an OTC acceptance has the quote's price"
        refusal: tuple[str, str] | None = None
        if self.killed:
            refusal = ("kill_switch", "kill switch engaged: no quote may be accepted")
        else:
            state = self.state_for(p.venue, p.symbol)
            if state is TradingState.HALTED:
                refusal = ("trading_state", f"trading HALTED for {p.symbol}: no quote may be accepted")
            elif state is TradingState.REDUCING and not self.reduces_position(p):
                refusal = ("trading_state", f"trading REDUCING for {p.symbol}: only position-reducing trades")
        if refusal is None:
            detail = ParentLimit().check(p, self.context(p))
            if detail is not None:
                refusal = ("parent_limit", detail)
        if refusal is None:
            notional = float(p.quantity.value * p.price.value)
            limit = self.limits.desk_credit_limit
            if unsettled_notional + notional > limit:
                refusal = (
                    "desk_credit",
                    f"desk {desk}: unsettled {unsettled_notional:,.0f} + {notional:,.0f} would exceed "
                    f"desk_credit_limit {limit:,.0f}",
                )
        if refusal is not None:
            self._refuse(p, *refusal)
            return refusal[1]
        return None

    def _send(self, p: OrderProposal, send: Callable[[OrderProposal], object]) -> None:
        now = self.clock.now()
        budget = self.budgets.get(p.venue)
        if budget is not None:
            budget.spend(now)
        self.recent_sent.append((now, p))
        if len(self.recent_sent) > 2000:
            del self.recent_sent[:1000]
        send(p)

    def _refuse(self, p: OrderProposal, rule: str, detail: str) -> None:
        event = RiskEvent(self.clock.now(), rule, "refused", detail, p.venue, p.parent_id)
        self.events.append(event)
        self.journal_event(
            "risk.refused",
            {
                "rule": rule,
                "detail": detail,
                "venue": p.venue,
                "parent_id": p.parent_id,
                "side": p.side.name,
                "quantity": str(p.quantity),
                "price": str(p.price),
            },
            Actor("risk", Role.SYSTEM),
        )
        self.publish(Alert(event.ts, Severity.WARNING, f"risk:{rule}", "risk", detail, p.venue, p.parent_id))

    def _schedule_release(self, venue: str) -> None:
        if venue in self.release_timers:
            return
        delay = self.budgets[venue].time_until_free(self.clock.now())
        self.release_timers[venue] = self.clock.call_later(delay, lambda: self._release(venue))

    def _release(self, venue: str) -> None:
        self.release_timers.pop(venue, None)
        queue = self.queues.get(venue)
        budget = self.budgets[venue]
        while queue:
            if budget.time_until_free(self.clock.now()) > 0:
                self._schedule_release(venue)
                return
            item = queue.popleft()
            refusal = self._refusal(item.proposal)  # the market may have moved while it waited
            if refusal is not None:
                self._refuse(item.proposal, *refusal)
                continue
            self._send(item.proposal, item.send)

    def participation_room(self, venue: str) -> float:
        """How much more we may send to `venue` (base units, all parents together) before the
        `max_participation` rule would refuse it (`MaxParticipation.room`, with the children waiting
        in this gate's queue for the venue counted as ours); inf when the rule is not in the chain."""
        rule = next((r for r in self.rules if isinstance(r, MaxParticipation)), None)
        if rule is None:
            return math.inf
        queued = sum(float(q.proposal.quantity) for q in self.queues.get(venue, ()))
        return rule.room(venue, self.context(None), queued)

    def queued_quantity(self, parent_id: str) -> float:
        return sum(
            float(i.proposal.quantity) for q in self.queues.values() for i in q if i.proposal.parent_id == parent_id
        )

    def apply_record(self, kind: str, payload: dict[str, Any]) -> None:
        """Restore state from a journal record at start-up (a restarted terminal comes up HALTED)."""
        if kind.startswith("risk."):
            self.apply(typed(JournalRecord(0, 0.0, kind, "", payload)))

    def apply(self, entry: Entry) -> None:
        """Apply a journaled record this gate owns (kill, kill reset, trading states, hard limits);
        others are ignored. Replay calls it for every record, in order."""
        rec = entry.record
        if isinstance(rec, RiskKill):
            self.killed, self.states["global"] = True, TradingState.HALTED
            self.killed_by, self.kill_reason = entry.actor, rec.reason
        elif isinstance(rec, RiskKillReset):
            self.killed, self.states["global"] = False, TradingState.ACTIVE
            self.killed_by, self.kill_reason = "", ""
        elif isinstance(rec, RiskStateRecord):
            self.states[rec.scope] = TradingState(rec.state)
        elif isinstance(rec, RiskLimit):
            setattr(self.limits, rec.name, rec.new)

    def state_digest(self) -> dict[str, Any]:
        """Everything a restart must restore, comparable (the desk's replay property test)."""
        return {
            "killed": self.killed,
            "killed_by": self.killed_by,
            "states": {k: v.value for k, v in sorted(self.states.items())},
            "limits": {f.name: getattr(self.limits, f.name) for f in fields(self.limits)},
        }

    def queued(self, venue: str | None = None) -> int:
        return sum(len(q) for v, q in self.queues.items() if venue is None or v == venue)

    def purge_queue(self, parent_id: str | None = None) -> int:
        """Drop queued children (kill switch, pause, cancel); returns how many."""
        n = 0
        for q in self.queues.values():
            keep = deque(item for item in q if parent_id is not None and item.proposal.parent_id != parent_id)
            n += len(q) - len(keep)
            q.clear()
            q.extend(keep)
        return n

    # ---- kill switch and limits -------------------------------------------------------------------

    def kill(self, actor: Actor, reason: str = "kill switch") -> None:
        require_supervisor(actor, "the kill switch")
        self.killed, self.killed_by, self.kill_reason = True, str(actor), reason
        purged = self.purge_queue()
        self.states["global"] = TradingState.HALTED
        self.journal_event("risk.kill", {"reason": reason, "purged": purged}, actor)
        self.publish(TradingStateChanged(self.clock.now(), "global", TradingState.HALTED, str(actor), reason))
        for callback in self.on_kill:
            callback(actor)

    def reset_kill_switch(self, actor: Actor, reason: str = "reset") -> None:
        require_supervisor(actor, "resetting the kill switch")
        self.killed, self.killed_by, self.kill_reason = False, "", ""
        self.states["global"] = TradingState.ACTIVE
        self.journal_event("risk.kill_reset", {"reason": reason}, actor)
        self.publish(TradingStateChanged(self.clock.now(), "global", TradingState.ACTIVE, str(actor), reason))

    def set_limit(self, name: str, value: float, actor: Actor) -> None:
        """Change a hard limit (supervisor only); journaled with its actor."""
        require_supervisor(actor, f"changing the hard limit {name}")
        known = {f.name for f in fields(self.limits)}
        if name not in known:
            raise ValueError(f"unknown limit {name!r}; known: {', '.join(sorted(known))}")
        old = getattr(self.limits, name)
        new = type(old)(value)
        if new < 0:
            raise ValueError(f"limit {name} must not be negative")
        setattr(self.limits, name, new)
        self.journal_event("risk.limit", {"name": name, "old": old, "new": new}, actor)
