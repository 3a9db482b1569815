"""The kill switch that works when the terminal cannot: `python main.py kill`.

With the same venue settings and keys as the terminal, it calls each venue's cancel-all for every
symbol, then asks each venue for open orders and cancels anything left one by one, and writes
HALTED to the journal so a terminal that restarts comes up halted. Supervisor only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.actors import Actor, require_supervisor
from core.ports import Journal, Venue


@dataclass(slots=True)
class KillReport:
    venues: list[str] = field(default_factory=list)
    cancel_all_sent: int = 0
    canceled_one_by_one: int = 0
    left_open: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not any(self.left_open.values())


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
    for venue in venues.values():
        for symbol in symbols:
            venue.cancel_all(symbol)
            report.cancel_all_sent += 1
    settle()
    for venue in venues.values():
        for symbol in symbols:
            for order in venue.open_orders(symbol):
                venue.cancel_by_id(symbol, order.client_id, order.venue_order_id)
                report.canceled_one_by_one += 1
    settle()
    for name, venue in venues.items():
        report.left_open[name] = sum(len(venue.open_orders(s)) for s in symbols)
    journal.append("risk.kill_report", {"venues": report.venues, "left_open": report.left_open}, str(actor), now())
    return report
