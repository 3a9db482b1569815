"""Command line: no sub-command opens the terminal; sub-commands run the engine headless.

Each sub-command lives in `app/commands/<name>.py` and exposes `register(subparsers)`, which
adds its parser and sets `handler=run`. A sub-command returns its exit code: 0 ok, 2 bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from app.settings import SettingsError, load_settings

COMMANDS = (
    "version", "ac", "pretrade", "simulate", "compare", "export", "users", "kill", "calibrate", "serve-exchange", "run",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="Blockhouse — execution terminal for block trades in digital assets. "
        "With no command, opens the terminal on the embedded simulated market.",
    )
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
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"app.commands.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("app.commands"):
                continue  # that command has not been built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
