"""Build the exchange venues configured in settings (live mode)."""

from __future__ import annotations

from app.settings import Settings
from core.ports import Venue


def build_live_venues(settings: Settings) -> tuple[dict[str, Venue], list[str]]:
    """Venues and symbols for live trading. In sim mode there are none (the embedded market
    lives inside the terminal's process)."""
    if settings.get("market.mode") == "sim":
        return {}, []
    raise ValueError("market.mode=live needs [venues] configured (see docs/connectivity.md); none are set")
