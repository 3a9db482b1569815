"""Argument helpers shared by the headless commands."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.context
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import durations

if TYPE_CHECKING:
    from app.settings import Settings



def parse_duration(text: str, flag: str = "duration") -> float:
    """'4h', '90m', '1h30m', '45s', '2d', '1.5h' → seconds (positive); a bare number is refused.
    The one grammar of core/durations.py, which the order ticket reads too."""
    return durations.parse_duration(text, flag)


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
    """`--settings FILE` and `--set` after the command too (`python main.py kill --settings desk.toml`);
    marks the command as one that reads the settings (app/cli.py refuses them before any other)."""
    parser.add_argument(
        "--settings",
        dest="command_settings_file",  # not "settings": that would replace the one given before the command
        type=Path,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="settings TOML file (also accepted before the command)",
    )
    parser.add_argument(
        "--set",
        dest="command_overrides",  # not "overrides": that would replace the --set given before the command
        action="append",
        default=argparse.SUPPRESS,  # a nested command's parser must not reset its parent's list
        metavar="SECTION.KEY=VALUE",
        help="override one setting (also accepted before the command, with --settings FILE)",
    )
    parser.set_defaults(reads_settings=True)


def command_settings(args: argparse.Namespace) -> Settings:
    """Settings from `--settings FILE` and every `--set`, before and after the command name."""
    from app.settings import SettingsError, load_settings

    before, after = getattr(args, "settings", None), getattr(args, "command_settings_file", None)
    if before is not None and after is not None and before != after:
        raise SettingsError(f"--settings {before} before the command and --settings {after} after it: give one file")
    overrides = [*getattr(args, "overrides", []), *getattr(args, "command_overrides", [])]
    path = before or after
    return load_settings(path, overrides=overrides, named=path is not None)


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="PATH|-", help="write the result as JSON to PATH, or - for stdout")


def check_output_file(target: str | Path | None, flag: str) -> None:
    """Refuse, before any work, an output file that could not be written (`-` is stdout): a long
    run must not end in an error that loses its result. Creates nothing."""
    if target is None or str(target) == "-":
        return
    path = Path(target).expanduser()
    if path.is_dir():
        raise ValueError(f"{flag} {target}: is a folder; give a file name in it, e.g. {path / 'result.json'}")
    _check_can_write_in(path.parent, f"{flag} {target}")


def check_output_folder(target: Path, flag: str) -> None:
    """Refuse, before any work, a folder that cannot be made or written into. Creates nothing."""
    path = target.expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {target}: is a file, not a folder; give a folder (it is made if missing)")
    _check_can_write_in(path, f"{flag} {target}")


def _check_can_write_in(folder: Path, what: str) -> None:
    existing = folder
    while not existing.exists():  # missing folders are made under the nearest one that exists
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{what}: {existing} is a file, so no folder can be made in it; give another path")
    try:  # a real write: permissions, read-only file systems and root all answer the same way
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        reason = exc.strerror or exc
        raise ValueError(f"{what}: cannot write in {existing} ({reason}); give a path in a writable folder") from None


def write_json(target: str | None, data: dict[str, Any]) -> None:
    """Write `data` to `target` (`-` is stdout). If the file cannot be written after all (checked
    before the run with `check_output_file`, but a disk can fill up), the result is kept in a
    temporary file that the error names."""
    if target is None:
        return
    text = json.dumps(data, indent=2, default=_default)
    if target == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        fd, kept = tempfile.mkstemp(prefix="blockhouse-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        raise ValueError(f"could not write {target} ({exc.strerror or exc}); the result is kept in {kept}") from None


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def worker_context() -> multiprocessing.context.BaseContext:
    """Processes for parallel simulations are spawned, never forked: a fork of a process whose
    numerical libraries already started OpenMP threads aborts the child ("fork() called from a
    process already using GNU OpenMP"), which killed `compare` inside the test suite."""
    return multiprocessing.get_context("spawn")
