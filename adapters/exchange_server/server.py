"""The loopback exchange: Binance spot's REST and WebSocket protocol over one simulated venue.

Unmodified ccxt (`binance`, with its `urls` pointed here) trades against it. Served on
127.0.0.1 only:

REST (``/api/v3``): ping, time, exchangeInfo, depth; signed (HMAC-SHA256 of the query or body,
``timestamp`` and ``recvWindow`` checked against the WALL clock, also when the market runs
accelerated) order POST/GET/DELETE, openOrders GET/DELETE (cancel-all), account, myTrades;
userDataStream POST/PUT/DELETE (listenKey). Errors are Binance's JSON ``{"code", "msg"}`` with
Binance's HTTP statuses; request weight per IP and new orders per account are counted as Binance
counts them (429 with Retry-After; requests sent while told to back off earn a 418 ban).

WebSocket: ``/ws/<anything>`` takes SUBSCRIBE/UNSUBSCRIBE for ``<symbol>@depth[@100ms]`` (diff
depth with ``U``/``u`` sequence ids) and ``<symbol>@trade``/``@aggTrade``; ``/ws/<listenKey>`` is a
user-data stream; ``/ws-api/v3`` is the WebSocket API with ``userDataStream.subscribe.signature``
(what ccxt uses for spot user data), ``ping`` and ``time``. User data: ``executionReport`` and
``outboundAccountPosition``.

Admin (loopback tooling, no auth): ``GET /admin/state``, ``GET /admin/orders``, ``GET /admin/book``,
``GET/POST/DELETE /admin/faults``, ``POST /admin/restart``, ``POST /admin/drop_ws``,
``POST /admin/skip_seq``, ``POST /admin/garble_ws`` (the next frames of a stream unreadable),
``POST /admin/pause`` / ``/admin/resume`` (freeze the market).
Fault knobs: `adapters.exchange_server.faults.Faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from adapters.exchange_server import errors as E
from adapters.exchange_server.exchange import SimulatedExchange
from adapters.exchange_server.faults import GARBLE_MODES, GARBLE_STREAMS, Faults, garble

log = logging.getLogger(__name__)

Handler = Callable[[web.Request, dict[str, str], str], Awaitable[Any]]
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
WS_QUEUE_LIMIT = 10_000  # a consumer this far behind is disconnected (as Binance does)


@dataclass(slots=True)
class ServerConfig:
    scenario: str = "btc-block-4h"
    venue: str = "alpha"
    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port
    seed: int = 1
    speed: float = 1.0  # simulated seconds per wall second
    tick_ms: float = 20.0  # how often the market is advanced and its data published (wall ms)
    accounts: dict[str, str] = field(default_factory=lambda: {"bh-loopback": "bh-loopback-secret"})
    balances: dict[str, Decimal] = field(default_factory=lambda: {"BTC": Decimal(1000), "USDT": Decimal(100_000_000)})
    state_path: Path | None = None
    faults: dict[str, str] = field(default_factory=dict)
    save_every_s: float = 1.0


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    kind: str  # "market" | "user" | "wsapi"
    api_key: str = ""
    streams: set[str] = field(default_factory=set)
    subscription_id: int | None = None
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(WS_QUEUE_LIMIT))
    writer: asyncio.Task[None] | None = None

    def send(self, text: str) -> None:
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.queue = asyncio.Queue(1)
            self.queue.put_nowait(None)  # too slow: hang up


class ExchangeServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.exchange = SimulatedExchange(
            config.scenario,
            config.venue,
            config.seed,
            config.speed,
            config.accounts,
            config.balances,
            config.state_path,
        )
        self.faults = Faults()
        self.faults.update(config.faults, time.time())
        self.rng = random.Random(config.seed)
        self.conns: set[_Conn] = set()
        self.listen_keys: dict[str, str] = {}  # listenKey → api key
        self.weights: dict[str, deque[tuple[float, int]]] = {}
        self.order_times: dict[str, deque[float]] = {}
        self.backoff_until: dict[str, float] = {}
        self.backoff_started: dict[str, float] = {}
        self.violations: dict[str, int] = {}
        self.banned_until: dict[str, float] = {}
        self.down_until = 0.0
        self.withhold_depth = 0
        self.stats: dict[str, int] = {
            k: 0
            for k in (
                "requests",
                "http_429",
                "http_418",
                "http_5xx",
                "violations",
                "ws_drops",
                "depth_skipped",
                "acks_delayed",
                "acks_dropped",
                "orders_dropped",
                "restarts",
                "rejected_signature",
                "rejected_timestamp",
                "rest_garbled",
                "ws_garbled",
                "auth_stalled",
            )
        }
        self.garble_next: dict[str, list[str]] = {}  # stream ("depth", "trade", "user") → modes of its next frames
        self._next_ws_drop = (
            self.exchange.sim.now_s + self.faults.ws_drop_every_s if self.faults.ws_drop_every_s else float("inf")
        )
        self._subscription_ids = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.port = config.port
        self.exchange.listeners.depth = self._on_depth
        self.exchange.listeners.trade = self._on_trade
        self.exchange.listeners.user = self._on_user
        self.app = self._build_app()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await self._listen()
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())
        log.info("loopback exchange %s %s on %s", self.exchange.venue_name, self.exchange.symbol, self.url)
        return self.url

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.config.host, self.port, reuse_address=True)
        await self._site.start()
        if self.port == 0:
            server: Any = self._site._server  # the only way to learn the port aiohttp chose
            assert server is not None and server.sockets
            self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.drop_websockets()
        self.exchange.save()
        if self._runner is not None:
            await self._runner.cleanup()

    async def restart(self, down_s: float) -> None:
        """Behave like a restart: every connection dropped, nothing answered for `down_s`, state kept
        (and saved). The market keeps running meanwhile, so resting orders can fill unseen."""
        self.stats["restarts"] += 1
        self.down_until = time.time() + down_s
        self.exchange.save()
        if self._site is not None:
            await self._site.stop()
        await self.drop_websockets()
        self.listen_keys.clear()
        await asyncio.sleep(down_s)
        await self._listen()

    async def drop_websockets(self) -> None:
        conns = list(self.conns)
        self.conns.clear()
        if conns:
            self.stats["ws_drops"] += 1
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"server going away")

    async def _tick_loop(self) -> None:
        last_save = time.monotonic()
        while True:
            await asyncio.sleep(self.config.tick_ms / 1000.0)
            try:
                self.exchange.catch_up()
                if self.exchange.sim.now_s >= self._next_ws_drop:
                    self._next_ws_drop = self.exchange.sim.now_s + (self.faults.ws_drop_every_s or float("inf"))
                    await self.drop_websockets()
                elif self.faults.ws_drop_every_s and self._next_ws_drop == float("inf"):
                    self._next_ws_drop = self.exchange.sim.now_s + self.faults.ws_drop_every_s
                if self.exchange.dirty and time.monotonic() - last_save >= self.config.save_every_s:
                    self.exchange.save()
                    last_save = time.monotonic()
            except Exception:  # the market must keep running whatever one tick does
                log.exception("loopback exchange tick failed")

    # ------------------------------------------------------------------ fan-out
    def _on_depth(self, msg: dict[str, Any]) -> None:
        if self.withhold_depth > 0:
            self.withhold_depth -= 1
            self.stats["depth_skipped"] += 1
            return
        f = self.faults
        if (f.skip_seq_every and self.exchange.depth_messages % f.skip_seq_every == 0) or (
            f.skip_seq_prob and self.rng.random() < f.skip_seq_prob
        ):
            self.stats["depth_skipped"] += 1
            return
        self._publish(msg["s"].lower() + "@depth", msg)

    def _on_trade(self, msg: dict[str, Any]) -> None:
        self._publish(msg["s"].lower() + "@trade", msg)

    def _publish(self, stream: str, msg: dict[str, Any]) -> None:
        listeners = [conn for conn in self.conns if stream in conn.streams]
        if listeners:
            text = self._frame(stream.partition("@")[2], json.dumps(msg, separators=(",", ":")))
            for conn in listeners:
                conn.send(text)

    def _frame(self, stream: str, text: str) -> str:
        """A websocket frame of `stream` as sent: garbled when an admin request or a fault says so."""
        pending = self.garble_next.get(stream)
        mode = pending.pop(0) if pending else self.faults.ws_garble_mode(stream, self.rng.random)
        if mode is None:
            return text
        self.stats["ws_garbled"] += 1
        return garble(text, mode)

    def _on_user(self, api_key: str, msg: dict[str, Any]) -> None:
        if self.faults.user_delay_ms > 0:
            asyncio.get_running_loop().call_later(self.faults.user_delay_ms / 1000.0, self._send_user, api_key, msg)
        else:
            self._send_user(api_key, msg)

    def _send_user(self, api_key: str, msg: dict[str, Any]) -> None:
        raw = ""
        for conn in self.conns:
            if conn.api_key != api_key:
                continue
            if conn.kind == "user":
                raw = raw or json.dumps(msg, separators=(",", ":"))
                conn.send(self._frame("user", raw))
            elif conn.kind == "wsapi" and conn.subscription_id is not None:
                event = {"subscriptionId": conn.subscription_id, "event": msg}
                conn.send(self._frame("user", json.dumps(event, separators=(",", ":"))))

    # ------------------------------------------------------------------ app
    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._down_middleware])
        r = app.router
        rest: list[tuple[str, str, Handler, int, bool]] = [
            ("GET", "/api/v3/ping", self._ping, 1, False),
            ("GET", "/api/v3/time", self._time, 1, False),
            ("GET", "/api/v3/exchangeInfo", self._exchange_info, 20, False),
            ("GET", "/api/v3/depth", self._depth, 5, False),
            ("POST", "/api/v3/order", self._post_order, 1, True),
            ("GET", "/api/v3/order", self._get_order, 4, True),
            ("DELETE", "/api/v3/order", self._delete_order, 1, True),
            ("GET", "/api/v3/openOrders", self._open_orders, 6, True),
            ("DELETE", "/api/v3/openOrders", self._cancel_all, 1, True),
            ("GET", "/api/v3/account", self._account, 20, True),
            ("GET", "/api/v3/myTrades", self._my_trades, 20, True),
            ("POST", "/api/v3/userDataStream", self._listen_key_new, 2, False),
            ("PUT", "/api/v3/userDataStream", self._listen_key_keepalive, 2, False),
            ("DELETE", "/api/v3/userDataStream", self._listen_key_close, 2, False),
        ]
        for method, path, handler, weight, signed in rest:
            r.add_route(method, path, self._rest(handler, weight, signed))
        r.add_get("/ws", self._ws_market)
        r.add_get("/ws-api/v3", self._ws_api)
        r.add_get("/ws/{name}", self._ws_market)
        r.add_get("/admin/state", self._admin_state)
        r.add_get("/admin/orders", self._admin_orders)
        r.add_get("/admin/book", self._admin_book)
        r.add_get("/admin/faults", self._admin_faults)
        r.add_post("/admin/faults", self._admin_faults)
        r.add_delete("/admin/faults", self._admin_faults)
        r.add_post("/admin/restart", self._admin_restart)
        r.add_post("/admin/drop_ws", self._admin_drop_ws)
        r.add_post("/admin/skip_seq", self._admin_skip_seq)
        r.add_post("/admin/garble_ws", self._admin_garble_ws)
        r.add_post("/admin/pause", self._admin_pause)
        r.add_post("/admin/resume", self._admin_resume)
        return app

    @web.middleware
    async def _down_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if time.time() < self.down_until and not request.path.startswith("/admin"):
            if request.transport is not None:
                request.transport.close()  # a restarting server answers nothing
            raise web.HTTPServiceUnavailable()
        result: web.StreamResponse = await handler(request)
        return result

    def _rest(self, handler: Handler, weight: int, signed: bool) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            ip = request.remote or "?"
            now = time.time()
            self.stats["requests"] += 1
            used = 0
            try:
                self._gate(ip, now)
                body = await request.text() if request.can_read_body else ""
                raw_query = request.rel_url.raw_query_string
                params = dict(parse_qsl(raw_query, keep_blank_values=True))
                params.update(parse_qsl(body, keep_blank_values=True))
                w = weight
                if handler == self._depth:
                    limit = int(params.get("limit", 100))
                    w = 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
                used = self._spend_weight(ip, w, now)
                api_key = ""
                if signed:
                    api_key = self._verify(request, raw_query, body, params, now)
                elif handler in (self._listen_key_new, self._listen_key_keepalive, self._listen_key_close):
                    api_key = self._api_key(request)
                result = await handler(request, params, api_key)
                headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
                mode = self.faults.rest_garble_mode(request.method, request.path, self.rng.random)
                if mode is not None:  # carried out, but the answer arrives unreadable
                    self.stats["rest_garbled"] += 1
                    text = garble(json.dumps(result), mode)
                    return web.Response(text=text, content_type="application/json", headers=headers)
                return web.json_response(result, headers=headers)
            except E.BinanceError as exc:
                return self._error(ip, exc, now)

        return serve

    def _error(self, ip: str, exc: E.BinanceError, now: float) -> web.Response:
        headers = {}
        if exc.retry_after_s is not None:
            headers["Retry-After"] = str(exc.retry_after_s)
        if exc.status == 429:
            self.stats["http_429"] += 1
            if now >= self.backoff_until.get(ip, 0.0):
                self.backoff_started[ip] = now
            self.backoff_until[ip] = max(self.backoff_until.get(ip, 0.0), now + (exc.retry_after_s or 1))
        elif exc.status == 418:
            self.stats["http_418"] += 1
        elif exc.status >= 500:
            self.stats["http_5xx"] += 1
        return web.json_response(exc.body(), status=exc.status, headers=headers)

    def _gate(self, ip: str, now: float) -> None:
        """IP ban, back-off violations and injected HTTP faults, before any work."""
        f = self.faults
        if now < self.banned_until.get(ip, 0.0):
            raise E.banned(int(self.banned_until[ip] * 1000), int(self.banned_until[ip] - now) + 1)
        in_flight_until = self.backoff_started.get(ip, 0.0) + f.violation_grace_ms / 1e3
        if now < self.backoff_until.get(ip, 0.0) and now > in_flight_until:
            self.stats["violations"] += 1
            self.violations[ip] = self.violations.get(ip, 0) + 1
            if self.violations[ip] >= f.ban_after_violations:
                self.banned_until[ip] = now + f.ban_s
                raise E.banned(int(self.banned_until[ip] * 1000), int(f.ban_s))
        if f.http_fault_active(now) and self.rng.random() < f.http_status_prob:
            if f.http_status == 429:
                raise E.too_many_requests(f.retry_after_s)
            if f.http_status == 418:
                self.banned_until[ip] = now + f.retry_after_s
                raise E.banned(int(self.banned_until[ip] * 1000), f.retry_after_s)
            raise E.BinanceError(
                E.DISCONNECTED,
                "Internal error; unable to process your request. Please try again.",
                status=f.http_status,
            )

    def _spend_weight(self, ip: str, weight: int, now: float) -> int:
        window = self.weights.setdefault(ip, deque())
        while window and window[0][0] <= now - 60.0:
            window.popleft()
        used = sum(w for _, w in window)
        if used + weight > self.faults.weight_per_min:
            retry = int(window[0][0] + 60.0 - now) + 1 if window else 1
            raise E.too_many_requests(retry)
        window.append((now, weight))
        return used + weight

    def _spend_order(self, api_key: str, now: float) -> None:
        times = self.order_times.setdefault(api_key, deque())
        while times and times[0] <= now - 10.0:
            times.popleft()
        if len(times) >= self.faults.orders_per_10s:
            raise E.too_many_orders(self.faults.orders_per_10s, "10 SECOND", int(times[0] + 10.0 - now) + 1)
        times.append(now)

    def _api_key(self, request: web.Request) -> str:
        key = request.headers.get("X-MBX-APIKEY", "")
        if key not in self.exchange.accounts:
            raise E.BinanceError(E.REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.", status=401)
        return key

    def _verify(self, request: web.Request, raw_query: str, body: str, params: dict[str, str], now: float) -> str:
        key = self._api_key(request)
        check_timestamp(params, now)
        payload = "&".join(x for x in (strip_signature(raw_query), strip_signature(body)) if x)
        expected = hmac.new(self.exchange.accounts[key].secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, params.get("signature", "")):
            self.stats["rejected_signature"] += 1
            raise E.BinanceError(E.INVALID_SIGNATURE, "Signature for this request is not valid.")
        return key

    # ------------------------------------------------------------------ REST handlers
    async def _ping(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        return {}

    async def _time(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        return {"serverTime": int(time.time() * 1000)}

    async def _exchange_info(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        return self.exchange.exchange_info()

    async def _depth(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        self.exchange._check_symbol(p)  # same validation as the trading endpoints
        limit = int(p.get("limit", 100))
        if not 1 <= limit <= 5000:
            raise E.BinanceError(-1100, "Illegal characters found in parameter 'limit'; legal range is '1-5000'.")
        return self.exchange.depth(limit)

    async def _post_order(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        f = self.faults
        self._spend_order(key, time.time())
        if f.order_drop_prob and self.rng.random() < f.order_drop_prob:
            self.stats["orders_dropped"] += 1
            await self._hang_up(request)
        order, trades = self.exchange.place_order(key, p)
        if f.ack_drop_prob and self.rng.random() < f.ack_drop_prob:
            self.stats["acks_dropped"] += 1
            await self._hang_up(request)
        if f.ack_delay_ms and self.rng.random() < f.ack_delay_prob:
            self.stats["acks_delayed"] += 1
            await asyncio.sleep(f.ack_delay_ms / 1000.0)
        resp_type = p.get("newOrderRespType", "FULL").upper()
        if resp_type == "ACK":
            return {
                "symbol": self.exchange.symbol,
                "orderId": order.order_id,
                "orderListId": -1,
                "clientOrderId": order.client_id,
                "transactTime": order.time_ms,
            }
        return self.exchange.order_json(order, full=True, trades=trades if resp_type == "FULL" else [])

    async def _hang_up(self, request: web.Request) -> None:
        """No answer: hold the connection, then drop it (the client's own timeout fires first)."""
        await asyncio.sleep(self.faults.drop_hold_s)
        if request.transport is not None:
            request.transport.close()
        raise E.BinanceError(E.DISCONNECTED, "dropped")

    async def _get_order(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        return self.exchange.order_json(self.exchange.query_order(key, p))

    async def _delete_order(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        order = self.exchange.cancel_order(key, p)
        if self.faults.cancel_delay_ms:
            await asyncio.sleep(self.faults.cancel_delay_ms / 1000.0)
        out = self.exchange.order_json(order)
        out["origClientOrderId"] = order.client_id
        out["clientOrderId"] = p.get("newClientOrderId") or f"cancel-{order.order_id}"
        out["transactTime"] = order.update_ms
        return out

    async def _open_orders(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        return [self.exchange.order_json(o) for o in self.exchange.open_orders(key, p)]

    async def _cancel_all(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        out = []
        for order in self.exchange.cancel_all(key, p):
            row = self.exchange.order_json(order)
            row["origClientOrderId"] = order.client_id
            row["clientOrderId"] = f"cancel-{order.order_id}"
            out.append(row)
        return out

    async def _account(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        return self.exchange.account(key)

    async def _my_trades(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        return [self.exchange.trade_json(t) for t in self.exchange.my_trades(key, p)]

    async def _listen_key_new(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        listen_key = secrets.token_urlsafe(45)[:60]
        self.listen_keys[listen_key] = key
        return {"listenKey": listen_key}

    async def _listen_key_keepalive(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        if self.listen_keys.get(p.get("listenKey", "")) != key:
            raise E.BinanceError(E.INVALID_LISTEN_KEY, "This listenKey does not exist.")
        return {}

    async def _listen_key_close(self, request: web.Request, p: dict[str, str], key: str) -> Any:
        self.listen_keys.pop(p.get("listenKey", ""), None)
        return {}

    # ------------------------------------------------------------------ websockets
    async def _ws_market(self, request: web.Request) -> web.WebSocketResponse:
        name = request.match_info.get("name", "")
        conn = await self._open_ws(request, "market")
        if name in self.listen_keys:
            conn.kind, conn.api_key = "user", self.listen_keys[name]
        elif "@" in name:  # raw stream path: /ws/btcusdt@depth
            conn.streams.update(_stream_key(s) for s in name.split("/"))
        async for msg in conn.ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                req = json.loads(msg.data)
                method, rid = req.get("method"), req.get("id")
                streams = [_stream_key(s) for s in req.get("params", [])]
            except (ValueError, AttributeError, TypeError):
                conn.send(json.dumps({"error": {"code": 2, "msg": "Invalid request: bad JSON"}}))
                continue
            if method == "SUBSCRIBE":
                conn.streams.update(streams)
                conn.send(json.dumps({"result": None, "id": rid}))
            elif method == "UNSUBSCRIBE":
                conn.streams.difference_update(streams)
                conn.send(json.dumps({"result": None, "id": rid}))
            elif method == "LIST_SUBSCRIPTIONS":
                conn.send(json.dumps({"result": sorted(conn.streams), "id": rid}))
            else:
                conn.send(
                    json.dumps({"error": {"code": 2, "msg": f"Invalid request: unknown method {method}"}, "id": rid})
                )
        await self._close_ws(conn)
        return conn.ws

    async def _ws_api(self, request: web.Request) -> web.WebSocketResponse:
        conn = await self._open_ws(request, "wsapi")
        async for msg in conn.ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                req = json.loads(msg.data)
                rid, method, params = req.get("id"), req.get("method"), dict(req.get("params") or {})
            except (ValueError, AttributeError, TypeError):
                conn.send(json.dumps({"id": None, "status": 400, "error": {"code": -1102, "msg": "bad JSON"}}))
                continue
            try:
                result = self._ws_api_call(conn, method, params)
                answer = json.dumps({"id": rid, "status": 200, "result": result})
            except E.BinanceError as exc:
                answer = json.dumps({"id": rid, "status": exc.status, "error": exc.body()})
            stall_s = self.faults.ws_auth_stall_s
            if method == "userDataStream.subscribe.signature" and stall_s > 0:
                self.stats["auth_stalled"] += 1  # subscribed (or refused) now, the answer held
                asyncio.get_running_loop().call_later(stall_s, conn.send, answer)
            else:
                conn.send(answer)
        await self._close_ws(conn)
        return conn.ws

    def _ws_api_call(self, conn: _Conn, method: str, params: dict[str, Any]) -> Any:
        now = time.time()
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": int(now * 1000)}
        if method == "userDataStream.subscribe.signature":
            key = str(params.get("apiKey", ""))
            if key not in self.exchange.accounts:
                raise E.BinanceError(E.REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.", 401)
            str_params = {k: _ws_value(v) for k, v in params.items()}
            check_timestamp(str_params, now)
            payload = "&".join(f"{k}={v}" for k, v in sorted(str_params.items()) if k != "signature")
            expected = hmac.new(
                self.exchange.accounts[key].secret.encode(), payload.encode(), hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(expected, str_params.get("signature", "")):
                self.stats["rejected_signature"] += 1
                raise E.BinanceError(E.INVALID_SIGNATURE, "Signature for this request is not valid.")
            conn.api_key = key
            conn.subscription_id = self._subscription_ids
            self._subscription_ids += 1
            return {"subscriptionId": conn.subscription_id}
        if method == "userDataStream.unsubscribe":
            conn.subscription_id = None
            return {}
        raise E.BinanceError(-1100, f"Unsupported method {method!r} on the loopback exchange.")

    async def _open_ws(self, request: web.Request, kind: str) -> _Conn:
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1 << 22)
        await ws.prepare(request)
        conn = _Conn(ws, kind)
        conn.writer = asyncio.get_running_loop().create_task(self._writer(conn))
        self.conns.add(conn)
        return conn

    async def _writer(self, conn: _Conn) -> None:
        try:
            while True:
                text = await conn.queue.get()
                if text is None:
                    await conn.ws.close(code=1008, message=b"closed by the exchange")
                    return
                await conn.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return

    async def _close_ws(self, conn: _Conn) -> None:
        self.conns.discard(conn)
        if conn.writer is not None:
            conn.writer.cancel()

    # ------------------------------------------------------------------ admin
    async def _admin_state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                **self.exchange.summary(),
                "stats": self.stats,
                "faults": self.faults.as_dict(),
                "url": self.url,
                "speed": self.exchange.speed,
                "connections": len(self.conns),
            }
        )

    async def _admin_orders(self, request: web.Request) -> web.Response:
        prefix = request.query.get("client_prefix", "")
        rows = [self.exchange.order_json(o) for o in self.exchange.orders.values() if o.client_id.startswith(prefix)]
        return web.json_response(rows)

    async def _admin_book(self, request: web.Request) -> web.Response:
        return web.json_response(self.exchange.depth(int(request.query.get("limit", 100))))

    async def _admin_faults(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                self.faults.update(await request.json(), time.time())
            except ValueError as exc:
                return web.json_response({"error": str(exc)}, status=400)
            if self.faults.ws_drop_every_s:
                self._next_ws_drop = self.exchange.sim.now_s + self.faults.ws_drop_every_s
        elif request.method == "DELETE":
            self.faults = Faults()
            self._next_ws_drop = float("inf")
        return web.json_response(self.faults.as_dict())

    async def _admin_restart(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        down_s = float(body.get("down_s", 1.0))
        asyncio.get_running_loop().create_task(self.restart(down_s))
        return web.json_response({"restarting": True, "down_s": down_s})

    async def _admin_drop_ws(self, request: web.Request) -> web.Response:
        n = len(self.conns)
        await self.drop_websockets()
        return web.json_response({"dropped": n})

    async def _admin_skip_seq(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.withhold_depth += int(body.get("n", 1))
        return web.json_response({"withholding": self.withhold_depth})

    async def _admin_garble_ws(self, request: web.Request) -> web.Response:
        """Garble the next `n` frames of `stream` ("depth", "trade" or "user") with `mode`
        ("malformed" or "truncated")."""
        body = await request.json() if request.can_read_body else {}
        stream, mode, n = str(body.get("stream", "depth")), str(body.get("mode", "malformed")), int(body.get("n", 1))
        if stream not in GARBLE_STREAMS[1:] or mode not in GARBLE_MODES:
            return web.json_response(
                {"error": f"stream is one of {GARBLE_STREAMS[1:]} and mode one of {GARBLE_MODES}"}, status=400
            )
        self.garble_next.setdefault(stream, []).extend([mode] * n)
        return web.json_response({"stream": stream, "pending": len(self.garble_next[stream])})

    async def _admin_pause(self, request: web.Request) -> web.Response:
        return web.json_response({"paused": True, "last_update_id": self.exchange.pause()})

    async def _admin_resume(self, request: web.Request) -> web.Response:
        self.exchange.resume()
        return web.json_response({"paused": False})


def check_timestamp(params: dict[str, str], now: float) -> None:
    """Binance's rule: timestamp < server time + 1 s and server time − timestamp ≤ recvWindow."""
    if "timestamp" not in params:
        raise E.missing("timestamp")
    try:
        ts = int(params["timestamp"])
        window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS))
    except ValueError:
        raise E.BinanceError(
            E.MANDATORY_PARAM_EMPTY_OR_MALFORMED, "Illegal characters found in parameter 'timestamp'."
        ) from None
    if window > MAX_RECV_WINDOW_MS:
        raise E.BinanceError(-1131, "recvWindow must be less than 60000")
    server_ms = int(now * 1000)
    if ts >= server_ms + 1000:
        raise E.BinanceError(E.INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead of the server's time.")
    if server_ms - ts > window:
        raise E.BinanceError(E.INVALID_TIMESTAMP, "Timestamp for this request is outside of the recvWindow.")


def strip_signature(raw: str) -> str:
    return "&".join(part for part in raw.split("&") if part and not part.startswith("signature="))


def _stream_key(name: str) -> str:
    """'btcusdt@depth@100ms' → 'btcusdt@depth'; 'btcusdt@aggTrade' → 'btcusdt@trade'."""
    parts = str(name).lower().split("@")
    kind = "trade" if parts[1:2] in (["trade"], ["aggtrade"]) else (parts[1] if len(parts) > 1 else "")
    return f"{parts[0]}@{kind}"


def _ws_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def serve_forever(config: ServerConfig, on_ready: Callable[[ExchangeServer], None] | None = None) -> None:
    server = ExchangeServer(config)
    await server.start()
    if on_ready is not None:
        on_ready(server)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
