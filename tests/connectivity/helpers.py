"""Shared helpers: an in-process loopback exchange, an engine wired to a ccxt venue on it, and
subprocess wrappers for `serve-exchange` and `run` (crash and kill tests)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from adapters.ccxt import CcxtVenue, CcxtVenueConfig, OmsOrderView
from adapters.exchange_server import ExchangeServer, ServerConfig
from adapters.secrets import ApiCredentials, EncryptedFileStore
from adapters.store.journal import MemoryJournal
from core.actors import Actor, Role
from core.clock import LiveClock
from core.engine import Engine
from core.events import OrderUpdate
from core.parent import ParentOrder
from core.types import Instrument, Side

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "bh-loopback", "bh-loopback-secret"
CREDS = ApiCredentials(KEY, SECRET)
BTC = Instrument("BTC", "USDT")
TRADER = Actor("tester", Role.TRADER)
T = TypeVar("T")


def arun(coro: Awaitable[T], timeout_s: float = 90.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout_s)

    return asyncio.run(bounded())


@asynccontextmanager
async def loopback(**config: Any) -> AsyncIterator[ExchangeServer]:
    config.setdefault("accounts", {KEY: SECRET, "other": "other-secret"})
    server = ExchangeServer(ServerConfig(port=0, **config))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@dataclass
class Rig:
    server: ExchangeServer
    engine: Engine
    venue: CcxtVenue
    updates: list[OrderUpdate] = field(default_factory=list)

    def statuses(self, client_id: str) -> list[str]:
        return [u.status.value for u in self.updates if u.client_id == client_id]


@asynccontextmanager
async def rig(server: ExchangeServer, **venue_config: Any) -> AsyncIterator[Rig]:
    engine = Engine(LiveClock(), MemoryJournal())
    venue = CcxtVenue(
        CcxtVenueConfig("loop", url=server.url, **venue_config), credentials=CREDS, view=OmsOrderView(engine.oms)
    )
    r = Rig(server, engine, venue)
    engine.bus.subscribe(OrderUpdate, r.updates.append)
    engine.add_venue(venue)
    try:
        await venue.wait_ready(30)
        yield r
    finally:
        await venue.close()


def stage(engine: Engine, parent_id: str, qty: Decimal = Decimal(100), side: Side = Side.SELL) -> None:
    """A running parent the test sends children for by hand (no algo)."""
    parent = ParentOrder(parent_id, BTC, side, qty, 3600.0, algo="twap", venues=("loop",))
    engine.oms.stage(parent, TRADER, engine.clock.now())
    engine.oms.start(parent_id, 60_000.0, TRADER, engine.clock.now())


async def until(predicate: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- subprocesses
def subprocess_env(tmp: Path, **extra: str) -> dict[str, str]:
    """Environment for `python main.py …`: keys in an encrypted file (no keyring in CI)."""
    keys = tmp / "keys.enc"
    if not keys.exists():
        EncryptedFileStore(keys, "test-passphrase").put("loop", CREDS)
    env = dict(os.environ)
    env.update(
        {
            "BLOCKHOUSE_SECRETS_BACKEND": "file",
            "BLOCKHOUSE_SECRETS_FILE": str(keys),
            "BLOCKHOUSE_SECRETS_PASSPHRASE": "test-passphrase",
            "BLOCKHOUSE__GENERAL__DATA_DIR": str(tmp / "data"),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


class ServerProcess:
    """`python main.py serve-exchange --port 0 …` in a subprocess."""

    def __init__(self, tmp: Path, *args: str) -> None:
        with open(tmp / "server.err", "wb") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "main.py"),
                    "serve-exchange",
                    "--port",
                    "0",
                    "--state",
                    str(tmp / "exchange-state.json"),
                    *args,
                ],
                cwd=ROOT,
                env=subprocess_env(tmp),
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"serve-exchange did not start: {(tmp / 'server.err').read_text()[-2000:]}")
        self.info = json.loads(line)
        self.url: str = self.info["url"]

    def admin(self, path: str, body: dict[str, Any] | None = None, method: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        verb = method or ("POST" if body is not None else "GET")
        req = urllib.request.Request(
            self.url + path, data=data, method=verb, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def orders(self, prefix: str = "") -> list[dict[str, Any]]:
        return list(self.admin(f"/admin/orders?client_prefix={prefix}"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_run(tmp: Path, url: str, *args: str, env_extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
    with open(tmp / "run.err", "ab") as err:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "run", "--venue", f"loop=ccxt:binance@{url}", *args],
            cwd=ROOT,
            env=subprocess_env(tmp, **(env_extra or {})),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )


def read_events(
    proc: subprocess.Popen[str],
    until_event: str | None = None,
    timeout_s: float = 60.0,
    sink: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """JSON lines from a `run` process, up to (and including) `until_event` or EOF."""
    assert proc.stdout is not None
    events = sink if sink is not None else []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            return events
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        events.append(ev)
        if until_event is not None and ev.get("event") == until_event:
            return events
    raise AssertionError(f"no {until_event!r} event within {timeout_s} s: {events[-3:]}")
