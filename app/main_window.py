"""The main window: menus, dockable panels (layout saved and restored), status bar.

Panels are filled by their widgets as the engine side of each lands; until then each dock says
what will appear there and how to get it. The window never touches the engine directly: the
bridge in app/ pushes view-models (see ARCHITECTURE.md).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from app import __version__
from core.events import LoopLag, TradingState

# (object name, title, default area, what the trader will see there)
_LEFT, _RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
_TOP, _BOTTOM = Qt.DockWidgetArea.TopDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
PANELS: tuple[tuple[str, str, Qt.DockWidgetArea, str], ...] = (
    ("ladders", "Depth ladders", _LEFT, "Per-venue and consolidated depth ladders."),
    ("ticket", "Order ticket", _RIGHT, "Stage a parent order: side, quantity, horizon, algo."),
    ("pretrade", "Pre-trade", _RIGHT, "Cost distribution, frontier and venue liquidity of the staged order."),
    ("chart", "Execution chart", _TOP, "Filled vs schedule, price, fills by venue, participation."),
    ("parents", "Parent orders", _BOTTOM, "No parent orders yet. Stage one from the order ticket."),
    ("children", "Child orders && fills", _BOTTOM, "Child orders and fills appear here once an algo runs."),
    ("balances", "Balances", _BOTTOM, "Balances per venue and asset: total, available, locked."),
    ("rfq", "RFQ", _RIGHT, "Requests for quote to OTC desks and their quotes."),
    ("risk", "Risk", _RIGHT, "Limits, circuit breakers and trading states."),
    ("alerts", "Alerts", _BOTTOM, "No alerts."),
)


class MainWindow(QMainWindow):
    def __init__(self, settings_scope: str = "Blockhouse", sim_speed: float | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"Blockhouse {__version__}")
        self.setObjectName("mainWindow")
        self.setDockNestingEnabled(True)
        self._qsettings = QSettings(settings_scope, "terminal")
        self.docks: dict[str, QDockWidget] = {}
        self._sim_speed = sim_speed
        self._clock_now = time.time

        central = QLabel("Blockhouse — embedded simulated market" if sim_speed else "Blockhouse")
        central.setObjectName("emptyState")
        central.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(central)
        for name, title, area, empty_text in PANELS:
            self._add_dock(name, title, area, empty_text)
        self._build_menus()
        self._build_status_bar()
        self._default_state = self.saveState()
        self.restore_layout()

        self._tick = QTimer(self)
        self._tick.timeout.connect(self._refresh_clock)
        self._tick.start(500)
        self._refresh_clock()

    # ---- layout -----------------------------------------------------------------------------

    def _add_dock(self, name: str, title: str, area: Qt.DockWidgetArea, empty_text: str) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        label = QLabel(empty_text)
        label.setObjectName("emptyState")
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        dock.setWidget(label)
        self.addDockWidget(area, dock)
        self.docks[name] = dock

    def set_panel(self, name: str, widget: QWidget) -> None:
        """Put a panel's real widget into its dock."""
        self.docks[name].setWidget(widget)

    def save_layout(self) -> None:
        self._qsettings.setValue("geometry", self.saveGeometry())
        self._qsettings.setValue("state", self.saveState())

    def restore_layout(self) -> None:
        geometry = self._qsettings.value("geometry")
        state = self._qsettings.value("state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)

    # ---- menus and status bar ----------------------------------------------------------------

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        view_menu = bar.addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        reset = QAction("&Reset layout", self)
        reset.triggered.connect(self.reset_layout)
        view_menu.addAction(reset)

        self.trading_menu = bar.addMenu("&Trading")
        help_menu = bar.addMenu("&Help")
        about = QAction(f"Blockhouse {__version__}", self)
        about.setEnabled(False)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.venues_label = QLabel("Venues: none connected")
        self.trading_state_label = QLabel()
        self.trading_state_label.setObjectName("tradingState")
        self.lag_label = QLabel("Loop lag: –")
        self.clock_label = QLabel()
        for label in (self.venues_label, self.trading_state_label, self.lag_label):
            status.addWidget(label)
        status.addPermanentWidget(self.clock_label)
        self.set_trading_state(TradingState.ACTIVE)

    def set_trading_state(self, state: TradingState) -> None:
        self.trading_state_label.setText(state.value.upper())
        self.trading_state_label.setProperty("state", state.value)
        self.trading_state_label.style().unpolish(self.trading_state_label)
        self.trading_state_label.style().polish(self.trading_state_label)

    def set_clock_source(self, now: object) -> None:
        self._clock_now = now  # type: ignore[assignment]

    def show_loop_lag(self, event: LoopLag) -> None:
        self.lag_label.setText(f"Loop lag: {event.lag_ms:.0f} ms (max {event.max_lag_ms:.0f})")

    def _refresh_clock(self) -> None:
        t = self._clock_now()
        utc = time.strftime("%H:%M:%S UTC", time.gmtime(t))
        local = time.strftime("%H:%M:%S local", time.localtime(t))
        speed = f"  ·  sim ×{self._sim_speed:g}" if self._sim_speed else ""
        self.clock_label.setText(f"{utc}  ·  {local}{speed}")

    def closeEvent(self, event: object) -> None:
        self.save_layout()
        super().closeEvent(event)  # type: ignore[arg-type]
