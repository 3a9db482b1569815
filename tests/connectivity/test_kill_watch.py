"""`run` notices a kill switch written to its journal by another process, even when it has journaled
records of its own since (the kill's seq is then below the OMS's last seq: the bug that let a
working `run` miss `python main.py kill` on a busy journal)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.store.journal import SqlJournal
from app.commands.run import JournalKillWatch
from core.actors import Actor, Role
from core.clock import LiveClock
from core.engine import Engine

SAM = Actor("sam", Role.SUPERVISOR)
BOT = Actor("cli", Role.TRADER)


def test_a_foreign_kill_is_seen_after_our_own_later_records(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    ours = SqlJournal(path, durable=False)
    engine = Engine(LiveClock(), ours)
    watch = JournalKillWatch(ours, engine)
    assert watch.poll() is None
    other = SqlJournal(path, durable=False)  # `python main.py kill` in another process
    other.append("risk.kill", {"reason": "standalone kill", "purged": 0, "standalone": True}, str(SAM), 1.0)
    engine.oms.record("alert.ack", {"alert_id": "A000001"}, BOT, 2.0)  # we journal on before our next poll
    assert engine.oms.last_seq > other.last_record("risk.kill").seq  # type: ignore[union-attr]
    rec = watch.poll()
    assert rec is not None and rec.actor == str(SAM)
    assert watch.poll() is None  # reported once
    other.close()
    ours.close()


def test_a_kill_written_while_we_connect_counts_and_a_replayed_one_does_not(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    first = SqlJournal(path, durable=False)
    first.append("risk.kill", {"reason": "yesterday", "purged": 0}, str(SAM), 1.0)
    first.append("risk.kill_reset", {"reason": "morning"}, str(SAM), 2.0)
    engine = Engine(LiveClock(), first)
    assert not engine.risk.killed
    watch = JournalKillWatch(first, engine)
    assert watch.poll() is None  # the replayed (and reset) kill is not news

    engine2 = Engine(LiveClock(), first)
    first.append("risk.kill", {"reason": "standalone kill", "purged": 0}, str(SAM), 3.0)  # after the replay
    watch2 = JournalKillWatch(first, engine2)
    assert watch2.poll() is not None
    first.close()


def test_our_own_kill_is_not_reported_again(tmp_path: Path) -> None:
    async def scenario() -> None:  # the kill switch's sweep timer needs the loop `run` has
        journal = SqlJournal(tmp_path / "journal.sqlite", durable=False)
        engine = Engine(LiveClock(), journal)
        watch = JournalKillWatch(journal, engine)
        engine.kill_switch(SAM, "from the terminal")
        assert engine.risk.killed and watch.poll() is None
        journal.close()

    asyncio.run(scenario())
