"""Every child that reaches a venue is on that venue's tick and lot grid, at or above its minimum,
and never takes the parent past its quantity — whatever the grids, sizes and limits.

Real parents (TWAP, AC, adaptive with its own take) run on fake venues whose grids hypothesis
draws; what each venue's `submit` received is checked against that venue's own grid, an oracle
independent of the router's rounding: exact decimal remainders."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.actors import Actor, Role
from core.clock import SimClock
from core.engine import Engine
from core.execution.decisions import AimedTake
from core.execution.service import ExecutionConfig, ExecutionService
from core.orders import ChildOrder
from core.parent import ParentOrder
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue

TRADER = Actor("tina", Role.TRADER)
TICKS = ("0.01", "0.05", "0.1", "0.5", "1", "2.5")
LOTS = ("0.0001", "0.001", "0.005", "0.01", "0.05", "0.1")

grid = st.tuples(st.sampled_from(TICKS), st.sampled_from(LOTS), st.integers(1, 10))  # tick, lot, min lots


@settings(max_examples=24)  # each example trades a parent for 11 simulated minutes (≈0.2 s)
@given(
    grids=st.lists(grid, min_size=1, max_size=3),
    algo=st.sampled_from(["twap", "ac", "adaptive"]),
    side=st.sampled_from([Side.BUY, Side.SELL]),
    quantity=st.decimals(Decimal("0.5"), Decimal("40"), places=5),
    limit_bps=st.none() | st.floats(-40.0, 5.0),  # the limit from the mid, negative = through the market
    takes=st.lists(st.tuples(st.floats(0.0, 8.0), st.floats(-30.0, 60.0)), max_size=3),  # adaptive: (qty, cap bps)
    seed=st.integers(1, 10_000),
)
def test_every_child_at_a_venue_is_on_its_grid_above_its_minimum_and_within_the_parent(  # type: ignore[no-untyped-def]
    grids, algo, side, quantity, limit_bps, takes, seed
) -> None:
    clock = SimClock(start=1_700_000_000.0)
    venues = [
        FakeVenue(f"V{i}", clock, seed + i, tick_size=tick, lot_size=lot, min_qty=str(Decimal(lot) * n))
        for i, (tick, lot, n) in enumerate(grids)
    ]
    engine = Engine(clock, None, {v.name: v for v in venues})
    service = ExecutionService(engine, SeedTree(seed), ExecutionConfig(interval_s=10.0))
    clock.run_until(clock.now() + 3)  # first books

    limit = None
    if limit_bps is not None:  # off every grid on purpose: 5 decimals
        mid = venues[0].book_mid()
        limit = Decimal(f"{mid * (1 - side.sign * limit_bps * 1e-4):.5f}")
    parent = ParentOrder("P1", BTC, side, quantity, 600.0, algo=algo, limit_price=limit)

    reached: list[tuple[FakeVenue, ChildOrder]] = []
    for venue in venues:
        submit = venue.submit

        def recorded(order: ChildOrder, venue: FakeVenue = venue, submit=submit) -> None:  # type: ignore[no-untyped-def]
            reached.append((venue, order))
            # the OMS journaled the intent before the venue was called: it counts as working
            assert engine.oms.done_qty("P1") + engine.oms.working_qty("P1") <= quantity
            submit(order)

        venue.submit = recorded  # type: ignore[method-assign]

    service.stage(parent, TRADER)
    service.start("P1", TRADER)
    clock.run_until(clock.now() + 120)
    runner = service.runners["P1"]
    if algo == "adaptive":  # the policy's take: a float size and cap, as the policy's plan carries them
        for take_qty, cap_bps in takes:
            mid = service.consolidated_mid()
            service.ticks.take(runner, AimedTake(venues[-1].name, take_qty, mid * (1 + side.sign * cap_bps * 1e-4)))
            clock.run_until(clock.now() + 1)
    clock.run_until(clock.now() + 540)

    assert reached or limit is not None or quantity < max(v.inst.min_qty for v in venues)
    for venue, child in reached:
        inst = venue.inst
        assert child.venue == venue.name
        assert child.quantity % inst.lot_size == 0, (child.quantity, inst.lot_size)
        assert child.quantity >= inst.min_qty and child.quantity > 0
        assert child.price is not None and child.price > 0
        assert child.price % inst.tick_size == 0, (child.price, inst.tick_size)
        assert child.price * child.quantity >= inst.min_notional_quote
        if limit is not None:
            assert parent.within_limit(child.price)
    filled = engine.oms.filled_qty("P1")
    assert filled <= quantity
    assert not math.isnan(float(filled))
