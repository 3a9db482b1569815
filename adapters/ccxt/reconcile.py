"""What reconciliation needs to know about our own orders: a read-only view of the OMS.

The `Venue` port does not carry the OMS, so a ccxt venue is given an `OrderView` (the engine's
OMS behind `OmsOrderView`) to find the children that are open on our side but not at the
exchange, and how far back fills may have been missed. Everything the venue learns still goes
back through the engine's callbacks, so every change is journaled by the OMS.
"""

from __future__ import annotations

from typing import Protocol

from core.oms import OrderManager
from core.orders import ChildOrder


class OrderView(Protocol):
    def open_children(self, venue: str) -> list[ChildOrder]: ...

    def knows(self, client_id: str) -> bool: ...

    def fill_watermark(self, venue: str) -> float | None:
        """Epoch seconds from which our fills on `venue` may be incomplete (None: no history)."""
        ...

    def client_id_for(self, venue: str, venue_order_id: str) -> str | None: ...


class OmsOrderView:
    def __init__(self, oms: OrderManager) -> None:
        self.oms = oms

    def open_children(self, venue: str) -> list[ChildOrder]:
        return self.oms.open_children(venue=venue)

    def knows(self, client_id: str) -> bool:
        return client_id in self.oms.children

    def fill_watermark(self, venue: str) -> float | None:
        """The oldest child on `venue` that is still open or belongs to a parent still working."""
        times = [
            c.created_ts
            for c in self.oms.children.values()
            if c.venue == venue and (c.status.is_open or not self.oms.parents[c.parent_id].state.is_terminal)
        ]
        return min(times) - 1.0 if times else None

    def client_id_for(self, venue: str, venue_order_id: str) -> str | None:
        for c in self.oms.children.values():
            if c.venue == venue and c.venue_order_id == venue_order_id:
                return c.client_id
        return None
