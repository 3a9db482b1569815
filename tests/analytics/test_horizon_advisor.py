"""Horizon advisor: costs by hand, recommendation, continuous optimum."""

from __future__ import annotations

import math

import pytest

from core.analytics.horizon import DEFAULT_HORIZONS_S, HorizonImpactModel, advise_horizon, participation_rate

Q, V, SIGMA = 200.0, 20_000.0, 0.03


def test_one_horizon_by_hand() -> None:
    model = HorizonImpactModel(temporary_coeff=0.8, temporary_exponent=0.5, permanent_coeff=0.3, fixed_cost_bps=5.0)
    advice = advise_horizon(Q, V, SIGMA, risk_aversion_per_bps=0.01, model=model, horizons_s=[6 * 3600.0])
    row = advice.rows[0]
    # 6 h = 0.25 day: participation 200 / (20000 * 0.25) = 4 %
    assert row.participation == pytest.approx(0.04)
    temporary = 0.8 * 0.03 * math.sqrt(0.04) * 1e4  # 48 bps
    permanent = 0.5 * 0.3 * 0.03 * 0.01 * 1e4  # 0.45 bps
    assert row.expected_cost_bps == pytest.approx(5.0 + permanent + temporary)
    assert row.cost_std_bps == pytest.approx(0.03 * math.sqrt(0.25 / 3.0) * 1e4)
    assert row.objective_bps == pytest.approx(row.expected_cost_bps + 0.01 * row.cost_std_bps**2)
    assert advice.recommended_horizon_s == 6 * 3600.0


def test_recommendation_minimizes_the_objective() -> None:
    advice = advise_horizon(Q, V, SIGMA, risk_aversion_per_bps=0.02)
    assert [r.horizon_s for r in advice.rows] == sorted(DEFAULT_HORIZONS_S)
    best = min(advice.rows, key=lambda r: r.objective_bps)
    assert advice.recommended_horizon_s == best.horizon_s
    # Cost falls and risk rises with the horizon.
    costs = [r.expected_cost_bps for r in advice.rows]
    risks = [r.cost_std_bps for r in advice.rows]
    assert costs == sorted(costs, reverse=True)
    assert risks == sorted(risks)
    assert 900.0 < advice.recommended_horizon_s < 86_400.0


def test_risk_aversion_moves_the_recommendation() -> None:
    patient = advise_horizon(Q, V, SIGMA, risk_aversion_per_bps=0.0)
    assert patient.recommended_horizon_s == 86_400.0
    assert math.isinf(patient.unconstrained_optimum_s)
    urgent = advise_horizon(Q, V, SIGMA, risk_aversion_per_bps=10.0)
    assert urgent.recommended_horizon_s == 900.0
    mid = advise_horizon(Q, V, SIGMA, risk_aversion_per_bps=0.02)
    assert urgent.recommended_horizon_s < mid.recommended_horizon_s < patient.recommended_horizon_s


def test_continuous_optimum_is_the_minimizer() -> None:
    model = HorizonImpactModel(temporary_coeff=1.0, temporary_exponent=0.6)
    advice = advise_horizon(Q, V, SIGMA, 0.02, model=model)
    t_star = advice.unconstrained_optimum_s

    def objective(horizon_s: float) -> float:
        return advise_horizon(Q, V, SIGMA, 0.02, model=model, horizons_s=[horizon_s]).rows[0].objective_bps

    assert objective(t_star) < objective(t_star * 1.01)
    assert objective(t_star) < objective(t_star * 0.99)
    assert objective(t_star) == pytest.approx(min(objective(t_star * f) for f in (0.9, 1.0, 1.1)))


def test_participation_and_validation() -> None:
    assert participation_rate(100.0, 1000.0, 3600.0) == pytest.approx(100.0 / (1000.0 / 24.0))
    with pytest.raises(ValueError, match="horizons"):
        advise_horizon(Q, V, SIGMA, 0.01, horizons_s=[0.0])
    with pytest.raises(ValueError, match="risk aversion"):
        advise_horizon(Q, V, SIGMA, -1.0)
    with pytest.raises(ValueError, match="temporary_exponent"):
        HorizonImpactModel(temporary_exponent=1.5)
