"""The loopback exchange speaks Binance spot: signing, recvWindow on the wall clock, filters,
error codes and HTTP statuses, cancel-all, account, myTrades, listenKey, and a 418 for a client
that ignores 429s."""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp

from adapters.exchange_server.server import ExchangeServer
from tests.connectivity.helpers import KEY, SECRET, arun, loopback


async def call(
    session: aiohttp.ClientSession,
    server: ExchangeServer,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    signed: bool = True,
    secret: str = SECRET,
    ts_ms: int | None = None,
) -> tuple[int, Any, dict[str, str]]:
    params = dict(params or {})
    headers = {"X-MBX-APIKEY": KEY}
    if signed:
        params["timestamp"] = ts_ms if ts_ms is not None else int(time.time() * 1000)
        query = urlencode(params)
        params["signature"] = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    query = urlencode(params)
    if method in ("GET", "DELETE"):
        async with session.request(method, f"{server.url}{path}?{query}", headers=headers) as resp:
            return resp.status, await resp.json(), dict(resp.headers)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    async with session.request(method, f"{server.url}{path}", data=query, headers=headers) as resp:
        return resp.status, await resp.json(), dict(resp.headers)


def test_public_endpoints_and_filters() -> None:
    async def scenario() -> None:
        async with loopback() as server, aiohttp.ClientSession() as s:
            assert (await call(s, server, "GET", "/api/v3/ping", signed=False))[1] == {}
            status, t, _ = await call(s, server, "GET", "/api/v3/time", signed=False)
            assert status == 200 and abs(t["serverTime"] - time.time() * 1000) < 2000
            _, info, _ = await call(s, server, "GET", "/api/v3/exchangeInfo", signed=False)
            filters = {f["filterType"]: f for f in info["symbols"][0]["filters"]}
            assert {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"} <= set(filters)
            assert Decimal(filters["PRICE_FILTER"]["tickSize"]) == Decimal(1)
            assert Decimal(filters["LOT_SIZE"]["stepSize"]) == Decimal("0.0001")
            status, depth, _ = await call(
                s, server, "GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5}, signed=False
            )
            assert status == 200 and len(depth["bids"]) == 5 and depth["lastUpdateId"] > 0
            assert float(depth["bids"][0][0]) < float(depth["asks"][0][0])

    arun(scenario())


def test_signing_and_recv_window_are_checked_on_the_wall_clock_even_when_accelerated() -> None:
    async def scenario() -> None:
        async with loopback(speed=50.0) as server, aiohttp.ClientSession() as s:
            status, body, _ = await call(s, server, "GET", "/api/v3/account")
            assert status == 200 and any(b["asset"] == "BTC" for b in body["balances"])
            status, body, _ = await call(s, server, "GET", "/api/v3/account", secret="wrong")
            assert (status, body["code"]) == (400, -1022)
            status, body, _ = await call(s, server, "GET", "/api/v3/account", ts_ms=int(time.time() * 1000) - 6000)
            assert (status, body["code"]) == (400, -1021)
            status, body, _ = await call(s, server, "GET", "/api/v3/account", ts_ms=int(time.time() * 1000) + 3000)
            assert (status, body["code"]) == (400, -1021)
            status, body, _ = await call(
                s, server, "GET", "/api/v3/account", {"recvWindow": 10_000}, ts_ms=int(time.time() * 1000) - 6000
            )
            assert status == 200

    arun(scenario())


def test_order_errors_use_binance_codes() -> None:
    async def scenario() -> None:
        async with loopback() as server, aiohttp.ClientSession() as s:
            base = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC"}
            bad = [
                ({**base, "quantity": "0.1", "price": "60000.5"}, -1013, "PRICE_FILTER"),
                ({**base, "quantity": "0.00015", "price": "60000"}, -1013, "LOT_SIZE"),
                ({**base, "quantity": "0.0001", "price": "1000"}, -1013, "NOTIONAL"),
                ({**base, "quantity": "5000", "price": "60000"}, -2010, "insufficient balance"),
                ({**base, "symbol": "ETHUSDT", "quantity": "1", "price": "60000"}, -1121, "Invalid symbol"),
            ]
            for params, code, text in bad:
                status, body, _ = await call(s, server, "POST", "/api/v3/order", params)
                assert status == 400 and body["code"] == code and text in body["msg"], body
            _, depth, _ = await call(s, server, "GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5}, signed=False)
            away = int(float(depth["asks"][0][0])) + 200  # resting, well inside the price band
            ok = {**base, "quantity": "0.1", "price": str(away), "newClientOrderId": "T-1"}
            status, body, _ = await call(s, server, "POST", "/api/v3/order", ok)
            assert status == 200 and body["status"] == "NEW" and body["clientOrderId"] == "T-1"
            status, body, _ = await call(s, server, "POST", "/api/v3/order", ok)
            assert (status, body["code"], body["msg"]) == (400, -2010, "Duplicate order sent.")
            status, body, _ = await call(
                s, server, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "nope"}
            )
            assert (status, body["code"]) == (400, -2013)
            status, body, _ = await call(
                s, server, "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "nope"}
            )
            assert (status, body["code"]) == (400, -2011)
            await call(s, server, "POST", "/api/v3/order", {**ok, "newClientOrderId": "T-2", "price": str(away + 1)})
            status, body, _ = await call(s, server, "GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
            assert sorted(o["clientOrderId"] for o in body) == ["T-1", "T-2"]
            status, body, _ = await call(s, server, "DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
            assert status == 200 and sorted(o["origClientOrderId"] for o in body) == ["T-1", "T-2"]
            assert all(o["status"] == "CANCELED" for o in body)
            status, body, _ = await call(s, server, "DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
            assert (status, body["code"]) == (400, -2011)
            _, acct, _ = await call(s, server, "GET", "/api/v3/account")
            btc = next(b for b in acct["balances"] if b["asset"] == "BTC")
            assert Decimal(btc["locked"]) == 0 and Decimal(btc["free"]) == 1000

    arun(scenario())


def test_marketable_order_fills_and_shows_in_my_trades() -> None:
    async def scenario() -> None:
        async with loopback() as server, aiohttp.ClientSession() as s:
            _, depth, _ = await call(s, server, "GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5}, signed=False)
            bid = depth["bids"][0][0]
            params = {
                "symbol": "BTCUSDT",
                "side": "SELL",
                "type": "LIMIT",
                "timeInForce": "IOC",
                "quantity": "0.2",
                "price": bid,
                "newClientOrderId": "IOC-1",
            }
            status, body, _ = await call(s, server, "POST", "/api/v3/order", params)
            assert status == 200 and body["fills"], body
            executed = Decimal(body["executedQty"])
            assert executed == sum(Decimal(f["qty"]) for f in body["fills"])
            _, trades, _ = await call(s, server, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"})
            assert sum(Decimal(t["qty"]) for t in trades) == executed
            assert {t["id"] for t in trades} == {f["tradeId"] for f in body["fills"]}
            assert all(t["commissionAsset"] == "USDT" and not t["isBuyer"] for t in trades)

    arun(scenario())


def test_listen_key_and_429_then_418_for_a_client_that_ignores_retry_after() -> None:
    async def scenario() -> None:
        async with (
            loopback(faults={"weight_per_min": "30", "ban_after_violations": "3", "violation_grace_ms": "0"}) as server,
            aiohttp.ClientSession() as s,
        ):
            status, body, _ = await call(s, server, "POST", "/api/v3/userDataStream", signed=False)
            assert status == 200 and len(body["listenKey"]) >= 30
            statuses = []
            for _ in range(40):  # a naive client: hammers through 429s
                status, body, headers = await call(s, server, "GET", "/api/v3/ping", signed=False)
                statuses.append(status)
                if status == 429:
                    assert int(headers["Retry-After"]) >= 1 and body["code"] == -1003
            assert 429 in statuses and statuses[-1] == 418
            assert server.stats["http_418"] >= 1

    arun(scenario())


def test_user_data_stream_by_listen_key_and_by_ws_api_signature() -> None:
    async def scenario() -> None:
        async with loopback() as server, aiohttp.ClientSession() as s:
            _, body, _ = await call(s, server, "POST", "/api/v3/userDataStream", signed=False)
            ws_url = server.url.replace("http", "ws")
            async with (
                s.ws_connect(f"{ws_url}/ws/{body['listenKey']}") as user,
                s.ws_connect(f"{ws_url}/ws-api/v3") as api,
            ):
                ts = int(time.time() * 1000)
                payload = f"apiKey={KEY}&timestamp={ts}"
                bad = {"apiKey": KEY, "timestamp": ts, "signature": "0" * 64}
                await api.send_json({"id": "1", "method": "userDataStream.subscribe.signature", "params": bad})
                answer = await api.receive_json(timeout=5)
                assert answer["status"] == 400 and answer["error"]["code"] == -1022
                sig = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
                await api.send_json(
                    {
                        "id": "2",
                        "method": "userDataStream.subscribe.signature",
                        "params": {"apiKey": KEY, "timestamp": ts, "signature": sig},
                    }
                )
                answer = await api.receive_json(timeout=5)
                assert answer["status"] == 200 and answer["result"]["subscriptionId"] >= 0
                _, depth, _ = await call(
                    s, server, "GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5}, signed=False
                )
                price = str(int(float(depth["asks"][0][0])) + 200)
                await call(
                    s,
                    server,
                    "POST",
                    "/api/v3/order",
                    {
                        "symbol": "BTCUSDT",
                        "side": "SELL",
                        "type": "LIMIT",
                        "timeInForce": "GTC",
                        "quantity": "0.01",
                        "price": price,
                        "newClientOrderId": "U-1",
                    },
                )
                for ws, unwrap in ((user, lambda m: m), (api, lambda m: m["event"])):
                    while True:
                        event = unwrap(await ws.receive_json(timeout=5))
                        if event["e"] == "executionReport":
                            break
                    expected = ("U-1", "NEW", "NEW", f"{price}.00000000")
                    assert (event["c"], event["x"], event["X"], event["p"]) == expected

    arun(scenario())
