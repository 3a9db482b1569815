"""Who did it: every command carries an actor so permissions and the audit trail live in core."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.Enum):
    TRADER = "trader"
    SUPERVISOR = "supervisor"
    SYSTEM = "system"  # the engine itself: algo timers, circuit breakers, reconciliation


@dataclass(frozen=True, slots=True)
class Actor:
    user: str
    role: Role

    def __str__(self) -> str:
        return f"{self.user}({self.role.value})"

    @classmethod
    def parse(cls, text: str) -> Actor:
        """Inverse of `str()`: 'alice(supervisor)'."""
        user, _, rest = text.partition("(")
        return cls(user, Role(rest.rstrip(")"))) if rest else cls(user, Role.TRADER)


SYSTEM = Actor("engine", Role.SYSTEM)


class PermissionDenied(PermissionError):
    """A command the actor's role does not allow; raised in core whatever the command's source."""


def require_supervisor(actor: Actor, action: str) -> None:
    if actor.role is not Role.SUPERVISOR:
        raise PermissionDenied(f"{action} requires the supervisor role; {actor} is not a supervisor")
