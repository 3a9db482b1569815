"""Real exchanges through ccxt (async REST + ccxt.pro websockets) behind `core.ports.Venue`.

Names load their module on first use (PEP 562): reading a venue's configuration
(`parse_venue_spec`) does not import ccxt, which loads every exchange it knows (≈ 0.6 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.ccxt.build import build_ccxt_venues
    from adapters.ccxt.config import CcxtVenueConfig, parse_venue_spec
    from adapters.ccxt.reconcile import OmsOrderView, OrderView
    from adapters.ccxt.venue import CcxtVenue

_MODULE_OF = {
    "CcxtVenue": "adapters.ccxt.venue",
    "CcxtVenueConfig": "adapters.ccxt.config",
    "OmsOrderView": "adapters.ccxt.reconcile",
    "OrderView": "adapters.ccxt.reconcile",
    "build_ccxt_venues": "adapters.ccxt.build",
    "parse_venue_spec": "adapters.ccxt.config",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'adapters.ccxt' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["CcxtVenue", "CcxtVenueConfig", "OmsOrderView", "OrderView", "build_ccxt_venues", "parse_venue_spec"]
