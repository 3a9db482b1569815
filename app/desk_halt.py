"""The desk-wide halt, seen from a terminal that journals elsewhere.

`python main.py kill` writes its kill to the desk journal (`journal.url`). `run` and a live
terminal trade on that journal, so they replay the kill and come up halted. The terminal on the
embedded market journals each session to its own file (a fresh market must not replay another
session's orders), so it watches the desk journal instead: it opens halted when the desk's last
kill has not been reset, and halts within a poll when a new kill is written while it runs.

A kill is engaged with the supervisor who pressed it and the reason they gave, so the window says
who halted the desk and why. A supervisor's reset of that halt in the window is written back to
the desk journal (`risk.kill_reset`), so the desk, not only this session, trades again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from adapters.store.journal import SqlJournal, journal_url
from core.actors import Actor, Role
from core.engine import Engine
from core.events import TradingState, TradingStateChanged
from core.ports import JournalRecord

log = logging.getLogger(__name__)


class DeskHaltWatch:
    """Polls the desk journal for a kill that is not reset; `poll()` engages it on `engine` once."""

    def __init__(self, journal_url: str, engine: Engine) -> None:
        self.journal_url = journal_url
        self.engine = engine
        self.seen = 0  # the seq of the last desk kill engaged here
        self.engaged = 0  # the seq of the desk kill this session is halted by (0: none)
        self._journal: SqlJournal | None = None
        engine.bus.subscribe(TradingStateChanged, self._on_state)

    def poll(self) -> JournalRecord | None:
        """Engage the desk's standing kill if there is a new one; returns it (None: nothing new)."""
        rec = self.standing_kill()
        if rec is None or rec.seq <= self.seen:
            return None
        self.seen = rec.seq
        if self.engine.risk.killed:
            return None
        who = Actor.parse(rec.actor)
        supervisor = who if who.role is Role.SUPERVISOR else Actor("kill", Role.SUPERVISOR)
        reason = str(rec.payload.get("reason", "kill switch"))
        log.warning("desk halted by %s in %s: %s", who, self.journal_url, reason)
        self.engine.kill_switch(supervisor, f"desk halted by {who} ({reason}) in {self.journal_url}")
        self.engaged = rec.seq
        return rec

    def _on_state(self, ev: TradingStateChanged) -> None:
        """A supervisor reset this session's kill: if the desk's kill is what halted it, reset the desk."""
        if ev.scope != "global" or ev.state is not TradingState.ACTIVE or not self.engaged:
            return
        standing = self.standing_kill()
        journal = self._open()
        if standing is not None and standing.seq == self.engaged and journal is not None:
            journal.append("risk.kill_reset", {"reason": f"reset in the terminal: {ev.reason}"}, ev.actor, ev.ts)
            log.warning("desk halt of %s reset by %s", self.journal_url, ev.actor)
        self.engaged = 0

    def standing_kill(self) -> JournalRecord | None:
        """The desk journal's last kill when no reset follows it (None: the desk is not halted, or
        there is no desk journal yet)."""
        journal = self._open()
        if journal is None:
            return None
        kill = journal.last_record("risk.kill")
        if kill is None:
            return None
        reset = journal.last_record("risk.kill_reset")
        return kill if reset is None or reset.seq < kill.seq else None

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def _open(self) -> SqlJournal | None:
        """The desk journal, opened once it exists (reading never creates it)."""
        if self._journal is None:
            url = journal_url(self.journal_url)
            if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
                return None
            self._journal = SqlJournal(url, durable=False)
        return self._journal
