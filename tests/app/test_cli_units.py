"""Units that agree (issue 27): one duration grammar for every command that takes a horizon (a bare
number is refused: 240 was 4 minutes on the command line and 4 hours in the ticket), exports in
plain decimals, a unit on every figure of `simulate`'s summary line, no negative `--at`."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.commands.common import parse_duration
from tests.app.cli_kit import assert_usage_error, cli, isolate
from widgets.ticket import parse_horizon as ticket_horizon

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC


@pytest.fixture(autouse=True)
def _own_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)


# ---- one horizon grammar ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["4h", "90m", "1h30m", "45s", "2d", "1.5h", "1d2h3m4s", " 4H "])
def test_a_duration_means_on_the_command_line_what_it_means_in_the_ticket(text: str) -> None:
    assert parse_duration(text) == ticket_horizon(text, T0)


@pytest.mark.parametrize("text", ["0h", "four hours", "4 hours", "-4h", "h", ""])
def test_a_bare_number_or_a_non_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="write a positive number with s, m, h or d"):
        parse_duration(text, "--horizon")


def test_a_bare_number_is_asked_for_its_unit() -> None:
    with pytest.raises(ValueError, match=r"--horizon '240' has no unit: write 240s, 240m or 240h"):
        parse_duration("240", "--horizon")


def _refuse_to_run(*_: Any, **__: Any) -> Any:
    raise AssertionError("the command ran with a bare horizon")


HORIZON_COMMANDS = [
    ("simulate", "run_simulation", ["simulate", "--scenario", "calm", "--qty", "1", "--horizon", "240"], "--horizon"),
    ("pretrade", "prepare", ["pretrade", "--scenario", "calm", "--qty", "1", "--horizon", "240"], "--horizon"),
    ("compare", "compare", ["compare", "--scenario", "calm", "--algos", "ac", "--horizon", "240"], "--horizon"),
    ("compare", "compare", ["compare", "--scenario", "calm", "--arms", "a=ac:horizon=240"], "horizon"),
    ("train", "fit", ["train", "--scenario", "calm", "--horizon", "240"], "--horizon"),
    ("train", "read_export", ["train", "--scenario", "calm", "--fills", "x", "--markout", "240"], "--markout"),
    ("calibrate", "calibrate", ["calibrate", "--scenario", "calm", "--horizons", "1h,240"], "--horizons"),
    ("run", "_main", ["run", "--venue", "a=ccxt:binance@testnet", "--side", "sell", "--qty", "1", "--horizon", "240"],
     "--horizon"),
]  # fmt: skip


@pytest.mark.parametrize(("module", "work", "argv", "flag"), HORIZON_COMMANDS)
def test_every_command_refuses_a_bare_horizon_before_it_runs(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    module: str,
    work: str,
    argv: list[str],
    flag: str,
) -> None:
    monkeypatch.setattr(__import__(f"app.commands.{module}", fromlist=[work]), work, _refuse_to_run)
    code, _, err = cli(capsys, *argv)
    assert_usage_error(code, err, flag, "240s, 240m or 240h")


# ---- negative times -------------------------------------------------------------------------


@pytest.mark.parametrize("at", ["-500", "nan", "inf"])
def test_a_screenshot_before_the_start_or_never_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str
) -> None:
    code, _, err = cli(capsys, "--screenshot", str(tmp_path / "s.png"), "--at", at)
    assert_usage_error(code, err, "--at", at)


def test_a_kill_before_the_start_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.commands.simulate.run_simulation", _refuse_to_run)
    code, _, err = cli(capsys, "simulate", "--scenario", "calm", "--qty", "1", "--kill-at", "-5")
    assert_usage_error(code, err, "--kill-at", "-5")


# ---- a real run: its summary line and its export --------------------------------------------


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 5-minute sell of 5 BTC on btc-block-4h (OTC desks quote), journaled and exported."""
    folder = tmp_path_factory.mktemp("short-run")
    journal, result_file, csv_dir = folder / "run.sqlite", folder / "run.json", folder / "csv"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        argv = ["simulate", "--scenario", "btc-block-4h", "--algo", "ac", "--qty", "5", "--horizon", "5m"]
        assert main([*argv, "--journal", str(journal), "--json", str(result_file)]) == 0
        assert main(["export", "--journal", str(journal), "--csv", str(csv_dir)]) == 0
    return {"line": printed.getvalue().splitlines()[0], "result": json.loads(result_file.read_text()), "csv": csv_dir}


def test_every_figure_of_the_simulate_summary_has_its_unit(short_run: dict[str, Any]) -> None:
    line, r = short_run["line"], short_run["result"]
    head, figures = line.split(": ", 1)
    assert head == f"btc-block-4h ac seed {r['seed']}"
    pattern = (
        r"sell (\S+) BTC, filled (\S+) BTC at (\S+) USDT \(arrival (\S+) USDT\); "
        r"IS (\S+) bps, adjusted (\S+) bps; OTC (\S+) BTC; (\d+) children; wall (\S+) s"
    )
    m = re.fullmatch(pattern, figures)
    assert m, line
    keys = ("qty", "filled_qty", "avg_price", "arrival_mid", "implementation_shortfall_bps", "is_adjusted_bps",
            "otc_qty", "child_orders")
    for key, shown in zip(keys, m.groups(), strict=False):
        assert float(shown) == pytest.approx(r[key], abs=0.006), (key, shown)
    assert r["otc_qty"] > 0  # the OTC figure was there to be read


PLAIN_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
EXPONENT = re.compile(r"^-?\d+(\.\d+)?[eE][+-]?\d+$")


def test_export_writes_prices_and_quantities_as_plain_decimals(short_run: dict[str, Any]) -> None:
    folder = short_run["csv"]
    rows = 0
    for table in ("children", "fills", "otc_fills", "rfq_quotes", "parents"):
        text = (folder / f"{table}.csv").read_text(encoding="utf-8")
        assert not [cell for cell in re.split(r"[,\r\n]", text) if EXPONENT.match(cell)], table
        for row in csv.DictReader(io.StringIO(text)):
            for column in ("price", "quantity", "avg_price", "filled", "fee", "fees_quote", "staged_mid"):
                if row.get(column):
                    assert PLAIN_DECIMAL.fullmatch(row[column]), (table, column, row[column])
                    rows += 1
    assert rows > 100  # the run filled: there were cells to check
    prices = [float(row["price"]) for row in csv.DictReader((folder / "fills.csv").open(encoding="utf-8"))]
    assert all(50_000 < p < 70_000 for p in prices)  # BTC/USDT prices, not 6 or 6E+4
