"""Who is acting in this terminal: the logged-in actor, or nobody (view only).

One `Session` is shared by the parts of the bridge that act or journal on someone's behalf (the
commands, the exit flow, alert acknowledgements). Permissions are core's to check: the
supervisor's commands (kill switch and its reset, limits) go to core as `VIEW_ONLY`, a trader,
when nobody is logged in, so core refuses them with its own reason; the trader's commands ask the
user to log in first; an acknowledgement or an exit is journaled as `VIEW_ONLY`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.actors import Actor, Role

VIEW_ONLY = Actor("view-only", Role.TRADER)


@dataclass
class Session:
    actor: Actor | None = None

    @property
    def is_supervisor(self) -> bool:
        return self.actor is not None and self.actor.role is Role.SUPERVISOR

    def acting(self) -> Actor:
        """The actor to hand to core: the logged-in one, else `VIEW_ONLY`."""
        return self.actor or VIEW_ONLY
