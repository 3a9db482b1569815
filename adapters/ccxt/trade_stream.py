"""Public trades of each symbol, from ccxt.pro's trade stream to the engine as numpy arrays.

Each batch ccxt returns becomes one `Trades` event: price and quantity (float64, in the quote and
base currency), aggressor (+1 buy / -1 sell, int8) and the exchange's trade time (epoch s). The
stream is best effort: on an error it resubscribes after a back-off (``reconnect_min_s``
doubling up to ``reconnect_max_s``; ccxt's own dial delay is cleared, as for every stream);
trades missed meanwhile are not fetched again (the tape feeds participation and analytics, not
our positions, which come from our own fills).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

from adapters.ccxt.callbacks import CallbackRelay
from adapters.ccxt.config import CcxtVenueConfig
from adapters.ccxt.session import ExchangeSession
from adapters.ccxt.tasks import TaskRunner
from adapters.ccxt.ws_guard import forget_dial_backoff
from core.events import Trades


class TradeStream:
    def __init__(
        self, config: CcxtVenueConfig, session: ExchangeSession, engine: CallbackRelay, runner: TaskRunner
    ) -> None:
        self.name = config.name
        self.config = config
        self._session = session
        self._engine = engine
        self._runner = runner

    async def run(self, symbol: str) -> None:
        """Publish `symbol`'s public trades until the venue closes."""
        delay = self.config.reconnect_min_s
        while not self._runner.closed:
            try:
                trades = await self._session.ex.watch_trades(symbol)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_s)
                forget_dial_backoff(self._session.ex)  # this loop's back-off is the only one
                continue
            delay = self.config.reconnect_min_s
            if not trades or not self._engine.attached:
                continue
            px = np.array([float(t["price"]) for t in trades], dtype=np.float64)
            qty = np.array([float(t["amount"]) for t in trades], dtype=np.float64)
            side = np.array([1 if t["side"] == "buy" else -1 for t in trades], dtype=np.int8)
            ts = np.array([(t["timestamp"] or 0) / 1000 for t in trades], dtype=np.float64)
            self._engine.on_trades(Trades(time.time(), self.name, symbol, px, qty, side, ts))
