"""Market surveillance per venue, in real time, from what a live venue publishes.

Inputs are only public market data — L2 book states (`BookUpdate`: price levels and sizes, best
first, with the venue's sequence id) and public trades (`Trades`: price, size, aggressor) — plus
our own fills. No order ids, no owners, no scenario clock or event schedule: every timestamp used
here is the event's own ``ts`` (UTC epoch seconds). This module imports nothing from `adapters`.

Detectors (one instance per venue unless noted):

- `SpoofingDetector` — spoofing / layering. It tracks *large* size appearing near the touch (an
  increase of a level's size by many times the venue's typical near-touch level size) as an
  anonymous resting order, follows its level, and when the size leaves the book decides from the
  trade tape whether it traded (trades printed at that price covered it) or was *pulled*. A pull of
  a fleeting order (short life), made as the touch approached it, several levels at once
  (layering), all on one side, is evidence; honest makers also post and cancel large orders, so
  one pull is weak evidence and the score needs a sustained, one-sided run of them. Book imbalance
  that trades never confirm and the lifetime asymmetry between pulled and traded large orders are
  reported with the score. Output: a score in [0, 1], the flagged price levels, and a campaign-level
  alert (opens when the score crosses ``alert_on``, closes after it stayed below ``alert_off`` for
  ``clear_after_s``).
- `QuoteStuffingDetector` — message-rate bursts. The message count of an interval is the advance
  of the venue's sequence id (Binance's ``u - U + 1``); one-second counts are compared with the
  venue's own rolling baseline (median and MAD: a robust z-score and a rate ratio). Market-wide
  activity changes (a volatility regime, news) lift every venue together, stuffing lifts one: the
  ratio is divided by the other venues' median ratio when the facade knows other venues.
- `AdverseSelection` — markouts of our own fills: the venue mid's move at +1 s, +10 s and +60 s
  after each fill, in bps of the mid at the fill, signed so that positive = we were picked off
  (we bought and the mid fell, or we sold and it rose).
- `Surveillance` — the facade: subscribes to the bus (`BookUpdate`, `Trades`, `FillEvent`), runs
  the detectors per venue and the dip monitor (`core.analytics.dip_classifier`, scoring a dip
  `dip_horizon_s` = 20 s after its onset), publishes
  `Alert`s and answers `toxicity(venue)` in [0, 1] for the router.

Every threshold is a named, documented field of a config dataclass below, with its default.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numba import njit

from core.analytics.dip_classifier import EARLY_HORIZON_S, Dip, DipConfig, DipMonitor
from core.bus import Bus
from core.events import Alert, BookUpdate, FillEvent, Severity, Trades

FloatArray = npt.NDArray[np.float64]

BID = 1
ASK = -1
SOURCE = "surveillance"
TYPICAL_EVERY = 10  # learn the typical level size on every 10th book (a slow EWMA; saves the medians)
TICK_LEARN_BOOKS = 200  # the tick size is the smallest level gap seen in the first books
MIN_CHANGES_FOR_CHURN = 20  # fewer visible changes in the burst window say nothing about identical sizes


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpoofingConfig:
    """Parameters of `SpoofingDetector` (units in the names; sizes in base units)."""

    near_ticks: float = 8.0  # only size added within this many ticks behind the same-side touch is tracked
    large_mult: float = 12.0  # an add is "large" when it exceeds this x the typical near-touch level size
    large_min_qty: float = 0.0  # ... and this absolute floor (0 = none)
    typical_half_life_s: float = 600.0  # half-life of the typical near-touch level size (log-EWMA of medians)
    warmup_s: float = 120.0  # the typical size is learned this long before large adds are tracked
    gone_frac: float = 0.75  # a tracked order has left once its level lost this share of (its size + what was there)
    traded_frac: float = 0.25  # it left by trading when trades at its price covered this share of its size
    fleeting_s: float = 10.0  # a pull after less than this is fleeting (full weight); older pulls weigh fleeting_s/life
    max_track_s: float = 600.0  # stop following a tracked order after this long (neutral)
    approach_ticks: float = 1.0  # "the price approached": posted further back, the touch came within this many
    #                              ticks of it or at least one tick closer than at posting
    at_touch_weight: float = 0.5  # a pull of size posted at the touch (at risk of trading) weighs this much
    approach_bonus: float = 1.0  # extra weight of a pull made as the price approached
    layer_bonus: float = 0.5  # extra weight per further large order pulled on the same side in the same interval
    size_cap: float = 2.0  # size weight = min(size_cap, 1 + log10(size / large threshold))
    evidence_half_life_s: float = 20.0  # decay of the per-side evidence (weighted pulls)
    half_score_evidence: float = 20.0  # evidence giving score 0.5 (score = E^2 / (E^2 + half^2))
    imbalance_weight: float = 0.25  # evidence x (1 - w + 2 w U), U = displayed imbalance trades did not confirm
    confirm_window_s: float = 30.0  # trade flow window that confirms (or not) a displayed imbalance
    alert_on: float = 0.5  # an alert opens when the score reaches this
    alert_off: float = 0.2  # ... and closes once it stayed below this
    clear_after_s: float = 60.0  # ... for this long
    flagged_recent_s: float = 10.0  # pulled levels stay flagged this long


@dataclass(frozen=True, slots=True)
class StuffingConfig:
    """Parameters of `QuoteStuffingDetector`."""

    short_s: int = 5  # the burst window: mean message rate over the last this many seconds
    baseline_s: int = 1800  # rolling baseline of one-second message counts (median, MAD)
    warmup_s: int = 600  # no score before this much baseline
    ratio_full: float = 1.5  # relative rate ratio giving rate evidence 1 (= (rel - 1) / (ratio_full - 1))
    z_min: float = 3.0  # robust z-score of the short-window rate needed for any score
    churn_lo: float = 0.03  # identical-size churn share above the venue's median that starts to count ...
    churn_hi: float = 0.12  # ... and that counts fully (score = min(rate evidence, churn evidence))
    relearn_after_s: float = 1800.0  # the baseline stops learning during an alert, for at most this long
    alert_on: float = 0.5
    alert_off: float = 0.2
    clear_after_s: float = 30.0


@dataclass(frozen=True, slots=True)
class MarkoutConfig:
    horizons_s: tuple[float, ...] = (1.0, 10.0, 60.0)
    half_life_fills: float = 50.0  # per-venue mean markouts are EWMAs over about this many fills (qty-weighted)
    toxic_bps: float = 10.0  # a mean +10 s markout of this many bps reads as toxicity 1
    toxicity_horizon_s: float = 10.0
    # a venue's evidence fades with this half-life once no new markout arrives (a venue we stopped
    # trading on would otherwise stay condemned by its last fills)
    stale_half_life_s: float = 900.0


@dataclass(frozen=True, slots=True)
class SurveillanceConfig:
    spoofing: SpoofingConfig = field(default_factory=SpoofingConfig)
    stuffing: StuffingConfig = field(default_factory=StuffingConfig)
    markout: MarkoutConfig = field(default_factory=MarkoutConfig)
    cross_venue_stuffing: bool = True  # normalise message-rate ratios by the other venues' (market-wide activity)
    # when a dip is scored (s after its onset; a fitted model exists for 20 and 60): the policy acts on
    # this score, and a flush's dip is mostly over by 60 s (docs/ai.md, "The early look")
    dip_horizon_s: int = EARLY_HORIZON_S


# --------------------------------------------------------------------------------------------
# Alert episodes (shared by the detectors)
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class AlertEpisode:
    """One alert from open to close (close_ts is nan while open)."""

    kind: str
    venue: str
    open_ts: float
    close_ts: float = math.nan
    peak_score: float = 0.0


class _Hysteresis:
    """Opens when score >= on, closes after the score stayed < off for clear_after_s."""

    def __init__(self, kind: str, venue: str, on: float, off: float, clear_after_s: float) -> None:
        self.kind, self.venue = kind, venue
        self.on, self.off, self.clear_after_s = on, off, clear_after_s
        self.current: AlertEpisode | None = None
        self.episodes: list[AlertEpisode] = []
        self._last_high = -math.inf

    def update(self, ts: float, score: float) -> str:
        """'open', 'close' or '' for this update."""
        if self.current is None:
            if score >= self.on:
                self.current = AlertEpisode(self.kind, self.venue, ts, peak_score=score)
                self.episodes.append(self.current)
                self._last_high = ts
                return "open"
            return ""
        self.current.peak_score = max(self.current.peak_score, score)
        if score >= self.off:
            self._last_high = ts
        elif ts - self._last_high >= self.clear_after_s:
            self.current.close_ts = ts
            self.current = None
            return "close"
        return ""


# --------------------------------------------------------------------------------------------
# Spoofing / layering
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Tracked:
    """Large size that appeared at one price: an anonymous resting order we follow."""

    side: int
    price: float
    qty: float  # the added size
    base: float  # what the level held before the add
    t0: float
    dist0_ticks: float
    min_dist_ticks: float
    traded: float = 0.0  # volume printed at this price (against this side) since the add


@dataclass(frozen=True, slots=True)
class Pull:
    """A large order that left the book without trading (public facts only)."""

    ts: float
    side: int
    price: float
    qty: float
    life_s: float
    dist0_ticks: float
    dist_ticks: float
    approached: bool
    layer: int  # how many large orders left the same side in the same interval
    weight: float


class SpoofingDetector:
    """Per-venue spoofing/layering score from successive L2 states and the trade tape.

    Feed `on_book` with every book state and `on_trades` with the trades of the same interval
    (the trades of an interval may arrive after its book: an interval is evaluated when the next
    book arrives). `score` is in [0, 1]; `side` is the spoofed side (+1 bids, -1 asks, 0 none).
    """

    def __init__(self, venue: str, config: SpoofingConfig | None = None, tick_size: float | None = None) -> None:
        self.venue = venue
        self.cfg = config or SpoofingConfig()
        self._tick = tick_size if tick_size else math.inf
        self._tick_fixed = bool(tick_size)
        self._prev: BookUpdate | None = None
        self._n_books = 0
        self._flow_net = 0.0
        self._flow_gross = 0.0
        self._pending: BookUpdate | None = None
        self._traded: dict[int, dict[float, float]] = {BID: {}, ASK: {}}  # side hit -> price -> qty
        self._tracked: dict[tuple[int, float], _Tracked] = {}
        self._log_typical: float = math.nan
        self._typical_ts = math.nan
        self._typical_n = 0
        self._first_ts = math.nan
        self._evidence = {BID: 0.0, ASK: 0.0}
        self._evidence_ts = math.nan
        self._flow: deque[tuple[float, float, float]] = deque()  # (ts, signed, gross traded qty): confirmation
        self.pulls: deque[Pull] = deque(maxlen=2000)
        self._lives_pulled: deque[float] = deque(maxlen=200)
        self._lives_traded: deque[float] = deque(maxlen=200)
        self.score = 0.0
        self.side = 0
        self.unconfirmed_imbalance = 0.0
        self.last_ts = math.nan
        self.alerts = _Hysteresis("spoofing", venue, self.cfg.alert_on, self.cfg.alert_off, self.cfg.clear_after_s)

    # ---- inputs ----------------------------------------------------------------------------

    def on_book(self, book: BookUpdate) -> str:
        """Take one book state; returns the alert transition ('open', 'close' or '')."""
        transition = ""
        if self._pending is not None:
            transition = self._evaluate(self._pending)
        self._pending = book
        return transition

    def on_trades(self, trades: Trades) -> None:
        price, qty, agg = trades.price, trades.qty, trades.aggressor
        for k in range(len(price)):
            # a sell aggressor hits bids, a buy aggressor lifts asks
            hit = BID if agg[k] < 0 else ASK
            book = self._traded[hit]
            p = float(price[k])
            book[p] = book.get(p, 0.0) + float(qty[k])
        net = float(np.dot(qty, agg.astype(np.float64)))
        gross = float(qty.sum())
        self._flow.append((trades.ts, net, gross))
        self._flow_net += net
        self._flow_gross += gross

    def flush(self) -> str:
        """Evaluate the last pending interval now (end of a feed)."""
        if self._pending is None:
            return ""
        book, self._pending = self._pending, None
        return self._evaluate(book)

    # ---- outputs ---------------------------------------------------------------------------

    @property
    def typical_level_qty(self) -> float:
        return math.exp(self._log_typical) if math.isfinite(self._log_typical) else math.nan

    @property
    def large_threshold_qty(self) -> float:
        typical = self.typical_level_qty
        if not math.isfinite(typical) or not self.last_ts - self._first_ts >= self.cfg.warmup_s:
            return math.inf  # still learning what a typical level holds
        return max(self.cfg.large_mult * typical, self.cfg.large_min_qty)

    def evidence(self, side: int) -> float:
        return self._evidence[side]

    def flagged_levels(self) -> list[tuple[int, float]]:
        """(side, price) of large orders resting now or pulled recently on the spoofed side."""
        if self.side == 0:
            return []
        live = {(t.side, t.price) for t in self._tracked.values() if t.side == self.side}
        recent = {(p.side, p.price) for p in self.pulls
                  if p.side == self.side and self.last_ts - p.ts <= self.cfg.flagged_recent_s}
        return sorted(live | recent, key=lambda sp: -sp[0] * sp[1])

    def lifetime_asymmetry(self) -> float:
        """Median life of pulled large orders / median life of traded ones (nan if either is unseen)."""
        if not self._lives_pulled or not self._lives_traded:
            return math.nan
        return float(np.median(np.fromiter(self._lives_pulled, float)) /
                     max(float(np.median(np.fromiter(self._lives_traded, float))), 1e-9))

    def detail(self) -> str:
        side = {BID: "bids", ASK: "asks", 0: "-"}[self.side]
        levels = ", ".join(f"{p:g}" for _, p in self.flagged_levels()[:6])
        recent = [p for p in self.pulls if self.last_ts - p.ts <= 60.0]
        return (f"spoofing score {self.score:.2f} on {side}: {len(recent)} large orders pulled unfilled in 60 s "
                f"(evidence {self.evidence(self.side) if self.side else 0.0:.1f}), levels [{levels}], "
                f"unconfirmed imbalance {self.unconfirmed_imbalance:.2f}, "
                f"pulled/traded lifetime {self.lifetime_asymmetry():.2f}")

    # ---- the interval ----------------------------------------------------------------------

    def _evaluate(self, book: BookUpdate) -> str:
        cfg = self.cfg
        ts = book.ts
        prev = self._prev
        if not math.isfinite(self._first_ts):
            self._first_ts = ts
        self._learn_tick(book)
        if self._prev is not None and book.is_snapshot:
            self._tracked.clear()  # after a resnapshot the continuity of levels is unknown
        self._decay(ts)
        traded = self._traded
        self._traded = {BID: {}, ASK: {}}
        for t in self._tracked.values():
            t.traded += traded[t.side].get(t.price, 0.0)
        pulls_now: dict[int, list[_Tracked]] = {BID: [], ASK: []}
        cur_bid = _level_map(book.bid_px, book.bid_qty) if self._tracked else {}
        cur_ask = _level_map(book.ask_px, book.ask_qty) if self._tracked else {}
        best_bid = float(book.bid_px[0]) if len(book.bid_px) else math.nan
        best_ask = float(book.ask_px[0]) if len(book.ask_px) else math.nan
        # 1. follow what we track
        for key in list(self._tracked):
            t = self._tracked[key]
            cur, best, px_arr = (cur_bid, best_bid, book.bid_px) if t.side == BID else (cur_ask, best_ask, book.ask_px)
            if not len(px_arr) or ts - t.t0 > cfg.max_track_s:
                del self._tracked[key]
                continue
            beyond = (t.price < float(px_arr[-1])) if t.side == BID else (t.price > float(px_arr[-1]))
            if beyond:  # the level scrolled out of the published depth: unknown fate
                del self._tracked[key]
                continue
            dist = (best - t.price) / self._tick if t.side == BID else (t.price - best) / self._tick
            q = cur.get(t.price, 0.0)
            if q > (1.0 - cfg.gone_frac) * (t.base + t.qty) and dist >= 0:
                t.min_dist_ticks = min(t.min_dist_ticks, dist)
                continue
            del self._tracked[key]
            life = ts - t.t0
            if t.traded >= cfg.traded_frac * t.qty:
                self._lives_traded.append(life)
                continue
            t.min_dist_ticks = min(t.min_dist_ticks, max(dist, 0.0))
            self._lives_pulled.append(life)
            pulls_now[t.side].append(t)
        for side, gone in pulls_now.items():
            n = len(gone)
            for t in gone:
                # the touch came at least a tick closer than where the order was posted behind it
                approached = t.dist0_ticks > cfg.approach_ticks and (
                    t.min_dist_ticks <= cfg.approach_ticks or t.min_dist_ticks < t.dist0_ticks - 0.5)
                at_risk = cfg.at_touch_weight if t.dist0_ticks < 0.5 else 1.0
                life = ts - t.t0
                w_life = 1.0 if life <= cfg.fleeting_s else cfg.fleeting_s / life
                thr = self.large_threshold_qty
                w_size = min(cfg.size_cap, 1.0 + math.log10(max(t.qty / thr, 1.0))) if math.isfinite(thr) else 1.0
                w = (w_life * w_size * at_risk * (1.0 + cfg.approach_bonus * approached)
                     * (1.0 + cfg.layer_bonus * (n - 1)))
                self._evidence[side] += w
                self.pulls.append(Pull(ts, side, t.price, t.qty, life, t.dist0_ticks, t.min_dist_ticks, approached,
                                       n, w))
        # 2. new large size near the touch (only where the previous state showed that price too)
        if prev is not None and not book.is_snapshot:
            self._scan_adds(ts, BID, prev.bid_px, prev.bid_qty, book.bid_px, book.bid_qty)
            self._scan_adds(ts, ASK, prev.ask_px, prev.ask_qty, book.ask_px, book.ask_qty)
        if self._n_books % TYPICAL_EVERY == 0:
            self._learn_typical(ts, book)
        self._n_books += 1
        self._prev = book
        self.last_ts = ts
        # 3. score
        self._update_imbalance(ts)
        e_bid, e_ask = self._evidence[BID], self._evidence[ASK]
        self.side = BID if e_bid > e_ask else (ASK if e_ask > e_bid else 0)
        e = max(e_bid, e_ask)
        w = cfg.imbalance_weight
        e *= 1.0 - w + 2.0 * w * self.unconfirmed_imbalance
        h = cfg.half_score_evidence
        self.score = e * e / (e * e + h * h) if e > 0 else 0.0
        return self.alerts.update(ts, self.score)

    def _scan_adds(self, ts: float, side: int, ppx: FloatArray, pqty: FloatArray, px: FloatArray,
                   qty: FloatArray) -> None:
        if not len(px) or not len(ppx):
            return
        thr = self.large_threshold_qty
        if not math.isfinite(thr):
            return
        n_near = min(len(qty), int(self.cfg.near_ticks) + 1)  # levels within near_ticks are among the first ones
        if float(qty[:n_near].max()) < thr:
            return  # no level near the touch is even as large as one large add (the common case)
        best = float(px[0])
        far = float(ppx[-1])
        prev = _level_map(ppx, pqty)
        reach = self.cfg.near_ticks * self._tick
        for k in range(len(px)):
            p = float(px[k])
            if abs(best - p) > reach + 1e-9:
                break
            if (side == BID and p < far) or (side == ASK and p > far):
                break  # not visible before: newly visible is not newly added
            before = prev.get(p, 0.0)
            added = float(qty[k]) - before
            if added < thr:
                continue
            key = (side, p)
            dist = abs(best - p) / self._tick
            t = self._tracked.get(key)
            if t is None:
                self._tracked[key] = _Tracked(side, p, added, before, ts, dist, dist)
            else:
                t.qty += added

    # ---- helpers ---------------------------------------------------------------------------

    def _decay(self, ts: float) -> None:
        if math.isfinite(self._evidence_ts) and ts > self._evidence_ts:
            f = 0.5 ** ((ts - self._evidence_ts) / self.cfg.evidence_half_life_s)
            self._evidence[BID] *= f
            self._evidence[ASK] *= f
        self._evidence_ts = ts

    def _learn_tick(self, book: BookUpdate) -> None:
        if self._tick_fixed or (self._n_books > TICK_LEARN_BOOKS and math.isfinite(self._tick)):
            return
        for px in (book.bid_px, book.ask_px):
            if len(px) > 1:
                gap = float(np.min(np.abs(np.diff(px))))
                if 0 < gap < self._tick:
                    self._tick = gap
        if not math.isfinite(self._tick):
            self._tick = 1.0  # one level seen so far: a provisional unit until gaps are seen

    def _learn_typical(self, ts: float, book: BookUpdate) -> None:
        reach = self.cfg.near_ticks * self._tick
        sizes = []
        for px, qty in ((book.bid_px, book.bid_qty), (book.ask_px, book.ask_qty)):
            if len(px):
                near = np.abs(px - px[0]) <= reach + 1e-9
                sizes.append(qty[near])
        if not sizes:
            return
        allq = np.concatenate(sizes)
        if not len(allq):
            return
        x = math.log(max(float(np.median(allq)), 1e-12))
        self._typical_n += 1
        if not math.isfinite(self._log_typical):
            self._log_typical, self._typical_ts = x, ts
            return
        a = 1.0 - 0.5 ** (max(ts - self._typical_ts, 0.0) / self.cfg.typical_half_life_s)
        a = max(a, 1.0 / self._typical_n)  # a plain mean until the EWMA has seen enough
        self._log_typical += a * (x - self._log_typical)
        self._typical_ts = ts

    def _update_imbalance(self, ts: float) -> None:
        """Share of large displayed size on one side that the trade flow does not confirm, in [0, 1].

        Large bids (asks) read as buying (selling) pressure; if trades over the confirmation window
        lean the other way or not at all, the displayed pressure is unconfirmed."""
        while self._flow and ts - self._flow[0][0] > self.cfg.confirm_window_s:
            _, net, gross = self._flow.popleft()
            self._flow_net -= net
            self._flow_gross -= gross
        big_bid = big_ask = 0.0
        for t in self._tracked.values():
            if t.side == BID:
                big_bid += t.qty
            else:
                big_ask += t.qty
        total = big_bid + big_ask
        if total <= 0:
            self.unconfirmed_imbalance *= 0.98
            return
        displayed = (big_bid - big_ask) / total  # +1: all large size on bids
        flow = self._flow_net / self._flow_gross if self._flow_gross > 1e-12 else 0.0  # +1: all buying
        confirmation = max(0.0, flow * math.copysign(1.0, displayed)) if displayed != 0 else 0.0
        u = abs(displayed) * (1.0 - confirmation)
        self.unconfirmed_imbalance = max(u, self.unconfirmed_imbalance * 0.98)


def _level_map(px: FloatArray, qty: FloatArray) -> dict[float, float]:
    return dict(zip(px.tolist(), qty.tolist(), strict=True))


# --------------------------------------------------------------------------------------------
# Quote stuffing
# --------------------------------------------------------------------------------------------


class QuoteStuffingDetector:
    """Per-venue message-rate burst detector on the sequence ids of successive book messages."""

    def __init__(self, venue: str, config: StuffingConfig | None = None) -> None:
        self.venue = venue
        self.cfg = config or StuffingConfig()
        self._last_seq: int | None = None
        self._bucket: int | None = None
        self._count = 0.0
        self._recent = _Ring(self.cfg.short_s)  # the last one-second message counts (the burst window)
        self._prev_book: BookUpdate | None = None
        self._dq: list[FloatArray] = []  # |size changes| of visible levels in the current second
        self._recent_dq: deque[FloatArray] = deque(maxlen=self.cfg.short_s)
        self._churn_hist = _Ring(self.cfg.baseline_s)  # baseline identical-size shares
        self.churn = 0.0  # share of visible level changes with the window's most common |size change|
        self.churn_baseline = math.nan
        self.changed_levels_per_s = math.nan
        self._hist = _Ring(self.cfg.baseline_s)  # baseline one-second counts (not learned during an alert)
        self._short_hist = _Ring(self.cfg.baseline_s)  # baseline short-window mean rates
        self.ratio = 1.0  # short-window rate / baseline median
        self.z = 0.0  # robust z-score of the short-window rate against the baseline of short-window rates
        self.rel = 1.0  # ratio / market-wide ratio of the other venues
        self.score = 0.0
        self.rate_per_s = math.nan
        self.baseline_per_s = math.nan
        self._smed = math.nan
        self._market = 1.0
        self.last_ts = math.nan
        self.alerts = _Hysteresis("quote_stuffing", venue, self.cfg.alert_on, self.cfg.alert_off,
                                  self.cfg.clear_after_s)

    def on_book(self, book: BookUpdate) -> bool:
        """Count the messages this book covers; True when a one-second bucket completed."""
        completed = self.roll(math.floor(book.ts))
        self.count(book)
        return completed

    def roll(self, sec: int) -> bool:
        """Close the one-second buckets before `sec`; True if any closed."""
        if self._bucket is None:
            self._bucket = sec
            return False
        if sec <= self._bucket:
            return False
        self._close_buckets(sec)
        return True

    def count(self, book: BookUpdate) -> None:
        """Add the messages `book` covers (the advance of the sequence id) to the current bucket, and the
        visible levels it changed against the previous state."""
        if self._last_seq is not None and not book.is_snapshot and book.seq >= self._last_seq:
            self._count += book.seq - self._last_seq
        prev = self._prev_book
        if prev is not None and not book.is_snapshot:
            self._dq.append(_size_changes(-prev.bid_px, prev.bid_qty, -book.bid_px, book.bid_qty))
            self._dq.append(_size_changes(prev.ask_px, prev.ask_qty, book.ask_px, book.ask_qty))
        self._prev_book = book
        self._last_seq = book.seq
        self.last_ts = book.ts

    def _close_buckets(self, sec: int) -> None:
        assert self._bucket is not None
        gap = min(sec - self._bucket, self.cfg.baseline_s)
        self._recent_dq.append(np.concatenate(self._dq) if self._dq else np.empty(0))
        self._dq = []
        self.churn = _mode_share(self._recent_dq)
        self._push(self._count)
        for _ in range(gap - 1):  # seconds without a message
            self._recent_dq.append(np.empty(0))
            self._push(0.0)
        self._bucket = sec
        self._count = 0.0

    def _push(self, n: float) -> None:
        self._recent.append(n)
        cur = self.alerts.current
        # a flagged burst must not become the baseline (unless it lasts so long it is the new normal)
        stale_alert = cur is not None and self.last_ts - cur.open_ts >= self.cfg.relearn_after_s
        if (cur is None and self.score < self.cfg.alert_off) or stale_alert or not math.isfinite(self._smed):
            self._hist.append(n)
            self._churn_hist.append(self.churn)
            if len(self._recent) >= self.cfg.short_s:
                self._short_hist.append(float(self._recent.values().mean()))
        else:
            # during a burst the venue is assumed to move with the market: what it would have sent
            m = max(self._market, 0.0)
            self._hist.append(self.baseline_per_s * m)
            self._short_hist.append(self._smed * m)

    def update_score(self, market_ratio: float = 1.0) -> float:
        """Recompute the score (after a completed bucket); `market_ratio` = the market-wide activity ratio."""
        self.measure()
        return self.finish(market_ratio)

    @property
    def ready(self) -> bool:
        s = self.cfg.short_s
        return (len(self._hist) >= max(self.cfg.warmup_s, 2 * s) and len(self._short_hist) >= s + 2
                and len(self._recent) >= s)

    def measure(self) -> float:
        """Short-window rate against the baseline: sets `ratio` and `z`; returns the ratio (nan before warm-up)."""
        if not self.ready:
            return math.nan
        med = float(np.median(self._hist.values()))
        shorts = self._short_hist.values()
        smed = float(np.median(shorts))
        smad = 1.4826 * float(np.median(np.abs(shorts - smed)))
        rate = float(self._recent.values().mean())
        self.rate_per_s, self.baseline_per_s, self._smed = rate, med, smed
        self.ratio = rate / med if med > 0 else (math.inf if rate > 0 else 1.0)
        self.z = (rate - smed) / max(smad, 1.0)
        return self.ratio

    def finish(self, market_ratio: float = 1.0) -> float:
        """Score from the last `measure` and the market-wide activity ratio (1 = none known)."""
        cfg = self.cfg
        if not self.ready:
            return self.score
        self._market = market_ratio
        self.rel = self.ratio / max(market_ratio, 1.0)
        rate = min(1.0, max(0.0, (self.rel - 1.0) / (cfg.ratio_full - 1.0))) if self.z >= cfg.z_min else 0.0
        self.churn_baseline = float(np.median(self._churn_hist.values()))
        excess = self.churn - self.churn_baseline
        churn = min(1.0, max(0.0, (excess - cfg.churn_lo) / (cfg.churn_hi - cfg.churn_lo)))
        self.score = min(rate, churn)
        return self.score

    def transition(self) -> str:
        return self.alerts.update(self.last_ts, self.score)

    def detail(self) -> str:
        return (f"quote stuffing score {self.score:.2f}: {self.rate_per_s:.0f} msg/s vs baseline "
                f"{self.baseline_per_s:.0f} (x{self.ratio:.2f}, x{self.rel:.2f} vs other venues, "
                f"robust z {self.z:.1f}); {self.churn:.0%} of visible changes of one identical size "
                f"(baseline {self.churn_baseline:.0%})")


def _size_changes(ppx: FloatArray, pq: FloatArray, px: FloatArray, q: FloatArray) -> FloatArray:
    """|Size change| of every level that changed between two states of one side, over the price
    range both states show (prices ascending: pass negated bid prices), in ascending price order."""
    if not len(ppx) or not len(px):
        return np.empty(0)
    out: FloatArray = _merge_size_changes(np.ascontiguousarray(ppx, dtype=np.float64),
                                          np.ascontiguousarray(pq, dtype=np.float64),
                                          np.ascontiguousarray(px, dtype=np.float64),
                                          np.ascontiguousarray(q, dtype=np.float64))
    return out


@njit(cache=True, nogil=True)
def _merge_size_changes(ppx: FloatArray, pq: FloatArray, px: FloatArray, q: FloatArray) -> FloatArray:
    """One merge pass over two ascending ladders (a level missing on one side has size 0 there):
    every surveillance venue calls this on every book message, so it runs compiled (it was a third
    of an AC `simulate`'s surveillance cost as numpy set operations)."""
    lo = max(ppx[0], px[0])
    hi = min(ppx[-1], px[-1])
    out = np.empty(len(ppx) + len(px))
    n = 0
    i = 0
    j = 0
    while i < len(ppx) or j < len(px):
        if j >= len(px) or (i < len(ppx) and ppx[i] < px[j]):
            price, before, after = ppx[i], pq[i], 0.0
            i += 1
        elif i >= len(ppx) or px[j] < ppx[i]:
            price, before, after = px[j], 0.0, q[j]
            j += 1
        else:
            price, before, after = ppx[i], pq[i], q[j]
            i += 1
            j += 1
        if lo <= price <= hi:
            d = abs(after - before)
            if d > 1e-12:
                out[n] = d
                n += 1
    return out[:n]


def _mode_share(parts: Iterable[FloatArray]) -> float:
    """Share of the changes whose |size change| is the most common value (to 1e-9): identical orders."""
    arrays = [p for p in parts if len(p)]
    if not arrays:
        return 0.0
    allv = np.round(np.concatenate(arrays), 9)
    if len(allv) < MIN_CHANGES_FOR_CHURN:
        return 0.0
    _, counts = np.unique(allv, return_counts=True)
    return float(counts.max()) / len(allv)


class _Ring:
    """Fixed-capacity float ring buffer; `values()` in time order."""

    def __init__(self, capacity: int) -> None:
        self._a = np.zeros(capacity)
        self._n = 0
        self._i = 0

    def __len__(self) -> int:
        return self._n

    def append(self, x: float) -> None:
        self._a[self._i] = x
        self._i = (self._i + 1) % len(self._a)
        self._n = min(self._n + 1, len(self._a))

    def values(self) -> FloatArray:
        if self._n < len(self._a):
            return self._a[: self._n]
        return np.concatenate([self._a[self._i:], self._a[: self._i]])

    def last(self, k: int) -> FloatArray:
        idx = (self._i - 1 - np.arange(k)) % len(self._a)
        out: FloatArray = self._a[idx]
        return out


# --------------------------------------------------------------------------------------------
# Adverse selection (markouts of our fills)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Markout:
    """One fill's markout: the venue mid's move `horizon_s` after the fill, in bps of the mid at the fill.

    ``bps = -side * (mid(t + h) - mid(t)) / mid(t) * 1e4``: positive = picked off."""

    fill_ts: float
    venue: str
    side: int
    qty: float
    horizon_s: float
    bps: float


class AdverseSelection:
    """Markouts of our own fills per venue at fixed horizons (public mids only).

    `toxicity(venue)` reads the +`toxicity_horizon_s` markout EWMA, faded by `stale_half_life_s`
    since the venue's last markout. A market-wide drift picks us off on every venue alike; the
    router reads these scores relative to the cleanest venue (core/execution/service.py)."""

    def __init__(self, config: MarkoutConfig | None = None) -> None:
        self.cfg = config or MarkoutConfig()
        self._mid: dict[str, float] = {}
        self._pending: dict[str, deque[tuple[float, int, float, float, int]]] = {}
        self.markouts: list[Markout] = []
        self._mean: dict[tuple[str, float], float] = {}
        self._weight: dict[tuple[str, float], float] = {}
        self._last_ts: dict[tuple[str, float], float] = {}
        self._now = -math.inf

    def on_mid(self, venue: str, ts: float, mid: float) -> list[Markout]:
        """A new mid on `venue` at `ts`; returns the markouts that matured (their horizon passed)."""
        if not math.isfinite(mid):
            return []
        self._now = max(self._now, ts)
        done: list[Markout] = []
        q = self._pending.get(venue)
        if q:
            horizons = self.cfg.horizons_s
            keep: deque[tuple[float, int, float, float, int]] = deque()
            for fill_ts, side, qty, mid0, k in q:
                while k < len(horizons) and ts >= fill_ts + horizons[k]:
                    m = Markout(fill_ts, venue, side, qty, horizons[k], -side * (mid - mid0) / mid0 * 1e4)
                    done.append(m)
                    self._record(m, ts)
                    k += 1
                if k < len(horizons):
                    keep.append((fill_ts, side, qty, mid0, k))
            self._pending[venue] = keep
        self._mid[venue] = mid
        return done

    def on_fill(self, venue: str, ts: float, side: int, qty: float) -> None:
        """Our fill at `ts` (side +1 buy / -1 sell); its markouts are measured from the venue's current mid."""
        mid0 = self._mid.get(venue, math.nan)
        if not math.isfinite(mid0) or qty <= 0:
            return
        self._pending.setdefault(venue, deque()).append((ts, int(side), float(qty), mid0, 0))

    def _record(self, m: Markout, ts: float) -> None:
        key = (m.venue, m.horizon_s)
        self._last_ts[key] = ts
        a = 1.0 - 0.5 ** (1.0 / self.cfg.half_life_fills)
        if key not in self._mean:
            self._mean[key] = m.bps
        else:
            self._mean[key] += a * (m.bps - self._mean[key])
        self._weight[key] = self._weight.get(key, 0.0) + m.qty
        self.markouts.append(m)

    def mean_bps(self, venue: str, horizon_s: float) -> float:
        """EWMA markout (bps, + = picked off) of `venue` at `horizon_s`; nan before the first one."""
        return self._mean.get((venue, horizon_s), math.nan)

    def _faded(self, key: tuple[str, float]) -> float:
        age = max(self._now - self._last_ts[key], 0.0)
        return float(self._mean[key] * 0.5 ** (age / self.cfg.stale_half_life_s))

    def toxicity(self, venue: str) -> float:
        key = (venue, self.cfg.toxicity_horizon_s)
        if key not in self._mean:
            return 0.0
        return min(1.0, max(0.0, self._faded(key) / self.cfg.toxic_bps))


# --------------------------------------------------------------------------------------------
# The facade
# --------------------------------------------------------------------------------------------


class Surveillance:
    """Per-venue surveillance on the bus: alerts out, `toxicity(venue)` in [0, 1] for the router.

    `publish` (default: the bus's) receives the `Alert`s: a WARNING `spoofing` / `quote_stuffing`
    alert when a campaign opens (detail carries the score), an INFO `<kind>_cleared` when it closes.
    """

    def __init__(self, bus: Bus | None = None, config: SurveillanceConfig | None = None,
                 publish: Callable[[Alert], None] | None = None,
                 tick_sizes: dict[str, float] | None = None) -> None:
        self.cfg = config or SurveillanceConfig()
        self.spoofing: dict[str, SpoofingDetector] = {}
        self.stuffing: dict[str, QuoteStuffingDetector] = {}
        self.adverse = AdverseSelection(self.cfg.markout)
        self.dips = DipMonitor(DipConfig(horizon_s=self.cfg.dip_horizon_s), on_scored=self._dip_scored)
        self._sec = -1
        self.watching_since: float | None = None  # ts of the first book seen: how much baseline there is
        self._last_dip: dict[str, Dip] = {}
        self._ticks = tick_sizes or {}
        self._publish = publish or (bus.publish if bus is not None else (lambda _a: None))
        self._unsubscribe: list[Callable[[], None]] = []
        if bus is not None:
            self._unsubscribe = [bus.subscribe(BookUpdate, self.on_book), bus.subscribe(Trades, self.on_trades),
                                 bus.subscribe(FillEvent, self.on_fill)]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def venues(self) -> Iterable[str]:
        return self.spoofing.keys()

    def _ensure(self, venue: str) -> None:
        if venue not in self.spoofing:
            self.spoofing[venue] = SpoofingDetector(venue, self.cfg.spoofing, self._ticks.get(venue))
            self.stuffing[venue] = QuoteStuffingDetector(venue, self.cfg.stuffing)

    def on_book(self, book: BookUpdate) -> None:
        if self.watching_since is None:
            self.watching_since = book.ts
        self._ensure(book.venue)
        spoof = self.spoofing[book.venue]
        transition = spoof.on_book(book)
        self._announce(transition, spoof.alerts, book.ts, spoof.score, spoof.detail)
        sec = math.floor(book.ts)
        if sec > self._sec:  # a second closed: score every venue on the same second, against the same market
            self._sec = sec
            rolled = [d for d in self.stuffing.values() if d.roll(sec)]
            ratios = {d.venue: d.measure() for d in rolled}
            for d in rolled:
                d.finish(self._market_ratio(d.venue, ratios))
                self._announce(d.transition(), d.alerts, book.ts, d.score, d.detail)
        self.stuffing[book.venue].count(book)
        self.adverse.on_mid(book.venue, book.ts, book.mid)
        self.dips.on_book(book)

    def on_trades(self, trades: Trades) -> None:
        self._ensure(trades.venue)
        self.spoofing[trades.venue].on_trades(trades)
        self.dips.on_trades(trades)

    def _dip_scored(self, dip: Dip) -> None:
        self._last_dip[dip.venue] = dip
        kind = "transient_dip" if dip.p_transient >= 0.5 else "informed_move"
        move = "dip" if dip.direction < 0 else "spike"
        self._publish(Alert(dip.scored_ts, Severity.INFO, kind, SOURCE,
                            f"{move} of {dip.features.get('drop_bps', math.nan):.0f} bps: transient p="
                            f"{dip.p_transient:.2f}", dip.venue))

    def last_dip(self, venue: str) -> Dip | None:
        """The venue's latest scored dip or spike (its `p_transient`, features and onset), if any."""
        return self._last_dip.get(venue)

    def on_fill(self, event: FillEvent) -> None:
        f = event.fill
        self.adverse.on_fill(f.venue, event.ts, int(f.side.sign), float(f.quantity))

    def _market_ratio(self, venue: str, ratios: dict[str, float]) -> float:
        """Market-wide activity ratio this second: the median over all venues (self included) when there
        are three or more — one stuffed venue cannot move it — else the other venue's ratio."""
        if not self.cfg.cross_venue_stuffing:
            return 1.0
        live = {v: r for v, r in ratios.items() if math.isfinite(r)}
        if len(live) >= 3:
            return float(np.median(list(live.values())))
        others = [r for v, r in live.items() if v != venue]
        return float(np.median(others)) if others else 1.0

    def _announce(self, transition: str, alerts: _Hysteresis, ts: float, score: float,
                  detail: Callable[[], str]) -> None:
        if transition == "open":
            self._publish(Alert(ts, Severity.WARNING, alerts.kind, SOURCE, detail(), alerts.venue))
        elif transition == "close":
            self._publish(Alert(ts, Severity.INFO, f"{alerts.kind}_cleared", SOURCE,
                                f"{alerts.kind} cleared (score {score:.2f})", alerts.venue))

    # ---- scores ----------------------------------------------------------------------------

    def spoofing_score(self, venue: str) -> float:
        d = self.spoofing.get(venue)
        return d.score if d is not None else 0.0

    def stuffing_score(self, venue: str) -> float:
        d = self.stuffing.get(venue)
        return d.score if d is not None else 0.0

    def toxicity(self, venue: str) -> float:
        """How much the router should avoid `venue` now, in [0, 1] (noisy-or of the three signals)."""
        parts = (self.spoofing_score(venue), self.stuffing_score(venue), self.adverse.toxicity(venue))
        keep = 1.0
        for p in parts:
            keep *= 1.0 - min(1.0, max(0.0, p))
        return 1.0 - keep
