"""`python main.py serve-exchange --scenario NAME --venue NAME --port P [--speed X] [--fault NAME=VALUE ...]`

Serves one simulated venue as a Binance-spot-compatible exchange on 127.0.0.1 (REST +
WebSocket), so the ccxt path is exercised with the real ccxt client. Prints one JSON line when
listening: ``{"event": "listening", "url": ..., "venue": ..., "symbol": ..., "api_key": ...}``.

The account's API secret is taken from the environment variable named by ``--api-secret-env``
(default ``BLOCKHOUSE_LOOPBACK_SECRET``; a fixed development secret when unset — this is a
loopback simulator, never a real account). ``--state FILE`` keeps orders, trades and balances
across restarts of the server. Fault knobs: docs/connectivity.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

DEV_SECRET = "bh-loopback-secret"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "serve-exchange", help="serve a simulated venue as a loopback Binance-spot-compatible exchange"
    )
    parser.add_argument("--scenario", default="btc-block-4h", help="simulator scenario (default btc-block-4h)")
    parser.add_argument("--venue", default="alpha", help="which of the scenario's venues to serve (default alpha)")
    parser.add_argument("--port", type=int, default=8901, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second (default 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fault or rate-limit knob, repeatable (e.g. ack_delay_ms=3000, skip_seq_prob=0.01)",
    )
    parser.add_argument("--state", type=Path, help="file keeping orders, trades and balances across restarts")
    parser.add_argument("--api-key", default="bh-loopback", help="the account's API key (default bh-loopback)")
    parser.add_argument(
        "--api-secret-env",
        default="BLOCKHOUSE_LOOPBACK_SECRET",
        help="environment variable holding the account's API secret",
    )
    parser.add_argument(
        "--balance",
        action="append",
        default=[],
        metavar="ASSET=QTY",
        help="starting balance, repeatable (default BTC=1000 USDT=100000000)",
    )
    parser.add_argument("--tick-ms", type=float, default=20.0, help="market advance / publish period in wall ms")
    parser.add_argument("--log-level", default="WARNING")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from adapters.exchange_server.faults import parse_fault_flags
    from adapters.exchange_server.server import ServerConfig, serve_forever

    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.speed <= 0:
        raise ValueError(f"--speed must be positive, got {args.speed}")
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0-65535, got {args.port}")
    balances = {"BTC": Decimal(1000), "USDT": Decimal(100_000_000)}
    for item in args.balance:
        asset, sep, qty = item.partition("=")
        try:
            balances[asset.strip().upper()] = Decimal(qty)
        except InvalidOperation:
            raise ValueError(f"--balance {item!r}: write it as ASSET=QTY, e.g. BTC=1000") from None
        if not sep:
            raise ValueError(f"--balance {item!r}: write it as ASSET=QTY, e.g. BTC=1000")
    config = ServerConfig(
        scenario=args.scenario,
        venue=args.venue,
        port=args.port,
        seed=args.seed,
        speed=args.speed,
        tick_ms=args.tick_ms,
        accounts={args.api_key: os.environ.get(args.api_secret_env) or DEV_SECRET},
        balances=balances,
        state_path=args.state,
        faults=parse_fault_flags(args.fault),
    )

    def ready(server: object) -> None:
        from adapters.exchange_server.server import ExchangeServer

        assert isinstance(server, ExchangeServer)
        print(
            json.dumps(
                {
                    "event": "listening",
                    "url": server.url,
                    "venue": server.exchange.venue_name,
                    "symbol": server.exchange.symbol,
                    "api_key": args.api_key,
                    "speed": args.speed,
                    "pid": os.getpid(),
                }
            ),
            flush=True,
        )

    async def main() -> None:
        task = asyncio.ensure_future(serve_forever(config, ready))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    return 0
