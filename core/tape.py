"""Traded volume per venue with our own fills taken out — what participation is measured against.

Public trade messages include our own executions; the tape subtracts our fills (which reach us
first, through the user stream) from the next public volume on the same venue, so every
participation and volume figure excludes us. Our own volume is kept separately.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from core.events import FillEvent, Trades


class Tape:
    def __init__(self, horizon_s: float = 3600.0) -> None:
        self.horizon_s = horizon_s
        self.volume: dict[str, float] = {}  # cumulative others' volume per venue
        self.notional: dict[str, float] = {}
        self.ours: dict[str, float] = {}  # cumulative our volume per venue
        self._recent: dict[str, deque[tuple[float, float, float]]] = {}  # venue → (ts, others, ours)
        self._pending_ours: dict[str, float] = {}

    def on_fill(self, event: FillEvent) -> None:
        venue, qty = event.fill.venue, float(event.fill.quantity)
        if event.fill.venue_trade_id.startswith("otc:"):
            return  # OTC prints are not on any venue's tape
        self._pending_ours[venue] = self._pending_ours.get(venue, 0.0) + qty
        self.ours[venue] = self.ours.get(venue, 0.0) + qty
        self._recent.setdefault(venue, deque()).append((event.ts, 0.0, qty))

    def on_trades(self, trades: Trades) -> None:
        venue = trades.venue
        total = float(trades.qty.sum())
        if total <= 0:
            return
        avg = float(np.dot(trades.price, trades.qty)) / total
        ours = min(self._pending_ours.pop(venue, 0.0), total)
        others = total - ours
        self.volume[venue] = self.volume.get(venue, 0.0) + others
        self.notional[venue] = self.notional.get(venue, 0.0) + others * avg
        recent = self._recent.setdefault(venue, deque())
        recent.append((trades.ts, others, 0.0))
        while recent and recent[0][0] < trades.ts - self.horizon_s:
            recent.popleft()

    def total_volume(self, venues: tuple[str, ...] = ()) -> float:
        return sum(v for k, v in self.volume.items() if not venues or k in venues)

    def vwap(self, venues: tuple[str, ...] = ()) -> float:
        vol = self.total_volume(venues)
        return sum(v for k, v in self.notional.items() if not venues or k in venues) / vol if vol > 0 else float("nan")

    def recent(self, venue: str | None, now: float, window_s: float) -> tuple[float, float]:
        """(others' volume, our volume) over the last `window_s` on `venue` (None = all venues)."""
        others = ours = 0.0
        for name, recent in self._recent.items():
            if venue is not None and name != venue:
                continue
            for ts, o, u in reversed(recent):
                if ts < now - window_s:
                    break
                others += o
                ours += u
        return others, ours
