"""How a ccxt venue is configured: exchange id, testnet or URL override, key reference, symbols.

On the command line a venue is ``NAME=ccxt:EXCHANGE[@WHERE]``:

- ``binance=ccxt:binance`` — production endpoints;
- ``binance=ccxt:binance@testnet`` — the exchange's sandbox (ccxt ``set_sandbox_mode(True)``);
- ``loop=ccxt:binance@http://127.0.0.1:8901`` — every REST and WebSocket URL pointed at one base
  URL (the loopback exchange, or any Binance-spot-compatible gateway).

API keys are referenced by name (``key_ref``; by default the venue's name) and looked up in
`adapters.secrets` when the venue connects; they never appear in this object's repr, in settings
or in the journal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

_SPEC_RE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_-]{0,31})=ccxt:(?P<exchange>[a-z0-9]+)(?:@(?P<where>\S+))?$")


@dataclass(frozen=True, slots=True)
class CcxtVenueConfig:
    name: str
    exchange_id: str = "binance"
    url: str | None = None  # base URL override (http://host:port); None = the exchange's own URLs
    sandbox: bool = False  # the exchange's testnet
    key_ref: str = ""  # reference into adapters.secrets; "" = the venue name
    symbols: tuple[str, ...] = ("BTC/USDT",)
    recv_window_ms: int = 5000  # signing window; the clock offset alert fires beyond half of it
    ack_timeout_s: float = 5.0  # no answer to a new order within this: the order is UNKNOWN
    request_timeout_s: float = 10.0  # ccxt's HTTP timeout (bounds how long an UNKNOWN stays in flight)
    unknown_grace_s: float = 2.0  # "not found" twice this far apart before an UNKNOWN order counts as never placed
    book_levels: int = 50  # levels per side in each BookUpdate the engine receives
    snapshot_limit: int = 1000  # depth of the REST snapshot a book (re)synchronises from
    # a synced book with no update for this long is stale: the engine gets an empty book, the venue
    # reports itself down, and the book is resubscribed (0 = never). A liquid Binance book updates
    # every 100 ms; a quiet one costs a REST snapshot per period
    book_stale_after_s: float = 5.0
    # the user-data subscription (ccxt's authenticate) must be answered within this; else its
    # connection is dropped and the subscription retried on a fresh one
    auth_timeout_s: float = 10.0
    reconnect_min_s: float = 0.2  # back-off between reconnect attempts: doubles up to reconnect_max_s
    reconnect_max_s: float = 10.0
    clock_check_every_s: float = 60.0
    # ccxt's limiter: "rollingWindow" spends the exchange's per-minute weight budget as the exchange
    # counts it (bursts allowed, e.g. a reconciliation or a kill switch); "leakyBucket" spaces every call
    rate_limiter: str = "rollingWindow"
    options: dict[str, Any] = field(default_factory=dict)  # extra ccxt options

    @property
    def credentials_ref(self) -> str:
        return self.key_ref or self.name

    def with_symbols(self, symbols: tuple[str, ...]) -> CcxtVenueConfig:
        return replace(self, symbols=symbols)


def parse_venue_spec(text: str, **overrides: Any) -> CcxtVenueConfig:
    """`"loop=ccxt:binance@http://127.0.0.1:8901"` → a config (see the module docstring)."""
    m = _SPEC_RE.match(text.strip())
    if m is None:
        raise ValueError(
            f"venue {text!r} must look like NAME=ccxt:EXCHANGE[@testnet|@URL], "
            "e.g. binance=ccxt:binance@testnet or loop=ccxt:binance@http://127.0.0.1:8901"
        )
    where = m.group("where") or ""
    url, sandbox = None, False
    if where == "testnet":
        sandbox = True
    elif where:
        if not re.match(r"^https?://[^/\s]+/?$", where):
            raise ValueError(
                f"venue {m.group('name')}: {where!r} must be 'testnet' or a base URL like http://host:port"
            )
        url = where.rstrip("/")
    return CcxtVenueConfig(name=m.group("name"), exchange_id=m.group("exchange"), url=url, sandbox=sandbox, **overrides)


def url_overrides(exchange_id: str, base_url: str, urls: dict[str, Any]) -> dict[str, Any]:
    """ccxt `urls['api']` with every REST and WebSocket endpoint of a Binance-spot API at `base_url`."""
    if exchange_id not in ("binance", "binanceus"):
        raise ValueError(
            f"URL overrides are implemented for Binance-spot-compatible exchanges, not {exchange_id!r}; "
            "use @testnet or the exchange's own URLs"
        )
    ws = "ws" + base_url.removeprefix("http")
    api = dict(urls["api"])
    for key in ("public", "private"):
        api[key] = f"{base_url}/api/v3"
    api["v1"] = f"{base_url}/api/v1"
    api["sapi"] = f"{base_url}/sapi/v1"
    ws_urls = dict(api.get("ws", {}))
    ws_urls["spot"] = f"{ws}/ws"
    ws_urls["margin"] = f"{ws}/ws"
    ws_urls["ws-api"] = {**dict(ws_urls.get("ws-api", {})), "spot": f"{ws}/ws-api/v3"}
    api["ws"] = ws_urls
    return api
