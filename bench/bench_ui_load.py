"""The terminal under load: 3 venues, 5,000 book updates a second in total, through the terminal's path.

The real terminal — `build_terminal` on the embedded btc-block-4h market (3 venues), the bridge, every
panel, the 1920×1080 window (offscreen) — runs on a qasync loop exactly as `python main.py` does,
with the SimPacer at the settings' speed (×10 by default; `--speed`) and the demo parent (sell
1,000 BTC over 4 h, Almgren-Chriss, RFQ off) working. On top of the venues' own feed an injector hands the engine
5,000 book updates a second spread over the 3 venues, through the callback a venue adapter calls
(`Engine._on_book` → bus → bridge → view-models → ladders): each is the venue's latest real book
with every size jittered, so prices stay where the market is.

Measured, in two phases of equal load:
- A — ladders on screen: event-loop lag = lateness of a 20 ms Qt heartbeat (QTimer, precise) and of
  the terminal's own asyncio lag probe (50 ms; what the status bar shows); ladder paintEvent and
  flush (view → rows) wall time; paints per second per ladder; updates actually delivered.
- B — the ladders' dock hidden (views still folded, nothing painted).
Engine decisions: the wall-clock lateness of a 1 s SimClock timer (as the algos' ticks run) against
the moment it was due, and of a 100 ms asyncio timer (how a live engine's timers run); equal in A
and B ⇒ painting does not delay the engine.

Run: QT_QPA_PLATFORM=offscreen python -m bench.bench_ui_load [--seconds 20] [--rate 5000] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from bench.bench_ladder import guard_pyside_none_leak
from bench.machine import machine_line
from core.events import BookUpdate

TARGET_LAG_P99_MS = 50.0
TARGET_PAINT_P99_MS = 4.0
HEARTBEAT_MS = 20
INJECT_TICK_MS = 5
MAX_BURST = 1_000  # updates one injector tick may catch up (200 ms at 5,000/s)
ENGINE_SIM_TIMER_S = 1.0
ENGINE_LIVE_TIMER_S = 0.1
WARMUP_S = 3.0


class Samples:
    """Wall-clock samples (ms) per phase."""

    def __init__(self) -> None:
        self.phase = ""
        self.data: dict[str, dict[str, list[float]]] = {}

    def add(self, name: str, value_ms: float) -> None:
        if self.phase:
            self.data.setdefault(self.phase, {}).setdefault(name, []).append(value_ms)

    def get(self, phase: str, name: str) -> np.ndarray:
        return np.asarray(self.data.get(phase, {}).get(name, []), dtype=np.float64)


SAMPLES = Samples()


def instrument_ladders() -> None:
    """Time every ladder paintEvent and flush (class-level wrappers, installed before the window exists)."""
    from widgets import ladder as ladder_module

    canvas_cls = ladder_module._LadderCanvas
    paint = canvas_cls.paintEvent
    flush = ladder_module.DepthLadder.flush

    def timed_paint(self: Any, event: Any) -> None:
        c0, t0 = time.thread_time(), time.perf_counter()
        paint(self, event)
        SAMPLES.add("paint", 1e3 * (time.perf_counter() - t0))
        SAMPLES.add("paint_cpu", 1e3 * (time.thread_time() - c0))  # without the waits for a core

    def timed_flush(self: Any) -> None:
        t0 = time.perf_counter()
        flush(self)
        SAMPLES.add("flush", 1e3 * (time.perf_counter() - t0))

    canvas_cls.paintEvent = timed_paint  # type: ignore[method-assign]
    ladder_module.DepthLadder.flush = timed_flush  # type: ignore[method-assign]


class Heartbeat:
    """A precise single-shot QTimer re-armed each time: how late it fires is the Qt loop's lag."""

    def __init__(self, interval_ms: int) -> None:
        self.interval_s = interval_ms / 1000.0
        self.timer = QTimer()
        self.timer.setSingleShot(True)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._beat)
        self._due = 0.0

    def start(self) -> None:
        self._due = time.perf_counter() + self.interval_s
        self.timer.start()

    def _beat(self) -> None:
        now = time.perf_counter()
        SAMPLES.add("heartbeat", max(0.0, 1e3 * (now - self._due)))
        self._due = now + self.interval_s
        self.timer.start()


class BookInjector:
    """`rate` book updates a second, round-robin over the venues, into the engine's venue callback."""

    def __init__(self, engine: Any, venues: tuple[str, ...], rate: float, seed: int = 5) -> None:
        self.engine = engine
        self.venues = venues
        self.rate = rate
        self.mults = np.random.default_rng(seed).lognormal(0.0, 0.25, size=(512, 64))
        self._base: dict[str, BookUpdate] = {}
        self._last: dict[str, BookUpdate | None] = dict.fromkeys(venues)
        self.sent = 0
        self._k = 0
        self._t0 = 0.0
        self._due_sent = 0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(INJECT_TICK_MS)
        self.timer.timeout.connect(self.tick)

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._due_sent = 0
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def tick(self) -> None:
        due = min(int(self.rate * (time.perf_counter() - self._t0)) - self._due_sent, MAX_BURST)
        if due <= 0:
            return
        on_book: Callable[[BookUpdate], None] = self.engine._on_book  # what a venue adapter calls
        now = self.engine.clock.now()
        for i in range(due):
            venue = self.venues[(self.sent + i) % len(self.venues)]
            current = self.engine.books.get(venue)
            if current is None:
                continue
            if current is not self._last[venue]:  # the venue published a real book since: follow it
                self._base[venue] = current
            base = self._base[venue]
            m = self.mults[self._k % len(self.mults)]
            self._k += 1
            nb, na = len(base.bid_qty), len(base.ask_qty)
            update = BookUpdate(now, venue, base.symbol, base.seq, base.bid_px, base.bid_qty * m[:nb],
                                base.ask_px, base.ask_qty * m[64 - na:])
            on_book(update)
            self._last[venue] = update
        self.sent += due
        self._due_sent += due


def pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


async def drive(terminal: Any, seconds: float, rate: float, result: dict[str, Any]) -> None:
    from app.gui import DEMO_TICKET

    bridge, market, window, pacer = terminal.bridge, terminal.market, terminal.window, terminal.pacer
    ticket = bridge.panels.ticket
    ticket.fill(**{**DEMO_TICKET, "rfq_mode": "off"})
    ticket.stage()
    while bridge.pending_jobs:
        await asyncio.sleep(0.05)
    pid = ticket.staged_id
    if not pid or not bridge.start(pid):
        raise RuntimeError(f"demo parent not started: {ticket.status.text()}")
    pacer.start()
    clock = market.clock
    loop = asyncio.get_running_loop()

    def sim_probe(due_sim: float) -> None:  # the engine's timers, as the algos' ticks run on the SimClock
        due_wall = pacer._anchor_wall + (due_sim - pacer._anchor_sim) / pacer.effective_speed
        SAMPLES.add("engine_sim", max(0.0, 1e3 * (time.monotonic() - due_wall)))
        nxt = due_sim + ENGINE_SIM_TIMER_S
        clock.call_at(nxt, lambda: sim_probe(nxt))

    first = clock.now() + ENGINE_SIM_TIMER_S
    clock.call_at(first, lambda: sim_probe(first))

    def live_probe(due: float) -> None:  # a live engine's timers (LiveClock → loop.call_later)
        SAMPLES.add("engine_live", max(0.0, 1e3 * (loop.time() - due)))
        nxt = loop.time() + ENGINE_LIVE_TIMER_S
        loop.call_at(nxt, lambda: live_probe(nxt))

    start = loop.time() + ENGINE_LIVE_TIMER_S
    loop.call_at(start, lambda: live_probe(start))
    heartbeat = Heartbeat(HEARTBEAT_MS)
    heartbeat.start()
    injector = BookInjector(market.engine, market.venue_names, rate)
    injector.start()
    await asyncio.sleep(WARMUP_S)

    monitor = terminal.lag_monitor
    ladders = bridge.panels.ladders
    for phase, ladders_shown in (("A", True), ("B", False)):
        window.docks["ladders"].setVisible(ladders_shown)
        await asyncio.sleep(0.5)
        paints0 = {name: ladder.canvas.paint_count for name, ladder in ladders.items()}
        sent0, lag0 = injector.sent, len(monitor.samples_ms)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        SAMPLES.phase = phase
        await asyncio.sleep(seconds)
        SAMPLES.phase = ""
        wall = time.perf_counter() - wall0
        result[phase] = {
            "wall_s": wall,
            "cpu_share": (time.process_time() - cpu0) / wall,
            "updates_per_s": (injector.sent - sent0) / wall,
            "paints_per_s": {name: (ladder.canvas.paint_count - paints0[name]) / wall
                             for name, ladder in ladders.items()},
            "asyncio_lag": np.asarray(monitor.samples_ms[lag0:], dtype=np.float64),
            "pacer_lag_s": pacer.lag_s,
        }
    injector.stop()
    result["status_bar"] = window.lag_label.text()
    result["children_sent"] = len(market.engine.oms.children_of.get(pid, []))
    result["filled"] = float(market.engine.oms.done_qty(pid))


def run(seconds: float, rate: float, speed: float | None = None) -> dict[str, Any]:
    import qasync

    from app.composition import build_terminal
    from app.gui import DEMO_ACTOR, apply_theme
    from app.settings import load_settings

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    guard_pyside_none_leak()
    instrument_ladders()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    overrides = [f"general.data_dir={data_dir}"] + ([f"market.speed={speed:g}"] if speed else [])
    settings = load_settings(data_dir / "absent.toml", env={}, overrides=overrides)
    apply_theme(app, str(settings.get("ui.theme")))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    terminal = build_terminal(settings, loop, actor=DEMO_ACTOR, start_pacer=False, restore_layout=False,
                              settings_scope="BlockhouseBench", mc_paths=5_000)
    terminal.window.close_guard = None  # the bench leaves its demo orders to the discarded market
    terminal.window.resize(1920, 1080)
    terminal.window.show()
    result: dict[str, Any] = {"load_before": os.getloadavg(), "speed": float(settings.get("market.speed"))}
    done: dict[str, BaseException | None] = {"error": None}

    async def main() -> None:
        try:
            await drive(terminal, seconds, rate, result)
        except BaseException as exc:  # report, then stop the loop
            done["error"] = exc
        finally:
            loop.stop()

    with loop:
        loop.create_task(main())
        loop.run_forever()
    result["load_after"] = os.getloadavg()
    terminal.shutdown()
    if done["error"] is not None:
        raise done["error"]
    return result


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {key: result[key] for key in ("load_before", "load_after", "speed", "status_bar",
                                                        "children_sent", "filled")}
    for phase in ("A", "B"):
        r = result[phase]
        hb, paint, flush = SAMPLES.get(phase, "heartbeat"), SAMPLES.get(phase, "paint"), SAMPLES.get(phase, "flush")
        paint_cpu = SAMPLES.get(phase, "paint_cpu")
        sim, live, lag = SAMPLES.get(phase, "engine_sim"), SAMPLES.get(phase, "engine_live"), r["asyncio_lag"]
        out[phase] = {
            "updates_per_s": round(r["updates_per_s"]),
            "cpu_share": round(r["cpu_share"], 2),
            "heartbeat_ms": {"p50": pct(hb, 50), "p99": pct(hb, 99), "max": float(hb.max()) if len(hb) else None},
            "asyncio_lag_ms": {"p50": pct(lag, 50), "p99": pct(lag, 99)},
            "paint_ms": {"n": len(paint), "p50": pct(paint, 50), "p99": pct(paint, 99)},
            "paint_cpu_ms": {"p50": pct(paint_cpu, 50), "p99": pct(paint_cpu, 99)},
            "flush_ms": {"n": len(flush), "p50": pct(flush, 50), "p99": pct(flush, 99)},
            "paints_per_s": {k: round(v, 1) for k, v in r["paints_per_s"].items()},
            "engine_sim_timer_late_ms": {"n": len(sim), "p50": pct(sim, 50), "p99": pct(sim, 99)},
            "engine_live_timer_late_ms": {"n": len(live), "p50": pct(live, 50), "p99": pct(live, 99)},
            "pacer_lag_s": r["pacer_lag_s"],
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="wall seconds per phase")
    parser.add_argument("--rate", type=float, default=5_000.0, help="book updates per second, all venues")
    parser.add_argument("--speed", type=float, default=None, help="simulation speed (default: the settings', ×10)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    s = summarize(run(args.seconds, args.rate, args.speed))
    print(machine_line())
    print(f"terminal 1920×1080 (Qt {os.environ.get('QT_QPA_PLATFORM')}), btc-block-4h, 3 venues + consolidated "
          f"ladder, demo parent working at sim ×{s['speed']:g}, {args.rate:,.0f} book updates/s injected, "
          f"{args.seconds:g} s per phase; "
          f"load average {s['load_before'][0]:.2f} before, {s['load_after'][0]:.2f} after, {os.cpu_count()} cores")
    for phase, title in (("A", "A: ladders painting"), ("B", "B: ladders hidden")):
        p = s[phase]
        hb, lag, paint, flush = p["heartbeat_ms"], p["asyncio_lag_ms"], p["paint_ms"], p["flush_ms"]
        sim, live = p["engine_sim_timer_late_ms"], p["engine_live_timer_late_ms"]
        print(f"  {title}: {p['updates_per_s']:,} updates/s delivered, process CPU {100 * p['cpu_share']:.0f}% "
              f"of a core")
        print(f"    loop lag, Qt heartbeat {HEARTBEAT_MS} ms: p50 {hb['p50']:.1f}  p99 {hb['p99']:.1f}  "
              f"max {hb['max']:.1f} ms;  asyncio probe: p50 {lag['p50']:.1f}  p99 {lag['p99']:.1f} ms")
        if paint["n"]:
            cpu = p["paint_cpu_ms"]
            print(f"    ladder paintEvent: p50 {paint['p50']:.2f}  p99 {paint['p99']:.2f} ms wall, "
                  f"p99 {cpu['p99']:.2f} ms thread CPU ({paint['n']} paints; per ladder/s {p['paints_per_s']})")
            print(f"    ladder flush (view → rows): p50 {flush['p50']:.2f}  p99 {flush['p99']:.2f} ms")
        else:
            print(f"    ladder paintEvent: none (hidden);  flush p50 {flush['p50']:.2f}  p99 {flush['p99']:.2f} ms")
        print(f"    engine timers late: SimClock 1 s p50 {sim['p50']:.1f}  p99 {sim['p99']:.1f} ms ({sim['n']});  "
              f"asyncio 100 ms p50 {live['p50']:.1f}  p99 {live['p99']:.1f} ms")
    a, b = s["A"], s["B"]
    lag_ok = a["heartbeat_ms"]["p99"] < TARGET_LAG_P99_MS and a["asyncio_lag_ms"]["p99"] < TARGET_LAG_P99_MS
    paint_ok = a["paint_ms"]["p99"] < TARGET_PAINT_P99_MS
    print(f"  status bar: {s['status_bar']};  the demo parent sent {s['children_sent']} children, "
          f"filled {s['filled']:,.3f} BTC during the run")
    sim_a, sim_b = a["engine_sim_timer_late_ms"]["p99"], b["engine_sim_timer_late_ms"]["p99"]
    print(f"  targets: loop lag p99 < {TARGET_LAG_P99_MS:.0f} ms {'PASS' if lag_ok else 'FAIL'};  "
          f"repaint p99 < {TARGET_PAINT_P99_MS:.0f} ms {'PASS' if paint_ok else 'FAIL'};  "
          f"engine timer p99 painting {sim_a:.1f} ms vs hidden {sim_b:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine_line(), "rate": args.rate, "seconds": args.seconds, **s},
                                        indent=2, default=float), encoding="utf-8")
    return 0 if lag_ok and paint_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
