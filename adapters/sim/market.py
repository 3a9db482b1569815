"""`MarketSim`: the Python facade over the compiled market kernel (`adapters/sim/kernel.py`).

Public surface (what `SimVenue` and the tests use; latency, balances and rate limits are the
venue wrapper's job, not this class's)::

    sim = MarketSim(load_scenario("btc-block-4h"), seed=7)
    sim.now_s                          # simulated seconds since the start (0 after warm-up)
    sim.venues                         # list[VenueSpec]: name, symbol, tick/lot, min notional, fees,
                                       #   latency + jitter, rate limit
    sim.advance_to(t_s)                # background flow + scenario events up to t_s (numba batch)
    sim.drain_market_data(v)           # list[Trade | BookDiff] published since the last drain
    sim.snapshot(v, depth)             # (seq, bid_px, bid_qty, ask_px, ask_qty), best first, floats
    sim.submit(v, own_id, side, price, qty, post_only=False, ioc=False) -> list[OwnEvent]
    sim.cancel(v, own_id) -> list[OwnEvent]
    sim.own_events_since_advance()     # passive fills of our resting orders during advance_to
    sim.set_outage(v, down)
    sim.eval_log                       # EvaluationLog: ground truth, never handed to the engine

Sides are ``+1`` buy / ``-1`` sell at this boundary (``Side.BUY``/``Side.SELL`` values work too).
Prices and quantities are floats in quote / base units on the venue's tick and lot grid;
inside the kernel they are int64 ticks and lots. Market data carries no order ids, owners or
flags: diffs are (side, price, new total quantity) per changed level with the first/last
sequence ids they cover, trades are aggregated per price level per aggressor (like Binance's
aggTrade) with the aggressor side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from adapters.sim import kernel as K
from adapters.sim.scenario import EventInstance, Scenario, draw_parent_start, draw_timeline
from core.seeds import SeedTree

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PROCESS_NAMES = ("hft_place", "hft_cancel", "latent_deposit", "latent_cancel", "market_orders", "large_makers",
                 "agents", "spare")
GLOBAL_NAMES = ("fundamental", "regime", "agents", "spare")

# reject reasons (same strings as core.ports.RejectReason)
REJECT_POST_ONLY = "post_only_would_cross"
REJECT_BAD_TICK = "bad_tick"
REJECT_BAD_LOT = "bad_lot"
REJECT_MIN_NOTIONAL = "min_notional"
REJECT_VENUE_DOWN = "venue_down"
REJECT_DUPLICATE = "duplicate_client_id"
REJECT_NOT_FOUND = "not_found"
REJECT_PRICE_BAND = "price_band"
REJECT_OTHER = "other"


@dataclass(frozen=True, slots=True)
class VenueSpec:
    name: str
    symbol: str
    tick_size: float
    lot_size: float
    min_notional: float
    maker_fee_bps: float
    taker_fee_bps: float
    latency_ms: float
    latency_jitter_ms: float
    rate_limit_msgs_per_s: float


@dataclass(frozen=True, slots=True, eq=False)
class BookDiff:
    """Levels of one venue's book that changed during one publish interval (new totals; 0 = gone)."""

    ts: float
    venue: int
    first_seq: int
    last_seq: int
    side: npt.NDArray[np.int8]  # +1 bid, -1 ask
    price_ticks: IntArray
    qty_lots: IntArray
    tick_size: float
    lot_size: float

    @property
    def price(self) -> FloatArray:
        return self.price_ticks * self.tick_size

    @property
    def qty(self) -> FloatArray:
        return self.qty_lots * self.lot_size


@dataclass(frozen=True, slots=True)
class Trade:
    ts: float
    venue: int
    price: float
    qty: float
    aggressor: int  # +1 buy, -1 sell
    trade_id: int


@dataclass(frozen=True, slots=True)
class OwnEvent:
    """What happened to one of our orders. kind: ack | fill | reject | canceled | not_found."""

    kind: str
    ts: float
    venue: int
    own_id: int
    price: float = math.nan
    qty: float = 0.0
    liquidity: str = ""  # fills: "maker" or "taker"
    trade_id: int = 0
    leaves: float = 0.0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ScriptedOrder:
    """An order a background agent sends at t_s through the same kernel path as ours (fairness)."""

    t_s: float
    venue: int
    side: int
    price: float | None
    qty: float
    agent_id: int
    ioc: bool = False
    post_only: bool = False
    cancel: bool = False  # True: cancel the agent's order `agent_id` instead


@dataclass(slots=True)
class EvaluationLog:
    """Ground truth for tests, `compare` and documented evaluations. Never given to the engine."""

    events: list[EventInstance]
    parent_start_s: float
    venue_names: list[str]
    _rec: list[FloatArray] = field(default_factory=list)

    def _stack(self) -> FloatArray:
        if not self._rec:
            return np.empty((0, 4 + 3 * len(self.venue_names)))
        return np.concatenate(self._rec)

    def fundamental_path(self) -> tuple[FloatArray, FloatArray]:
        """(t_s, exogenous fundamental price) on the fundamental grid (no impact in it)."""
        r = self._stack()
        return r[:, 0], np.exp(r[:, 1])

    def reference_path(self) -> tuple[FloatArray, FloatArray]:
        """(t_s, consolidated reference price = fundamental x permanent impact)."""
        r = self._stack()
        return r[:, 0], np.exp(r[:, 1] + r[:, 2])

    def regime_path(self) -> tuple[FloatArray, FloatArray]:
        r = self._stack()
        return r[:, 0], r[:, 3]

    def mid_path(self, venue: int) -> tuple[FloatArray, FloatArray]:
        """(t_s, venue mid) sampled on the fundamental grid (public information, kept for tests)."""
        r = self._stack()
        return r[:, 0], r[:, 4 + 3 * venue]

    def spread_ticks_path(self, venue: int) -> tuple[FloatArray, FloatArray]:
        r = self._stack()
        return r[:, 0], r[:, 5 + 3 * venue]

    def windows(self, kind: str) -> list[EventInstance]:
        return [e for e in self.events if e.kind == kind]


def _side_code(side: int) -> int:
    """+1 buy -> kernel BID (0); -1 sell -> kernel ASK (1)."""
    value = int(getattr(side, "value", side))
    if value == 1:
        return K.BID
    if value == -1:
        return K.ASK
    raise ValueError(f"side must be +1 (buy) or -1 (sell), got {side!r}")


class MarketSim:
    """Multi-venue simulated market, deterministic for (scenario, seed, our orders)."""

    def __init__(self, scenario: Scenario, seed: int, *, record_path: bool = True, market_data: bool = True,
                 scripted: Sequence[ScriptedOrder] = (), extra_events: Sequence[EventInstance] = (),
                 timeline: Sequence[EventInstance] | None = None) -> None:
        self.scenario = scenario
        self.seed = seed
        self._keep_md = market_data
        sc = scenario
        V = len(sc.venues)
        self.venues = [VenueSpec(v.name, v.symbol, v.tick_size, v.lot_size, v.min_notional, v.maker_fee_bps,
                                 v.taker_fee_bps, v.latency_ms, v.latency_jitter_ms, v.rate_limit_msgs_per_s)
                       for v in sc.venues]
        tree = SeedTree(seed)
        p0 = sc.scenario.initial_price
        # ---- parameters
        self.pv = np.zeros((V, K.NPV))
        for k, v in enumerate(sc.venues):
            self.pv[k] = venue_params(v, p0)
        self.gp = global_params(sc)
        self.gp[K.GP_RECORD] = 1.0 if record_path else 0.0
        # ---- state
        self.bk = np.zeros((V, K.NPLANES, K.NLEV), dtype=np.int64)
        self.fw = np.zeros((V, 4, K.NLEV + 1), dtype=np.int64)
        self.dl = np.zeros((V, 2 * K.NLEV), dtype=np.int64)
        self.vi = np.zeros((V, K.NVI), dtype=np.int64)
        self.vf = np.zeros((V, K.NVF))
        self.g = np.zeros(K.NG)
        self.trk = np.zeros((V, K.MAXTRK, K.NT), dtype=np.int64)
        self.trkf = np.zeros((V, K.MAXTRK, 2))
        self.tl = np.zeros((V, K.MAXTRK), dtype=np.int64)
        self.tfree = np.tile(np.arange(K.MAXTRK - 1, -1, -1, dtype=np.int64), (V, 1))
        self.vi[:, K.VI_NFREE] = K.MAXTRK
        self.ag = np.zeros((K.MAXAGENTS, K.NA_COLS))
        self.st = np.zeros((K.NOWNER, K.NST), dtype=np.int64)
        self.rng = np.zeros((V * K.NS_PER_VENUE + K.NS_GLOBAL, 4), dtype=np.uint64)
        for k in range(V):
            for p, name in enumerate(PROCESS_NAMES):
                self.rng[k * K.NS_PER_VENUE + p] = _xoshiro_state(tree, f"sim/venue/{k}/{name}")
        for p, name in enumerate(GLOBAL_NAMES):
            self.rng[V * K.NS_PER_VENUE + p] = _xoshiro_state(tree, f"sim/global/{name}")
        # ---- buffers
        self.tr_f = np.zeros(200_000)
        self.tr_i = np.zeros((200_000, 5), dtype=np.int64)
        self.dh_f = np.zeros(100_000)
        self.dh_i = np.zeros((100_000, 5), dtype=np.int64)
        self.de = np.zeros((1_500_000, 3), dtype=np.int64)
        self.oe_f = np.zeros(100_000)
        self.oe_i = np.zeros((100_000, K.NOE), dtype=np.int64)
        n_rec = int((sc.scenario.duration_s + sc.scenario.warmup_s) / sc.fundamental.step_s) + 16
        self.rec = np.zeros((min(n_rec, 200_000), 4 + 3 * V))
        self.cnt = np.zeros(K.NCNT, dtype=np.int64)
        self.cnt[K.C_TR_CAP] = 200_000 - 60_000
        self.cnt[K.C_DH_CAP] = 100_000 - 1_000
        self.cnt[K.C_DE_CAP] = 1_500_000 - 200_000
        self.cnt[K.C_OE_CAP] = 100_000 - 20_000
        self.cnt[K.C_REC_CAP] = self.rec.shape[0]
        # ---- timeline (ground truth) and the kernel's event table
        rng_tl = tree.generator("sim/timeline")
        events = list(timeline) if timeline is not None else draw_timeline(sc, rng_tl)
        events += list(extra_events)
        events.sort(key=lambda e: e.start_s)
        parent_start = draw_parent_start(sc, tree.generator("sim/parent"))
        self.eval_log = EvaluationLog(events, parent_start, [v.name for v in sc.venues])
        self._script_oids: dict[int, int] = {}
        self.ev = self._event_table(events, scripted)
        # ---- initial book, then warm-up so t = 0 starts in steady state
        self._init_state(p0)
        self._md: list[list[tuple[float, int, object]]] = [[] for _ in range(V)]
        self._own_pending: list[OwnEvent] = []
        self.script_fills: list[OwnEvent] = []
        self._live_own: set[tuple[int, int]] = set()
        warm = sc.scenario.warmup_s
        self.g[K.G_T] = -warm
        K.schedule_all(self.vi, self.vf, self.pv, self.g, self.gp, self.rng, -warm)
        self.g[K.G_NEXT_FUND] = -warm + self.gp[K.GP_DT_FUND]
        self.g[K.G_NEXT_PUB] = -warm + self.gp[K.GP_PUB_DT]
        self.g[K.G_NEXT_ARB] = -warm + self.gp[K.GP_ARB_DT]
        self.g[K.G_NEXT_AGENT] = -warm + self.gp[K.GP_AGENT_DT]
        if warm > 0:
            self._run(-1e-9, keep=False)
        self._reset_counters()

    # ------------------------------------------------------------------ time
    @property
    def now_s(self) -> float:
        return float(max(self.g[K.G_T], 0.0))

    def advance_to(self, t_s: float) -> None:
        """Run background flow and scenario events up to and including time t_s."""
        if t_s < self.g[K.G_T]:
            raise ValueError(f"cannot go back in time: now {self.now_s:.3f} s, asked {t_s:.3f} s")
        self._run(t_s, keep=True)

    def _run(self, t_end: float, keep: bool) -> None:
        while True:
            status = K.run(t_end, self.bk, self.fw, self.dl, self.vi, self.vf, self.pv, self.g, self.gp, self.rng,
                           self.trk, self.trkf, self.tl, self.tfree, self.ev, self.ag, self.st, self.tr_f, self.tr_i,
                           self.dh_f, self.dh_i, self.de, self.oe_f, self.oe_i, self.rec, self.cnt)
            self._harvest(keep)
            if status == 0:
                return

    def _harvest(self, keep: bool) -> None:
        c = self.cnt
        keep_md = keep and self._keep_md
        n_tr = int(c[K.C_TR])
        if n_tr and keep_md:
            tf = self.tr_f[:n_tr].copy()
            ti = self.tr_i[:n_tr].copy()
            for v in range(len(self.venues)):
                m = ti[:, 0] == v
                if m.any():
                    self._md[v].append((float(tf[m][0]), 0, (tf[m], ti[m])))
        n_dh = int(c[K.C_DH])
        if n_dh and keep_md:
            hf = self.dh_f[:n_dh].copy()
            hi = self.dh_i[:n_dh].copy()
            de = self.de[: int(c[K.C_DE])].copy()
            for v in range(len(self.venues)):
                m = hi[:, 0] == v
                if m.any():
                    self._md[v].append((float(hf[m][0]), 1, (hf[m], hi[m], de)))
        n_oe = int(c[K.C_OE])
        if n_oe:
            self._own_pending.extend(self._own_rows(0, n_oe, collect_script=keep))
        n_rec = int(c[K.C_REC])
        if n_rec and keep:
            self.eval_log._rec.append(self.rec[:n_rec].copy())
        c[K.C_TR] = 0
        c[K.C_DH] = 0
        c[K.C_DE] = 0
        c[K.C_OE] = 0
        c[K.C_REC] = 0

    # ------------------------------------------------------------------ market data
    def drain_market_data(self, venue: int) -> list[Trade | BookDiff]:
        """Trades and L2 diffs of one venue published since the last drain, in time order."""
        spec = self.venues[venue]
        out: list[tuple[float, int, int, Trade | BookDiff]] = []
        for _, kind, payload in self._md[venue]:
            if kind == 0:
                tf, ti = typing_cast_pair(payload)
                for k in range(len(tf)):
                    out.append((float(tf[k]), 0, len(out), Trade(
                        float(tf[k]), venue, float(ti[k, 1] * spec.tick_size), float(ti[k, 2] * spec.lot_size),
                        1 if ti[k, 3] == K.BID else -1, int(ti[k, 4]))))
            else:
                hf, hi, de = payload  # type: ignore[misc]
                for k in range(len(hf)):
                    off, n = int(hi[k, 3]), int(hi[k, 4])
                    rows = de[off: off + n]
                    out.append((float(hf[k]), 1, len(out), BookDiff(
                        float(hf[k]), venue, int(hi[k, 1]), int(hi[k, 2]),
                        np.where(rows[:, 0] == K.BID, 1, -1).astype(np.int8), rows[:, 1].copy(), rows[:, 2].copy(),
                        spec.tick_size, spec.lot_size)))
        self._md[venue] = []
        out.sort(key=lambda x: (x[0], x[1], x[2]))
        return [x[3] for x in out]

    def snapshot(self, venue: int, depth: int = 1000) -> tuple[int, FloatArray, FloatArray, FloatArray, FloatArray]:
        """Full L2 snapshot now: (last sequence id, bid prices, bid qty, ask prices, ask qty), best first."""
        spec = self.venues[venue]
        base = int(self.vi[venue, K.VI_BASE])
        bid = self.bk[venue, K.QH] + self.bk[venue, K.QL] + self.bk[venue, K.QT]
        ask = self.bk[venue, K.QH + 1] + self.bk[venue, K.QL + 1] + self.bk[venue, K.QT + 1]
        bi = np.flatnonzero(bid)[::-1][:depth]
        ai = np.flatnonzero(ask)[:depth]
        return (int(self.vi[venue, K.VI_SEQ]), (base + bi) * spec.tick_size, bid[bi] * spec.lot_size,
                (base + ai) * spec.tick_size, ask[ai] * spec.lot_size)

    def best(self, venue: int) -> tuple[float, float]:
        """(best bid, best ask) prices; nan for an empty side."""
        spec = self.venues[venue]
        base = int(self.vi[venue, K.VI_BASE])
        bb, ba = int(self.vi[venue, K.VI_BEST_BID]), int(self.vi[venue, K.VI_BEST_ASK])
        return ((base + bb) * spec.tick_size if bb >= 0 else math.nan,
                (base + ba) * spec.tick_size if ba < K.NLEV else math.nan)

    def mid(self, venue: int) -> float:
        b, a = self.best(venue)
        return 0.5 * (b + a)

    def is_up(self, venue: int) -> bool:
        return int(self.vi[venue, K.VI_DOWN]) == 0

    # ------------------------------------------------------------------ our orders
    def submit(self, venue: int, own_id: int, side: int, price: float | None, qty: float, post_only: bool = False,
               ioc: bool = False) -> list[OwnEvent]:
        """Our order reaches the matching engine now. Returns ack + immediate fills (or a reject)."""
        t = self.now_s
        spec = self.venues[venue]
        s = _side_code(side)

        def reject(reason: str) -> list[OwnEvent]:
            return [OwnEvent("reject", t, venue, own_id, reason=reason)]

        if not self.is_up(venue):
            return reject(REJECT_VENUE_DOWN)
        if (venue, own_id) in self._live_own:
            return reject(REJECT_DUPLICATE)
        lots_f = qty / spec.lot_size
        lots = round(lots_f)
        if lots <= 0 or abs(lots_f - lots) > 1e-6 * max(1.0, lots_f):
            return reject(REJECT_BAD_LOT)
        if price is not None:
            ticks_f = price / spec.tick_size
            ticks = round(ticks_f)
            if ticks <= 0 or abs(ticks_f - ticks) > 1e-6 * max(1.0, ticks_f):
                return reject(REJECT_BAD_TICK)
            ref_px = price
        else:
            ticks = -1
            ref_px = self.mid(venue)
        if qty * ref_px < spec.min_notional:
            return reject(REJECT_MIN_NOTIONAL)
        self._harvest(True)  # make room: a walk may print many levels
        before = int(self.cnt[K.C_OE])
        status = K.submit_order(self.bk, self.fw, self.vi, self.vf, self.pv, self.g, self.dl, self.trk, self.trkf,
                                self.tl, self.tfree, self.st, self.oe_f, self.oe_i, self.cnt, self.tr_f, self.tr_i,
                                venue, s, 1 if price is not None else 0, ticks, lots, 1 if post_only else 0,
                                1 if (ioc or price is None) else 0, K.OWN, own_id, t)
        if status == K.SUB_POST_ONLY_CROSS:
            return reject(REJECT_POST_ONLY)
        if status == K.SUB_PRICE_BAND:
            return reject(REJECT_PRICE_BAND)
        if status == K.SUB_DOWN:
            return reject(REJECT_VENUE_DOWN)
        if status != K.SUB_OK:
            return reject(REJECT_OTHER)
        rows = self._own_rows(before, int(self.cnt[K.C_OE]), collect_script=True)
        self.cnt[K.C_OE] = before
        # our other resting orders this order traded against are passive fills: reported apart
        fills = [e for e in rows if e.own_id == own_id and e.liquidity == "taker"]
        self._own_pending.extend(e for e in rows if not (e.own_id == own_id and e.liquidity == "taker"))
        events = [OwnEvent("ack", t, venue, own_id, leaves=qty)]
        events += fills
        filled = sum(e.qty for e in fills)
        leaves = qty - filled
        if leaves > 1e-12 and (ioc or price is None):
            events.append(OwnEvent("canceled", t, venue, own_id, qty=leaves, reason="ioc"))
        elif leaves > 1e-12:
            self._live_own.add((venue, own_id))
        self._harvest(True)
        return events

    def cancel(self, venue: int, own_id: int) -> list[OwnEvent]:
        t = self.now_s
        if not self.is_up(venue):
            return [OwnEvent("reject", t, venue, own_id, reason=REJECT_VENUE_DOWN)]
        lots = K.cancel_order(self.bk, self.vi, self.dl, self.trk, self.trkf, self.tl, self.tfree, self.st, venue,
                              K.OWN, own_id, t)
        if lots < 0:
            self._live_own.discard((venue, own_id))
            return [OwnEvent("not_found", t, venue, own_id, reason=REJECT_NOT_FOUND)]
        self._live_own.discard((venue, own_id))
        return [OwnEvent("canceled", t, venue, own_id, qty=lots * self.venues[venue].lot_size)]

    def own_events_since_advance(self) -> list[OwnEvent]:
        """Passive fills (and venue-side cancels) of our resting orders since the last call."""
        out = self._own_pending
        self._own_pending = []
        return out

    def open_orders(self, venue: int) -> list[tuple[int, int, float, float]]:
        """Our resting orders on a venue: (own_id, side +1/-1, price, leaves)."""
        spec = self.venues[venue]
        out = []
        for k in range(int(self.vi[venue, K.VI_NTRK])):
            slot = int(self.tl[venue, k])
            row = self.trk[venue, slot]
            if row[K.T_OWNER] == K.OWN:
                out.append((int(row[K.T_OID]), 1 if row[K.T_SIDE] == K.BID else -1,
                            float(row[K.T_PX] * spec.tick_size), float(row[K.T_REM] * spec.lot_size)))
        return out

    def queue_ahead(self, venue: int, own_id: int) -> float:
        """Quantity ahead of our order in its level's FIFO queue (background + earlier tracked orders)."""
        slot = K.find_tracked(self.trk, self.tl, self.vi, venue, K.OWN, own_id)
        if slot < 0:
            raise KeyError(f"no resting order {own_id} on venue {venue}")
        row = self.trk[venue, slot]
        ahead = int(row[K.T_BGAHEAD])
        for k in range(int(self.vi[venue, K.VI_NTRK])):
            other = self.trk[venue, int(self.tl[venue, k])]
            if (other[K.T_SIDE] == row[K.T_SIDE] and other[K.T_PX] == row[K.T_PX]
                    and other[K.T_SEQ] < row[K.T_SEQ]):
                ahead += int(other[K.T_REM])
        return ahead * self.venues[venue].lot_size

    def set_outage(self, venue: int, down: bool) -> None:
        """Halt (or reopen) a venue: no matching, no publishing; the feed resumes after a sequence gap."""
        K.set_down(self.bk, self.vi, self.dl, venue, -1, 1 if down else 0)

    # ------------------------------------------------------------------ statistics
    def stats(self) -> dict[str, object]:
        """Counters since t = 0 (after warm-up): per venue order events, trades, volume; per agent kind."""
        t = max(self.now_s, 1e-9)
        venues = []
        for k, spec in enumerate(self.venues):
            vi = self.vi[k]
            places = int(vi[K.VI_CNT_PLACE])
            cancels = int(vi[K.VI_CNT_CANCEL])
            takers = int(vi[K.VI_CNT_TAKER_ORDERS])
            venues.append({
                "name": spec.name,
                "order_events": places + cancels + takers,
                "order_events_per_s": (places + cancels + takers) / t,
                "placements": places,
                "cancels": cancels,
                "taker_orders": takers,
                "trade_prints": int(vi[K.VI_CNT_PRINTS]),
                "volume": int(vi[K.VI_VOL_LOTS]) * spec.lot_size,
                "volume_per_day": int(vi[K.VI_VOL_LOTS]) * spec.lot_size * 86_400.0 / t,
                "order_to_trade": places / max(takers, 1),
                "arb_trades": int(vi[K.VI_CNT_ARB]),
            })
        owners = {}
        for name, code in (("own", K.OWN), ("script", K.OWNER_SCRIPT), ("large_makers", K.OWNER_MM),
                           ("spoof", K.OWNER_SPOOF), ("stuff", K.OWNER_STUFF)):
            row = self.st[code]
            owners[name] = {"placed": int(row[K.ST_PLACED]), "canceled": int(row[K.ST_CANCELED]),
                            "canceled_unfilled": int(row[K.ST_CANCELED_UNFILLED]),
                            "canceled_unfilled_10s": int(row[K.ST_CANCELED_UNFILLED_10S]),
                            "any_fill": int(row[K.ST_ANY_FILL])}
        return {"t_s": t, "venues": venues, "owners": owners}

    # ------------------------------------------------------------------ internals
    def _own_rows(self, a: int, b: int, collect_script: bool) -> list[OwnEvent]:
        out: list[OwnEvent] = []
        for k in range(a, b):
            row = self.oe_i[k]
            v = int(row[K.OE_V])
            spec = self.venues[v]
            kind = "fill" if row[K.OE_KIND] == K.EV_FILL else "canceled"
            ev = OwnEvent(kind, float(self.oe_f[k]), v, int(row[K.OE_OID]), float(row[K.OE_PX] * spec.tick_size),
                          float(row[K.OE_QTY] * spec.lot_size), "taker" if row[K.OE_TAKER] else "maker",
                          int(row[K.OE_TRADE_ID]), float(row[K.OE_LEAVES] * spec.lot_size),
                          "price_band" if kind == "canceled" else "")
            if row[K.OE_OWNER] == K.OWNER_SCRIPT:
                if collect_script:
                    self.script_fills.append(ev)
                continue
            if kind == "canceled" or ev.leaves <= 0:
                self._live_own.discard((v, ev.own_id))
            out.append(ev)
        return out

    def _reset_counters(self) -> None:
        for col in (K.VI_CNT_PLACE, K.VI_CNT_CANCEL, K.VI_CNT_MKT, K.VI_CNT_PRINTS, K.VI_VOL_LOTS, K.VI_CNT_ARB,
                    K.VI_CNT_LATENT_TAKE, K.VI_CNT_TAKER_ORDERS, K.VI_CNT_BG_PLACE):
            self.vi[:, col] = 0
        self.vf[:, K.VF_VOL_NOTIONAL] = 0.0
        self.st[:] = 0
        self.script_fills = []

    def _init_state(self, p0: float) -> None:
        sc = self.scenario
        f = sc.fundamental
        self.g[K.G_LOGF] = math.log(p0)
        self.g[K.G_LOGF0] = math.log(p0)
        self.g[K.G_REGIME] = 1.0 if f.start_regime == "volatile" else 0.0
        # the log-vol factor starts in its stationary distribution (a run is a slice of a long market)
        self.g[K.G_H] = f.logvol_sd * float(SeedTree(self.seed).generator("sim/init").standard_normal())
        self.g[K.G_FORCED_REGIME_UNTIL] = -math.inf
        K.update_centers(self.vi, self.vf, self.pv, self.g)
        self.vf[:, K.VF_ANCHOR] = self.vf[:, K.VF_CENTER]
        self.g[K.G_X_DECAY_RATE] = self.gp[K.GP_X_DECAY]
        self.vf[:, K.VF_QMULT + K.BID] = 1.0
        self.vf[:, K.VF_QMULT + K.ASK] = 1.0
        for v in range(len(sc.venues)):
            center = round(self.vf[v, K.VF_CENTER])
            self.vi[v, K.VI_BASE] = center - K.NLEV // 2
            ci = K.NLEV // 2
            pv = self.pv[v]
            d0, dmax, b = pv[K.PV_L_D0], pv[K.PV_L_DMAX], pv[K.PV_L_SLOPE]
            mean_size = pv[K.PV_L_SIZE_MED] * math.exp(0.5 * pv[K.PV_L_SIZE_SIG] ** 2)
            for d in range(math.ceil(d0), int(dmax) + 1):
                q = round(b * (d - d0))
                if q <= 0:
                    continue
                n = max(1, round(q / mean_size))
                for s, i in ((K.BID, ci - d), (K.ASK, ci + d)):
                    self.bk[v, K.QL + s, i] = q
                    self.bk[v, K.NL + s, i] = n
            for s in range(2):
                K.fw_rebuild(self.fw[v, K.FW_L + s], self.bk[v, K.NL + s])
                self.vi[v, K.VI_NL_BID + s] = int(self.bk[v, K.NL + s].sum())
            self.vi[v, K.VI_BEST_BID] = K.NLEV - 1
            self.vi[v, K.VI_BEST_ASK] = 0
            K.refresh_best(self.bk, self.vi, v, K.BID)
            K.refresh_best(self.bk, self.vi, v, K.ASK)

    def _event_table(self, events: Sequence[EventInstance], scripted: Sequence[ScriptedOrder]) -> FloatArray:
        sc = self.scenario
        rows: list[list[float]] = []

        def row(t: float, typ: int, v: int = 0, side: int = 0, t1: float = math.inf, *p: float) -> None:
            r = [0.0] * K.NE
            r[K.E_T], r[K.E_TYPE], r[K.E_V], r[K.E_SIDE], r[K.E_T1] = t, float(typ), float(v), float(side), t1
            for k, x in enumerate(p):
                r[K.E_P1 + k] = float(x)
            rows.append(r)

        for e in events:
            side = K.ASK if e.side == "sell" else K.BID
            v = max(e.venue, 0)
            spec = sc.venues[v]
            prm = e.params
            if e.kind in ("flush", "informed"):
                typ = K.EVT_FLUSH if e.kind == "flush" else K.EVT_INFORMED
                chunk = max(1, round(prm["chunk_qty"] / spec.lot_size))
                row(e.start_s, typ, v, side, e.end_s, prm["dip"], chunk, prm["chunk_interval_s"], prm["recovery_s"])
            elif e.kind == "spoof":
                row(e.start_s, K.EVT_SPOOF, v, side, e.end_s, prm["spoof_size_min"] / spec.lot_size,
                    prm["spoof_size_max"] / spec.lot_size, prm["spoof_distance_min"], prm["spoof_distance_max"],
                    prm["spoof_layers"], prm["spoof_life_s"], prm["spoof_interval_s"])
            elif e.kind == "stuff":
                row(e.start_s, K.EVT_STUFF, v, side, e.end_s, prm["stuff_rate_per_s"],
                    max(1, round(prm["stuff_size"] / spec.lot_size)), prm["stuff_max_distance_ticks"])
            elif e.kind == "outage":
                row(e.start_s, K.EVT_OUTAGE, v)
                row(e.end_s, K.EVT_OUTAGE_END, v)
            elif e.kind == "regime":
                row(e.start_s, K.EVT_REGIME, 0, 0, e.end_s, prm["regime"])
        for so in scripted:
            v = so.venue
            spec = sc.venues[v]
            if so.cancel:
                row(so.t_s, K.EVT_SCRIPT_CANCEL, v, 0, math.inf, 0, 0, 0, 0, so.agent_id)
                continue
            px = -1 if so.price is None else round(so.price / spec.tick_size)
            row(so.t_s, K.EVT_SCRIPT, v, _side_code(so.side), math.inf, px, round(so.qty / spec.lot_size),
                1 if (so.ioc or so.price is None) else 0, 1 if so.post_only else 0, so.agent_id)
        rows.sort(key=lambda r: r[K.E_T])  # stable: same-time rows keep their order
        return np.array(rows, dtype=np.float64).reshape(-1, K.NE)


def typing_cast_pair(payload: object) -> tuple[FloatArray, IntArray]:
    tf, ti = payload  # type: ignore[misc]
    return tf, ti


def _xoshiro_state(tree: SeedTree, name: str) -> npt.NDArray[np.uint64]:
    state = tree.sequence(name).generate_state(4, np.uint64)
    if not state.any():
        state[0] = np.uint64(1)
    return state


def venue_params(v: object, p0: float) -> FloatArray:
    """Kernel parameter row for one venue (see the PV_* constants for meanings and units)."""
    from adapters.sim.scenario import VenueConfig

    assert isinstance(v, VenueConfig)
    pv = np.zeros(K.NPV)
    tick, lot = v.tick_size, v.lot_size
    ticks_per_bp = 1e-4 * p0 / tick
    pv[K.PV_TICK] = tick
    pv[K.PV_LOT] = lot
    h = v.hft
    pv[K.PV_HP_RATE] = h.rate_per_s
    pv[K.PV_H_LIFE] = h.life_s
    pv[K.PV_H_SIZE_MED] = h.size_median / lot
    pv[K.PV_H_SIZE_SIG] = h.size_sigma
    pv[K.PV_H_DIST_MEAN] = h.dist_mean_ticks
    pv[K.PV_H_IMPROVE] = h.improve_prob
    pv[K.PV_H_INV_K] = 1.0 / h.inventory_scale if h.inventory_scale > 0 else 0.0
    pv[K.PV_X_LOCAL_DECAY] = math.log(2.0) / v.local_resilience_half_life_s
    la = v.latent
    d0 = la.start_bps * ticks_per_bp
    x1 = 100.0 * ticks_per_bp
    dmax = la.end_pct * 100.0 * ticks_per_bp
    slope = 2.0 * (la.depth_1pct / lot) / (x1 - d0) ** 2
    mean_size = la.size_median / lot * math.exp(0.5 * la.size_sigma**2)
    total = slope * (dmax - d0) ** 2 / 2.0
    pv[K.PV_L_SLOPE] = slope
    pv[K.PV_L_D0] = d0
    pv[K.PV_L_DMAX] = dmax
    pv[K.PV_L_LIFE] = la.life_s
    pv[K.PV_L_STALE_LIFE] = la.stale_life_s
    pv[K.PV_L_SIZE_MED] = la.size_median / lot
    pv[K.PV_L_SIZE_SIG] = la.size_sigma
    pv[K.PV_L_RATE] = 2.0 * total / (la.life_s * mean_size)
    m = v.market_orders
    pv[K.PV_M_MU] = m.rate_per_s * (1.0 - m.branching)
    pv[K.PV_M_BRANCH] = m.branching
    pv[K.PV_M_BETA] = m.decay_per_s
    pv[K.PV_M_SIZE_MED] = m.size_median / lot
    pv[K.PV_M_SIZE_SIG] = m.size_sigma
    pv[K.PV_M_TAIL_P] = m.tail_prob
    pv[K.PV_M_TAIL_ALPHA] = m.tail_alpha
    pv[K.PV_M_TAIL_MIN] = m.tail_min / lot
    pv[K.PV_INF_BETA] = m.informed_tilt_per_bps
    pv[K.PV_INF_MAX] = m.informed_tilt_max
    pv[K.PV_M_MAX_LEVELS] = max(1.0, m.max_walk_bps * ticks_per_bp)
    lm = v.large_makers
    pv[K.PV_MM_RATE] = lm.rate_per_s
    pv[K.PV_MM_SIZE_MIN] = lm.size_min / lot
    pv[K.PV_MM_SIZE_MAX] = lm.size_max / lot
    pv[K.PV_MM_DIST_MAX] = lm.dist_max_ticks
    pv[K.PV_MM_SHORT_P] = lm.short_prob
    pv[K.PV_MM_SHORT_MEAN] = lm.short_mean_s
    pv[K.PV_MM_LONG_MIN] = lm.long_min_s
    pv[K.PV_MM_LONG_MAX] = lm.long_max_s
    pv[K.PV_BASIS] = v.basis_bps * 1e-4
    pv[K.PV_ARB_BPS] = v.arb_cost_bps
    pv[K.PV_WEIGHT] = v.weight
    pv[K.PV_ARB_MAX] = v.arb_max_qty
    pv[K.PV_MIN_SPREAD] = v.min_spread_ticks
    return pv


def global_params(sc: Scenario) -> FloatArray:
    f = sc.fundamental
    gp = np.zeros(K.NGP)
    gp[K.GP_DT_FUND] = f.step_s
    gp[K.GP_PUB_DT] = sc.market.publish_interval_ms / 1000.0
    gp[K.GP_ARB_DT] = sc.market.arb_interval_ms / 1000.0
    gp[K.GP_AGENT_DT] = sc.market.agent_interval_ms / 1000.0
    gp[K.GP_SIG_CALM] = f.daily_vol_calm / math.sqrt(86_400.0)
    gp[K.GP_SIG_VOL] = f.daily_vol_volatile / math.sqrt(86_400.0)
    gp[K.GP_SW_CV] = 1.0 / f.mean_calm_s
    gp[K.GP_SW_VC] = 1.0 / f.mean_volatile_s
    kappa_h = math.log(2.0) / f.logvol_half_life_s
    gp[K.GP_H_KAPPA] = kappa_h
    gp[K.GP_H_SIG] = f.logvol_sd * math.sqrt(2.0 * kappa_h)
    gp[K.GP_JUMP_RATE] = f.jumps_per_day / 86_400.0
    gp[K.GP_JUMP_SIG] = f.jump_sd
    gp[K.GP_JUMP_VOL_MULT] = f.jump_volatile_mult
    gp[K.GP_KAPPA_A] = math.log(2.0) / f.permanent_half_life_s
    gp[K.GP_ACT_VOL] = f.volatile_activity
    gp[K.GP_REGIMES_ON] = 1.0 if f.regimes else 0.0
    gp[K.GP_X_DECAY] = math.log(2.0) / sc.market.resilience_half_life_s
    return gp
