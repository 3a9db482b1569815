"""The ticket reaches the desk as a typed request: its limit and i-would prices are staged on the
instrument's tick (passively, never looser than typed), the ticket shows what was staged, and
the parent ids come from the OMS."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from app.composition import Terminal
from core.actors import Actor, Role
from core.stage_request import StageRequest
from core.types import Side
from tests.app.terminal_kit import open_terminal
from widgets.ticket import OrderTicket

TRADER = Actor("tina", Role.TRADER)


@pytest.fixture
def terminal(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_terminal(qtbot, tmp_path, TRADER) as term:
        yield term


def test_a_typed_limit_is_staged_on_the_tick_and_the_ticket_shows_it(qtbot, terminal: Terminal) -> None:  # type: ignore[no-untyped-def]
    bridge = terminal.bridge
    assert bridge is not None
    ticks = {bridge.engine.venues[v].instrument(bridge.symbol).tick_size for v in bridge.venue_names}
    assert ticks == {Decimal(1)}  # the embedded market's BTC venues quote whole dollars
    ticket = bridge.panels.ticket
    ticket.fill(side="sell", quantity="5", horizon="30m", algo="twap", rfq_mode="off",
                limit="60,000.004", i_would="60100.5")
    ticket.stage()
    pid = ticket.staged_id
    assert pid == "BH0001", ticket.status.text()  # the OMS's first id
    staged = bridge.engine.oms.parents[pid]
    assert staged.limit_price == Decimal(60_001) and staged.i_would_price == Decimal(60_101)  # a sell rounds up
    assert ticket.limit.text() == "60001" and ticket.i_would.text() == "60101"
    note = ticket.findChild(QLabel, "ticketMessage_limit")
    assert note is not None and not note.isHidden()
    assert "Snapped to the 1 tick" in note.text() and "60000.004 → 60001" in note.text()
    assert ticket.start_button.isEnabled()  # showing the staged prices does not un-stage the ticket

    ticket.fill(side="buy", limit="59999.9", i_would="")
    ticket.stage()
    other = ticket.staged_id
    assert other == "BH0002", ticket.status.text()
    assert bridge.engine.oms.parents[other].limit_price == Decimal(59_999)  # a buy rounds down
    assert ticket.limit.text() == "59999"


def test_the_ticket_emits_a_typed_request_with_the_digits_typed(qtbot) -> None:  # type: ignore[no-untyped-def]
    ticket = OrderTicket()
    qtbot.addWidget(ticket)
    ticket.set_market(["BTC/USDT"], ["alpha", "beta"], [])
    ticket.fill(side="buy", quantity="12.3456789", horizon="2h", limit="60000.004", i_would="59950",
                algo="pov", pov_rate_pct="5", venues=["beta"], rfq_mode="off")
    with qtbot.waitSignal(ticket.stage_requested) as signal:
        ticket.stage()
    request = signal.args[0]
    assert isinstance(request, StageRequest)
    assert request.side is Side.BUY and request.quantity == Decimal("12.3456789")  # exact, not a float
    assert request.limit_price == Decimal("60000.004") and request.i_would_price == Decimal(59_950)
    assert request.horizon_s == 7200.0 and request.params["rate"] == pytest.approx(0.05)
    assert request.venues == ("beta",) and request.rfq_mode == "off"


def test_an_i_would_price_beyond_the_limit_is_caught_inline(qtbot) -> None:  # type: ignore[no-untyped-def]
    ticket = OrderTicket()
    qtbot.addWidget(ticket)
    ticket.set_market(["BTC/USDT"], ["alpha"], [])
    ticket.fill(side="sell", quantity="5", limit="60000", i_would="59900")
    with qtbot.assertNotEmitted(ticket.stage_requested):
        ticket.stage()
    assert ticket.messages["limit"][0] == "error" and "beyond the limit" in ticket.messages["limit"][1]
