"""What the market looks like to execution, our own orders excluded: the consolidated mid over a
set of venues, all venues' traded volume since the desk started and over a recent window, its
VWAP, and which venues a parent trades on.

Prices are quote currency per base unit (NaN when no venue has a two-sided book); volumes are
base units of others' trades (the tape subtracts our fills). Reads only: nothing here sends,
cancels or remembers.
"""

from __future__ import annotations

from core.engine import Engine
from core.parent import ParentOrder


class MarketView:
    """Read-only market figures over the engine's books and tape (ours excluded)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def consolidated_mid(self, venues: tuple[str, ...] = ()) -> float:
        """Midway between the best bid and the best ask across `venues` (all when empty) that have
        a two-sided book; NaN when none has."""
        books = [
            b for v, b in self.engine.books.items() if (not venues or v in venues) and len(b.bid_px) and len(b.ask_px)
        ]
        if not books:
            return float("nan")
        return 0.5 * (max(float(b.bid_px[0]) for b in books) + min(float(b.ask_px[0]) for b in books))

    def market_volume(self) -> float:
        """Others' traded volume on every venue since the desk started (base units)."""
        return self.engine.tape.total_volume()

    def market_vwap(self) -> float:
        """Others' volume-weighted average trade price on every venue (NaN before any trade)."""
        return self.engine.tape.vwap()

    def recent_volume(self, window_s: float) -> float:
        """Others' traded volume on every venue over the last `window_s` seconds (base units)."""
        return self.engine.tape.recent(None, self.engine.clock.now(), window_s)[0]

    def venues_of(self, parent: ParentOrder) -> tuple[str, ...]:
        """The venues `parent` trades on: its own list, or every configured venue."""
        return parent.venues or tuple(self.engine.venues)
