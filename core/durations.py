"""One grammar for durations, wherever a trader types one: the order ticket and every command.

Days, hours, minutes and seconds in that order, each optional: '4h', '90m', '1h30m', '45s',
'2d', '1.5h'. A bare number is refused: it meant seconds on the command line and minutes in the
ticket, so `240` was 4 minutes in one place and 4 hours in the other.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")
_UNIT_S = (86_400.0, 3_600.0, 60.0, 1.0)


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds (positive) of a duration; `ValueError` says what to write instead."""
    compact = (text or "").strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", compact):
        raise ValueError(f"{what} {text.strip()!r} has no unit: write {compact}s, {compact}m or {compact}h")
    m = _DURATION.fullmatch(compact)
    seconds = sum(float(v) * unit for v, unit in zip(m.groups(), _UNIT_S, strict=True) if v) if m else 0.0
    if seconds <= 0:
        raise ValueError(f"{what} {text!r}: write a positive number with s, m, h or d (e.g. 4h, 90m, 1h30m)")
    return seconds
