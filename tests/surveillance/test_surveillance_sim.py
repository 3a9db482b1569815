"""Acceptance on the simulator (slow): campaigns found on what a SimVenue publishes, nothing on a quiet market.

Training seeds only (>= 1,000,000): the evaluation seeds stay unseen by tests and tuning.
"""

from __future__ import annotations

import dataclasses

import pytest

from adapters.sim.scenario import EventConfig, load_scenario
from bench.eval_surveillance import dip_scenario, run_detectors, run_dips, score_campaigns

pytestmark = pytest.mark.slow


def test_a_spoofer_and_a_stuffer_are_found_within_a_minute_and_nothing_else_is_flagged() -> None:
    base = load_scenario("calm", {"scenario.duration_s": "2400"})
    events = (
        EventConfig(kind="spoof", start_s=(900.0, 900.0), duration_s=(300.0, 300.0), venue="alpha", side="buy"),
        EventConfig(kind="stuff", start_s=(1700.0, 1700.0), duration_s=(240.0, 240.0), venue="gamma"),
    )
    run = run_detectors(dataclasses.replace(base, events=events), 1_000_101)
    res = score_campaigns([run])
    for kind in ("spoof", "stuff"):
        assert res[kind]["campaigns"] == 1 and res[kind]["detected_60s"] == 1, res
        assert res[kind]["precision"] == 1.0, run["episodes"]


def test_flush_and_informed_move_are_detected_and_described() -> None:
    run = run_dips(dip_scenario(1_000_102, 0.6), 1_000_102)
    matched = [d for d in run["dips"] if d["kind"] is not None]
    assert {d["kind"] for d in matched} <= {"flush", "informed"} and len(matched) == len(run["events"]) >= 1
