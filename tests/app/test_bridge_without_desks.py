"""The window on a desk that is not the simulator and has no OTC desks.

The bridge needs only a `TradingDesk` (app/desk_source.py): here a desk built by `build_desk` on two
scripted venues and no desks (so `desk.rfq is None`), with a fixed pre-trade report. The window
must draw both venues' ladders and the consolidated one from the venues' own books, stage and
start a parent whose RFQ mode is manual without crashing, and say — in the RFQ panel and where the
trader asks for quotes — that no OTC desks are configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from adapters.store.journal import MemoryJournal
from app.bridge import Bridge, build_panels
from app.desk import Desk, build_desk
from app.desk_source import TradingDesk
from app.main_window import MainWindow
from core.actors import Actor, Role
from core.analytics.instant_cost import VenueBook
from core.analytics.pretrade import PreTradeReport, PreTradeSettings, build_pretrade_report
from core.clock import SimClock
from core.parent import ParentState
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import FakeVenue

TRADER = Actor("tina", Role.TRADER)
T0 = 1_700_000_000.0
VENUES = ("V0", "V1")


@dataclass
class ScriptedDesk:
    """A `TradingDesk` that is not the embedded market: a desk on scripted venues and one fixed
    pre-trade report (priced once from the venues' books)."""

    desk: Desk
    report: PreTradeReport
    symbol: str = "BTC/USDT"
    priced: list[tuple[Side, float, tuple[str, ...]]] = field(default_factory=list)
    calibrated_with: list[PreTradeReport] = field(default_factory=list)

    @property
    def venue_names(self) -> tuple[str, ...]:
        return self.desk.venue_names

    @property
    def description(self) -> str:
        return f"Scripted venues {', '.join(self.venue_names)} · no OTC desks"

    def pretrade_job(
        self, side: Side, quantity: float, horizon_s: float, urgency: str, venues: tuple[str, ...], mc_paths: int
    ) -> Callable[[], PreTradeReport]:
        self.priced.append((side, quantity, venues))
        return lambda: self.report

    def use_ac_params(self, report: PreTradeReport) -> None:
        self.calibrated_with.append(report)


def fixed_report(venues: dict[str, FakeVenue]) -> PreTradeReport:
    books = []
    for name, venue in venues.items():
        bid_px, bid_qty, ask_px, ask_qty = venue.levels()
        books.append(VenueBook(name, bid_px, bid_qty, ask_px, ask_qty, 5.0))
    return build_pretrade_report(books, -1, 2.0, 1800.0, "medium", 20_000.0, 0.03,
                                 PreTradeSettings(mc_paths=200, seed=1))


@pytest.fixture
def window_on_scripted_desk(qtbot) -> Iterator[tuple[Bridge, ScriptedDesk, MainWindow, dict[str, FakeVenue]]]:  # type: ignore[no-untyped-def]
    clock = SimClock(start=T0)
    venues = {name: FakeVenue(name, clock, i + 1) for i, name in enumerate(VENUES)}
    desk = build_desk(clock, MemoryJournal(), venues, {}, SeedTree(3))
    assert desk.rfq is None  # no OTC desks: no RFQ service
    clock.run_until(T0 + 3.0)  # the venues publish their first books
    source = ScriptedDesk(desk, fixed_report(venues))
    typed: TradingDesk = source  # the protocol is all the bridge needs
    window = MainWindow(settings_scope="BlockhouseTest-no-desks", sim_speed=None, restore=False)
    qtbot.addWidget(window)
    panels = build_panels(window, typed.venue_names, 30.0)
    bridge = Bridge(typed, window, panels, TRADER)
    window.resize(1600, 900)
    window.show()
    qtbot.waitExposed(window)
    try:
        yield bridge, source, window, venues
    finally:
        bridge.close()
        desk.close()


def test_the_window_draws_the_venues_and_says_no_desks_are_configured(window_on_scripted_desk) -> None:  # type: ignore[no-untyped-def]
    bridge, source, window, venues = window_on_scripted_desk
    bridge.flush_all()
    panels = bridge.panels
    for name, venue in venues.items():
        view = panels.ladders[name].view
        assert view is not None and view.venue == name
        bid_px, _, ask_px, _ = venue.levels()  # the venue's own book, not the simulator's
        assert view.best_bid == pytest.approx(float(bid_px[0])) and view.best_ask == pytest.approx(float(ask_px[0]))
        assert view.tick_size == pytest.approx(0.1)  # the venue's instrument
    consolidated = panels.ladders["consolidated"].view
    assert consolidated is not None
    assert consolidated.best_bid == pytest.approx(max(float(v.levels()[0][0]) for v in venues.values()))

    window.show_panel("rfq")
    note = panels.rfq_note
    assert note is not None and note.isVisible()
    assert "No OTC desks are configured" in note.text()
    assert panels.rfq_log.model.rowCount() == 0
    assert panels.ticket.desk_checks == {}  # nothing to tick in the ticket's OTC desks
    assert window.market_label.text() == source.description


def test_a_manual_rfq_parent_stages_and_starts_without_desks(window_on_scripted_desk) -> None:  # type: ignore[no-untyped-def]
    bridge, source, _window, _venues = window_on_scripted_desk
    panels = bridge.panels
    ticket = panels.ticket
    ticket.fill(side="sell", quantity="2", horizon="30m", algo="twap", rfq_mode="manual")
    ticket.stage()
    pid = ticket.staged_id
    assert pid, ticket.status.text()
    assert source.priced == [(Side.SELL, 2.0, VENUES)]
    assert bridge.reports[pid] is source.report

    assert bridge.start(pid)  # the RFQ mode asks for a watch nobody can run: no crash
    parent = bridge.engine.oms.parents[pid]
    assert parent.state is ParentState.RUNNING
    assert source.calibrated_with == [source.report]

    assert bridge.request_quotes(pid) == 0
    assert "No OTC desks are configured" in panels.override.result.text()

    clock = bridge.clock
    assert isinstance(clock, SimClock)
    clock.run_until(clock.now() + 120.0)
    bridge.flush_all()
    assert panels.children.model.rowCount() > 0  # the algo worked on the scripted venues
    assert np.isfinite(panels.parents.model.row_by_key(pid).filled)
    assert panels.rfq_log.model.rowCount() == 0
