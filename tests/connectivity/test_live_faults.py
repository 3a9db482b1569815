"""Faults on the live path, injected by the loopback exchange's own knobs, against the real ccxt
client: garbled REST answers and websocket frames, a stalled user-data subscription, a long
outage, a burst of 429s. For each: the venue recovers or says it is stale within the staleness
limit, no order is priced off a frozen book, no child stays PENDING_NEW past its ack timeout, a
rate-limit burst does not exclude the venue, and the parent completes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from core.actors import SYSTEM, Actor
from core.events import BookUpdate, Trades, VenueStatus
from core.execution.service import ExecutionConfig, ExecutionService
from core.orders import OrderStatus
from core.parent import ParentOrder, ParentState
from core.ports import RejectReason
from core.risk.breakers import BreakerActions, Breakers
from core.seeds import SeedTree
from core.types import Side
from tests.connectivity.helpers import BTC, TRADER, Rig, arun, loopback, rig, stage, until
from tests.connectivity.test_reconcile import rest_at_ask, take_out


@dataclass
class Watch:
    """What the engine saw and did, recorded from outside the venue: each child sent with the book
    it was priced off (its age then, s), every venue status, empty books, trades."""

    sends: list[tuple[str, float, int]] = field(default_factory=list)  # (client id, book age s, book levels)
    statuses: list[VenueStatus] = field(default_factory=list)
    empty_books: int = 0
    trades: int = 0

    @classmethod
    def on(cls, r: Rig) -> Watch:
        w = cls()
        submit = r.venue.submit

        def recording_submit(child):  # type: ignore[no-untyped-def]
            book = r.engine.books.get("loop")
            age = time.time() - book.ts if book is not None else float("inf")
            w.sends.append((child.client_id, age, 0 if book is None else min(len(book.bid_px), len(book.ask_px))))
            submit(child)

        r.venue.submit = recording_submit  # type: ignore[method-assign]
        r.engine.bus.subscribe(VenueStatus, w.statuses.append)
        r.engine.bus.subscribe(BookUpdate, w._book)
        r.engine.bus.subscribe(Trades, w._trades)
        return w

    def _book(self, b: BookUpdate) -> None:
        self.empty_books += not len(b.bid_px)

    def _trades(self, t: Trades) -> None:
        self.trades += 1

    def down(self, text: str) -> list[VenueStatus]:
        return [s for s in self.statuses if not s.connected and text in s.detail]


# how late the event loop may run the staleness timer on a loaded 2-core machine: a child can be
# priced off a book this much older than the limit, never more
TIMER_SLACK_S = 0.25


def fresh(sends: list[tuple[str, float, int]], stale_s: float) -> bool:
    """Every child was priced off a non-empty book younger than the staleness limit."""
    return bool(sends) and all(levels > 0 and age <= stale_s + TIMER_SLACK_S for _, age, levels in sends)


def start_twap(r: Rig, parent_id: str, qty: Decimal, horizon_s: float, seed: int) -> ExecutionService:
    service = ExecutionService(r.engine, SeedTree(seed), ExecutionConfig(interval_s=0.4, passive_refresh_s=2))
    service.stage(ParentOrder(parent_id, BTC, Side.SELL, qty, horizon_s, algo="twap", venues=("loop",)), TRADER)
    service.start(parent_id, TRADER)
    return service


def pending_new_s(r: Rig) -> dict[str, float]:
    """Per child: how long it was PENDING_NEW (s): from its creation to the OMS's first update of
    it (every later state is announced on the bus); still PENDING_NEW counts up to now."""
    left: dict[str, float] = {}
    for u in r.updates:
        if u.status is not OrderStatus.PENDING_NEW:
            left.setdefault(u.client_id, u.ts)
    now = r.engine.clock.now()
    return {cid: left.get(cid, now) - c.created_ts for cid, c in r.engine.oms.children.items()}


def test_garbled_order_answers_leave_no_child_pending_new_and_the_parent_completes() -> None:
    """Answers to new orders arrive malformed or truncated (the order is placed); the user stream
    lags, so those answers are all the venue hears in time. Each such child is UNKNOWN at once and
    settled from the exchange's record: none stays PENDING_NEW, none is sent twice."""

    async def scenario() -> None:
        garble = {
            "rest_malformed_prob": "0.3",
            "rest_truncated_prob": "0.3",
            "rest_garble_only": "POST /api/v3/order",
            "user_delay_ms": "3000",
        }
        ack_timeout_s = 2.0
        async with (
            loopback(faults=garble) as server,
            rig(server, ack_timeout_s=ack_timeout_s, request_timeout_s=3.0) as r,
        ):
            service = ExecutionService(r.engine, SeedTree(11), ExecutionConfig(interval_s=0.4, passive_refresh_s=2))
            service.stage(ParentOrder("GR", BTC, Side.SELL, Decimal(1), 6.0, algo="twap", venues=("loop",)), TRADER)
            service.start("GR", TRADER)
            oms = r.engine.oms
            await until(lambda: oms.parents["GR"].state.is_terminal, timeout_s=40, what="parent done")
            await until(lambda: not oms.open_children("GR"), timeout_s=10, what="children settled")
            ex = server.exchange
            garbled = server.stats["rest_garbled"]
            assert garbled >= 2, server.stats
            waits = pending_new_s(r)
            assert waits and max(waits.values()) <= ack_timeout_s, sorted(waits.items(), key=lambda kv: -kv[1])[:3]
            assert r.venue.stats["unreadable_answers"] == garbled, (dict(r.venue.stats), server.stats)
            unknown = [c for c in oms.children if "unknown" in r.statuses(c)]
            assert len(unknown) >= garbled  # each unreadable answer made its child UNKNOWN
            assert oms.parents["GR"].state is ParentState.DONE
            venue_filled = sum((o.executed for o in ex.orders.values() if o.client_id.startswith("GR-")), Decimal(0))
            assert venue_filled == oms.filled_qty("GR") == Decimal(1)
            assert all(n == 1 for n in ex.cid_attempts.values()), ex.cid_attempts
            print(
                f"garbled answers: {garbled}, children: {len(oms.children)}, UNKNOWN then settled: {len(unknown)}, "
                f"longest PENDING_NEW: {max(waits.values()):.3f} s (ack timeout {ack_timeout_s} s)"
            )

    arun(scenario())


def test_a_garbled_websocket_frame_resyncs_its_stream_and_no_order_is_priced_off_a_frozen_book() -> None:
    """One malformed depth frame, then one truncated, then a malformed trade frame: ccxt would stop
    reading that socket (the book freezes, trades keep flowing). Each fails its connection instead:
    the venue says why it is down, the book is resnapshotted, the trades resume, and every child
    the parent sends is priced off a book younger than the staleness limit."""

    async def scenario() -> None:
        stale_s = 2.0
        async with loopback() as server, rig(server, book_stale_after_s=stale_s) as r:
            watch = Watch.on(r)
            audit = r.venue.book_audit["BTC/USDT"]
            start_twap(r, "WF", Decimal(1), 10.0, seed=5)
            oms = r.engine.oms
            await until(lambda: len(oms.children) >= 2, what="trading")
            frames = (("depth", "malformed"), ("depth", "truncated"), ("trade", "malformed"))
            for n, (stream, mode) in enumerate(frames):
                resyncs, trades = audit.resyncs, watch.trades
                server.garble_next[stream] = [mode]
                await until(lambda n=n: r.venue.stats["ws_bad_frames"] == n + 1, what=f"{mode} {stream} frame seen")
                if stream == "depth":
                    await until(lambda r0=resyncs: audit.resyncs > r0 and r.venue.is_up, what="book resnapshotted")
                else:
                    await until(lambda t0=trades: watch.trades > t0 + 2, what="trades flowing again")
            await until(lambda: oms.parents["WF"].state.is_terminal, timeout_s=30, what="parent done")
            assert oms.parents["WF"].state is ParentState.DONE
            assert server.stats["ws_garbled"] == 3 and r.venue.stats["ws_bad_frames"] == 3
            assert len(watch.down("frame not handled")) >= 2, watch.statuses  # the book's stream, twice
            assert audit.continuity_breaks == 0 and audit.stale == 0
            assert fresh(watch.sends, stale_s), watch.sends
            print(
                f"3 garbled frames → {r.venue.stats['ws_bad_frames']} connections failed and resubscribed, "
                f"{audit.resyncs} snapshots; {len(watch.sends)} children, oldest book priced off: "
                f"{max(age for _, age, _ in watch.sends):.3f} s (limit {stale_s} s)"
            )

    arun(scenario())


def test_a_book_that_stops_updating_is_marked_stale_and_nothing_is_sent_on_it() -> None:
    """The depth stream goes silent while trades keep flowing (the exchange withholds its diffs):
    within the staleness limit the venue reports the book stale, the engine gets an empty book,
    and nothing is priced off the frozen one; the book is resubscribed and the parent completes."""

    async def scenario() -> None:
        stale_s = 1.5
        async with loopback() as server, rig(server, book_stale_after_s=stale_s) as r:
            watch = Watch.on(r)
            audit = r.venue.book_audit["BTC/USDT"]
            start_twap(r, "ST", Decimal(1), 10.0, seed=6)
            oms = r.engine.oms
            await until(lambda: len(oms.children) >= 2, what="trading")
            frozen_at = time.time()
            server.withhold_depth = 10**9  # no diff reaches anyone; trades still do
            await until(lambda: watch.down("stale"), timeout_s=stale_s + 2, what="book reported stale")
            seen_after_s = watch.down("stale")[0].ts - frozen_at
            assert not r.venue.is_up and watch.empty_books >= 1
            trades_then = watch.trades
            await until(lambda: watch.trades > trades_then, what="trades still flowing")
            server.withhold_depth = 0
            await until(lambda: oms.parents["ST"].state.is_terminal, timeout_s=30, what="parent done")
            assert oms.parents["ST"].state is ParentState.DONE
            assert audit.stale >= 1 and audit.continuity_breaks == 0
            assert seen_after_s <= stale_s + TIMER_SLACK_S, seen_after_s
            assert fresh(watch.sends, stale_s), watch.sends
            print(
                f"depth withheld: stale reported after {seen_after_s:.2f} s (limit {stale_s} s), "
                f"{audit.stale} stale marks, {len(watch.sends)} children, oldest book priced off: "
                f"{max(age for _, age, _ in watch.sends):.3f} s"
            )

    arun(scenario())


def test_a_stalled_user_data_subscription_times_out_and_is_retried_on_a_fresh_connection() -> None:
    """The exchange holds its answer to the user-data subscription: ccxt would wait for ever. The
    venue gives each attempt `auth_timeout_s`, drops that connection, and is up again as soon as
    the exchange answers — and the stream it comes back on is live (it carries our fills)."""

    async def scenario() -> None:
        auth_timeout_s = 1.0
        async with loopback() as server, rig(server, auth_timeout_s=auth_timeout_s, reconnect_max_s=1.0) as r:
            watch = Watch.on(r)
            server.faults.update({"ws_auth_stall_s": 60}, time.time())
            await server.drop_websockets()
            await until(lambda: r.venue.stats["user_auth_timeouts"] >= 2, timeout_s=10, what="two attempts timed out")
            assert not r.venue.is_up and watch.down("user-data subscription not answered")
            server.faults.update({"ws_auth_stall_s": 0}, time.time())
            answered_at = time.time()
            await until(lambda: r.venue.is_up, timeout_s=auth_timeout_s + 1.0 + 3.0, what="venue up again")
            recovered_s = time.time() - answered_at
            stage(r.engine, "AU")
            child = rest_at_ask(r, "AU", Decimal("0.02"))
            await until(lambda: child.status is OrderStatus.NEW, what="resting")
            sweeps = r.venue.stats["reconciliations"]
            take_out(server, child.price)
            await until(lambda: child.status is OrderStatus.FILLED, what="fill over the user stream")
            assert r.venue.stats["reconciliations"] == sweeps  # not swept: pushed to us
            print(
                f"{r.venue.stats['user_auth_timeouts']} subscriptions timed out after {auth_timeout_s} s each; "
                f"up {recovered_s:.2f} s after the exchange answered again; fill pushed over the new stream"
            )

    arun(scenario())


@pytest.mark.slow
def test_the_venue_comes_back_after_a_25_s_outage_and_the_parent_completes() -> None:
    """The probe's outage: the exchange answers nothing for 25 s (12 s outages always recovered).
    The venue is down at once, up again within one back-off of the exchange's return, and the
    parent that was working across the outage completes with every fill journaled once."""

    async def scenario() -> None:
        down_s = 25.0
        async with loopback() as server, rig(server) as r:
            watch = Watch.on(r)
            start_twap(r, "OU", Decimal(1), 40.0, seed=7)
            oms = r.engine.oms
            await until(lambda: len(oms.children) >= 2, what="trading")
            outage = asyncio.ensure_future(server.restart(down_s=down_s))
            await until(lambda: not r.venue.is_up, what="venue down")
            await outage
            back_at = time.time()
            await until(lambda: r.venue.is_up, timeout_s=r.venue.config.reconnect_max_s + 5, what="venue up again")
            recovered_s = time.time() - back_at
            await until(lambda: oms.parents["OU"].state.is_terminal, timeout_s=60, what="parent done")
            await until(lambda: not oms.open_children("OU"), timeout_s=15, what="children settled")
            assert oms.parents["OU"].state is ParentState.DONE
            ex = server.exchange
            venue_filled = sum((o.executed for o in ex.orders.values() if o.client_id.startswith("OU-")), Decimal(0))
            assert venue_filled == oms.filled_qty("OU") == Decimal(1)
            assert all(n == 1 for n in ex.cid_attempts.values()), ex.cid_attempts
            assert fresh(watch.sends, r.venue.config.book_stale_after_s), watch.sends
            print(f"{down_s:g} s outage: venue up {recovered_s:.1f} s after the exchange returned; parent done")

    arun(scenario(), timeout_s=180)


def test_a_burst_of_429s_is_backed_off_without_excluding_the_venue_and_the_parent_completes() -> None:
    """Six seconds of 429s while a parent works, with the desk's circuit breakers watching: the
    venue backs off (no 418), the orders the exchange refuses with 429 are rejects of reason
    rate_limited, and those are not a reject storm — the venue stays in, the parent completes."""

    async def scenario() -> None:
        async with loopback() as server, rig(server) as r:
            service = start_twap(r, "RB", Decimal(1), 14.0, seed=9)
            breakers = Breakers(r.engine.clock, r.engine.bus, r.engine.risk, breaker_actions(r, service))
            breakers.start()
            excluded: list[str] = []
            switch = service.set_venue_enabled

            def recording_switch(venue: str, enabled: bool, actor: Actor) -> bool:
                if not enabled:
                    excluded.append(venue)
                return switch(venue, enabled, actor)

            service.set_venue_enabled = recording_switch  # type: ignore[method-assign]
            oms = r.engine.oms
            await until(lambda: len(oms.children) >= 2, what="trading")
            server.faults.update({"http_status": 429, "http_status_for_s": 6, "retry_after_s": 1}, time.time())
            await until(lambda: oms.parents["RB"].state.is_terminal, timeout_s=40, what="parent done")
            refused = [c for c in oms.children.values() if c.reject_reason == RejectReason.RATE_LIMITED]
            assert server.stats["http_429"] >= 3 and len(refused) >= 1, (server.stats, len(refused))
            assert server.stats["http_418"] == 0 and server.stats["violations"] == 0, server.stats
            assert oms.parents["RB"].state is ParentState.DONE
            assert not [e for e in breakers.events if e.rule == "reject_storm"], breakers.events
            assert excluded == [] and service.disabled_venues == set()
            print(
                f"429s answered: {server.stats['http_429']}, orders refused rate_limited: {len(refused)}, "
                f"breakers fired: {sorted({e.rule for e in breakers.events})}, venue excluded: no; parent done"
            )

    arun(scenario())


def breaker_actions(r: Rig, service: ExecutionService) -> BreakerActions:
    """What the breakers may do, wired as the desk wires them (app/desk.py)."""
    return BreakerActions(
        pause_parent=lambda pid, why: service.pause(pid, SYSTEM),
        running_parents=lambda: [p.parent_id for p in r.engine.oms.parents.values() if p.state is ParentState.RUNNING],
        set_venue_enabled=lambda venue, on: service.set_venue_enabled(venue, on, SYSTEM),
        has_working_orders=lambda venue: bool(r.engine.oms.open_children(venue=venue)),
        parent=r.engine.oms.parents.get,
    )
