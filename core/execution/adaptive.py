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

A shift is *held* while its move lasts, then decays linearly to zero over `window_s`, so giving
back a lean is spread over the window instead of crossing the spread at its end. A transient
move lasts until the moved venue's mid has recovered `release_recovery` of its excursion (from
the dip's pre-move mid to the furthest mid seen); an informed move lasts until the venue's mid
has made no new extreme for `release_quiet_s`; neither is held longer than `max_hold_s`. An
informed move's news stays, so a trade-ahead is not given back in a window: once released it
decays over the rest of the horizon, as an AC re-plan from where it stands would. (A lean paid
back inside a fixed window from its start is a timing shift that gives the dip back while the dip
is still there: the parent then trades *slower* than AC for the rest of the move.) Without a live
venue mid (`venue_mid` None) or with `max_hold_s` 0 a shift decays from its start.

A lean in also *takes* at once (an `AimedTake` in the tick's plan, `lean_take` of the lean, which
the runner sends before the policy finishes the tick): it buys what the venues offer at least
`take_depth` of the move below the moved venue's pre-move mid (a seller: above it), up to
`lean_frac` of the parent, the moved venue first at equal prices; the shift is what was sent.
(Capped at the pre-move mid itself, a take after a quick rebound paid nearly the recovered price
and its own impact then "recovered" the venue.) One take per tick: a second move leaned into in
the same tick (the deeper one takes first) would send the same children again while the first
take's are on their way. The target always stays within [0, quantity] and within
`max_shift_frac` of the AC path. Every decision is recorded with its reason (`PolicyDecision`s in
the tick's plan: the terminal lists them; `simulate` reports them), and so is each release.

Parameters are the documented defaults below unless a fitted policy is given (`policy_label`
says which): `python main.py train` fits `confidence`, `lean_frac`, `informed_frac`, `window_s`
and `toxicity_weight` on training seeds and refits them from our own fills (core/execution/policy.py,
core/execution/policy_search.py, core/execution/fills_refit.py; docs/ai.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Protocol

from core.analytics.dip_classifier import Dip
from core.execution.algos import AlgoState, AlmgrenChriss
from core.execution.decisions import AimedTake, PolicyDecision, TickPlan, VenueToxicity


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
    release_recovery: float = 1.0  # a transient move is over once its venue's mid has recovered this share of it
    release_quiet_s: float = 60.0  # an informed move is over once its venue's mid made no new extreme this long
    max_hold_s: float = 900.0  # a shift is held at most this long before it decays (0: never held)
    lean_take: float = 1.0  # share of a lean in taken at once on the moved venue below the pre-move mid (0: none)
    take_depth: float = 0.5  # the take buys only where at least this share of the move is still a discount

    def __post_init__(self) -> None:
        if not 0.5 < self.confidence < 1.0:
            raise ValueError(f"adaptive confidence must be in (0.5, 1), got {self.confidence}")
        for key in ("window_s", "max_age_s", "same_move_s", "release_quiet_s"):
            if getattr(self, key) <= 0:
                raise ValueError(f"adaptive {key} = {getattr(self, key)} must be positive seconds")
        if not 0 < self.max_shift_frac <= 1:
            raise ValueError(f"adaptive max_shift_frac = {self.max_shift_frac} must be in (0, 1]")
        if not 0 <= self.toxicity_weight <= 1:
            raise ValueError(
                f"adaptive toxicity_weight = {self.toxicity_weight} must be in [0, 1] (0 ignores surveillance)"
            )
        if self.max_hold_s < 0:
            raise ValueError(f"adaptive max_hold_s = {self.max_hold_s} must be at least 0 seconds (0: never held)")
        if not 0 <= self.take_depth < 1:
            raise ValueError(f"adaptive take_depth = {self.take_depth} must be in [0, 1) (a share of the move)")
        if not 0 <= self.lean_take <= 1:
            raise ValueError(f"adaptive lean_take = {self.lean_take} must be in [0, 1] (a share of the lean)")
        if not 0 < self.release_recovery <= 1:
            raise ValueError(
                f"adaptive release_recovery = {self.release_recovery} must be in (0, 1] (a share of the move)"
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
    informed: bool = False  # held until the move stops (informed) or recovers (transient)
    extreme: float = math.nan  # the furthest mid seen on the dip's venue since the move began
    extreme_s: float = 0.0  # when (parent-elapsed s)
    release_s: float | None = None  # when the hold ended: the decay runs from here (None: still held)
    decay_s: float = 0.0  # from the release, the shift decays linearly to zero over this
    dip: Dip | None = None  # the scored move it answers (the deepest copy after a re-aim)

    def weight_at(self, at_s: float) -> float:
        """1 while held (and after its start), then linearly down to 0 over `decay_s`; 0 outside."""
        if at_s < self.start_s:
            return 0.0
        if self.release_s is None or at_s <= self.release_s:
            return 1.0
        age = at_s - self.release_s
        return 1.0 - age / self.decay_s if age < self.decay_s else 0.0


@dataclass(slots=True)
class AdaptiveAc:
    """AC with event-driven shifts; the runner calls `decide` every tick and executes its plans."""

    base: AlmgrenChriss
    side_sign: int  # +1 buy, −1 sell
    venues: tuple[str, ...]
    signals: MarketSignals | None
    now: Callable[[], float]  # wall/sim clock, to age the surveillance's scored dips
    config: AdaptiveConfig = field(default_factory=AdaptiveConfig)
    name: str = "adaptive"
    policy_label: str = "policy: defaults"  # where `config` came from (core/execution/policy.py)
    venue_mid: Callable[[str], float] | None = None  # a venue's live mid (NaN unknown): when a move is over
    _paused: Generator[AimedTake, float, None] | None = None  # this tick's decisions, paused at a take
    _decided: list[PolicyDecision] = field(default_factory=list)  # this tick's, not yet handed over
    _shifts: list[_Shift] = field(default_factory=list)
    _seen: set[tuple[str, float]] = field(default_factory=set)
    _acted: list[tuple[int, float, str]] = field(default_factory=list)  # (direction, onset, venue) acted on
    _aimed: dict[tuple[int, float], _Shift] = field(default_factory=dict)  # (direction, onset) acted on → its shift

    @property
    def risk_aversion(self) -> float:
        """The AC base's λ (1/$): the shifts move the schedule, not its risk preference."""
        return self.base.risk_aversion

    def replan(self, state: AlgoState) -> None:
        self.base.replan(state)

    def max_working(self, state: AlgoState) -> float:
        return self.base.max_working(state)

    def shift_at(self, at_s: float) -> float:
        total = sum(s.qty * s.weight_at(at_s) for s in self._shifts)
        cap = self.config.max_shift_frac
        return total if abs(total) <= cap else math.copysign(cap, total)

    def toxicity(self, venues: tuple[str, ...]) -> VenueToxicity | None:
        """Surveillance's live scores for `venues`, routed by at `toxicity_weight` (spoof-aware
        routing); None without surveillance."""
        if self.signals is None:
            return None
        scores = {v: min(max(self.signals.toxicity(v), 0.0), 1.0) for v in venues}
        return VenueToxicity(scores, self.config.toxicity_weight)

    def venue_weight(self, venue: str, at_s: float) -> float:
        """The routing weight the live shifts give `venue` (1 = as AC routes): each aimed shift's
        tilt, held with the shift and then decaying geometrically to 1 over its window, multiplied."""
        weight = 1.0
        for s in self._shifts:
            if s.venue == venue:
                weight *= s.tilt ** s.weight_at(at_s)
        return weight

    def target_filled(self, state: AlgoState, at_s: float) -> float:
        base = self.base.target_filled(state, at_s)
        shifted = base + self.shift_at(at_s) * state.quantity
        return min(max(shifted, 0.0), state.quantity)

    def decide(self, state: AlgoState, taken: float | None = None) -> TickPlan:
        """This tick's decisions on newly scored dips (at most one per dip). A plan with a take
        pauses the tick there: the runner sends it and calls back with `taken`, what it sent (the
        tick goes on from the paused decision with the state it began with)."""
        tick = self._observe(state) if taken is None else self._paused
        if tick is None:
            raise RuntimeError("decide(taken=...) called with no take of this tick in flight")
        self._paused = None
        try:
            take: AimedTake | None = next(tick) if taken is None else tick.send(taken)
            self._paused = tick
        except StopIteration:
            take = None
        decided, self._decided = tuple(self._decided), []
        return TickPlan(take, decided)

    def _observe(self, state: AlgoState) -> Generator[AimedTake, float, None]:
        """Read newly scored dips on our venues and decide; yields each take and is sent what it sent."""
        if self.signals is None:
            return
        now = self.now()
        cfg = self.config
        self._update_holds(state, now)
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
        taken_by = ""  # the venue whose move a take sent children for in this tick (one take per tick)
        for dip in fresh:
            venue = dip.venue
            same = next(
                (a for a in self._acted if a[0] == dip.direction and abs(a[1] - dip.onset_ts) <= cfg.same_move_s), None
            )
            if same is not None:  # one market-wide move, seen on several venues: act once
                aimed = self._aimed.get(same[:2])
                if aimed is not None and _excursion(dip) > aimed.excursion_bps:
                    # it went further here: the tilt (if any) and the hold now follow this venue
                    aimed.venue = venue if aimed.venue else ""
                    aimed.excursion_bps, aimed.extreme, aimed.dip = _excursion(dip), _extreme(dip), dip
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
            low = _extreme(dip)
            can_take = action == "lean in" and cfg.lean_take > 0 and math.isfinite(dip.pre_mid)
            if can_take and taken_by:
                # the take walks every venue of the parent and its children are still on their way:
                # another take now would send the same children again (the risk gate's duplicate rule)
                reason += f"; no take: the book was just taken for the move on {taken_by}"
                qty = (1.0 - cfg.lean_take) * qty
            elif can_take:
                wanted = cfg.lean_take * qty * state.quantity
                cap = dip.pre_mid + cfg.take_depth * (low - dip.pre_mid)  # keep that share of the move as discount
                sent = yield AimedTake(venue, wanted, cap)
                better = "below" if self.side_sign > 0 else "above"
                reason += (f"; took {sent:.4g} of {wanted:.4g} {better} {cap:.2f} "
                           f"({cfg.take_depth:.0%} of the move from the pre-{move} mid {dip.pre_mid:.2f})")
                qty = (1.0 - cfg.lean_take) * qty + (sent / state.quantity if state.quantity > 0 else 0.0)
                taken_by = venue if sent > 0 else ""  # nothing sent, nothing on its way: the next may take
            held = self.venue_mid is not None and math.isfinite(dip.pre_mid) and cfg.max_hold_s > 0
            shift = _Shift(
                state.elapsed_s, qty, venue if tilt != 1.0 else "", tilt, _excursion(dip),
                informed=action == "trade ahead", extreme=low, extreme_s=state.elapsed_s,
                release_s=None if held else state.elapsed_s, decay_s=cfg.window_s, dip=dip,
            )
            if held:
                reason += ", held while the move lasts"
            self._shifts.append(shift)
            self._acted.append((dip.direction, dip.onset_ts, venue))
            self._aimed[(dip.direction, dip.onset_ts)] = shift
            self._record(state, now, action, reason, qty * state.quantity, dip)
        self._shifts = [
            s for s in self._shifts if s.release_s is None or state.elapsed_s - s.release_s < s.decay_s
        ]

    def _update_holds(self, state: AlgoState, now: float) -> None:
        """End the hold of each shift whose move is over (see the module docstring); say so."""
        cfg = self.config
        if self.venue_mid is None:
            return
        for s in self._shifts:
            if s.release_s is not None or s.dip is None:  # a shift without a dip is never held
                continue
            dip, sign = s.dip, s.dip.direction
            mid = self.venue_mid(dip.venue)
            if math.isfinite(mid) and sign * (mid - s.extreme) > 0:
                s.extreme, s.extreme_s = mid, state.elapsed_s
            held_for = state.elapsed_s - s.start_s
            excursion = sign * (s.extreme - dip.pre_mid)
            why = ""
            if s.informed and state.elapsed_s - s.extreme_s >= cfg.release_quiet_s:
                why = f"no new {'low' if sign < 0 else 'high'} on {dip.venue} for {cfg.release_quiet_s:.0f} s"
            elif (
                not s.informed and math.isfinite(mid) and excursion > 0
                and sign * (s.extreme - mid) >= cfg.release_recovery * excursion
            ):
                back = sign * (s.extreme - mid) / excursion
                why = f"{dip.venue} recovered {back:.0%} of the move"
            elif held_for >= cfg.max_hold_s:
                why = f"held {cfg.max_hold_s:.0f} s (the longest hold)"
            if why:
                s.release_s = state.elapsed_s
                # a transient response is given back over the window; an informed move's news stays,
                # so being ahead is kept and the rest is re-spread over the time left (as an AC re-plan)
                s.decay_s = max(state.horizon_s - state.elapsed_s, cfg.window_s) if s.informed else cfg.window_s
                verb = "giving back" if s.qty > 0 else "catching up"
                then = "nothing to give back"
                if s.qty:
                    then = f"{verb} {abs(s.qty) * state.quantity:.4g} over {s.decay_s:.0f} s"
                reason = f"move over ({why}): {then}"
                self._record(state, now, "release", reason, 0.0, dip, window_s=s.decay_s)

    def _record(
        self, state: AlgoState, now: float, action: str, reason: str, shift_qty: float, dip: Dip,
        window_s: float | None = None,
    ) -> None:
        """One decision (or a release: `window_s` is then its decay), handed over with the tick's plan."""
        self._decided.append(
            PolicyDecision(
                time_s=round(state.elapsed_s, 3),
                ts=now,
                action=action,
                shift_qty=round(shift_qty, 8),
                reason=reason,
                venue=dip.venue,
                p_transient=round(dip.p_transient, 4),
                window_s=round(window_s, 3) if window_s is not None else self.config.window_s,
            )
        )


def _extreme(dip: Dip) -> float:
    """The furthest mid the move reached on its venue by the time it was scored."""
    return dip.pre_mid * (1.0 + dip.direction * _excursion(dip) * 1e-4)


def _excursion(dip: Dip) -> float:
    """How far the move went on its venue (bps, the classifier's `drop_bps`); 0 when not measured."""
    x = dip.features.get("drop_bps", 0.0)
    return float(x) if math.isfinite(x) else 0.0
