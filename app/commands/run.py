"""`python main.py run --venue NAME=ccxt:EXCHANGE[@testnet|@URL] … --side sell --qty Q --algo A --horizon H
--journal PATH [--resume]`: run one parent order through real exchanges (ccxt), headless.

Without ``--venue`` the venues are the settings' (``market.mode = "live"``, ``[venues]``; see
app/venues.py); without ``--journal`` the journal is ``journal.url`` — the one ``python main.py
kill`` halts with the same settings.

Every command and venue event is journaled first (SQLite WAL, fsync per commit). After a crash,
``--resume`` rebuilds the OMS from the journal, connects, reconciles with each venue (open orders,
orders whose fate is unknown, fills missed while down, balances) and continues the same schedule:
elapsed time still counts from the parent's original start. A journal that a supervisor's
``kill`` has HALTED comes up halted: it reconciles and exits without sending anything (exit 3).
While running, a ``kill`` written to the same journal by another process stops this one too.

The desk is the one every path builds (app/desk.py): OMS, risk gate, circuit breakers, execution
with every algo, surveillance on the live books feeding the adaptive policy, progress and alerts;
its state (orders, kill switch, trading states, limits, venue switches, tripped breakers, adaptive
decisions) is restored from the journal in one pass before the venues connect. RFQ runs where OTC
desks are configured; none are for `run` yet (OTC desks over FIX come with the FIX gateway).

Output: JSON lines on stdout — ``{"event": "ready", ...}`` once venues are up and reconciled,
``{"event": "first_order", ...}`` when trading starts again, ``{"event": "decision", ...}`` for
each decision of the adaptive policy (with its reason), ``{"event": "progress", ...}`` every
``--progress-every`` seconds and ``{"event": "finished", ...}`` with the result. Exit codes: 0 the
parent is done, 1 not done (stopped, or nothing left to resume of a parent that is not done —
including one never journaled), 2 bad input, 3 halted (kill switch), 4 venues did not come up.
A reader of stdout that goes away (``run | head -n 3``) stops the run like SIGTERM: the
``--on-exit`` choice applies and is journaled, and nothing more is printed.
The circuit breakers of ``[breakers]`` run: each firing is journaled and
printed (``{"event": "breaker", ...}``), and ``finished`` lists what is still tripped. There is no
reset from this command yet: a parent a breaker paused stays paused until the process is stopped.
Keys: each venue's API key is looked up in adapters.secrets by reference (``--key NAME=REF``, else
``venues.keys``, else the venue name); see docs/connectivity.md.
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
import time
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from app.commands.common import add_settings_arguments, command_settings, parse_duration

log = logging.getLogger(__name__)
T_START = time.time()


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("run", help="run a parent order on real exchanges through ccxt (headless)")
    parser.add_argument(
        "--venue",
        action="append",
        default=[],
        metavar="NAME=ccxt:EXCHANGE[@testnet|@URL]",
        help="a venue, repeatable (e.g. loop=ccxt:binance@http://127.0.0.1:8901); default: venues.exchanges "
        "of the settings when market.mode is live",
    )
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="NAME=REF",
        help="API key reference of a venue in the keyring (default: venues.keys, else the venue name)",
    )
    parser.add_argument("--symbol", help="instrument of a new parent (default: the first of venues.symbols)")
    parser.add_argument("--side", choices=("buy", "sell"))
    parser.add_argument("--qty", help="parent quantity in base units")
    parser.add_argument("--algo", default="twap", help="twap, vwap, pov, iceberg, ac or adaptive (default twap)")
    parser.add_argument(
        "--policy",
        default="defaults",
        help="the adaptive algo's parameters: defaults, or a policy file written by `train --out` (default defaults)",
    )
    parser.add_argument("--horizon", help="e.g. 4h, 30m, 1h30m, 90s (a unit is required)")
    parser.add_argument("--limit-price", help="no child trades beyond this price")
    parser.add_argument("--parent-id", help="parent id (default: generated); with --resume, which parent")
    parser.add_argument("--journal", help="journal file (SQLite) or SQLAlchemy URL (default: journal.url)")
    parser.add_argument("--resume", action="store_true", help="continue the parent in the journal after a crash")
    parser.add_argument("--interval", type=float, default=10.0, help="algo tick interval in seconds (default 10)")
    parser.add_argument("--passive-refresh", type=float, default=30.0, help="re-price resting children after s")
    parser.add_argument("--max-participation", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ack-timeout", type=float, default=5.0, help="seconds before a new order is UNKNOWN")
    parser.add_argument(
        "--orders-per-10s",
        type=int,
        default=100,
        help="the venue's new-order limit per 10 s; risk keeps new orders within 80%% of it",
    )
    parser.add_argument(
        "--on-exit",
        choices=("cancel", "leave"),
        default="cancel",
        help="stopped (SIGINT/SIGTERM) with orders working: cancel them all (default) or leave them working; "
        "the choice is journaled",
    )
    parser.add_argument("--progress-every", type=float, default=5.0)
    parser.add_argument("--connect-timeout", type=float, default=30.0)
    parser.add_argument("--log-level", default="WARNING")
    add_settings_arguments(parser)
    parser.set_defaults(handler=run)


def parse_horizon(text: str) -> float:
    """`--horizon` in seconds, in the one duration grammar (app/commands/common.py: a unit is required)."""
    return parse_duration(text, "--horizon")


class StdoutReader:
    """Whether anyone still reads our stdout. One who goes away (``run | head -n 3``: the next
    write fails with EPIPE) must not crash the run with orders working and nothing journaled: it
    is a stop (`on_gone`, set to the stop signal's handler), and later output goes to /dev/null,
    also the interpreter's last flush at exit."""

    def __init__(self) -> None:
        self.gone = False
        self.on_gone: Callable[[], None] = lambda: None

    def lost(self) -> None:
        if self.gone:
            return
        self.gone = True
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        log.warning("stdout closed by its reader: stopping as on SIGTERM")
        self.on_gone()


STDOUT = StdoutReader()


def emit(event: str, **fields: Any) -> None:
    if STDOUT.gone:
        return
    now = time.time()
    record = {"event": event, "t": round(now, 3), "since_start_s": round(now - T_START, 3), **fields}
    line = json.dumps(record, default=str)
    try:
        print(line, flush=True)
    except BrokenPipeError:
        STDOUT.lost()


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = command_settings(args)
    if not args.venue and settings.get("market.mode") != "live":
        raise ValueError(
            'no venue: give --venue NAME=ccxt:EXCHANGE[@testnet|@URL], or set market.mode = "live" and '
            "venues.exchanges in the settings (see docs/connectivity.md)"
        )
    from app.venues import live_venue_settings

    live_venue_settings(settings, specs=args.venue or None)  # a configuration mistake stops us before the journal
    args.journal = args.journal or settings.journal_url
    args.symbol = args.symbol or settings.get("venues.symbols")[0]
    if not args.resume:
        missing = [f"--{n}" for n in ("side", "qty", "horizon") if getattr(args, n) is None]
        if missing:
            raise ValueError(f"a new parent needs {', '.join(missing)} (or --resume to continue one)")
        parse_horizon(args.horizon)  # a mistake is told now, not after the venues have connected
    return asyncio.run(_main(args, settings))


async def _main(args: argparse.Namespace, settings: Any) -> int:
    import adapters.ccxt.venue  # noqa: F401  (ccxt loads here, so the "imports" phase counts it)
    from adapters.store.journal import SqlJournal
    from app.venues import build_live_desk
    from core.clock import LiveClock
    from core.execution.service import ExecutionConfig

    if args.resume and not _journal_exists(str(args.journal)):
        raise ValueError(f"--resume: journal {args.journal} does not exist")
    t_imported = time.time()
    journal = SqlJournal(args.journal)
    # a resumed parent trades its own symbol: the venues are built for it
    symbol = (_resume_symbol(journal, args.parent_id) if args.resume else None) or args.symbol
    desk = build_live_desk(
        settings,
        journal,
        LiveClock(),
        specs=args.venue or None,
        key_refs=dict(_pair(k, "--key") for k in args.key),
        symbols=(symbol,),
        execution=ExecutionConfig(interval_s=args.interval, passive_refresh_s=args.passive_refresh),
        policy=args.policy,
        orders_per_window=(args.orders_per_10s, 10.0),
        seed=args.seed,
        ack_timeout_s=args.ack_timeout,
    )
    t_replayed = time.time()
    kill_watch = JournalKillWatch(journal, desk.engine)  # from the replay on: a kill written while we connect counts
    try:
        parent_id = await _choose_parent(args, desk, journal)
    except BaseException:
        await _close(desk)
        raise
    if parent_id.startswith(_EXIT):
        await _close(desk)
        return int(parent_id.removeprefix(_EXIT))
    return await _trade(args, desk, journal, parent_id, symbol, kill_watch, t_imported, t_replayed)


_EXIT = "exit:"  # _choose_parent's answer when there is nothing to trade: the exit code follows


async def _choose_parent(args: argparse.Namespace, desk: Any, journal: Any) -> str:
    """The parent to run: the one to resume, or a new id; `_EXIT` + code when there is none."""
    from core.orders import validate_parent_id
    from core.parent import ParentState

    engine, oms = desk.engine, desk.engine.oms
    parent_id: str
    if args.resume:
        live = [p for p in oms.parents.values() if not p.state.is_terminal]
        if args.parent_id:
            if args.parent_id not in oms.parents:
                raise ValueError(f"--resume: no parent {args.parent_id} in {args.journal}")
            parent_id = args.parent_id
        elif len(live) == 1:
            parent_id = live[0].parent_id
        elif not live:
            done = {p.parent_id: p.state.value for p in oms.parents.values()}
            last = list(oms.parents.values())[-1] if oms.parents else None  # journal order
            if engine.risk.killed:
                emit(
                    "finished",
                    state="halted",
                    parents=done,
                    detail="the kill switch is engaged in this journal; a supervisor must reset it before trading",
                )
                return _EXIT + "3"
            if last is None:
                detail = (
                    f"nothing to resume: no parent was ever journaled in {args.journal} (the run that was to "
                    "create it stopped before staging it); start it again without --resume"
                )
            else:
                detail = f"nothing to resume: the last parent, {last.parent_id}, is {last.state.value}"
            last_state = {"parent_id": last.parent_id, "state": last.state.value} if last is not None else {}
            emit("finished", detail=detail, parents=done, **last_state)
            return _EXIT + ("0" if last is not None and last.state is ParentState.DONE else "1")  # 0 means done
        else:
            raise ValueError(
                f"--resume: several parents working ({', '.join(p.parent_id for p in live)}); "
                "choose one with --parent-id"
            )
    else:
        # the OMS allocates ids past every parent in the journal, so a restart never reuses one
        parent_id = validate_parent_id(args.parent_id) if args.parent_id else oms.allocate_parent_id("R")
        if parent_id in oms.parents:
            raise ValueError(f"parent {parent_id} is already in {args.journal}; use --resume to continue it")
    return parent_id


def _resume_symbol(journal: Any, parent_id: str | None) -> str | None:
    """The symbol of the parent `--resume` will continue (None: undecided; the choice says why later)."""
    from core.oms import OrderManager

    peek = OrderManager(None)
    peek.replay(journal)
    if parent_id:
        parent = peek.parents.get(parent_id)
        return parent.instrument.symbol if parent is not None else None
    live = [p for p in peek.parents.values() if not p.state.is_terminal]
    return live[0].instrument.symbol if len(live) == 1 else None


async def _trade(
    args: argparse.Namespace, desk: Any, journal: Any, parent_id: str, symbol: str, kill_watch: Any,
    t_imported: float, t_replayed: float,
) -> int:
    """Connect, reconcile, then run (or resume) the parent until it is done, stopped or halted."""
    from core.actors import Actor, Role
    from core.parent import ParentOrder, ParentState
    from core.types import Instrument, Side

    engine, service, oms = desk.engine, desk.execution, desk.engine.oms
    actor = Actor("cli", Role.TRADER)
    venues: list[Any] = list(desk.venues.values())
    stop = asyncio.Event()
    STDOUT.on_gone = stop.set  # a reader of our output gone away is a stop too
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await asyncio.gather(*(v.wait_ready(args.connect_timeout) for v in venues))
        except TimeoutError as exc:
            emit("error", detail=f"venues did not come up: {exc}", venues={v.name: v.status_detail() for v in venues})
            return 4
        emit(
            "ready",
            parent_id=parent_id,
            resume=args.resume,
            reconcile={v.name: v.last_reconcile for v in venues},
            clock_offset_ms={v.name: round(v.clock_offset_ms, 1) for v in venues},
            phases_s={
                "imports": round(t_imported - T_START, 3),
                "journal_replay": round(t_replayed - t_imported, 3),
                "connect_and_reconcile": round(time.time() - t_replayed, 3),
                "process_cpu": round(time.process_time(), 3),
            },
        )
        _engage_foreign_kill(engine, kill_watch.poll())
        if engine.risk.killed:
            emit(
                "finished",
                parent_id=parent_id,
                state="halted",
                detail="the kill switch is engaged in this journal; a supervisor must reset it before trading",
            )
            await asyncio.sleep(0.5)  # let the reconciliation's reports land in the journal
            return 3

        breakers = desk.breakers
        desk.alerts.listeners.append(_emit_breaker)
        decisions_seen = {"n": len(service.journaled_decisions.get(parent_id, []))}
        first_order = _watch_first_order(engine, oms.sequences.get(parent_id, 0), parent_id)
        if args.resume:
            _resume(service, parent_id)
        else:
            parent = ParentOrder(
                parent_id,
                Instrument.parse(symbol),
                Side.parse(args.side),
                _decimal(args.qty, "--qty"),
                parse_horizon(args.horizon),
                algo=args.algo,
                max_participation=args.max_participation,
                limit_price=_decimal(args.limit_price, "--limit-price") if args.limit_price else None,
                venues=tuple(v.name for v in venues),
            )
            service.stage(parent, actor)
            service.start(parent_id, actor)
        last_progress = 0.0
        while not stop.is_set():
            await asyncio.sleep(0.1)
            if first_order.done() and not getattr(first_order, "_emitted", False):
                first_order._emitted = True  # type: ignore[attr-defined]
                emit("first_order", parent_id=parent_id, client_id=first_order.result())
            _engage_foreign_kill(engine, kill_watch.poll())
            parent = oms.parents[parent_id]
            _emit_decisions(service, parent_id, decisions_seen)
            if time.monotonic() - last_progress >= args.progress_every:
                last_progress = time.monotonic()
                emit(
                    "progress",
                    parent_id=parent_id,
                    state=parent.state.value,
                    filled=str(oms.filled_qty(parent_id)),
                    working=str(oms.working_qty(parent_id)),
                    children=len(oms.children_of.get(parent_id, [])),
                    venues={v.name: v.is_up for v in venues},
                )
            if parent.state.is_terminal:
                await asyncio.sleep(engine.sweep_delay_s + 0.5 if engine.risk.killed else 0.3)
                break
        if stop.is_set() and not oms.parents[parent_id].state.is_terminal:
            await _exit_choice(engine, service, parent_id, args.on_exit, actor)
        parent = oms.parents[parent_id]
        _emit_decisions(service, parent_id, decisions_seen)
        filled = oms.filled_qty(parent_id)
        children = oms.children_for(parent_id)
        notional = sum((c.notional_filled for c in children), Decimal(0))
        emit(
            "finished",
            parent_id=parent_id,
            state=parent.state.value,
            quantity=str(parent.quantity),
            filled=str(filled),
            avg_price=str(notional / filled) if filled else None,
            children=len(children),
            open_children=len(oms.open_children(parent_id)),
            venues={v.name: {**dict(v.stats), "book": {s: asdict(a) for s, a in _audits(v).items()}} for v in venues},
            tripped_breakers=sorted(breakers.tripped),
        )
        if engine.risk.killed:
            return 3
        return 0 if parent.state is ParentState.DONE else 1
    finally:
        await _close(desk)


async def _close(desk: Any) -> None:
    for v in desk.venues.values():
        await v.close()
    desk.close()
    if desk.journal is not None:
        desk.journal.close()


def _emit_decisions(service: Any, parent_id: str, seen: dict[str, int]) -> None:
    """Print the adaptive policy's new decisions, each with its reason (`{"event": "decision", ...}`)."""
    decisions = service.journaled_decisions.get(parent_id, [])
    for d in decisions[seen["n"]:]:
        emit("decision", parent_id=parent_id, **{k: v for k, v in d.items() if k != "ts"})
    seen["n"] = len(decisions)


EXIT_ACK_WAIT_S = 10.0  # how long a canceling exit waits for the venues' acks


async def _exit_choice(engine: Any, service: Any, parent_id: str, choice: str, actor: Any) -> None:
    """Stopped with the parent still working: cancel everything (and wait, bounded, for the acks)
    or leave the orders working for a later `--resume`; journaled as `run.exit` either way."""
    oms = engine.oms
    working = [c.client_id for c in oms.open_children(parent_id)]
    oms.record("run.exit", {"parent_id": parent_id, "choice": choice, "working": working}, actor, engine.clock.now())
    if choice == "cancel":
        service.cancel(parent_id, actor, "run stopped: cancel on exit")
        deadline = time.monotonic() + EXIT_ACK_WAIT_S
        while oms.open_children(parent_id) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    left = [c.client_id for c in oms.open_children(parent_id)]
    emit("exit", parent_id=parent_id, choice=choice, working_at_stop=len(working), left_working=len(left))


def _emit_breaker(alert: Any) -> None:
    if alert.kind.startswith("breaker:"):
        emit(
            "breaker",
            rule=alert.kind.removeprefix("breaker:"),
            venue=alert.venue,
            parent_id=alert.parent_id,
            detail=alert.detail,
        )


def _resume(service: Any, parent_id: str) -> None:
    """Continue the journaled parent after reconciliation: a staged parent starts, a running one
    continues its schedule from its journaled start (ExecutionService.resume_after_restart)."""
    from core.parent import ParentState

    if service.engine.oms.parents[parent_id].state is ParentState.STAGED:
        service.start(parent_id, service_actor())
        return
    service.resume_after_restart(parent_id)


def service_actor() -> Any:
    from core.actors import Actor, Role

    return Actor("cli", Role.TRADER)


def _watch_first_order(engine: Any, seq_before: int, parent_id: str) -> asyncio.Future[str]:
    """A future resolved with the first child sent after (re)start."""
    from core.events import OrderUpdate

    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_update(update: OrderUpdate) -> None:
        if fut.done() or update.parent_id != parent_id:
            return
        if int(update.client_id.rsplit("-", 1)[1]) > seq_before:
            fut.set_result(update.client_id)

    engine.bus.subscribe(OrderUpdate, on_update)
    return fut


class JournalKillWatch:
    """Notices a kill switch that another process (`python main.py kill`, a terminal) writes to
    this run's journal.

    A kill is news when its seq is above the last kill this process knows of (the replayed one,
    or an earlier foreign one) and this engine is not halted already. Not "above the OMS's last
    seq": this process keeps journaling, so a foreign kill's seq is soon below its own records."""

    def __init__(self, journal: Any, engine: Any) -> None:
        self.journal, self.engine = journal, engine
        rec = journal.last_record("risk.kill")
        # the replay applied kills up to oms.last_seq; one written since is news
        self.seen = int(rec.seq) if rec is not None and rec.seq <= engine.oms.last_seq else 0

    def poll(self) -> Any:
        """The new foreign kill record, or None."""
        rec = self.journal.last_record("risk.kill")
        if rec is None or rec.seq <= self.seen:
            return None
        self.seen = int(rec.seq)
        return None if self.engine.risk.killed else rec


def _engage_foreign_kill(engine: Any, rec: Any) -> None:
    """Engage this engine's kill switch (HALT, stop the algos, cancel our orders) for a foreign kill."""
    if rec is None:
        return
    from core.actors import Actor, Role

    who = Actor.parse(rec.actor)
    emit("kill_seen", by=str(who), reason=rec.payload.get("reason", ""))
    engine.kill_switch(
        who if who.role is Role.SUPERVISOR else Actor("kill", Role.SUPERVISOR), "kill switch from another process"
    )


def _audits(venue: Any) -> dict[str, Any]:
    return dict(getattr(venue, "book_audit", {}))


def _journal_exists(target: str) -> bool:
    """A journal file, or a SQLite URL whose file exists, or any other database URL (asked later)."""
    if target.startswith("sqlite:///"):
        return Path(target.removeprefix("sqlite:///")).exists()
    return "://" in target or Path(target).exists()


def _pair(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise ValueError(f"{flag} {text!r}: write it as NAME=VALUE")
    return name.strip(), value.strip()


def _decimal(text: str, flag: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise ValueError(f"{flag} must be a number, got {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{flag} must be positive, got {text!r}")
    return value
