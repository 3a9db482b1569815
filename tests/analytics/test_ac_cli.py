"""`python main.py ac`: JSON, table and bad-input handling, driven through argparse."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from app.commands import ac
from core.analytics.almgren_chriss import optimal_trajectory
from core.analytics.impact import AlmgrenChrissParams

PAPER_ARGS = [
    "ac", "--price", "50", "--shares", "1e6", "--horizon", "5", "--periods", "5", "--sigma", "0.95",
    "--eta", "2.5e-6", "--gamma", "2.5e-7", "--epsilon", "0.0625", "--risk-aversion", "1e-6",
]  # fmt: skip


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="main.py")
    ac.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_json_to_stdout_matches_the_core_solution(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([*PAPER_ARGS, "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    plan = optimal_trajectory(AlmgrenChrissParams(0.95, 2.5e-6, 2.5e-7, 0.0625), 1e6, 5.0, 5, 1e-6)
    assert data["schema_version"] == 1
    assert data["kappa"] == pytest.approx(0.607076, rel=1e-5)
    np.testing.assert_allclose(data["trajectory"], plan.trajectory)
    np.testing.assert_allclose(data["trade_list"], plan.trade_list)
    assert len(data["trajectory"]) == 6 and len(data["trade_list"]) == 5
    assert data["expected_cost"] == pytest.approx(plan.expected_cost)
    assert data["variance"] == pytest.approx(plan.variance)
    assert data["expected_cost_bps"] == pytest.approx(plan.expected_cost / 5e7 * 1e4)
    assert data["linear"]["expected_cost"] == pytest.approx(662_500.0)
    assert data["immediate"]["variance"] == 0.0
    assert data["inputs"]["periods"] == 5


def test_table_and_json_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "ac.json"
    assert run([*PAPER_ARGS, "--json", str(target)]) == 0
    out = capsys.readouterr().out
    assert "kappa = 0.607076" in out
    assert "1,000,000.00" in out  # x_0 in the schedule table
    assert json.loads(target.read_text())["trajectory"][0] == 1e6


def test_zero_risk_aversion_prints_linear_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*PAPER_ARGS[:-1], "0", "--json", "-"]
    assert run(argv) == 0
    data = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(data["trajectory"], [1e6, 8e5, 6e5, 4e5, 2e5, 0.0], atol=1e-6)
    assert data["half_life"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--eta", "1e-7"), "eta~"),
        (("--periods", "0"), "at least 1"),
        (("--shares", "-5"), "positive"),
        (("--sigma", "-1"), "sigma"),
        (("--risk-aversion", "-1"), "risk-aversion"),
        (("--price", "nan"), "finite"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    change: tuple[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = list(PAPER_ARGS)
    argv[argv.index(change[0]) + 1] = change[1]
    assert run([*argv, "--json", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
