"""The per-tick runner: each working parent's tick, and the child tactics it executes.

Each running parent has a timer every `interval_s` (randomized so the footprint is not
periodic). On each tick the runner:

1. finishes the parent when nothing is left (cancels what still works);
2. re-plans the algo when asked, and executes the algo's plan for the tick (`Algo.decide`: an
   aimed take is sent at once; the decisions are journaled as `algo.decision`);
3. cancels passive children that are stale (older than `passive_refresh_s` or off the touch);
4. at the horizon, completes within the price cap (`EndAction.COMPLETE`) or stops (`STOP`);
5. when behind the algo's current target by more than the tolerance, crosses the spread with
   marketable limit orders capped at `max_cross_bps` from the mid and never beyond the limit;
6. rests the rest of the next interval's target passively at (or inside) the touch.

Over-fill is impossible by construction: filled + working + new never exceeds the quantity.
The tick works in floats (base units, quote prices) and hands them to the router, the one place
they become the venue's lots and ticks (`router.child_values`); children leave as `Quantity`/
`Price`. Where a slice may go is the routing view's (core/execution/routing.py); participation,
volumes and books exclude our own orders (core/execution/market_view.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from core.actors import SYSTEM, Actor
from core.clock import Timer
from core.engine import Engine
from core.events import Alert, ParentProgress, Severity
from core.execution.algos import Algo, AlgoState
from core.execution.config import ExecutionConfig
from core.execution.decisions import AimedTake, PolicyDecision
from core.execution.market_view import MarketView
from core.execution.router import Router
from core.execution.routing import RoutingView
from core.orders import ChildOrder, TimeInForce
from core.parent import EndAction, ParentOrder, ParentState
from core.records import AlgoDecision, Entry
from core.risk.gate import Decision
from core.types import Side


@dataclass(slots=True)
class Runner:
    """One working parent's run: its algo, its random stream and what the ticks remember."""

    parent: ParentOrder
    algo: Algo
    rng: np.random.Generator
    start_s: float  # clock time elapsed seconds count from
    timer: Timer | None = None
    limit_bound: bool = False
    participation_bound: bool = False
    no_route: str = ""  # why no venue can take this parent's orders now ("" = some can)
    market_volume_at_start: float = 0.0
    history: list[tuple[float, float, float]] = field(default_factory=list)  # (elapsed, done, target)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # the algo's, as journaled
    replan_needed: bool = True
    aimed_sent: float = 0.0  # sent this tick by the algo's aimed takes (a lean in on a transient move)


class TickRunner:
    """Runs the ticks of every parent it holds, until each stops."""

    def __init__(self, engine: Engine, config: ExecutionConfig, market: MarketView, routing: RoutingView) -> None:
        self.engine = engine
        self.config = config
        self.market = market
        self.routing = routing
        self.runners: dict[str, Runner] = {}
        # the algos' decisions journaled per parent (`algo.decision`), restored on replay
        self.journaled_decisions: dict[str, list[dict[str, Any]]] = {}
        self.on_done: list[Callable[[str], None]] = []

    def add(self, runner: Runner) -> None:
        """Hold `runner` (replacing any runner of the same parent); it runs from its next tick."""
        self.runners[runner.parent.parent_id] = runner

    def tick(self, parent_id: str) -> None:
        runner = self.runners.get(parent_id)
        if runner is None:
            return
        runner.timer = None
        parent = runner.parent
        if parent.state not in (ParentState.RUNNING, ParentState.COMPLETING):
            return
        oms, now, cfg = self.engine.oms, self.engine.clock.now(), self.config
        elapsed = now - runner.start_s
        qty = float(parent.quantity)
        done = float(oms.done_qty(parent_id))
        lot = float(self._smallest_lot(parent))
        state = AlgoState(
            elapsed,
            parent.horizon_s,
            qty,
            done,
            self.market.market_volume() - runner.market_volume_at_start,
            parent.max_participation,
        )
        if qty - done < lot / 2:
            self.stop(parent_id, ParentState.DONE, SYSTEM, "complete")
            return
        if runner.replan_needed:
            runner.algo.replan(state)
            runner.replan_needed = False
        runner.aimed_sent = 0.0
        self._execute_plans(runner, state, now)

        mid = self.market.consolidated_mid(self.market.venues_of(parent))
        self._cancel_stale(runner)
        at_end = elapsed >= parent.horizon_s - 1e-9
        if at_end and parent.end_action is EndAction.STOP and parent.state is not ParentState.COMPLETING:
            self.stop(parent_id, ParentState.DONE, SYSTEM, "horizon reached; residual left (end action: stop)")
            return
        completing = at_end or parent.state is ParentState.COMPLETING
        target_now = qty if completing else runner.algo.target_filled(state, elapsed)
        target_next = qty if completing else runner.algo.target_filled(state, elapsed + cfg.interval_s)
        i_would = (
            parent.i_would_price is not None
            and not math.isnan(mid)
            and parent.within_limit(Decimal(str(mid)))
            and (
                (parent.side is Side.BUY and mid <= float(parent.i_would_price))
                or (parent.side is Side.SELL and mid >= float(parent.i_would_price))
            )
        )
        runner.history.append((elapsed, done, target_now))

        # the algo's own take this tick is in flight, and it read the book a sweep would read now:
        # the schedule catches up at the next tick, against the book the take left
        took_book = runner.aimed_sent > 0
        behind = target_now - done - runner.aimed_sent
        room = qty - done - self.working(parent_id)  # never over-fill: filled + working + new ≤ quantity
        cap_rate = parent.max_participation / (1 - parent.max_participation) if parent.max_participation < 1 else 1e9
        part_allow = (
            cap_rate * self.market.recent_volume(cfg.participation_window_s) * cfg.interval_s
            / cfg.participation_window_s
        )
        if i_would:
            behind = max(behind, min(qty - done, part_allow))
        sent_marketable = 0.0
        if (behind > cfg.behind_tolerance * qty or completing) and not math.isnan(mid) and not took_book:
            want = behind if not completing else qty - done
            if not completing:
                runner.participation_bound = want > part_allow * 2 and behind < 0.05 * qty
            if want > room:  # make room by pulling passive children first
                self.engine.cancel_children(
                    [c for c in oms.open_children(parent_id) if c.tif is not TimeInForce.IOC],
                    SYSTEM,
                    "cross to catch up",
                )
                room = qty - done - self.working(parent_id)
            want = min(want, room)
            sent_marketable = self._send_marketable(runner, want, mid, completing)
            room -= sent_marketable
        passive_need = min(target_next - done - self.working(parent_id), room)
        if passive_need > lot and not completing and not math.isnan(mid):
            cap = runner.algo.max_working(state) - self.working(parent_id)
            size = min(passive_need, cap) * (1 + cfg.size_jitter * (2 * runner.rng.random() - 1))
            self._send_passive(runner, min(size, room))
        self._publish_progress(runner, now, mid, target_now)
        delay = cfg.interval_s * (1 + cfg.interval_jitter * (2 * runner.rng.random() - 1))
        if not completing and elapsed < parent.horizon_s:
            delay = min(delay, parent.horizon_s - elapsed + 1e-6)
        runner.timer = self.engine.clock.call_later(delay, lambda: self.tick(parent_id))

    def take(self, runner: Runner, take: AimedTake) -> float:
        """Execute an algo's aimed take: take what the parent's venues offer at or better than the
        take's price cap, now, up to its quantity, the aimed venue first at equal prices; never past
        the parent's limit price, `max_cross_bps` from the consolidated mid, or the parent's room.
        Returns the base units sent (a child the risk gate refuses is not counted)."""
        parent = runner.parent
        pid = parent.parent_id
        room = float(parent.quantity) - float(self.engine.oms.done_qty(pid)) - self.working(pid)
        mid = self.market.consolidated_mid(self.market.venues_of(parent))
        quantity = min(take.quantity, room)
        if quantity <= 0 or math.isnan(mid):
            return 0.0
        cross = mid * (1 + parent.side.sign * self.config.max_cross_bps * 1e-4)
        caps = [take.price_cap, cross] + ([float(parent.limit_price)] if parent.limit_price is not None else [])
        cap = min(caps) if parent.side is Side.BUY else max(caps)
        router = self.routing.router(parent, runner.algo, runner.start_s)
        if take.venue in router.venues:
            router.venues[take.venue].preference = max(router.venues[take.venue].preference, 2.0)
        sent = 0.0
        for alloc in router.marketable(parent.side, quantity, cap):
            decision, _ = self.engine.send_child(pid, alloc.venue, parent.side, alloc.quantity, alloc.price,
                                                 TimeInForce.IOC)
            if decision is not Decision.REFUSE:
                sent += float(alloc.quantity)
        runner.aimed_sent += sent
        return sent

    def stop(self, parent_id: str, state: ParentState, actor: Actor, reason: str) -> None:
        """End a parent's run: no more ticks, its queued and working children canceled, the parent
        moved to `state` (unless already terminal), its last progress published."""
        oms = self.engine.oms
        runner = self.runners.get(parent_id)
        if runner is not None and runner.timer is not None:
            runner.timer.cancel()
            runner.timer = None
        self.engine.risk.purge_queue(parent_id)
        self.engine.cancel_children(oms.open_children(parent_id), actor, reason)
        if not oms.parents[parent_id].state.is_terminal:
            oms.set_parent_state(parent_id, state, actor, self.engine.clock.now(), reason)
        if runner is not None:  # the blotter's last word on the parent: final fill, average, state
            mid = self.market.consolidated_mid(self.market.venues_of(runner.parent))
            self._publish_progress(runner, self.engine.clock.now(), mid, float(oms.done_qty(parent_id)))
        for callback in self.on_done:
            callback(parent_id)

    def on_kill(self, actor: Actor) -> None:
        """Kill switch: every running parent stops (children are canceled by the engine)."""
        for parent_id, runner in self.runners.items():
            if runner.timer is not None:
                runner.timer.cancel()
                runner.timer = None
            if not runner.parent.state.is_terminal:
                self.engine.oms.set_parent_state(
                    parent_id, ParentState.STOPPED_BY_RISK, actor, self.engine.clock.now(), "kill switch"
                )

    def working(self, parent_id: str) -> float:
        """Working at venues, waiting in the risk gate's rate queue, or reserved for an OTC accept."""
        oms = self.engine.oms
        reserved = float(oms.reserved.get(parent_id, 0))
        return float(oms.working_qty(parent_id)) + self.engine.risk.queued_quantity(parent_id) + reserved

    def apply(self, entry: Entry) -> None:
        """Restore the journaled decisions per parent (`algo.decision`); other records are ignored."""
        rec = entry.record
        if isinstance(rec, AlgoDecision):
            self.journaled_decisions.setdefault(rec.parent_id, []).append(dict(rec.extra))

    # ---- the algo's plans ---------------------------------------------------------------------

    def _execute_plans(self, runner: Runner, state: AlgoState, now: float) -> None:
        """Ask the algo for this tick's plan and execute it: send each aimed take at once and tell
        the algo what it sent, until a plan has no take; then journal the tick's decisions."""
        plan = runner.algo.decide(state)
        decided: list[PolicyDecision] = list(plan.decisions)
        while plan.take is not None:
            plan = runner.algo.decide(state, taken=self.take(runner, plan.take))
            decided.extend(plan.decisions)
        if decided:
            self._journal_decisions(runner, [d.payload() for d in decided], now)

    def _journal_decisions(self, runner: Runner, decisions: list[dict[str, Any]], now: float) -> None:
        """The algo's new decisions, journaled (`algo.decision`) so an export carries them and the
        fills refit can attribute fills to them (core/execution/fills_refit.py)."""
        pid = runner.parent.parent_id
        runner.decisions.extend(decisions)
        items = [("algo.decision", {"parent_id": pid, **d}) for d in decisions]
        self.engine.oms.record_many(items, SYSTEM, now)
        self.journaled_decisions.setdefault(pid, []).extend(decisions)

    # ---- tactics ------------------------------------------------------------------------------

    def _send_marketable(self, runner: Runner, quantity: float, mid: float, completing: bool) -> float:
        parent = runner.parent
        cap = mid * (1 + parent.side.sign * self.config.max_cross_bps * 1e-4)
        finish_cap = parent.params.get("finish_cap")
        if completing and finish_cap is not None:
            cap = float(finish_cap)
        if parent.limit_price is not None:
            lim = float(parent.limit_price)
            cap = min(cap, lim) if parent.side is Side.BUY else max(cap, lim)
        router = self.routing.router(parent, runner.algo, runner.start_s)
        allocations = router.marketable(parent.side, quantity, cap)
        runner.limit_bound = not allocations and parent.limit_price is not None
        self._note_route(runner, router, now=self.engine.clock.now())
        sent = 0.0
        for alloc in allocations:
            decision, _ = self.engine.send_child(
                parent.parent_id, alloc.venue, parent.side, alloc.quantity, alloc.price, TimeInForce.IOC
            )
            if decision is not Decision.REFUSE:
                sent += float(alloc.quantity)
        return sent

    def _send_passive(self, runner: Runner, quantity: float) -> None:
        parent = runner.parent
        for alloc in self.routing.router(parent, runner.algo, runner.start_s).passive(parent.side, quantity):
            if not parent.within_limit(alloc.price.value):
                runner.limit_bound = True
                continue
            self.engine.send_child(
                parent.parent_id, alloc.venue, parent.side, alloc.quantity, alloc.price, TimeInForce.GTC
            )

    def _cancel_stale(self, runner: Runner) -> None:
        now = self.engine.clock.now()
        parent = runner.parent
        stale: list[ChildOrder] = []
        for child in self.engine.oms.open_children(parent.parent_id):
            if child.tif is TimeInForce.IOC or child.price is None:
                continue
            book = self.engine.books.get(child.venue)
            touch = None
            if book is not None and len(book.bid_px) and len(book.ask_px):
                touch = float(book.bid_px[0]) if parent.side is Side.BUY else float(book.ask_px[0])
            off_touch = touch is not None and abs(float(child.price) - touch) > 2 * float(
                self.engine.venues[child.venue].instrument(parent.instrument.symbol).tick_size
            )
            if now - child.created_ts >= self.config.passive_refresh_s or off_touch:
                stale.append(child)
        if stale:
            self.engine.cancel_children(stale, SYSTEM, "refresh passive")

    def _note_route(self, runner: Runner, router: Router, now: float) -> None:
        """Warn once when a parent that must trade has no venue to trade on (every venue disabled,
        down, out of capacity or avoided as toxic): it would otherwise sit behind schedule, or past
        its horizon, with nothing on screen saying why. Cleared when a venue can take orders again."""
        why = []
        for name, v in router.venues.items():
            if not v.enabled:
                why.append(f"{name} disabled or down")
            elif v.book is None:
                why.append(f"{name} has no book")
            elif v.capacity <= 0:
                why.append(f"{name} out of balance or participation room")
            elif v.toxicity >= 1.0:
                why.append(f"{name} avoided (toxicity {v.toxicity:.2f})")
            else:
                runner.no_route = ""
                return
        reason = "; ".join(why) or "no venue allowed"
        if reason != runner.no_route:
            runner.no_route = reason
            pid = runner.parent.parent_id
            self.engine.bus.publish(
                Alert(now, Severity.WARNING, "no_route", "execution", f"no venue can take {pid}'s orders: {reason}",
                      parent_id=pid)
            )

    def _publish_progress(self, runner: Runner, now: float, mid: float, target: float) -> None:
        oms = self.engine.oms
        parent = runner.parent
        pid = parent.parent_id
        children = oms.children_for(pid)
        filled = float(sum((c.filled for c in children), Decimal(0)))
        otc = float(oms.otc_qty(pid))
        notional = float(sum((c.notional_filled for c in children), Decimal(0)))
        avg = notional / filled if filled > 0 else float("nan")
        arrival = oms.arrival_mid.get(pid, float("nan"))
        slip = parent.side.sign * (avg - arrival) / arrival * 1e4 if filled > 0 else 0.0
        vol = self.market.market_volume() - runner.market_volume_at_start
        self.engine.bus.publish(
            ParentProgress(
                now,
                pid,
                parent.state.value,
                parent.side,
                float(parent.quantity),
                filled + otc,
                float(parent.quantity) - filled - otc,
                avg,
                arrival,
                slip,
                target,
                filled / (filled + vol) if filled + vol > 0 else 0.0,
                float(oms.working_qty(pid)),
                otc,
            )
        )
        if runner.limit_bound:
            self.engine.bus.publish(
                Alert(now, Severity.INFO, "limit_bound", "execution", "behind schedule, limit-bound", parent_id=pid)
            )

    def _smallest_lot(self, parent: ParentOrder) -> Decimal:
        return min(
            self.engine.venues[v].instrument(parent.instrument.symbol).lot_size for v in self.market.venues_of(parent)
        )
