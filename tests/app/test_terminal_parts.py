"""The terminal's parts on their own: the sim pacer, ticket parsing and validation, ladder grouping,
the interim OTC desks."""

from __future__ import annotations

import math
import time
from decimal import Decimal

import numpy as np
import pytest

from app.ladder_views import ticks_per_row_for
from app.terminal_sim import SimPacer
from core.clock import SimClock
from core.stage_request import StageRequest
from core.types import Side
from widgets.ticket import OrderTicket, parse_horizon, parse_number
from widgets.viewmodels import LadderView

T0 = 1_767_225_600.0


def test_pacer_follows_wall_time_times_speed_and_caps_each_step(qtbot) -> None:  # type: ignore[no-untyped-def]
    clock = SimClock(T0)
    fired: list[float] = []
    for k in range(1, 200):
        clock.call_at(T0 + k, lambda: fired.append(clock.now()))
    pacer = SimPacer(clock, speed=100.0, max_step_s=3.0)
    pacer.start()
    pacer.stop()  # drive ticks by hand
    time.sleep(0.05)
    pacer.tick()
    assert 0 < clock.now() - T0 <= 3.0 + 1e-9  # ~5 s due at ×100, capped at 3 s per tick
    assert pacer.lag_s > 0
    pacer.hold_realtime("quote:Q1", True)  # an open quote: real time
    assert pacer.effective_speed == 1.0
    before = clock.now()
    time.sleep(0.05)
    pacer.tick()
    assert clock.now() - before < 0.5
    pacer.hold_realtime("quote:Q1", False)
    assert pacer.effective_speed == 100.0
    assert fired == sorted(fired) and all(t <= clock.now() for t in fired)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("4h", 14_400.0), ("90m", 5_400.0), ("1h30m", 5_400.0), ("45s", 45.0), ("1.5h", 5_400.0), ("2d", 172_800.0)],
)
def test_horizon_durations(text: str, seconds: float) -> None:
    assert parse_horizon(text, T0) == seconds


def test_horizon_end_times_and_errors() -> None:
    now = T0 + 10 * 3600  # 10:00 UTC
    assert parse_horizon("14:30", now) == 4.5 * 3600
    assert parse_horizon("09:00", now) == 23 * 3600  # tomorrow
    assert isinstance(parse_horizon("soon", now), str)
    assert isinstance(parse_horizon("25:00", now), str)
    assert isinstance(parse_horizon("0m", now), str)
    # one grammar with the command line: a bare number has no unit, in the ticket as in `simulate`
    bare = parse_horizon("240", now)
    assert isinstance(bare, str) and "has no unit: write 240s, 240m or 240h" in bare
    assert parse_number("1,000.5") == 1000.5 and parse_number("2k") == 2000 and parse_number("x") is None


def test_ticket_validates_inline_and_converts_notional(qtbot) -> None:  # type: ignore[no-untyped-def]
    ticket = OrderTicket()
    qtbot.addWidget(ticket)
    ticket.set_market(["BTC/USDT"], ["alpha", "beta"], ["north"])
    ticket.set_clock(lambda: T0)
    with qtbot.assertNotEmitted(ticket.stage_requested):
        ticket.fill(quantity="-3")
        ticket.stage()
    assert ticket.messages["quantity"][0] == "error"
    ticket.fill(quantity="6000000", unit="notional")
    assert ticket.values() is None  # no market price yet: cannot convert a notional
    ticket.set_reference_price(60_000.0)
    ticket.fill(limit="70000", side="sell")
    with qtbot.waitSignal(ticket.stage_requested) as signal:
        ticket.stage()
    request = signal.args[0]
    assert isinstance(request, StageRequest)
    assert request.quantity == Decimal(100) and request.notional_usd == 6_000_000
    assert request.venues == ("alpha", "beta") and request.rfq_mode == "manual"
    assert request.side is Side.SELL and request.limit_price == Decimal(70_000)
    assert ticket.messages["limit"][0] == "warning"  # a sell limit 16.7 % above the market
    ticket.venue_checks["alpha"].setChecked(False)
    ticket.venue_checks["beta"].setChecked(False)
    assert ticket.values() is None and "venue" in ticket.messages["venues"][1]


def _view(bid: float, ask: float, working_px: tuple[float, ...] = ()) -> LadderView:
    one = np.array([1.0])
    px = np.array(working_px, dtype=float)
    return LadderView("alpha", "BTC/USDT", 1.0, np.array([bid]), one, np.array([ask]), one,
                      working_px=px, working_qty=-np.ones(len(px)))


def test_ladder_groups_ticks_when_the_spread_or_our_orders_do_not_fit() -> None:
    assert ticks_per_row_for(_view(60_000, 60_001), rows=24, current=1) == 1
    flush = _view(59_700, 59_960)  # 260 ticks: one tick per row would show only the empty spread
    wide = ticks_per_row_for(flush, rows=24, current=1)
    assert 260 / wide <= 24 * 0.3
    # our sell left 400 ticks above the market stays on screen
    assert ticks_per_row_for(_view(60_000, 60_001, (60_400.0,)), rows=24, current=1) >= 400 / 12
    # back to one tick per row only when clearly narrower (no flicker at the threshold)
    assert ticks_per_row_for(_view(60_000, 60_008), rows=24, current=2) == 2
    assert ticks_per_row_for(_view(60_000, 60_002), rows=24, current=2) == 1
    assert ticks_per_row_for(_view(60_000, 60_045), rows=24, current=50) == 20  # the flush is over
    assert ticks_per_row_for(_view(math.nan, 60_001), rows=24, current=5) == 5
