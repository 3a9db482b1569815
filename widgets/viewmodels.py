"""View-models: what the app's engine→UI bridge hands to the widgets.

Plain frozen, slotted dataclasses with no behaviour beyond small derived properties. The bridge
folds engine events into them and pushes the latest one at a bounded rate; widgets only draw.

Conventions (all views):
- times are UTC epoch seconds (float); durations carry `_s`, latencies `_ms`, costs `_bps`/`_usd`;
- prices and quantities are display floats (exact Decimals stay in core); NaN means "not known";
- book arrays are numpy float64, best level first (bids descending, asks ascending);
- a signed quantity is + for buy and − for sell (core.types.Side's sign).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from core.events import Severity
from core.orders import Liquidity, OrderStatus, TimeInForce
from core.parent import ParentState
from core.types import Side

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
NAN = math.nan


def _empty() -> FloatArray:
    return np.empty(0, dtype=np.float64)


def _empty_int() -> IntArray:
    return np.empty(0, dtype=np.int64)


# ---- depth ladder ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class LadderView:
    """One venue's (or the consolidated) book as the ladder draws it.

    `working_px`/`working_qty`: our open child orders aggregated by price, qty signed
    (+ our buys, − our sells); `working_queue_ahead`: venue size ahead of us at that price
    (same length, NaN when unknown). `vap_px`/`vap_qty`: traded volume at price since the
    parent started (or the session). `flag_px`/`flag_score`/`flag_kind`: levels surveillance
    flagged (spoofing, layering...), score in [0, 1]. `last_side`: aggressor of the last
    trade (+1 buy, −1 sell, 0 unknown).
    """

    venue: str
    symbol: str
    tick_size: float
    bid_px: FloatArray
    bid_qty: FloatArray
    ask_px: FloatArray
    ask_qty: FloatArray
    working_px: FloatArray = field(default_factory=_empty)
    working_qty: FloatArray = field(default_factory=_empty)
    working_queue_ahead: FloatArray = field(default_factory=_empty)
    last_px: float = NAN
    last_qty: float = NAN
    last_side: int = 0
    vap_px: FloatArray = field(default_factory=_empty)
    vap_qty: FloatArray = field(default_factory=_empty)
    flag_px: FloatArray = field(default_factory=_empty)
    flag_score: FloatArray = field(default_factory=_empty)
    flag_kind: tuple[str, ...] = ()
    ts: float = NAN
    qty_decimals: int = 3

    @property
    def best_bid(self) -> float:
        return float(self.bid_px[0]) if len(self.bid_px) else NAN

    @property
    def best_ask(self) -> float:
        return float(self.ask_px[0]) if len(self.ask_px) else NAN

    @property
    def mid(self) -> float:
        return 0.5 * (self.best_bid + self.best_ask)


# ---- blotters ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParentRow:
    """A parent order's line in the blotter.

    `pct`: filled / qty in percent. `shortfall_bps`: implementation shortfall vs arrival,
    positive = cost (we paid more on a buy / received less on a sell). `vs_vwap_bps`: same
    sign convention against the market VWAP over our trading interval. `ahead_behind_qty`:
    filled − scheduled (+ ahead of schedule, − behind). `working`: quantity resting at venues;
    `otc_qty`: quantity done or accepted with OTC desks.
    """

    parent_id: str
    account: str
    trader: str
    instrument: str
    side: Side
    qty: float
    filled: float
    leaves: float
    pct: float
    avg_price: float
    arrival: float
    shortfall_bps: float
    vs_vwap_bps: float
    limit: float
    algo: str
    state: ParentState
    start_ts: float
    end_ts: float
    time_left_s: float
    ahead_behind_qty: float
    working: float
    otc_qty: float
    notional_usd: float = NAN

    @property
    def key(self) -> str:
        return self.parent_id


@dataclass(frozen=True, slots=True)
class ChildRow:
    """A child order at one venue. `fee` is in quote currency (positive = paid, − = rebate)."""

    client_id: str
    parent_id: str
    venue_order_id: str
    venue: str
    side: Side
    price: float  # NaN for a market order
    qty: float
    filled: float
    status: OrderStatus
    tif: TimeInForce
    created_ts: float
    ack_latency_ms: float
    reject_reason: str
    fee: float

    @property
    def key(self) -> str:
        return self.client_id


@dataclass(frozen=True, slots=True)
class FillRow:
    """One execution. `fee` in `fee_currency` (positive = paid, − = rebate)."""

    ts: float
    parent_id: str
    client_id: str
    venue: str
    venue_trade_id: str
    venue_order_id: str
    side: Side
    price: float
    qty: float
    liquidity: Liquidity
    fee: float
    fee_currency: str

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.venue_trade_id}"

    @property
    def notional(self) -> float:
        return self.price * self.qty


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert as the alerts panel shows it; `acknowledged` comes back from the journal."""

    alert_id: str
    ts: float
    severity: Severity
    kind: str
    source: str
    detail: str
    venue: str = ""
    parent_id: str = ""
    acknowledged: bool = False

    @property
    def key(self) -> str:
        return self.alert_id


@dataclass(frozen=True, slots=True)
class BreakerRow:
    """A tripped circuit breaker as the risk panel lists it; `key` is what a reset names
    ("rule:target"), `target` a venue or a parent id, `since` when it tripped."""

    key: str
    rule: str
    target: str
    action: str
    since: float
    detail: str
    reset_by: str


# ---- execution chart ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class ChartUpdate:
    """New samples for one parent's execution chart, appended to what the chart holds.

    Samples (`t`, `filled_cum`, `price`, `vwap`, `participation` — same length): cumulative
    filled quantity (base units), market price and market VWAP since start, our participation
    rate (fraction 0..1) over the recent window.
    Plan (`schedule_t`, `schedule_qty`, `band_low`, `band_high` — same length): the planned
    cumulative quantity over the whole horizon and the Almgren-Chriss band around it. Non-empty
    plan arrays REPLACE the plan drawn (a re-plan after an override); empty ones keep it.
    Fills (`fill_t`, `fill_px`, `fill_qty`, `fill_venue` — same length): each execution, with
    `fill_venue` an index into `venues`. `reset` clears everything first (a new parent).
    """

    parent_id: str
    start_ts: float
    venues: tuple[str, ...] = ()
    arrival: float = NAN
    max_participation: float = NAN
    t: FloatArray = field(default_factory=_empty)
    filled_cum: FloatArray = field(default_factory=_empty)
    price: FloatArray = field(default_factory=_empty)
    vwap: FloatArray = field(default_factory=_empty)
    participation: FloatArray = field(default_factory=_empty)
    schedule_t: FloatArray = field(default_factory=_empty)
    schedule_qty: FloatArray = field(default_factory=_empty)
    band_low: FloatArray = field(default_factory=_empty)
    band_high: FloatArray = field(default_factory=_empty)
    fill_t: FloatArray = field(default_factory=_empty)
    fill_px: FloatArray = field(default_factory=_empty)
    fill_qty: FloatArray = field(default_factory=_empty)
    fill_venue: IntArray = field(default_factory=_empty_int)
    reset: bool = False


# ---- RFQ -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RfqQuoteView:
    """An OTC desk's quote as the trader judges it.

    `side` is OUR side. `exchange_px`: modelled average price of doing `qty` on exchange over
    the remaining horizon. `edge_bps`/`edge_usd`: how much better (+) or worse (−) the quote is
    than that. `recommendation`: "accept" or "reject", with `reason` in the trader's words.
    """

    quote_id: str
    rfq_id: str
    parent_id: str
    desk: str
    instrument: str
    side: Side
    qty: float
    price: float
    exchange_px: float
    edge_bps: float
    edge_usd: float
    recommendation: str
    reason: str
    received_ts: float
    expires_ts: float

    @property
    def notional_usd(self) -> float:
        return self.price * self.qty
