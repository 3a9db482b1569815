"""Every widget rendered with realistic fake view-models in the dark theme, saved as PNG.

BLOCKHOUSE_WIDGET_SHOTS=/tmp pytest tests/widgets -k screenshot  → /tmp/widgets_*.png to look at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from core.events import TradingState
from widgets import samples
from widgets.alerts import AlertsView
from widgets.exec_chart import ExecutionChart
from widgets.kill_switch import HaltedBanner, KillSwitchButton
from widgets.ladder import DepthLadder
from widgets.rfq_dialog import RfqQuoteDialog
from widgets.tables import BlotterView, ChildrenModel, FillsModel, ParentsModel


def _save(widget: QWidget, path: Path) -> None:
    from PySide6.QtTest import QTest

    QTest.qWait(30)  # let layouts settle after the last setText (titles, counts)
    image = widget.grab().toImage()
    assert not image.isNull() and image.width() > 100
    assert image.save(str(path))


def test_screenshot_ladders_at_dock_size(qtbot, dark_qss: str, shots_dir: Path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    panel = QWidget()
    panel.setStyleSheet(dark_qss)
    row = QHBoxLayout(panel)
    row.setContentsMargins(0, 0, 0, 0)
    ladders = []
    for venue, mid in (("binance", 65_000.0), ("okx", 65_000.3), ("consolidated", 65_000.1)):
        ladder = DepthLadder()
        view = samples.ladder_view(rng, venue=venue, mid=mid, working=venue != "okx")
        ladder.set_view(view)
        row.addWidget(ladder)
        ladders.append(ladder)
    qtbot.addWidget(panel)
    panel.resize(1500, 950)  # the ladders dock of a 1920×1080 window
    panel.show()
    qtbot.waitExposed(panel)
    for ladder in ladders:
        ladder.flush()
        assert ladder.visible_rows >= 40
    _save(panel, shots_dir / "widgets_ladders.png")
    single = DepthLadder()
    single.setStyleSheet(dark_qss)
    qtbot.addWidget(single)
    single.set_view(samples.ladder_view(np.random.default_rng(1)))
    single.show()  # default size
    qtbot.waitExposed(single)
    single.flush()
    assert single.visible_rows >= 20
    _save(single, shots_dir / "widgets_ladder.png")


def test_screenshot_blotters_and_alerts(qtbot, dark_qss: str, shots_dir: Path) -> None:  # type: ignore[no-untyped-def]
    for name, model, rows in (
        ("parents", ParentsModel(), samples.parent_rows()),
        ("children", ChildrenModel(), samples.child_rows()),
        ("fills", FillsModel(), samples.fill_rows()),
    ):
        view = BlotterView(model, name=name)
        view.setStyleSheet(dark_qss)
        qtbot.addWidget(view)
        model.apply_rows(rows)
        view.resize(1900, 300)
        view.show()
        _save(view, shots_dir / f"widgets_{name}.png")
    alerts = AlertsView()
    alerts.setStyleSheet(dark_qss)
    qtbot.addWidget(alerts)
    alerts.alerts.apply_rows(samples.alert_rows())
    alerts.resize(1200, 240)
    alerts.show()
    _save(alerts, shots_dir / "widgets_alerts.png")


def test_screenshot_execution_chart(qtbot, dark_qss: str, shots_dir: Path) -> None:  # type: ignore[no-untyped-def]
    chart = ExecutionChart()
    chart.setStyleSheet(dark_qss)
    qtbot.addWidget(chart)
    chart.resize(1900, 620)
    chart.apply(samples.chart_update(np.random.default_rng(3)))
    chart.show()
    chart.flush()
    _save(chart, shots_dir / "widgets_chart.png")


def test_screenshot_rfq_dialog(qtbot, dark_qss: str, shots_dir: Path) -> None:  # type: ignore[no-untyped-def]
    for name, better, at in (("rfq", True, 6.2), ("rfq_worse", False, 11.0), ("rfq_expired", True, 20.0)):
        dialog = RfqQuoteDialog(samples.rfq_quote(samples.T0, better=better), now=lambda at=at: samples.T0 + at)
        dialog.setStyleSheet(dark_qss)
        qtbot.addWidget(dialog)
        dialog.show()
        _save(dialog, shots_dir / f"widgets_{name}.png")


def test_screenshot_kill_switch_and_halted_banner(qtbot, dark_qss: str, shots_dir: Path) -> None:  # type: ignore[no-untyped-def]
    page = QWidget()
    page.setStyleSheet(dark_qss)
    column = QVBoxLayout(page)
    column.setContentsMargins(0, 0, 0, 0)
    banner = HaltedBanner()
    banner.set_can_reset(True)
    banner.set_state(
        TradingState.HALTED, "supervisor carol", samples.T0 + 3600, "Kill switch from the risk panel",
        {"binance": 12, "okx": 7, "coinbase": 3},
    )
    button = KillSwitchButton()
    column.addWidget(banner)
    column.addWidget(button, 0, Qt.AlignmentFlag.AlignRight)
    column.addStretch(1)
    qtbot.addWidget(page)
    page.resize(1900, 160)
    page.show()
    _save(page, shots_dir / "widgets_halted.png")
