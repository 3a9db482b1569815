"""Circuit breakers: conditions that stop or narrow trading on their own, with a configured action.

| breaker | fires when (default) | default action | reset |
|---|---|---|---|
| price_move | a venue's mid moves more than 3 % within 60 s | pause every running parent on the symbol | supervisor |
| spread_blowout | a venue's spread exceeds 50 bps | exclude the venue | automatic after 5 s back under |
| stale_data | no book or trade for 10 s on a venue with working orders | exclude the venue | automatic on data |
| venue_down | the venue reports down / disconnected | exclude the venue | automatic when up |
| reject_storm | 10 rejects within 10 s on a venue (rate-limit refusals not counted) | exclude the venue | supervisor |
| slippage | a parent's running shortfall leaves its band (below) | pause that parent | supervisor |
| parent_max_slippage | fills average worse than arrival by more than max_slippage_bps | pause | trader, supervisor |
| parent_schedule_deviation | |filled − schedule| / quantity above max_schedule_deviation | pause | trader, supervisor |

The slippage band is time-dependent: with f the filled fraction and u the elapsed fraction of the
horizon, band = E·f + z·σ·√max(u, u₀) (bps), E and σ the pre-trade expected cost and standard
deviation. Under the forecast's own model the running cost minus its mean is a Brownian motion
reaching σ at the end; a √u boundary alone is crossed almost surely near u = 0 (law of the
iterated logarithm), hence the floor u₀ = 0.05. z = 3.2 makes the chance of ever crossing over
a 4-hour horizon checked every 10 s about 1 % (Monte Carlo of 200,000 Brownian paths, test in
tests/risk/test_breakers.py). A running shortfall checked against the end-of-trade P95 instead
would fire far more often than 5 %.

The last two are the parent's own limits, set on its ticket (capped by the supervisor at staging,
core/risk/staging.py) and judged on every `ParentProgress`; both fire when strictly above the limit.

Actions: "pause" (the parent(s)), "exclude_venue", "reducing" (global REDUCING), "halt" (global
HALTED). Every firing is journaled with its rule, published as an Alert and kept in `events`.
A parent paused by a breaker that is still tripped cannot resume (`blocks_resume`): reset first.

A reject storm counts the refusals that say something is wrong with what we send (bad tick,
balance, duplicate id …). An order the exchange refused with a 429 (`RejectReason.RATE_LIMITED`)
says only that it is throttling us, and the venue already obeys that (no request while told to
back off, core/ports.py): counting those turned a few seconds of 429s into an exclusion that
only a supervisor could lift, stalling every parent routed there.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.actors import SYSTEM, Actor, PermissionDenied, Role, require_supervisor
from core.bus import Bus
from core.clock import Clock
from core.events import (
    Alert,
    BookUpdate,
    OrderUpdate,
    ParentProgress,
    Severity,
    Trades,
    TradingState,
    VenueStatus,
)
from core.orders import OrderStatus
from core.parent import ParentOrder
from core.ports import RejectReason
from core.records import BreakerReset, BreakerTripped, Entry
from core.risk.gate import RiskEvent, RiskGate


def slippage_band_bps(
    expected_bps: float, std_bps: float, done_fraction: float, time_fraction: float, z: float, floor_u: float
) -> float:
    """Upper band for the running shortfall: E·f + z·σ·√max(u, u₀) (see the module docstring)."""
    u = min(max(time_fraction, floor_u), 1.0)
    return expected_bps * min(max(done_fraction, 0.0), 1.0) + z * std_bps * math.sqrt(u)


@dataclass(slots=True)
class BreakerConfig:
    price_move_pct: float = 3.0
    price_move_window_s: float = 60.0
    price_move_action: str = "pause"
    spread_max_bps: float = 50.0
    spread_action: str = "exclude_venue"
    # the spread must stay under the limit this long before the venue comes back: after a sharp
    # move a thin book crosses the limit back and forth every few hundred ms (measured on the
    # simulator), and each flap would cancel every order there and raise a CRITICAL alert
    spread_reset_after_s: float = 5.0
    stale_after_s: float = 10.0
    stale_action: str = "exclude_venue"
    venue_down_action: str = "exclude_venue"
    reject_storm_count: int = 10
    reject_storm_window_s: float = 10.0
    reject_storm_action: str = "exclude_venue"
    slippage_z: float = 3.2
    slippage_floor_u: float = 0.05
    slippage_action: str = "pause"
    parent_slippage_action: str = "pause"  # the parent's own max_slippage_bps
    parent_schedule_action: str = "pause"  # the parent's own max_schedule_deviation
    check_every_s: float = 1.0


@dataclass(slots=True)
class ParentForecast:
    expected_bps: float
    std_bps: float
    horizon_s: float
    start_ts: float


@dataclass(slots=True)
class BreakerActions:
    """What the breakers can do (wired by the composition root to the execution service)."""

    pause_parent: Callable[[str, str], None]  # (parent_id, reason)
    running_parents: Callable[[], list[str]]
    set_venue_enabled: Callable[[str, bool], None]
    has_working_orders: Callable[[str], bool]  # venue → any open child there
    parent: Callable[[str], ParentOrder | None]  # parent id → the parent (its own limits, its trader)


# the parent's own limits: the trader set them, so the trader may reset them too
TRADER_RESET_RULES = frozenset({"parent_max_slippage", "parent_schedule_deviation"})
# rejects a reject storm does not count: the exchange's flow control, obeyed by the venue (docstring)
STORM_EXEMPT_REJECTS = frozenset({RejectReason.RATE_LIMITED})
# breakers whose target is a parent id (the others' target is a venue)
PARENT_RULES = frozenset({"slippage", *TRADER_RESET_RULES})
# these clear themselves when their condition does (a supervisor may still reset them by hand)
AUTOMATIC_RESET_RULES = frozenset({"spread_blowout", "stale_data", "venue_down"})


def who_may_reset(rule: str) -> str:
    """Who may reset a tripped `rule`, in the desk's words (a supervisor may reset any breaker)."""
    if rule in TRADER_RESET_RULES:
        return "its trader or a supervisor"
    if rule in AUTOMATIC_RESET_RULES:
        return "automatic, or a supervisor"
    return "a supervisor"


@dataclass(frozen=True, slots=True)
class TrippedBreaker:
    """One breaker that is tripped now: `key` is what `Breakers.reset` takes ("rule:target");
    `target` a venue or a parent id; `since` the trip time (clock seconds)."""

    key: str
    rule: str
    target: str
    action: str
    since: float
    detail: str
    reset_by: str


@dataclass(slots=True)
class Breakers:
    clock: Clock
    bus: Bus
    risk: RiskGate
    actions: BreakerActions
    config: BreakerConfig = field(default_factory=BreakerConfig)
    forecasts: dict[str, ParentForecast] = field(default_factory=dict)
    tripped: dict[str, str] = field(default_factory=dict)  # key ("rule:venue" / "rule:parent") → action
    events: list[RiskEvent] = field(default_factory=list)
    trips: dict[str, RiskEvent] = field(default_factory=dict)  # key → the firing that tripped it (while tripped)
    paused_by: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key → the parents its firing paused
    _mids: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)  # window minima candidates
    _mid_highs: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)  # window maxima candidates
    _last_book: dict[str, float] = field(default_factory=dict)
    _rejects: dict[str, deque[float]] = field(default_factory=dict)
    _spread_ok_since: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self.bus.subscribe(BookUpdate, self.on_book)
        self.bus.subscribe(Trades, self.on_trades)
        self.bus.subscribe(VenueStatus, self.on_status)
        self.bus.subscribe(OrderUpdate, self.on_order)
        self.bus.subscribe(ParentProgress, self.on_progress)
        self.clock.call_later(self.config.check_every_s, self._periodic)

    # ---- inputs -------------------------------------------------------------------------------

    def on_book(self, book: BookUpdate) -> None:
        now, venue, cfg = book.ts, book.venue, self.config
        self._data_seen(venue, now)
        mid = book.mid
        if math.isnan(mid):
            return
        lo, hi = self._window_range(venue, now, mid)
        move_pct = (hi - lo) / lo * 100.0
        if move_pct > cfg.price_move_pct:
            self._fire(
                "price_move",
                venue,
                cfg.price_move_action,
                f"{venue} mid moved {move_pct:.2f} % within {cfg.price_move_window_s:g} s "
                f"(limit {cfg.price_move_pct:g} %)",
            )
        spread_bps = (float(book.ask_px[0]) - float(book.bid_px[0])) / mid * 1e4
        key = f"spread_blowout:{venue}"
        if spread_bps > cfg.spread_max_bps:
            self._spread_ok_since.pop(venue, None)
            self._fire(
                "spread_blowout",
                venue,
                cfg.spread_action,
                f"{venue} spread {spread_bps:.1f} bps (limit {cfg.spread_max_bps:g} bps)",
            )
        elif key in self.tripped:
            since = self._spread_ok_since.setdefault(venue, now)
            if now - since >= cfg.spread_reset_after_s:
                del self._spread_ok_since[venue]
                self._clear(key, venue)

    def _window_range(self, venue: str, now: float, mid: float) -> tuple[float, float]:
        """Lowest and highest mid over the price-move window: monotonic deques (ascending for
        the minimum, descending for the maximum), O(1) amortized per book update — a scan of
        the window on every update was half of a simulation's CPU."""
        lows = self._mids.setdefault(venue, deque())
        highs = self._mid_highs.setdefault(venue, deque())
        while lows and lows[-1][1] >= mid:
            lows.pop()
        lows.append((now, mid))
        while highs and highs[-1][1] <= mid:
            highs.pop()
        highs.append((now, mid))
        start = now - self.config.price_move_window_s
        while lows[0][0] < start:
            lows.popleft()
        while highs[0][0] < start:
            highs.popleft()
        return lows[0][1], highs[0][1]

    def on_trades(self, trades: Trades) -> None:
        """Trades prove the feed is alive too (a book that did not change sends no update)."""
        self._data_seen(trades.venue, trades.ts)

    def _data_seen(self, venue: str, ts: float) -> None:
        """Market data stamped `ts` by the venue; a feed that delivers it late is still stale."""
        self._last_book[venue] = max(self._last_book.get(venue, ts), ts)
        if self.clock.now() - ts <= self.config.stale_after_s:
            self._clear(f"stale_data:{venue}", venue)

    def on_status(self, status: VenueStatus) -> None:
        if not status.connected:
            self._fire(
                "venue_down", status.venue, self.config.venue_down_action, f"{status.venue} down: {status.detail}"
            )
        else:
            self._clear(f"venue_down:{status.venue}", status.venue)

    def on_order(self, update: OrderUpdate) -> None:
        if update.status is not OrderStatus.REJECTED or update.reason in STORM_EXEMPT_REJECTS:
            return
        cfg = self.config
        q = self._rejects.setdefault(update.venue, deque())
        q.append(update.ts)
        while q and q[0] < update.ts - cfg.reject_storm_window_s:
            q.popleft()
        if len(q) >= cfg.reject_storm_count:
            self._fire(
                "reject_storm",
                update.venue,
                cfg.reject_storm_action,
                f"{len(q)} rejects on {update.venue} within {cfg.reject_storm_window_s:g} s (last: {update.reason})",
            )

    def on_progress(self, p: ParentProgress) -> None:
        parent = self.actions.parent(p.parent_id)
        if parent is not None and p.quantity > 0:
            self._check_parent_limits(p, parent)
        f = self.forecasts.get(p.parent_id)
        if f is None or p.filled <= 0 or p.quantity <= 0:
            return
        u = (p.ts - f.start_ts) / f.horizon_s
        # running cost so far, in bps of the whole parent's notional (what the forecast is in)
        running = p.slippage_bps * p.filled / p.quantity
        band = slippage_band_bps(
            f.expected_bps, f.std_bps, p.filled / p.quantity, u, self.config.slippage_z, self.config.slippage_floor_u
        )
        if running > band:
            self._fire(
                "slippage",
                p.parent_id,
                self.config.slippage_action,
                f"running shortfall {running:.1f} bps above its band {band:.1f} bps at {u:.0%} of the horizon",
                parent_id=p.parent_id,
            )

    def _check_parent_limits(self, p: ParentProgress, parent: ParentOrder) -> None:
        """The parent's own limits: slippage of its fills vs arrival (bps, positive = worse) and
        deviation from its schedule (fraction of the quantity; judged only while running — when
        completing, the schedule is the whole quantity by definition)."""
        limit = parent.max_slippage_bps
        if limit is not None and p.filled > 0 and p.slippage_bps > limit:
            self._fire(
                "parent_max_slippage",
                p.parent_id,
                self.config.parent_slippage_action,
                f"{p.parent_id}: fills average {p.slippage_bps:.1f} bps worse than arrival "
                f"{p.arrival_mid:,.2f} (the parent's max_slippage_bps {limit:g})",
                parent_id=p.parent_id,
            )
        deviation_limit = parent.max_schedule_deviation
        if deviation_limit is not None and p.state == "running":
            deviation = abs(p.filled - p.schedule_qty) / p.quantity
            if deviation > deviation_limit:
                where = "behind" if p.filled < p.schedule_qty else "ahead of"
                self._fire(
                    "parent_schedule_deviation",
                    p.parent_id,
                    self.config.parent_schedule_action,
                    f"{p.parent_id}: filled {p.filled:g} is {deviation:.1%} of the quantity {where} the schedule "
                    f"{p.schedule_qty:g} (the parent's max_schedule_deviation {deviation_limit:.1%})",
                    parent_id=p.parent_id,
                )

    def tripped_breakers(self) -> list[TrippedBreaker]:
        """The breakers tripped now, oldest first (what the Risk panel lists)."""
        rows = []
        for key, action in self.tripped.items():
            rule, _, target = key.partition(":")
            event = self.trips.get(key)
            since, detail = (event.ts, event.detail) if event is not None else (math.nan, "")
            rows.append(TrippedBreaker(key, rule, target, action, since, detail, who_may_reset(rule)))
        return sorted(rows, key=lambda r: (r.since, r.key))

    def blocks_resume(self, parent_id: str) -> str | None:
        """Why `parent_id` may not resume: a breaker paused it and is still tripped (None: free) —
        its own breaker, or a venue-wide one (a price move) that paused every running parent."""
        for key, action in self.tripped.items():
            rule, target = key.split(":", 1)
            if action == "pause" and (target == parent_id or parent_id in self.paused_by.get(key, ())):
                who = "its trader or a supervisor" if rule in TRADER_RESET_RULES else "a supervisor"
                return f"circuit breaker {rule} paused it and is still tripped; {who} must reset {key} first"
        return None

    def _periodic(self) -> None:
        now = self.clock.now()
        for venue, last in self._last_book.items():
            if now - last > self.config.stale_after_s and self.actions.has_working_orders(venue):
                self._fire(
                    "stale_data",
                    venue,
                    self.config.stale_action,
                    f"no market data from {venue} for {now - last:.1f} s with orders working there",
                )
        self.clock.call_later(self.config.check_every_s, self._periodic)

    # ---- actions ------------------------------------------------------------------------------

    def _fire(self, rule: str, target: str, action: str, detail: str, parent_id: str = "") -> None:
        key = f"{rule}:{target}"
        if key in self.tripped:
            return
        self.tripped[key] = action
        now = self.clock.now()
        event = RiskEvent(now, rule, action, detail, venue="" if parent_id else target, parent_id=parent_id)
        self.trips[key] = event
        self.events.append(event)
        self.risk.events.append(event)
        targets = ([parent_id] if parent_id else self.actions.running_parents()) if action == "pause" else []
        self.risk.journal_event(
            "risk.breaker",
            {"rule": rule, "target": target, "action": action, "detail": detail, "paused": list(targets)},
            SYSTEM,
        )
        self.bus.publish(Alert(now, Severity.CRITICAL, f"breaker:{rule}", "risk", detail, event.venue, parent_id))
        if action == "pause":
            self.paused_by[key] = tuple(targets)
            for pid in targets:
                self.actions.pause_parent(pid, f"circuit breaker {rule}")
        elif action == "exclude_venue":
            self.actions.set_venue_enabled(target, False)
        elif action == "reducing":
            self.risk.set_state("global", TradingState.REDUCING, SYSTEM, f"circuit breaker {rule}")
        elif action == "halt":
            self.risk.set_state("global", TradingState.HALTED, SYSTEM, f"circuit breaker {rule}")

    def _clear(self, key: str, venue: str) -> None:
        """Automatic reset (venue-exclusion breakers whose condition has cleared)."""
        action = self.tripped.pop(key, None)
        if action is None:
            return
        self.trips.pop(key, None)
        self.paused_by.pop(key, None)
        if action == "exclude_venue":
            self._enable_unless_still_excluded(venue)
        self.risk.journal_event("risk.breaker_reset", {"key": key, "by": "automatic"}, SYSTEM)

    def reset(self, key: str, actor: Actor) -> None:
        """Reset of a breaker that does not reset itself: a supervisor (price move, reject storm,
        slippage); the parent's own limits also by the parent's trader. Journaled with the actor.
        A paused parent stays paused: resuming it is the trader's next step."""
        rule, _, target = key.partition(":")
        if rule in TRADER_RESET_RULES and actor.role is not Role.SUPERVISOR:
            parent = self.actions.parent(target)
            if parent is None or actor.user != parent.trader:
                owner = parent.trader if parent is not None else "unknown"
                raise PermissionDenied(
                    f"resetting {key} requires the parent's trader ({owner}) or a supervisor; {actor} is neither"
                )
        else:
            require_supervisor(actor, f"resetting the circuit breaker {key}")
        action = self.tripped.pop(key, None)
        if action is None:
            raise ValueError(f"breaker {key} is not tripped; tripped: {', '.join(self.tripped) or 'none'}")
        self.trips.pop(key, None)
        self.paused_by.pop(key, None)
        if action == "exclude_venue":
            self._enable_unless_still_excluded(key.split(":", 1)[1])
        self.risk.journal_event("risk.breaker_reset", {"key": key, "by": str(actor)}, actor)

    def apply(self, entry: Entry) -> None:
        """Restore tripped breakers from the journal: a breaker only a supervisor may reset is still
        tripped after a restart, and still blocks the resume of the parents it paused. The trading
        state and venue switches its firing caused are restored by their own owners (the risk gate,
        the execution service) from their own records."""
        rec = entry.record
        if isinstance(rec, BreakerTripped):
            key = f"{rec.rule}:{rec.target}"
            parent_id = rec.target if rec.rule in PARENT_RULES else ""
            event = RiskEvent(entry.ts, rec.rule, rec.action, rec.detail, venue="" if parent_id else rec.target,
                              parent_id=parent_id)
            self.tripped[key] = rec.action
            self.trips[key] = event
            self.events.append(event)
            if rec.action == "pause":
                self.paused_by[key] = tuple(rec.paused)
        elif isinstance(rec, BreakerReset):
            self.tripped.pop(rec.key, None)
            self.trips.pop(rec.key, None)
            self.paused_by.pop(rec.key, None)

    def state_digest(self) -> dict[str, Any]:
        """Tripped breakers and whom they paused, comparable (the desk's replay property test)."""
        return {
            "tripped": dict(sorted(self.tripped.items())),
            "since": {k: e.ts for k, e in sorted(self.trips.items())},
            "paused_by": {k: list(v) for k, v in sorted(self.paused_by.items())},
        }

    def _enable_unless_still_excluded(self, venue: str) -> None:
        """A venue comes back only when no other breaker still excludes it (an outage also trips
        stale data; the reconnect must not bring back a venue whose feed has not resumed)."""
        if not any(a == "exclude_venue" and k.split(":", 1)[1] == venue for k, a in self.tripped.items()):
            self.actions.set_venue_enabled(venue, True)
