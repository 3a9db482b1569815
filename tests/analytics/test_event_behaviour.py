"""Issue 9's event behaviour, measured on one run and judged against AC's run on the same seed:
hand-made fills around hand-made events, so every verdict can be checked by eye."""

from __future__ import annotations

import pytest

from core.analytics.event_behaviour import (
    EventFill,
    MarketEvent,
    behaviour_summary,
    judge_pair,
    run_event_metrics,
    sign_test_p,
)

FLUSH_DOWN = MarketEvent("flush", "beta", 1000.0, 1300.0, -1, recovery_s=900.0)
INFORMED_DOWN = MarketEvent("informed", "alpha", 5000.0, 5120.0, -1)
SPOOF = MarketEvent("spoof", "alpha", 8000.0, 9000.0, 0)


def mid_at(venue: str, t_s: float) -> float:
    return 100.0  # the pre-move mid on every venue


def metrics(fills: list[EventFill], side: int, events=(FLUSH_DOWN, INFORMED_DOWN, SPOOF)):  # type: ignore[no-untyped-def]
    return run_event_metrics(events, fills, side, (0.0, 14_400.0), mid_at)


def test_classes_follow_the_parent_side() -> None:
    buy = {r["kind"]: r["class"] for r in metrics([], +1)}
    sell = {r["kind"]: r["class"] for r in metrics([], -1)}
    assert buy == {"flush": "transient_favourable", "informed": "informed_favourable", "spoof": "spoof"}
    assert sell == {"flush": "transient_against", "informed": "informed_against", "spoof": "spoof"}


def test_events_outside_the_parent_window_are_not_scored() -> None:
    late = MarketEvent("flush", "beta", 20_000.0, 20_300.0, -1, 900.0)
    assert run_event_metrics([late], [], -1, (0.0, 14_400.0), mid_at) == []


def test_a_buyer_that_leans_into_a_dip_passes_and_one_that_does_not_fails() -> None:
    ac = metrics([EventFill(1100.0, "beta", 1.0, 99.5), EventFill(1400.0, "alpha", 1.0, 100.2)], +1)
    leaning = metrics([EventFill(1100.0, "beta", 3.0, 99.5), EventFill(1400.0, "alpha", 1.0, 100.2)], +1)
    timid = metrics([EventFill(1400.0, "alpha", 2.0, 100.2)], +1)
    assert leaning[0]["venue_qty_during"] == 3.0 and leaning[0]["qty_better_than_pre_mid"] == 3.0
    assert judge_pair(leaning[0], ac[0], +1) is True
    assert judge_pair(timid[0], ac[0], +1) is False


def test_a_seller_that_holds_back_and_sells_the_recovery_passes() -> None:
    # AC sells into the dip on beta; the adaptive seller waits and sells after the recovery
    ac = metrics([EventFill(1100.0, "beta", 2.0, 99.4), EventFill(2500.0, "beta", 2.0, 100.0)], -1)
    held = metrics([EventFill(1100.0, "beta", 1.0, 99.4), EventFill(2500.0, "beta", 3.0, 100.0)], -1)
    assert held[0]["window_vwap"] == pytest.approx(99.85) and ac[0]["window_vwap"] == pytest.approx(99.7)
    assert judge_pair(held[0], ac[0], -1) is True
    assert judge_pair(ac[0], held[0], -1) is False  # selling more into the dip at a lower VWAP fails


def test_trading_ahead_of_an_informed_move_and_leaving_a_spoofed_venue() -> None:
    ac = metrics([EventFill(5050.0, "alpha", 1.0, 99.0), EventFill(8500.0, "alpha", 1.0, 100.0),
                  EventFill(8500.0, "beta", 1.0, 100.0)], -1)
    adaptive = metrics([EventFill(5050.0, "alpha", 2.0, 99.0), EventFill(8500.0, "beta", 2.0, 100.0)], -1)
    inf_a, inf_c = adaptive[1], ac[1]
    spoof_a, spoof_c = adaptive[2], ac[2]
    assert (inf_a["qty_after_start"], inf_c["qty_after_start"]) == (2.0, 1.0)
    assert judge_pair(inf_a, inf_c, -1) is True
    assert (spoof_a["venue_share"], spoof_c["venue_share"]) == (0.0, 0.5)
    assert judge_pair(spoof_a, spoof_c, -1) is True
    assert judge_pair(spoof_c, spoof_a, -1) is False


def test_the_summary_counts_seeds_and_the_sign_test_matches_the_issue() -> None:
    assert sign_test_p(15, 20) == pytest.approx(0.020695, abs=1e-6)  # "15 of 20, p ≈ 0.04" two-sided
    assert sign_test_p(14, 20) == pytest.approx(0.057659, abs=1e-6)
    assert sign_test_p(0, 0) is None
    ac = {"side": "sell", "events": metrics([EventFill(5050.0, "alpha", 1.0, 99.0)], -1)}
    better = {"side": "sell", "events": metrics([EventFill(5050.0, "alpha", 2.0, 99.0)], -1)}
    worse = {"side": "sell", "events": metrics([], -1)}
    summary = behaviour_summary({1: better, 2: better, 3: worse}, {1: ac, 2: ac, 3: ac}, [1, 2, 3])
    informed = summary["informed_against"]
    assert (informed["seeds"], informed["passed"]) == (3, 2)
    assert informed["per_seed"] == {"1": True, "2": True, "3": False}
    assert informed["sign_test_p"] == pytest.approx(0.5)
    assert summary["transient_favourable"]["seeds"] == 0  # a seller never meets a favourable flush here
