"""Every way of running Blockhouse builds the same desk (app/desk.py): the terminal on the embedded
market, the terminal live, `simulate` and `compare`'s workers (app/simulation.prepare) and `run`
(app/venues.build_live_desk). Before the builder each path assembled its own subset: `run` had no
surveillance (its "adaptive" parent was plain AC) and no RFQ service, `simulate` ran surveillance
only for adaptive parents."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.secrets import MemoryStore
from adapters.store.journal import MemoryJournal
from app.composition import build_terminal
from app.desk import SERVICES
from app.settings import load_settings
from app.simulation import SimRequest, prepare
from app.terminal_sim import build_embedded_market
from app.venues import build_live_desk
from core.clock import LiveClock

EVERY_SERVICE = set(SERVICES)
WITHOUT_DESKS = EVERY_SERVICE - {"rfq"}  # RFQ runs where OTC desks exist; live desks come with FIX


def live_settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "settings.toml"
    path.write_text(
        '[market]\nmode = "live"\n'
        '[venues]\nexchanges = ["loop=ccxt:binance@http://127.0.0.1:9", "bt=ccxt:binance@testnet"]\n'
        f'[general]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[journal]\nurl = "{tmp_path / "journal.sqlite"}"\n'
    )
    return load_settings(path, env={}, overrides=[])


def test_the_embedded_market_and_simulate_build_every_service() -> None:
    market = build_embedded_market("eth-500-30m", 1, MemoryJournal())
    simulated = prepare(SimRequest("eth-500-30m", algo="ac", mc_paths=200))
    try:
        assert set(market.desk.services()) == EVERY_SERVICE
        assert market.desk.services() == simulated.desk.services()
        # the adaptive policy reads surveillance on every path, whatever the algo
        assert simulated.desk.execution.signals is simulated.desk.surveillance
        assert market.desk.rfq is not None
        assert sorted(market.desk.rfq.desks) == sorted(d.name for d in market.scenario.desks)
    finally:
        market.stop()
        simulated.exchange.stop()


def test_run_and_the_live_terminal_build_the_same_services(tmp_path: Path, qapp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BLOCKHOUSE_SECRETS_BACKEND", "memory")
    settings = live_settings(tmp_path)
    simulated = prepare(SimRequest("eth-500-30m", algo="ac", mc_paths=200))
    simulated.exchange.stop()

    async def build_both() -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
        run_desk = build_live_desk(settings, MemoryJournal(), LiveClock(), store=MemoryStore())
        terminal = build_terminal(settings, asyncio.get_running_loop(), restore_layout=False,
                                  settings_scope="BlockhouseTest-one-desk")
        try:
            assert terminal.desk is not None
            return run_desk.services(), terminal.desk.services(), terminal.desk.venue_names
        finally:
            for desk in (run_desk, terminal.desk):
                if desk is not None:
                    for venue in desk.venues.values():
                        await venue.close()  # type: ignore[attr-defined]
            terminal.window.close()
            terminal.shutdown()

    run_services, live_services, venues = asyncio.run(build_both())
    assert set(run_services) == WITHOUT_DESKS
    assert run_services == live_services
    assert {k: v for k, v in simulated.desk.services().items() if k != "rfq"} == run_services
    assert venues == ("loop", "bt")


@pytest.mark.parametrize("algo", ["twap", "ac", "adaptive"])
def test_simulate_builds_the_same_desk_whatever_the_algo(algo: str) -> None:
    start = prepare(SimRequest("eth-500-30m", algo=algo, mc_paths=200))
    start.exchange.stop()
    assert set(start.desk.services()) == EVERY_SERVICE
