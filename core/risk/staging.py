"""Limits and compliance at staging, four-eyes approval, daily counters.

Supervisor-owned hard limits per trader, per account and per instrument (max quantity and max
notional of one parent, max notional per trading day); a restricted-instrument list; venues and
OTC desks allowed per account. A parent may only tighten them (its own max slippage and schedule
deviation). Every refusal names the list or limit that blocked it. A parent whose notional is
above the four-eyes threshold waits in PENDING_APPROVAL until a *different* user with the
supervisor role approves it. Daily counters roll over at the trading-day boundary (a setting,
default 00:00 UTC).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.actors import Actor, PermissionDenied, require_supervisor
from core.parent import ParentOrder
from core.risk.rules import RiskLimits


class StagingRefused(ValueError):
    """A parent that the limits or the compliance lists do not allow; says which and why."""


@dataclass(slots=True)
class Limit:
    max_qty: float = math.inf
    max_notional: float = math.inf
    max_daily_notional: float = math.inf


@dataclass(slots=True)
class StagingPolicy:
    per_trader: dict[str, Limit] = field(default_factory=dict)
    per_account: dict[str, Limit] = field(default_factory=dict)
    per_instrument: dict[str, Limit] = field(default_factory=dict)
    restricted: set[str] = field(default_factory=set)  # instrument symbols
    account_venues: dict[str, set[str]] = field(default_factory=dict)  # account → allowed venues
    account_desks: dict[str, set[str]] = field(default_factory=dict)
    four_eyes_notional: float = 100_000_000.0
    day_boundary_s: float = 0.0  # seconds after 00:00 UTC where the trading day starts
    _day: int = -1
    _daily: dict[str, float] = field(default_factory=dict)  # "trader:x" / "account:y" / "symbol:z" → notional

    def trading_day(self, ts: float) -> int:
        return int((ts - self.day_boundary_s) // 86_400)

    def check(
        self, parent: ParentOrder, actor: Actor, mid: float, now: float, firm: RiskLimits | None = None
    ) -> bool:
        """Raise `StagingRefused` naming the blocking rule; return True when four-eyes approval is needed.

        `firm`: the risk gate's supervisor-owned limits (live-editable): `max_parent_notional` for
        any parent, `max_daily_notional` per trader and day, and `four_eyes_notional` — the
        stricter of it and this policy's own threshold applies."""
        self._roll(now)
        symbol = parent.instrument.symbol
        if symbol in self.restricted:
            raise StagingRefused(f"{symbol} is on the restricted-instrument list")
        allowed = self.account_venues.get(parent.account)
        if allowed is not None:
            bad = [v for v in parent.venues if v not in allowed] if parent.venues else []
            if bad or not parent.venues:
                raise StagingRefused(
                    f"account {parent.account} may trade only on {', '.join(sorted(allowed))}"
                    + (f"; not on {', '.join(bad)}" if bad else "; choose its venues explicitly")
                )
        desks = self.account_desks.get(parent.account)
        if desks is not None:
            bad = [d for d in parent.desks if d not in desks] if parent.desks else []
            if bad or (not parent.desks and parent.rfq_mode != "off"):
                raise StagingRefused(
                    f"account {parent.account} may ask only the desks {', '.join(sorted(desks))}"
                    + (f"; not {', '.join(bad)}" if bad else "; choose its desks or set RFQ off")
                )
        qty = float(parent.quantity)
        notional = qty * mid
        four_eyes = self.four_eyes_notional
        if firm is not None:
            if notional > firm.max_parent_notional:
                raise StagingRefused(
                    f"notional {notional:,.0f} above max_parent_notional {firm.max_parent_notional:,.0f}"
                )
            used = self._daily.get(f"trader:{actor.user}", 0.0)
            if used + notional > firm.max_daily_notional:
                raise StagingRefused(
                    f"daily notional for trader {actor.user} would reach {used + notional:,.0f} "
                    f"(max_daily_notional {firm.max_daily_notional:,.0f}; resets at the trading-day boundary)"
                )
            four_eyes = min(four_eyes, firm.four_eyes_notional)
        for scope, key, table in (
            ("trader", actor.user, self.per_trader),
            ("account", parent.account, self.per_account),
            ("instrument", symbol, self.per_instrument),
        ):
            limit = table.get(key)
            if limit is None:
                continue
            if qty > limit.max_qty:
                raise StagingRefused(f"quantity {qty:g} above the {scope} limit for {key} ({limit.max_qty:g})")
            if notional > limit.max_notional:
                raise StagingRefused(
                    f"notional {notional:,.0f} above the {scope} limit for {key} ({limit.max_notional:,.0f})"
                )
            used = self._daily.get(f"{scope}:{key}", 0.0)
            if used + notional > limit.max_daily_notional:
                raise StagingRefused(
                    f"daily notional for {scope} {key} would reach {used + notional:,.0f} "
                    f"(limit {limit.max_daily_notional:,.0f}; resets at the trading-day boundary)"
                )
        return notional > four_eyes

    def count(self, parent: ParentOrder, actor: Actor, mid: float, now: float) -> None:
        """Add a staged parent's notional to today's counters."""
        self._roll(now)
        notional = float(parent.quantity) * mid
        for key in (f"trader:{actor.user}", f"account:{parent.account}", f"instrument:{parent.instrument.symbol}"):
            self._daily[key] = self._daily.get(key, 0.0) + notional

    def _roll(self, now: float) -> None:
        day = self.trading_day(now)
        if day != self._day:
            self._day, self._daily = day, {}


def check_approval(parent: ParentOrder, approver: Actor) -> None:
    """Four eyes: a supervisor other than the parent's own trader."""
    require_supervisor(approver, f"approving parent {parent.parent_id}")
    if approver.user == parent.trader:
        raise PermissionDenied(f"{approver.user} staged {parent.parent_id} and cannot approve it (four eyes)")
