"""Whether a ccxt venue is up, why not, and the one place that tells the engine so.

A venue is *up* when its markets are loaded, its user stream is subscribed, it has reconciled at
least once, and the book of every configured symbol is in sync (a book that stopped updating is
*stale*: not in sync, and said so). Each part of the venue reports
its own fact through a ``mark_*`` method (nothing else writes these attributes); `report(detail)`
sends the engine a status only when (up, the reason while down) changes, so a reason repeated by
a reconnect loop is sent once.

The clock offset to the exchange is kept here too (ms, the exchange's time minus ours, measured at
the midpoint of a ``fetch_time`` round trip; NaN until measured): an offset beyond half the
signing window is an alert that rides on every status until it clears.
"""

from __future__ import annotations

import asyncio
import math

from adapters.ccxt.callbacks import CallbackRelay


class VenueHealth:
    """The facts that make one venue up, for `symbols` (the configured ones)."""

    def __init__(self, symbols: tuple[str, ...], engine: CallbackRelay) -> None:
        self._symbols = symbols
        self._engine = engine
        self.markets_loaded = False
        self.user_up = False
        self.user_down_since: float | None = None  # epoch s the user stream was last lost; None while known good
        self.reconciled_once = False
        self.books_synced: dict[str, bool] = {s: False for s in symbols}
        self.books_stale: dict[str, bool] = {s: False for s in symbols}  # out of sync because it stopped updating
        self.clock_offset_ms = math.nan
        self.clock_rtt_ms = math.nan
        self.clock_alert = False
        self.ready = asyncio.Event()  # set on the first reconciliation after the user stream is up
        self._last_status: tuple[bool, str] | None = None

    @property
    def is_up(self) -> bool:
        return (
            self.markets_loaded
            and self.user_up
            and self.reconciled_once
            and all(self.books_synced.get(s, False) for s in self._symbols)
        )

    def detail(self) -> str:
        """One line for logs and errors: each condition of being up, and the clock."""
        parts = [
            f"markets={'yes' if self.markets_loaded else 'no'}",
            f"user_stream={'up' if self.user_up else 'down'}",
            f"reconciled={'yes' if self.reconciled_once else 'no'}",
            "books=" + ",".join(f"{s}:{self._book_state(s)}" for s in self.books_synced),
        ]
        if not math.isnan(self.clock_offset_ms):
            parts.append(f"clock_offset_ms={self.clock_offset_ms:.0f}")
        if self.clock_alert:
            parts.append("CLOCK OFFSET ALERT")
        return " ".join(parts)

    def _book_state(self, symbol: str) -> str:
        if self.books_synced.get(symbol, False):
            return "synced"
        return "stale" if self.books_stale.get(symbol, False) else "resyncing"

    def report(self, detail: str) -> None:
        """Tell the engine (up, detail), unless that is what it was last told."""
        up = self.is_up
        key = (up, detail if not up else "")
        if key == self._last_status:
            return
        self._last_status = key
        if self.clock_alert:
            detail += f"; clock offset {self.clock_offset_ms:.0f} ms exceeds half the recvWindow"
        self._engine.on_status(up, detail)

    # ---------------------------------------------------------------- facts, one writer each
    def mark_markets_loaded(self) -> None:
        self.markets_loaded = True

    def mark_user_stream_up(self) -> None:
        self.user_up = True

    def mark_user_stream_down(self, now: float) -> None:
        """The user stream is lost (again): fills since `now` (epoch s) may be missing."""
        self.user_up = False
        if self.user_down_since is None:
            self.user_down_since = now

    def mark_reconciled(self) -> None:
        """A reconciliation after the user stream came up: nothing is missing any more."""
        self.reconciled_once = True
        self.user_down_since = None
        self.ready.set()

    def mark_book_synced(self, symbol: str) -> bool:
        """The book of `symbol` is in sync; True if it was not before."""
        first = not self.books_synced.get(symbol, False)
        self.books_synced[symbol] = True
        self.books_stale[symbol] = False
        return first

    def mark_book_stale(self, symbol: str) -> bool:
        """The book of `symbol` stopped updating: out of sync until resynced; True if it was in sync."""
        self.books_stale[symbol] = True
        return self.mark_book_lost(symbol)

    def mark_book_lost(self, symbol: str) -> bool:
        """The book of `symbol` is out of sync; True if it was in sync before."""
        was = self.books_synced.get(symbol, False)
        self.books_synced[symbol] = False
        return was

    def mark_clock(self, offset_ms: float, rtt_ms: float, alert: bool) -> None:
        """A clock measurement; a change of `alert` (offset beyond half the signing window) is reported."""
        self.clock_offset_ms, self.clock_rtt_ms = offset_ms, rtt_ms
        if alert != self.clock_alert:
            self.clock_alert = alert
            self.report(f"clock offset {offset_ms:.0f} ms" + (" exceeds half the recvWindow" if alert else " ok"))
