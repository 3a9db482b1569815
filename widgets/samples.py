"""Realistic fake view-models: a BTC/USDT block around 65,000 with a 0.1 tick.

For screenshots, benchmarks, tests and the widget gallery — never for trading. Deterministic for
a given numpy Generator.
"""

from __future__ import annotations

import numpy as np

from core.events import Severity
from core.orders import Liquidity, OrderStatus, TimeInForce
from core.parent import ParentState
from core.types import Side
from widgets.viewmodels import AlertRow, ChartUpdate, ChildRow, FillRow, LadderView, ParentRow, RfqQuoteView

T0 = 1_760_000_000.0  # a fixed UTC start so screenshots are reproducible
VENUES = ("binance", "okx", "coinbase")


def ladder_view(
    rng: np.random.Generator,
    *,
    venue: str = "binance",
    mid: float = 65_000.0,
    tick: float = 0.1,
    levels: int = 40,
    spread_ticks: int = 1,
    working: bool = True,
) -> LadderView:
    """A `levels`-deep book around `mid`, with our working orders, a last trade, VAP and a flag."""
    best_bid = round((mid - spread_ticks * tick / 2) / tick) * tick
    best_ask = best_bid + spread_ticks * tick
    gaps = rng.choice([1, 1, 1, 1, 2, 3], size=levels)
    gaps[0] = 0
    bid_px = best_bid - tick * np.cumsum(gaps)
    gaps = rng.choice([1, 1, 1, 1, 2, 3], size=levels)
    gaps[0] = 0
    ask_px = best_ask + tick * np.cumsum(gaps)
    bid_qty = np.round(rng.lognormal(-0.6, 0.9, levels), 3)
    ask_qty = np.round(rng.lognormal(-0.6, 0.9, levels), 3)
    bid_qty[rng.integers(5, levels)] += 12.5  # a wall
    ask_qty[rng.integers(5, levels)] += 8.0
    vap_px = np.round((best_bid + tick * np.arange(-30, 31)) / tick) * tick
    vap_qty = np.round(rng.gamma(1.5, 2.0, len(vap_px)) * np.exp(-np.abs(np.arange(-30, 31)) / 15), 3)
    if working:
        working_px = np.array([bid_px[0], bid_px[2], bid_px[6], ask_px[4]])
        working_qty = np.array([2.5, 5.0, 10.0, -1.2])
        queue = np.array([bid_qty[0] * 0.6, bid_qty[2], 0.4, ask_qty[4] * 0.3])
    else:
        working_px = working_qty = queue = np.empty(0)
    return LadderView(
        venue=venue,
        symbol="BTC/USDT",
        tick_size=tick,
        bid_px=bid_px,
        bid_qty=bid_qty,
        ask_px=ask_px,
        ask_qty=ask_qty,
        working_px=working_px,
        working_qty=working_qty,
        working_queue_ahead=queue,
        last_px=float(best_ask),
        last_qty=0.842,
        last_side=1,
        vap_px=vap_px,
        vap_qty=vap_qty,
        flag_px=np.array([ask_px[3]]),
        flag_score=np.array([0.87]),
        flag_kind=("spoofing",),
        ts=T0,
    )


def parent_rows(n: int = 6) -> list[ParentRow]:
    rows = []
    states = [ParentState.RUNNING, ParentState.RUNNING, ParentState.PAUSED, ParentState.DONE,
              ParentState.STAGED, ParentState.STOPPED_BY_RISK]
    for i in range(n):
        side = Side.SELL if i % 2 == 0 else Side.BUY
        qty = [1000.0, 250.0, 80.0, 40.0, 500.0, 120.0][i % 6]
        filled = qty * [0.42, 0.77, 0.10, 1.0, 0.0, 0.33][i % 6]
        rows.append(
            ParentRow(
                parent_id=f"BH{i + 1:04d}",
                account=["desk-a", "fund-7", "desk-a"][i % 3],
                trader=["alice", "bob"][i % 2],
                instrument="BTC/USDT",
                side=side,
                qty=qty,
                filled=filled,
                leaves=qty - filled,
                pct=100.0 * filled / qty,
                avg_price=64_987.3 + 3.1 * i if filled else float("nan"),
                arrival=65_012.4 - 2.0 * i,
                shortfall_bps=[3.8, -1.2, 6.5, 2.1, float("nan"), 11.4][i % 6],
                vs_vwap_bps=[0.9, -0.4, 2.2, 0.3, float("nan"), 4.0][i % 6],
                limit=[64_000.0, float("nan"), 66_500.0, float("nan"), 64_500.0, 63_900.0][i % 6],
                algo=["ac", "adaptive", "twap", "vwap", "pov", "iceberg"][i % 6],
                state=states[i % 6],
                start_ts=T0 + 60.0 * i,
                end_ts=T0 + 4 * 3600.0 + 60.0 * i,
                time_left_s=[8_420.0, 3_155.0, 12_000.0, 0.0, 14_400.0, 0.0][i % 6],
                ahead_behind_qty=[-12.5, 4.0, -3.1, 0.0, 0.0, -40.0][i % 6],
                working=[18.4, 3.2, 0.0, 0.0, 0.0, 0.0][i % 6],
                otc_qty=[150.0, 0.0, 0.0, 10.0, 0.0, 0.0][i % 6],
                notional_usd=qty * 65_000.0,
            )
        )
    return rows


def child_rows(n: int = 12) -> list[ChildRow]:
    statuses = [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELED,
                OrderStatus.REJECTED, OrderStatus.PENDING_NEW]
    return [
        ChildRow(
            client_id=f"BH0001-{i:06d}",
            parent_id="BH0001",
            venue_order_id=f"{8_812_000_000 + 37 * i}",
            venue=VENUES[i % 3],
            side=Side.SELL,
            price=65_000.0 + 0.1 * (i % 7),
            qty=2.5 + (i % 4),
            filled=[0.0, 1.2, 2.5 + (i % 4), 0.4, 0.0, 0.0][i % 6],
            status=statuses[i % 6],
            tif=TimeInForce.POST_ONLY if i % 3 else TimeInForce.IOC,
            created_ts=T0 + 5.0 * i,
            ack_latency_ms=[12.4, 31.0, 8.9][i % 3],
            reject_reason="price outside band (risk)" if statuses[i % 6] is OrderStatus.REJECTED else "",
            fee=[0.0, 0.78, 1.62, 0.26, 0.0, 0.0][i % 6],
        )
        for i in range(n)
    ]


def fill_rows(n: int = 20) -> list[FillRow]:
    return [
        FillRow(
            ts=T0 + 17.0 * i,
            parent_id="BH0001",
            client_id=f"BH0001-{i // 2:06d}",
            venue=VENUES[i % 3],
            venue_trade_id=f"T{900_000 + i}",
            venue_order_id=f"{8_812_000_000 + 37 * (i // 2)}",
            side=Side.SELL,
            price=65_000.0 - 0.1 * (i % 9),
            qty=round(0.25 + 0.11 * (i % 7), 3),
            liquidity=Liquidity.MAKER if i % 4 else Liquidity.TAKER,
            fee=round((0.25 + 0.11 * (i % 7)) * 65_000.0 * (0.0002 if i % 4 else 0.0005), 4),
            fee_currency="USDT",
        )
        for i in range(n)
    ]


def alert_rows() -> list[AlertRow]:
    return [
        AlertRow("A1", T0 + 10, Severity.INFO, "parent", "BH0001", "Algo started: ac over 4h", parent_id="BH0001"),
        AlertRow("A2", T0 + 95, Severity.WARNING, "surveillance", "okx", "Layering suspected at 65,004.1 (0.87)",
                 venue="okx"),
        AlertRow("A3", T0 + 130, Severity.ERROR, "reject", "coinbase", "Child BH0001-000014 rejected: insufficient "
                 "balance", venue="coinbase", parent_id="BH0001"),
        AlertRow("A4", T0 + 241, Severity.CRITICAL, "breaker", "risk", "Circuit breaker: price moved 2.1% in 60 s",
                 parent_id="BH0001"),
        AlertRow("A5", T0 + 300, Severity.CRITICAL, "rfq", "desk-wintermute", "Quote arrived: 150 BTC @ 64,990.0",
                 parent_id="BH0001", acknowledged=True),
    ]


def chart_update(rng: np.random.Generator, *, minutes: float = 95.0, horizon_min: float = 240.0) -> ChartUpdate:
    """A sell of 1,000 BTC 95 minutes into a 4-hour Almgren-Chriss schedule."""
    qty = 1000.0
    t_rel = np.arange(0.0, minutes * 60.0, 5.0)
    t = T0 + t_rel
    plan_t_rel = np.linspace(0.0, horizon_min * 60.0, 200)
    kappa = 1.2 / (horizon_min * 60.0)
    big_t = horizon_min * 60.0
    plan = qty * (1 - np.sinh(kappa * (big_t - plan_t_rel)) / np.sinh(kappa * big_t))
    spread = qty * 0.06 * np.sin(np.pi * plan_t_rel / big_t)
    sched_now = np.interp(t_rel, plan_t_rel, plan)
    filled = np.maximum.accumulate(np.clip(sched_now + rng.normal(0, 4, len(t)).cumsum() * 0.3 - 8, 0, None))
    price = 65_000.0 + np.cumsum(rng.normal(0, 4.0, len(t))) - 0.35 * t_rel / 60.0
    price[int(len(t) * 0.6): int(len(t) * 0.65)] -= np.linspace(0, 180, int(len(t) * 0.65) - int(len(t) * 0.6))
    vwap = np.cumsum(price) / np.arange(1, len(t) + 1)
    participation = np.clip(0.12 + 0.04 * np.sin(t_rel / 900.0) + rng.normal(0, 0.01, len(t)), 0, None)
    dq = np.diff(filled, prepend=0.0)
    fill_idx = np.flatnonzero(dq > 0.5)
    fill_idx = fill_idx[:: max(1, len(fill_idx) // 120)]
    return ChartUpdate(
        parent_id="BH0001",
        start_ts=T0,
        venues=VENUES,
        arrival=65_000.0,
        max_participation=0.25,
        t=t,
        filled_cum=filled,
        price=price,
        vwap=vwap,
        participation=participation,
        schedule_t=T0 + plan_t_rel,
        schedule_qty=plan,
        band_low=np.clip(plan - spread, 0, qty),
        band_high=np.clip(plan + spread, 0, qty),
        fill_t=t[fill_idx],
        fill_px=price[fill_idx] + rng.normal(0, 1.5, len(fill_idx)),
        fill_qty=np.round(rng.gamma(2.0, 1.5, len(fill_idx)), 3),
        fill_venue=rng.integers(0, len(VENUES), len(fill_idx)).astype(np.int64),
        reset=True,
    )


def rfq_quote(now: float = T0, *, ttl_s: float = 15.0, better: bool = True) -> RfqQuoteView:
    edge_bps = 4.2 if better else -3.1
    return RfqQuoteView(
        quote_id="Q-7781",
        rfq_id="R-0042",
        parent_id="BH0001",
        desk="Wintermute OTC",
        instrument="BTC/USDT",
        side=Side.SELL,
        qty=150.0,
        price=64_990.0,
        exchange_px=64_990.0 * (1 - edge_bps / 1e4),
        edge_bps=edge_bps,
        edge_usd=150.0 * 64_990.0 * edge_bps / 1e4,
        recommendation="accept" if better else "reject",
        reason=(
            "Beats the modelled exchange cost of 150 BTC over the remaining 2h25m; removes 15% of leaves"
            if better
            else "Worse than working it on exchange; the book is deep and we are ahead of schedule"
        ),
        received_ts=now,
        expires_ts=now + ttl_s,
    )
