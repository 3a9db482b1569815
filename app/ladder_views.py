"""Ladder view-model helpers: merging venues' books into one, and how many ticks a ladder row
groups so the inside market and our working orders stay on screen.

Pure functions over numpy arrays and `LadderView`s; the fold (app/viewmodels_fold.py) calls them
when it pushes the ladders.
"""

from __future__ import annotations

import math

import numpy as np

from widgets.viewmodels import LadderView

EMPTY = np.empty(0, dtype=np.float64)
NICE_GROUPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)
SPREAD_SHARE = 0.3  # group ticks so the spread takes at most this share of the ladder's rows
WORKING_SHARE = 0.9  # and our working orders stay inside this share of the rows around the center
SPOOF_FLAG_SCORE = 0.5  # the spoofing detector's alert threshold: below it no level is marked


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
