"""Live venues from settings: `[venues]` builds ccxt venues; every mistake names the key and what to change;
settings hold key references only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adapters.ccxt import CcxtVenue
from adapters.secrets import MemoryStore
from app.settings import SettingsError, load_settings
from app.venues import build_live_venues, live_venue_settings

ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path, toml: str = "", *overrides: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "settings.toml"
    path.write_text(toml)
    return load_settings(path, env={}, overrides=list(overrides))


def test_sim_mode_has_no_exchange_venues(tmp_path: Path) -> None:
    assert build_live_venues(_settings(tmp_path)) == ({}, [])


def test_a_settings_file_builds_one_ccxt_venue_per_exchange(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        '[market]\nmode = "live"\n'
        '[venues]\nexchanges = ["bt=ccxt:binance@testnet", "loop=ccxt:binance@http://127.0.0.1:8901"]\n'
        'symbols = ["btc/usdt", "ETH/USDT"]\n'
        '[venues.keys]\nbt = "binance-testnet"\n',
    )
    venues, symbols = build_live_venues(settings, store=MemoryStore(), ack_timeout_s=2.0)
    assert symbols == ["BTC/USDT", "ETH/USDT"] and sorted(venues) == ["bt", "loop"]
    bt, loop = venues["bt"], venues["loop"]
    assert isinstance(bt, CcxtVenue) and isinstance(loop, CcxtVenue)
    assert (bt.config.exchange_id, bt.config.sandbox, bt.config.url) == ("binance", True, None)
    assert bt.config.credentials_ref == "binance-testnet" and loop.config.credentials_ref == "loop"
    assert loop.config.url == "http://127.0.0.1:8901" and not loop.config.sandbox
    assert bt.config.symbols == ("BTC/USDT", "ETH/USDT") and bt.config.ack_timeout_s == 2.0


def test_command_line_text_for_lists_is_split_at_commas(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        "",
        "market.mode=live",
        "venues.exchanges=a=ccxt:binance@testnet, b=ccxt:binance@http://127.0.0.1:9",
        "venues.keys={a = 'ref-a'}",
    )
    live = live_venue_settings(settings)
    assert live.specs == ("a=ccxt:binance@testnet", "b=ccxt:binance@http://127.0.0.1:9")
    assert live.key_refs == {"a": "ref-a"} and live.symbols == ("BTC/USDT",)


@pytest.mark.parametrize(
    ("toml", "overrides", "message"),
    [
        ("", ["market.mode=live"], r"needs at least one exchange venue: add venues.exchanges"),
        (
            "",
            ["market.mode=live", "venues.exchanges=binance"],
            r"--set venues.exchanges=binance: venues.exchanges: "
            r"venue 'binance' must look like NAME=ccxt:EXCHANGE",
        ),
        ("", ["market.mode=live", "venues.exchanges=a=ccxt:binance@ftp://x"], r"must be 'testnet' or a base URL"),
        ("", ["market.mode=live", "venues.exchanges=a=ccxt:binance@http://u:p@host:1"], r"must not carry credentials"),
        ("", ["market.mode=live", "venues.exchanges=a=ccxt:binance,a=ccxt:okx"], r"venue a is configured twice"),
        (
            "",
            ["market.mode=live", "venues.exchanges=a=ccxt:binance", "venues.symbols=BTCUSDT"],
            r"venues.symbols: instrument must look like 'BTC/USDT'",
        ),
        (
            '[venues.keys]\na = "ref"\n',
            ["market.mode=live", "venues.exchanges=b=ccxt:binance"],
            r"venues.keys names venue 'a', which is not in venues.exchanges \(b\)",
        ),
        (
            '[venues.keys]\na = "has space"\n',
            ["market.mode=live", "venues.exchanges=a=ccxt:binance"],
            r"venues.keys.a = 'has space' is not a keyring reference",
        ),
        ("", ["venues.exchanges=[1]"], r"every element of venues.exchanges must be a str"),
        ("", ["venues.keys={a = 1}"], r"every value of venues.keys must be a str"),
        ("", ["venues.keys=ref"], r"venues.keys must be a dict"),
    ],
)
def test_mistakes_name_the_key_and_what_to_change(
    tmp_path: Path, toml: str, overrides: list[str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        live_venue_settings(_settings(tmp_path, toml, *overrides))


@pytest.mark.parametrize(
    "secret",
    [
        "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",  # Binance-style API key
        "3f2504e0-4f89-41d3-9a0c-0305e82c3301",  # UUID-style (OKX, Coinbase)
    ],
)
def test_an_api_key_written_where_a_reference_belongs_is_refused(tmp_path: Path, secret: str) -> None:
    settings = _settings(
        tmp_path,
        f'[market]\nmode = "live"\n[venues]\nexchanges = ["bt=ccxt:binance"]\n[venues.keys]\nbt = "{secret}"\n',
    )
    with pytest.raises(SettingsError, match="looks like an API key itself") as err:
        live_venue_settings(settings)
    assert secret not in str(err.value)  # the message does not repeat it either


def test_reading_venue_settings_does_not_import_ccxt() -> None:
    code = (
        "import sys\n"
        "from app.settings import load_settings\n"
        "from app.venues import live_venue_settings\n"
        "s = load_settings(env={}, overrides=['market.mode=live', 'venues.exchanges=a=ccxt:binance@testnet'])\n"
        "live_venue_settings(s)\n"
        "assert 'ccxt' not in sys.modules, 'ccxt imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
