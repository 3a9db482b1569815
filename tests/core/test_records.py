"""Typed journal records (core/records.py): one codec kind ↔ class, strict on replay, and journals
written by the release before typed records still open.

The migration oracle is the release's own report of the run that wrote each fixture journal
(`simulate --json` of that release, numbers copied below): a desk rebuilt from the journal today
must find the same fills, OTC quantity, children and final state.
"""

from __future__ import annotations

import gzip
import shutil
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.store.journal import MemoryJournal, SqlJournal
from app.desk import build_desk
from core.actors import SYSTEM
from core.clock import SimClock
from core.oms import OrderManager
from core.ports import JournalRecord
from core.records import RECORD_TYPES, ChildIntent, RecordError, decode, encode, typed_replay
from core.seeds import SeedTree

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "journals"

# (fixture, parent id, what that release's `simulate --json` reported for the run that wrote it)
RELEASE_RUNS = [
    # simulate --scenario eth-500-30m --algo adaptive --seed 3 --rfq auto --override 300:venue_off=alpha
    #   --override 600:pause=1 --override 700:resume=1 --override 800:venue_on=alpha --kill-at 1500
    ("eth-500-30m-adaptive-seed3.sqlite.gz", "SIM1",
     {"filled_qty": "481.664", "otc_qty": "248.538", "child_orders": 389, "state": "stopped_by_risk"}),
    # simulate --scenario outage --algo ac --seed 1 (breakers trip and reset on the outage)
    ("outage-ac-seed1.sqlite.gz", "SIM1",
     {"filled_qty": "1000", "otc_qty": "882.351", "child_orders": 2363, "state": "done"}),
]


def open_fixture(name: str, tmp_path: Path) -> SqlJournal:
    target = tmp_path / name.removesuffix(".gz")
    with gzip.open(FIXTURES / name, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return SqlJournal(target, durable=False)


@pytest.mark.parametrize(("fixture", "parent_id", "reported"), RELEASE_RUNS)
def test_a_journal_of_the_previous_release_opens_with_the_same_orders(
    tmp_path: Path, fixture: str, parent_id: str, reported: dict[str, object]
) -> None:
    journal = open_fixture(fixture, tmp_path)
    desk = build_desk(SimClock(start=0.0), journal, {}, {}, SeedTree(1))
    oms = desk.engine.oms
    assert oms.parents[parent_id].state.value == reported["state"]
    # the report counted exchange fills and OTC fills together as filled_qty
    assert oms.done_qty(parent_id) == Decimal(str(reported["filled_qty"]))
    assert oms.otc_qty(parent_id) == Decimal(str(reported["otc_qty"]))
    assert len(oms.children_for(parent_id)) == reported["child_orders"]
    # and the OMS the desk rebuilt is the one the OMS alone rebuilds from the same rows
    alone = OrderManager(None)
    alone.replay(journal)
    assert oms.state_digest() == alone.state_digest()


def test_the_killed_fixture_comes_back_halted_by_its_supervisor(tmp_path: Path) -> None:
    desk = build_desk(SimClock(start=0.0), open_fixture(RELEASE_RUNS[0][0], tmp_path), {}, {}, SeedTree(1))
    assert desk.engine.risk.killed and desk.engine.risk.killed_by == "sim-supervisor(supervisor)"


@pytest.mark.parametrize("fixture", [r[0] for r in RELEASE_RUNS])
def test_every_row_of_a_release_journal_decodes_and_encodes_back(tmp_path: Path, fixture: str) -> None:
    for rec, entry in typed_replay(open_fixture(fixture, tmp_path).replay()):
        kind, payload = encode(entry.record)
        assert kind == rec.kind
        assert decode(kind, payload) == entry.record
        assert {k: v for k, v in payload.items() if k in rec.payload} == rec.payload  # nothing lost or altered


def test_an_unknown_kind_stops_the_replay_and_names_the_row() -> None:
    journal = MemoryJournal()
    journal.append("parent.teleported", {"parent_id": "P1"}, "tess(trader)", 1.0)
    with pytest.raises(RecordError, match=r"journal record 1 \(parent.teleported\): unknown kind"):
        build_desk(SimClock(start=0.0), journal, {}, {}, SeedTree(1))


def test_a_record_missing_a_field_names_the_field() -> None:
    with pytest.raises(RecordError, match="field 'client_id' is missing"):
        decode("venue.not_found", {}, seq=12)
    with pytest.raises(RecordError, match=r"unexpected field\(s\) colour"):
        decode("child.timeout", {"client_id": "P1-000001", "colour": "red"})


def test_the_writer_refuses_what_a_replay_could_not_read() -> None:
    oms = OrderManager(MemoryJournal())
    with pytest.raises(RecordError, match="unknown kind"):
        oms.record("parent.teleported", {"parent_id": "P1"}, SYSTEM, 1.0)
    with pytest.raises(RecordError, match="field 'state' is missing"):
        oms.record("parent.state", {"parent_id": "P1"}, SYSTEM, 1.0)
    assert oms.journal is not None and list(oms.journal.replay()) == []  # nothing half-written


def test_every_kind_has_one_class_and_the_classes_are_frozen() -> None:
    assert len({cls for cls in RECORD_TYPES.values()}) == len(RECORD_TYPES)
    rec = ChildIntent("P1-000001", "P1", "V0", "BTC/USDT", "SELL", "1.5", "60000.1", "gtc", 1.0)
    with pytest.raises(AttributeError):
        rec.quantity = "2"  # type: ignore[misc]
    assert [f.name for f in fields(ChildIntent)][:3] == ["client_id", "parent_id", "venue"]
    assert decode(*encode(rec)) == rec
    assert JournalRecord(1, 1.0, "child.intent", "x", encode(rec)[1]).payload["quantity"] == "1.5"
