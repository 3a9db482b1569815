"""The adaptive policy: Almgren–Chriss, bent by what surveillance sees (issue 9, first layer).

The schedule is the parent's AC trajectory (same risk aversion, same horizon). On top of it the
policy reacts to events the market-surveillance layer scores, and only to those:

* **A transient, non-informational dip** (the dip classifier's P(transient) ≥ `confidence`) on a
  venue the parent trades: a buyer *leans in* (target raised by `lean_frac` of the parent: buy
  the dip), a seller *holds back* (target lowered by the same amount: don't sell into it, sell
  into the recovery). A transient *spike* is the mirror image (a seller leans in).
* **An informed move against us** (P(transient) ≤ 1 − `confidence`, price moving the way that
  hurts: down for a seller, up for a buyer): trade ahead of it (target raised by `informed_frac`)
  before it goes further. An informed move in our favour changes nothing: slowing down would be
  trading slower than the shared risk aversion allows, which is not an edge.
* **Spoofed or stuffed books**: the router weighs venues by `toxicity_weight` × surveillance's
  `toxicity` (see `core/execution/router.py`); that needs no schedule change.

A shift decays linearly to zero over `window_s`, so catching up (or giving back a lean) is spread
over the window instead of crossing the spread at its end; the target always stays within
[0, quantity] and within `max_shift_frac` of the AC path. Every decision is recorded with its
reason (the terminal lists them; `simulate` reports them).

Parameters are the documented defaults below unless a fitted policy is given (`policy_label`
says which): `python main.py train` fits `confidence`, `lean_frac`, `informed_frac`, `window_s`
and `toxicity_weight` on training seeds and refits them from our own fills (core/execution/policy.py,
core/execution/policy_search.py, core/execution/fills_refit.py; docs/ai.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.analytics.dip_classifier import Dip
from core.execution.algos import AlgoState, AlmgrenChriss


class MarketSignals(Protocol):
    """What the policy reads from surveillance (core/analytics/surveillance.py)."""

    def toxicity(self, venue: str) -> float: ...

    def last_dip(self, venue: str) -> Dip | None: ...


@dataclass(frozen=True, slots=True)
class AdaptiveConfig:
    confidence: float = 0.7  # P(transient) at or above: transient; at or below 1 − it: informed
    lean_frac: float = 0.04  # of the parent quantity: lean in / hold back on a transient move
    informed_frac: float = 0.04  # of the parent quantity: trade ahead of an informed move against us
    window_s: float = 300.0  # a shift decays linearly to zero over this
    max_age_s: float = 90.0  # a dip scored longer ago than this is history, not a signal
    max_shift_frac: float = 0.08  # |target − AC target| never exceeds this share of the parent
    same_move_s: float = 60.0  # a move of the same direction starting this close to one acted on is the same move
    toxicity_weight: float = 1.0  # the router avoids a venue by this × surveillance's toxicity (0: ignore it)
    venue_tilt: float = 20.0  # the moved venue's routing weight: × this on a lean, ÷ this on a hold-back (1: no tilt)

    def __post_init__(self) -> None:
        if not 0.5 < self.confidence < 1.0:
            raise ValueError(f"adaptive confidence must be in (0.5, 1), got {self.confidence}")
        for key in ("window_s", "max_age_s", "same_move_s"):
            if getattr(self, key) <= 0:
                raise ValueError(f"adaptive {key} = {getattr(self, key)} must be positive seconds")
        if not 0 < self.max_shift_frac <= 1:
            raise ValueError(f"adaptive max_shift_frac = {self.max_shift_frac} must be in (0, 1]")
        if not 0 <= self.toxicity_weight <= 1:
            raise ValueError(
                f"adaptive toxicity_weight = {self.toxicity_weight} must be in [0, 1] (0 ignores surveillance)"
            )
        if not 1 <= self.venue_tilt <= 100:
            raise ValueError(f"adaptive venue_tilt = {self.venue_tilt} must be in [1, 100] (1: no per-venue tilt)")
        for key in ("lean_frac", "informed_frac"):
            value = getattr(self, key)
            if not 0 <= value <= self.max_shift_frac:
                raise ValueError(
                    f"adaptive {key} = {value} must be within [0, max_shift_frac = {self.max_shift_frac}] "
                    "(a fraction of the parent quantity)"
                )


@dataclass(slots=True)
class _Shift:
    start_s: float  # parent-elapsed seconds
    qty: float  # signed: + ahead of the AC target, − behind it
    venue: str = ""  # the moved venue the shift is aimed at ("" = the whole schedule, e.g. trading ahead)
    tilt: float = 1.0  # that venue's routing weight at the shift's start (> 1 lean, < 1 hold back)
    excursion_bps: float = 0.0  # the move's size on that venue (the venue that moved most is the one aimed at)


@dataclass(slots=True)
class AdaptiveAc:
    """AC with event-driven shifts; `observe` is called by the execution service every tick."""

    base: AlmgrenChriss
    side_sign: int  # +1 buy, −1 sell
    venues: tuple[str, ...]
    signals: MarketSignals | None
    now: Callable[[], float]  # wall/sim clock, to age the surveillance's scored dips
    decisions: list[dict[str, Any]]
    config: AdaptiveConfig = field(default_factory=AdaptiveConfig)
    name: str = "adaptive"
    policy_label: str = "policy: defaults"  # where `config` came from (core/execution/policy.py)
    _shifts: list[_Shift] = field(default_factory=list)
    _seen: set[tuple[str, float]] = field(default_factory=set)
    _acted: list[tuple[int, float, str]] = field(default_factory=list)  # (direction, onset, venue) acted on
    _aimed: dict[tuple[int, float], _Shift] = field(default_factory=dict)  # (direction, onset) acted on → its shift

    def replan(self, state: AlgoState) -> None:
        self.base.replan(state)

    def max_working(self, state: AlgoState) -> float:
        return self.base.max_working(state)

    def shift_at(self, at_s: float) -> float:
        total = 0.0
        for s in self._shifts:
            age = at_s - s.start_s
            if 0 <= age < self.config.window_s:
                total += s.qty * (1.0 - age / self.config.window_s)
        cap = self.config.max_shift_frac
        return total if abs(total) <= cap else math.copysign(cap, total)

    def venue_weight(self, venue: str, at_s: float) -> float:
        """The routing weight the live shifts give `venue` (1 = as AC routes): each aimed shift's
        tilt, decaying geometrically to 1 over the shift's window, multiplied."""
        weight = 1.0
        for s in self._shifts:
            age = at_s - s.start_s
            if s.venue == venue and 0 <= age < self.config.window_s:
                weight *= s.tilt ** (1.0 - age / self.config.window_s)
        return weight

    def target_filled(self, state: AlgoState, at_s: float) -> float:
        base = self.base.target_filled(state, at_s)
        shifted = base + self.shift_at(at_s) * state.quantity
        return min(max(shifted, 0.0), state.quantity)

    def observe(self, state: AlgoState) -> None:
        """Read newly scored dips on our venues and decide (at most one decision per dip)."""
        if self.signals is None:
            return
        now = self.now()
        cfg = self.config
        fresh = []
        for venue in self.venues:
            dip = self.signals.last_dip(venue)
            if dip is None or math.isnan(dip.p_transient) or (venue, dip.onset_ts) in self._seen:
                continue
            self._seen.add((venue, dip.onset_ts))
            if now - dip.scored_ts <= cfg.max_age_s:
                fresh.append(dip)
        # one move seen on several venues: the venue where it went furthest (a flush's own venue;
        # the others only followed by arbitrage) is decided on first, so a response is aimed there
        fresh.sort(key=lambda d: (-_excursion(d), self.venues.index(d.venue)))
        for dip in fresh:
            venue = dip.venue
            same = next(
                (a for a in self._acted if a[0] == dip.direction and abs(a[1] - dip.onset_ts) <= cfg.same_move_s), None
            )
            if same is not None:  # one market-wide move, seen on several venues: act once
                aimed = self._aimed.get(same[:2])
                if aimed is not None and aimed.venue and _excursion(dip) > aimed.excursion_bps:
                    aimed.venue, aimed.excursion_bps = venue, _excursion(dip)  # it went further here
                    note = f"same move as on {same[2]} (seen on {venue}, further: response now aimed at {venue})"
                else:
                    note = f"same move as on {same[2]} (seen on {venue})"
                self._record(state, now, "no change", note, 0.0, dip)
                continue
            adverse = dip.direction == self.side_sign  # down hurts a seller (sign −1), up hurts a buyer (+1)
            move = "dip" if dip.direction < 0 else "spike"
            p = dip.p_transient
            if p >= cfg.confidence:
                qty = cfg.lean_frac if not adverse else -cfg.lean_frac
                action = "hold back" if adverse else "lean in"
                reason = f"transient {move} on {venue} (P(transient) {p:.2f}): {action}, trade the recovery"
                unused = "lean_frac"
            elif p <= 1.0 - cfg.confidence and adverse:
                qty = cfg.informed_frac
                action = "trade ahead"
                reason = f"informed {move} against us on {venue} (P(transient) {p:.2f}): trade before it goes further"
                unused = "informed_frac"
            else:
                reason = f"{move} on {venue}, P(transient) {p:.2f}: not acted on"
                self._record(state, now, "no change", reason, 0.0, dip)
                continue
            if qty == 0.0:  # a fitted policy may switch a response off: say so, do not call it an action
                self._record(state, now, "no change", f"{reason.split(':')[0]}: not acted on ({unused} is 0)", 0.0, dip)
                continue
            tilt = 1.0
            if action in ("lean in", "hold back"):
                tilt = cfg.venue_tilt if action == "lean in" else 1.0 / cfg.venue_tilt
                if cfg.venue_tilt != 1.0:
                    verb = "more" if action == "lean in" else "less"
                    reason += f"; {verb} on {venue} (routing weight x{tilt:.2g})"
            shift = _Shift(state.elapsed_s, qty, venue if tilt != 1.0 else "", tilt, _excursion(dip))
            self._shifts.append(shift)
            self._acted.append((dip.direction, dip.onset_ts, venue))
            self._aimed[(dip.direction, dip.onset_ts)] = shift
            self._record(state, now, action, reason, qty * state.quantity, dip)
        self._shifts = [s for s in self._shifts if state.elapsed_s - s.start_s < cfg.window_s]

    def _record(self, state: AlgoState, now: float, action: str, reason: str, shift_qty: float, dip: Dip) -> None:
        """One decision; `p_transient`, `venue` and `window_s` let the fills refit attribute our
        fills to it (core/execution/fills_refit.py)."""
        self.decisions.append(
            {
                "time_s": round(state.elapsed_s, 3),
                "ts": now,
                "action": action,
                "shift_qty": round(shift_qty, 8),
                "reason": reason,
                "venue": dip.venue,
                "p_transient": round(dip.p_transient, 4),
                "window_s": self.config.window_s,
            }
        )


def _excursion(dip: Dip) -> float:
    """How far the move went on its venue (bps, the classifier's `drop_bps`); 0 when not measured."""
    x = dip.features.get("drop_bps", 0.0)
    return float(x) if math.isfinite(x) else 0.0
