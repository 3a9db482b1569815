"""The engine: clock, bus, order manager and venues wired together.

Venues report through callbacks; the engine turns each report into a journaled OMS record and
publishes market data on the bus. Sending goes intent-first: the OMS journals the intent, then
the venue is called. Execution, RFQ and risk plug in on top of this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from core.actors import SYSTEM, Actor
from core.bus import Bus
from core.clock import Clock
from core.events import BookUpdate, FillEvent, Trades, VenueStatus
from core.oms import OrderManager
from core.orders import ChildOrder, Fill, TimeInForce
from core.ports import Journal, RejectReason, Venue, VenueCallbacks, VenueOrderReport
from core.risk.gate import Decision, RiskGate
from core.risk.positions import BalancePositions
from core.risk.rules import OrderProposal, RiskContext, RiskLimits
from core.tape import Tape
from core.types import Price, Quantity, Side

log = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        clock: Clock,
        journal: Journal | None,
        venues: dict[str, Venue] | None = None,
        limits: RiskLimits | None = None,
        *,
        replay: bool = True,
        reduces_position: Callable[[OrderProposal], bool] | None = None,
    ) -> None:
        """`limits`: the configured risk limits; limit changes in the journal are applied over them.
        `replay=False`: the caller fans the journal out to every component itself (app/desk.py
        replays once into the OMS, the risk gate, the breakers, execution and RFQ).
        `reduces_position`: whether an order reduces the account's position (REDUCING lets only
        those through); default: judged on the venues' balances (core/risk/positions.py)."""
        self.clock = clock
        self.bus = Bus(now=clock.now)
        self.journal = journal
        self.oms = OrderManager(journal, self.bus)
        if journal is not None and replay:
            self.oms.replay(journal)
        self.venues: dict[str, Venue] = {}
        self.books: dict[str, BookUpdate] = {}
        self.tape = Tape()
        self.bus.subscribe(FillEvent, self.tape.on_fill)
        self.bus.subscribe(Trades, self.tape.on_trades)
        # REDUCING lets through only what brings the position (the venues' balances) closer to flat
        self.positions = BalancePositions(self.venues, lambda: self.oms.open_children())
        self.risk = RiskGate(clock, limits or RiskLimits(), self._journal_risk, self.bus.publish, self._risk_context,
                             reduces_position=reduces_position or self.positions.reduces)
        if journal is not None and replay:
            for rec in journal.replay():
                if rec.kind.startswith("risk."):
                    self.risk.apply_record(rec.kind, rec.payload)
        for venue in (venues or {}).values():
            self.add_venue(venue)

    def add_venue(self, venue: Venue) -> None:
        self.venues[venue.name] = venue
        name = venue.name
        venue.connect(
            VenueCallbacks(
                on_book=self._on_book,
                on_trades=self.bus.publish,
                on_order=self._on_order,
                on_fill=self._on_fill,
                on_cancel_reject=self._on_cancel_reject,
                on_timeout=self._on_timeout,
                on_status=lambda up, detail: self.bus.publish(VenueStatus(self.clock.now(), name, up, 0.0, detail)),
            )
        )

    # ---- outbound ---------------------------------------------------------------------------

    def send_child(
        self,
        parent_id: str,
        venue: str,
        side: Side,
        quantity: Quantity,
        price: Price | None,
        tif: TimeInForce = TimeInForce.GTC,
        actor: Actor = SYSTEM,
    ) -> tuple[Decision, ChildOrder | None]:
        """Pass the child through risk; if it may go now, journal the intent and send it.

        `quantity` and `price` (None: a market order) are made by the venue's instrument
        (`self.venues[venue].instrument(symbol)`: `.quantity`/`.price` for exact values, or the
        router's `child_values` for the execution tick's floats). A child off the venue's tick or
        lot grid, or below its minimum, raises ValueError naming the tick, lot or minimum; a float
        or bare Decimal raises TypeError — so every child that reaches a venue is on its grid.

        Returns the decision and the child when it was sent (a queued child is sent later, when
        the venue's message budget allows and it passes the checks again)."""
        parent = self.oms.parents[parent_id]
        symbol = parent.instrument.symbol
        if not isinstance(quantity, Quantity) or not (price is None or isinstance(price, Price)):
            raise TypeError(
                f"send_child takes a Quantity and a Price made by {venue}'s instrument, got "
                f"{type(quantity).__name__} and {type(price).__name__}"
            )
        off_grid = self.venues[venue].instrument(symbol).grid_error(price, quantity)
        if off_grid is not None:
            raise ValueError(f"child for {parent_id} refused: {off_grid}")
        proposal = OrderProposal(parent_id, venue, symbol, side, quantity, price, tif, parent.account)
        sent: list[ChildOrder] = []
        decision = self.risk.submit(proposal, actor, lambda p: sent.append(self._send(p, actor)))
        return decision, (sent[0] if sent else None)

    def _send(self, p: OrderProposal, actor: Actor) -> ChildOrder:
        child = self.oms.new_child(p.parent_id, p.venue, p.side, p.quantity, p.price, p.tif, self.clock.now(), actor)
        self.venues[p.venue].submit(child)
        return child

    def cancel_children(self, children: list[ChildOrder], actor: Actor = SYSTEM, reason: str = "") -> list[ChildOrder]:
        """Journal all cancel intents in one commit, then send them."""
        todo = self.oms.request_cancels(children, actor, self.clock.now(), reason)
        for child in todo:
            self.venues[child.venue].cancel(child)
        return todo

    def kill_switch(self, actor: Actor, reason: str = "kill switch") -> dict[str, int]:
        """Supervisor's kill switch: HALT, stop algos (risk.on_kill), cancel every working child.

        Every cancel intent is journaled in one commit; each venue's cancel-all goes first and a
        sweep one venue round trip later cancels anything still open one by one. Returns the
        number of children canceled per venue."""
        self.risk.kill(actor, reason)  # raises for a non-supervisor before anything else happens
        return self.cancel_everything(actor, reason)

    def cancel_everything(self, actor: Actor, reason: str, venue: str | None = None) -> dict[str, int]:
        """Cancel all our open children (on one venue or all), cancel-all endpoint first."""
        todo = self.oms.request_cancels(self.oms.open_children(venue=venue), actor, self.clock.now(), reason)
        per_venue: dict[str, int] = {}
        symbols: dict[str, set[str]] = {}
        for child in todo:
            per_venue[child.venue] = per_venue.get(child.venue, 0) + 1
            symbols.setdefault(child.venue, set()).add(child.instrument.symbol)
        for name, syms in symbols.items():
            for symbol in syms:
                self.venues[name].cancel_all(symbol)
        self.clock.call_later(self.sweep_delay_s, lambda: self._sweep(actor, reason, venue))
        return per_venue

    sweep_delay_s = 1.0

    def _sweep(self, actor: Actor, reason: str, venue: str | None) -> None:
        for child in self.oms.open_children(venue=venue):
            self.venues[child.venue].cancel(child)

    # ---- inbound ----------------------------------------------------------------------------

    def _on_book(self, update: BookUpdate) -> None:
        self.books[update.venue] = update
        self.bus.publish(update)

    def _on_order(self, report: VenueOrderReport) -> None:
        self.oms.on_report(report, self.clock.now())

    def _on_cancel_reject(self, client_id: str, reason: str) -> None:
        if client_id not in self.oms.children:
            return
        if reason == RejectReason.NOT_FOUND:
            self.oms.on_not_found(client_id, self.clock.now())
        else:
            self.oms.on_cancel_refused(client_id, reason, self.clock.now())

    def _on_timeout(self, client_id: str) -> None:
        if client_id in self.oms.children:
            self.oms.on_timeout(client_id, self.clock.now())

    def _on_fill(self, fill: Fill) -> None:
        self.oms.on_fill(fill, self.clock.now())

    # ---- risk wiring --------------------------------------------------------------------------

    def mid(self, venue: str) -> float:
        book = self.books.get(venue)
        return book.mid if book is not None else float("nan")

    def _risk_context(self, p: OrderProposal | None) -> RiskContext:
        now = self.clock.now()
        return RiskContext(
            now=now,
            limits=self.risk.limits,
            parent=self.oms.parents.get(p.parent_id) if p is not None else None,
            mid=self.mid,
            open_children=lambda venue: self.oms.open_children(venue=venue),
            recent_volume=lambda venue, window: self.tape.recent(venue, now, window)[0],
            our_recent_volume=lambda venue, window: self.tape.recent(venue, now, window)[1],
        )

    def _journal_risk(self, kind: str, payload: dict[str, object], actor: Actor) -> None:
        self.oms.record(kind, dict(payload), actor, self.clock.now())
