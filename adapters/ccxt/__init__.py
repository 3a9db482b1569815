"""Real exchanges through ccxt (async REST + ccxt.pro websockets) behind `core.ports.Venue`."""

from adapters.ccxt.build import build_ccxt_venues
from adapters.ccxt.config import CcxtVenueConfig, parse_venue_spec
from adapters.ccxt.reconcile import OmsOrderView, OrderView
from adapters.ccxt.venue import CcxtVenue

__all__ = ["CcxtVenue", "CcxtVenueConfig", "OmsOrderView", "OrderView", "build_ccxt_venues", "parse_venue_spec"]
