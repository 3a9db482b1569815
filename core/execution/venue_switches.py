"""Which venues routing skips, and who holds each one off.

A venue is off while anyone holds it off: "automatic" (a circuit breaker, the SYSTEM actor) and/or
the users who switched it off by hand. A breaker's automatic reset lifts only its own hold, so a
venue a user switched off stays off until a user switches it on again; a user switching on a
venue a breaker still excludes lifts only the users' holds. Invariant: a venue is in `disabled`
exactly when its set of holds is non-empty. Restored from the journal's `venue.routing` records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.actors import Actor, Role
from core.records import VenueRouting as VenueRoutingRecord

AUTOMATIC = "automatic"  # the hold a circuit breaker (the SYSTEM actor) puts on a venue


@dataclass(slots=True)
class VenueSwitches:
    """Venue on/off switches with their holders (state only: the service journals and cancels)."""

    disabled: set[str] = field(default_factory=set)
    holds: dict[str, set[str]] = field(default_factory=dict)  # venue → who holds it off

    def switch(self, venue: str, enabled: bool, actor: Actor) -> set[str]:
        """Apply `actor`'s request to switch `venue` on or off; returns who holds it off after."""
        holds = self.holds.setdefault(venue, set())
        if enabled:
            if actor.role is Role.SYSTEM:
                holds.discard(AUTOMATIC)
            else:
                holds.difference_update({h for h in holds if h != AUTOMATIC})
        else:
            holds.add(AUTOMATIC if actor.role is Role.SYSTEM else actor.user)
        self._update(venue)
        return holds

    def apply(self, rec: VenueRoutingRecord) -> None:
        """Restore a journaled switch: the holds it left on the venue."""
        self.holds[rec.venue] = set(rec.held_by)
        self._update(rec.venue)

    def _update(self, venue: str) -> None:
        (self.disabled.add if self.holds[venue] else self.disabled.discard)(venue)
