"""Command line: no sub-command opens the terminal; sub-commands run the engine headless.

Each sub-command lives in `app/commands/<name>.py` and exposes `register(subparsers)`, which
adds its parser and sets `handler=run`. A sub-command returns its exit code: 0 ok, 2 bad input.

A user's mistake is one line on stderr that names it and what to change, with exit code 2: the
exceptions whose message is written for the user (ValueError — SettingsError and ScenarioError are
ones — and SecretsError) are caught here, and nothing else: any other exception is a bug and shows
its traceback. Options a command would ignore (the window's, or settings for a command that does
not read them) are refused rather than dropped.

Start-up cost: some command modules import the simulator, numba and pandas at import time, so
only the module of the command named on the command line is imported (a restart of `run` after a
crash must trade again within 3 s). `python main.py --help`, an unknown command and the window
(no command) import them all, so the help lists every command and a typo is told the choices.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from pathlib import Path
from typing import NoReturn

from app.settings import Settings, SettingsError, load_settings

COMMANDS = (
    "version", "ac", "pretrade", "simulate", "compare", "export", "users", "kill", "calibrate", "train",
    "serve-exchange", "run",
)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command-line parser; with `argv`, only the command named there is registered."""
    parser = _Parser(
        prog="python main.py",
        description="Blockhouse — execution terminal for block trades in digital assets. "
        "With no command, opens the terminal on the embedded simulated market.",
    )
    _global_options(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for name in _commands_to_register(argv):
        try:
            module = importlib.import_module(f"app.commands.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("app.commands"):
                continue  # that command has not been built yet
            raise
        module.register(subparsers)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse's own usage errors in one line, like ours (not the whole usage first); exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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
    parser.add_argument(
        "--scenario",
        dest="window_scenario",  # not "scenario": a command's own --scenario would hide it
        help="embedded-market scenario for the window (default: market.scenario)",
    )
    parser.add_argument(
        "--at",
        type=float,
        metavar="SECONDS",
        help="with --screenshot: simulated seconds after the scenario's start to run before the shot (default 0)",
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
            _refuse_ignored_options(args)
            return int(handler(args))
        except PermissionError as exc:  # wrong password, or the role does not allow it
            print(f"refused: {exc}", file=sys.stderr)
            return 3
        except Exception as exc:
            if not isinstance(exc, _user_errors()):
                raise
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        settings, at_s = _window_inputs(args)
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        print(f"{'settings error' if isinstance(exc, SettingsError) else 'error'}: {exc}", file=sys.stderr)
        return 2
    from app.gui import run_gui  # Qt is imported only when a window is wanted

    return run_gui(settings, screenshot=args.screenshot, scenario=args.window_scenario, at_s=at_s)


def _user_errors() -> tuple[type[Exception], ...]:
    """The exceptions whose message is written for the user. SecretsError counts once its module
    is loaded (a command that never touched keys cannot raise it; importing it here would cost
    every command the import)."""
    secrets = sys.modules.get("adapters.secrets.store")
    return (ValueError, secrets.SecretsError) if secrets is not None else (ValueError,)


def _refuse_ignored_options(args: argparse.Namespace) -> None:
    """Options before a command that it would not read are a mistake, not something to drop."""
    command = args.command
    window = [flag for flag, dest in WINDOW_OPTIONS if getattr(args, dest) is not None]
    if window:
        raise ValueError(
            f"{', '.join(window)} before `{command}`: window options, for `python main.py` without a command; drop them"
        )
    settings = (["--settings"] if args.settings is not None else []) + (["--set"] if args.overrides else [])
    if settings and not getattr(args, "reads_settings", False):
        raise ValueError(
            f"{' and '.join(settings)} before `{command}`: `{command}` does not read the settings "
            "(run, kill, users and the window do); drop them"
        )


WINDOW_OPTIONS = (("--screenshot", "screenshot"), ("--scenario", "window_scenario"), ("--at", "at"))


def _window_inputs(args: argparse.Namespace) -> tuple[Settings, float]:
    """The window's settings and `--at`, checked before Qt starts: a bad value or an unwritable
    screenshot path is told at once, not after the demo has run."""
    from app.commands.common import check_output_file

    at_s = 0.0 if args.at is None else float(args.at)
    if args.at is not None and args.screenshot is None:
        raise ValueError("--at: only with --screenshot PATH (the window itself runs in real time from the start)")
    if not math.isfinite(at_s) or at_s < 0:
        raise ValueError(f"--at {args.at:g}: give simulated seconds after the scenario's start, 0 or more (e.g. 2940)")
    settings = load_settings(args.settings, overrides=args.overrides, named=args.settings is not None)
    if settings.get("market.mode") == "sim":
        _check_scenario(settings, args.window_scenario)
    check_output_file(args.screenshot, "--screenshot")
    return settings, at_s


def _check_scenario(settings: Settings, name: str | None) -> None:
    """An unknown scenario stops start-up with the shipped names, and says where the name came from."""
    from adapters.sim.scenario import ScenarioError, load_scenario

    scenario = name or str(settings.get("market.scenario"))
    try:
        load_scenario(scenario)
    except ScenarioError as exc:
        if name is not None:
            raise ValueError(f"--scenario {name}: {exc}") from None
        raise SettingsError(f"{settings.source['market.scenario']}: {exc}") from None
