"""`python main.py kill`: cancel everything at every venue and leave the journal HALTED."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.store.journal import SqlJournal
from adapters.store.users import AuthError, UserStore
from core.actors import Actor, PermissionDenied, Role
from core.clock import SimClock
from core.engine import Engine
from core.execution.service import ExecutionService
from core.parent import ParentOrder
from core.risk.standalone_kill import standalone_kill
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue

ROOT = Path(__file__).resolve().parents[2]
SUPER = Actor("sam", Role.SUPERVISOR)


def test_standalone_kill_leaves_no_working_order_and_the_journal_halted(tmp_path: Path) -> None:
    journal = SqlJournal(tmp_path / "j.sqlite", durable=False)
    clock = SimClock(start=1_700_000_000.0)
    venues = {f"V{i}": FakeVenue(f"V{i}", clock, i) for i in range(3)}
    engine = Engine(clock, journal, venues)  # type: ignore[arg-type]
    service = ExecutionService(engine, SeedTree(1))
    clock.run_until(clock.now() + 3)
    for pid in ("A", "B"):
        service.stage(ParentOrder(pid, BTC, Side.SELL, Decimal(50), 3600.0, algo="twap"), Actor("t", Role.TRADER))
        service.start(pid, Actor("t", Role.TRADER))
    while sum(len(v.resting) for v in venues.values()) < 4:
        clock.run_until(clock.now() + 1)
    # the terminal is gone: a second "process" with its own view of the same venues and journal
    report = standalone_kill(
        venues,
        ["BTC/USDT"],
        journal,
        SUPER,
        clock.now,  # type: ignore[arg-type]
        settle=lambda: clock.run_until(clock.now() + 0.1),
    )
    assert report.clean and all(not v.resting for v in venues.values())
    restarted = Engine(SimClock(), SqlJournal(tmp_path / "j.sqlite", durable=False))
    assert restarted.risk.killed


def test_standalone_kill_requires_a_supervisor(tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        standalone_kill({}, [], SqlJournal(tmp_path / "j.sqlite"), Actor("t", Role.TRADER), lambda: 0.0)


def test_user_store_scrypt_login_and_first_user_rule(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.sqlite")
    with pytest.raises(ValueError, match="first account must be a supervisor"):
        store.add("tina", Role.TRADER, "long-enough-pw")
    store.add("sam", Role.SUPERVISOR, "correct horse battery")
    with pytest.raises(PermissionError):
        store.add("tina", Role.TRADER, "long-enough-pw", by=Actor("x", Role.TRADER))
    store.add("tina", Role.TRADER, "long-enough-pw", by=store.authenticate("sam", "correct horse battery"))
    assert store.authenticate("tina", "long-enough-pw") == Actor("tina", Role.TRADER)
    with pytest.raises(AuthError):
        store.authenticate("tina", "wrong-password")
    raw = (tmp_path / "users.sqlite").read_bytes()
    assert b"correct horse battery" not in raw and b"long-enough-pw" not in raw


def test_kill_command_from_the_cli_as_supervisor_and_refused_as_trader(tmp_path: Path) -> None:
    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "main.py", *args, "--set", f"general.data_dir={tmp_path}"],
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert (
        cli(
            "users",
            "add",
            "--username",
            "sam",
            "--role",
            "supervisor",
            "--password-stdin",
            stdin="correct horse battery\n",
        ).returncode
        == 0
    )
    store = UserStore(tmp_path / "users.sqlite")
    store.add("tina", Role.TRADER, "long-enough-pw", by=SUPER)
    refused = cli("kill", "--user", "tina", "--password-stdin", stdin="long-enough-pw\n")
    assert refused.returncode == 3 and "supervisor" in refused.stderr
    done = cli("kill", "--user", "sam", "--password-stdin", stdin="correct horse battery\n")
    assert done.returncode == 0, done.stderr
    assert '"state": "halted"' in done.stdout
    assert Engine(SimClock(), SqlJournal(tmp_path / "journal.sqlite")).risk.killed


class _DeadVenue:
    """An exchange that cannot be reached (or whose keys are missing)."""

    name = "dead"

    def cancel_all(self, symbol: str) -> None:
        raise ConnectionError("binance DELETE http://10.0.0.1/api/v3/openOrders?timestamp=1&signature=abc123")

    def open_orders(self, symbol: str) -> list[object]:
        raise ConnectionError("binance GET http://10.0.0.1/api/v3/openOrders?signature=abc123")


def test_a_dead_venue_is_reported_and_the_others_are_still_swept(tmp_path: Path) -> None:
    journal = SqlJournal(tmp_path / "j.sqlite", durable=False)
    clock = SimClock(start=1_700_000_000.0)
    alive = FakeVenue("V1", clock, 1)
    engine = Engine(clock, journal, {"V1": alive})  # type: ignore[dict-item]
    service = ExecutionService(engine, SeedTree(1))
    clock.run_until(clock.now() + 3)
    service.stage(ParentOrder("A", BTC, Side.SELL, Decimal(50), 3600.0, algo="twap"), Actor("t", Role.TRADER))
    service.start("A", Actor("t", Role.TRADER))
    while not alive.resting:
        clock.run_until(clock.now() + 1)
    venues = {"dead": _DeadVenue(), "V1": alive}  # the dead one first
    report = standalone_kill(
        venues,  # type: ignore[arg-type]
        ["BTC/USDT"],
        journal,
        SUPER,
        clock.now,  # type: ignore[arg-type]
        settle=lambda: clock.run_until(clock.now() + 0.1),
    )
    assert not alive.resting and report.left_open == {"dead": -1, "V1": 0} and not report.clean
    assert [e.split(":")[0] for e in report.errors["dead"]] == [
        "cancel-all BTC/USDT",
        "cancel one by one BTC/USDT",
        "count open orders",
    ]
    assert "signature" not in str(report.errors)  # a signed URL's query string is not kept
    assert journal.last_record("risk.kill_report").payload["errors"] == report.errors  # type: ignore[union-attr]
    assert Engine(SimClock(), SqlJournal(tmp_path / "j.sqlite", durable=False)).risk.killed
