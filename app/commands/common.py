"""Argument helpers shared by the headless commands."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.context
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.settings import Settings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """'4h', '30m', '90s', '1.5h' or plain seconds → seconds."""
    m = _DURATION.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"duration {text!r}: write a positive number with s, m, h or d (e.g. 4h, 30m)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_seeds(text: str) -> list[int]:
    """'1-20', '1,5,9' or '3' → seed list."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if re.fullmatch(r"\d+-\d+", part):
            a, b = (int(x) for x in part.split("-"))
            if b < a:
                raise ValueError(f"seed range {part!r} runs backwards")
            seeds.extend(range(a, b + 1))
        elif part.isdigit():
            seeds.append(int(part))
        else:
            raise ValueError(f"seeds {text!r}: write e.g. 1-20 or 1,5,9")
    return seeds


def parse_sets(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: write it as dotted.key=value (e.g. venues.0.taker_fee_bps=5)")
        out[key.strip()] = value.strip()
    return out


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """`--set` after the command too (`python main.py kill --set market.mode=live`)."""
    parser.add_argument(
        "--set",
        dest="command_overrides",  # not "overrides": that would replace the --set given before the command
        action="append",
        default=argparse.SUPPRESS,  # a nested command's parser must not reset its parent's list
        metavar="SECTION.KEY=VALUE",
        help="override one setting (also accepted before the command, with --settings FILE)",
    )


def command_settings(args: argparse.Namespace) -> Settings:
    """Settings from `--settings FILE` and every `--set`, before and after the command name."""
    from app.settings import load_settings

    overrides = [*getattr(args, "overrides", []), *getattr(args, "command_overrides", [])]
    return load_settings(getattr(args, "settings", None), overrides=overrides)


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="PATH|-", help="write the result as JSON to PATH, or - for stdout")


def write_json(target: str | None, data: dict[str, Any]) -> None:
    if target is None:
        return
    text = json.dumps(data, indent=2, default=_default)
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(text + "\n", encoding="utf-8")


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def worker_context() -> multiprocessing.context.BaseContext:
    """Processes for parallel simulations are spawned, never forked: a fork of a process whose
    numerical libraries already started OpenMP threads aborts the child ("fork() called from a
    process already using GNU OpenMP"), which killed `compare` inside the test suite."""
    return multiprocessing.get_context("spawn")
