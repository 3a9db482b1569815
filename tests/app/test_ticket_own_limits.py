"""The ticket's own-limit fields (max slippage vs arrival, max deviation from schedule) reach the
staged parent through the bridge; bad values are caught inline."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.composition import Terminal
from core.actors import Actor, Role
from tests.app.terminal_kit import open_terminal
from widgets.ticket import OrderTicket

TRADER = Actor("tina", Role.TRADER)


@pytest.fixture
def terminal(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_terminal(qtbot, tmp_path, TRADER) as term:
        yield term


def test_the_ticket_passes_its_own_limits_to_the_staged_parent(qtbot, terminal: Terminal) -> None:  # type: ignore[no-untyped-def]
    bridge = terminal.bridge
    assert bridge is not None
    ticket = bridge.panels.ticket
    ticket.fill(side="sell", quantity="5", horizon="30m", algo="twap", rfq_mode="off",
                max_slippage_bps="35", max_schedule_deviation_pct="4")
    ticket.stage()
    pid = ticket.staged_id
    assert pid, ticket.status.text()
    staged = bridge.engine.oms.parents[pid]
    assert staged.max_slippage_bps == 35.0 and staged.max_schedule_deviation == pytest.approx(0.04)

    ticket.fill(max_slippage_bps="", max_schedule_deviation_pct="")  # empty: no own limits
    ticket.stage()
    other = ticket.staged_id
    assert other and other != pid
    assert bridge.engine.oms.parents[other].max_slippage_bps is None
    assert bridge.engine.oms.parents[other].max_schedule_deviation is None


def test_bad_own_limits_block_staging_with_a_message(qtbot) -> None:  # type: ignore[no-untyped-def]
    ticket = OrderTicket()
    qtbot.addWidget(ticket)
    ticket.set_market(["BTC/USDT"], ["alpha"], [])
    ticket.fill(side="sell", quantity="5", horizon="30m", max_slippage_bps="-3")
    assert ticket.values() is None
    assert "Max slippage must be a positive number of bps" in ticket.messages["own_limits"][1]
    ticket.fill(max_slippage_bps="20", max_schedule_deviation_pct="150")
    assert ticket.values() is None
    assert "percentage in (0, 100]" in ticket.messages["own_limits"][1]
    ticket.fill(max_schedule_deviation_pct="2.5")
    request = ticket.values()
    assert request is not None and request.max_slippage_bps == 20.0
    assert request.max_schedule_deviation == pytest.approx(0.025)
