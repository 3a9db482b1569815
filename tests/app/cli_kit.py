"""Helpers for the command-line tests: run `main` in-process in a private config and data directory,
and read what a user would see."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the machine's settings, journal, user store or keys."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in [n for n in os.environ if n.startswith("BLOCKHOUSE")]:
        monkeypatch.delenv(name)
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `python main.py ARGV` (in-process)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def shell(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python main.py ARGV` as a user runs it, in a private config and data directory."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKHOUSE")}
    base.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "main.py", *argv],
        cwd=ROOT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_usage_error(code: int, err: str, *words: str) -> str:
    """Exit code 2 and one line on stderr, no traceback, naming each of `words`; the line."""
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def blocked_path(tmp_path: Path, name: str) -> Path:
    """A path no one can create, root included: its parent is a regular file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    return blocker / name
