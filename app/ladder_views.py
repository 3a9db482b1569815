"""The depth ladders' view-models: each venue's book, its last trade, volume at price, the levels
surveillance flags, and our working orders, folded into one `LadderView` per venue and one for
every venue's book merged (the consolidated ladder).

`LadderFeed` folds book and trade events as they arrive (synchronously on the bus, never
painting) and hands the ladders only the venues that changed when `push` is called — by the
fold's timer at most `max_fps` times a second (app/viewmodels_fold.py); each ladder coalesces
again to its own frame rate. When the inside spread or our orders would not fit on a ladder, its
rows group several ticks (`ticks_per_row_for`), with hysteresis so the grouping does not flicker.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from app.desk import Desk
from app.panels import CONSOLIDATED
from core.events import BookUpdate, Trades
from widgets.ladder import DepthLadder
from widgets.viewmodels import LadderView

EMPTY = np.empty(0, dtype=np.float64)
NICE_GROUPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)
SPREAD_SHARE = 0.3  # group ticks so the spread takes at most this share of the ladder's rows
WORKING_SHARE = 0.9  # and our working orders stay inside this share of the rows around the center
SPOOF_FLAG_SCORE = 0.5  # the spoofing detector's alert threshold: below it no level is marked


class LadderFeed:
    def __init__(self, desk: Desk, symbol: str, venue_names: tuple[str, ...], ladders: dict[str, DepthLadder]) -> None:
        self.surveillance = desk.surveillance
        self.symbol = symbol
        self.venue_names = venue_names
        self.ladders = ladders  # venue (and CONSOLIDATED) -> its ladder widget
        self.tick = {name: float(v.instrument(symbol).tick_size) for name, v in desk.venues.items()}
        self._books: dict[str, BookUpdate] = {}
        self._dirty: set[str] = set()
        self._last_trade: dict[str, tuple[float, float, int, float]] = {}  # px, qty, side, ts
        self._vap: dict[str, dict[float, float]] = {v: {} for v in venue_names}
        self._vap_arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._vap_dirty: set[str] = set(venue_names)
        self._ticks_per_row: dict[str, int] = {}
        bus = desk.engine.bus
        self._unsubscribe = [bus.subscribe(BookUpdate, self._on_book), bus.subscribe(Trades, self._on_trades)]
        for book in desk.engine.books.values():
            self._on_book(book)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def flush(self) -> None:
        """Paint every ladder's pending view now (tests, screenshots)."""
        for ladder in self.ladders.values():
            ladder.flush()

    def push(self, working_by_venue: Callable[[], dict[str, tuple[np.ndarray, np.ndarray]]]) -> None:
        """Hand every ladder whose venue changed its new view, and the consolidated ladder.
        `working_by_venue`: our working orders per venue (prices, signed leaves: + buy, − sell),
        asked for only when something changed."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        working = working_by_venue()
        for venue in dirty:
            book = self._books.get(venue)
            ladder = self.ladders.get(venue)
            if book is None or ladder is None:
                continue
            self._show(ladder, self._ladder_view(venue, book, working.get(venue)))
        consolidated = self.ladders.get(CONSOLIDATED)
        if consolidated is not None and self._books:
            self._show(consolidated, self._consolidated_view(working))

    def mark_dirty(self, venue: str) -> None:
        """Redraw this venue's ladder at the next push (our orders on it changed)."""
        self._dirty.add(venue)

    # ---- events in (synchronous on the bus: fold, never paint) --------------------------------------

    def _on_book(self, update: BookUpdate) -> None:
        self._books[update.venue] = update
        self._dirty.add(update.venue)

    def _on_trades(self, trades: Trades) -> None:
        n = len(trades.price)
        if not n:
            return
        venue = trades.venue
        self._last_trade[venue] = (float(trades.price[-1]), float(trades.qty[-1]), int(trades.aggressor[-1]),
                                   trades.ts)
        vap = self._vap.setdefault(venue, {})
        for px, qty in zip(trades.price.tolist(), trades.qty.tolist(), strict=True):
            vap[px] = vap.get(px, 0.0) + qty
        self._vap_dirty.add(venue)
        self._dirty.add(venue)

    # ---- view-model builders --------------------------------------------------------------------

    def _show(self, ladder: DepthLadder, view: LadderView) -> None:
        """Set the view, grouping ticks per row when the spread would not fit on the ladder
        (a flush can open the spread to hundreds of ticks: one tick per row would show nothing
        but empty prices)."""
        group = self._ticks_per_row.get(view.venue, 1)
        wanted = ticks_per_row_for(view, ladder.visible_rows, group)
        if wanted != group:
            self._ticks_per_row[view.venue] = wanted
            ladder.set_ticks_per_row(wanted)
        if wanted > 1:
            view = dataclasses.replace(view, symbol=f"{view.symbol} {wanted}t/row")
        ladder.set_view(view)

    def _ladder_view(self, venue: str, book: BookUpdate,
                     working: tuple[np.ndarray, np.ndarray] | None) -> LadderView:
        wpx, wqty = working if working is not None else (EMPTY, EMPTY)
        last = self._last_trade.get(venue)
        vap_px, vap_qty = self._vap_for(venue)
        flag_px, flag_score, flag_kind = self._flags_for(venue)
        return LadderView(
            venue=venue, symbol=book.symbol, tick_size=self.tick.get(venue, 1.0),
            bid_px=book.bid_px, bid_qty=book.bid_qty, ask_px=book.ask_px, ask_qty=book.ask_qty,
            working_px=wpx, working_qty=wqty, working_queue_ahead=np.full(len(wpx), np.nan),
            last_px=last[0] if last else math.nan, last_qty=last[1] if last else math.nan,
            last_side=last[2] if last else 0, vap_px=vap_px, vap_qty=vap_qty, ts=book.ts, qty_decimals=3,
            flag_px=flag_px, flag_score=flag_score, flag_kind=flag_kind,
        )

    def _flags_for(self, venue: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """Price levels surveillance flags on `venue` now (large orders of a spoofing campaign,
        resting or just pulled), with the campaign's score."""
        detector = self.surveillance.spoofing.get(venue)
        if detector is None or detector.score < SPOOF_FLAG_SCORE:
            return EMPTY, EMPTY, ()
        levels = detector.flagged_levels()
        px = np.array([p for _, p in levels], dtype=float)
        return px, np.full(len(px), detector.score), ("spoofing",) * len(px)

    def _consolidated_view(self, working: dict[str, tuple[np.ndarray, np.ndarray]]) -> LadderView:
        books = list(self._books.values())
        bid_px, bid_qty = merge_levels([b.bid_px for b in books], [b.bid_qty for b in books], descending=True)
        ask_px, ask_qty = merge_levels([b.ask_px for b in books], [b.ask_qty for b in books], descending=False)
        wpx = np.concatenate([w[0] for w in working.values()]) if working else EMPTY
        wqty = np.concatenate([w[1] for w in working.values()]) if working else EMPTY
        vaps = [self._vap_for(v) for v in self.venue_names]
        vap_px, vap_qty = merge_levels([v[0] for v in vaps], [v[1] for v in vaps], descending=False)
        last = max(self._last_trade.values(), key=lambda x: x[3]) if self._last_trade else None
        return LadderView(
            venue=CONSOLIDATED, symbol=self.symbol, tick_size=max(self.tick.values(), default=1.0),
            bid_px=bid_px, bid_qty=bid_qty, ask_px=ask_px, ask_qty=ask_qty,
            working_px=wpx, working_qty=wqty, working_queue_ahead=np.full(len(wpx), np.nan),
            last_px=last[0] if last else math.nan, last_qty=last[1] if last else math.nan,
            last_side=last[2] if last else 0, vap_px=vap_px, vap_qty=vap_qty,
            ts=max(b.ts for b in books), qty_decimals=3,
        )

    def _vap_for(self, venue: str) -> tuple[np.ndarray, np.ndarray]:
        if venue in self._vap_dirty or venue not in self._vap_arrays:
            d = self._vap.get(venue, {})
            self._vap_arrays[venue] = (np.fromiter(d.keys(), float, len(d)), np.fromiter(d.values(), float, len(d)))
            self._vap_dirty.discard(venue)
        return self._vap_arrays[venue]


def ticks_per_row_for(view: LadderView, rows: int, current: int) -> int:
    """Ticks per ladder row so the inside spread fits in SPREAD_SHARE of the rows and our working
    orders stay on screen (the ladder centers on the inside market); back to fewer ticks only
    once the smaller grouping fits with room to spare (no flicker at the threshold)."""
    bid, ask = view.best_bid, view.best_ask
    if rows <= 0 or math.isnan(bid) or math.isnan(ask) or view.tick_size <= 0:
        return current
    spread_ticks = abs(ask - bid) / view.tick_size
    need = spread_ticks / max(1.0, rows * SPREAD_SHARE)
    if len(view.working_px):
        reach_ticks = float(np.max(np.abs(view.working_px - 0.5 * (bid + ask)))) / view.tick_size
        need = max(need, 2.0 * reach_ticks / max(1.0, rows * WORKING_SHARE))
    wanted = next((g for g in NICE_GROUPS if g >= need), NICE_GROUPS[-1])
    if wanted < current:  # hysteresis: shrink only to a grouping that fits with room to spare
        roomy = next((g for g in NICE_GROUPS if g >= need / 0.6), NICE_GROUPS[-1])
        return min(current, roomy)
    return wanted


def merge_levels(prices: list[np.ndarray], qtys: list[np.ndarray], descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sum quantities at equal prices across books; best first."""
    if not prices:
        return EMPTY, EMPTY
    px = np.concatenate(prices)
    qty = np.concatenate(qtys)
    if not len(px):
        return EMPTY, EMPTY
    levels, inverse = np.unique(px, return_inverse=True)
    sums = np.bincount(inverse, weights=qty, minlength=len(levels))
    if descending:
        return levels[::-1].copy(), sums[::-1].copy()
    return levels, sums
