"""Start the terminal: a Qt application whose event loop is the asyncio loop (qasync).

Who is acting: a login dialog (opened with `open()`, never `exec()`) asks for an account of the
local user store (`python main.py users add`); the role comes from the store, and only a
supervisor gets the kill switch. With no account yet, on the embedded simulated market only, the
dialog offers a local session: a name and a role, no password (there is nothing to check it
against, and nothing real to trade). Until someone logs in the window is view-only.

`--screenshot PATH [--scenario NAME] [--at SECONDS]` renders offscreen: a demo supervisor stages
and starts the demo parent (sell 1,000 BTC over 4 h with Almgren-Chriss, RFQ manual) through
the real ticket, the market runs as fast as it can to `--at` seconds after the scenario's start,
and the window — with any open RFQ dialog drawn at its place — is saved at 1920×1080.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import math
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.composition import Terminal, build_terminal
from app.logging_setup import setup_logging
from app.settings import RESOURCES, Settings
from core.actors import Actor, Role
from widgets import theme

log = logging.getLogger(__name__)
DEMO_ACTOR = Actor("demo", Role.SUPERVISOR)
DEMO_TICKET = {"side": "sell", "quantity": "1000", "unit": "base", "horizon": "4h", "algo": "ac",
               "urgency": "medium", "rfq_mode": "manual", "end_action": "complete"}
SCREEN_SIZE = (1920, 1080)


def apply_theme(app: QApplication, theme_name: str) -> None:
    qss = RESOURCES / "theme" / f"{theme_name}.qss"
    if qss.exists():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))


def run_gui(
    settings: Settings,
    screenshot: Path | None = None,
    scenario: str | None = None,
    at_s: float = 0.0,
    kill_at_s: float | None = None,
    show_panel: str | None = None,
) -> int:
    """Open the terminal; with `screenshot`, run the demo to `at_s` (pressing the kill switch at
    `kill_at_s` if given), bring `show_panel` (a dock name, e.g. "pretrade") to the front, save the
    window and exit."""
    import qasync

    if screenshot is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    setup_logging(settings.log_dir, str(settings.get("general.log_level")))
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    apply_theme(app, str(settings.get("ui.theme")))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    shooting = screenshot is not None
    terminal = build_terminal(
        settings, loop, scenario=scenario, actor=DEMO_ACTOR if shooting else None, start_pacer=not shooting,
        restore_layout=not shooting, settings_scope="BlockhouseScreenshot" if shooting else "Blockhouse",
    )
    window = terminal.window
    window.resize(*SCREEN_SIZE)
    window.show()
    result = {"code": 0}
    if screenshot is not None:

        async def shoot() -> None:
            try:
                await run_demo(terminal, at_s, kill_at_s)
                if show_panel:
                    window.show_panel(show_panel)
                    await asyncio.sleep(0.2)
                save_screenshot(window, screenshot, terminal.bridge.dialogs.values() if terminal.bridge else ())
            except ScreenshotNotWritten as exc:  # the path was checked before start-up; a disk can still fill up
                print(f"error: {exc}", file=sys.stderr)
                result["code"] = 1
            except Exception:
                log.exception("screenshot failed")
                result["code"] = 1
            finally:
                window.close_guard = None  # a screenshot leaves the demo's orders to the discarded market
                app.quit()  # Qt 6: quit() closes the windows first, and a guard could refuse

        QTimer.singleShot(200, lambda: loop.create_task(shoot()))
    else:
        login = LoginDialog(settings, sim=terminal.market is not None, parent=window)
        login.logged_in.connect(terminal.set_actor)
        QTimer.singleShot(0, login.open)
    # Ctrl+C in the launching shell quits cleanly (the Qt loop would otherwise swallow it; our
    # timers run Python code every 50 ms, so the handler gets its turn)
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    log.info("terminal started")
    with loop:
        loop.run_forever()
    terminal.shutdown()
    return result["code"]


async def run_demo(terminal: Terminal, at_s: float, kill_at_s: float | None = None) -> None:
    """Stage and start the demo parent through the ticket, run to `at_s` after the scenario's start."""
    bridge, market = terminal.bridge, terminal.market
    if bridge is None or market is None:
        await asyncio.sleep(0.1)  # live mode: nothing to run, shoot the empty window
        return
    ticket = bridge.panels.ticket
    ticket.fill(**DEMO_TICKET)
    ticket.stage()
    while bridge.pending_jobs:
        await asyncio.sleep(0.05)
    if not ticket.staged_id:
        raise RuntimeError(f"demo parent not staged: {ticket.status.text()}")
    bridge.start(ticket.staged_id)
    clock = market.clock
    target = market.t0 + at_s
    kill_ts = market.t0 + kill_at_s if kill_at_s is not None else math.inf
    while clock.now() < target:
        stop = min(target, clock.now() + 20.0, kill_ts if kill_ts > clock.now() else math.inf)
        clock.run_until(stop)
        if clock.now() >= kill_ts and not market.engine.risk.killed:
            bridge.kill_switch()
            kill_ts = math.inf
        await asyncio.sleep(0)  # Qt paints and the bridge's timers run between chunks
    if clock.now() >= kill_ts and not market.engine.risk.killed:
        bridge.kill_switch()
    bridge.close_finished_dialogs()
    bridge.flush_all()
    # idle a little over a second: coalesced repaints land, and the loop-lag monitor publishes a
    # window that no longer contains the fast-forward chunks (which block the loop by design)
    await asyncio.sleep(2.2)
    bridge.flush_all()
    await asyncio.sleep(0.1)


def save_screenshot(window: QWidget, path: Path, dialogs: object = ()) -> None:
    """Save the window, with its open top-level dialogs drawn where they are (a grab of the
    window alone would leave them out)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScreenshotNotWritten(f"could not write the screenshot to {path} ({exc.strerror or exc})") from None
    pixmap = window.grab()
    extra = [d for d in (dialogs or ()) if isinstance(d, QWidget) and d.isVisible()]  # type: ignore[attr-defined]
    if extra:
        painter = QPainter(pixmap)
        origin = window.mapToGlobal(QPoint(0, 0))
        for dialog in extra:
            _paint_window(painter, dialog, dialog.geometry().topLeft() - origin)
        painter.end()
    if not pixmap.save(str(path)):
        raise ScreenshotNotWritten(f"could not write the screenshot to {path}")


class ScreenshotNotWritten(OSError):
    """The screenshot's file could not be written (told on stderr, not only in the log)."""


def _paint_window(painter: QPainter, widget: QWidget, at: QPoint) -> None:
    """A child window as the window manager would frame it: title bar, border, contents."""
    title_h = 26
    body = widget.grab()
    frame = QRect(at.x() - 1, at.y() - title_h - 1, body.width() + 2, body.height() + title_h + 2)
    painter.fillRect(frame.adjusted(4, 4, 4, 4), QColor(0, 0, 0, 110))  # shadow
    painter.fillRect(frame, QColor(theme.BORDER))
    painter.fillRect(QRect(at.x(), at.y() - title_h, body.width(), title_h), QColor(theme.PANEL))
    painter.setPen(QPen(QColor(theme.TEXT)))
    font = QFont(widget.font())
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(QRect(at.x() + 10, at.y() - title_h, body.width() - 20, title_h),
                     int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), widget.windowTitle())
    painter.drawPixmap(at, body)


class LoginDialog(QDialog):
    """Who is at the terminal. `logged_in(Actor)` on success; opened with `open()`."""

    logged_in = Signal(object)

    def __init__(self, settings: Settings, sim: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loginDialog")
        self.setWindowTitle("Blockhouse — log in")
        self._store = None
        try:
            from app.auth import user_store

            self._store = user_store(settings)
            has_users = not self._store.is_empty()
        except Exception as exc:  # a broken user store must not keep the window from opening
            log.warning("user store unavailable: %s", exc)
            has_users = False
        self.local = not has_users and sim
        self.user = QLineEdit(getpass.getuser() if self.local else "")
        self.user.setObjectName("loginUser")
        self.password = QLineEdit()
        self.password.setObjectName("loginPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.role = QComboBox()
        self.role.setObjectName("loginRole")
        self.role.addItems([Role.TRADER.value, Role.SUPERVISOR.value])
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.ok = QPushButton("Start session" if self.local else "Log in")
        self.ok.setDefault(True)
        self.ok.clicked.connect(self._try)
        cancel = QPushButton("View only")
        cancel.clicked.connect(self.reject)

        intro = QLabel()
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("User", self.user)
        if has_users:
            intro.setText("Log in with your terminal account.")
            form.addRow("Password", self.password)
        elif sim:
            intro.setText("No accounts exist yet. On the embedded simulated market you may start a local session: "
                          "pick a name and a role. Accounts with passwords (required for live trading): "
                          "python main.py users add --username NAME --role supervisor")
            form.addRow("Role", self.role)
        else:
            intro.setText("No accounts exist yet. Create the first one (a supervisor): "
                          "python main.py users add --username NAME --role supervisor")
            self.ok.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.ok)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.setMinimumWidth(460)

    def _try(self) -> None:
        name = self.user.text().strip()
        if not name:
            self._fail("Enter a user name.")
            return
        if self.local:
            actor = Actor(name, Role(self.role.currentText()))
        else:
            try:
                assert self._store is not None
                actor = self._store.authenticate(name, self.password.text())
            except PermissionError:
                self.password.clear()
                self._fail("Wrong user or password.")
                return
        self.logged_in.emit(actor)
        self.accept()

    def _fail(self, text: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {theme.ASK};")

