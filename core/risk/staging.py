"""Limits and compliance at staging, four-eyes approval, daily counters.

Supervisor-owned hard limits per trader, per account and per instrument (max quantity and max
notional of one parent, max notional per trading day); a restricted-instrument list; venues and
OTC desks allowed per account. A parent may only tighten them: its own max slippage vs arrival
and max deviation from schedule must be within the supervisor's caps for its trader, account and
instrument (a parent without its own gets the tightest cap). Every refusal names the list or
limit that blocked it. A parent whose notional is above the four-eyes threshold waits in
PENDING_APPROVAL until a *different* user with the supervisor role approves it. Daily counters
roll over at the trading-day boundary (a setting, default 00:00 UTC).
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
    """Supervisor-owned. The last two cap the parent's own limits (bps vs arrival; fraction of the
    parent quantity); inf = no cap."""

    max_qty: float = math.inf
    max_notional: float = math.inf
    max_daily_notional: float = math.inf
    max_slippage_bps: float = math.inf
    max_schedule_deviation: float = math.inf


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
        self.parent_own_limits(parent, actor.user, parent.max_slippage_bps, parent.max_schedule_deviation)
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
        for scope, key, table in self._scopes(parent, actor.user):
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

    def parent_own_limits(
        self, parent: ParentOrder, trader: str, slippage_bps: float | None, deviation: float | None
    ) -> tuple[float | None, float | None]:
        """The parent's own (max_slippage_bps, max_schedule_deviation) after the supervisor's caps.

        `slippage_bps`, `deviation`: the proposed values (None = none). A value above a cap for the
        trader, the parent's account or its instrument raises `StagingRefused` naming the cap; a
        missing value takes the tightest cap (None when there is none). Staging and a live override
        both go through here."""
        own: dict[str, float | None] = {"max_slippage_bps": slippage_bps, "max_schedule_deviation": deviation}
        for name, value in own.items():
            unit = " bps" if name == "max_slippage_bps" else ""
            tightest = math.inf
            for scope, key, table in self._scopes(parent, trader):
                limit = table.get(key)
                cap = math.inf if limit is None else float(getattr(limit, name))
                if value is not None and value > cap:
                    raise StagingRefused(
                        f"{name} {value:g}{unit} is looser than the {scope} cap for {key} ({cap:g}{unit}): "
                        "a parent may only tighten it"
                    )
                tightest = min(tightest, cap)
            if value is None and math.isfinite(tightest):
                own[name] = tightest
        return own["max_slippage_bps"], own["max_schedule_deviation"]

    def _scopes(self, parent: ParentOrder, trader: str) -> tuple[tuple[str, str, dict[str, Limit]], ...]:
        return (
            ("trader", trader, self.per_trader),
            ("account", parent.account, self.per_account),
            ("instrument", parent.instrument.symbol, self.per_instrument),
        )

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
