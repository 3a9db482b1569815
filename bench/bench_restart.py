"""Time from restart to trading again, after a SIGKILL, through the loopback exchange.

    python bench/bench_restart.py [--restarts 10] [--json]

Starts `serve-exchange` and a `run` of a parent order (sell 20 BTC over 10 minutes, 0.5 s algo
ticks), then repeatedly SIGKILLs the `run` process at a random moment and starts
`run --resume`, measuring wall time from the new process's spawn to

- **ready**: journal replayed, venue connected, user stream subscribed, reconciliation done,
  book synced (the engine could trade);
- **first order**: the resumed algo's first new child acknowledged by the exchange.

Target: ready < 3 s. Prints the machine line and a Markdown table (for docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402

TARGET_S = 3.0


def _env(tmp: Path) -> dict[str, str]:
    from adapters.secrets import ApiCredentials, EncryptedFileStore

    keys = tmp / "keys.enc"
    EncryptedFileStore(keys, "bench-passphrase").put("loop", ApiCredentials("bh-loopback", "bh-loopback-secret"))
    env = dict(os.environ)
    env.update(
        {
            "BLOCKHOUSE_SECRETS_BACKEND": "file",
            "BLOCKHOUSE_SECRETS_FILE": str(keys),
            "BLOCKHOUSE_SECRETS_PASSPHRASE": "bench-passphrase",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _events(proc: subprocess.Popen[str], until: str, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    assert proc.stdout is not None
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        out.append(ev)
        if ev.get("event") in (until, "finished", "error"):
            return out
    raise RuntimeError(f"no {until!r} event: {out[-3:]}")


def bench(restarts: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = _env(tmp)
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "serve-exchange", "--port", "0", "--state", str(tmp / "x.json")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert server.stdout is not None
        url = json.loads(server.stdout.readline())["url"]
        common = ["--journal", str(tmp / "j.sqlite"), "--interval", "0.5", "--passive-refresh", "5"]
        run = [sys.executable, str(ROOT / "main.py"), "run", "--venue", f"loop=ccxt:binance@{url}"]
        proc = subprocess.Popen(
            [*run, "--side", "sell", "--qty", "20", "--horizon", "10m", "--parent-id", "BENCH", *common],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        ready: list[float] = []
        first: list[float] = []
        phases: list[dict[str, float]] = []
        try:
            _events(proc, "first_order")
            for _ in range(restarts):
                time.sleep(rng.uniform(0.5, 2.0))
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                spawned = time.time()
                proc = subprocess.Popen(
                    [*run, "--resume", *common],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
                evs = _events(proc, "ready")
                ready.append(evs[-1]["t"] - spawned)
                phases.append(evs[-1].get("phases_s", {}))
                evs = _events(proc, "first_order", timeout_s=30)
                first.append(evs[-1]["t"] - spawned)
        finally:
            proc.kill()
            server.send_signal(signal.SIGTERM)
            server.wait(10)
    return {"restarts": restarts, "ready_s": ready, "first_order_s": first, "phases_s": phases}


def _row(name: str, xs: list[float]) -> str:
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, round(0.9 * (len(xs) - 1)))]
    return f"| {name} | {statistics.median(xs):.2f} | {p90:.2f} | {xs[-1]:.2f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the raw result as JSON too")
    args = parser.parse_args()
    result = bench(args.restarts, args.seed)
    print(machine_line())
    print()
    print(f"Restart after SIGKILL → trading again, loopback exchange, {args.restarts} restarts (seconds):")
    print()
    print("| measure | median | p90 | max |")
    print("|---|---|---|---|")
    print(_row("spawn → ready (reconciled, book synced)", result["ready_s"]))
    print(_row("spawn → first new order acknowledged", result["first_order_s"]))
    for key in ("imports", "journal_replay", "connect_and_reconcile", "process_cpu"):
        values = [p[key] for p in result["phases_s"] if key in p]
        if values:
            print(_row(f"  of which {key.replace('_', ' ')}", values))
    worst = max(result["ready_s"])
    load1 = os.getloadavg()[0]
    print()
    print(
        f"load average while measuring: {load1:.1f} on {os.cpu_count()} cores"
        + (
            " — the machine was busy; 'process cpu' is the CPU the restart itself needed"
            if load1 > (os.cpu_count() or 1)
            else ""
        )
    )
    print(f"target ready < {TARGET_S:.0f} s: {'met' if worst < TARGET_S else 'NOT met'} (worst {worst:.2f} s)")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
