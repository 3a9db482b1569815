"""`python main.py kill` with the ccxt venues of ``BLOCKHOUSE_TEST_VENUES`` — a stand-in until
app/venues.py builds live venues from settings (requested; see docs/connectivity.md). Everything
else is the real command: login, standalone kill, journal HALTED."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import app.venues
from adapters.ccxt import build_ccxt_venues


def _live_venues(settings: object) -> tuple[dict[str, object], list[str]]:
    symbols = os.environ.get("BLOCKHOUSE_TEST_SYMBOLS", "BTC/USDT").split(",")
    venues = build_ccxt_venues(os.environ["BLOCKHOUSE_TEST_VENUES"].split(","), tuple(symbols))
    return dict(venues), symbols


app.venues.build_live_venues = _live_venues  # type: ignore[assignment]

if __name__ == "__main__":
    from app.cli import main

    sys.exit(main(sys.argv[1:]))
