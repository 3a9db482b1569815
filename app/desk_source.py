"""What the terminal's window needs from the market it trades: the desk and a few queries.

The bridge (app/bridge.py) and the pieces it composes depend on `TradingDesk`, never on the
simulator: the embedded market (app/terminal_sim.EmbeddedMarket) implements it today, a live desk
can implement it tomorrow. Everything the window commands or reads goes through `desk`
(app/desk.Desk: engine, execution, risk, breakers, RFQ — None without OTC desks —, venues,
desks, clock); the protocol adds only what a desk alone does not know: the traded symbol, how to
price a parent before it starts, and a line that says what the window is connected to.

`Pacing` is the simulated market's pace (app/terminal_sim.SimPacer), None on a live desk: the
status bar shows it, and a quote awaiting the trader's answer holds it at real time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.desk import Desk
from core.analytics.pretrade import PreTradeReport
from core.types import Side


class TradingDesk(Protocol):
    """A desk the terminal trades on, with the queries the window needs beyond the desk itself."""

    @property
    def desk(self) -> Desk:
        """The one desk (app/desk.py): every command and every event goes through it."""
        ...

    @property
    def symbol(self) -> str:
        """The instrument the window trades, e.g. "BTC/USDT"."""
        ...

    @property
    def venue_names(self) -> tuple[str, ...]:
        """The desk's venues, in the order the window draws their ladders."""
        ...

    @property
    def description(self) -> str:
        """One line for the window's header: what market, which venues, which OTC desks."""
        ...

    def pretrade_job(
        self, side: Side, quantity: float, horizon_s: float, urgency: str, venues: tuple[str, ...], mc_paths: int
    ) -> Callable[[], PreTradeReport]:
        """Snapshot what the report needs now (on the loop); return a function that computes the
        report from that snapshot only, safe to run in an executor. `quantity` in base units,
        `horizon_s` in seconds; `venues` empty means every venue. Raises ValueError for a request
        it cannot price (no venue)."""
        ...

    def use_ac_params(self, report: PreTradeReport) -> None:
        """The Almgren–Chriss model of the next parent started uses this report's calibration."""
        ...


class Pacing(Protocol):
    """How fast a simulated market runs against wall time."""

    @property
    def speed(self) -> float:
        """The chosen speed: simulated seconds per wall second."""
        ...

    @property
    def effective_speed(self) -> float:
        """The speed now (1 while something holds real time)."""
        ...

    @property
    def lag_s(self) -> float:
        """How far simulated time is behind its target, seconds."""
        ...

    def hold_realtime(self, key: str, on: bool) -> None:
        """Run at ×1 while any key holds (e.g. an unanswered quote)."""
        ...
