"""The kill switch that works when the terminal cannot: `python main.py kill`.

With the same venue settings and keys as the terminal, it calls each venue's cancel-all for every
symbol, then asks each venue for open orders and cancels anything left one by one, and writes
HALTED to the journal so a terminal that restarts comes up halted. Supervisor only.

A venue that fails (unreachable, keys missing, an error answer) is reported and the others are
still swept: one dead exchange must not leave orders working on the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from core.actors import Actor, require_supervisor
from core.ports import Journal, Venue


@dataclass(slots=True)
class KillReport:
    venues: list[str] = field(default_factory=list)
    cancel_all_sent: int = 0
    canceled_one_by_one: int = 0
    left_open: dict[str, int] = field(default_factory=dict)  # -1: unknown (the venue could not be asked)
    errors: dict[str, list[str]] = field(default_factory=dict)  # per venue: what failed

    @property
    def clean(self) -> bool:
        return not self.errors and not any(self.left_open.values())

    def failed(self, venue: str, step: str, exc: Exception) -> None:
        # no query strings: a signed request's URL carries its signature
        detail = re.sub(r"\?\S*", "?…", f"{type(exc).__name__}: {exc}")[:300]
        self.errors.setdefault(venue, []).append(f"{step}: {detail}")


def standalone_kill(
    venues: dict[str, Venue],
    symbols: list[str],
    journal: Journal,
    actor: Actor,
    now: Callable[[], float],
    settle: Callable[[], None] = lambda: None,
    reason: str = "standalone kill",
) -> KillReport:
    """Cancel everything everywhere and journal HALTED. `settle` lets venue replies arrive
    (e.g. runs the event loop or the simulated clock for a round trip)."""
    require_supervisor(actor, "the kill switch")
    journal.append("risk.kill", {"reason": reason, "purged": 0, "standalone": True}, str(actor), now())
    report = KillReport(venues=sorted(venues))
    for name, venue in venues.items():
        for symbol in symbols:
            try:
                venue.cancel_all(symbol)
                report.cancel_all_sent += 1
            except Exception as exc:  # this venue is reported; the others are still swept
                report.failed(name, f"cancel-all {symbol}", exc)
    settle()
    for name, venue in venues.items():
        for symbol in symbols:
            try:
                for order in venue.open_orders(symbol):
                    venue.cancel_by_id(symbol, order.client_id, order.venue_order_id)
                    report.canceled_one_by_one += 1
            except Exception as exc:
                report.failed(name, f"cancel one by one {symbol}", exc)
    settle()
    for name, venue in venues.items():
        try:
            report.left_open[name] = sum(len(venue.open_orders(s)) for s in symbols)
        except Exception as exc:
            report.left_open[name] = -1
            report.failed(name, "count open orders", exc)
    journal.append(
        "risk.kill_report",
        {"venues": report.venues, "left_open": report.left_open, "errors": report.errors},
        str(actor),
        now(),
    )
    return report
