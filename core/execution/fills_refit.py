"""Refit the adaptive policy from our own fills (issue 9: "refit from our fills").

Input: what `python main.py export` writes — our exchange fills (parent, time, side, price,
quantity) and the adaptive policy's journaled decisions (`algo.decision`: time, action, signed
shift, P(transient), window). No market data is needed: an export has none.

1. **Markout of a fill**, from fills alone: the reference is the quantity-weighted price of the
   same parent's fills within ±`reference_window_s`/2 of t + `markout_s` (our own later
   executions, same side, so the half-spread cancels on average). In bps of the fill price,
   signed so that **positive = trading at t beat trading `markout_s` later** (a seller sold
   before the price fell, a buyer bought before it rose):
       gain_bps = side · (p_ref − p_fill) / p_fill · 1e4,  side +1 buy, −1 sell.
   (The sign is the opposite of surveillance's adverse-selection markout, where + = picked off.)
   A fill with no reference (too near the parent's end) is counted as skipped.
2. **Attribution**: a fill belongs to the latest *acting* decision (lean in, hold back, trade
   ahead) of its parent whose window [t_d, t_d + window_s) contains it; otherwise to the AC path.
3. **Edge of a decision**: sign(shift) · (its fills' mean gain − the parent's AC-path mean gain
   (all parents' when the parent has none)). A decision that traded ahead (shift > 0) earned
   when trading then beat the AC path's timing; one that held back (shift < 0) earned when it
   did not. Decisions are the units (a decision's fills are not independent), so per type:
   n, mean edge, its standard error.
4. **Rule** (min_decisions = k): `lean_frac` is judged on the transient decisions (lean in and
   hold back pooled), `informed_frac` on trade ahead. With n ≥ k and mean edge ≤ 0 (no gain)
   the fraction is multiplied by `shrink` (½); otherwise kept. **Confidence calibration**: the
   acted-on decisions are split by certainty (P(transient) for transient moves, 1 − P for
   informed ones) at the midpoint of [confidence, 1]; when the less certain half has n ≥ k and
   mean edge ≤ 0, confidence is raised to that midpoint (at most `max_confidence`). Nothing is
   ever raised by fills alone: a larger fraction or a lower threshold must earn it in the
   simulator fit (`train`), where the counterfactual AC run exists.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from typing import Any

from core.execution.adaptive import AdaptiveConfig

ACTING = ("lean in", "hold back", "trade ahead")
AC_PATH = "ac path"


@dataclass(frozen=True, slots=True)
class FillRow:
    parent_id: str
    ts: float  # epoch seconds
    side: int  # +1 buy, −1 sell
    price: float
    qty: float


@dataclass(frozen=True, slots=True)
class DecisionRow:
    parent_id: str
    ts: float
    action: str
    shift_qty: float  # signed: + ahead of the AC target
    p_transient: float
    window_s: float  # a release: the decay that follows it
    venue: str = ""  # the moved venue the decision (or release) is about


@dataclass(frozen=True, slots=True)
class RefitRule:
    markout_s: float = 300.0  # the default decision window: did trading then beat trading 5 min later
    reference_window_s: float = 60.0  # our fills within ±30 s of t + markout_s set the reference price
    min_decisions: int = 10  # k: decisions a type needs before the rule judges it
    shrink: float = 0.5  # a fraction with no gain is multiplied by this
    max_confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.markout_s <= 0 or self.reference_window_s <= 0:
            raise ValueError("markout and reference window must be positive seconds, e.g. --markout 5m")
        if self.min_decisions < 1:
            raise ValueError(f"--min-decisions must be at least 1, got {self.min_decisions}")
        if not 0 <= self.shrink < 1:
            raise ValueError(f"shrink must be in [0, 1), got {self.shrink}")


def refit_from_fills(
    fills: list[FillRow], decisions: list[DecisionRow], config: AdaptiveConfig, rule: RefitRule
) -> dict[str, Any]:
    """Markouts per decision type, the edge of each decision, and the adjusted parameters."""
    if not fills:
        raise ValueError("no fills to refit from: export a journal with fills of adaptive (or ac) parents")
    gains, skipped = fill_gains(fills, rule)
    owner = attribute(fills, decisions)
    per_type = _per_type_markouts(fills, gains, owner, decisions)
    edges = decision_edges(fills, gains, owner, decisions)
    types = {
        action: {**per_type.get(action, _empty_markout()), **_edge_stats([e for a, _, e in edges if a == action])}
        for action in ACTING
    }
    transient = [e for a, _, e in edges if a in ("lean in", "hold back")]
    informed = [e for a, _, e in edges if a == "trade ahead"]
    new, changes = config, []
    for key, sample, label in (
        ("lean_frac", transient, "lean in + hold back"),
        ("informed_frac", informed, "trade ahead"),
    ):
        stats = _edge_stats(sample)
        if stats["decisions"] >= rule.min_decisions and stats["edge_bps_mean"] <= 0:
            old = float(getattr(new, key))
            new = replace(new, **{key: round(old * rule.shrink, 6)})
            changes.append(
                f"{key} {old:g} → {getattr(new, key):g}: {label} shows no gain "
                f"(mean edge {stats['edge_bps_mean']:.2f} bps over {stats['decisions']} decisions)"
            )
    calibration = confidence_calibration(edges, config.confidence, rule)
    if calibration["raise_to"] is not None:
        changes.append(
            f"confidence {config.confidence:g} → {calibration['raise_to']:g}: the less certain half "
            f"shows no gain ({calibration['low']['edge_bps_mean']:.2f} bps over "
            f"{calibration['low']['decisions']} decisions)"
        )
        new = replace(new, confidence=calibration["raise_to"])
    return {
        "fills": len(fills),
        "fills_without_reference": skipped,
        "decisions": len(decisions),
        "acting_decisions": sum(1 for d in decisions if d.action in ACTING),
        "rule": asdict(rule),
        "decision_types": {**types, AC_PATH: per_type.get(AC_PATH, _empty_markout())},
        "confidence_calibration": calibration,
        "parameters_before": asdict(config),
        "parameters_after": asdict(new),
        "changes": changes or ["none: no decision type had enough decisions showing no gain"],
    }


def fill_gains(fills: list[FillRow], rule: RefitRule) -> tuple[list[float | None], int]:
    """gain_bps per fill (None without a reference) and how many had none."""
    by_parent: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(fills):
        by_parent[f.parent_id].append(i)
    gains: list[float | None] = [None] * len(fills)
    half = rule.reference_window_s / 2
    for idx in by_parent.values():
        idx.sort(key=lambda i: fills[i].ts)
        times = [fills[i].ts for i in idx]
        for i in idx:
            f = fills[i]
            lo = bisect_left(times, f.ts + rule.markout_s - half)
            hi = bisect_right(times, f.ts + rule.markout_s + half)
            ref = [fills[j] for j in idx[lo:hi]]
            qty = sum(r.qty for r in ref)
            if qty > 0:
                p_ref = sum(r.price * r.qty for r in ref) / qty
                gains[i] = f.side * (p_ref - f.price) / f.price * 1e4
    return gains, sum(1 for g in gains if g is None)


def attribute(fills: list[FillRow], decisions: list[DecisionRow]) -> list[int | None]:
    """Per fill, the index of the acting decision whose span holds it (the latest), or None. A
    decision's span is [its time, its time + window_s), or, when a `release` of its hold follows
    (same parent and venue), [its time, the release + the release's decay)."""
    acting: dict[str, list[tuple[float, int]]] = defaultdict(list)
    end: dict[int, float] = {}
    for k, d in enumerate(decisions):
        if d.action in ACTING:
            acting[d.parent_id].append((d.ts, k))
            end[k] = d.ts + d.window_s
    for lst in acting.values():
        lst.sort()
    released: set[int] = set()
    for r in sorted((d for d in decisions if d.action == "release"), key=lambda d: d.ts):
        held = [k for ts, k in acting.get(r.parent_id, []) if ts <= r.ts and k not in released
                and decisions[k].venue == r.venue]
        if held:
            released.add(held[0])
            end[held[0]] = r.ts + r.window_s
    owner: list[int | None] = []
    for f in fills:
        found = None
        for ts, k in reversed(acting.get(f.parent_id, [])):
            if ts <= f.ts < end[k]:
                found = k
                break
        owner.append(found)
    return owner


def decision_edges(
    fills: list[FillRow], gains: list[float | None], owner: list[int | None], decisions: list[DecisionRow]
) -> list[tuple[str, float, float]]:
    """(action, certainty, edge_bps) per acting decision with at least one fill that has a markout."""
    ac_parent: dict[str, list[tuple[float, float]]] = defaultdict(list)
    per_decision: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for f, g, k in zip(fills, gains, owner, strict=True):
        if g is None:
            continue
        (ac_parent[f.parent_id] if k is None else per_decision[k]).append((g, f.qty))
    pooled = [x for lst in ac_parent.values() for x in lst]
    out = []
    for k, sample in sorted(per_decision.items()):
        d = decisions[k]
        base = ac_parent.get(d.parent_id) or pooled
        if not base:
            continue
        edge = math.copysign(1.0, d.shift_qty) * (_weighted_mean(sample) - _weighted_mean(base))
        certainty = d.p_transient if d.action != "trade ahead" else 1.0 - d.p_transient
        out.append((d.action, certainty, edge))
    return out


def confidence_calibration(edges: list[tuple[str, float, float]], confidence: float, rule: RefitRule) -> dict[str, Any]:
    """Edge of the less and more certain halves of the acted-on decisions (see the rule)."""
    mid = round((confidence + 1.0) / 2, 4)
    low = _edge_stats([e for _, c, e in edges if c < mid])
    high = _edge_stats([e for _, c, e in edges if c >= mid])
    raise_to = None
    if low["decisions"] >= rule.min_decisions and low["edge_bps_mean"] <= 0:
        raise_to = min(round(mid, 2), rule.max_confidence)
        if raise_to <= confidence:
            raise_to = None
    return {"split_at": mid, "low": low, "high": high, "raise_to": raise_to}


def _per_type_markouts(
    fills: list[FillRow], gains: list[float | None], owner: list[int | None], decisions: list[DecisionRow]
) -> dict[str, dict[str, Any]]:
    """Fill counts and the quantity-weighted mean gain per decision type and on the AC path."""
    out: dict[str, dict[str, Any]] = {}
    for f, g, k in zip(fills, gains, owner, strict=True):
        group = AC_PATH if k is None else decisions[k].action
        row = out.setdefault(group, {**_empty_markout(), "_sum": 0.0, "_qty": 0.0})
        row["fills"] += 1
        row["qty"] += f.qty
        if g is not None:
            row["fills_with_markout"] += 1
            row["_sum"] += g * f.qty
            row["_qty"] += f.qty
    for row in out.values():
        total, qty = row.pop("_sum"), row.pop("_qty")
        row["gain_bps_mean"] = total / qty if qty > 0 else math.nan
    return out


def _weighted_mean(sample: list[tuple[float, float]]) -> float:
    qty = sum(q for _, q in sample)
    return sum(g * q for g, q in sample) / qty


def _edge_stats(edges: list[float]) -> dict[str, Any]:
    n = len(edges)
    mean = sum(edges) / n if n else math.nan
    sd = math.sqrt(sum((e - mean) ** 2 for e in edges) / (n - 1)) if n > 1 else math.nan
    return {"decisions": n, "edge_bps_mean": mean, "edge_bps_se": sd / math.sqrt(n) if n > 1 else math.nan}


def _empty_markout() -> dict[str, Any]:
    return {"fills": 0, "fills_with_markout": 0, "qty": 0.0, "gain_bps_mean": math.nan}
