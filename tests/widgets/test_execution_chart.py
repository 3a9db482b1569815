"""Execution chart: preallocated buffers, setData at a bounded rate, the plan, fills by venue."""

from __future__ import annotations

import time

import numpy as np
import pytest

from widgets import samples
from widgets.exec_chart import ColumnBuffer, ExecutionChart
from widgets.viewmodels import ChartUpdate


def _tick(i: int, fills: bool = True) -> ChartUpdate:
    t = np.array([samples.T0 + 60.0 * i])
    return ChartUpdate(
        parent_id="BH0001",
        start_ts=samples.T0,
        venues=samples.VENUES,
        arrival=65_000.0,
        max_participation=0.2,
        t=t,
        filled_cum=np.array([float(i)]),
        price=np.array([65_000.0 - i]),
        vwap=np.array([65_000.0 - i / 2]),
        participation=np.array([0.1]),
        fill_t=t if fills else np.empty(0),
        fill_px=np.array([65_000.0 - i]) if fills else np.empty(0),
        fill_qty=np.array([1.0 + i % 3]) if fills else np.empty(0),
        fill_venue=np.array([i % 3], dtype=np.int64) if fills else np.empty(0, dtype=np.int64),
    )


@pytest.fixture
def chart(qtbot):  # type: ignore[no-untyped-def]
    widget = ExecutionChart(max_fps=20, capacity=64)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    return widget


def test_a_burst_of_updates_is_drawn_once(chart: ExecutionChart, qtbot) -> None:  # type: ignore[no-untyped-def]
    for i in range(1000):
        chart.apply(_tick(i))
    assert chart.flush_count == 0  # nothing drawn synchronously
    qtbot.waitUntil(lambda: chart.flush_count == 1, timeout=1000)
    qtbot.wait(150)
    assert chart.flush_count == 1
    x, y = chart.filled.getData()
    assert len(x) == 1000 and x[10] == pytest.approx(10.0) and y[-1] == 999.0  # minutes since start
    assert chart.samples.capacity >= 1000  # grew from 64 by doubling, data intact
    assert sum(len(s.getData()[0]) for s in chart.fill_scatters) == 1000


def test_set_data_is_called_at_a_bounded_rate_under_a_stream(chart: ExecutionChart, qtbot) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for i in range(300):  # a fixed stream; how long it takes depends on the machine's load
        chart.apply(_tick(i))
        qtbot.wait(1)
    elapsed_s = time.perf_counter() - start
    qtbot.wait(100)
    assert elapsed_s > 0.3
    assert 3 <= chart.flush_count <= (elapsed_s + 0.1) * 20 + 2  # never more than max_fps
    # each frame pushes at most every item once (fewer: the plan and lines only when they change)
    assert chart.set_data_calls <= chart.flush_count * (9 + len(samples.VENUES))


def test_plan_band_arrival_and_venue_legend(chart: ExecutionChart) -> None:
    update = samples.chart_update(np.random.default_rng(1))
    chart.apply(update)
    chart.flush()
    sx, sy = chart.schedule.getData()
    assert sx[-1] == pytest.approx(240.0) and sy[-1] == pytest.approx(1000.0)
    lo = chart.band_low.getData()[1]
    hi = chart.band_high.getData()[1]
    assert np.all(lo <= sy + 1e-9) and np.all(hi >= sy - 1e-9)
    ax, ay = chart.arrival_line.getData()
    assert list(ay) == [65_000.0, 65_000.0] and ax[-1] == pytest.approx(240.0)
    labels = [label.text for _, label in chart.price_legend.items]
    assert {"price", "VWAP", "arrival", "fills · binance", "fills · okx", "fills · coinbase"} <= set(labels)
    assert {label.text for _, label in chart.qty_legend.items} == {"schedule", "filled", "AC band"}
    # markers are sized by quantity
    scatter = chart.fill_scatters[0]
    sizes = [p.size() for p in scatter.points()]
    assert min(sizes) < max(sizes)
    # a new parent starts from scratch
    chart.apply(ChartUpdate(parent_id="BH0002", start_ts=samples.T0 + 3600, reset=True))
    chart.flush()
    assert len(chart.filled.getData()[0] if chart.filled.getData()[0] is not None else []) == 0


def test_column_buffer_grows_by_doubling() -> None:
    buf = ColumnBuffer(2, capacity=16)
    for i in range(10):
        buf.append(np.arange(5) + 5 * i, np.ones(5))
    assert buf.size == 50 and buf.capacity == 64
    assert np.array_equal(buf.column(0), np.arange(50))
