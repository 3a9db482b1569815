"""Simulated OTC desks on the real simulated market: prices, axes, last look, pre-hedging, and
the post-trade layoff that keeps an OTC fill from vanishing from the market."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from adapters.sim.desks import SimDesk
from adapters.sim.exchange import SimExchange
from adapters.sim.market import MarketSim
from adapters.sim.scenario import DeskConfig, load_scenario
from core.clock import SimClock
from core.ports import OtcExecution, Quote
from core.seeds import SeedTree
from core.types import Side

T0 = 1_767_225_600.0


def world(seed: int = 4, **sets: str) -> tuple[SimClock, SimExchange]:
    market = MarketSim(load_scenario("btc-block-4h", dict(sets)), seed)
    clock = SimClock(start=T0)
    exchange = SimExchange(market, clock, T0, SeedTree(seed).generator)
    exchange.start()
    clock.run_until(T0 + 2)
    return clock, exchange


def test_plain_quotes_widen_with_size_and_sellers_get_less_than_mid() -> None:
    clock, ex = world()
    desk = SimDesk(ex, DeskConfig(name="north", base_spread_bps=6.0), 0, np.random.default_rng(1))
    quotes: list[Quote] = []
    desk.request_quote("R1", "BTC/USDT", Side.SELL, Decimal("10"), quotes.append)
    desk.request_quote("R2", "BTC/USDT", Side.SELL, Decimal("400"), quotes.append)
    desk.request_quote("R3", "BTC/USDT", Side.BUY, Decimal("10"), quotes.append)
    clock.run_until(T0 + 6)
    mid = desk._mid()
    small, big, buy = sorted(quotes, key=lambda q: q.rfq_id)
    assert small.price < Decimal(str(mid)) < buy.price
    assert big.price < small.price  # bigger size, wider price
    assert 5.0 < (mid - float(small.price)) / mid * 1e4 < 20.0
    assert 5.0 <= small.expires_ts - small.received_ts <= 30.0


def test_the_axed_desk_offers_more_than_asked_through_the_touch_for_its_whole_window() -> None:
    clock, ex = world()
    axe = next(e for e in ex.market.eval_log.windows("axe"))
    index = int(axe.params["desk"])
    cfg = ex.market.scenario.desks[index]
    desk = SimDesk(ex, cfg, index, np.random.default_rng(2))
    heard: list[str] = []
    desk.set_indication_listener(heard.append)
    clock.run_until(T0 + axe.start_s + 1)
    assert heard == [cfg.name]  # the desk told its clients it has appetite
    quotes: list[Quote] = []
    desk.request_quote("R1", "BTC/USDT", Side.SELL, Decimal("50"), quotes.append)
    clock.run_until(clock.now() + 5)
    (q,) = quotes
    best_bid = max(ex.market.best(v)[0] for v in range(len(ex.venues)))
    assert float(q.quantity) > 50 and float(q.quantity) >= axe.params["qty"] - 1e-3
    assert float(q.price) > best_bid  # through the exchanges' touch, in our favour
    assert q.expires_ts - q.received_ts > 300  # the brief's 10-minute quote
    results: list[OtcExecution] = []
    desk.accept(q, q.quantity, results.append)
    clock.run_until(clock.now() + 1)
    assert results[0].filled == q.quantity and results[0].desk_trade_id.startswith("otc:")
    assert desk.laid_off_qty == 0.0  # the axe is the desk's own need for the other side: nothing laid off


def test_a_quote_is_never_filled_after_expiry_and_last_look_can_reject() -> None:
    clock, ex = world()
    firm = SimDesk(ex, DeskConfig(name="f", expiry_s=(5.0, 5.0)), 0, np.random.default_rng(3))
    quotes: list[Quote] = []
    firm.request_quote("R1", "BTC/USDT", Side.SELL, Decimal("5"), quotes.append)
    clock.run_until(T0 + 6)
    clock.run_until(quotes[0].expires_ts + 0.01)
    results: list[OtcExecution] = []
    firm.accept(quotes[0], quotes[0].quantity, results.append)
    clock.run_until(clock.now() + 1)
    assert results[0].filled == 0 and "expired" in results[0].rejected_reason
    picky = SimDesk(ex, DeskConfig(name="p", firm=False, last_look_reject_prob=1.0), 1, np.random.default_rng(4))
    picky.request_quote("R2", "BTC/USDT", Side.SELL, Decimal("5"), quotes.append)
    clock.run_until(clock.now() + 4)
    picky.accept(quotes[-1], quotes[-1].quantity, results.append)
    clock.run_until(clock.now() + 1)
    assert results[-1].filled == 0 and results[-1].rejected_reason == "last look"


def test_a_prehedging_desk_moves_the_mid_against_the_requester() -> None:
    moves = []
    for prehedge in (0.0, 0.5):
        clock, ex = world(seed=9)
        desk = SimDesk(ex, DeskConfig(name="m", prehedge_fraction=prehedge), 0, np.random.default_rng(5))
        before = desk._mid()
        desk.request_quote("R1", "BTC/USDT", Side.SELL, Decimal("300"), lambda q: None)
        clock.run_until(clock.now() + 40)
        moves.append((desk._mid() - before) / before * 1e4)
    # same seed, same market: the only difference is the desk selling 150 BTC ahead of our quote
    print(f"mid 40 s after a 300 BTC sell request: {moves[0]:+.1f} bps without pre-hedge, "
          f"{moves[1]:+.1f} bps with half")
    assert moves[1] < moves[0] - 3.0


def test_a_desk_lays_off_part_of_what_it_bought_and_the_mid_feels_it() -> None:
    """Same seed and market, a 300 BTC sale to a plain desk: with the default layoff (half over
    30 min) the desk sells 150 BTC on the exchange and the mid 30 min later sits lower than when
    the desk keeps everything (layoff_fraction 0)."""
    moves, laid = [], []
    for fraction in (0.0, 0.5):
        clock, ex = world(seed=9)
        desk = SimDesk(ex, DeskConfig(name="n", layoff_fraction=fraction), 0, np.random.default_rng(5))
        quotes: list[Quote] = []
        desk.request_quote("R1", "BTC/USDT", Side.SELL, Decimal("300"), quotes.append)
        clock.run_until(clock.now() + 4)
        before = desk._mid()
        results: list[OtcExecution] = []
        desk.accept(quotes[0], quotes[0].quantity, results.append)
        clock.run_until(clock.now() + 1805)
        assert results[0].filled == Decimal("300")
        moves.append((desk._mid() - before) / before * 1e4)
        laid.append(desk.laid_off_qty)
    print(f"mid 30 min after a 300 BTC OTC sale: {moves[0]:+.1f} bps kept, {moves[1]:+.1f} bps half laid off")
    assert laid == [0.0, 150.0]
    assert moves[1] < moves[0] - 5.0
