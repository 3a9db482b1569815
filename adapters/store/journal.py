"""SQLAlchemy journal: append-only, durable on return, replayable.

SQLite in WAL mode by default (one file in the user data directory); any SQLAlchemy URL, e.g.
``postgresql+psycopg://…``, for a shared desk or a standby. Each append is one transaction;
`append_many` writes a batch in one transaction. A writer killed mid-write leaves at most the
record being written uncommitted (SQLite's WAL guarantees the rest).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from core.ports import JournalRecord

log = logging.getLogger(__name__)
metadata = MetaData()
journal_table = Table(
    "journal",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("kind", String(64), nullable=False, index=True),
    Column("actor", String(128), nullable=False),
    Column("payload", Text, nullable=False),
)


def journal_url(path_or_url: str | Path) -> str:
    text = str(path_or_url)
    return text if "://" in text else f"sqlite:///{Path(text).expanduser()}"


class SqlJournal:
    def __init__(
        self,
        path_or_url: str | Path,
        durable: bool = True,
        redact: tuple[str, ...] = ("api_key", "secret", "password"),
    ) -> None:
        """`durable=True` fsyncs every commit (survives power loss); False survives process crashes only."""
        url = journal_url(path_or_url)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if url.startswith("sqlite"):
            sync = "FULL" if durable else "NORMAL"
            event.listen(self.engine, "connect", lambda conn, rec: _sqlite_pragmas(conn, sync))
        metadata.create_all(self.engine)
        self._redact = redact

    def append(self, kind: str, payload: dict[str, Any], actor: str, ts: float) -> int:
        return self.append_many([(kind, payload, actor, ts)])

    def append_many(self, records: list[tuple[str, dict[str, Any], str, float]]) -> int:
        """Write all records in one transaction; returns the last sequence number."""
        last = 0
        with self.engine.begin() as conn:
            for kind, payload, actor, ts in records:
                text = json.dumps(self._check(payload), separators=(",", ":"), allow_nan=True)
                result = conn.execute(insert(journal_table).values(ts=ts, kind=kind, actor=actor, payload=text))
                pk = result.inserted_primary_key
                last = int(pk[0]) if pk else last
        return last

    def replay(self, from_seq: int = 0) -> Iterator[JournalRecord]:
        query = select(journal_table).where(journal_table.c.seq > from_seq).order_by(journal_table.c.seq)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield JournalRecord(row.seq, row.ts, row.kind, row.actor, json.loads(row.payload))

    def last_record(self, kind: str) -> JournalRecord | None:
        query = select(journal_table).where(journal_table.c.kind == kind).order_by(journal_table.c.seq.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else JournalRecord(row.seq, row.ts, row.kind, row.actor, json.loads(row.payload))

    def close(self) -> None:
        self.engine.dispose()

    def _check(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Refuse to journal anything that looks like a secret (it would sit there in clear)."""
        for key in payload:
            if any(word in key.lower() for word in self._redact):
                raise ValueError(f"refusing to journal field {key!r}: secrets never go to the journal")
        return payload


def _sqlite_pragmas(dbapi_conn: Any, synchronous: str) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA synchronous={synchronous}")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


class MemoryJournal:
    """The same contract in memory (tests, dry runs)."""

    def __init__(self) -> None:
        self.records: list[JournalRecord] = []

    def append(self, kind: str, payload: dict[str, Any], actor: str, ts: float) -> int:
        return self.append_many([(kind, payload, actor, ts)])

    def append_many(self, records: list[tuple[str, dict[str, Any], str, float]]) -> int:
        for kind, payload, actor, ts in records:
            # round-trip through JSON so memory and SQL journals replay identically
            self.records.append(JournalRecord(len(self.records) + 1, ts, kind, actor, json.loads(json.dumps(payload))))
        return len(self.records)

    def replay(self, from_seq: int = 0) -> Iterator[JournalRecord]:
        return iter([r for r in self.records if r.seq > from_seq])

    def close(self) -> None:
        pass
