"""`run` as a shell pipes it and a supervisor's script reads it: a reader that goes away
(`run | head -n 3`) stops the run cleanly — the exit choice applied and journaled, nothing left
working — and `--resume` of a parent that was never journaled does not exit 0 ("done")."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.connectivity.helpers import ServerProcess, read_events, start_run

OPEN = ("NEW", "PARTIALLY_FILLED")
NOWHERE = "http://127.0.0.1:1"  # nothing listens there: the venue never comes up


def test_run_whose_reader_goes_away_cancels_journals_its_exit_and_says_not_done(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    journal = tmp_path / "journal.sqlite"
    run = None
    try:
        run = start_run(
            tmp_path, server.url, "--journal", str(journal), "--side", "sell", "--qty", "40", "--horizon", "20m",
            "--interval", "0.5", "--passive-refresh", "600", "--parent-id", "BP", "--progress-every", "0.3",
        )  # fmt: skip
        assert run.stdout is not None
        read_events(run, "first_order", timeout_s=60)  # ready, first_order: two lines
        deadline = time.monotonic() + 30
        while not any(o["status"] in OPEN for o in server.orders("BP-")):
            assert time.monotonic() < deadline, "no child resting at the exchange"
            time.sleep(0.1)
        run.stdout.readline()  # the third line, then the reader goes away as `head -n 3` does
        run.stdout.close()
        code = run.wait(40)
        still_open = [o["clientOrderId"] for o in server.orders("BP-") if o["status"] in OPEN]
        with sqlite3.connect(journal) as db:
            exits = [r[0] for r in db.execute("SELECT payload FROM journal WHERE kind = 'run.exit'")]
        err = (tmp_path / "run.err").read_text()
        assert code == 1, (code, err[-2000:])  # stopped, not done
        assert not still_open, still_open
        assert len(exits) == 1 and '"choice": "cancel"' in exits[0].replace('":"', '": "'), exits
        assert "BrokenPipeError" not in err and "stdout closed by its reader" in err, err[-2000:]
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        server.stop()


def test_resume_of_a_parent_never_journaled_exits_not_done(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    first = start_run(
        tmp_path, NOWHERE, "--journal", str(journal), "--side", "sell", "--qty", "1", "--horizon", "1m",
        "--connect-timeout", "1",
    )  # fmt: skip
    read_events(first, timeout_s=60)
    assert first.wait(30) == 4  # venues never came up: the parent was never staged, never journaled
    assert journal.exists()
    resume = start_run(tmp_path, NOWHERE, "--journal", str(journal), "--resume", "--connect-timeout", "1")
    events = read_events(resume, "finished", timeout_s=60)
    assert resume.wait(30) == 1, (tmp_path / "run.err").read_text()[-2000:]
    finished = events[-1]
    assert finished["parents"] == {} and "no parent was ever journaled" in finished["detail"], finished
