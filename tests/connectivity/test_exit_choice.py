"""`run` stopped (SIGTERM) with orders working: `--on-exit cancel` leaves nothing open at the venue,
`--on-exit leave` leaves them working for a later `--resume`; the choice is journaled."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.connectivity.helpers import ServerProcess, read_events, start_run

OPEN = ("NEW", "PARTIALLY_FILLED")


@pytest.mark.slow
@pytest.mark.parametrize("choice", ["cancel", "leave"])
def test_stopping_run_with_working_orders_cancels_or_leaves_them_as_chosen(tmp_path: Path, choice: str) -> None:
    server = ServerProcess(tmp_path)
    journal = tmp_path / "journal.sqlite"
    run = None
    try:
        run = start_run(
            tmp_path, server.url, "--journal", str(journal), "--side", "sell", "--qty", "40", "--horizon", "20m",
            "--interval", "0.5", "--passive-refresh", "600", "--parent-id", "EX", "--on-exit", choice,
        )  # fmt: skip
        events = read_events(run, "ready", timeout_s=60)
        deadline = time.monotonic() + 30
        while sum(o["status"] in OPEN for o in server.orders("EX-")) < 3:
            assert time.monotonic() < deadline, "the parent never had 3 resting children"
            time.sleep(0.2)
        # freeze the market: a resting order the market trades through after the stop would make
        # "left working" and "still open" differ for a reason that is not the exit's (a flake seen
        # under load: 3 left working, 2 still open)
        server.admin("/admin/pause", {})
        run.send_signal(signal.SIGTERM)
        events += read_events(run, "finished", timeout_s=30)
        run.wait(30)
        (exit_event,) = [e for e in events if e["event"] == "exit"]
        assert exit_event["choice"] == choice and exit_event["working_at_stop"] >= 3
        still_open = [o for o in server.orders("EX-") if o["status"] in OPEN]
        if choice == "cancel":
            assert exit_event["left_working"] == 0 and not still_open
        else:
            assert exit_event["left_working"] >= 3 and len(still_open) == exit_event["left_working"]
        with sqlite3.connect(journal) as db:
            kinds = [r[0] for r in db.execute("SELECT kind FROM journal")]
        assert kinds.count("run.exit") == 1
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        server.stop()
