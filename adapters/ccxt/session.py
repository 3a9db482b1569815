"""The session with one exchange: the ccxt client, the markets it lists, and the rules every REST
request obeys.

- **Client**: one ccxt.pro exchange per venue, made on first use with the venue's keys (looked up
  by reference in `adapters.secrets` unless given), rate limiter on, spot only, URL overrides
  applied (`make_exchange`).
- **Markets**: loaded at connect, retried with back-off (``reconnect_min_s`` doubling up to
  ``reconnect_max_s``) until they load. Each configured symbol becomes a `VenueInstrument` whose
  tick, lot and minimums are the exchange's own decimal filters and whose fees (bps) are the
  account's; a symbol the exchange does not list fails the connect.
- **Websockets** fail loudly: a frame the client cannot handle closes its connection, so the
  stream reconnects and resyncs (`ws_guard`), where ccxt would have stopped reading it.
- **Rate limits** are a budget the client spends: ccxt's limiter paces requests, and a 429/418
  (Binance -1003/-1015) blocks *every* REST call of this venue until the exchange's Retry-After
  (s) has passed — without one 1, 2, 4 … up to 60 s, never less than 0.5 s. No request is sent
  while told to back off.
- **Clock**: the offset to the exchange (ms, the exchange's time minus ours) is measured at
  connect, every ``clock_check_every_s`` and after a timestamp reject (-1021); requests are
  signed with the exchange's time. Beyond half the ``recvWindow`` it is a warning in the log and
  an alert on the venue's status (`VenueHealth`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt

from adapters.ccxt.balances import Balances
from adapters.ccxt.callbacks import CallbackRelay
from adapters.ccxt.config import CcxtVenueConfig, url_overrides
from adapters.ccxt.errors import is_rate_limit, short
from adapters.ccxt.health import VenueHealth
from adapters.ccxt.markets import fee_bps_from_account, instrument_from_market
from adapters.ccxt.tasks import TaskRunner
from adapters.ccxt.ws_guard import guard_websockets
from adapters.secrets.store import ApiCredentials, SecretStore, lookup
from core.types import VenueInstrument

log = logging.getLogger(__name__)
T = TypeVar("T")

ExchangeFactory = Callable[[CcxtVenueConfig, ApiCredentials], Any]


class ExchangeSession:
    """The ccxt client of one venue (`ex`, None before first use and after `close`) and its markets.

    `credentials`: the keys, else looked up by ``config.credentials_ref`` in `secret_store`;
    `exchange_factory`: makes the client (tests inject one; default `make_exchange`)."""

    def __init__(
        self,
        config: CcxtVenueConfig,
        credentials: ApiCredentials | None,
        secret_store: SecretStore | None,
        exchange_factory: ExchangeFactory | None,
        runner: TaskRunner,
        health: VenueHealth,
        engine: CallbackRelay,
        balances: Balances,
        stats: collections.Counter[str],
    ) -> None:
        self.name = config.name
        self.config = config
        self._credentials = credentials
        self._secret_store = secret_store
        self._factory = exchange_factory or make_exchange
        self._runner = runner
        self._health = health
        self._engine = engine
        self._balances = balances
        self._stats = stats
        self._ex: Any = None
        self.instruments: dict[str, VenueInstrument] = {}
        self._markets_by_id: dict[str, str] = {}
        self._backoff_until = 0.0  # monotonic: no REST request before this (429 / 418)
        self._rate_limit_streak = 0

    @property
    def ex(self) -> Any:
        return self._ex

    def symbol_of(self, market_id: str) -> str | None:
        """Our symbol ("BTC/USDT") for the exchange's market id ("BTCUSDT"), if configured."""
        return self._markets_by_id.get(market_id)

    # ---------------------------------------------------------------- connect
    async def open(self) -> None:
        """Load the markets, retrying with back-off, until they load or the venue closes."""
        delay = self.config.reconnect_min_s
        while not self._runner.closed:
            try:
                await self.setup()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._stats["connect_failures"] += 1
                log.warning("venue %s: connect failed (%s); retrying in %.1f s", self.name, short(exc), delay)
                self._health.report(f"connect failed: {short(exc)}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_s)

    async def setup(self) -> None:
        """Markets, clock, balances and fee rates: what the venue needs before any order."""
        ex = await self.exchange()
        markets = await self.rest(ex.load_markets)
        missing = [s for s in self.config.symbols if s not in markets]
        if missing:
            raise ValueError(f"venue {self.name} does not list {', '.join(missing)}")
        await self.measure_clock()
        account = await self.rest(ex.fetch_balance)
        fees = fee_bps_from_account(account.get("info") or {})
        self._balances.from_account(account.get("info") or {})
        for symbol in self.config.symbols:
            market = markets[symbol]
            self._markets_by_id[str(market["id"])] = symbol
            maker, taker = fees if fees is not None else (None, None)
            self.instruments[symbol] = instrument_from_market(self.name, market, maker, taker)
        self._health.mark_markets_loaded()
        self._health.report("markets loaded")

    async def exchange(self) -> Any:
        """The client, made on first use; a websocket frame it cannot handle fails its connection
        (`ws_guard`) instead of silently ending the stream."""
        if self._ex is None:
            creds = self._credentials or lookup(self.config.credentials_ref, self._secret_store)
            self._ex = self._factory(self.config, creds)
            guard_websockets(self._ex, self._bad_frame)
        return self._ex

    def _bad_frame(self, url: str, exc: BaseException, head: str) -> None:
        self._stats["ws_bad_frames"] += 1
        log.warning(
            "venue %s: websocket frame on %s not handled (%s): %r; reconnecting that stream",
            self.name,
            url,
            short(exc),
            head,
        )

    async def exchange_ready(self) -> Any:
        """The client with markets loaded (also in blocking mode, where nothing else loads them)."""
        ex = await self.exchange()
        if not self.instruments and not self._engine.attached:  # blocking mode: nothing else loads the markets
            await self.setup()
        return ex

    async def wait_for_markets(self, timeout_s: float) -> None:
        """Until the client exists and the markets are loaded; TimeoutError after `timeout_s`."""
        if self._ex is not None and self.instruments:
            return
        deadline = time.monotonic() + timeout_s
        while not (self._ex is not None and self.instruments):
            if time.monotonic() > deadline:
                raise TimeoutError
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        """Release the client's HTTP session and websockets."""
        if self._ex is not None:
            with contextlib.suppress(Exception):
                await self._ex.close()
            self._ex = None

    # ---------------------------------------------------------------- REST with back-off
    async def rest(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """One ccxt REST call, never sent while the exchange has told us to back off."""
        while True:
            wait = self._backoff_until - time.monotonic()
            if wait <= 0:
                break
            self._stats["rest_waits"] += 1
            await asyncio.sleep(wait)
        self._stats["rest_calls"] += 1
        try:
            result = await fn(*args, **kwargs)
        except Exception as exc:
            if is_rate_limit(exc):
                self._back_off(exc)
            elif "-1021" in str(exc) or isinstance(exc, ccxt.InvalidNonce):
                self._stats["timestamp_rejects"] += 1
                self._runner.spawn(self.measure_clock())
            raise
        self._rate_limit_streak = 0
        return result

    def _back_off(self, exc: BaseException) -> None:
        """Honour Retry-After (seconds) from the 429/418; without one, back off exponentially."""
        self._stats["rate_limited"] += 1
        self._rate_limit_streak += 1
        retry = None
        headers = getattr(self._ex, "last_response_headers", None) or {}
        for key, value in dict(headers).items():
            if str(key).lower() == "retry-after":
                with contextlib.suppress(ValueError):
                    retry = float(value)
        if retry is None:
            retry = min(2.0 ** (self._rate_limit_streak - 1), 60.0)
        until = time.monotonic() + max(retry, 0.5)
        if until > self._backoff_until:
            self._backoff_until = until
            log.warning("venue %s: rate limited (%s); no REST request for %.1f s", self.name, short(exc), retry)

    # ---------------------------------------------------------------- clock
    async def run_clock(self) -> None:
        """Measure the clock every ``clock_check_every_s`` until the venue closes."""
        while not self._runner.closed:
            await asyncio.sleep(self.config.clock_check_every_s)
            with contextlib.suppress(Exception):
                await self.measure_clock()

    async def measure_clock(self) -> None:
        ex = self._ex
        t0 = time.time()
        server_ms = await self.rest(ex.fetch_time)
        t1 = time.time()
        offset = float(server_ms) - (t0 + t1) / 2 * 1000
        ex.options["timeDifference"] = int(-offset)  # sign with the venue's time (ccxt nonce = now - difference)
        alert = abs(offset) > self.config.recv_window_ms / 2
        if alert:
            log.warning(
                "venue %s: clock offset %.0f ms exceeds half the signing window (%d ms); "
                "signing with the venue's time, but check NTP on this machine",
                self.name,
                offset,
                self.config.recv_window_ms,
            )
        self._health.mark_clock(offset, (t1 - t0) * 1000, alert)


def make_exchange(config: CcxtVenueConfig, creds: ApiCredentials) -> Any:
    """A ccxt.pro exchange with the rate limiter on, spot only, and URL overrides applied."""
    import ccxt.pro

    cls = getattr(ccxt.pro, config.exchange_id, None)
    if cls is None:
        raise ValueError(f"ccxt.pro has no exchange {config.exchange_id!r}")
    options = {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "recvWindow": config.recv_window_ms,
        "warnOnFetchOpenOrdersWithoutSymbol": False,
        "adjustForTimeDifference": False,  # we measure the offset ourselves (and alert on it)
        **config.options,
    }
    ex = cls(
        {
            "apiKey": creds.api_key,
            "secret": creds.secret,
            "enableRateLimit": True,
            "enableLastResponseHeaders": True,  # Retry-After of a 429/418
            "rateLimiterAlgorithm": config.rate_limiter,
            "rollingWindowSize": 60000,
            "timeout": int(config.request_timeout_s * 1000),
            "options": options,
        }
    )
    if config.sandbox:
        ex.set_sandbox_mode(True)
    if config.url:
        ex.urls["api"] = url_overrides(config.exchange_id, config.url, ex.urls)
    return ex
