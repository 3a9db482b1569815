"""The one door from a ccxt venue to the engine: every report the venue makes goes through here.

The `Venue` port hands the engine's `VenueCallbacks` to `connect()`, after the venue and its
parts exist, so the parts are given this relay at construction and the venue attaches the
callbacks to it when it connects. Until then, and for the whole life of a venue used by the
standalone ``kill`` (which never connects), reports are dropped and `attached` is false: that is
how the venue knows no engine drives it and it must load the markets itself.
"""

from __future__ import annotations

from core.events import BookUpdate, Trades
from core.orders import Fill
from core.ports import VenueCallbacks, VenueOrderReport


class CallbackRelay:
    """Forwards to the attached `VenueCallbacks`; a no-op before `attach`."""

    def __init__(self) -> None:
        self._cb: VenueCallbacks | None = None

    def attach(self, callbacks: VenueCallbacks) -> None:
        self._cb = callbacks

    @property
    def attached(self) -> bool:
        return self._cb is not None

    def on_book(self, update: BookUpdate) -> None:
        if self._cb is not None:
            self._cb.on_book(update)

    def on_trades(self, trades: Trades) -> None:
        if self._cb is not None:
            self._cb.on_trades(trades)

    def on_order(self, report: VenueOrderReport) -> None:
        if self._cb is not None:
            self._cb.on_order(report)

    def on_fill(self, fill: Fill) -> None:
        if self._cb is not None:
            self._cb.on_fill(fill)

    def on_timeout(self, client_id: str) -> None:
        if self._cb is not None:
            self._cb.on_timeout(client_id)

    def on_cancel_reject(self, client_id: str, reason: str) -> None:
        if self._cb is not None:
            self._cb.on_cancel_reject(client_id, reason)

    def on_status(self, up: bool, detail: str) -> None:
        if self._cb is not None:
            self._cb.on_status(up, detail)
