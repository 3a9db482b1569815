"""Desk state → the rows and text of the panels that show it as it is now (not as a stream of
events): child orders, balances per venue and pending OTC settlement, the risk summary, the tripped
circuit breakers. Pure functions of the desk's objects; the fold (app/viewmodels_fold.py) and the
commands (app/commands_ui.py) call them when they push."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from app.panels import OTC_LABEL, BalanceRow
from core.events import TradingState
from core.oms import OrderManager
from core.orders import ChildOrder
from core.ports import Venue
from core.risk.breakers import Breakers
from core.risk.gate import RiskGate
from widgets import theme
from widgets.viewmodels import BreakerRow, ChildRow


def child_row(c: ChildOrder) -> ChildRow:
    return ChildRow(
        client_id=c.client_id, parent_id=c.parent_id, venue_order_id=c.venue_order_id, venue=c.venue, side=c.side,
        price=float(c.price) if c.price is not None else math.nan, qty=float(c.quantity), filled=float(c.filled),
        status=c.status, tif=c.tif, created_ts=c.created_ts,
        ack_latency_ms=(c.ack_ts - c.created_ts) * 1000.0 if c.ack_ts is not None else math.nan,
        reject_reason=c.reject_reason, fee=float(c.fees_quote),
    )


def balance_rows(oms: OrderManager, venues: Mapping[str, Venue]) -> list[BalanceRow]:
    """Each venue's balances, then what OTC fills not yet settled will add (+) or take (−) per asset."""
    pending: dict[str, float] = {}
    for pid, fills in oms.otc_fills.items():
        parent = oms.parents.get(pid)
        if parent is None:
            continue
        for f in fills:
            if f.get("settlement", "pending") != "pending":
                continue
            q, px = float(f["quantity"]), float(f["price"])
            pending[parent.instrument.base] = pending.get(parent.instrument.base, 0.0) + parent.side.sign * q
            pending[parent.instrument.quote] = pending.get(parent.instrument.quote, 0.0) - parent.side.sign * q * px
    rows = []
    for name, venue in venues.items():
        for asset, bal in venue.balances().items():
            rows.append(BalanceRow(name, asset, float(bal.total), float(bal.available), float(bal.locked), 0.0))
    for asset, qty in pending.items():
        rows.append(BalanceRow(OTC_LABEL, asset, 0.0, 0.0, 0.0, qty))
    return rows


def risk_text(risk: RiskGate, last_kill: Mapping[str, int]) -> str:
    """The risk panel's summary (rich text): trading state per scope, the kill switch with what its
    last press canceled (`last_kill`: venue → orders), the rate budget's queue, the latest events."""
    states = dict(risk.states) or {"global": TradingState.ACTIVE}
    lines = []
    for scope, state in sorted(states.items()):
        color = {TradingState.ACTIVE: theme.GREEN, TradingState.REDUCING: theme.AMBER}.get(state, theme.DANGER)
        lines.append(f"<b>{scope}</b>: <span style='color:{color}; font-weight:800'>{state.value.upper()}</span>")
    if risk.killed:
        lines.append(f"<span style='color:{theme.DANGER}; font-weight:800'>Kill switch engaged</span>"
                     + (f" — canceled {sum(last_kill.values())} orders" if last_kill else ""))
    lines.append(f"Orders queued for the rate budget: {risk.queued()}")
    events = risk.events[-6:]
    if events:
        lines.append("<br><b>Latest risk events</b>")
        for e in reversed(events):
            lines.append(f"{hms(e.ts)} {e.rule}: {e.action} — {e.detail}")
    else:
        lines.append("No risk events.")
    return "<br>".join(lines)


def breaker_rows(breakers: Breakers | None) -> list[BreakerRow]:
    if breakers is None:
        return []
    return [BreakerRow(t.key, t.rule, t.target, t.action, t.since, t.detail, t.reset_by)
            for t in breakers.tripped_breakers()]


def hms(ts: Any) -> str:
    """UTC time of day of epoch seconds `ts`, or dashes when it is not a time."""
    try:
        return time.strftime("%H:%M:%S", time.gmtime(float(ts)))
    except (TypeError, ValueError):
        return "--:--:--"
