"""Fault injection and rate-limit knobs of the loopback exchange.

Set at start (`serve-exchange --fault NAME=VALUE`, repeatable) or while running
(``POST /admin/faults`` with a JSON object of the same names; ``DELETE /admin/faults`` resets).
Every knob is documented on its field; times are seconds unless the name says ``_ms``.
Probabilities are drawn from the server's seeded generator, so a run is reproducible.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

HTTP_FAULT_STATUSES = (0, 429, 418, 500, 502, 503, 504)
GARBLE_STREAMS = ("", "depth", "trade", "user")  # what `ws_garble_only` may name ("" = every stream)
GARBLE_MODES = ("malformed", "truncated")


@dataclass(slots=True)
class Faults:
    # --- rate limits, as Binance spot counts them (per IP weight, per account orders) ---
    weight_per_min: int = 6000  # REQUEST_WEIGHT per rolling minute per IP; beyond it: 429
    orders_per_10s: int = 100  # new orders per rolling 10 s per account; beyond it: 429 (-1015)
    ban_after_violations: int = 3  # requests sent while told to back off (after a 429) before a 418 ban
    violation_grace_ms: float = 250.0  # requests this soon after a 429 were in flight already: not violations
    ban_s: float = 120.0  # how long a 418 ban lasts
    # --- injected HTTP answers (REST only; /admin is never affected) ---
    http_status: int = 0  # answer REST requests with this status (429, 418, 500, 502, 503, 504); 0 = off
    http_status_for_s: float = 0.0  # ...for this long from when it was set (0 = until cleared)
    http_status_prob: float = 1.0  # ...each request with this probability
    retry_after_s: int = 1  # Retry-After sent with an injected 429/418
    # --- order acknowledgements (POST /api/v3/order) ---
    ack_delay_ms: float = 0.0  # the order is placed at once; its HTTP answer is held this long
    ack_delay_prob: float = 1.0  # ...for this share of orders
    ack_drop_prob: float = 0.0  # the order is placed, its answer never comes (connection dropped later)
    order_drop_prob: float = 0.0  # the request is lost before the matching engine: no order, no answer
    drop_hold_s: float = 30.0  # how long a dropped answer keeps the connection hanging before closing it
    cancel_delay_ms: float = 0.0  # DELETE /api/v3/order: the cancel is applied at once, its answer held
    # --- websockets ---
    user_delay_ms: float = 0.0  # user-data events (executionReport, balances) reach clients this late
    ws_drop_every_s: float = 0.0  # close every websocket every N seconds of venue (simulated) time; 0 = off
    skip_seq_prob: float = 0.0  # withhold a diff-depth message (a sequence gap) with this probability
    skip_seq_every: int = 0  # ...or every Nth diff-depth message; 0 = off
    ws_auth_stall_s: float = 0.0  # a ws-api user-data subscription is made at once, its answer held this long
    # --- garbled answers: what a corrupting proxy or a broken gateway delivers ---
    rest_malformed_prob: float = 0.0  # a REST answer (the request was carried out) is sent as text that is not JSON
    rest_truncated_prob: float = 0.0  # a REST answer is cut off half-way through its JSON
    rest_garble_only: str = ""  # ...only answers to "METHOD /path" or "/path", e.g. "POST /api/v3/order"; "" = all
    ws_malformed_prob: float = 0.0  # a websocket frame is sent as text that is not JSON
    ws_truncated_prob: float = 0.0  # a websocket frame is cut off half-way through its JSON
    ws_garble_only: str = ""  # ...only frames of this stream: "depth", "trade" or "user"; "" = all
    # --- bookkeeping (set by the server, not by users) ---
    http_status_until: float = field(default=0.0, repr=False)

    def update(self, values: dict[str, Any], now: float) -> None:
        """Apply NAME=VALUE pairs (strings or JSON values); unknown names raise ValueError."""
        names = {f.name: f for f in dataclasses.fields(self) if f.name != "http_status_until"}
        for key, raw in values.items():
            if key not in names:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(names))}")
            current = getattr(self, key)
            if isinstance(current, str):
                text = str(raw).strip()
                if key == "ws_garble_only" and text not in GARBLE_STREAMS:
                    raise ValueError(f"ws_garble_only names a stream: depth, trade, user or empty, got {raw!r}")
                setattr(self, key, text)
                continue
            try:
                value = type(current)(float(raw)) if isinstance(current, int) else float(raw)
            except (TypeError, ValueError):
                raise ValueError(f"fault {key} needs a number, got {raw!r}") from None
            if key == "http_status" and value not in HTTP_FAULT_STATUSES:
                raise ValueError(f"http_status must be one of {HTTP_FAULT_STATUSES}, got {value}")
            if key.endswith("_prob") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} is a probability in [0, 1], got {value}")
            setattr(self, key, value)
        if "http_status" in values or "http_status_for_s" in values:
            self.http_status_until = now + self.http_status_for_s if self.http_status_for_s > 0 else 0.0

    def http_fault_active(self, now: float) -> bool:
        if not self.http_status:
            return False
        if self.http_status_until and now >= self.http_status_until:
            self.http_status = 0
            return False
        return True

    def rest_garble_mode(self, method: str, path: str, draw: Callable[[], float]) -> str | None:
        """How to garble the answer to `method path` ("malformed", "truncated"), or None.
        `draw` gives uniform [0, 1) numbers (the server's seeded generator)."""
        if not (self.rest_malformed_prob or self.rest_truncated_prob):
            return None
        only_method, _, only_path = self.rest_garble_only.rpartition(" ")
        if not path.startswith(only_path) or (only_method and only_method.upper() != method.upper()):
            return None
        return _draw_mode(self.rest_malformed_prob, self.rest_truncated_prob, draw)

    def ws_garble_mode(self, stream: str, draw: Callable[[], float]) -> str | None:
        """How to garble a frame of `stream` ("depth", "trade", "user"), or None."""
        if not (self.ws_malformed_prob or self.ws_truncated_prob):
            return None
        if self.ws_garble_only and self.ws_garble_only != stream:
            return None
        return _draw_mode(self.ws_malformed_prob, self.ws_truncated_prob, draw)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def garble(text: str, mode: str) -> str:
    """`text` (JSON) made unreadable as a corrupting proxy would: "truncated" keeps its first half;
    "malformed" breaks its syntax (the first ``":`` becomes ``"=``) and keeps its length. Both
    still start like JSON, so a client tries to parse them."""
    if mode == "truncated":
        return text[: max(1, len(text) // 2)]
    if '":' in text:
        return text.replace('":', '"=', 1)
    return text[:-1] + "?"


def _draw_mode(malformed_prob: float, truncated_prob: float, draw: Callable[[], float]) -> str | None:
    if malformed_prob and draw() < malformed_prob:
        return "malformed"
    if truncated_prob and draw() < truncated_prob:
        return "truncated"
    return None


def parse_fault_flags(flags: list[str]) -> dict[str, str]:
    """`["ack_delay_ms=3000", "skip_seq_prob=0.01"]` → {"ack_delay_ms": "3000", ...}."""
    out: dict[str, str] = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--fault {flag!r}: write it as NAME=VALUE, e.g. --fault ack_delay_ms=3000")
        out[name.strip()] = value.strip()
    return out
