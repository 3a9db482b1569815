"""Compiled market kernel: multi-venue L2 books, background flow, fundamental, arbitrage, events.

Everything here is numba (`@njit(cache=True, nogil=True)`) over plain numpy arrays; the Python
facade (`adapters/sim/market.py`) owns the arrays and calls :func:`run` to advance time in
batches, and :func:`submit_order` / :func:`cancel_order` for our own orders between batches.

Units and conventions
---------------------
* Prices are int64 ticks, quantities int64 lots, per venue (``pv[v, PV_TICK]`` quote units per
  tick, ``pv[v, PV_LOT]`` base units per lot). A book is a fixed window of ``NLEV`` price
  levels: level index ``i`` is absolute tick ``vi[v, VI_BASE] + i``. The window re-centres when
  the reference price drifts towards an edge.
* Sides: 0 = bid (buy), 1 = ask (sell). Times are float seconds since the run started.
* Each level's quantity is the sum of three layers: ``QH`` (fast "HFT" quotes near the touch),
  ``QL`` (the latent book: a linear depth profile around the venue's reference price) and
  ``QT`` (tracked orders with an individual FIFO queue position: ours, scripted agents',
  market makers' large orders, spoofers', stuffers'). Background layers keep only aggregate
  quantity and an order count per level (cancels pick a live order uniformly at random through
  a Fenwick tree over counts, so every background order has the same cancel hazard).
* Fairness: matching, refill, arbitrage and the fundamental never read the ``T_OWNER`` field;
  it is used only to route fill reports (ours go to the own-event buffer) and statistics.

Queue-position rule for tracked orders: each keeps ``T_BGAHEAD``, the background quantity
ahead of it at its level; tracked orders at a level are ordered by arrival (``T_SEQ``).
A trade consumes the queue in FIFO order (background chunk, tracked order, background chunk,
...). A background cancel of ``c`` lots at a level holding ``B`` background lots removes
``c/B`` of every background chunk (pro rata: cancels are spread uniformly over the queue), so
``T_BGAHEAD`` becomes ``floor(T_BGAHEAD * (B - c) / B)``. New background orders join the back.

Random numbers: xoshiro256** streams, one per (venue, process) and per global process, seeded
by the facade. Every background event consumes a fixed number of draws from its own stream
whatever the book state, so two runs of the same seed that differ only by our orders see the
same background event times and sizes (common random numbers for impact measurements).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# --------------------------------------------------------------------------------------------
# Layout constants
# --------------------------------------------------------------------------------------------

NLEV = 8192  # levels in a book window (power of two: the Fenwick search relies on it)
BID = 0
ASK = 1
EMPTY_BID = -1
EMPTY_ASK = NLEV

# book planes: bk[v, plane + side, i]
QH = 0
QL = 2
QT = 4
NH = 6
NL = 8
DF = 10
NPLANES = 12
# Fenwick planes: fw[v, FW_H + side] counts of HFT orders, fw[v, FW_L + side] latent orders
FW_H = 0
FW_L = 2

# per-venue int state vi[v, :]
VI_BASE = 0
VI_BEST_BID = 1
VI_BEST_ASK = 2
VI_SEQ = 3
VI_PUB_SEQ = 4
VI_NDIRTY = 5
VI_TRADE_ID = 6
VI_DOWN = 7
VI_NH_BID = 8  # + side
VI_NL_BID = 10  # + side
VI_CNT_PLACE = 12
VI_CNT_CANCEL = 13
VI_CNT_MKT = 14
VI_CNT_PRINTS = 15
VI_TRK_SEQ = 16
VI_NTRK = 17
VI_VOL_LOTS = 18
VI_NFREE = 19
VI_CNT_ARB = 20
VI_DOWN_MANUAL = 22  # outage forced by the facade (set_outage)
VI_DOWN_EVENT = 23  # outage from the scenario timeline
VI_CNT_LATENT_TAKE = 24
VI_CNT_TAKER_ORDERS = 25
VI_CNT_BG_PLACE = 26
NVI = 32

# per-venue float state vf[v, :]
VF_CENTER = 0  # reference price in absolute ticks (float)
VF_HAWKES = 1  # excess intensity of market orders just after VF_HAWKES_T
VF_HAWKES_T = 2
VF_NEXT0 = 3  # next-event times of the per-venue processes start here
P_HPLACE = 0
P_HCANCEL = 1
P_LDEPOSIT = 2
P_LCANCEL = 3
P_MKT = 4
P_MM = 5
NPROC = 6
VF_VOL_NOTIONAL = 10  # traded quote notional
VF_ANCHOR = 11  # where fast quotes are centred (absolute ticks): reference x exp(G_X + VF_XLOC)
VF_XLOC = 12  # this venue's local displacement (log)
VF_INV = 13  # this venue's fast market makers' inventory, base units (+ long: they bought from sellers)
VF_QMULT = 14  # + side: size multiplier of new fast quotes, exp(-inventory that side would add / scale)
NVF = 16

# per-venue parameters pv[v, :]
PV_TICK = 0
PV_LOT = 1
PV_HP_RATE = 2  # HFT quote placements per second (both sides)
PV_H_LIFE = 3  # mean HFT quote lifetime, s
PV_H_SIZE_MED = 4  # lots
PV_H_SIZE_SIG = 5  # lognormal sigma
PV_H_DIST_MEAN = 6  # mean distance behind the same-side best, ticks
PV_H_IMPROVE = 7  # probability that a quote improves inside the spread (if wide enough)
PV_L_SLOPE = 8  # latent depth slope, lots per tick per tick of distance from the reference
PV_L_D0 = 9  # latent profile starts this many ticks from the reference
PV_L_DMAX = 10  # and ends here
PV_L_LIFE = 11  # mean latent order lifetime, s (resilience: deficit half-life = ln2 * life)
PV_L_SIZE_MED = 12
PV_L_SIZE_SIG = 13
PV_L_RATE = 14  # latent order deposits per second (both sides), derived
PV_M_MU = 15  # market-order baseline intensity, 1/s
PV_M_BRANCH = 16  # Hawkes branching ratio
PV_M_BETA = 17  # Hawkes decay, 1/s
PV_M_SIZE_MED = 18
PV_M_SIZE_SIG = 19
PV_M_TAIL_P = 20
PV_M_TAIL_ALPHA = 21
PV_M_TAIL_MIN = 22
PV_INF_BETA = 23  # buy probability tilt per bp of (reference - mid)
PV_INF_MAX = 24
PV_MM_RATE = 25
PV_MM_SIZE_MIN = 26
PV_MM_SIZE_MAX = 27
PV_MM_DIST_MAX = 28
PV_MM_SHORT_P = 29
PV_MM_SHORT_MEAN = 30
PV_MM_LONG_MIN = 31
PV_MM_LONG_MAX = 32
PV_BASIS = 33  # log offset of this venue's reference from the consolidated one
PV_ARB_BPS = 34  # arbitrageur's all-in cost per leg on this venue, bps
PV_WEIGHT = 35  # weight in the consolidated mid
PV_ARB_MAX = 36  # largest arbitrage clip, base units
PV_MIN_SPREAD = 37  # HFT quotes never narrow the spread below this many ticks
PV_M_MAX_LEVELS = 38  # background market orders stop after walking this many ticks
PV_X_LOCAL_DECAY = 39  # a venue's own displacement beyond the market-wide one decays at this rate, 1/s
PV_L_STALE_LIFE = 40  # mean life of latent orders left on the wrong side of the reference, s
PV_H_INV_K = 41  # 1 / hft.inventory_scale (0: fast quotes ignore the market makers' inventory)
NPV = 44

# global state g[:]
G_T = 0
G_LOGF = 1
G_P = 2
G_REGIME = 3
G_H = 4
G_NEXT_FUND = 5
G_NEXT_PUB = 6
G_NEXT_ARB = 7
G_NEXT_AGENT = 8
G_EV_PTR = 9
G_FORCED_REGIME_UNTIL = 10
G_LOGF0 = 11
G_STEP = 12  # fundamental steps taken (keys the stale-cancel hash draws)
G_X = 13  # market-wide transient displacement (log), left by trades, decays with the resilience
G_X_DECAY_RATE = 14  # copy of GP_X_DECAY (move_references has no gp)
NG = 16

# global parameters gp[:]
GP_DT_FUND = 0
GP_PUB_DT = 1
GP_ARB_DT = 2
GP_AGENT_DT = 3
GP_SIG_CALM = 4  # log-price volatility per sqrt(second) in the calm regime
GP_SIG_VOL = 5
GP_SW_CV = 6  # switching intensity calm -> volatile, 1/s
GP_SW_VC = 7
GP_H_KAPPA = 8  # mean reversion of the log-vol factor, 1/s
GP_H_SIG = 9  # its volatility per sqrt(second)
GP_JUMP_RATE = 10  # fundamental jumps per second
GP_JUMP_SIG = 11  # jump size sd (log)
GP_KAPPA_A = 12  # permanent-impact learning rate, 1/s
GP_ACT_VOL = 13  # activity multiplier of all flows in the volatile regime
GP_REGIMES_ON = 14
GP_RECORD = 15  # 1 to record the 1 s path buffer
GP_JUMP_VOL_MULT = 16
GP_X_DECAY = 17  # market-wide resilience: G_X decays at this rate, 1/s
NGP = 20

# tracked orders trk[v, slot, :]
T_ACTIVE = 0
T_SIDE = 1
T_PX = 2
T_REM = 3
T_BGAHEAD = 4
T_SEQ = 5
T_OWNER = 6
T_OID = 7
T_ORIG = 8
T_LPOS = 9
T_AGENT = 10
NT = 12
TF_EXPIRE = 0
TF_PLACED = 1
MAXTRK = 2048

OWN = 0
OWNER_SCRIPT = 1
OWNER_MM = 2
OWNER_SPOOF = 3
OWNER_STUFF = 4
OWNER_ARB = 5
OWNER_BG = 6
OWNER_FLUSH = 7
NOWNER = 8
# statistics per owner st[owner, :]
ST_PLACED = 0
ST_CANCELED_UNFILLED = 1
ST_CANCELED_UNFILLED_10S = 2
ST_ANY_FILL = 3
ST_FILL_LOTS = 4
ST_CANCELED = 5
NST = 8

# own-event buffer rows oe_i[k, :] (times in oe_f[k])
OE_KIND = 0
OE_V = 1
OE_OID = 2
OE_PX = 3
OE_QTY = 4
OE_TRADE_ID = 5
OE_OWNER = 6
OE_TAKER = 7
OE_LEAVES = 8
NOE = 9
EV_FILL = 1
EV_CANCELED = 2  # removed by the venue (price band after a re-centre)

# submit status codes
SUB_OK = 0
SUB_POST_ONLY_CROSS = 1
SUB_PRICE_BAND = 2
SUB_NO_SLOT = 3
SUB_DOWN = 4

# timeline events ev[k, :]
E_T = 0
E_TYPE = 1
E_V = 2
E_SIDE = 3
E_T1 = 4
E_P1 = 5
E_P2 = 6
E_P3 = 7
E_P4 = 8
E_P5 = 9
E_P6 = 10
E_P7 = 11
NE = 12
EVT_FLUSH = 1  # P1 dip fraction, P2 chunk lots, P3 chunk interval s, P4 recovery s, T1 latest end of selling
EVT_INFORMED = 2  # P1 dip fraction (fundamental jump), P2 chunk lots, P3 chunk interval
EVT_SPOOF = 3  # P1 size min lots, P2 size max, P3 dist min ticks, P4 dist max, P5 layers, P6 life max s, P7 interval s
EVT_STUFF = 4  # P1 messages per second, P2 size lots, P3 max distance ticks
EVT_OUTAGE = 5  # T1 end
EVT_REGIME = 6  # P1 regime (0 calm, 1 volatile), T1 end of forcing (inf = from then on)
EVT_SCRIPT = 7  # P1 limit tick (absolute) or -1 market, P2 lots, P3 ioc, P4 post_only, P5 oid
EVT_SCRIPT_CANCEL = 8  # P5 oid
EVT_MARK = 9  # label only (latency spike, axed desk window): no market effect
EVT_OUTAGE_END = 10

# agents ag[k, :] (flush / spoof / stuff campaigns running)
A_TYPE = 0
A_V = 1
A_SIDE = 2
A_T0 = 3
A_T1 = 4
A_NEXT = 5
A_REF = 6
A_P1 = 7
A_SOLD = 14  # flush: lots sold so far (bought back in the recovery phase)
A_MODE = 15  # flush: 0 selling, 1 dip buyers buying back
NA_COLS = 16
MAXAGENTS = 32
# Model switches (compile-time). ANCHOR_BEYOND_ONLY: a trade moves the quotes' anchor only by the
# part of its mid move beyond the anchor (a trade that merely brings a stale mid back to the
# anchor after news leaves no displacement). LATENT_SIDE_CENTERS / LATENT_OFFSET: the side facing
# away from a displacement re-forms around the displaced price (off: both latent sides hang around
# the reference, and small metaorders were damped below the square root: delta 0.72-0.73 over 10
# seeds instead of 0.66-0.67; see docs/simulator.md, "Square root from the book").
ANCHOR_BEYOND_ONLY = True
# cancels are a thinned Poisson process: candidates at THIN_BOUND x the placement rate, each
# accepted with probability (live orders / mean life) / bound (>= 1 when the book is over-full)
THIN_BOUND = 1.3
LATENT_OFFSET = True
LATENT_SIDE_CENTERS = True
FLUSH_REBOUND_SHARE = 0.1  # dip buyers stop once the price is back within this share of the dip
SPOOF_PULL_TICKS = 1  # a spoofer pulls an order once it is this close to the touch

# counters / capacities cnt[:]
C_TR = 0
C_DH = 1
C_DE = 2
C_OE = 3
C_REC = 4
C_TR_CAP = 5
C_DH_CAP = 6
C_DE_CAP = 7
C_OE_CAP = 8
C_REC_CAP = 9
NCNT = 10

# stream layout
NS_PER_VENUE = 8
S_HP = 0
S_HC = 1
S_LD = 2
S_LC = 3
S_MKT = 4
S_MM = 5
S_AGENT = 6
S_G_FUND = 0
S_G_REGIME = 1
S_G_AGENT = 2
NS_GLOBAL = 4

INF = math.inf
U53 = 1.0 / 9007199254740992.0


# --------------------------------------------------------------------------------------------
# Random numbers: xoshiro256**
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True, nogil=True)
def next_u64(st: np.ndarray, s: int) -> np.uint64:
    s0 = st[s, 0]
    s1 = st[s, 1]
    s2 = st[s, 2]
    s3 = st[s, 3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    st[s, 0] = s0
    st[s, 1] = s1
    st[s, 2] = s2
    st[s, 3] = s3
    return result


@njit(cache=True, nogil=True)
def unif(st: np.ndarray, s: int) -> float:
    """Uniform in the open interval (0, 1)."""
    return (float(next_u64(st, s) >> np.uint64(11)) + 0.5) * U53


@njit(cache=True, nogil=True)
def expo(st: np.ndarray, s: int, rate: float) -> float:
    return -math.log(unif(st, s)) / rate


@njit(cache=True, nogil=True)
def normal(st: np.ndarray, s: int) -> float:
    """Box-Muller; always consumes two draws."""
    u1 = unif(st, s)
    u2 = unif(st, s)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)


@njit(cache=True, nogil=True)
def hash_unif(a: int, b: int, c: int) -> float:
    """A uniform in (0,1) that depends only on (a, b, c) (splitmix64 finaliser): state-dependent
    loops use it so they never shift any stream's sequence."""
    z = np.uint64(a) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(b) * np.uint64(0xBF58476D1CE4E5B9) \
        + np.uint64(c) * np.uint64(0x94D049BB133111EB) + np.uint64(0x2545F4914F6CDD1D)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (float(z >> np.uint64(11)) + 0.5) * U53


@njit(cache=True, nogil=True)
def lognormal_lots(st: np.ndarray, s: int, med: float, sig: float) -> int:
    q = int(med * math.exp(sig * normal(st, s)) + 0.5)
    return q if q > 0 else 1


# --------------------------------------------------------------------------------------------
# Fenwick tree over order counts (one per venue, layer and side)
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def fw_add(f: np.ndarray, i: int, delta: int) -> None:
    j = i + 1
    while j <= NLEV:
        f[j] += delta
        j += j & (-j)


@njit(cache=True, nogil=True)
def fw_find(f: np.ndarray, k: int) -> int:
    """Index of the level holding the k-th order (0-based) in level order."""
    pos = 0
    rem = k
    step = NLEV
    while step > 0:
        nxt = pos + step
        if nxt <= NLEV and f[nxt] <= rem:
            pos = nxt
            rem -= f[nxt]
        step >>= 1
    return pos


@njit(cache=True, nogil=True)
def fw_rebuild(f: np.ndarray, counts: np.ndarray) -> None:
    f[:] = 0
    for i in range(NLEV):
        f[i + 1] += counts[i]
        j = (i + 1) + ((i + 1) & (-(i + 1)))
        if j <= NLEV:
            f[j] += f[i + 1]


# --------------------------------------------------------------------------------------------
# Book helpers
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def level_total(bk: np.ndarray, v: int, s: int, i: int) -> int:
    return bk[v, QH + s, i] + bk[v, QL + s, i] + bk[v, QT + s, i]


@njit(cache=True, nogil=True)
def mark_dirty(bk: np.ndarray, vi: np.ndarray, dl: np.ndarray, v: int, s: int, i: int) -> None:
    if bk[v, DF + s, i] == 0:
        bk[v, DF + s, i] = 1
        dl[v, vi[v, VI_NDIRTY]] = s * NLEV + i
        vi[v, VI_NDIRTY] += 1


@njit(cache=True, nogil=True)
def refresh_best(bk: np.ndarray, vi: np.ndarray, v: int, s: int) -> None:
    if s == BID:
        i = vi[v, VI_BEST_BID]
        if i >= NLEV:
            i = NLEV - 1
        while i >= 0 and level_total(bk, v, BID, i) == 0:
            i -= 1
        vi[v, VI_BEST_BID] = i
    else:
        i = vi[v, VI_BEST_ASK]
        if i < 0:
            i = 0
        while i < NLEV and level_total(bk, v, ASK, i) == 0:
            i += 1
        vi[v, VI_BEST_ASK] = i


@njit(cache=True, nogil=True)
def note_added(vi: np.ndarray, v: int, s: int, i: int) -> None:
    if s == BID:
        if i > vi[v, VI_BEST_BID]:
            vi[v, VI_BEST_BID] = i
    elif i < vi[v, VI_BEST_ASK]:
        vi[v, VI_BEST_ASK] = i


@njit(cache=True, nogil=True)
def mid_ticks(vi: np.ndarray, vf: np.ndarray, v: int) -> float:
    """Mid in absolute ticks; falls back to the reference price if a side is empty."""
    bb = vi[v, VI_BEST_BID]
    ba = vi[v, VI_BEST_ASK]
    if bb < 0 or ba >= NLEV:
        return vf[v, VF_CENTER]
    return vi[v, VI_BASE] + 0.5 * (bb + ba)


@njit(cache=True, nogil=True)
def bg_add(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, dl: np.ndarray, v: int, s: int, i: int,
           layer: int, q: int) -> None:
    """A background order of q lots joins the back of the queue at level i."""
    if layer == 0:
        bk[v, QH + s, i] += q
        bk[v, NH + s, i] += 1
        fw_add(fw[v, FW_H + s], i, 1)
        vi[v, VI_NH_BID + s] += 1
    else:
        bk[v, QL + s, i] += q
        bk[v, NL + s, i] += 1
        fw_add(fw[v, FW_L + s], i, 1)
        vi[v, VI_NL_BID + s] += 1
    mark_dirty(bk, vi, dl, v, s, i)
    note_added(vi, v, s, i)
    vi[v, VI_SEQ] += 1
    vi[v, VI_CNT_PLACE] += 1
    vi[v, VI_CNT_BG_PLACE] += 1


@njit(cache=True, nogil=True)
def scale_ahead(bk: np.ndarray, trk: np.ndarray, tl: np.ndarray, vi: np.ndarray, v: int, s: int, i: int,
                b_old: int, b_new: int) -> None:
    """Pro-rata queue-ahead update after background quantity at a level shrank by a cancel."""
    if bk[v, QT + s, i] == 0:
        return
    px = vi[v, VI_BASE] + i
    for k in range(vi[v, VI_NTRK]):
        slot = tl[v, k]
        if trk[v, slot, T_SIDE] == s and trk[v, slot, T_PX] == px:
            if b_old > 0:
                trk[v, slot, T_BGAHEAD] = (trk[v, slot, T_BGAHEAD] * b_new) // b_old
            else:
                trk[v, slot, T_BGAHEAD] = 0


@njit(cache=True, nogil=True)
def bg_cancel_one(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, dl: np.ndarray, trk: np.ndarray,
                  tl: np.ndarray, v: int, s: int, i: int, layer: int) -> None:
    """Cancel one (average-sized) background order of `layer` at level i."""
    qp = QH + s if layer == 0 else QL + s
    np_ = NH + s if layer == 0 else NL + s
    n = bk[v, np_, i]
    if n <= 0:
        return
    q = bk[v, qp, i]
    c = q // n if n > 1 else q
    b_old = bk[v, QH + s, i] + bk[v, QL + s, i]
    bk[v, qp, i] = q - c
    bk[v, np_, i] = n - 1
    if layer == 0:
        fw_add(fw[v, FW_H + s], i, -1)
        vi[v, VI_NH_BID + s] -= 1
    else:
        fw_add(fw[v, FW_L + s], i, -1)
        vi[v, VI_NL_BID + s] -= 1
    scale_ahead(bk, trk, tl, vi, v, s, i, b_old, b_old - c)
    mark_dirty(bk, vi, dl, v, s, i)
    vi[v, VI_SEQ] += 1
    vi[v, VI_CNT_CANCEL] += 1
    at_best = i == vi[v, VI_BEST_BID] if s == BID else i == vi[v, VI_BEST_ASK]
    if c > 0 and at_best and level_total(bk, v, s, i) == 0:
        refresh_best(bk, vi, v, s)


@njit(cache=True, nogil=True)
def _reduce_counts(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, v: int, s: int, i: int, layer: int,
                   q_old: int, q_new: int) -> None:
    """Orders fully filled by a trade leave the count (count scales with the quantity left)."""
    np_ = NH + s if layer == 0 else NL + s
    n = bk[v, np_, i]
    if n == 0:
        return
    if q_new <= 0:
        n_new = 0
    else:
        n_new = (n * q_new + q_old - 1) // q_old
        if n_new < 1:
            n_new = 1
    d = n_new - n
    if d != 0:
        bk[v, np_, i] = n_new
        if layer == 0:
            fw_add(fw[v, FW_H + s], i, d)
            vi[v, VI_NH_BID + s] += d
        else:
            fw_add(fw[v, FW_L + s], i, d)
            vi[v, VI_NL_BID + s] += d


# --------------------------------------------------------------------------------------------
# Tracked orders
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def trk_remove(trk: np.ndarray, tl: np.ndarray, tfree: np.ndarray, vi: np.ndarray, v: int, slot: int) -> None:
    pos = trk[v, slot, T_LPOS]
    last = vi[v, VI_NTRK] - 1
    moved = tl[v, last]
    tl[v, pos] = moved
    trk[v, moved, T_LPOS] = pos
    vi[v, VI_NTRK] = last
    trk[v, slot, T_ACTIVE] = 0
    tfree[v, vi[v, VI_NFREE]] = slot
    vi[v, VI_NFREE] += 1


@njit(cache=True, nogil=True)
def emit_own(oe_f: np.ndarray, oe_i: np.ndarray, cnt: np.ndarray, t: float, kind: int, v: int, oid: int,
             px: int, qty: int, trade_id: int, owner: int, taker: int, leaves: int) -> None:
    k = cnt[C_OE]
    if k >= oe_i.shape[0]:
        return  # the facade sizes this buffer so that this cannot happen
    oe_f[k] = t
    oe_i[k, OE_KIND] = kind
    oe_i[k, OE_V] = v
    oe_i[k, OE_OID] = oid
    oe_i[k, OE_PX] = px
    oe_i[k, OE_QTY] = qty
    oe_i[k, OE_TRADE_ID] = trade_id
    oe_i[k, OE_OWNER] = owner
    oe_i[k, OE_TAKER] = taker
    oe_i[k, OE_LEAVES] = leaves
    cnt[C_OE] = k + 1


@njit(cache=True, nogil=True)
def trk_place(bk: np.ndarray, vi: np.ndarray, dl: np.ndarray, trk: np.ndarray, trkf: np.ndarray, tl: np.ndarray,
              tfree: np.ndarray, st: np.ndarray, v: int, s: int, i: int, q: int, owner: int, oid: int, t: float,
              expire: float, agent: int) -> int:
    """Rest a tracked order at level i behind everything already there. Returns the slot or -1."""
    if vi[v, VI_NFREE] == 0:
        return -1
    vi[v, VI_NFREE] -= 1
    slot = tfree[v, vi[v, VI_NFREE]]
    trk[v, slot, T_ACTIVE] = 1
    trk[v, slot, T_SIDE] = s
    trk[v, slot, T_PX] = vi[v, VI_BASE] + i
    trk[v, slot, T_REM] = q
    trk[v, slot, T_BGAHEAD] = bk[v, QH + s, i] + bk[v, QL + s, i]
    trk[v, slot, T_SEQ] = vi[v, VI_TRK_SEQ]
    vi[v, VI_TRK_SEQ] += 1
    trk[v, slot, T_OWNER] = owner
    trk[v, slot, T_OID] = oid
    trk[v, slot, T_ORIG] = q
    trk[v, slot, T_AGENT] = agent
    trkf[v, slot, TF_EXPIRE] = expire
    trkf[v, slot, TF_PLACED] = t
    n = vi[v, VI_NTRK]
    tl[v, n] = slot
    trk[v, slot, T_LPOS] = n
    vi[v, VI_NTRK] = n + 1
    bk[v, QT + s, i] += q
    mark_dirty(bk, vi, dl, v, s, i)
    note_added(vi, v, s, i)
    vi[v, VI_SEQ] += 1
    vi[v, VI_CNT_PLACE] += 1
    st[owner, ST_PLACED] += 1
    return slot


@njit(cache=True, nogil=True)
def trk_cancel(bk: np.ndarray, vi: np.ndarray, dl: np.ndarray, trk: np.ndarray, trkf: np.ndarray, tl: np.ndarray,
               tfree: np.ndarray, st: np.ndarray, v: int, slot: int, t: float) -> int:
    """Remove a resting tracked order; returns the lots it still had."""
    s = trk[v, slot, T_SIDE]
    i = trk[v, slot, T_PX] - vi[v, VI_BASE]
    rem = trk[v, slot, T_REM]
    owner = trk[v, slot, T_OWNER]
    if 0 <= i < NLEV:
        bk[v, QT + s, i] -= rem
        mark_dirty(bk, vi, dl, v, s, i)
        at_best = i == vi[v, VI_BEST_BID] if s == BID else i == vi[v, VI_BEST_ASK]
        if at_best and level_total(bk, v, s, i) == 0:
            refresh_best(bk, vi, v, s)
    vi[v, VI_SEQ] += 1
    vi[v, VI_CNT_CANCEL] += 1
    st[owner, ST_CANCELED] += 1
    if rem == trk[v, slot, T_ORIG]:
        st[owner, ST_CANCELED_UNFILLED] += 1
        if t - trkf[v, slot, TF_PLACED] <= 10.0:
            st[owner, ST_CANCELED_UNFILLED_10S] += 1
    trk_remove(trk, tl, tfree, vi, v, slot)
    return rem


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def consume_level(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, dl: np.ndarray, trk: np.ndarray,
                  trkf: np.ndarray, tl: np.ndarray, tfree: np.ndarray, st: np.ndarray, oe_f: np.ndarray,
                  oe_i: np.ndarray, cnt: np.ndarray, v: int, s: int, i: int, x: int, t: float,
                  trade_id: int) -> int:
    """An aggressor takes up to x lots from resting side s at level i in FIFO order; returns lots taken."""
    qh = bk[v, QH + s, i]
    ql = bk[v, QL + s, i]
    b = qh + ql
    taken = 0
    consumed_bg = 0
    if bk[v, QT + s, i] > 0:
        px = vi[v, VI_BASE] + i
        # tracked orders at this level, in arrival order
        m = 0
        slots = np.empty(64, dtype=np.int64)
        for k in range(vi[v, VI_NTRK]):
            slot = tl[v, k]
            if trk[v, slot, T_SIDE] == s and trk[v, slot, T_PX] == px and m < 64:
                slots[m] = slot
                m += 1
        # insertion sort by T_SEQ (m is small)
        for a in range(1, m):
            cur = slots[a]
            b2 = a - 1
            while b2 >= 0 and trk[v, slots[b2], T_SEQ] > trk[v, cur, T_SEQ]:
                slots[b2 + 1] = slots[b2]
                b2 -= 1
            slots[b2 + 1] = cur
        rest = x
        for a in range(m):
            slot = slots[a]
            gap = trk[v, slot, T_BGAHEAD] - consumed_bg
            if gap > 0:
                take = gap if gap < rest else rest
                consumed_bg += take
                rest -= take
            if rest == 0:
                break
            rem = trk[v, slot, T_REM]
            f = rem if rem < rest else rest
            if f > 0:
                rest -= f
                rem -= f
                trk[v, slot, T_REM] = rem
                bk[v, QT + s, i] -= f
                owner = trk[v, slot, T_OWNER]
                st[owner, ST_FILL_LOTS] += f
                if rem + f == trk[v, slot, T_ORIG]:
                    st[owner, ST_ANY_FILL] += 1
                if owner <= OWNER_SCRIPT:
                    emit_own(oe_f, oe_i, cnt, t, EV_FILL, v, trk[v, slot, T_OID], px, f, trade_id, owner, 0, rem)
            if rest == 0:
                break
        if rest > 0:
            left = b - consumed_bg
            take = left if left < rest else rest
            consumed_bg += take
            rest -= take
        taken = x - rest
        # queue-ahead of the tracked orders still resting shrinks by the background consumed
        for a in range(m):
            slot = slots[a]
            ahead = trk[v, slot, T_BGAHEAD] - consumed_bg
            trk[v, slot, T_BGAHEAD] = ahead if ahead > 0 else 0
        for a in range(m):
            slot = slots[a]
            if trk[v, slot, T_REM] == 0:
                trk_remove(trk, tl, tfree, vi, v, slot)
    else:
        consumed_bg = b if b < x else x
        taken = consumed_bg
    if consumed_bg > 0:
        # background consumed pro rata between the two layers (they interleave in time)
        from_l = (consumed_bg * ql) // b if b > 0 else 0
        from_h = consumed_bg - from_l
        if from_h > qh:
            from_h = qh
            from_l = consumed_bg - qh
        if from_h > 0:
            bk[v, QH + s, i] = qh - from_h
            _reduce_counts(bk, fw, vi, v, s, i, 0, qh, qh - from_h)
        if from_l > 0:
            bk[v, QL + s, i] = ql - from_l
            _reduce_counts(bk, fw, vi, v, s, i, 1, ql, ql - from_l)
    if taken > 0:
        mark_dirty(bk, vi, dl, v, s, i)
    return taken


@njit(cache=True, nogil=True)
def note_mm_fills(vf: np.ndarray, pv: np.ndarray, v: int, s: int, lots: int) -> None:
    """Fast quotes of resting side s on venue v lost `lots` to an aggressor (anyone's): that venue's
    market makers' inventory moves, and the side that would add to it quotes smaller
    (inventory-averse market making: Avellaneda & Stoikov 2008; Gueant, Lehalle & Fernandez-Tapia
    2013, where a market maker near its inventory bound stops quoting the side that would exceed
    it). The inventory is laid off passively: the other side keeps quoting full size and is filled
    by the opposite flow (including arbitrage, which carries it to the other venues)."""
    q = lots * pv[v, PV_LOT]
    vf[v, VF_INV] += q if s == BID else -q
    k = pv[v, PV_H_INV_K]
    if k > 0.0:
        inv = vf[v, VF_INV]
        vf[v, VF_QMULT + BID] = math.exp(-inv * k) if inv > 0.0 else 1.0
        vf[v, VF_QMULT + ASK] = math.exp(inv * k) if inv < 0.0 else 1.0


@njit(cache=True, nogil=True)
def set_anchors(vi: np.ndarray, vf: np.ndarray, g: np.ndarray) -> None:
    for u in range(vi.shape[0]):
        vf[u, VF_ANCHOR] = vf[u, VF_CENTER] * math.exp(g[G_X] + vf[u, VF_XLOC])


@njit(cache=True, nogil=True)
def walk(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, g: np.ndarray,
         dl: np.ndarray,
         trk: np.ndarray, trkf: np.ndarray, tl: np.ndarray, tfree: np.ndarray, st: np.ndarray, oe_f: np.ndarray,
         oe_i: np.ndarray, cnt: np.ndarray, tr_f: np.ndarray, tr_i: np.ndarray, v: int, aside: int, limit_i: int,
         qty: int, t: float, owner: int, oid: int, max_levels: int) -> int:
    """An aggressive order of `qty` lots on side `aside` walks the opposite side up to limit_i.

    One trade print per price level (aggregated trade, as exchanges publish). Returns lots filled.
    """
    s = 1 - aside
    filled = 0
    first = -1
    mid_before = mid_ticks(vi, vf, v)
    had_both = vi[v, VI_BEST_BID] >= 0 and vi[v, VI_BEST_ASK] < NLEV
    mm_lots = 0
    while qty > 0:
        i = vi[v, VI_BEST_ASK] if aside == BID else vi[v, VI_BEST_BID]
        if i < 0 or i >= NLEV:
            break
        if aside == BID and i > limit_i:
            break
        if aside == ASK and i < limit_i:
            break
        if first < 0:
            first = i
        elif (aside == BID and i - first > max_levels) or (aside == ASK and first - i > max_levels):
            break
        tid = vi[v, VI_TRADE_ID] + 1
        qh = bk[v, QH + s, i]
        c = consume_level(bk, fw, vi, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, v, s, i, qty, t, tid)
        mm_lots += qh - bk[v, QH + s, i]
        if c > 0:
            vi[v, VI_TRADE_ID] = tid
            qty -= c
            filled += c
            px = vi[v, VI_BASE] + i
            k = cnt[C_TR]
            if k < tr_i.shape[0]:
                tr_f[k] = t
                tr_i[k, 0] = v
                tr_i[k, 1] = px
                tr_i[k, 2] = c
                tr_i[k, 3] = aside
                tr_i[k, 4] = tid
                cnt[C_TR] = k + 1
            vi[v, VI_CNT_PRINTS] += 1
            vi[v, VI_VOL_LOTS] += c
            vf[v, VF_VOL_NOTIONAL] += c * pv[v, PV_LOT] * px * pv[v, PV_TICK]
            if owner <= OWNER_SCRIPT:
                emit_own(oe_f, oe_i, cnt, t, EV_FILL, v, oid, px, c, tid, owner, 1, qty)
        if level_total(bk, v, s, i) == 0:
            refresh_best(bk, vi, v, s)
        elif c == 0:
            break  # cannot happen: a non-empty level always gives something
    vi[v, VI_SEQ] += 1
    vi[v, VI_CNT_TAKER_ORDERS] += 1
    if mm_lots > 0:
        note_mm_fills(vf, pv, v, s, mm_lots)
    if filled > 0 and vi[v, VI_BEST_BID] >= 0 and vi[v, VI_BEST_ASK] < NLEV and had_both:
        # market makers everywhere re-quote around the price the trade left (whoever traded):
        # the part of the mid move beyond this venue's anchor is a displacement, shared between
        # the market (by the venue's weight: other venues' quotes follow at once) and the venue
        mid_after = mid_ticks(vi, vf, v)
        a = vf[v, VF_ANCHOR]
        shift = mid_after - mid_before
        if ANCHOR_BEYOND_ONLY:
            if aside == ASK:
                shift = mid_after - (mid_before if mid_before < a else a)
                if shift > 0.0:
                    shift = 0.0
            else:
                shift = mid_after - (mid_before if mid_before > a else a)
                if shift < 0.0:
                    shift = 0.0
        if shift != 0.0:
            dlog = shift / a
            wsum = 0.0
            for u in range(vi.shape[0]):
                if vi[u, VI_DOWN] == 0:
                    wsum += pv[u, PV_WEIGHT]
            w = pv[v, PV_WEIGHT] / wsum if wsum > 0 else 1.0
            if owner == OWNER_ARB:
                w = 0.0  # an arbitrage's two legs net to zero: they only realign venues
            g[G_X] += w * dlog
            vf[v, VF_XLOC] += (1.0 - w) * dlog
            set_anchors(vi, vf, g)
    return filled


@njit(cache=True, nogil=True)
def submit_order(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, g: np.ndarray,
    dl: np.ndarray,
                 trk: np.ndarray, trkf: np.ndarray, tl: np.ndarray, tfree: np.ndarray, st: np.ndarray,
                 oe_f: np.ndarray, oe_i: np.ndarray, cnt: np.ndarray, tr_f: np.ndarray, tr_i: np.ndarray, v: int,
                 side: int, has_limit: int, limit_px: int, qty: int, post_only: int, ioc: int, owner: int,
                 oid: int, t: float) -> int:
    """Our order (or a scripted agent's) arrives at time t: match, then rest the remainder.

    Fills are written to the own-event buffer. Returns a SUB_* status code.
    """
    if vi[v, VI_DOWN] != 0:
        return SUB_DOWN
    base = vi[v, VI_BASE]
    if has_limit:
        li = limit_px - base
        if li < 0 or li >= NLEV:
            return SUB_PRICE_BAND
    else:
        li = NLEV - 1 if side == BID else 0
    if post_only:
        if side == BID and vi[v, VI_BEST_ASK] < NLEV and li >= vi[v, VI_BEST_ASK]:
            return SUB_POST_ONLY_CROSS
        if side == ASK and vi[v, VI_BEST_BID] >= 0 and li <= vi[v, VI_BEST_BID]:
            return SUB_POST_ONLY_CROSS
    filled = walk(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i, v, side, li, qty,
                  t, owner, oid, NLEV)
    rem = qty - filled
    if rem > 0 and has_limit and not ioc:
        slot = trk_place(bk, vi, dl, trk, trkf, tl, tfree, st, v, side, li, rem, owner, oid, t, INF, -1)
        if slot < 0:
            return SUB_NO_SLOT
    return SUB_OK


@njit(cache=True, nogil=True)
def find_tracked(trk: np.ndarray, tl: np.ndarray, vi: np.ndarray, v: int, owner: int, oid: int) -> int:
    for k in range(vi[v, VI_NTRK]):
        slot = tl[v, k]
        if trk[v, slot, T_OWNER] == owner and trk[v, slot, T_OID] == oid:
            return slot
    return -1


@njit(cache=True, nogil=True)
def cancel_order(bk: np.ndarray, vi: np.ndarray, dl: np.ndarray, trk: np.ndarray, trkf: np.ndarray, tl: np.ndarray,
                 tfree: np.ndarray, st: np.ndarray, v: int, owner: int, oid: int, t: float) -> int:
    """Cancel a resting tracked order; returns the lots canceled or -1 if not found."""
    slot = find_tracked(trk, tl, vi, v, owner, oid)
    if slot < 0:
        return -1
    return trk_cancel(bk, vi, dl, trk, trkf, tl, tfree, st, v, slot, t)


# --------------------------------------------------------------------------------------------
# Background processes
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def activity(g: np.ndarray, gp: np.ndarray) -> float:
    return gp[GP_ACT_VOL] if g[G_REGIME] > 0.5 else 1.0


@njit(cache=True, nogil=True)
def center_index(vi: np.ndarray, vf: np.ndarray, v: int) -> int:
    return math.floor(vf[v, VF_CENTER] + 0.5) - vi[v, VI_BASE]


@njit(cache=True, nogil=True)
def latent_center(vi: np.ndarray, vf: np.ndarray, v: int, s: int) -> int:
    """Level index the latent profile of side s is measured from.

    Bids hang below max(reference, anchor) and asks above min(reference, anchor): when trades
    have pushed the price below the reference, value buyers keep their valuations (the consumed
    bid side refills toward the reference: resilience) while sellers follow the market down (the
    ask side re-forms near the displaced price), and symmetrically above.
    """
    c = vf[v, VF_CENTER]
    a = vf[v, VF_ANCHOR]
    x = (c if c > a else a) if s == BID else (c if c < a else a)
    if not LATENT_SIDE_CENTERS:
        x = c
    return math.floor(x + 0.5) - vi[v, VI_BASE]


@njit(cache=True, nogil=True)
def hft_place(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, dl: np.ndarray,
              rng: np.ndarray, v: int) -> None:
    """A fast market-making quote near the anchor (never crossing the opposite best).

    The anchor moves with the reference (market makers see news at once) and follows the
    venue's own mid (they re-quote where the market trades), so quotes neither pin the price
    to the reference nor ignore it. Its size shrinks on the side that would add to the market
    makers' inventory (``VF_QMULT``, see :func:`note_mm_fills`).
    """
    sb = v * NS_PER_VENUE + S_HP
    u_side = unif(rng, sb)
    u_imp = unif(rng, sb)
    u_pos = unif(rng, sb)
    q = lognormal_lots(rng, sb, pv[v, PV_H_SIZE_MED], pv[v, PV_H_SIZE_SIG])
    s = BID if u_side < 0.5 else ASK
    m = vf[v, VF_QMULT + s]
    if m < 1.0:
        q = int(q * m + 0.5)
        if q < 1:
            q = 1
    bb = vi[v, VI_BEST_BID]
    ba = vi[v, VI_BEST_ASK]
    half = 0.5 * pv[v, PV_MIN_SPREAD]
    # distance behind the anchor's touch has density growing linearly (mean dist_mean): the
    # quoted book is V-shaped around the price like the latent one, so it is thin at the touch
    j = int(1.5 * pv[v, PV_H_DIST_MEAN] * math.sqrt(u_pos))
    a = vf[v, VF_ANCHOR] - vi[v, VI_BASE]
    if u_imp < pv[v, PV_H_IMPROVE]:
        j = 0
    # when the book has moved through the anchor (a flush took the asks below it), market makers
    # quote behind the opposite best, as real ones re-quote around where the market trades; not
    # quoting there emptied the fast layer and left 40-280 bps spreads for 10-25 min after a flush
    if s == BID:
        i = math.floor(a - half) - j
        if ba < NLEV and i >= ba:
            i = ba - math.ceil(2.0 * half) - j
    else:
        i = math.ceil(a + half) + j
        if bb >= 0 and i <= bb:
            i = bb + math.ceil(2.0 * half) + j
    if 0 <= i < NLEV:
        bg_add(bk, fw, vi, dl, v, s, i, 0, q)


@njit(cache=True, nogil=True)
def bg_cancel(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, dl: np.ndarray, trk: np.ndarray, tl: np.ndarray,
              rng: np.ndarray, v: int, layer: int, u: float) -> None:
    """Cancel one live background order of `layer` chosen uniformly (u in (0,1))."""
    nb = vi[v, VI_NH_BID] if layer == 0 else vi[v, VI_NL_BID]
    na = vi[v, VI_NH_BID + 1] if layer == 0 else vi[v, VI_NL_BID + 1]
    n = nb + na
    if n <= 0:
        return
    k = int(u * n)
    if k >= n:
        k = n - 1
    if k < nb:
        s = BID
    else:
        s = ASK
        k -= nb
    f = fw[v, (FW_H if layer == 0 else FW_L) + s]
    i = fw_find(f, k)
    if i >= NLEV:
        return
    bg_cancel_one(bk, fw, vi, dl, trk, tl, v, s, i, layer)


@njit(cache=True, nogil=True)
def latent_deposit(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, g: np.ndarray,
    dl: np.ndarray,
                   trk: np.ndarray, trkf: np.ndarray, tl: np.ndarray, tfree: np.ndarray, st: np.ndarray,
                   oe_f: np.ndarray, oe_i: np.ndarray, cnt: np.ndarray, tr_f: np.ndarray, tr_i: np.ndarray,
                   rng: np.ndarray, v: int, t: float) -> None:
    """A latent order appears at distance d from the reference with density growing linearly in d.

    If its limit is through the opposite best (the price has moved past its valuation) it trades
    at once up to its limit and rests the remainder: this is how the book refills and how a
    displaced price is pulled back (resilience), with no look at who displaced it.
    """
    sb = v * NS_PER_VENUE + S_LD
    u_side = unif(rng, sb)
    u_d = unif(rng, sb)
    u_mix = unif(rng, sb)
    q = lognormal_lots(rng, sb, pv[v, PV_L_SIZE_MED], pv[v, PV_L_SIZE_SIG])
    d0 = pv[v, PV_L_D0]
    span = pv[v, PV_L_DMAX] - d0
    s = BID if u_side < 0.5 else ASK
    # the side facing away from a displacement (asks when the price was pushed down) re-forms
    # around the displaced price with the depth the other side has there: profile d + |X|
    off = vf[v, VF_ANCHOR] - vf[v, VF_CENTER]
    off = -off if s == BID else off
    off = -off if off < 0.0 else 0.0
    if not LATENT_OFFSET:
        off = 0.0
    if u_mix * (off * span + 0.5 * span * span) < off * span:
        d = int(d0 + span * u_d)
    else:
        d = int(d0 + span * math.sqrt(u_d))
    ci = latent_center(vi, vf, v, s)
    i = ci - d if s == BID else ci + d
    if i < 0 or i >= NLEV:
        return
    if s == BID and vi[v, VI_BEST_ASK] < NLEV and i >= vi[v, VI_BEST_ASK]:
        f = walk(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i, v, BID, i, q, t,
                 OWNER_BG, 0, NLEV)
        q -= f
        vi[v, VI_CNT_LATENT_TAKE] += 1
    elif s == ASK and vi[v, VI_BEST_BID] >= 0 and i <= vi[v, VI_BEST_BID]:
        f = walk(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i, v, ASK, i, q, t,
                 OWNER_BG, 0, NLEV)
        q -= f
        vi[v, VI_CNT_LATENT_TAKE] += 1
    if q > 0:
        bg_add(bk, fw, vi, dl, v, s, i, 1, q)


@njit(cache=True, nogil=True)
def market_order(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, g: np.ndarray,
    dl: np.ndarray,
                 trk: np.ndarray, trkf: np.ndarray, tl: np.ndarray, tfree: np.ndarray, st: np.ndarray,
                 oe_f: np.ndarray, oe_i: np.ndarray, cnt: np.ndarray, tr_f: np.ndarray, tr_i: np.ndarray,
                 rng: np.ndarray, v: int, t: float) -> None:
    """A background market order; its side leans towards the reference price (informed flow)."""
    sb = v * NS_PER_VENUE + S_MKT
    u_side = unif(rng, sb)
    u_tail = unif(rng, sb)
    u_par = unif(rng, sb)
    q = lognormal_lots(rng, sb, pv[v, PV_M_SIZE_MED], pv[v, PV_M_SIZE_SIG])
    if u_tail < pv[v, PV_M_TAIL_P]:
        q = int(pv[v, PV_M_TAIL_MIN] * u_par ** (-1.0 / pv[v, PV_M_TAIL_ALPHA]))
        if q < 1:
            q = 1
    mid = mid_ticks(vi, vf, v)
    gap_bps = (vf[v, VF_CENTER] - mid) / vf[v, VF_CENTER] * 1e4
    tilt = pv[v, PV_INF_BETA] * gap_bps
    mx = pv[v, PV_INF_MAX]
    if tilt > mx:
        tilt = mx
    elif tilt < -mx:
        tilt = -mx
    aside = BID if u_side < 0.5 + tilt else ASK
    li = NLEV - 1 if aside == BID else 0
    vi[v, VI_CNT_MKT] += 1
    walk(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i, v, aside, li, q, t,
         OWNER_BG, 0, int(pv[v, PV_M_MAX_LEVELS]))


@njit(cache=True, nogil=True)
def mm_place(bk: np.ndarray, vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, dl: np.ndarray, trk: np.ndarray,
             trkf: np.ndarray, tl: np.ndarray, tfree: np.ndarray, st: np.ndarray, rng: np.ndarray, v: int,
             t: float) -> None:
    """An honest market maker posts a large order near the touch; many are pulled within seconds."""
    sb = v * NS_PER_VENUE + S_MM
    u_side = unif(rng, sb)
    u_size = unif(rng, sb)
    u_dist = unif(rng, sb)
    u_kind = unif(rng, sb)
    u_life = unif(rng, sb)
    lo = pv[v, PV_MM_SIZE_MIN]
    hi = pv[v, PV_MM_SIZE_MAX]
    q = int(lo * math.exp(u_size * math.log(hi / lo)))
    j = int(u_dist * (pv[v, PV_MM_DIST_MAX] + 1.0))
    if u_kind < pv[v, PV_MM_SHORT_P]:
        life = -math.log(u_life) * pv[v, PV_MM_SHORT_MEAN]
    else:
        life = pv[v, PV_MM_LONG_MIN] + u_life * (pv[v, PV_MM_LONG_MAX] - pv[v, PV_MM_LONG_MIN])
    s = BID if u_side < 0.5 else ASK
    bb = vi[v, VI_BEST_BID]
    ba = vi[v, VI_BEST_ASK]
    if bb < 0 or ba >= NLEV:
        return
    i = bb - j if s == BID else ba + j
    if 0 <= i < NLEV:
        trk_place(bk, vi, dl, trk, trkf, tl, tfree, st, v, s, i, q, OWNER_MM, 0, t, t + life, -1)


# --------------------------------------------------------------------------------------------
# Fundamental, permanent impact, arbitrage, publishing
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def consolidated_gap(vi: np.ndarray, vf: np.ndarray, pv: np.ndarray) -> float:
    """Weighted mean over live venues of log(mid / reference)."""
    num = 0.0
    den = 0.0
    for v in range(vi.shape[0]):
        if vi[v, VI_DOWN] != 0:
            continue
        if vi[v, VI_BEST_BID] < 0 or vi[v, VI_BEST_ASK] >= NLEV:
            continue
        w = pv[v, PV_WEIGHT]
        num += w * math.log(mid_ticks(vi, vf, v) / vf[v, VF_CENTER])
        den += w
    return num / den if den > 0 else 0.0


@njit(cache=True, nogil=True)
def update_centers(vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, g: np.ndarray) -> None:
    la = g[G_LOGF] + g[G_P]
    for v in range(vi.shape[0]):
        vf[v, VF_CENTER] = math.exp(la + pv[v, PV_BASIS]) / pv[v, PV_TICK]


@njit(cache=True, nogil=True)
def cancel_stale_latent(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, vf: np.ndarray, pv: np.ndarray,
                        dl: np.ndarray, trk: np.ndarray, tl: np.ndarray, g: np.ndarray, dt: float) -> None:
    """Latent orders left on the wrong side of a moved reference (bids above it, asks below it)
    are repriced: each is canceled with hazard 1/stale_life (their owners' valuations moved with
    the news). New ones arrive on the right side through the deposit process."""
    step = int(g[G_STEP])
    for v in range(vi.shape[0]):
        if vi[v, VI_DOWN] != 0:
            continue
        # fast quotes on the wrong side of the moved anchor are pulled at once (quote fading)
        a = vf[v, VF_ANCHOR] - vi[v, VI_BASE]
        half = 0.5 * pv[v, PV_MIN_SPREAD]
        i = vi[v, VI_BEST_BID]
        while i >= 0 and i > a - half:
            while bk[v, NH, i] > 0:
                bg_cancel_one(bk, fw, vi, dl, trk, tl, v, BID, i, 0)
            i -= 1
        i = vi[v, VI_BEST_ASK]
        while i < NLEV and i < a + half:
            while bk[v, NH + 1, i] > 0:
                bg_cancel_one(bk, fw, vi, dl, trk, tl, v, ASK, i, 0)
            i += 1
        p_cancel = 1.0 - math.exp(-dt / pv[v, PV_L_STALE_LIFE])
        for s in range(2):
            ci = latent_center(vi, vf, v, s)
            if s == BID:
                lo = ci if ci > 0 else 0
                hi = vi[v, VI_BEST_BID]
            else:
                lo = vi[v, VI_BEST_ASK]
                hi = ci if ci < NLEV - 1 else NLEV - 1
            for i in range(lo, hi + 1):
                n = bk[v, NL + s, i]
                for k in range(n):
                    if hash_unif(step, v * 2 * NLEV + s * NLEV + i, k) < p_cancel:
                        bg_cancel_one(bk, fw, vi, dl, trk, tl, v, s, i, 1)


@njit(cache=True, nogil=True)
def fundamental_step(vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, g: np.ndarray, gp: np.ndarray,
                     rng: np.ndarray) -> None:
    """One step of the exogenous fundamental and of the permanent-impact state.

    log F += sigma(regime) * exp(h) * sqrt(dt) * Z + jump;  h is an OU log-vol factor;
    the regime is a two-state Markov chain. P (permanent impact) learns from prices:
    dP = kappa_A * (consolidated log mid - log reference) dt.
    """
    V = vi.shape[0]
    sf = V * NS_PER_VENUE + S_G_FUND
    sr = V * NS_PER_VENUE + S_G_REGIME
    dt = gp[GP_DT_FUND]
    z = normal(rng, sf)
    zh = normal(rng, sf)
    uj = unif(rng, sf)
    zj = normal(rng, sf)
    ur = unif(rng, sr)
    if gp[GP_REGIMES_ON] > 0.5 and g[G_T] >= g[G_FORCED_REGIME_UNTIL]:
        if g[G_REGIME] < 0.5:
            if ur < 1.0 - math.exp(-gp[GP_SW_CV] * dt):
                g[G_REGIME] = 1.0
        elif ur < 1.0 - math.exp(-gp[GP_SW_VC] * dt):
            g[G_REGIME] = 0.0
    h = g[G_H]
    h += -gp[GP_H_KAPPA] * h * dt + gp[GP_H_SIG] * math.sqrt(dt) * zh
    g[G_H] = h
    sig = gp[GP_SIG_VOL] if g[G_REGIME] > 0.5 else gp[GP_SIG_CALM]
    # exp(h - var_h) has unit mean square, so the regime sigma stays the long-run volatility
    dx = sig * math.exp(h - gp[GP_H_SIG] ** 2 / (2.0 * gp[GP_H_KAPPA])) * math.sqrt(dt) * z
    jr = gp[GP_JUMP_RATE] * (gp[GP_JUMP_VOL_MULT] if g[G_REGIME] > 0.5 else 1.0)
    if uj < jr * dt:
        dx += gp[GP_JUMP_SIG] * zj
    g[G_LOGF] += dx
    g[G_P] += gp[GP_KAPPA_A] * consolidated_gap(vi, vf, pv) * dt
    move_references(vi, vf, pv, g, dt)
    g[G_STEP] += 1.0


@njit(cache=True, nogil=True)
def move_references(vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, g: np.ndarray, dt: float) -> None:
    """Recompute every venue's reference. Fast-quote anchors move with it (news) and their
    displacement from it (left by trades) decays with the venue's resilience rate."""
    g[G_X] *= math.exp(-g[G_X_DECAY_RATE] * dt)
    for v in range(vi.shape[0]):
        vf[v, VF_CENTER] = math.exp(g[G_LOGF] + g[G_P] + pv[v, PV_BASIS]) / pv[v, PV_TICK]
        if vi[v, VI_DOWN] == 0:
            vf[v, VF_XLOC] *= math.exp(-pv[v, PV_X_LOCAL_DECAY] * dt)
    set_anchors(vi, vf, g)


@njit(cache=True, nogil=True)
def arbitrage(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, g: np.ndarray,
    dl: np.ndarray,
              trk: np.ndarray, trkf: np.ndarray, tl: np.ndarray, tfree: np.ndarray, st: np.ndarray,
              oe_f: np.ndarray, oe_i: np.ndarray, cnt: np.ndarray, tr_f: np.ndarray, tr_i: np.ndarray,
              t: float) -> None:
    """Cross-venue arbitrage: buy the cheap venue's ask and sell the rich venue's bid while the
    bid beats the ask by more than both legs' costs. Keeps mids within a band; owner-blind."""
    V = vi.shape[0]
    for _ in range(64):
        best_edge = 0.0
        bi = -1
        bj = -1
        for i in range(V):
            if vi[i, VI_DOWN] != 0 or vi[i, VI_BEST_BID] < 0:
                continue
            bid = (vi[i, VI_BASE] + vi[i, VI_BEST_BID]) * pv[i, PV_TICK]
            for j in range(V):
                if j == i or vi[j, VI_DOWN] != 0 or vi[j, VI_BEST_ASK] >= NLEV:
                    continue
                ask = (vi[j, VI_BASE] + vi[j, VI_BEST_ASK]) * pv[j, PV_TICK]
                edge = bid / ask - 1.0 - (pv[i, PV_ARB_BPS] + pv[j, PV_ARB_BPS]) * 1e-4
                if edge > best_edge:
                    best_edge = edge
                    bi = i
                    bj = j
        if bi < 0:
            return
        ib = vi[bi, VI_BEST_BID]
        ja = vi[bj, VI_BEST_ASK]
        q_base = min(level_total(bk, bi, BID, ib) * pv[bi, PV_LOT], level_total(bk, bj, ASK, ja) * pv[bj, PV_LOT],
                     pv[bi, PV_ARB_MAX])
        qi = int(q_base / pv[bi, PV_LOT] + 1e-9)
        qj = int(q_base / pv[bj, PV_LOT] + 1e-9)
        if qi <= 0 or qj <= 0:
            return
        walk(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i, bj, BID, ja, qj, t,
             OWNER_ARB, 0, NLEV)
        walk(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i, bi, ASK, ib, qi, t,
             OWNER_ARB, 0, NLEV)
        vi[bi, VI_CNT_ARB] += 1
        vi[bj, VI_CNT_ARB] += 1


@njit(cache=True, nogil=True)
def publish(bk: np.ndarray, vi: np.ndarray, dl: np.ndarray, dh_f: np.ndarray, dh_i: np.ndarray, de: np.ndarray,
            cnt: np.ndarray, v: int, t: float) -> None:
    """Emit one L2 diff for venue v: every level changed since the last diff, with its new total."""
    n = vi[v, VI_NDIRTY]
    if vi[v, VI_DOWN] != 0:
        return
    if n == 0:
        return
    h = cnt[C_DH]
    e0 = cnt[C_DE]
    dh_f[h] = t
    dh_i[h, 0] = v
    dh_i[h, 1] = vi[v, VI_PUB_SEQ] + 1
    dh_i[h, 2] = vi[v, VI_SEQ]
    dh_i[h, 3] = e0
    dh_i[h, 4] = n
    base = vi[v, VI_BASE]
    for k in range(n):
        code = dl[v, k]
        s = code // NLEV
        i = code - s * NLEV
        de[e0 + k, 0] = s
        de[e0 + k, 1] = base + i
        de[e0 + k, 2] = level_total(bk, v, s, i)
        bk[v, DF + s, i] = 0
    cnt[C_DH] = h + 1
    cnt[C_DE] = e0 + n
    vi[v, VI_NDIRTY] = 0
    vi[v, VI_PUB_SEQ] = vi[v, VI_SEQ]


@njit(cache=True, nogil=True)
def drop_dirty(bk: np.ndarray, vi: np.ndarray, dl: np.ndarray, v: int) -> None:
    for k in range(vi[v, VI_NDIRTY]):
        code = dl[v, k]
        s = code // NLEV
        bk[v, DF + s, code - s * NLEV] = 0
    vi[v, VI_NDIRTY] = 0


@njit(cache=True, nogil=True)
def recenter(bk: np.ndarray, fw: np.ndarray, vi: np.ndarray, vf: np.ndarray, dl: np.ndarray, trk: np.ndarray,
             trkf: np.ndarray, tl: np.ndarray, tfree: np.ndarray, st: np.ndarray, oe_f: np.ndarray,
             oe_i: np.ndarray, cnt: np.ndarray, dh_f: np.ndarray, dh_i: np.ndarray, de: np.ndarray, v: int,
             t: float) -> None:
    """Slide the window so the reference sits in its middle. Levels leaving the window are
    published as deleted (qty 0); tracked orders outside the new window are canceled (price band)."""
    ci = center_index(vi, vf, v)
    if NLEV // 4 <= ci < 3 * NLEV // 4:
        return
    shift = ci - NLEV // 2
    publish(bk, vi, dl, dh_f, dh_i, de, cnt, v, t)
    drop_dirty(bk, vi, dl, v)
    base = vi[v, VI_BASE]
    new_base = base + shift
    # tracked orders that fall out
    k = 0
    while k < vi[v, VI_NTRK]:
        slot = tl[v, k]
        i_new = trk[v, slot, T_PX] - new_base
        if i_new < 0 or i_new >= NLEV:
            owner = trk[v, slot, T_OWNER]
            rem = trk_cancel(bk, vi, dl, trk, trkf, tl, tfree, st, v, slot, t)
            if owner <= OWNER_SCRIPT:
                emit_own(oe_f, oe_i, cnt, t, EV_CANCELED, v, trk[v, slot, T_OID], trk[v, slot, T_PX], rem, 0,
                         owner, 0, 0)
            continue
        k += 1
    drop_dirty(bk, vi, dl, v)
    # levels dropped: publish as deleted
    for s in range(2):
        for i in range(NLEV):
            j = i - shift
            if (j < 0 or j >= NLEV) and level_total(bk, v, s, i) > 0:
                bk[v, QH + s, i] = 0
                bk[v, QL + s, i] = 0
                bk[v, QT + s, i] = 0
                mark_dirty(bk, vi, dl, v, s, i)
    vi[v, VI_SEQ] += 1
    publish(bk, vi, dl, dh_f, dh_i, de, cnt, v, t)
    drop_dirty(bk, vi, dl, v)
    for p in range(NPLANES):
        row = bk[v, p].copy()
        bk[v, p, :] = 0
        for i in range(NLEV):
            j = i - shift
            if 0 <= j < NLEV:
                bk[v, p, j] = row[i]
    for s in range(2):
        fw_rebuild(fw[v, FW_H + s], bk[v, NH + s])
        fw_rebuild(fw[v, FW_L + s], bk[v, NL + s])
        vi[v, VI_NH_BID + s] = bk[v, NH + s].sum()
        vi[v, VI_NL_BID + s] = bk[v, NL + s].sum()
    vi[v, VI_BASE] = new_base
    vi[v, VI_BEST_BID] = NLEV - 1
    vi[v, VI_BEST_ASK] = 0
    refresh_best(bk, vi, v, BID)
    refresh_best(bk, vi, v, ASK)


# --------------------------------------------------------------------------------------------
# Scenario agents (flush, informed seller, spoofer, quote stuffer)
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def set_down(bk: np.ndarray, vi: np.ndarray, dl: np.ndarray, v: int, event_flag: int, manual_flag: int) -> None:
    """Venue outage (halted: no matching, no publishing). Flags < 0 are left as they are.

    On reconnect the feed resumes after a sequence gap (the updates published while the client
    was disconnected are lost to it), so a client must take a fresh snapshot.
    """
    if event_flag >= 0:
        vi[v, VI_DOWN_EVENT] = event_flag
    if manual_flag >= 0:
        vi[v, VI_DOWN_MANUAL] = manual_flag
    was_down = vi[v, VI_DOWN]
    now_down = 1 if (vi[v, VI_DOWN_EVENT] != 0 or vi[v, VI_DOWN_MANUAL] != 0) else 0
    vi[v, VI_DOWN] = now_down
    if was_down != 0 and now_down == 0:
        drop_dirty(bk, vi, dl, v)
        vi[v, VI_SEQ] += 1  # the reconnect itself: the next diff starts after a gap
        vi[v, VI_PUB_SEQ] = vi[v, VI_SEQ]


@njit(cache=True, nogil=True)
def start_event(ev: np.ndarray, k: int, ag: np.ndarray, vi: np.ndarray, vf: np.ndarray, g: np.ndarray,
                pv: np.ndarray, bk: np.ndarray, fw: np.ndarray, dl: np.ndarray, trk: np.ndarray, trkf: np.ndarray,
                tl: np.ndarray, tfree: np.ndarray, st: np.ndarray, oe_f: np.ndarray, oe_i: np.ndarray,
                cnt: np.ndarray, tr_f: np.ndarray, tr_i: np.ndarray, t: float) -> None:
    typ = int(ev[k, E_TYPE])
    v = int(ev[k, E_V])
    if typ == EVT_OUTAGE:
        set_down(bk, vi, dl, v, 1, -1)
        return
    if typ == EVT_OUTAGE_END:
        set_down(bk, vi, dl, v, 0, -1)
        return
    if typ == EVT_REGIME:
        g[G_REGIME] = ev[k, E_P1]
        g[G_FORCED_REGIME_UNTIL] = ev[k, E_T1]
        return
    if typ == EVT_SCRIPT:
        has_limit = 1 if ev[k, E_P1] >= 0 else 0
        submit_order(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i, v,
                     int(ev[k, E_SIDE]), has_limit, int(ev[k, E_P1]), int(ev[k, E_P2]), int(ev[k, E_P4]),
                     int(ev[k, E_P3]), OWNER_SCRIPT, int(ev[k, E_P5]), t)
        return
    if typ == EVT_SCRIPT_CANCEL:
        cancel_order(bk, vi, dl, trk, trkf, tl, tfree, st, v, OWNER_SCRIPT, int(ev[k, E_P5]), t)
        return
    if typ == EVT_INFORMED:
        g[G_LOGF] += math.log(1.0 - ev[k, E_P1]) if ev[k, E_SIDE] == ASK else math.log(1.0 + ev[k, E_P1])
        move_references(vi, vf, pv, g, 0.0)
    if EVT_FLUSH <= typ <= EVT_STUFF:  # flush, informed, spoof, stuff
        for a in range(ag.shape[0]):
            if ag[a, A_TYPE] == 0:
                ag[a, A_TYPE] = typ
                ag[a, A_V] = v
                ag[a, A_SIDE] = ev[k, E_SIDE]
                ag[a, A_T0] = t
                ag[a, A_T1] = ev[k, E_T1]
                ag[a, A_NEXT] = t
                ag[a, A_REF] = mid_ticks(vi, vf, v)
                ag[a, A_SOLD] = 0.0
                ag[a, A_MODE] = 0.0
                for p in range(7):
                    ag[a, A_P1 + p] = ev[k, E_P1 + p]
                return


@njit(cache=True, nogil=True)
def agents_step(ag: np.ndarray, vi: np.ndarray, vf: np.ndarray, g: np.ndarray, gp: np.ndarray, pv: np.ndarray,
                bk: np.ndarray, fw: np.ndarray, dl: np.ndarray, trk: np.ndarray, trkf: np.ndarray, tl: np.ndarray,
                tfree: np.ndarray, st: np.ndarray, oe_f: np.ndarray, oe_i: np.ndarray, cnt: np.ndarray,
                tr_f: np.ndarray, tr_i: np.ndarray, rng: np.ndarray, t: float) -> None:
    V = vi.shape[0]
    sa = V * NS_PER_VENUE + S_G_AGENT
    # expiries and spoofer safety checks on tracked agent orders
    for v in range(V):
        k = 0
        while k < vi[v, VI_NTRK]:
            slot = tl[v, k]
            owner = trk[v, slot, T_OWNER]
            cancel = trkf[v, slot, TF_EXPIRE] <= t
            if not cancel and owner == OWNER_SPOOF:
                s = trk[v, slot, T_SIDE]
                i = trk[v, slot, T_PX] - vi[v, VI_BASE]
                # pulled as soon as the touch comes within one tick (before it can trade)
                dist = vi[v, VI_BEST_BID] - i if s == BID else i - vi[v, VI_BEST_ASK]
                if dist <= SPOOF_PULL_TICKS:
                    cancel = True
            if cancel and vi[v, VI_DOWN] == 0:
                trk_cancel(bk, vi, dl, trk, trkf, tl, tfree, st, v, slot, t)
                continue
            k += 1
    for a in range(ag.shape[0]):
        typ = int(ag[a, A_TYPE])
        if typ == 0:
            continue
        v = int(ag[a, A_V])
        if t > ag[a, A_T1]:
            ag[a, A_TYPE] = 0
            continue
        if vi[v, VI_DOWN] != 0 or t < ag[a, A_NEXT]:
            continue
        side = int(ag[a, A_SIDE])
        if typ <= EVT_INFORMED:  # flush or informed
            # liquidation cascade: market orders until the venue's mid is dip below where it started;
            # after a non-informational flush, dip buyers buy the same quantity back over the
            # recovery window (an informed seller has no such counterpart: the news stays)
            q = int(ag[a, A_P1 + 1])
            if ag[a, A_MODE] == 0.0:
                dip = ag[a, A_P1]
                mid = mid_ticks(vi, vf, v)
                ref = ag[a, A_REF]
                reached = mid <= ref * (1.0 - dip) if side == ASK else mid >= ref * (1.0 + dip)
                if reached or t >= ag[a, A_T1] - gp[GP_AGENT_DT]:
                    if typ == EVT_INFORMED or ag[a, A_SOLD] <= 0:
                        ag[a, A_TYPE] = 0
                        continue
                    ag[a, A_MODE] = 1.0
                    n_chunks = max(1.0, 0.5 * ag[a, A_P1 + 3] / ag[a, A_P1 + 2])
                    ag[a, A_P1 + 1] = max(1.0, math.ceil(ag[a, A_SOLD] / n_chunks))
                    ag[a, A_T1] = t + ag[a, A_P1 + 3]
                    ag[a, A_NEXT] = t + ag[a, A_P1 + 2]
                    continue
                li = 0 if side == ASK else NLEV - 1
                f = walk(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i, v, side,
                         li, q, t, OWNER_FLUSH, 0, NLEV)
                ag[a, A_SOLD] += f
            else:
                q = int(min(float(q), ag[a, A_SOLD]))
                mid = mid_ticks(vi, vf, v)
                ref = ag[a, A_REF]
                back = mid >= ref * (1.0 - FLUSH_REBOUND_SHARE * ag[a, A_P1]) if side == ASK else \
                    mid <= ref * (1.0 + FLUSH_REBOUND_SHARE * ag[a, A_P1])
                if q <= 0 or back:
                    ag[a, A_TYPE] = 0
                    continue
                li = NLEV - 1 if side == ASK else 0
                f = walk(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i, v,
                         1 - side, li, q, t, OWNER_FLUSH, 0, NLEV)
                ag[a, A_SOLD] -= f if f > 0 else q
            ag[a, A_NEXT] = t + ag[a, A_P1 + 2]
        elif typ == EVT_SPOOF:
            # a layer of large orders a few ticks behind the touch, pulled before they can trade
            s = side
            lo = ag[a, A_P1]
            hi = ag[a, A_P1 + 1]
            dmin = int(ag[a, A_P1 + 2])
            dmax = int(ag[a, A_P1 + 3])
            layers = int(ag[a, A_P1 + 4])
            life = ag[a, A_P1 + 5]
            d = dmin + int(unif(rng, sa) * (dmax - dmin + 1))
            u_life = unif(rng, sa)
            bb = vi[v, VI_BEST_BID]
            ba = vi[v, VI_BEST_ASK]
            if bb >= 0 and ba < NLEV:
                for lay in range(layers):
                    q = int(lo * math.exp(unif(rng, sa) * math.log(hi / lo)))
                    i = bb - d - lay if s == BID else ba + d + lay
                    if 0 <= i < NLEV:
                        trk_place(bk, vi, dl, trk, trkf, tl, tfree, st, v, s, i, q, OWNER_SPOOF, 0, t,
                                  t + 0.5 + u_life * (life - 0.5), a)
            ag[a, A_NEXT] = t + ag[a, A_P1 + 6] * (0.5 + unif(rng, sa))
        elif typ == EVT_STUFF:
            # bursts of place/cancel messages a few ticks away from the touch
            rate = ag[a, A_P1]
            q = int(ag[a, A_P1 + 1])
            dmax = int(ag[a, A_P1 + 2])
            n = int(rate * gp[GP_AGENT_DT] * 0.5)
            bb = vi[v, VI_BEST_BID]
            ba = vi[v, VI_BEST_ASK]
            if bb >= 0 and ba < NLEV:
                for _ in range(n):
                    s = BID if unif(rng, sa) < 0.5 else ASK
                    d = 2 + int(unif(rng, sa) * (dmax - 1))
                    i = bb - d if s == BID else ba + d
                    if 0 <= i < NLEV:
                        trk_place(bk, vi, dl, trk, trkf, tl, tfree, st, v, s, i, q, OWNER_STUFF, 0, t,
                                  t + 0.5 * gp[GP_AGENT_DT], a)
            ag[a, A_NEXT] = t


# --------------------------------------------------------------------------------------------
# The batch loop
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def schedule_all(vi: np.ndarray, vf: np.ndarray, pv: np.ndarray, g: np.ndarray, gp: np.ndarray,
                 rng: np.ndarray, t: float) -> None:
    """Draw the first event time of every background process (called once at start)."""
    for v in range(vi.shape[0]):
        for p in range(NPROC):
            vf[v, VF_NEXT0 + p] = next_time(vf, pv, g, gp, rng, v, p, t)


@njit(cache=True, nogil=True)
def _hawkes_next(vf: np.ndarray, pv: np.ndarray, rng: np.ndarray, v: int, t: float, act: float) -> float:
    """Ogata thinning for an exponential-kernel Hawkes process; updates the stored excess."""
    s = v * NS_PER_VENUE + S_MKT
    mu = pv[v, PV_M_MU] * act
    beta = pv[v, PV_M_BETA]
    e = vf[v, VF_HAWKES] * math.exp(-beta * (t - vf[v, VF_HAWKES_T]))
    tt = t
    for _ in range(100000):
        lam_bar = mu + e
        w = expo(rng, s, lam_bar)
        tt += w
        e *= math.exp(-beta * w)
        if unif(rng, s) * lam_bar <= mu + e:
            break
    vf[v, VF_HAWKES] = e
    vf[v, VF_HAWKES_T] = tt
    return tt


@njit(cache=True, nogil=True)
def next_time(vf: np.ndarray, pv: np.ndarray, g: np.ndarray, gp: np.ndarray, rng: np.ndarray, v: int, p: int,
              t: float) -> float:
    act = activity(g, gp)
    b = v * NS_PER_VENUE
    if p == P_HPLACE:
        return t + expo(rng, b + S_HP, pv[v, PV_HP_RATE] * act)
    if p == P_HCANCEL:  # candidate times of a thinned process (bound: a multiple of the placement rate)
        return t + expo(rng, b + S_HC, THIN_BOUND * pv[v, PV_HP_RATE] * act)
    if p == P_LDEPOSIT:
        return t + expo(rng, b + S_LD, pv[v, PV_L_RATE])
    if p == P_LCANCEL:
        return t + expo(rng, b + S_LC, THIN_BOUND * pv[v, PV_L_RATE])
    if p == P_MKT:
        return _hawkes_next(vf, pv, rng, v, t, act)
    if p == P_MM:
        if pv[v, PV_MM_RATE] <= 0:
            return INF
        return t + expo(rng, b + S_MM, pv[v, PV_MM_RATE] * act)
    return INF


@njit(cache=True, nogil=True)
def run(t_end: float, bk: np.ndarray, fw: np.ndarray, dl: np.ndarray, vi: np.ndarray, vf: np.ndarray,
        pv: np.ndarray, g: np.ndarray, gp: np.ndarray, rng: np.ndarray, trk: np.ndarray, trkf: np.ndarray,
        tl: np.ndarray, tfree: np.ndarray, ev: np.ndarray, ag: np.ndarray, st: np.ndarray, tr_f: np.ndarray,
        tr_i: np.ndarray, dh_f: np.ndarray, dh_i: np.ndarray, de: np.ndarray, oe_f: np.ndarray, oe_i: np.ndarray,
        rec: np.ndarray, cnt: np.ndarray) -> int:
    """Advance every venue to t_end (events with time <= t_end are processed).

    Returns 0 when t_end is reached, 1 when an output buffer is nearly full (state is consistent
    and the call can simply be repeated after the facade drained the buffers).
    """
    V = vi.shape[0]
    while True:
        tmin = INF
        kind = -1
        wv = -1
        for v in range(V):
            for p in range(NPROC):
                tt = vf[v, VF_NEXT0 + p]
                if tt < tmin:
                    tmin = tt
                    kind = p
                    wv = v
        for p in range(4):
            tt = g[G_NEXT_FUND + p]
            if tt < tmin:
                tmin = tt
                kind = 100 + p
        ep = int(g[G_EV_PTR])
        if ep < ev.shape[0] and ev[ep, E_T] < tmin:
            tmin = ev[ep, E_T]
            kind = 200
        if tmin > t_end:
            g[G_T] = t_end
            return 0
        t = tmin
        g[G_T] = t
        if kind < 100:
            v = wv
            down = vi[v, VI_DOWN] != 0
            if kind == P_HPLACE:
                if not down:
                    hft_place(bk, fw, vi, vf, pv, dl, rng, v)
                else:
                    for _ in range(3):
                        unif(rng, v * NS_PER_VENUE + S_HP)
                    normal(rng, v * NS_PER_VENUE + S_HP)
            elif kind == P_HCANCEL:
                sc = v * NS_PER_VENUE + S_HC
                u_acc = unif(rng, sc)
                u = unif(rng, sc)
                n = vi[v, VI_NH_BID] + vi[v, VI_NH_BID + 1]
                bound = THIN_BOUND * pv[v, PV_HP_RATE] * activity(g, gp)
                if not down and u_acc * bound < n / pv[v, PV_H_LIFE]:
                    bg_cancel(bk, fw, vi, dl, trk, tl, rng, v, 0, u)
            elif kind == P_LDEPOSIT:
                if not down:
                    latent_deposit(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i,
                                   rng, v, t)
                else:
                    for _ in range(3):
                        unif(rng, v * NS_PER_VENUE + S_LD)
                    normal(rng, v * NS_PER_VENUE + S_LD)
            elif kind == P_LCANCEL:
                sc = v * NS_PER_VENUE + S_LC
                u_acc = unif(rng, sc)
                u = unif(rng, sc)
                n = vi[v, VI_NL_BID] + vi[v, VI_NL_BID + 1]
                if not down and u_acc * THIN_BOUND * pv[v, PV_L_RATE] < n / pv[v, PV_L_LIFE]:
                    bg_cancel(bk, fw, vi, dl, trk, tl, rng, v, 1, u)
            elif kind == P_MKT:
                # excess intensity jumps by branching * beta at each event
                vf[v, VF_HAWKES] += pv[v, PV_M_BRANCH] * pv[v, PV_M_BETA]
                if not down:
                    market_order(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i,
                                 rng, v, t)
                else:
                    for _ in range(3):
                        unif(rng, v * NS_PER_VENUE + S_MKT)
                    normal(rng, v * NS_PER_VENUE + S_MKT)
            elif kind == P_MM:
                if not down:
                    mm_place(bk, vi, vf, pv, dl, trk, trkf, tl, tfree, st, rng, v, t)
                else:
                    for _ in range(5):
                        unif(rng, v * NS_PER_VENUE + S_MM)
            vf[v, VF_NEXT0 + kind] = next_time(vf, pv, g, gp, rng, v, kind, t)
        elif kind == 100:
            fundamental_step(vi, vf, pv, g, gp, rng)
            cancel_stale_latent(bk, fw, vi, vf, pv, dl, trk, tl, g, gp[GP_DT_FUND])
            for v in range(V):
                recenter(bk, fw, vi, vf, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, dh_f, dh_i, de, v, t)
            if gp[GP_RECORD] > 0.5 and cnt[C_REC] < rec.shape[0]:
                r = cnt[C_REC]
                rec[r, 0] = t
                rec[r, 1] = g[G_LOGF]
                rec[r, 2] = g[G_P]
                rec[r, 3] = g[G_REGIME]
                for v in range(V):
                    bb = vi[v, VI_BEST_BID]
                    ba = vi[v, VI_BEST_ASK]
                    rec[r, 4 + 3 * v] = mid_ticks(vi, vf, v) * pv[v, PV_TICK]
                    rec[r, 5 + 3 * v] = (ba - bb) if (bb >= 0 and ba < NLEV) else -1.0
                    rec[r, 6 + 3 * v] = vf[v, VF_CENTER] * pv[v, PV_TICK]
                cnt[C_REC] = r + 1
            g[G_NEXT_FUND] = t + gp[GP_DT_FUND]
        elif kind == 101:
            for v in range(V):
                publish(bk, vi, dl, dh_f, dh_i, de, cnt, v, t)
            g[G_NEXT_PUB] = t + gp[GP_PUB_DT]
            if (cnt[C_TR] > cnt[C_TR_CAP] or cnt[C_DH] > cnt[C_DH_CAP] or cnt[C_DE] > cnt[C_DE_CAP]
                    or cnt[C_OE] > cnt[C_OE_CAP] or cnt[C_REC] >= cnt[C_REC_CAP]):
                return 1
        elif kind == 102:
            arbitrage(bk, fw, vi, vf, pv, g, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i, t)
            g[G_NEXT_ARB] = t + gp[GP_ARB_DT]
        elif kind == 103:
            agents_step(ag, vi, vf, g, gp, pv, bk, fw, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f, tr_i,
                        rng, t)
            g[G_NEXT_AGENT] = t + gp[GP_AGENT_DT]
        else:
            start_event(ev, ep, ag, vi, vf, g, pv, bk, fw, dl, trk, trkf, tl, tfree, st, oe_f, oe_i, cnt, tr_f,
                        tr_i, t)
            g[G_EV_PTR] = ep + 1
