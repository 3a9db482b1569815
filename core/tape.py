"""Traded volume per venue with our own fills taken out — what participation is measured against.

Public trade messages include our own executions; the tape subtracts our fills (which reach us
first, through the user stream) from the next public volume on the same venue, so every
participation and volume figure excludes us. Our own volume is kept separately.
"""

from __future__ import annotations

import bisect

import numpy as np

from core.events import FillEvent, Trades


class Tape:
    def __init__(self, horizon_s: float = 3600.0) -> None:
        self.horizon_s = horizon_s
        self.volume: dict[str, float] = {}  # cumulative others' volume per venue
        self.notional: dict[str, float] = {}
        self.ours: dict[str, float] = {}  # cumulative our volume per venue
        # per venue, running totals at each message time: (ts, cumulative others, cumulative ours)
        self._ts: dict[str, list[float]] = {}
        self._cum_others: dict[str, list[float]] = {}
        self._cum_ours: dict[str, list[float]] = {}
        self._pending_ours: dict[str, float] = {}

    def on_fill(self, event: FillEvent) -> None:
        venue, qty = event.fill.venue, float(event.fill.quantity)
        if event.fill.venue_trade_id.startswith("otc:"):
            return  # OTC prints are not on any venue's tape
        self._pending_ours[venue] = self._pending_ours.get(venue, 0.0) + qty
        self.ours[venue] = self.ours.get(venue, 0.0) + qty
        self._mark(venue, event.ts)

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
        self._mark(venue, trades.ts)

    def _mark(self, venue: str, ts: float) -> None:
        times = self._ts.setdefault(venue, [])
        if times and ts < times[-1]:
            ts = times[-1]  # keep the index sorted (a fill stamped a hair earlier than the last print)
        times.append(ts)
        self._cum_others.setdefault(venue, []).append(self.volume.get(venue, 0.0))
        self._cum_ours.setdefault(venue, []).append(self.ours.get(venue, 0.0))
        if len(times) > 4096 and times[0] < ts - 2 * self.horizon_s:  # drop what no window can reach
            cut = bisect.bisect_left(times, ts - self.horizon_s)
            del times[:cut], self._cum_others[venue][:cut], self._cum_ours[venue][:cut]

    def total_volume(self, venues: tuple[str, ...] = ()) -> float:
        return sum(v for k, v in self.volume.items() if not venues or k in venues)

    def vwap(self, venues: tuple[str, ...] = ()) -> float:
        vol = self.total_volume(venues)
        return sum(v for k, v in self.notional.items() if not venues or k in venues) / vol if vol > 0 else float("nan")

    def recent(self, venue: str | None, now: float, window_s: float) -> tuple[float, float]:
        """(others' volume, our volume) over the last `window_s` on `venue` (None = all venues)."""
        others = ours = 0.0
        for name, times in self._ts.items():
            if (venue is not None and name != venue) or not times:
                continue
            k = bisect.bisect_left(times, now - window_s) - 1  # last mark before the window
            base_o = self._cum_others[name][k] if k >= 0 else 0.0
            base_u = self._cum_ours[name][k] if k >= 0 else 0.0
            others += self.volume.get(name, 0.0) - base_o
            ours += self.ours.get(name, 0.0) - base_u
        return others, ours
