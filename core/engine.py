"""The engine: clock, bus, order manager and venues wired together.

Venues report through callbacks; the engine turns each report into a journaled OMS record and
publishes market data on the bus. Sending goes intent-first: the OMS journals the intent, then
the venue is called. Execution, RFQ and risk plug in on top of this.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from core.actors import SYSTEM, Actor
from core.bus import Bus
from core.clock import Clock
from core.events import BookUpdate, Trades, VenueStatus
from core.oms import OrderManager
from core.orders import ChildOrder, Fill, TimeInForce
from core.ports import Journal, RejectReason, Venue, VenueCallbacks, VenueOrderReport
from core.types import Side

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, clock: Clock, journal: Journal | None, venues: dict[str, Venue] | None = None) -> None:
        self.clock = clock
        self.bus = Bus(now=clock.now)
        self.journal = journal
        self.oms = OrderManager(journal, self.bus)
        if journal is not None:
            self.oms.replay(journal)
        self.venues: dict[str, Venue] = {}
        self.books: dict[str, BookUpdate] = {}
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
        quantity: Decimal,
        price: Decimal | None,
        tif: TimeInForce = TimeInForce.GTC,
        actor: Actor = SYSTEM,
    ) -> ChildOrder:
        """Journal the intent, then send. Returns the child (PENDING_NEW until the venue answers)."""
        child = self.oms.new_child(parent_id, venue, side, quantity, price, tif, self.clock.now(), actor)
        self.venues[venue].submit(child)
        return child

    def cancel_children(self, children: list[ChildOrder], actor: Actor = SYSTEM, reason: str = "") -> list[ChildOrder]:
        """Journal all cancel intents in one commit, then send them."""
        todo = self.oms.request_cancels(children, actor, self.clock.now(), reason)
        for child in todo:
            self.venues[child.venue].cancel(child)
        return todo

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

    def publish_trades(self, trades: Trades) -> None:
        self.bus.publish(trades)
