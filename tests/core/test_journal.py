"""Journal: replay rebuilds order state exactly; a SIGKILLed writer leaves a clean journal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.store.journal import MemoryJournal, SqlJournal
from core.actors import SYSTEM, Actor, Role
from core.oms import OrderManager
from core.orders import Fill, Liquidity, OrderStatus, TimeInForce
from core.parent import ParentOrder
from core.ports import VenueOrderReport
from core.types import Instrument, Price, Quantity, Side

TRADER = Actor("alice", Role.TRADER)
BTC = Instrument("BTC", "USDT")
ROOT = Path(__file__).resolve().parents[2]

ops = st.lists(
    st.tuples(
        st.sampled_from(["child", "ack", "fill", "cancel", "cancel_ack", "reject", "timeout", "not_found", "override"]),
        st.integers(0, 7),
        st.integers(1, 5),
    ),
    min_size=1,
    max_size=60,
)


def drive(oms: OrderManager, steps: list[tuple[str, int, int]]) -> None:
    oms.stage(ParentOrder("P1", BTC, Side.SELL, Decimal(100), 3600.0), TRADER, 0.0, staged_mid=50_000.0)
    oms.start("P1", 50_010.0, TRADER, 1.0)
    trade = 0
    for i, (op, k, q) in enumerate(steps):
        ts = 2.0 + i
        ids = list(oms.children)
        target = oms.children[ids[k % len(ids)]] if ids else None
        if op == "child" or target is None:
            venue, qty, price = "A" if k % 2 else "B", Quantity.exact(Decimal(q)), Price.exact(Decimal("50000.5"))
            oms.new_child("P1", venue, Side.SELL, qty, price, TimeInForce.GTC, ts)
        elif op == "ack":
            oms.on_report(VenueOrderReport(target.client_id, f"V{k}", OrderStatus.NEW, Decimal(0), ts), ts)
        elif op == "fill":
            trade += 1
            qty = min(Decimal(q) / 2, target.quantity - target.filled) or Decimal("0.5")
            oms.on_fill(Fill(target.client_id, target.venue, f"T{trade % 9}", "V", Side.SELL, Decimal("50000.5"),
                             qty, Liquidity.TAKER, Decimal("0.01"), "USDT", ts, ts), ts)
        elif op == "cancel":
            oms.request_cancels([target], SYSTEM, ts)
        elif op == "cancel_ack":
            oms.on_report(VenueOrderReport(target.client_id, "", OrderStatus.CANCELED, target.filled, ts), ts)
        elif op == "reject":
            oms.on_report(VenueOrderReport(target.client_id, "", OrderStatus.REJECTED, Decimal(0), ts, "bad_tick"), ts)
        elif op == "timeout":
            oms.on_timeout(target.client_id, ts)
        elif op == "not_found":
            oms.on_not_found(target.client_id, ts)
        else:
            oms.override("P1", "limit_price", None, Decimal(49_000 + q), TRADER, ts)


@settings(max_examples=40)
@given(ops)
def test_replay_rebuilds_identical_state(steps: list[tuple[str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        journal = SqlJournal(Path(tmp) / "j.sqlite", durable=False)
        live = OrderManager(journal)
        drive(live, steps)
        fresh = OrderManager(None)
        fresh.replay(journal)
        assert fresh.state_digest() == live.state_digest()
        # a restarted engine continues the client-id sequence, never reusing an id
        assert fresh.next_client_id("P1") == live.next_client_id("P1")
        assert fresh.next_client_id("P1") not in live.children
        journal.close()


@settings(max_examples=60)
@given(ops)
def test_open_children_and_filled_match_a_scan_of_every_child(steps: list[tuple[str, int, int]]) -> None:
    """The OMS keeps its open children and filled quantity as orders change (not by scanning every
    child ever sent); both must equal the scan, in creation order, live and after a replay."""
    journal = MemoryJournal()
    live = OrderManager(journal)
    drive(live, steps)
    fresh = OrderManager(None)
    fresh.replay(journal)
    for oms in (live, fresh):
        every = list(oms.children.values())
        assert oms.open_children() == [c for c in every if c.status.is_open]
        for venue in ("A", "B"):
            assert oms.open_children("P1", venue) == [c for c in every if c.status.is_open and c.venue == venue]
        assert oms.filled_qty("P1") == sum((c.filled for c in every), Decimal(0))
        assert oms.working_qty("P1") == sum((c.leaves for c in every), Decimal(0))


def test_memory_and_sql_journals_replay_alike(tmp_path: Path) -> None:
    steps = [("child", 0, 3), ("ack", 0, 1), ("fill", 0, 2), ("cancel", 0, 1), ("fill", 0, 4), ("child", 1, 2)]
    mem, sql = OrderManager(MemoryJournal()), OrderManager(SqlJournal(tmp_path / "j.sqlite", durable=False))
    drive(mem, steps)
    drive(sql, steps)
    assert mem.state_digest() == sql.state_digest()


def test_many_intents_share_one_transaction(tmp_path: Path) -> None:
    journal = SqlJournal(tmp_path / "j.sqlite", durable=False)
    oms = OrderManager(journal)
    drive(oms, [("child", 0, 1)] * 30)
    before = oms.last_seq
    canceled = oms.request_cancels(list(oms.children.values()), SYSTEM, 99.0, "kill switch")
    assert len(canceled) == 30 and oms.last_seq == before + 30
    assert all(c.status is OrderStatus.PENDING_CANCEL for c in oms.children.values())


def test_secrets_are_refused_by_the_journal(tmp_path: Path) -> None:
    journal = SqlJournal(tmp_path / "j.sqlite")
    with pytest.raises(ValueError, match="secrets never go to the journal"):
        journal.append("venue.config", {"api_key": "abc"}, "alice(trader)", 0.0)


WRITER = """
import sys
from adapters.store.journal import SqlJournal
j = SqlJournal(sys.argv[1], durable=True)
i = 0
while True:
    i += 1
    seq = j.append("venue.fill", {"n": i, "pad": "x" * 200}, "engine(system)", float(i))
    print(seq, flush=True)
"""


def test_sigkill_mid_stream_leaves_a_clean_journal(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    acknowledged = 0
    deadline = time.monotonic() + 60
    while acknowledged < 300 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.strip():
            acknowledged = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert acknowledged >= 300
    records = list(SqlJournal(path).replay())
    seqs = [r.seq for r in records]
    assert seqs == list(range(1, len(seqs) + 1))  # no hole, no torn record
    assert len(records) >= acknowledged  # every acknowledged append survived
    assert len(records) <= acknowledged + 1  # at most the one being written is extra (committed, unreported)
    assert [r.payload["n"] for r in records] == list(range(1, len(records) + 1))
