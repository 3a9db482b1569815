"""RFQ workflow: disclosure, expiry at the exact boundary, last look, no over-fill, kill switch."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.store.journal import MemoryJournal
from core.actors import Actor, Role
from core.analytics.impact import AlmgrenChrissParams
from core.clock import SimClock
from core.engine import Engine
from core.execution.service import ExecutionService
from core.orders import Liquidity
from core.parent import ParentOrder
from core.rfq.model import DisclosurePolicy, RfqState
from core.rfq.service import RfqConfig, RfqService
from core.seeds import SeedTree
from core.types import Side
from tests.execution.fakes import BTC, FakeVenue
from tests.rfq.fakes import FakeDesk

TRADER = Actor("tina", Role.TRADER)
SUPER = Actor("sam", Role.SUPERVISOR)


def rig(
    mode: str = "manual", qty: str = "100", seed: int = 1, policy: DisclosurePolicy | None = None, **desk_kw: object
):  # type: ignore[no-untyped-def]
    clock = SimClock(start=1_700_000_000.0)
    venues = [FakeVenue(f"V{i}", clock, seed + i, depth=20.0) for i in range(2)]
    engine = Engine(clock, None, {v.name: v for v in venues})
    execution = ExecutionService(engine, SeedTree(seed))
    desks = {
        f"D{i}": FakeDesk(f"D{i}", clock, lambda: execution.consolidated_mid(), **desk_kw)  # type: ignore[arg-type]
        for i in range(5)
    }
    rfq = RfqService(engine, execution, desks, SeedTree(seed), policy, RfqConfig(request_every_s=0))  # type: ignore[arg-type]
    clock.run_until(clock.now() + 3)
    execution.stage(ParentOrder("P1", BTC, Side.SELL, Decimal(qty), 3600.0, algo="twap", rfq_mode=mode), TRADER)
    execution.start("P1", TRADER)
    return clock, engine, execution, rfq, desks


def quoted(rfq: RfqService):  # type: ignore[no-untyped-def]
    return [r for r in rfq.rfqs.values() if r.state is RfqState.QUOTED]


def test_an_expired_quote_cannot_be_accepted_at_the_exact_boundary() -> None:
    clock, engine, execution, rfq, desks = rig(ttl_s=10.0)
    rfq.request("P1", TRADER, desks=["D0"])
    clock.run_until(clock.now() + 0.5)
    (r,) = quoted(rfq)
    assert r.quote is not None
    clock.run_until(r.quote.expires_ts - 1e-6)
    assert r.state is RfqState.QUOTED
    clock._now = r.quote.expires_ts  # exactly at expiry, before the expiry timer has run
    assert rfq.accept(r.quote.quote_id, TRADER) is False
    assert r.state is RfqState.EXPIRED and not desks["D0"].accepts


def test_accept_just_before_expiry_fills_and_reduces_the_algos_remaining() -> None:
    clock, engine, execution, rfq, desks = rig()
    rfq.request("P1", TRADER, desks=["D0"], quantity=10.0)
    clock.run_until(clock.now() + 0.5)
    (r,) = quoted(rfq)
    assert r.quote is not None
    clock.run_until(r.quote.expires_ts - 0.01)
    assert rfq.accept(r.quote.quote_id, TRADER)
    clock.run_until(clock.now() + 1)
    assert r.state is RfqState.FILLED
    assert engine.oms.otc_qty("P1") == Decimal(10)
    assert engine.oms.reserved.get("P1", Decimal(0)) == 0
    clock.run_until(clock.now() + 4000)
    assert engine.oms.done_qty("P1") == Decimal(100)  # the algo did only the other 90
    assert engine.oms.filled_qty("P1") == Decimal(90)


def test_last_look_reject_is_scored_and_the_quantity_returns_to_the_algo() -> None:
    clock, engine, execution, rfq, desks = rig(last_look=True, reject_last_look=True)
    rfq.request("P1", TRADER, desks=["D1"], quantity=10.0)
    clock.run_until(clock.now() + 0.5)
    (r,) = quoted(rfq)
    assert r.quote is not None
    rfq.accept(r.quote.quote_id, TRADER)
    assert engine.oms.reserved["P1"] == Decimal(10)
    clock.run_until(clock.now() + 1)
    assert r.state is RfqState.LAST_LOOK_REJECTED
    assert rfq.scores["D1"].last_look_rejects == 1 and rfq.scores["D1"].last_look_reject_rate == 1.0
    assert engine.oms.reserved["P1"] == 0
    clock.run_until(clock.now() + 4000)
    assert engine.oms.filled_qty("P1") == Decimal(100)


def test_auto_mode_accepts_a_quote_better_than_exchange_and_rejects_a_bad_one() -> None:
    clock, engine, execution, rfq, desks = rig(mode="auto", improve_bps=20.0)
    rfq.request("P1", TRADER, desks=["D0"], quantity=10.0)
    clock.run_until(clock.now() + 2)
    assert next(iter(rfq.rfqs.values())).state is RfqState.FILLED
    desks["D1"].improve_bps = -300.0  # 300 bps worse than mid
    rfq.request("P1", TRADER, desks=["D1"], quantity=10.0)
    clock.run_until(clock.now() + 2)
    last = list(rfq.rfqs.values())[-1]
    assert last.state is RfqState.REJECTED and "worse than exchange" in last.reason


def test_kill_switch_withdraws_open_rfqs_and_refuses_accepts() -> None:
    clock, engine, execution, rfq, desks = rig()
    rfq.request("P1", TRADER, desks=["D0", "D1"])
    clock.run_until(clock.now() + 0.5)
    engine.kill_switch(SUPER)
    assert all(r.state is RfqState.CANCELED for r in rfq.rfqs.values())
    with pytest.raises(PermissionError):
        rfq.request("P1", TRADER)


@settings(max_examples=40)
@given(
    fraction=st.floats(0.01, 0.5),
    extra=st.floats(0.0, 0.49),
    jitter=st.floats(0, 0.9),
    block=st.floats(1.0, 5000.0),
    seed=st.integers(0, 1000),
)
def test_no_desk_ever_sees_more_than_the_configured_fraction_of_the_block(
    fraction: float, extra: float, jitter: float, block: float, seed: int
) -> None:
    import numpy as np

    max_fraction = min(fraction + extra, 0.99)
    policy = DisclosurePolicy(fraction=fraction, jitter=jitter, max_fraction=max_fraction)
    rng = np.random.default_rng(seed)
    remaining = block
    for _ in range(20):
        size = policy.request_size(remaining, block, rng, 0.001)
        assert size <= max_fraction * block + 1e-9 and size <= remaining + 1e-9
        remaining -= size * 0.5


@settings(max_examples=25)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["request", "accept", "accept_part", "run", "reject"]), st.integers(0, 4)),
        max_size=25,
    ),
    fill_fraction=st.sampled_from([1.0, 0.5]),
    last_look=st.booleans(),
    seed=st.integers(1, 30),
)
def test_filled_never_exceeds_the_parent_over_random_interleavings(
    steps: list[tuple[str, int]], fill_fraction: float, last_look: bool, seed: int
) -> None:
    clock, engine, execution, rfq, desks = rig(
        qty="30",
        seed=seed,
        fill_fraction=fill_fraction,
        last_look=last_look,
        reject_last_look=False,
        size_multiple=1.5,
        policy=DisclosurePolicy(fraction=0.3, max_fraction=0.45),
    )
    desks["D3"].reject_last_look = True
    for op, k in steps:
        live = quoted(rfq)
        try:
            if op == "request":
                rfq.request("P1", TRADER, desks=[f"D{k}"])
            elif op in ("accept", "accept_part") and live:
                r = live[k % len(live)]
                assert r.quote is not None
                qty = None if op == "accept" else (r.quote.quantity / 2).quantize(Decimal("0.001"))
                rfq.accept(r.quote.quote_id, TRADER, qty)
            elif op == "reject" and live:
                rfq.reject(live[0].quote.quote_id, TRADER)  # type: ignore[union-attr]
            else:
                clock.run_until(clock.now() + 30 * (k + 1))
        except ValueError:
            pass
        assert engine.oms.done_qty("P1") <= Decimal(30)
        assert engine.oms.done_qty("P1") + engine.oms.reserved.get("P1", Decimal(0)) <= Decimal(30)
    clock.run_until(clock.now() + 5000)
    assert engine.oms.done_qty("P1") <= Decimal(30)
    for r in rfq.rfqs.values():
        if not r.risk_transfer:
            assert float(r.requested_qty) <= 0.45 * 30 + 1e-9


def test_manual_reject_rejects_even_a_good_risk_transfer_quote() -> None:
    """The leakage-measuring mode never accepts: a risk-transfer quote better than the exchange
    was accepted before the mode was checked first (bug found building the leakage probe)."""
    clock, engine, execution, rfq, desks = rig(mode="manual-reject", improve_bps=50.0,
                                               policy=DisclosurePolicy(risk_transfer_max_desks=5))
    sent = rfq.request("P1", TRADER, risk_transfer=True, desks=["D0", "D1", "D2", "D3", "D4"], quantity=60.0)
    assert [float(r.requested_qty) for r in sent] == [60.0] * 5
    clock.run_until(clock.now() + 2)
    assert {r.state for r in rfq.rfqs.values()} == {RfqState.REJECTED}
    assert engine.oms.otc_qty("P1") == 0 and not any(d.accepts for d in desks.values())


def test_manual_reject_asks_nothing_on_its_own_initiative() -> None:
    clock, engine, execution, rfq, desks = rig(mode="manual-reject")
    rfq.watch("P1")
    rfq._on_indication("D4")  # an axe indication would trigger a request in manual or auto mode
    clock.run_until(clock.now() + 600)
    assert rfq.rfqs == {}


def test_an_explicit_risk_transfer_quantity_is_capped_at_the_remaining_and_journaled() -> None:
    clock, engine, execution, rfq, desks = rig(policy=DisclosurePolicy(risk_transfer_max_desks=3))
    engine.oms.journal = MemoryJournal()
    (r,) = rfq.request("P1", SUPER, risk_transfer=True, desks=["D2"], quantity=500.0)
    assert r.requested_qty == Decimal(100) and r.risk_transfer
    records = [rec for rec in engine.oms.journal.replay() if rec.kind == "rfq.risk_transfer"]
    assert len(records) == 1 and "sam" in records[0].actor and records[0].payload["quantity"] == 100.0


def test_an_accept_waiting_for_room_takes_what_is_left_when_the_exchange_fills_meanwhile() -> None:
    """On btc-block-4h seed 1 the axed desk's 330 BTC quote was accepted for the 16.2 BTC left,
    a resting child filled 0.0055 while its cancel was in flight, and the accept waited for room
    that never came until the quote expired 10 minutes later. It now takes what is left."""
    clock, engine, execution, rfq, desks = rig(size_multiple=50.0, ttl_s=600.0)
    clock.run_until(clock.now() + 600)
    rfq.request("P1", TRADER, desks=["D0"], quantity=5.0)
    clock.run_until(clock.now() + 0.6)
    (r,) = quoted(rfq)
    assert r.quote is not None
    venue, order = next((v, o) for v in engine.venues.values() for o in v.resting.values())
    left = Decimal(str(rfq.remaining("P1"))).quantize(Decimal("0.00000001"))
    assert rfq.accept(r.quote.quote_id, TRADER)  # reserves all that is left and cancels the resting children
    venue._fill(order, Decimal("0.005"), order.price, Liquidity.MAKER)  # a fill races the cancel
    clock.run_until(clock.now() + 5)
    assert r.state is RfqState.FILLED and r.filled_qty == left - Decimal("0.005")
    assert engine.oms.done_qty("P1") == Decimal(100)
    assert engine.oms.reserved.get("P1", Decimal(0)) == 0


def test_quotes_are_judged_with_the_algos_impact_model_and_only_for_what_is_left() -> None:
    """The evaluation used ImpactCalibration's defaults instead of the parameters the algo
    trades with (the pre-trade's), and judged a quote larger than the remaining at full size."""
    clock, engine, execution, rfq, desks = rig(size_multiple=50.0, ttl_s=600.0)
    (r,) = rfq.request("P1", TRADER, desks=["D0"], quantity=10.0)
    clock.run_until(clock.now() + 0.6)
    assert r.quote is not None and float(r.quote.quantity) == 500.0
    mid = execution.consolidated_mid()
    left = rfq.remaining("P1")
    e = rfq.evaluate(r, r.quote)
    assert e.better_than_exchange_usd == pytest.approx(e.better_than_exchange_bps * 1e-4 * mid * left, rel=0.02)
    base = execution.calibration.ac_params(mid)
    execution.ac_params = AlmgrenChrissParams(base.sigma, base.eta * 10, base.gamma * 10, base.epsilon)
    dearer = rfq.evaluate(r, r.quote)
    assert dearer.exchange_cost_bps > e.exchange_cost_bps  # a costlier exchange makes the quote look better
    assert dearer.better_than_exchange_bps > e.better_than_exchange_bps
