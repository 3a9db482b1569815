"""Websocket connections that fail loudly: a frame ccxt cannot handle closes its connection.

ccxt.pro reads a websocket as a chain of callbacks: handling one frame schedules the next
receive (ccxt 4.5, ``async_support/base/ws/client.py``, ``Client.receive_loop`` →
``after_interrupt`` → ``handle_message`` then ``call_soon(receive_loop)``). Nothing there catches
an exception, so a frame whose handling raises — text that is not JSON or is cut short (ccxt
parses anything that starts with ``{``), or a handler, ours included, tripping over a field —
ends the chain while the socket stays open. The stream goes silent, every watch on it waits
forever, and nothing is reported: a frozen book on a venue that still reads "up".

`guard_websockets` wraps the frame handler of every connection the client opens: a frame that
raises is reported (`on_bad_frame`) and fails its connection (`Client.on_error`), which rejects
every watch on it and drops the client — so the stream loops see an error, say so, and
resubscribe on a fresh connection (a book takes a fresh snapshot; the user stream reconciles).
One bad frame costs a resync, never a silent stream. `drop_connection` does the same on purpose
(a book gone stale, an authentication that never answered); `forget_dial_backoff` undoes ccxt's
own dial delay for a caller that backs off itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import ccxt

BadFrameHandler = Callable[[str, BaseException, str], None]  # (url, error, the frame's first characters)


def guard_websockets(ex: Any, on_bad_frame: BadFrameHandler) -> None:
    """Make every websocket connection of the ccxt client `ex` fail on a frame it cannot handle.
    A client without websockets (no ``client`` method: a test double) is left as it is."""
    make_client = getattr(ex, "client", None)
    if make_client is None or getattr(make_client, "guarded", False):
        return

    def client(url: str) -> Any:
        connection = make_client(url)
        if not getattr(connection.handle_message, "guarded", False):
            connection.handle_message = _guarded(connection, connection.handle_message, on_bad_frame)
        return connection

    client.guarded = True  # type: ignore[attr-defined]
    ex.client = client


def drop_connection(ex: Any, url: str, reason: str) -> bool:
    """Fail the websocket connection to `url` (if open): every watch on it raises, the next watch
    opens a fresh one. False when there is no such connection."""
    connection = (getattr(ex, "clients", None) or {}).get(url)
    if connection is None:
        return False
    dialing = connection.connection is None
    connection.on_error(ccxt.NetworkError(reason))
    if dialing:  # ccxt finishes a dial it started: close that socket if it ever opens
        connection.connected.add_done_callback(lambda _: asyncio.ensure_future(connection.close()))
    return True


def forget_dial_backoff(ex: Any, url: str | None = None) -> None:
    """Dial `url` (None: every url) at once next time. After failed dials ccxt delays the next one
    (up to 30 s) on top of the caller's own back-off, and *after* it has signed the request the
    connection is for — a signed subscription can then reach the exchange outside its
    ``recvWindow`` and be refused. Our stream loops back off themselves and use this."""
    backoff = getattr(ex, "ws_dial_backoff", None)
    if isinstance(backoff, dict):
        if url is None:
            backoff.clear()
        else:
            backoff.pop(url, None)


def url_watching(ex: Any, subscription: str) -> str | None:
    """The url of the connection that carries `subscription` (ccxt's subscribe hash, e.g.
    ``orderbook::BTC/USDT``), if any."""
    for url, connection in list((getattr(ex, "clients", None) or {}).items()):
        if subscription in getattr(connection, "subscriptions", {}):
            return str(url)
    return None


def _guarded(connection: Any, handle: Callable[[Any], None], on_bad_frame: BadFrameHandler) -> Callable[[Any], None]:
    failed = False

    def handle_message(message: Any) -> None:
        nonlocal failed
        if failed:  # frames ccxt had buffered behind the bad one: their connection is gone
            return
        try:
            handle(message)
        except Exception as exc:
            failed = True
            head = str(getattr(message, "data", message))[:80]
            on_bad_frame(connection.url, exc, head)
            connection.on_error(ccxt.NetworkError(f"frame not handled ({type(exc).__name__}: {exc}): {head!r}"))

    handle_message.guarded = True  # type: ignore[attr-defined]
    return handle_message
