"""Surveillance detectors on hand-built book sequences: spoofing, honest makers, stuffing, markouts."""

from __future__ import annotations

import ast
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.analytics.surveillance import (
    AdverseSelection,
    QuoteStuffingDetector,
    SpoofingDetector,
    StuffingConfig,
    Surveillance,
)
from core.bus import Bus
from core.events import Alert, BookUpdate, FillEvent, Severity, Trades
from core.orders import Fill, Liquidity
from core.types import Side

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600.0
DT = 0.1


class Book:
    """A tick-1 book around `mid` with small background size on 40 levels per side."""

    def __init__(self, best_bid: float = 1000.0, spread: float = 4.0, venue: str = "alpha") -> None:
        self.venue = venue
        self.best_bid = best_bid
        self.spread = spread
        self.extra: dict[tuple[int, float], float] = {}
        self.seq = 0
        self.rng = np.random.default_rng(5)

    def update(self, ts: float, msgs: int = 100) -> BookUpdate:
        self.seq += msgs
        bid_px = self.best_bid - np.arange(40.0)
        ask_px = self.best_bid + self.spread + np.arange(40.0)
        bid_q = 0.05 + 0.02 * self.rng.random(40)
        ask_q = 0.05 + 0.02 * self.rng.random(40)
        for (side, px), q in self.extra.items():
            arr_px, arr_q = (bid_px, bid_q) if side == 1 else (ask_px, ask_q)
            k = np.flatnonzero(arr_px == px)
            if len(k):
                arr_q[k[0]] += q
        return BookUpdate(ts, self.venue, "BTC/USDT", self.seq, bid_px, bid_q, ask_px, ask_q)


def trades(ts: float, venue: str, px: float, qty: float, aggressor: int) -> Trades:
    return Trades(ts, venue, "BTC/USDT", np.array([px]), np.array([qty]), np.array([aggressor], dtype=np.int8),
                  np.array([ts]))


def warm(det: SpoofingDetector, book: Book, seconds: float, t: float) -> float:
    for _ in range(int(seconds / DT)):
        det.on_book(book.update(t))
        t += DT
    return t


def test_large_orders_pulled_as_the_price_approaches_are_flagged() -> None:
    book = Book()
    det = SpoofingDetector("alpha")
    t = warm(det, book, 130.0, T0)
    assert det.score == 0.0
    opened_at = math.nan
    start = t
    for _ in range(20):  # a campaign: every 3 s two 40-BTC layers 3-4 ticks behind the best bid
        layers = [book.best_bid - 3, book.best_bid - 4]
        for px in layers:
            book.extra[(1, px)] = 40.0
        for k in range(30):
            if k == 10:  # sellers push the bid toward the layers ...
                book.best_bid -= 1
            if k == 15:  # ... which are pulled before they can trade
                for px in layers:
                    book.extra.pop((1, px), None)
            if k == 25:
                book.best_bid += 1
            if det.on_book(book.update(t)) == "open" and math.isnan(opened_at):
                opened_at = t
            t += DT
    assert det.score > 0.9 and det.side == 1
    assert opened_at - start < 30.0
    assert det.alerts.current is not None
    flagged = {p for _, p in det.flagged_levels()}
    assert flagged & {book.best_bid - 3, book.best_bid - 4, book.best_bid - 2, book.best_bid - 5}
    assert all(p.approached for p in list(det.pulls)[-10:])
    # the campaign stops: the alert closes once the score stayed low
    t = warm(det, book, 240.0, t)
    assert det.score < 0.2 and det.alerts.current is None
    assert len(det.alerts.episodes) == 1 and not math.isnan(det.alerts.episodes[0].close_ts)


def test_an_honest_large_maker_that_gets_filled_is_not_flagged() -> None:
    book = Book()
    det = SpoofingDetector("alpha")
    t = warm(det, book, 130.0, T0)
    for _ in range(40):  # a large bid at the touch, hit by sellers within a second, re-posted
        px = book.best_bid
        book.extra[(1, px)] = 8.0
        for k in range(30):
            if k == 8:
                book.extra.pop((1, px))
                det.on_book(book.update(t))
                det.on_trades(trades(t, "alpha", px, 8.0, -1))
            else:
                det.on_book(book.update(t))
            t += DT
    assert det.score < 0.05
    assert det.alerts.episodes == []
    assert len(det._lives_traded) >= 30 and len(det.pulls) == 0


def test_occasional_large_cancels_alone_do_not_read_as_spoofing() -> None:
    """Makers cancel large orders too; a few isolated pulls on either side stay below the alert."""
    book = Book()
    det = SpoofingDetector("alpha")
    t = warm(det, book, 130.0, T0)
    rng = np.random.default_rng(1)
    peak = 0.0
    for _ in range(60):  # one large order every 20 s, random side and distance, canceled after ~3 s
        side = 1 if rng.random() < 0.5 else -1
        d = float(rng.integers(0, 5))
        px = book.best_bid - d if side == 1 else book.best_bid + book.spread + d
        book.extra[(side, px)] = 5.0
        for k in range(200):
            if k == 30:
                book.extra.pop((side, px))
            det.on_book(book.update(t))
            peak = max(peak, det.score)
            t += DT
    assert len(det.pulls) >= 50
    assert peak < 0.2 and det.alerts.episodes == []


def test_newly_visible_levels_are_not_adds() -> None:
    """When the window scrolls, deep levels entering the top 40 are not fresh large orders."""
    book = Book()
    det = SpoofingDetector("alpha", tick_size=1.0)
    t = warm(det, book, 130.0, T0)
    book.extra[(1, book.best_bid - 45)] = 50.0  # beyond the published depth
    t = warm(det, book, 1.0, t)
    book.best_bid -= 10  # the window moves down: that level is now visible (but far from the touch)
    warm(det, book, 2.0, t)
    assert det._tracked == {}


class ChurnBook:
    """A venue whose visible levels churn: honest quotes of lognormal size come and go; a stuffer adds
    `stuff` identical 0.001 orders at random levels that last one update each."""

    def __init__(self, venue: str, rng: np.random.Generator) -> None:
        self.venue, self.rng = venue, rng
        self.bid_q = rng.lognormal(-3.0, 1.0, 40)
        self.ask_q = rng.lognormal(-3.0, 1.0, 40)
        self.seq = 0

    def update(self, ts: float, honest: float, stuff: int = 0) -> BookUpdate:
        n = int(self.rng.poisson(honest))
        self.seq += 3 * n + 2 * stuff
        for q in (self.bid_q, self.ask_q):
            k = self.rng.integers(0, 40, n // 2 + 1)
            q[k] = self.rng.lognormal(-3.0, 1.0, len(k))
        bq, aq = self.bid_q.copy(), self.ask_q.copy()
        for _ in range(stuff):
            side = bq if self.rng.random() < 0.5 else aq
            side[int(self.rng.integers(2, 20))] += 0.001
        return BookUpdate(ts, self.venue, "BTC/USDT", self.seq, 1000.0 - np.arange(40.0), bq,
                          1004.0 + np.arange(40.0), aq)


def test_quote_stuffing_burst_is_flagged_against_the_venues_own_baseline() -> None:
    det = QuoteStuffingDetector("gamma", StuffingConfig(baseline_s=600, warmup_s=60))
    book = ChurnBook("gamma", np.random.default_rng(2))
    t = T0
    opened = math.nan
    for k in range(int(400 / DT)):
        burst = 300.0 <= t - T0 < 330.0
        if det.on_book(book.update(t, 10.0, 30 if burst else 0)):
            det.update_score()
            if det.transition() == "open":
                opened = t - T0
        if k == int(299 / DT):
            assert det.score == 0.0 and det.alerts.episodes == []
        t += DT
    assert 300.0 <= opened <= 310.0
    assert len(det.alerts.episodes) == 1
    assert det.churn_baseline < 0.1


def test_a_message_burst_of_honest_looking_quotes_is_not_stuffing() -> None:
    """Twice the messages, but the visible changes keep their usual variety of sizes."""
    det = QuoteStuffingDetector("gamma", StuffingConfig(baseline_s=600, warmup_s=60))
    book = ChurnBook("gamma", np.random.default_rng(4))
    t = T0
    peak_ratio = 0.0
    for _ in range(int(400 / DT)):
        burst = 300.0 <= t - T0 < 330.0
        if det.on_book(book.update(t, 25.0 if burst else 10.0)):
            det.update_score()
            det.transition()
            peak_ratio = max(peak_ratio, det.ratio)
        t += DT
    assert peak_ratio > 2.0  # the burst was seen ...
    assert det.alerts.episodes == []  # ... but not flagged


def test_market_wide_activity_step_is_not_stuffing_but_a_one_venue_burst_is() -> None:
    alerts: list[Alert] = []
    surv = Surveillance(publish=alerts.append)
    rng = np.random.default_rng(3)
    books = {v: ChurnBook(v, rng) for v in ("alpha", "beta", "gamma")}
    base = {"alpha": 30.0, "beta": 15.0, "gamma": 10.0}
    t = T0
    for _ in range(int(1500 / DT)):
        el = t - T0
        for v, book in books.items():
            honest = base[v] * (1.6 if el >= 1000 else 1.0)  # a volatility regime: every venue busier at once
            stuff = 25 if v == "beta" and 1300 <= el < 1360 else 0  # stuffing on beta only
            surv.on_book(book.update(t, honest, stuff))
        t += DT
    stuffing = [a for a in alerts if a.kind == "quote_stuffing"]
    assert [a.venue for a in stuffing] == ["beta"]
    assert stuffing[0].severity == Severity.WARNING and 1300 <= stuffing[0].ts - T0 <= 1310


@pytest.mark.parametrize(("side", "move", "sign"), [(1, -1.0, 1), (1, 1.0, -1), (-1, 1.0, 1), (-1, -1.0, -1)])
def test_markout_sign_positive_when_picked_off(side: int, move: float, sign: int) -> None:
    adv = AdverseSelection()
    adv.on_mid("alpha", T0, 100.0)
    adv.on_fill("alpha", T0, side, 2.0)
    out = []
    for k in range(1, 700):
        out += adv.on_mid("alpha", T0 + 0.1 * k, 100.0 + move * 0.01 * min(k, 20))
    assert [m.horizon_s for m in out] == [1.0, 10.0, 60.0]
    one, ten, sixty = (m.bps for m in out)
    assert math.copysign(1, one) == sign and abs(one) == pytest.approx(10.0 * 0.01 * 1e4 / 100.0, rel=1e-6)
    assert ten == pytest.approx(sign * 20.0, rel=1e-6) and sixty == pytest.approx(ten)
    assert adv.mean_bps("alpha", 10.0) == pytest.approx(ten)
    assert adv.toxicity("alpha") == (1.0 if sign > 0 else 0.0)


def test_facade_on_the_bus_publishes_spoofing_alerts_and_toxicity() -> None:
    bus = Bus()
    seen: list[Alert] = []
    bus.subscribe(Alert, seen.append)
    surv = Surveillance(bus)
    book = Book(venue="beta")
    t = T0
    for _ in range(1300):
        bus.publish(book.update(t))
        t += DT
    assert surv.toxicity("beta") == 0.0
    for _ in range(25):
        layers = [book.best_bid - 2, book.best_bid - 3, book.best_bid - 4]
        for px in layers:
            book.extra[(1, px)] = 60.0
        for k in range(30):
            if k == 12:
                for px in layers:
                    book.extra.pop((1, px))
            bus.publish(book.update(t))
            t += DT
    spoof = [a for a in seen if a.kind == "spoofing"]
    assert len(spoof) == 1 and spoof[0].venue == "beta" and spoof[0].severity == Severity.WARNING
    assert "spoofing score" in spoof[0].detail and spoof[0].source == "surveillance"
    assert surv.toxicity("beta") > 0.9 and surv.toxicity("nowhere") == 0.0
    # our fills feed the markouts
    fill = Fill("c1", "beta", "t1", "o1", Side.BUY, Decimal("1000"), Decimal("1"), Liquidity.TAKER, Decimal("0"),
                "USDT", t, t)
    bus.publish(FillEvent(t, "P1", fill))
    for _ in range(120):
        bus.publish(book.update(t))
        t += DT
    assert math.isfinite(surv.adverse.mean_bps("beta", 10.0))
    surv.close()


def test_detectors_do_not_import_the_simulator_or_read_ground_truth() -> None:
    """No peeking: the detectors see public market data only."""
    for name in ("surveillance.py", "dip_classifier.py"):
        path = ROOT / "core" / "analytics" / name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [node.module or ""]
            else:
                continue
            for mod in mods:
                assert mod.split(".")[0] not in {"adapters", "app", "bench", "widgets"}, f"{name} imports {mod}"
        text = path.read_text(encoding="utf-8")
        for word in ("eval_log", "EventInstance", "MarketSim", "agent_id", "start_s"):
            assert word not in text, f"{name} mentions {word}"


def test_a_venue_we_stopped_trading_on_is_not_condemned_forever() -> None:
    """A venue's markout toxicity fades (half-life 15 min) once no new markout arrives: a router
    that avoided it after bad fills would otherwise never send it another order."""
    adv = AdverseSelection()
    adv.on_mid("alpha", T0, 100.0)
    adv.on_fill("alpha", T0, 1, 2.0)  # bought; the mid then falls 10 bps: picked off
    for k in range(1, 200):
        adv.on_mid("alpha", T0 + 0.1 * k, 99.9)
    assert adv.toxicity("alpha") == pytest.approx(1.0, rel=0.01)  # 10 bps picked off, 10 s ago
    adv.on_mid("alpha", T0 + 10.0 + 900.0, 99.9)  # 15 min without a fill
    assert adv.toxicity("alpha") == pytest.approx(0.5, rel=0.02)
    adv.on_mid("alpha", T0 + 10.0 + 3 * 3600.0, 99.9)
    assert adv.toxicity("alpha") < 0.001



def _size_changes_by_sets(ppx, pq, px, q):  # type: ignore[no-untyped-def]
    """The oracle: the same measure with numpy's set operations (the implementation before the kernel)."""
    lo, hi = max(ppx[0], px[0]), min(ppx[-1], px[-1])
    a, b = (ppx >= lo) & (ppx <= hi), (px >= lo) & (px <= hi)
    u = np.union1d(ppx[a], px[b])
    before, after = np.zeros(len(u)), np.zeros(len(u))
    before[np.searchsorted(u, ppx[a])] = pq[a]
    after[np.searchsorted(u, px[b])] = q[b]
    d = np.abs(after - before)
    return d[d > 1e-12]


@settings(max_examples=200)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 60))
def test_the_compiled_size_change_measure_matches_the_set_operations(seed: int, n: int, m: int) -> None:
    from core.analytics.surveillance import _size_changes

    rng = np.random.default_rng(seed)
    grid = np.round(np.arange(100) * 0.5 + 60_000.0, 1)
    ppx = np.sort(rng.choice(grid, n, replace=False))
    px = np.sort(rng.choice(grid, m, replace=False))
    pq = np.round(rng.exponential(2.0, n), 3) * (rng.random(n) < 0.8)
    q = np.round(rng.exponential(2.0, m), 3)
    for k in np.flatnonzero(np.isin(px, ppx) & (rng.random(m) < 0.5)):  # half the shared levels unchanged
        q[k] = pq[np.searchsorted(ppx, px[k])]
    for a, qa, b, qb in ((ppx, pq, px, q), (-ppx[::-1], pq[::-1], -px[::-1], q[::-1])):  # asks; bids negated
        np.testing.assert_array_equal(_size_changes(a, qa, b, qb), _size_changes_by_sets(a, qa, b, qb))
