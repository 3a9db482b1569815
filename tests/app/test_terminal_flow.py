"""A whole trade driven through the real widgets, offscreen, on the embedded market.

btc-block-4h with a small block (20 BTC over 30 minutes); the SimClock is advanced directly by the
test, not in wall time. Each step asserts on the engine's state AND on what the widgets show:
stage → pre-trade → start → override (urgency high, confirmed) → RFQ accept and RFQ reject in
the quote dialogs → kill switch refused for a trader, pressed by a supervisor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.composition import Terminal
from core.actors import Actor, Role
from core.events import TradingState
from core.parent import ParentState, Urgency
from core.rfq.model import RfqState
from tests.app.terminal_kit import advance, open_terminal
from widgets.pretrade_panel import _HighlightModel

SUPERVISOR = Actor("carol", Role.SUPERVISOR)
TRADER = Actor("tom", Role.TRADER)
FIRM_DESKS = ("north", "meridian", "lattice")  # no last look: an accept fills


@pytest.fixture
def terminal(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_terminal(qtbot, tmp_path, SUPERVISOR, mc_paths=2_000) as term:
        yield term


def test_a_whole_trade_on_screen(qtbot, terminal: Terminal) -> None:  # type: ignore[no-untyped-def]
    bridge, market, window = terminal.bridge, terminal.market, terminal.window
    assert bridge is not None and market is not None
    engine, panels = market.engine, bridge.panels
    ticket, pretrade, override = panels.ticket, panels.pretrade, panels.override

    # the market is live on every ladder, the status bar shows venues, state and the simulated clock
    bridge.flush_all()
    for name, ladder in panels.ladders.items():
        assert ladder.view is not None, name
        assert ladder.visible_rows >= 20, f"{name}: {ladder.visible_rows} rows"
        assert len(ladder.row_model().price) >= 20
    assert all(v in window.venues_label.text() for v in market.venue_names)
    assert window.trading_state_label.text() == "ACTIVE"
    assert "2026-01-01" in window.clock_label.text() and "sim ×10" in window.clock_label.text()
    assert bridge.kill_button is not None and bridge.kill_button.isVisible()  # a supervisor's session

    # a bad ticket says what is wrong, inline, and stages nothing
    ticket.fill(side="sell", quantity="twenty", horizon="30m", rfq_mode="manual")
    qtbot.mouseClick(ticket.stage_button, Qt.MouseButton.LeftButton)
    message = ticket.findChild(type(ticket.status), "ticketMessage_quantity")
    assert message is not None and message.isVisible() and "positive number" in message.text()
    assert not engine.oms.parents

    # stage → the pre-trade report
    ticket.fill(quantity="20", horizon="30m", algo="ac", urgency="medium", rfq_mode="manual")
    qtbot.mouseClick(ticket.stage_button, Qt.MouseButton.LeftButton)
    pid = "BH0001"
    parent = engine.oms.parents[pid]
    assert parent.state is ParentState.STAGED and float(parent.quantity) == 20.0 and parent.horizon_s == 1800.0
    assert pid in bridge.reports
    assert pid in pretrade.headline.text() and "SELL 20" in pretrade.headline.text()
    assert pretrade.figures["instant_consolidated"].text().endswith("bps")
    assert pretrade.venue_model.rowCount() == len(market.venue_names)
    assert isinstance(pretrade.horizon_model, _HighlightModel) and pretrade.recommended_row is not None
    assert any(type(item).__name__ == "BarGraphItem" for item in pretrade.histogram.getPlotItem().items)
    assert ticket.start_button.isEnabled() and pretrade.start_button.isEnabled()

    # start
    qtbot.mouseClick(ticket.start_button, Qt.MouseButton.LeftButton)
    assert parent.state is ParentState.RUNNING and pid in engine.oms.arrival_mid
    assert override.parent_id == pid and "RUNNING" in override.headline.text()
    advance(terminal, 120.0, qtbot)
    row = panels.parents.model.row_by_key(pid)
    assert row is not None and row.state is ParentState.RUNNING and row.filled > 0
    assert row.filled == pytest.approx(float(engine.oms.done_qty(pid)))
    assert panels.children.model.rowCount() == len(engine.oms.children_of[pid])
    assert panels.fills.model.rowCount() > 0
    assert panels.chart.samples.size > 0 and panels.chart._plan is not None
    # our resting children are on the ladders, at their prices
    ours = [c for c in engine.oms.open_children(pid) if c.price is not None]
    if ours:
        bridge.push_ladders()
        for ladder in panels.ladders.values():
            ladder.flush()
        shown = sum(float(np.sum(ladder.row_model().working_sell)) for name, ladder in panels.ladders.items()
                    if name != "consolidated")
        assert shown == pytest.approx(sum(float(c.leaves) for c in ours), rel=1e-6)

    # override: urgency → high asks first, then applies through the ExecutionService
    override.urgency.setCurrentText("high")
    qtbot.mouseClick(override.apply_buttons["urgency"], Qt.MouseButton.LeftButton)
    assert parent.urgency is Urgency.MEDIUM  # not before the confirmation
    assert override.confirm_box is not None and override.confirm_box.isVisible()
    assert override.confirm_button is not None
    override.confirm_button.click()
    assert parent.urgency is Urgency.HIGH
    assert engine.oms.overrides[-1]["field"] == "urgency" and "carol" in engine.oms.overrides[-1]["actor"]
    advance(terminal, 15.0, qtbot)
    assert override.current["urgency"].text() == "high"
    assert any("urgency" in line for line in override.decisions_model.stringList())

    # RFQ: ask the desks from the override panel, accept one quote and reject another in their dialogs
    before = set(market.rfq.rfqs)
    qtbot.mouseClick(override.rfq_button, Qt.MouseButton.LeftButton)
    asked = {rfq_id for rfq_id in market.rfq.rfqs if rfq_id not in before}
    assert len(asked) >= 2 and "Asked" in override.result.text()
    advance(terminal, 3.5, qtbot)  # the simulated desks answer within 0.5–3 s
    dialogs = {qid: d for qid, d in bridge.dialogs.items() if d.quote.rfq_id in asked}
    assert len(dialogs) >= 2 and all(d.isVisible() and not d.isModal() for d in dialogs.values())
    by_desk = {d.quote.desk: (qid, d) for qid, d in dialogs.items()}
    firm = [desk for desk in by_desk if desk in FIRM_DESKS]
    assert firm, f"no firm desk quoted: {sorted(by_desk)}"
    accept_desk = firm[0]
    reject_desk = next(desk for desk in by_desk if desk != accept_desk)
    accept_id, accept_dialog = by_desk[accept_desk]
    reject_id, reject_dialog = by_desk[reject_desk]
    assert "than exchange by" in accept_dialog.evaluation_label.text()
    assert accept_dialog.countdown.value() > 0 and "s left" in accept_dialog.countdown_label.text()
    otc_before = float(engine.oms.otc_qty(pid))

    qtbot.mouseClick(accept_dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(reject_dialog.reject_button, Qt.MouseButton.LeftButton)
    advance(terminal, 2.0, qtbot)
    accepted = market.rfq.rfqs[market.rfq.by_quote[accept_id]]
    rejected = market.rfq.rfqs[market.rfq.by_quote[reject_id]]
    assert accepted.state is RfqState.FILLED and accepted.actor == str(SUPERVISOR)
    assert rejected.state is RfqState.REJECTED and rejected.actor == str(SUPERVISOR)
    assert float(engine.oms.otc_qty(pid)) == pytest.approx(otc_before + float(accepted.filled_qty))
    assert accept_dialog.status_label.text().startswith("FILLED")
    assert reject_dialog.status_label.text().startswith("Rejected")
    assert not accept_dialog.accept_button.isEnabled() and not reject_dialog.accept_button.isEnabled()
    assert panels.rfq_log.model.row_by_key(accepted.rfq_id).state == "filled"
    assert panels.rfq_log.model.row_by_key(rejected.rfq_id).state == "rejected"
    assert panels.parents.model.row_by_key(pid).otc_qty == pytest.approx(float(engine.oms.otc_qty(pid)))

    # kill switch: a trader has no button and is refused by the engine
    bridge.set_actor(TRADER)
    assert bridge.kill_button is None and window.kill_slot.count() == 0
    assert not bridge.kill_switch()
    assert not engine.risk.killed and parent.state is ParentState.RUNNING
    assert any("Refused" in r.detail for r in panels.alerts.alerts.rows())

    # … a supervisor has it, confirms, and everything stops
    bridge.set_actor(SUPERVISOR)
    kill = bridge.kill_button
    assert kill is not None and kill.isVisible()
    qtbot.mouseClick(kill, Qt.MouseButton.LeftButton)
    assert not engine.risk.killed  # only after the explicit confirmation
    assert kill.confirm_box is not None and kill.kill_button is not None
    kill.kill_button.click()
    assert engine.risk.killed
    assert parent.state is ParentState.STOPPED_BY_RISK
    advance(terminal, 3.0, qtbot)  # cancel acks and the sweep
    assert not engine.oms.open_children()
    assert window.trading_state_label.text() == "HALTED"
    assert window.banner_bar.isVisible() and window.banner.isVisible() and window.banner.height() > 40
    assert window.banner.width() > 0.9 * window.width() and window.banner.state is TradingState.HALTED
    assert window.banner.text.startswith("HALTED — kill switch by carol")
    assert "HALTED" in window.windowTitle()
    assert not ticket.stage_button.isEnabled()
    assert panels.parents.model.row_by_key(pid).state is ParentState.STOPPED_BY_RISK
    assert window.banner.reset_button.isVisible()  # the supervisor may reset
