"""How a parent behaved around the market's events, judged from the simulator's evaluation log.

Issue 9 asks, per seed and paired against AC on the same market (common random numbers):

* a **transient move in our favour** (a flush that dips the price for a buyer, spikes it for a
  seller): the adaptive parent trades *more* on the moved venue while the move lasts, and trades
  more at prices better than the pre-move mid;
* a **transient move against us** (a dip for a seller, a spike for a buyer): it trades *less* on
  that venue while the move lasts, and its average price over [move start, recovery end + 15 min]
  beats AC's (a higher sale VWAP, a lower purchase VWAP);
* an **informed move against us**: it trades faster than AC once the move has started;
* a **spoofing phase**: it sends less of its volume to the spoofed venue.

This module measures one run (`run_event_metrics`) and judges a pair (`judge_pair`); the
ground truth (event kinds, venues, times, the pre-move mid) comes from the evaluation log,
which no algo ever reads. `sign_test_p` is the one-sided sign test the issue's "15 of 20"
stands for (p = P(X ≥ k) for X ~ Binomial(n, 1/2); 15 of 20 gives 0.021, 14 of 20 0.058).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

RECOVERY_TAIL_S = 900.0  # the "recovery end + 15 min"
INFORMED_AFTER_S = 300.0  # "trades faster after detection": fills from the move's start to 5 min past its end


@dataclass(frozen=True, slots=True)
class EventFill:
    t_s: float  # scenario seconds
    venue: str
    qty: float
    price: float


@dataclass(frozen=True, slots=True)
class MarketEvent:
    kind: str  # flush | informed | spoof
    venue: str
    start_s: float
    end_s: float
    direction: int  # +1 the price is pushed up, −1 down (flush, informed); 0 for spoofing
    recovery_s: float = 0.0


def classify(event: MarketEvent, side_sign: int) -> str:
    """The behaviour class of an event for a parent of this side."""
    if event.kind == "flush":
        return "transient_favourable" if event.direction == -side_sign else "transient_against"
    if event.kind == "informed":
        return "informed_against" if event.direction == side_sign else "informed_favourable"
    return event.kind


def run_event_metrics(
    events: Sequence[MarketEvent],
    fills: Sequence[EventFill],
    side_sign: int,
    active: tuple[float, float],
    mid_at: Callable[[str, float], float],
) -> list[dict[str, Any]]:
    """One record per event that overlaps the parent's window [start, start + horizon] (scenario
    s: the same window for every arm on a seed, so paired runs list the same events).

    `mid_at(venue, t_s)` is the venue's mid from the evaluation log. Prices compare with
    `side_sign`: a buyer (+1) does better lower, a seller (−1) higher."""
    out: list[dict[str, Any]] = []
    t0, t1 = active
    for ev in events:
        if ev.kind not in ("flush", "informed", "spoof") or ev.end_s < t0 or ev.start_s > t1:
            continue
        rec: dict[str, Any] = {
            "kind": ev.kind,
            "class": classify(ev, side_sign),
            "venue": ev.venue,
            "start_s": round(ev.start_s, 3),
            "end_s": round(ev.end_s, 3),
            "direction": ev.direction,
        }
        during = [f for f in fills if ev.start_s <= f.t_s <= ev.end_s]
        if ev.kind == "flush":
            pre_mid = mid_at(ev.venue, ev.start_s)
            window_end = ev.end_s + ev.recovery_s + RECOVERY_TAIL_S
            window = [f for f in fills if ev.start_s <= f.t_s <= window_end]
            qty = sum(f.qty for f in window)
            rec["pre_mid"] = round(pre_mid, 2)
            rec["venue_qty_during"] = _rounded(sum(f.qty for f in during if f.venue == ev.venue))
            rec["qty_better_than_pre_mid"] = _rounded(
                sum(f.qty for f in window if side_sign * (f.price - pre_mid) < 0)
            )
            rec["window_qty"] = _rounded(qty)
            rec["window_vwap"] = round(sum(f.qty * f.price for f in window) / qty, 4) if qty > 0 else None
        elif ev.kind == "informed":
            after = [f for f in fills if ev.start_s <= f.t_s <= ev.end_s + INFORMED_AFTER_S]
            rec["qty_after_start"] = _rounded(sum(f.qty for f in after))
        else:
            total = sum(f.qty for f in during)
            on_venue = sum(f.qty for f in during if f.venue == ev.venue)
            rec["qty_during"] = _rounded(total)
            rec["venue_share"] = round(on_venue / total, 6) if total > 0 else None
        out.append(rec)
    return out


def judge_pair(adaptive: dict[str, Any], ac: dict[str, Any], side_sign: int) -> bool | None:
    """Did the adaptive run behave as issue 9 asks on this event, against AC's run on the same
    seed? None when the event class is not judged or the runs give nothing to judge."""
    cls = adaptive["class"]
    if cls == "transient_favourable":
        return bool(
            adaptive["venue_qty_during"] > ac["venue_qty_during"]
            and adaptive["qty_better_than_pre_mid"] > ac["qty_better_than_pre_mid"]
        )
    if cls == "transient_against":
        if adaptive["window_vwap"] is None or ac["window_vwap"] is None:
            return None
        better = side_sign * (adaptive["window_vwap"] - ac["window_vwap"]) < 0
        return bool(adaptive["venue_qty_during"] < ac["venue_qty_during"] and better)
    if cls == "informed_against":
        return bool(adaptive["qty_after_start"] > ac["qty_after_start"])
    if cls == "spoof":
        if adaptive["venue_share"] is None or ac["venue_share"] is None:
            return None
        return bool(adaptive["venue_share"] < ac["venue_share"])
    return None


JUDGED = ("transient_favourable", "transient_against", "informed_against", "spoof")


def behaviour_summary(
    adaptive_runs: dict[int, dict[str, Any]], ac_runs: dict[int, dict[str, Any]], seeds: Sequence[int]
) -> dict[str, dict[str, Any]]:
    """Per judged class: seeds with such an event, passes (every such event of the seed judged a
    pass), and the one-sided sign-test p-value. Runs carry `side` and `events` (simulate's JSON)."""
    out: dict[str, dict[str, Any]] = {}
    for cls in JUDGED:
        n = passed = 0
        per_seed: dict[str, bool] = {}
        for s in seeds:
            a, c = adaptive_runs.get(s), ac_runs.get(s)
            if a is None or c is None:
                continue
            side_sign = 1 if a["side"] == "buy" else -1
            theirs = {(e["kind"], e["venue"], e["start_s"]): e for e in c["events"]}
            verdicts = [
                judge_pair(ea, theirs[key], side_sign)
                for ea in a["events"]
                if ea["class"] == cls and (key := (ea["kind"], ea["venue"], ea["start_s"])) in theirs
            ]
            verdicts = [v for v in verdicts if v is not None]
            if not verdicts:
                continue
            n += 1
            ok = all(verdicts)
            passed += ok
            per_seed[str(s)] = ok
        out[cls] = {"seeds": n, "passed": passed, "sign_test_p": sign_test_p(passed, n), "per_seed": per_seed}
    return out


def sign_test_p(k: int, n: int) -> float | None:
    """One-sided sign test: P(X ≥ k) for X ~ Binomial(n, 1/2); None without seeds."""
    if n == 0:
        return None
    return round(sum(math.comb(n, i) for i in range(k, n + 1)) / 2.0**n, 6)


def _rounded(x: float) -> float:
    return round(x, 8)
