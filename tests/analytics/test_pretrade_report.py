"""Pre-trade report: JSON shape, consistency between its models, determinism."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from core.analytics.almgren_chriss import URGENCY_KAPPA_T, Urgency, linear_execution
from core.analytics.horizon import HorizonImpactModel
from core.analytics.instant_cost import VenueBook
from core.analytics.pretrade import PreTradeSettings, build_pretrade_report, calibrate_ac_params


def ladder(name: str, mid: float, tick: float, levels: int, top_qty: float, fee_bps: float) -> VenueBook:
    steps = np.arange(levels, dtype=np.float64)
    qty = top_qty * (1.0 + 0.1 * steps)
    return VenueBook(
        name, mid - tick / 2 - tick * steps, qty.copy(), mid + tick / 2 + tick * steps, qty.copy(), fee_bps
    )


VENUES = [
    ladder("binance", 60_000.0, 1.0, 400, 0.5, 10.0),
    ladder("okx", 60_000.0, 2.0, 300, 0.8, 8.0),
    ladder("kraken", 60_000.0, 5.0, 100, 1.0, 20.0),
]
SETTINGS = PreTradeSettings(mc_paths=20_000, seed=17, cost_limit_bps=100.0)


def test_report_is_json_and_has_the_documented_keys() -> None:
    report = build_pretrade_report(VENUES, -1, 200.0, 4 * 3600.0, "medium", 20_000.0, 0.03, SETTINGS)
    data = report.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    for key in (
        "schema_version",
        "instant_cost_bps_deepest",
        "instant_cost_bps_consolidated",
        "venues",
        "horizons",
        "recommended_horizon_s",
        "schedule",
        "expected_cost_bps",
        "cost_std_bps",
        "cost_p05_bps",
        "cost_p50_bps",
        "cost_p95_bps",
        "risk_aversion",
        "kappa",
        "frontier",
    ):
        assert key in data, key
    assert data["schema_version"] == 1
    assert set(data["venues"]) == {"binance", "okx", "kraken"}
    okx = data["venues"]["okx"]
    for key in ("mid", "spread_bps", "depth_bid_qty_100bps", "depth_ask_qty_10bps", "instant_cost_bps", "unfilled_qty"):
        assert key in okx, key
    assert len(data["horizons"]) == 8
    assert len(data["frontier"]) == 21
    assert len(data["schedule"]["holdings"]) == SETTINGS.n_periods + 1


def test_report_numbers_are_consistent() -> None:
    report = build_pretrade_report(VENUES, -1, 200.0, 4 * 3600.0, Urgency.MEDIUM, 20_000.0, 0.03, SETTINGS)
    data = report.to_dict()
    # Deepest within 1 %: binance holds ~4190 BTC of bids, okx ~3828, kraken ~595.
    assert data["deepest_venue"] == "binance"
    assert data["instant_cost_bps_deepest"] == pytest.approx(data["venues"]["binance"]["instant_cost_bps"])
    # Same mid everywhere, so consolidation can only help.
    assert data["instant_cost_bps_consolidated"] < data["instant_cost_bps_deepest"]
    allocated = sum(v["qty"] for v in data["consolidated"]["allocation"].values())
    assert allocated == pytest.approx(200.0)
    # Schedule: sells 200 over the requested 4 h with kappa*T = 2 (medium urgency).
    schedule = data["schedule"]
    assert schedule["horizon_s"] == 4 * 3600.0
    assert schedule["holdings"][0] == 200.0 and schedule["holdings"][-1] == 0.0
    assert sum(schedule["trade_list"]) == pytest.approx(200.0)
    assert schedule["times_s"][-1] == pytest.approx(4 * 3600.0)
    assert data["kappa_horizon"] == pytest.approx(URGENCY_KAPPA_T[Urgency.MEDIUM])
    # The recommendation is the argmin of the table's objective.
    best = min(data["horizons"], key=lambda row: row["objective_bps"])
    assert data["recommended_horizon_s"] == best["horizon_s"]
    # Monte Carlo percentiles bracket the closed-form mean; MC mean agrees within 4 SE.
    assert data["cost_p05_bps"] < data["expected_cost_bps"] < data["cost_p95_bps"]
    se = data["cost_std_bps"] / math.sqrt(SETTINGS.mc_paths)
    assert abs(data["mc_mean_bps"] - data["expected_cost_bps"]) < 4 * se
    assert 0.0 < data["prob_cost_exceeds_limit"] < 1.0
    # Frontier: cost rises, risk falls with risk aversion.
    costs = [p["expected_cost_bps"] for p in data["frontier"]]
    risks = [p["cost_std_bps"] for p in data["frontier"]]
    assert costs == sorted(costs) and risks == sorted(risks, reverse=True)
    # Fixed cost = half the consolidated spread (1 $ on 60 000) + depth-weighted fee.
    assert 8.0 < data["fixed_cost_bps"] - 0.5 * 1.0 / 60_000.0 * 1e4 < 20.0


def test_ac_calibration_reproduces_the_horizon_model_at_the_horizon() -> None:
    model = HorizonImpactModel(temporary_coeff=0.7, fixed_cost_bps=6.0)
    quantity, price, volume, sigma, horizon_s = 150.0, 60_000.0, 20_000.0, 0.03, 7200.0
    params = calibrate_ac_params(model, quantity, price, volume, sigma, horizon_s, 24)
    linear = linear_execution(params, quantity, horizon_s / 86_400.0, 24)
    assert linear.expected_cost_bps(price) == pytest.approx(
        model.expected_cost_bps(quantity, volume, sigma, horizon_s), rel=1e-12
    )
    assert params.sigma == pytest.approx(sigma * price)


def test_same_seed_same_report_and_recommended_schedule() -> None:
    first = build_pretrade_report(VENUES, 1, 300.0, 3600.0, "low", 20_000.0, 0.03, SETTINGS).to_dict()
    second = build_pretrade_report(VENUES, 1, 300.0, 3600.0, "low", 20_000.0, 0.03, SETTINGS).to_dict()
    assert first == second
    settings = PreTradeSettings(mc_paths=5_000, seed=1, schedule_for="recommended")
    rec = build_pretrade_report(VENUES, 1, 300.0, 3600.0, "low", 20_000.0, 0.03, settings).to_dict()
    assert rec["schedule"]["horizon_s"] == rec["recommended_horizon_s"]


def test_thin_book_reports_unfilled_quantity_and_stays_json() -> None:
    thin = [ladder("tiny", 60_000.0, 1.0, 5, 0.1, 10.0)]
    data = build_pretrade_report(thin, 1, 50.0, 3600.0, "high", 20_000.0, 0.03, SETTINGS).to_dict()
    assert data["venues"]["tiny"]["unfilled_qty"] == pytest.approx(50.0 - 0.1 * (5 + 0.1 * 10))
    assert data["instant_unfilled_qty_consolidated"] == pytest.approx(data["venues"]["tiny"]["unfilled_qty"])
    json.dumps(data, allow_nan=False)


def test_bad_ticket_is_refused() -> None:
    with pytest.raises(ValueError, match="side"):
        build_pretrade_report(VENUES, 0, 1.0, 3600.0, "low", 1.0, 0.03)
    with pytest.raises(ValueError, match="quantity"):
        build_pretrade_report(VENUES, 1, -1.0, 3600.0, "low", 1.0, 0.03)
    with pytest.raises(ValueError, match="urgency must be one of low, medium, high"):
        build_pretrade_report(VENUES, 1, 1.0, 3600.0, "extreme", 1.0, 0.03)
    with pytest.raises(ValueError, match="schedule_for"):
        build_pretrade_report(VENUES, 1, 1.0, 3600.0, "low", 1.0, 0.03, PreTradeSettings(schedule_for="now"))
