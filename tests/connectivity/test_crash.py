"""Crash test: a parent working through the loopback exchange is SIGKILLed at random moments and
resumed from its journal each time. After every seed: zero duplicate client order ids at the
venue, the venue's filled quantity equals the journal's, nothing left open, and the parent
completes its quantity."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.store.journal import SqlJournal
from core.oms import OrderManager
from core.parent import ParentState
from tests.connectivity.helpers import ServerProcess, read_events, start_run

QTY = Decimal(3)
KILLS_PER_SEED = 7
SEEDS = (1, 2, 3)  # 21 kills in all


def journal_state(path: Path, parent_id: str) -> tuple[ParentState, Decimal, Decimal]:
    journal = SqlJournal(path, durable=False)
    oms = OrderManager(None)
    for rec in journal.replay():
        oms.apply(rec)
    journal.close()
    return oms.parents[parent_id].state, oms.filled_qty(parent_id), oms.working_qty(parent_id)


def crash_and_resume(tmp_path: Path, seed: int, kills: int) -> dict[str, object]:
    rng = random.Random(seed)
    server = ServerProcess(
        tmp_path, "--seed", str(seed), "--fault", "ack_delay_ms=400", "--fault", "ack_delay_prob=0.2"
    )
    journal = tmp_path / "journal.sqlite"
    pid = f"CR{seed}"
    common = [
        "--journal",
        str(journal),
        "--interval",
        "0.5",
        "--passive-refresh",
        "3",
        "--ack-timeout",
        "1",
        "--progress-every",
        "0.5",
    ]
    ready_after_restart: list[float] = []
    first_order_after_restart: list[float] = []
    killed = 0
    proc = start_run(
        tmp_path,
        server.url,
        "--side",
        "sell",
        "--qty",
        str(QTY),
        "--horizon",
        "45s",
        "--parent-id",
        pid,
        "--seed",
        str(seed),
        *common,
    )
    try:
        while True:
            events = read_events(proc, "ready", timeout_s=60)
            if events and events[-1].get("event") == "finished":
                break  # resumed a parent that had already finished
            if killed:
                ready_after_restart.append(float(events[-1]["since_start_s"]))
            if killed < kills:
                moment = rng.uniform(0.2, 2.5)
                t_ready = time.monotonic()
                got = []
                while time.monotonic() - t_ready < moment and proc.poll() is None:
                    got += read_events(proc, "progress", timeout_s=10)
                if killed and (first := [e for e in got if e["event"] == "first_order"]):
                    first_order_after_restart.append(float(first[0]["since_start_s"]))
                proc.kill()  # SIGKILL: no cleanup, whatever is in flight stays in flight
                proc.wait(10)
                killed += 1
                proc = start_run(tmp_path, server.url, "--resume", *common)
                continue
            # no more kills: run to the end
            while proc.poll() is None:
                ev = read_events(proc, "progress", timeout_s=120)[-1]
                if ev["event"] == "finished":
                    break
            break
        proc.wait(30)
        state, filled, working = journal_state(journal, pid)
        orders = server.orders(pid + "-")
        dup = [cid for cid, n in Counter(o["clientOrderId"] for o in orders).items() if n > 1]
        venue_filled = sum((Decimal(o["executedQty"]) for o in orders), Decimal(0))
        still_open = [o["clientOrderId"] for o in orders if o["status"] in ("NEW", "PARTIALLY_FILLED")]
        summary = server.admin("/admin/state")
        return {
            "seed": seed,
            "kills": killed,
            "orders": len(orders),
            "duplicates": dup,
            "server_duplicates": summary["duplicate_client_ids"],
            "venue_filled": venue_filled,
            "journal_filled": filled,
            "state": state,
            "working": working,
            "open_at_venue": still_open,
            "ready_s": ready_after_restart,
            "first_order_s": first_order_after_restart,
        }
    finally:
        if proc.poll() is None:
            proc.kill()
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_sigkill_at_random_moments_then_resume(tmp_path: Path, seed: int) -> None:
    r = crash_and_resume(tmp_path, seed, KILLS_PER_SEED)
    print(
        f"crash seed {seed}: {r['kills']} kills, {r['orders']} orders, venue filled {r['venue_filled']}, "
        f"journal filled {r['journal_filled']}, state {r['state'].value}, restart→ready median "
        f"{statistics.median(r['ready_s']):.2f} s max {max(r['ready_s']):.2f} s"
    )
    assert r["kills"] == KILLS_PER_SEED
    assert r["duplicates"] == [] and r["server_duplicates"] == {}
    assert r["venue_filled"] == r["journal_filled"]
    assert r["open_at_venue"] == []
    assert r["state"] is ParentState.DONE and r["journal_filled"] == QTY
