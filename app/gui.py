"""Start the terminal: a Qt application whose event loop is the asyncio loop (qasync)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.composition import build_terminal
from app.logging_setup import setup_logging
from app.settings import RESOURCES, Settings

log = logging.getLogger(__name__)


def apply_theme(app: QApplication, theme: str) -> None:
    qss = RESOURCES / "theme" / f"{theme}.qss"
    if qss.exists():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))


def run_gui(settings: Settings, screenshot: Path | None = None, scenario: str | None = None, at_s: float = 0.0) -> int:
    import qasync

    setup_logging(settings.log_dir, str(settings.get("general.log_level")))
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    apply_theme(app, str(settings.get("ui.theme")))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    terminal = build_terminal(settings, loop, scenario=scenario)
    window = terminal.window
    window.resize(1920, 1080)
    window.show()
    if screenshot is not None:

        def shoot() -> None:
            save_screenshot(window, screenshot)
            app.quit()

        terminal.run_simulated(at_s)
        QTimer.singleShot(300, shoot)
    log.info("terminal started")
    with loop:
        loop.run_forever()
    terminal.shutdown()
    return 0


def save_screenshot(widget: object, path: Path) -> None:
    from PySide6.QtWidgets import QWidget

    assert isinstance(widget, QWidget)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write the screenshot to {path}")
