"""A scripted OTC desk for RFQ unit tests (the simulator's desks are tested with the simulator)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from core.clock import SimClock
from core.ports import OtcExecution, Quote
from core.types import Side


class FakeDesk:
    def __init__(
        self,
        name: str,
        clock: SimClock,
        mid: Callable[[], float],
        improve_bps: float = 5.0,
        ttl_s: float = 10.0,
        delay_s: float = 0.5,
        last_look: bool = False,
        reject_last_look: bool = False,
        fill_fraction: float = 1.0,
        size_multiple: float = 1.0,
    ) -> None:
        self.name = name
        self.clock = clock
        self.mid = mid
        self.improve_bps = improve_bps
        self.ttl_s = ttl_s
        self.delay_s = delay_s
        self.last_look = last_look
        self.reject_last_look = reject_last_look
        self.fill_fraction = fill_fraction
        self.size_multiple = size_multiple
        self.requests: list[tuple[str, Side, Decimal]] = []
        self.accepts: list[tuple[str, Decimal, float]] = []
        self.n = 0

    def request_quote(
        self, rfq_id: str, symbol: str, side: Side, quantity: Decimal, on_quote: Callable[[Quote], None]
    ) -> None:
        self.requests.append((rfq_id, side, quantity))

        def answer() -> None:
            self.n += 1
            m = self.mid()
            # a positive improvement quotes better than mid for us
            price = m * (1 - side.sign * self.improve_bps * 1e-4)
            now = self.clock.now()
            on_quote(
                Quote(
                    f"{self.name}-q{self.n}",
                    rfq_id,
                    self.name,
                    side,
                    (quantity * Decimal(str(self.size_multiple))).quantize(Decimal("0.001")),
                    Decimal(str(round(price, 1))),
                    now,
                    now + self.ttl_s,
                    self.last_look,
                )
            )

        self.clock.call_later(self.delay_s, answer)

    def accept(self, quote: Quote, quantity: Decimal, on_result: Callable[[OtcExecution], None]) -> None:
        self.accepts.append((quote.quote_id, quantity, self.clock.now()))

        def answer() -> None:
            if self.reject_last_look:
                on_result(OtcExecution(quote.quote_id, Decimal(0), quote.price, "", self.clock.now(), "last look"))
            else:
                filled = (quantity * Decimal(str(self.fill_fraction))).quantize(Decimal("0.001"))
                on_result(OtcExecution(quote.quote_id, filled, quote.price, f"{self.name}-t{self.n}", self.clock.now()))

        self.clock.call_later(0.2, answer)
