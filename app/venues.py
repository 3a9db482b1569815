"""Build the exchange venues configured in settings (`market.mode = "live"`).

    [market]
    mode = "live"

    [venues]
    exchanges = ["bt=ccxt:binance@testnet"]   # NAME=ccxt:EXCHANGE[@testnet|@URL]
    symbols = ["BTC/USDT"]                    # traded; the kill switch sweeps all of them

    [venues.keys]
    bt = "binance-testnet"                    # keyring reference (default: the venue name)

`python main.py kill` cancels on every one of them; `python main.py run` uses them when no
`--venue` is given. Settings hold key *references* only: the key and its secret live in
`adapters.secrets` (OS keyring, or the encrypted file where there is none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.settings import Settings, SettingsError, breaker_config, default_config_path, risk_limits
from core.ports import Venue
from core.types import Instrument

# a reference names an entry in the keyring; it is not the key
_KEY_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$")
# what exchanges issue as API keys: long runs of letters and digits (Binance: 64), or UUIDs (OKX, Coinbase)
_LOOKS_LIKE_A_KEY = re.compile(
    r"^(?=.*\d)(?=.*[A-Za-z])(?:[A-Za-z0-9+/=]{32,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})$"
)


class LateOmsView:
    """The venues' view of our orders (reconciliation reads it), bound to the OMS once the desk
    that restores it from the journal exists: the venues are ports of that desk, so they are
    built first (app/desk.py). Asked before `bind`, it raises instead of answering "no orders"."""

    def __init__(self) -> None:
        self._view: Any = None

    def bind(self, view: Any) -> None:
        self._view = view

    def __getattr__(self, name: str) -> Any:
        if self._view is None:
            raise RuntimeError("a venue asked for our orders before the desk was built")
        return getattr(self._view, name)


@dataclass(frozen=True, slots=True)
class LiveVenueSettings:
    """The validated `[venues]` settings: specs as `adapters.ccxt.parse_venue_spec` reads them."""

    specs: tuple[str, ...]
    symbols: tuple[str, ...]
    key_refs: dict[str, str] = field(default_factory=dict)


def build_live_venues(
    settings: Settings,
    *,
    specs: list[str] | None = None,
    key_refs: dict[str, str] | None = None,
    symbols: tuple[str, ...] | None = None,
    store: Any = None,
    view: Any = None,
    **config: Any,
) -> tuple[dict[str, Venue], list[str]]:
    """Venues and symbols for live trading. In sim mode there are none (the embedded market
    lives inside the terminal's process) unless `specs` are given (`run --venue …`).

    `specs`, `key_refs`, `symbols` override the settings (the command line wins); `store` is the
    secret store (default: the OS keyring, else the encrypted file); `view`
    and `config` are passed to every `CcxtVenue` (see `adapters.ccxt.build_ccxt_venues`)."""
    if specs is None and settings.get("market.mode") == "sim":
        return {}, []
    live = live_venue_settings(settings, specs=specs)
    refs = {**live.key_refs, **(key_refs or {})}
    symbols = symbols or live.symbols
    from adapters.ccxt import build_ccxt_venues  # ccxt loads every exchange it knows: only when needed
    from adapters.secrets.store import default_store

    # the same store as `python -m adapters.secrets` (keyring, else BLOCKHOUSE_SECRETS_FILE or the platform's file)
    venues = build_ccxt_venues(live.specs, symbols, refs, store or default_store(), view=view, **config)
    return dict(venues), list(symbols)


def build_live_desk(
    settings: Settings,
    journal: Any,
    clock: Any,
    *,
    specs: list[str] | None = None,
    key_refs: dict[str, str] | None = None,
    symbols: tuple[str, ...] | None = None,
    store: Any = None,
    execution: Any = None,
    policy: str = "defaults",
    orders_per_window: tuple[int, float] = (100, 10.0),
    seed: int = 1,
    **venue_config: Any,
) -> Any:
    """The desk (app/desk.py) on the exchange venues of `settings` (or `specs`), restored from
    `journal`: what `run` and the terminal in live mode trade through. The venues read the OMS the
    desk restores (reconciliation after every connect); `orders_per_window`: each venue's new-order
    limit (messages, seconds), of which risk spends 80 %. No OTC desks: RFQ to desks comes with FIX."""
    from adapters.ccxt import OmsOrderView
    from app.desk import DeskConfig, build_desk
    from app.policy import resolve_policy
    from core.seeds import SeedTree

    view = LateOmsView()
    venues, _ = build_live_venues(settings, specs=specs, key_refs=key_refs, symbols=symbols, store=store,
                                  view=view, **venue_config)
    config = DeskConfig(
        limits=risk_limits(settings),
        breakers=breaker_config(settings),
        policy=resolve_policy("live", policy),
        rate_limits={name: orders_per_window for name in venues},
        **({} if execution is None else {"execution": execution}),
    )
    desk = build_desk(clock, journal, venues, {}, SeedTree(seed), config)
    view.bind(OmsOrderView(desk.engine.oms))
    return desk


def live_venue_settings(settings: Settings, specs: list[str] | None = None) -> LiveVenueSettings:
    """`[venues]` checked; a `SettingsError` names the key, where it was set and what to change."""
    from adapters.ccxt.config import parse_venue_spec  # no ccxt import (see adapters/ccxt/__init__)

    where = str(settings.path or default_config_path())
    origin = settings.source.get("venues.exchanges", "default")
    if specs is None:
        specs = list(settings.get("venues.exchanges"))
        if not specs:
            raise SettingsError(
                f'market.mode = "live" needs at least one exchange venue: add venues.exchanges = '
                f'["NAME=ccxt:EXCHANGE@testnet"] (e.g. "bt=ccxt:binance@testnet") to [venues] in {where}, '
                "or give --set venues.exchanges=NAME=ccxt:EXCHANGE@testnet (see docs/connectivity.md)"
            )
    else:
        origin = "--venue"
    names: list[str] = []
    for spec in specs:
        try:
            cfg = parse_venue_spec(spec)
        except ValueError as exc:
            raise SettingsError(
                f"{origin}: {exc}" if origin == "--venue" else f"{origin}: venues.exchanges: {exc}"
            ) from None
        if cfg.url and "@" in cfg.url:
            raise SettingsError(
                f"{origin}: venue {cfg.name}: the URL must not carry credentials; store the API key with "
                f"`python -m adapters.secrets set {cfg.name} --api-key KEY` and name it in [venues.keys]"
            )
        if cfg.name in names:
            raise SettingsError(f"{origin}: venue {cfg.name} is configured twice; give each venue its own NAME")
        names.append(cfg.name)

    symbol_origin = settings.source.get("venues.symbols", "default")
    symbols: list[str] = []
    for text in settings.get("venues.symbols"):
        try:
            symbols.append(Instrument.parse(text).symbol)
        except ValueError as exc:
            raise SettingsError(f"{symbol_origin}: venues.symbols: {exc}") from None
    if not symbols:
        raise SettingsError(f'{symbol_origin}: venues.symbols is empty; list what you trade, e.g. ["BTC/USDT"]')

    key_origin = settings.source.get("venues.keys", "default")
    refs: dict[str, str] = dict(settings.get("venues.keys"))
    for name, ref in refs.items():
        if _LOOKS_LIKE_A_KEY.match(ref):
            raise SettingsError(
                f"{key_origin}: venues.keys.{name} looks like an API key itself, not a reference; settings hold "
                f"references only: store the key with `python -m adapters.secrets set {name} --api-key KEY` "
                f'and write {name} = "{name}" here (then rotate that key: it has been in a settings file)'
            )
        if not _KEY_REF.match(ref):
            raise SettingsError(
                f"{key_origin}: venues.keys.{name} = {ref!r} is not a keyring reference; use letters, digits "
                "and - _ . (e.g. binance-testnet)"
            )
        if origin != "--venue" and name not in names:
            raise SettingsError(
                f"{key_origin}: venues.keys names venue {name!r}, which is not in venues.exchanges "
                f"({', '.join(names)}); fix the name or remove the entry"
            )
    return LiveVenueSettings(tuple(specs), tuple(symbols), refs)
