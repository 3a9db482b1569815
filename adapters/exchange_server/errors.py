"""Binance spot error codes and messages as the loopback server answers them.

Each error is raised as `BinanceError` and rendered as Binance renders it: a JSON body
``{"code": -2010, "msg": "..."}`` with the HTTP status Binance uses (4XX for a request the client
got wrong, 429 rate limit, 418 IP ban, 5XX for the server's own trouble).
"""

from __future__ import annotations


class BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400, retry_after_s: int | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.retry_after_s = retry_after_s

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


# codes (https://developers.binance.com/docs/binance-spot-api-docs/errors)
UNKNOWN = -1000
DISCONNECTED = -1001
TOO_MANY_REQUESTS = -1003
UNAUTHORIZED = -1002
TOO_MANY_ORDERS = -1015
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
ILLEGAL_CHARS = -1100
MANDATORY_PARAM_EMPTY_OR_MALFORMED = -1102
BAD_SYMBOL = -1121
INVALID_LISTEN_KEY = -1125
INVALID_PARAMETER = -1013  # filter failures travel as -1013 "Filter failure: ..."
NEW_ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
REJECTED_MBX_KEY = -2015

MSG_INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
MSG_DUPLICATE = "Duplicate order sent."
MSG_WOULD_TAKE = "Order would immediately match and take."
MSG_MARKET_CLOSED = "Market is closed."
MSG_UNKNOWN_ORDER = "Unknown order sent."
MSG_NO_SUCH_ORDER = "Order does not exist."


def filter_failure(name: str) -> BinanceError:
    return BinanceError(INVALID_PARAMETER, f"Filter failure: {name}")


def missing(param: str) -> BinanceError:
    return BinanceError(
        MANDATORY_PARAM_EMPTY_OR_MALFORMED, f"Mandatory parameter '{param}' was not sent, was empty/null, or malformed."
    )


def too_many_requests(retry_after_s: int) -> BinanceError:
    return BinanceError(
        TOO_MANY_REQUESTS,
        "Too much request weight used; current limit exceeded. Please use WebSocket Streams for live updates "
        "to avoid polling the API.",
        status=429,
        retry_after_s=retry_after_s,
    )


def too_many_orders(limit: int, interval: str, retry_after_s: int) -> BinanceError:
    return BinanceError(
        TOO_MANY_ORDERS, f"Too many new orders; current limit is {limit} orders per {interval}.", 429, retry_after_s
    )


def banned(until_ms: int, retry_after_s: int) -> BinanceError:
    return BinanceError(
        TOO_MANY_REQUESTS,
        f"Way too much request weight used; IP banned until {until_ms}. Please use WebSocket Streams for live "
        "updates to avoid bans.",
        status=418,
        retry_after_s=retry_after_s,
    )
