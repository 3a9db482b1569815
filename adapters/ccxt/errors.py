"""ccxt errors → our reject reasons, and which errors leave an order's fate unknown.

A *definite* answer (the exchange says it refused the order) becomes a `RejectReason`. Anything
else — a timeout, a dropped connection, a 5XX — means the order may or may not exist: it is
reported as a timeout (UNKNOWN) and settled by asking the exchange, never guessed as rejected.
Binance's JSON error body travels inside ccxt's exception text; its code decides first.
"""

from __future__ import annotations

import json
import re

import ccxt

from core.ports import RejectReason


class UnreadableAnswer(Exception):
    """The exchange answered, but not with anything we can read (ccxt hands back the raw text of
    a body that is not JSON — truncated or corrupted — instead of raising): what the request did
    is unknown, as if no answer had come."""


_BODY_RE = re.compile(r"\{\s*\"code\"\s*:\s*(-?\d+)\s*,\s*\"msg\"\s*:\s*\"((?:[^\"\\]|\\.)*)\"")


def binance_error(exc: BaseException) -> tuple[int, str] | None:
    """(code, msg) of a Binance JSON error carried in a ccxt exception's text, if any."""
    m = _BODY_RE.search(str(exc))
    if m is None:
        return None
    try:
        msg = json.loads(f'"{m.group(2)}"')
    except ValueError:
        msg = m.group(2)
    return int(m.group(1)), msg


def is_rate_limit(exc: BaseException) -> bool:
    """429 / 418 / -1003 / -1015: the exchange asks us to slow down (or has banned us for a while)."""
    if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return True
    err = binance_error(exc)
    return err is not None and err[0] in (-1003, -1015)


def is_indeterminate(exc: BaseException) -> bool:
    """The request may or may not have been executed (timeouts, dropped connections, 5XX)."""
    if is_rate_limit(exc):
        return False
    if isinstance(exc, ccxt.RequestTimeout | ccxt.NetworkError | ccxt.ExchangeNotAvailable):
        return True
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return True
    err = binance_error(exc)
    if err is not None:
        return err[0] in (-1000, -1001, -1006, -1007)
    # no answer from the exchange we can read (e.g. a broken response body): it may have executed
    return not isinstance(exc, _DEFINITE)


# ccxt errors that only come from an exchange's readable answer: the request was refused
_DEFINITE = (
    ccxt.InsufficientFunds,
    ccxt.InvalidOrder,
    ccxt.OrderNotFound,
    ccxt.BadRequest,
    ccxt.BadSymbol,
    ccxt.AuthenticationError,
    ccxt.PermissionDenied,
    ccxt.ArgumentsRequired,
    ccxt.NotSupported,
    ccxt.OperationRejected,
)


def reject_reason(exc: BaseException) -> str:
    """Our reason for a definite refusal of a new order (call only when not indeterminate)."""
    if is_rate_limit(exc):
        return RejectReason.RATE_LIMITED
    err = binance_error(exc)
    code, msg = err if err is not None else (0, str(exc))
    lowered = msg.lower()
    if "insufficient balance" in lowered or isinstance(exc, ccxt.InsufficientFunds):
        return RejectReason.INSUFFICIENT_BALANCE
    if "price_filter" in lowered:
        return RejectReason.BAD_TICK
    if "lot_size" in lowered:
        return RejectReason.BAD_LOT
    if "notional" in lowered:
        return RejectReason.MIN_NOTIONAL
    if "immediately match and take" in lowered:
        return RejectReason.POST_ONLY_WOULD_CROSS
    if "duplicate order" in lowered:
        return RejectReason.DUPLICATE_CLIENT_ID
    if "market is closed" in lowered or code == -1016:
        return RejectReason.VENUE_DOWN
    if isinstance(exc, ccxt.OrderNotFound) or code in (-2011, -2013):
        return RejectReason.NOT_FOUND
    if isinstance(exc, ccxt.InvalidOrder) and "price" in lowered:
        return RejectReason.BAD_TICK
    return RejectReason.OTHER


def is_not_found(exc: BaseException) -> bool:
    err = binance_error(exc)
    if err is not None:
        return err[0] in (-2011, -2013)
    return isinstance(exc, ccxt.OrderNotFound)


def short(exc: BaseException) -> str:
    """One line for logs and reject details (ccxt texts can embed whole URLs)."""
    err = binance_error(exc)
    if err is not None:
        return f"{err[0]} {err[1]}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {text[:200]}"
