"""What code outside `adapters/ccxt` reads on a `CcxtVenue` (the `Venue` port, `run`'s summary and
status lines, the connectivity tests) exists before any connection, with its documented initial
value — whatever parts the venue is assembled from. No network: nothing here connects."""

from __future__ import annotations

import asyncio
import collections
import math
from dataclasses import asdict

import pytest

from adapters.ccxt import CcxtVenue, CcxtVenueConfig
from adapters.secrets import ApiCredentials
from core.ports import Venue

PORT = [
    "instrument",
    "connect",
    "submit",
    "cancel",
    "cancel_all",
    "cancel_by_id",
    "open_orders",
    "fills_since",
    "balances",
    "depth_snapshot",
]


def _venue() -> CcxtVenue:
    def no_client(*_: object) -> object:
        raise AssertionError("nothing here may make a ccxt client")

    config = CcxtVenueConfig("loop", url="http://127.0.0.1:1", symbols=("BTC/USDT", "ETH/USDT"))
    return CcxtVenue(config, credentials=ApiCredentials("k", "s"), exchange_factory=no_client)


def test_the_venue_port_is_answered() -> None:
    venue = _venue()
    port: Venue = venue  # mypy checks the protocol; the loop below checks the names at run time
    assert port.name == "loop" and port.is_up is False
    for name in PORT:
        assert callable(getattr(venue, name)), name
    assert venue.balances() == {}
    with pytest.raises(ValueError, match=r"no instrument BTC/USDT .*configured symbols: BTC/USDT, ETH/USDT"):
        venue.instrument("BTC/USDT")


def test_what_run_and_the_tests_read_starts_empty() -> None:
    venue = _venue()
    assert isinstance(venue.stats, collections.Counter) and not venue.stats
    assert venue.last_reconcile == {} and venue.orphans == {}
    assert math.isnan(venue.clock_offset_ms) and math.isnan(venue.clock_rtt_ms) and venue.clock_alert is False
    assert sorted(venue.book_audit) == ["BTC/USDT", "ETH/USDT"]
    assert asdict(venue.book_audit["BTC/USDT"]) == {
        "applied": 0,
        "gaps": 0,
        "resyncs": 0,
        "continuity_breaks": 0,
        "stale": 0,
        "last_update_id": 0,
    }
    assert venue.status_detail() == (
        "markets=no user_stream=down reconciled=no books=BTC/USDT:resyncing,ETH/USDT:resyncing"
    )
    assert venue._ex is None and venue._tracks == {} and not venue._fills
    assert venue._books_synced == {"BTC/USDT": False, "ETH/USDT": False}


def test_wait_ready_needs_connect_first() -> None:
    with pytest.raises(AssertionError, match="connect"):
        asyncio.run(_venue().wait_ready(0.1))


def test_names_importable_from_venue_module() -> None:
    from adapters.ccxt.venue import BookAudit, make_exchange

    assert callable(make_exchange) and BookAudit().continuity_breaks == 0
