"""Settings on the command line do what docs/settings.md says (issue 27, "Settings surprises"): a
named settings file that does not exist is an error; `--settings` and `--set` work before or after
`run`, `kill` and `users`; options that a command would ignore are refused; `kill` says exactly
which journal it halted."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from adapters.store.journal import SqlJournal
from adapters.store.users import UserStore
from app.cli import build_parser
from app.commands.common import command_settings
from app.settings import SettingsError, load_settings
from core.actors import Role
from core.clock import SimClock
from core.engine import Engine
from tests.app.cli_kit import assert_usage_error, cli, isolate

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _own_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)


def supervisor_sam(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    UserStore(data_dir / "users.sqlite").add("sam", Role.SUPERVISOR, PASSWORD)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))


def test_a_missing_settings_file_is_an_error_and_nothing_is_halted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    default_data = tmp_path / "data" / "Blockhouse"
    supervisor_sam(default_data, monkeypatch)
    typo = tmp_path / "desk-typo.toml"
    code, out, err = cli(capsys, "--settings", str(typo), "kill", "--user", "sam", "--password-stdin")
    assert_usage_error(code, err, f"--settings {typo}", "no such file")
    assert out == "" and not (default_data / "journal.sqlite").exists()


def test_load_settings_refuses_a_named_file_that_is_missing_or_a_folder(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such file"):
        load_settings(tmp_path / "absent.toml", env={}, named=True)
    with pytest.raises(SettingsError, match="is a folder"):
        load_settings(tmp_path, env={}, named=True)
    # the default location is optional: no file there is no user layer
    assert load_settings(tmp_path / "absent.toml", env={}).path is None


@pytest.mark.parametrize(
    "argv",
    [
        ["kill", "--user", "sam", "--settings", "{file}"],
        ["run", "--resume", "--settings", "{file}"],
        ["users", "list", "--settings", "{file}"],
        ["users", "--settings", "{file}", "list"],
        ["--settings", "{file}", "kill", "--user", "sam"],
    ],
)
def test_settings_work_before_or_after_the_command(tmp_path: Path, argv: list[str]) -> None:
    desk = tmp_path / "desk.toml"
    desk.write_text("[market]\nseed = 7\n")
    words = [w.format(file=desk) for w in argv]
    settings = command_settings(build_parser(words).parse_args(words))
    assert settings.get("market.seed") == 7 and settings.path == desk


def test_two_different_settings_files_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("")
    b.write_text("")
    code, _, err = cli(capsys, "--settings", str(a), "users", "list", "--settings", str(b))
    assert_usage_error(code, err, str(a), str(b))


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--settings", "{file}", "version"], ["version", "--settings"]),
        (["--set", "market.seed=3", "version"], ["version", "--set"]),
        (["--screenshot", "{shot}", "version"], ["version", "--screenshot"]),
        (["--at", "60", "version"], ["version", "--at"]),
    ],
)
def test_options_a_command_would_ignore_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    desk = tmp_path / "desk.toml"
    desk.write_text("")
    code, out, err = cli(capsys, *[w.format(file=desk, shot=tmp_path / "s.png") for w in argv])
    assert_usage_error(code, err, *words)
    assert out == ""


def test_kill_on_the_embedded_market_says_which_journal_it_halted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "desk-data"
    supervisor_sam(data, monkeypatch)
    code, out, err = cli(capsys, "kill", "--user", "sam", "--password-stdin", "--set", f"general.data_dir={data}")
    assert code == 0, err
    journal = data / "journal.sqlite"
    report = json.loads(out)  # stdout is the JSON report alone
    assert report["journal"] == f"sqlite:///{journal}" and report["state"] == "halted"
    assert Engine(SimClock(), SqlJournal(journal)).risk.killed  # that journal is the one halted
    assert f"halted {report['journal']}" in err
    assert f"--set general.data_dir={data}" in err  # where that journal's location came from
    assert str(data / "sim-journals") in err and "halts within a second" in err  # the embedded terminal watches it
