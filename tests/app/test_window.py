"""The terminal window opens, shows its panels and status bar, and renders to a PNG."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from app.main_window import PANELS, MainWindow
from core.events import LoopLag, TradingState

ROOT = Path(__file__).resolve().parents[2]


def test_main_window_has_every_panel_and_shows_state(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(settings_scope="BlockhouseTest", sim_speed=10.0)
    qtbot.addWidget(window)
    window.show()
    assert set(window.docks) == {name for name, *_ in PANELS}
    assert window.trading_state_label.text() == "ACTIVE"
    window.set_trading_state(TradingState.HALTED)
    assert window.trading_state_label.text() == "HALTED"
    window.show_loop_lag(LoopLag(0.0, 3.2, 12.0))
    assert window.lag_label.text() == "Loop lag: 3 ms (max 12)"
    assert "sim ×10" in window.clock_label.text() and "UTC" in window.clock_label.text()


def test_python_main_py_opens_the_window_and_takes_a_screenshot(tmp_path: Path) -> None:
    shot = tmp_path / "window.png"
    result = subprocess.run(
        [sys.executable, "main.py", "--set", f"general.data_dir={tmp_path}", "--screenshot", str(shot)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(shot))
    assert image.width() == 1920 and image.height() == 1080
    assert list((tmp_path / "sim-journals").glob("*.sqlite"))  # the engine came up with its (session) journal


def test_cli_lists_commands_and_prints_version() -> None:
    out = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "version" in out.stdout
    ver = subprocess.run([sys.executable, "main.py", "version"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ver.returncode == 0 and ver.stdout.startswith("Blockhouse 0.1.0")
