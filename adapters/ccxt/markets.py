"""Instrument metadata from ccxt markets, parsed exactly.

Binance's raw filters (``PRICE_FILTER.tickSize``, ``LOT_SIZE.stepSize``/``minQty``,
``NOTIONAL``/``MIN_NOTIONAL.minNotional``) are decimal strings and are read as `Decimal`s; ccxt's
float ``precision``/``limits`` are only a fallback for exchanges without raw filters, converted
through their shortest repr.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.types import Instrument, VenueInstrument, to_decimal


def _norm(value: Any) -> Decimal:
    d = to_decimal(value)
    return d.normalize() if d != 0 else Decimal(0)


def instrument_from_market(
    venue: str, market: dict[str, Any], maker_fee_bps: float | None = None, taker_fee_bps: float | None = None
) -> VenueInstrument:
    info = market.get("info") or {}
    filters = {f.get("filterType"): f for f in info.get("filters", []) if isinstance(f, dict)}
    tick = lot = min_qty = min_notional = None
    if "PRICE_FILTER" in filters:
        tick = _norm(filters["PRICE_FILTER"]["tickSize"])
    if "LOT_SIZE" in filters:
        lot = _norm(filters["LOT_SIZE"]["stepSize"])
        min_qty = _norm(filters["LOT_SIZE"]["minQty"])
    for name in ("NOTIONAL", "MIN_NOTIONAL"):
        if name in filters and filters[name].get("minNotional") is not None:
            min_notional = _norm(filters[name]["minNotional"])
            break
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    if tick is None:
        tick = _norm(precision["price"])
    if lot is None:
        lot = _norm(precision["amount"])
    if min_qty is None:
        min_qty = _norm((limits.get("amount") or {}).get("min") or 0)
    if min_notional is None:
        min_notional = _norm((limits.get("cost") or {}).get("min") or 0)
    maker = maker_fee_bps if maker_fee_bps is not None else float(to_decimal(market.get("maker") or 0) * 10_000)
    taker = taker_fee_bps if taker_fee_bps is not None else float(to_decimal(market.get("taker") or 0) * 10_000)
    return VenueInstrument(
        venue=venue,
        instrument=Instrument(str(market["base"]), str(market["quote"])),
        venue_symbol=str(market["id"]),
        tick_size=tick,
        lot_size=lot,
        min_qty=min_qty,
        min_notional_quote=min_notional,
        maker_fee_bps=maker,
        taker_fee_bps=taker,
    )


def fee_bps_from_account(account: dict[str, Any]) -> tuple[float, float] | None:
    """(maker, taker) bps from Binance's GET /api/v3/account ``commissionRates``, if present."""
    rates = account.get("commissionRates")
    if not isinstance(rates, dict) or "maker" not in rates:
        return None
    return float(to_decimal(rates["maker"]) * 10_000), float(to_decimal(rates["taker"]) * 10_000)
