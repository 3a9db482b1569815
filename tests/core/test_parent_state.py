"""Parent orders change state only through their table, live and on replay.

The model here is the lifecycle in words (core/parent.py's docstring), not `PARENT_TRANSITIONS`:
a finished parent never changes again, only a staged (or approved) parent starts, a parent waiting
for approval or staged cannot pause or complete, and running ⇄ paused.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.store.journal import MemoryJournal
from core.actors import Actor, Role
from core.bus import Bus
from core.events import Alert
from core.oms import OrderManager, parent_to_dict
from core.parent import ParentOrder, ParentState
from core.ports import JournalRecord
from core.types import Instrument, Side

TRADER = Actor("tina", Role.TRADER)
BTC = Instrument("BTC", "USDT")
ROOT = Path(__file__).resolve().parents[2]
P = ParentState

FINISHED = {P.DONE, P.CANCELED, P.STOPPED_BY_RISK}
NOT_STARTED = {P.STAGED, P.PENDING_APPROVAL}


def lifecycle_allows(current: ParentState, target: ParentState) -> bool:
    """The lifecycle in words, written without the table."""
    if current in FINISHED or target is current:
        return False
    if current in NOT_STARTED:  # before it starts it may only wait for approval, start, or be canceled
        return target in {P.RUNNING, P.CANCELED} or {current, target} == NOT_STARTED
    # once started it can pause, complete, finish in any way, resume — never go back to staging
    return target not in NOT_STARTED and not (current is P.COMPLETING and target is P.RUNNING)


def staged_oms(journal: MemoryJournal | None = None) -> OrderManager:
    oms = OrderManager(journal)
    oms.stage(ParentOrder("P1", BTC, Side.SELL, Decimal(10), 3600.0), TRADER, 0.0, staged_mid=50_000.0)
    return oms


@given(st.lists(st.sampled_from(list(ParentState)), max_size=12))
def test_parent_moves_follow_the_lifecycle_and_replay_identically(targets: list[ParentState]) -> None:
    journal = MemoryJournal()
    oms = staged_oms(journal)
    for i, target in enumerate(targets):
        parent = oms.parents["P1"]
        before = parent.state
        if lifecycle_allows(before, target):
            oms.set_parent_state("P1", target, TRADER, 1.0 + i)
            assert parent.state is target
        else:
            with pytest.raises(ValueError):
                oms.set_parent_state("P1", target, TRADER, 1.0 + i)
            assert parent.state is before  # refused: nothing changed, nothing journaled
    fresh = OrderManager(None)
    fresh.replay(journal)
    assert fresh.state_digest() == oms.state_digest()


def test_start_moves_staged_to_running_and_refuses_a_running_parent() -> None:
    oms = staged_oms()
    oms.start("P1", 50_010.0, TRADER, 5.0)
    assert oms.parents["P1"].state is P.RUNNING and oms.parents["P1"].start_ts == 5.0
    with pytest.raises(ValueError, match="cannot start"):
        oms.start("P1", 50_020.0, TRADER, 6.0)
    assert oms.arrival_mid["P1"] == 50_010.0


def _apply(oms: OrderManager, seq: int, kind: str, payload: dict[str, object], ts: float) -> None:
    oms.apply(JournalRecord(seq, ts, kind, "system", dict(payload)))


def test_an_old_journal_with_a_second_start_replays_as_a_no_op() -> None:
    """Journals may hold a parent.started for a parent already running (a resume): it changes nothing."""
    oms = OrderManager(None)
    _apply(oms, 1, "parent.staged", {**parent_to_dict(ParentOrder("P1", BTC, Side.SELL, Decimal(10), 3600.0)),
                                     "staged_mid": 50_000.0}, 0.0)
    _apply(oms, 2, "parent.started", {"parent_id": "P1", "arrival_mid": 50_010.0}, 1.0)
    _apply(oms, 3, "parent.state", {"parent_id": "P1", "state": "paused", "reason": ""}, 2.0)
    _apply(oms, 4, "parent.state", {"parent_id": "P1", "state": "running", "reason": "resumed"}, 3.0)
    _apply(oms, 5, "parent.started", {"parent_id": "P1", "arrival_mid": 49_000.0}, 4.0)
    parent = oms.parents["P1"]
    assert parent.state is P.RUNNING and parent.start_ts == 1.0 and oms.arrival_mid["P1"] == 50_010.0


def test_a_journaled_move_the_table_forbids_is_reported_and_changes_nothing() -> None:
    bus = Bus()
    alerts: list[Alert] = []
    bus.subscribe(Alert, alerts.append)
    oms = OrderManager(None, bus)
    _apply(oms, 1, "parent.staged", {**parent_to_dict(ParentOrder("P1", BTC, Side.SELL, Decimal(10), 3600.0)),
                                     "staged_mid": 50_000.0}, 0.0)
    _apply(oms, 2, "parent.state", {"parent_id": "P1", "state": "canceled", "reason": ""}, 1.0)
    _apply(oms, 3, "parent.state", {"parent_id": "P1", "state": "running", "reason": ""}, 2.0)
    _apply(oms, 4, "parent.started", {"parent_id": "P1", "arrival_mid": 50_010.0}, 3.0)
    assert oms.parents["P1"].state is P.CANCELED and "P1" not in oms.arrival_mid
    assert [a.kind for a in alerts] == ["illegal_parent_transition"] * 2
    assert "journal record 3" in alerts[0].detail


def test_no_code_assigns_a_parent_or_rfq_state_directly() -> None:
    """`move_to` is the only way: no `parent.state = …` / `rfq.state = …` outside the models."""
    direct = re.compile(r"\b(parent|rfq|parents\[[^]]*\]|rfqs\[[^]]*\])\.state\s*=[^=]")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("core", "app")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if direct.search(line)
    ]
    assert offenders == []
