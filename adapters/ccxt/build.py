"""Build ccxt venues from ``NAME=ccxt:EXCHANGE[@testnet|@URL]`` specs (what `app/venues.py` needs in
live mode, and what the standalone ``kill`` uses outside any event loop)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from adapters.ccxt.config import parse_venue_spec
from adapters.ccxt.reconcile import OrderView
from adapters.ccxt.venue import CcxtVenue
from adapters.secrets.store import SecretStore, default_store


def build_ccxt_venues(
    specs: Iterable[str],
    symbols: tuple[str, ...],
    key_refs: dict[str, str] | None = None,
    store: SecretStore | None = None,
    view: OrderView | None = None,
    **config: Any,
) -> dict[str, CcxtVenue]:
    """One `CcxtVenue` per spec; keys are looked up by reference (default: the venue name).

    `view`: the OMS the venues reconcile against (None for the standalone kill); `config`: any
    other `CcxtVenueConfig` field, the same for every venue (e.g. ``ack_timeout_s=5.0``)."""
    store = store or default_store()
    venues: dict[str, CcxtVenue] = {}
    for spec in specs:
        cfg = parse_venue_spec(spec, symbols=symbols, **config)
        if key_refs and cfg.name in key_refs:
            cfg = replace(cfg, key_ref=key_refs[cfg.name])
        if cfg.name in venues:
            raise ValueError(f"venue {cfg.name} is configured twice")
        venues[cfg.name] = CcxtVenue(cfg, secret_store=store, view=view)
    return venues
