"""`python main.py kill`, run from a second process while a parent works through the loopback
exchange: zero open orders left there, the working `run` process stops sending, and a restart
comes up HALTED and sends nothing.

All three processes read one settings file (`market.mode = "live"`, `[venues]` naming the
loopback exchange, `journal.url`), as a desk would configure them: no --venue, no --journal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.store.users import UserStore
from core.actors import Role
from tests.connectivity.helpers import CREDS, ROOT, ServerProcess, read_events, subprocess_env


def write_settings(tmp: Path, url: str, journal: Path) -> Path:
    path = tmp / "desk.toml"
    path.write_text(
        f'[journal]\nurl = "sqlite:///{journal}"\n'
        '[market]\nmode = "live"\n'
        f'[venues]\nexchanges = ["loop=ccxt:binance@{url}"]\nsymbols = ["BTC/USDT"]\n'
        '[venues.keys]\nloop = "loop"\n'
    )
    return path


def main_py(tmp: Path, settings: Path, *args: str) -> subprocess.Popen[str]:
    with open(tmp / "run.err", "ab") as err:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "--settings", str(settings), *args],
            cwd=ROOT,
            env=subprocess_env(tmp),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )


@pytest.mark.slow
def test_kill_from_a_second_process_leaves_nothing_open_and_restart_is_halted(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    journal = tmp_path / "journal.sqlite"
    settings = write_settings(tmp_path, server.url, journal)
    assert CREDS.secret not in settings.read_text() and CREDS.api_key not in settings.read_text()
    run = None
    try:
        run = main_py(
            tmp_path,
            settings,
            "run",
            "--side",
            "sell",
            "--qty",
            "40",
            "--horizon",
            "20m",
            "--interval",
            "0.5",
            "--passive-refresh",
            "600",
            "--parent-id",
            "KL",
        )
        events = read_events(run, "ready", timeout_s=60)
        deadline = time.monotonic() + 30
        while sum(o["status"] in ("NEW", "PARTIALLY_FILLED") for o in server.orders("KL-")) < 3:
            assert time.monotonic() < deadline, "the parent never had 3 resting children"
            time.sleep(0.2)
        UserStore(tmp_path / "data" / "users.sqlite").add("sam", Role.SUPERVISOR, "correct horse battery")
        kill = subprocess.run(
            [
                sys.executable,
                str(ROOT / "main.py"),
                "--settings",
                str(settings),
                "kill",
                "--user",
                "sam",
                "--password-stdin",
            ],
            input="correct horse battery\n",
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=subprocess_env(tmp_path),
            timeout=60,
        )
        assert kill.returncode == 0, kill.stderr[-3000:]
        report = json.loads(kill.stdout)
        assert report["left_open"] == {"loop": 0} and report["state"] == "halted"
        assert report["journal"] == f"sqlite:///{journal}" and report["cancel_all_sent"] == 1
        assert not [o for o in server.orders() if o["status"] in ("NEW", "PARTIALLY_FILLED")]
        events += read_events(run, "finished", timeout_s=30)
        assert run.wait(30) == 3, [e for e in events if e["event"] != "progress"]
        assert any(e["event"] == "kill_seen" for e in events)
        assert [e for e in events if e["event"] == "finished"][-1]["state"] == "stopped_by_risk"
        sent = len(server.orders("KL-"))
        time.sleep(1.0)
        assert len(server.orders("KL-")) == sent, "the engine kept sending after the kill"
        restart = main_py(tmp_path, settings, "run", "--resume", "--interval", "0.5")
        again = read_events(restart, "finished", timeout_s=60)
        assert restart.wait(30) == 3
        finished = again[-1]
        assert finished["event"] == "finished" and finished.get("state") in ("halted", "stopped_by_risk"), again
        assert len(server.orders("KL-")) == sent and not [
            o for o in server.orders() if o["status"] in ("NEW", "PARTIALLY_FILLED")
        ]
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        server.stop()
