"""Command line: no sub-command opens the terminal; sub-commands run the engine headless.

Each sub-command lives in `app/commands/<name>.py` and exposes `register(subparsers)`, which
adds its parser and sets `handler=run`. A sub-command returns its exit code: 0 ok, 2 bad input.

Start-up cost: some command modules import the simulator, numba and pandas at import time, so
only the module of the command named on the command line is imported (a restart of `run` after a
crash must trade again within 3 s). `python main.py --help`, an unknown command and the window
(no command) import them all, so the help lists every command and a typo is told the choices.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import NoReturn

from app.settings import SettingsError, load_settings

COMMANDS = (
    "version", "ac", "pretrade", "simulate", "compare", "export", "users", "kill", "calibrate", "train",
    "serve-exchange", "run",
)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command-line parser; with `argv`, only the command named there is registered."""
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="Blockhouse — execution terminal for block trades in digital assets. "
        "With no command, opens the terminal on the embedded simulated market.",
    )
    _global_options(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in _commands_to_register(argv):
        try:
            module = importlib.import_module(f"app.commands.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("app.commands"):
                continue  # that command has not been built yet
            raise
        module.register(subparsers)
    return parser


def _global_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--settings", type=Path, help="settings TOML file (default: the user config directory)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one setting, e.g. --set market.speed=60",
    )
    parser.add_argument("--screenshot", type=Path, metavar="PATH", help="render the window offscreen to PATH and exit")
    parser.add_argument("--scenario", help="embedded-market scenario for the window (default: market.scenario)")
    parser.add_argument(
        "--at",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="with --screenshot: simulated seconds to run before the shot",
    )
    return parser


def _commands_to_register(argv: list[str] | None) -> tuple[str, ...]:
    """The command named in `argv` alone when there is one; every command otherwise (help, a typo)."""
    if argv is None:
        return COMMANDS
    try:  # the global options consume their values, so the first word left is the command
        _, rest = _global_options(_QuietParser(add_help=False)).parse_known_args(argv)
    except ValueError:
        return COMMANDS  # the real parser reports the mistake
    first = next((word for word in rest if not word.startswith("-")), None)
    if first is None and not {"-h", "--help"} & set(rest):
        return ()  # the window: no command to parse
    return (first,) if first in COMMANDS else COMMANDS


class _QuietParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is not None:
        try:
            return int(handler(args))
        except (ValueError, SettingsError) as exc:  # bad input: say what to change, exit 2
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except PermissionError as exc:  # wrong password, or the role does not allow it
            print(f"refused: {exc}", file=sys.stderr)
            return 3
    try:
        settings = load_settings(args.settings, overrides=args.overrides)
    except SettingsError as exc:
        print(f"settings error: {exc}", file=sys.stderr)
        return 2
    from app.gui import run_gui  # Qt is imported only when a window is wanted

    return run_gui(settings, screenshot=args.screenshot, scenario=args.scenario, at_s=args.at)
