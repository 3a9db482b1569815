"""The command line imports only the command it runs (restart-to-trading budget), and settings given
before and after the command both count."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from app.cli import COMMANDS, build_parser
from app.commands.common import command_settings

ROOT = Path(__file__).resolve().parents[2]


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_only_the_named_command_is_registered() -> None:
    assert _commands(build_parser(["run", "--journal", "j.sqlite"])) == {"run"}
    assert _commands(build_parser(["--settings", "x.toml", "--set", "a.b=1", "kill", "--user", "sam"])) == {"kill"}
    assert _commands(build_parser(["--scenario", "run", "--at", "3"])) == set()  # the window: "run" was a value
    every = set(COMMANDS)
    assert _commands(build_parser(["--help"])) == every
    assert _commands(build_parser(["pretrad"])) == every  # a typo is told the choices
    assert _commands(build_parser(None)) == every


def test_run_and_kill_start_without_the_simulator_numba_pandas_qt_or_ccxt() -> None:
    code = (
        "import sys\n"
        "from app.cli import build_parser\n"
        "for argv in (['run', '--resume'], ['kill', '--user', 'sam']):\n"
        "    build_parser(argv).parse_args(argv)\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'numba', 'pandas', 'PySide6', 'ccxt'})\n"
        "heavy += sorted(m for m in sys.modules if m.startswith(('app.simulation', 'adapters.sim')))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_set_before_and_after_the_command_both_count(tmp_path: Path) -> None:
    settings_file = tmp_path / "desk.toml"
    settings_file.write_text("[market]\nseed = 7\n")
    argv = [
        "--settings",
        str(settings_file),
        "--set",
        "market.speed=3",
        "kill",
        "--user",
        "sam",
        "--set",
        "market.mode=live",
    ]
    args = build_parser(argv).parse_args(argv)
    settings = command_settings(args)
    assert (settings.get("market.seed"), settings.get("market.speed"), settings.get("market.mode")) == (7, 3.0, "live")
