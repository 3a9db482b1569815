"""A desk rebuilt from its journal is the desk that stopped: every component's state, not only the
OMS's (app/desk.py replays the journal once into the OMS, the risk gate, the breakers, execution
and RFQ).

The property: random sequences of commands (stage, start, pause, resume, cancel), venue events
(outages, price moves that trip breakers), breaker resets, venue switches, kill switch presses and
resets, limit changes, RFQ requests, accepts and settlements, quotes expiring, fills — journaled,
then replayed into a fresh desk on new venue and desk objects — give an identical digest of every
component. Named regression tests pin each restart defect found before the desk existed.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.store.journal import MemoryJournal
from app.desk import Desk, DeskConfig, build_desk
from core.actors import Actor, Role
from core.clock import SimClock
from core.events import BookUpdate, TradingState, VenueStatus
from core.parent import ParentOrder, ParentState
from core.rfq.model import RfqState
from core.rfq.service import RfqConfig
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue
from tests.rfq.fakes import FakeDesk

TRADER = Actor("tess", Role.TRADER)
SUPERVISOR = Actor("sam", Role.SUPERVISOR)
T0 = 1_700_000_000.0
VENUES = ("V0", "V1")


def desk_on(journal: MemoryJournal, clock: SimClock | None = None) -> Desk:
    """A desk on two scripted venues and two scripted OTC desks, restored from `journal`."""
    clock = clock or SimClock(start=T0)
    venues = {name: FakeVenue(name, clock, i + 1) for i, name in enumerate(VENUES)}
    mid = lambda: venues["V0"].mid  # noqa: E731
    desks = {name: FakeDesk(name, clock, mid, ttl_s=8.0) for name in ("north", "harbor")}
    config = DeskConfig(rfq=RfqConfig(request_every_s=0))
    return build_desk(clock, journal, venues, desks, SeedTree(7), config)  # type: ignore[arg-type]


def restarted(desk: Desk) -> Desk:
    """A fresh desk (new venue and desk objects, a new clock at the same time) on the same journal."""
    assert isinstance(desk.journal, MemoryJournal)
    return desk_on(desk.journal, SimClock(start=desk.clock.now()))


def run(desk: Desk, seconds: float) -> None:
    clock = desk.clock
    assert isinstance(clock, SimClock)
    clock.run_until(clock.now() + seconds)


def book(desk: Desk, venue: str, mid: float) -> BookUpdate:
    return BookUpdate(desk.clock.now(), venue, "BTC/USDT", 1, np.array([mid - 0.1]), np.array([1.0]),
                      np.array([mid + 0.1]), np.array([1.0]))


def stage_and_start(desk: Desk, parent_id: str, qty: int = 20) -> None:
    desk.execution.stage(ParentOrder(parent_id, BTC, Side.SELL, Decimal(qty), 1800.0, algo="twap"), TRADER)
    desk.execution.start(parent_id, TRADER)


# ---- named regressions: what a restart used to forget ----------------------------------------


def test_a_venue_the_supervisor_switched_off_stays_off_after_a_restart() -> None:
    desk = desk_on(MemoryJournal())
    run(desk, 3)
    desk.execution.set_venue_enabled("V1", False, SUPERVISOR)
    again = restarted(desk)
    assert again.execution.disabled_venues == {"V1"}
    assert again.execution.venue_holds["V1"] == {"sam"}
    # and nothing is routed there: a parent started after the restart sends only to V0
    run(again, 3)
    stage_and_start(again, "P2")
    run(again, 60)
    sent_to = {c.venue for c in again.engine.oms.children_for("P2")}
    assert sent_to == {"V0"}


def test_a_breaker_only_a_supervisor_may_reset_is_still_tripped_after_a_restart() -> None:
    desk = desk_on(MemoryJournal())
    run(desk, 3)
    stage_and_start(desk, "P1")
    run(desk, 20)
    desk.engine.bus.publish(book(desk, "V0", 50_000.0))
    desk.clock.call_later(10.0, lambda: desk.engine.bus.publish(book(desk, "V0", 50_000.0 * 1.05)))
    run(desk, 11)
    assert "price_move:V0" in desk.breakers.tripped
    assert desk.engine.oms.parents["P1"].state is ParentState.PAUSED

    again = restarted(desk)
    assert again.breakers.tripped == {"price_move:V0": "pause"}
    again.execution.resume_after_restart("P1")
    with pytest.raises(ValueError, match="price_move"):
        again.execution.resume("P1", TRADER)  # still tripped: the trader cannot resume it
    again.breakers.reset("price_move:V0", SUPERVISOR)
    again.execution.resume("P1", TRADER)
    assert again.engine.oms.parents["P1"].state is ParentState.RUNNING


def test_a_kill_switch_comes_back_engaged_with_who_pressed_it() -> None:
    desk = desk_on(MemoryJournal())
    run(desk, 3)
    stage_and_start(desk, "P1")
    run(desk, 20)
    desk.engine.kill_switch(SUPERVISOR, "runaway algo")
    again = restarted(desk)
    assert again.engine.risk.killed
    assert again.engine.risk.killed_by == str(SUPERVISOR) and again.engine.risk.kill_reason == "runaway algo"
    assert again.engine.risk.states["global"] is TradingState.HALTED


def test_a_raised_limit_and_a_reducing_state_survive_a_restart() -> None:
    desk = desk_on(MemoryJournal())
    desk.engine.risk.set_limit("max_child_qty", 7.5, SUPERVISOR)
    desk.engine.risk.set_state("venue:V1", TradingState.REDUCING, SUPERVISOR, "venue under review")
    again = restarted(desk)
    assert again.engine.risk.limits.max_child_qty == 7.5
    assert again.engine.risk.state_for("V1", "BTC/USDT") is TradingState.REDUCING


# ---- the property ----------------------------------------------------------------------------

STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.sampled_from([1.0, 5.0, 15.0, 40.0])),
        st.tuples(st.just("stage"), st.integers(5, 40)),
        st.tuples(st.sampled_from(["pause", "resume", "cancel", "finish"]), st.integers(0, 3)),
        st.tuples(st.sampled_from(["venue_off", "venue_on"]), st.sampled_from(VENUES), st.booleans()),
        st.tuples(st.sampled_from(["down", "up"]), st.sampled_from(VENUES)),
        st.tuples(st.just("price_move"), st.sampled_from(VENUES)),
        st.tuples(st.just("reset_breaker"), st.integers(0, 3)),
        st.tuples(st.sampled_from(["kill", "kill_reset"])),
        st.tuples(st.just("limit"), st.sampled_from([5.0, 50.0])),
        st.tuples(st.just("rfq"), st.integers(0, 3)),
        st.tuples(st.just("rfq_round"), st.integers(0, 3)),
        st.tuples(st.just("accept"), st.integers(0, 3)),
        st.tuples(st.just("reject"), st.integers(0, 3)),
        st.tuples(st.just("settle"), st.sampled_from(["north", "harbor"])),
    ),
    min_size=1,
    max_size=25,
)


def apply_step(desk: Desk, step: tuple, n_parents: list[int]) -> None:  # type: ignore[type-arg]
    """One command or venue event; a refusal (a ValueError, PermissionError) is a legal outcome."""
    what, *args = step
    ex, engine = desk.execution, desk.engine
    parents = sorted(engine.oms.parents)
    pick = (lambda i: parents[i % len(parents)]) if parents else (lambda i: None)
    try:
        if what == "advance":
            run(desk, args[0])
        elif what == "stage":
            n_parents[0] += 1
            stage_and_start(desk, f"P{n_parents[0]}", args[0])
        elif what in ("pause", "resume", "cancel", "finish") and parents:
            pid = pick(args[0])
            {"pause": lambda: ex.pause(pid, TRADER), "resume": lambda: ex.resume(pid, TRADER),
             "cancel": lambda: ex.cancel(pid, TRADER), "finish": lambda: ex.finish_now(pid, TRADER)}[what]()
        elif what in ("venue_off", "venue_on"):
            ex.set_venue_enabled(args[0], what == "venue_on", SUPERVISOR if args[1] else TRADER)
        elif what in ("down", "up"):
            engine.bus.publish(VenueStatus(desk.clock.now(), args[0], what == "up", 0.0, what))
        elif what == "price_move":
            venue = args[0]
            engine.bus.publish(book(desk, venue, 50_000.0))
            desk.clock.call_later(5.0, lambda: engine.bus.publish(book(desk, venue, 50_000.0 * 1.06)))
            run(desk, 6)
        elif what == "reset_breaker" and desk.breakers.tripped:
            keys = sorted(desk.breakers.tripped)
            desk.breakers.reset(keys[args[0] % len(keys)], SUPERVISOR)
        elif what == "kill":
            engine.kill_switch(SUPERVISOR, "property test")
        elif what == "kill_reset" and engine.risk.killed:
            engine.risk.reset_kill_switch(SUPERVISOR, "property test")
        elif what == "limit":
            engine.risk.set_limit("max_child_qty", args[0], SUPERVISOR)
        elif what == "rfq" and parents and desk.rfq is not None:
            desk.rfq.request(pick(args[0]), TRADER)
        elif what == "rfq_round" and parents and desk.rfq is not None:
            # ask, let the desks quote, take the first quote and let the desk confirm it
            created = desk.rfq.request(pick(args[0]), TRADER)
            run(desk, 1.0)
            quotes = [r.quote.quote_id for r in created if r.state is RfqState.QUOTED and r.quote is not None]
            if quotes:
                desk.rfq.accept(quotes[0], TRADER)
            run(desk, 2.0)
        elif what in ("accept", "reject") and desk.rfq is not None:
            quoted = sorted(r.quote.quote_id for r in desk.rfq.rfqs.values()
                            if r.state is RfqState.QUOTED and r.quote is not None)
            if quoted:
                qid = quoted[args[0] % len(quoted)]
                desk.rfq.accept(qid, TRADER) if what == "accept" else desk.rfq.reject(qid, TRADER)
        elif what == "settle" and desk.rfq is not None and desk.rfq.unsettled.get(args[0], 0.0) > 0:
            desk.rfq.settle(args[0], desk.rfq.unsettled[args[0]] / 2, SUPERVISOR)
    except (ValueError, PermissionError, KeyError):
        pass


@settings(max_examples=60)
@given(STEPS)
def test_a_desk_rebuilt_from_its_journal_has_every_components_state(steps: list[tuple]) -> None:  # type: ignore[type-arg]
    desk = desk_on(MemoryJournal())
    run(desk, 3)
    n_parents = [0]
    for step in steps:
        apply_step(desk, step, n_parents)
    run(desk, 1)
    again = restarted(desk)
    assert again.state_digest() == desk.state_digest()
