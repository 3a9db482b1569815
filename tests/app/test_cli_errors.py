"""A user's mistake on the command line is one line on stderr that names the problem and what to
change, with exit code 2 and no traceback; an output file is checked before the work that would
fill it, so no finished result is lost to a bad path (issue 27, "Tracebacks for a user's mistake").
An unexpected exception still shows its traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from adapters.store.journal import SqlJournal
from app.cli import main
from tests.app.cli_kit import assert_usage_error, blocked_path, cli, isolate, shell


@pytest.fixture(autouse=True)
def _own_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)


def empty_journal(path: Path) -> Path:
    SqlJournal(path, durable=False).close()
    return path


# ---- export ----------------------------------------------------------------------------------


def test_export_to_a_folder_under_a_file_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = empty_journal(tmp_path / "j.sqlite")
    target = blocked_path(tmp_path, "csv")
    code, out, err = cli(capsys, "export", "--journal", str(journal), "--csv", str(target))
    assert_usage_error(code, err, "--csv", str(target))
    assert out == ""


def test_export_to_a_file_given_as_the_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = empty_journal(tmp_path / "j.sqlite")
    target = tmp_path / "report.csv"
    target.write_text("keep me\n")
    code, _, err = cli(capsys, "export", "--journal", str(journal), "--csv", str(target))
    assert_usage_error(code, err, "--csv", "not a folder")
    assert target.read_text() == "keep me\n"


def test_export_of_a_file_that_is_not_a_journal_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    code, _, err = cli(capsys, "export", "--journal", str(text), "--csv", str(tmp_path / "out"))
    assert_usage_error(code, err, str(text), "not a Blockhouse journal")
    assert not (tmp_path / "out").exists()


def test_export_of_another_sqlite_database_leaves_it_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "users.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    before = other.read_bytes()
    code, _, err = cli(capsys, "export", "--journal", str(other), "--csv", str(tmp_path / "out"))
    assert_usage_error(code, err, str(other), "not a Blockhouse journal")
    assert other.read_bytes() == before  # no journal table created in someone else's database


# ---- output files are checked before the run -------------------------------------------------


def _refuse_to_run(*_: Any, **__: Any) -> Any:
    raise AssertionError("the run started before its output path was checked")


# (command's module, the function that does the long work, argv with {out} for the bad path, the flag)
BEFORE_THE_RUN = [
    ("simulate", "run_simulation", ["simulate", "--scenario", "calm", "--qty", "1", "--json", "{out}"], "--json"),
    ("simulate", "run_simulation", ["simulate", "--scenario", "calm", "--qty", "1", "--journal", "{out}"], "--journal"),
    ("compare", "compare", ["compare", "--scenario", "calm", "--algos", "ac", "--seeds", "1", "--json", "{out}"],
     "--json"),
    ("pretrade", "prepare", ["pretrade", "--scenario", "calm", "--qty", "1", "--horizon", "1h", "--json", "{out}"],
     "--json"),
    ("train", "fit", ["train", "--scenario", "calm", "--seeds", "1000001", "--out", "{out}"], "--out"),
    ("train", "fit", ["train", "--scenario", "calm", "--seeds", "1000001", "--out", "{ok}", "--json", "{out}"],
     "--json"),
    ("train", "read_export", ["train", "--scenario", "calm", "--fills", "{ok}", "--out", "{out}"], "--out"),
]  # fmt: skip


@pytest.mark.parametrize(("module", "work", "argv", "flag"), BEFORE_THE_RUN)
def test_an_unwritable_output_stops_the_command_before_the_run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    module: str,
    work: str,
    argv: list[str],
    flag: str,
) -> None:
    mod = __import__(f"app.commands.{module}", fromlist=[work])
    monkeypatch.setattr(mod, work, _refuse_to_run)
    bad = blocked_path(tmp_path, "result.json")
    words = [a.format(out=bad, ok=tmp_path / "ok.json") for a in argv]
    code, _, err = cli(capsys, *words)
    assert_usage_error(code, err, flag, str(bad))


def test_calibrate_checks_its_calibration_file_before_the_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.commands.calibrate as calibrate

    monkeypatch.setattr(calibrate, "calibrate", _refuse_to_run)
    monkeypatch.setattr(calibrate, "CALIBRATION_DIR", blocked_path(tmp_path, "calibration"))
    code, _, err = cli(capsys, "calibrate", "--scenario", "calm")
    assert_usage_error(code, err, "calm.json")


def test_a_json_path_that_is_a_folder_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.commands.simulate as simulate

    monkeypatch.setattr(simulate, "run_simulation", _refuse_to_run)
    code, _, err = cli(capsys, "simulate", "--scenario", "calm", "--qty", "1", "--json", str(tmp_path))
    assert_usage_error(code, err, "--json", "is a folder")


# ---- the window -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--scenario", "nosuch"], ["--scenario nosuch", "btc-block-4h"]),
        (["--set", "market.scenario=nosuch"], ["--set market.scenario=nosuch", "btc-block-4h"]),
    ],
)
def test_an_unknown_scenario_for_the_window_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    code, _, err = cli(capsys, *argv, "--screenshot", str(tmp_path / "shot.png"))
    assert_usage_error(code, err, *words)


def test_a_screenshot_to_an_unwritable_path_is_one_line_before_the_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = blocked_path(tmp_path, "shot.png")
    code, _, err = cli(capsys, "--screenshot", str(bad))
    assert_usage_error(code, err, "--screenshot", str(bad))


# ---- run: keys ------------------------------------------------------------------------------


def test_run_without_a_keyring_or_passphrase_is_the_secrets_message_alone(tmp_path: Path) -> None:
    proc = shell(
        tmp_path,
        "run", "--venue", "loop=ccxt:binance@http://127.0.0.1:9", "--side", "sell", "--qty", "1",
        "--horizon", "1m", "--journal", str(tmp_path / "run.sqlite"),
        env={"BLOCKHOUSE_SECRETS_BACKEND": "file", "BLOCKHOUSE_SECRETS_FILE": str(tmp_path / "keys.enc")},
    )  # fmt: skip
    assert_usage_error(proc.returncode, proc.stderr, "BLOCKHOUSE_SECRETS_PASSPHRASE", "keyring")


# ---- real bugs stay visible -----------------------------------------------------------------


def test_an_unexpected_exception_still_shows_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.commands.version as version

    def broken(_: Any) -> int:
        raise KeyError("a bug, not a user's mistake")

    monkeypatch.setattr(version, "run", broken)
    with pytest.raises(KeyError, match="a bug"):
        main(["version"])
