"""Our orders out to the exchange: submit, cancel, cancel-all, and settling orders of unknown fate.

- Orders go out with our deterministic client ids (``newClientOrderId``): limit GTC or IOC,
  post-only, or market. A price off the instrument's tick or a quantity off its lot is refused
  here (BAD_TICK / BAD_LOT): ccxt would silently round it. Without the venue's markets within
  ``ack_timeout_s`` an order is rejected VENUE_DOWN and not sent.
- **Ack timeout**: a new order with no answer within ``ack_timeout_s`` is reported as a timeout —
  the OMS makes it UNKNOWN, never rejected — and the answer is still awaited (ccxt's
  ``request_timeout_s`` bounds it). An error that leaves the order's fate open (timeout, dropped
  connection, 5XX: `errors.is_indeterminate`) is *settled* by asking the exchange for that client
  id until it answers; "does not exist" twice, ``unknown_grace_s`` apart, means it never reached
  the matching engine. An answer that arrives but cannot be read (a truncated or corrupted body:
  `errors.UnreadableAnswer`) is no answer: the order is UNKNOWN and settled the same way. A
  refusal the exchange states is a reject with our `RejectReason`.
- **A cancel never overtakes its own order's submit.** A cancel the exchange cannot match, or
  whose answer is lost, is resolved by querying the order: gone (NOT_FOUND), or a cancel reject
  while it is still open.

Everything the exchange answers goes through the `OrderTracker`, which reports to the engine.
Outside an event loop (the standalone kill) these requests run to completion before returning.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

from adapters.ccxt.callbacks import CallbackRelay
from adapters.ccxt.config import CcxtVenueConfig
from adapters.ccxt.errors import is_indeterminate, is_not_found, is_rate_limit, reject_reason, short
from adapters.ccxt.order_tracker import OrderTracker, Track, order_info
from adapters.ccxt.session import ExchangeSession
from adapters.ccxt.tasks import TaskRunner
from core.orders import ChildOrder, TimeInForce
from core.ports import RejectReason
from core.types import Side

log = logging.getLogger(__name__)


class OrderEntry:
    def __init__(
        self,
        config: CcxtVenueConfig,
        session: ExchangeSession,
        tracker: OrderTracker,
        engine: CallbackRelay,
        runner: TaskRunner,
        stats: collections.Counter[str],
    ) -> None:
        self.name = config.name
        self.config = config
        self._session = session
        self._tracker = tracker
        self._engine = engine
        self._runner = runner
        self._stats = stats

    def submit(self, order: ChildOrder) -> None:
        track = self._tracker.track_order(order)
        track.submitted = asyncio.Event()
        self._runner.dispatch(self._submit(order, track))

    def cancel(self, client_id: str, symbol: str, venue_order_id: str) -> None:
        self._runner.dispatch(self.send_cancel(client_id, symbol, venue_order_id))

    def cancel_all(self, symbol: str) -> None:
        self._runner.dispatch(self._cancel_all(symbol))

    async def send_cancel(self, cid: str, symbol: str, venue_order_id: str) -> None:
        """Cancel one order (by venue order id if known, else by our client id)."""
        track = self._tracker.tracks.get(cid)
        if track is not None and track.submitted is not None and not track.submitted.is_set():
            await track.submitted.wait()  # a cancel never overtakes its own order
        ex = await self._session.exchange_ready()
        vid = venue_order_id or (track.venue_order_id if track else "")
        params = {} if vid else {"origClientOrderId": cid}
        try:
            response = await self._session.rest(ex.cancel_order, vid or None, symbol, params)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_not_found(exc):
                await self.query_and_apply(cid, symbol, still_open_reason="cancel refused: order not open")
            elif is_indeterminate(exc) or is_rate_limit(exc):
                await self.query_and_apply(cid, symbol, still_open_reason=f"cancel failed: {short(exc)}")
            else:
                self._engine.on_cancel_reject(cid, reject_reason(exc))
            return
        self._stats["cancels"] += 1
        try:
            await self._tracker.apply_order(order_info(response))
        except Exception as exc:  # answered, unreadably: ask the exchange what became of the order
            self._unreadable(f"the cancel of {cid}", exc)
            await self.query_and_apply(cid, symbol, still_open_reason="cancel answer unreadable")

    async def query_and_apply(self, cid: str, symbol: str, still_open_reason: str = "") -> None:
        """Ask the exchange about one order and apply what it says; 'does not exist' → NOT_FOUND.
        With `still_open_reason`, an order still open (or unreadable) is also a cancel reject."""
        ex = await self._session.exchange_ready()
        try:
            order = await self._session.rest(ex.fetch_order, None, symbol, {"origClientOrderId": cid})
            info = order_info(order)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_not_found(exc):
                self._engine.on_cancel_reject(cid, RejectReason.NOT_FOUND)
                self._tracker.forget_open(cid)
            elif still_open_reason:
                self._engine.on_cancel_reject(cid, f"{still_open_reason} ({short(exc)})")
            return
        await self._tracker.apply_order(info)
        if still_open_reason and info.get("status") in ("NEW", "PARTIALLY_FILLED"):
            self._engine.on_cancel_reject(cid, still_open_reason)

    async def settle(self, track: Track, why: str) -> None:
        """An order whose fate is unknown: ask until the exchange says. 'Does not exist' twice,
        `unknown_grace_s` apart, means it never reached the matching engine."""
        if track.settling:
            return
        track.settling = True
        self._stats["settling"] += 1
        delay, not_found = 0.2, 0
        try:
            while not self._runner.closed:
                await asyncio.sleep(delay)
                try:
                    ex = await self._session.exchange_ready()
                    order = await self._session.rest(
                        ex.fetch_order, None, track.symbol, {"origClientOrderId": track.client_id}
                    )
                    info = order_info(order)  # an unreadable answer is no answer: ask again
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if is_not_found(exc):
                        not_found += 1
                        if not_found >= 2:
                            log.info("venue %s: %s never reached the exchange (%s)", self.name, track.client_id, why)
                            self._stats["settled_not_found"] += 1
                            self._tracker.report_never_placed(track)
                            return
                        delay = self.config.unknown_grace_s
                    else:
                        delay = min(max(delay, 0.2) * 2, self.config.reconnect_max_s)
                    continue
                self._stats["settled_found"] += 1
                await self._tracker.apply_order(info)
                return
        finally:
            track.settling = False

    # ---------------------------------------------------------------- helpers
    async def _submit(self, order: ChildOrder, track: Track) -> None:
        try:
            await self._send_new(order, track)
        finally:
            _mark_submitted(track)  # whatever happened, a cancel waiting for this submit may go

    async def _send_new(self, order: ChildOrder, track: Track) -> None:
        cid = order.client_id
        try:
            await self._session.wait_for_markets(self.config.ack_timeout_s)
        except TimeoutError:
            self._reject(track, RejectReason.VENUE_DOWN, "venue not connected; order not sent")
            return
        ex = self._session.ex
        inst = self._session.instruments.get(order.instrument.symbol)
        if inst is not None:  # ccxt would silently round an off-grid price or size: refuse it instead
            if order.price is not None and order.price % inst.tick_size != 0:
                self._reject(track, RejectReason.BAD_TICK, f"price {order.price} is off the {inst.tick_size} tick")
                return
            if order.quantity % inst.lot_size != 0:
                self._reject(track, RejectReason.BAD_LOT, f"quantity {order.quantity} is off the {inst.lot_size} lot")
                return
        params: dict[str, Any] = {"newClientOrderId": cid}
        if order.tif is TimeInForce.POST_ONLY:
            params["postOnly"] = True
        elif order.price is not None:
            params["timeInForce"] = "IOC" if order.tif is TimeInForce.IOC else "GTC"
        call = asyncio.ensure_future(
            self._session.rest(
                ex.create_order,
                order.instrument.symbol,
                "market" if order.price is None else "limit",
                "buy" if order.side is Side.BUY else "sell",
                str(order.quantity),
                None if order.price is None else str(order.price),
                params,
            )
        )
        self._stats["orders_sent"] += 1
        try:
            try:
                response = await asyncio.wait_for(asyncio.shield(call), self.config.ack_timeout_s)
            except TimeoutError:
                self._stats["ack_timeouts"] += 1
                if not track.acked:  # the user stream may have acked it already
                    log.warning(
                        "venue %s: no ack for %s within %.1f s: UNKNOWN until settled",
                        self.name,
                        cid,
                        self.config.ack_timeout_s,
                    )
                    self._report_timeout(track)
                response = await call  # ccxt's own timeout bounds this wait
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_indeterminate(exc):
                self.resolve_unknown(track, f"submit failed: {short(exc)}")
            else:
                self._reject(track, reject_reason(exc), short(exc))
            return
        _mark_submitted(track)
        try:
            await self._tracker.apply_order(order_info(response), rest_fills=True)
        except Exception as exc:  # the answer came but cannot be read: as if it had not come
            self._unreadable(f"order {cid}", exc)
            self.resolve_unknown(track, f"unreadable answer: {short(exc)}")

    async def _cancel_all(self, symbol: str) -> None:
        ex = await self._session.exchange_ready()
        try:
            rows = await self._session.rest(ex.cancel_all_orders, symbol)
        except Exception as exc:
            if is_not_found(exc):
                return  # nothing open
            log.warning("venue %s: cancel-all %s failed: %s", self.name, symbol, short(exc))
            return
        for row in rows:
            try:
                await self._tracker.apply_order(order_info(row))
            except Exception as exc:  # the sweep and the settle loop look at what is still open
                self._unreadable(f"cancel-all {symbol}", exc)

    def resolve_unknown(self, track: Track, why: str) -> None:
        """No answer we can use: the order is UNKNOWN (reported once) and the exchange is asked
        until it says what became of it."""
        if not track.acked and track.status is None and not track.settling:
            self._report_timeout(track)
        self._runner.spawn(self.settle(track, why))

    def _report_timeout(self, track: Track) -> None:
        if not track.timed_out:
            track.timed_out = True
            self._engine.on_timeout(track.client_id)

    def _unreadable(self, request: str, exc: BaseException) -> None:
        self._stats["unreadable_answers"] += 1
        log.warning("venue %s: unreadable answer to %s (%s)", self.name, request, short(exc))

    def _reject(self, track: Track, reason: str, detail: str) -> None:
        log.info("venue %s: %s rejected: %s (%s)", self.name, track.client_id, reason, detail)
        self._stats["rejects"] += 1
        self._tracker.report_rejected(track, reason)


def _mark_submitted(track: Track) -> None:
    if track.submitted is not None:
        track.submitted.set()
