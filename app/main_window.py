"""The main window: menus, dockable panels (layout saved and restored), session bar, status bar.

Panels are filled by their widgets (`set_panel`); until then each dock says what will appear
there. The window never touches the engine: the bridge in app/ pushes view-models and plain
values (see ARCHITECTURE.md).

Default layout at 1920×1080: the four depth ladders across the top left; under them the execution
chart and, beside it, the blotters above the alerts; the ticket / pre-trade / override / RFQ /
risk panels as full-height tabs on the right. A session bar on top shows who is logged in and, for a
supervisor only, the kill switch; the HALTED banner spans the whole window under it.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Mapping

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QTabBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from core.events import LoopLag, TradingState
from widgets import theme
from widgets.kill_switch import HaltedBanner

# (object name, title, default area, what the trader will see there)
_LEFT, _RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
PANELS: tuple[tuple[str, str, Qt.DockWidgetArea, str], ...] = (
    ("ladders", "Depth ladders", _LEFT, "Per-venue and consolidated depth ladders."),
    ("chart", "Execution chart", _LEFT, "Filled vs schedule, price, fills by venue, participation."),
    ("parents", "Parent orders", _LEFT, "No parent orders yet. Stage one from the order ticket."),
    ("children", "Child orders && fills", _LEFT, "Child orders and fills appear here once an algo runs."),
    ("balances", "Balances", _LEFT, "Balances per venue and asset: total, available, locked."),
    ("ticket", "Order ticket", _RIGHT, "Stage a parent order: side, quantity, horizon, algo."),
    ("pretrade", "Pre-trade", _RIGHT, "Cost distribution, frontier and venue liquidity of the staged order."),
    ("override", "Override", _RIGHT, "Steer the selected running parent: pause, urgency, limit, venues."),
    ("rfq", "RFQ", _RIGHT, "Requests for quote to OTC desks and their quotes."),
    ("risk", "Risk", _RIGHT, "Limits, circuit breakers and trading states."),
    ("alerts", "Alerts", _LEFT, "No alerts."),
)
RIGHT_COLUMN_PX = 420  # ticket / pre-trade / override column: the ladders get the rest
LAYOUT_VERSION = 3  # bump when the default layout changes: an older saved state is ignored


class MainWindow(QMainWindow):
    def __init__(
        self, settings_scope: str = "Blockhouse", sim_speed: float | None = None, *, restore: bool = True
    ) -> None:
        super().__init__()
        self.setWindowTitle(f"Blockhouse {__version__}")
        self.setObjectName("mainWindow")
        self.setDockNestingEnabled(True)
        self._qsettings = QSettings(settings_scope, "terminal")
        self.docks: dict[str, QDockWidget] = {}
        self._sim_speed = sim_speed
        self._sim_note = ""
        self._clock_now: Callable[[], float] = time.time
        # asked on every close: False keeps the window open (the app asks about working orders)
        self.close_guard: Callable[[], bool] | None = None

        # docks take the whole window; Qt wants a central widget, so an invisible one
        central = QWidget()
        central.setObjectName("emptyState")
        central.setMaximumSize(0, 0)
        self.setCentralWidget(central)
        central.hide()
        for name, title, area, empty_text in PANELS:
            self._add_dock(name, title, area, empty_text)
        self._build_session_bar()
        self._build_menus()
        self._build_status_bar()
        self.resize(1920, 1080)
        self.apply_default_layout()
        self._default_state = self.saveState(LAYOUT_VERSION)
        if restore:
            self.restore_layout()

        self._tick = QTimer(self)
        self._tick.timeout.connect(self._refresh_clock)
        self._tick.start(250)
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
        self.docks[name] = dock  # placed by apply_default_layout (adding then moving leaves stray tab bars)

    def apply_default_layout(self) -> None:
        d = self.docks
        self.addDockWidget(_LEFT, d["ladders"])
        self.addDockWidget(_RIGHT, d["ticket"])
        self.splitDockWidget(d["ladders"], d["chart"], Qt.Orientation.Vertical)
        self.splitDockWidget(d["chart"], d["parents"], Qt.Orientation.Horizontal)
        self.splitDockWidget(d["parents"], d["alerts"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(d["parents"], d["children"])
        self.tabifyDockWidget(d["parents"], d["balances"])
        for name in ("pretrade", "override", "rfq", "risk"):
            self.tabifyDockWidget(d["ticket"], d[name])
        d["parents"].raise_()
        d["ticket"].raise_()
        width, height = max(self.width(), 1200), max(self.height(), 700)
        right = RIGHT_COLUMN_PX
        left = width - right
        self.resizeDocks([d["ladders"], d["ticket"]], [left, right], Qt.Orientation.Horizontal)
        self.resizeDocks([d["chart"], d["parents"]], [int(left * 0.5), left - int(left * 0.5)],
                         Qt.Orientation.Horizontal)
        top = int(height * 0.5)
        self.resizeDocks([d["ladders"], d["chart"]], [top, height - top], Qt.Orientation.Vertical)
        self.resizeDocks([d["parents"], d["alerts"]], [int((height - top) * 0.45), int((height - top) * 0.55)],
                         Qt.Orientation.Vertical)
        QTimer.singleShot(0, self.hide_stray_tab_bars)

    def hide_stray_tab_bars(self) -> None:
        """Qt (6.11) leaves the tab bar of an intermediate tab group visible after further
        tabifying; hide every dock tab bar whose tabs are a strict subset of another one's."""
        bars = [b for b in self.findChildren(QTabBar) if b.parent() is self]
        tabs = {b: {b.tabText(i) for i in range(b.count())} for b in bars}
        for bar in bars:
            if any(other is not bar and tabs[bar] < tabs[other] for other in bars):
                bar.hide()

    def set_panel(self, name: str, widget: QWidget) -> None:
        """Put a panel's real widget into its dock."""
        self.docks[name].setWidget(widget)

    def show_panel(self, name: str) -> None:
        """Bring a (possibly tabbed) panel to the front."""
        dock = self.docks[name]
        dock.show()
        dock.raise_()

    def _focus_panel(self, name: str) -> None:
        self.show_panel(name)
        widget = self.docks[name].widget()
        if widget is not None:
            widget.setFocus()

    def save_layout(self) -> None:
        self._qsettings.setValue("geometry", self.saveGeometry())
        self._qsettings.setValue("state", self.saveState(LAYOUT_VERSION))

    def restore_layout(self) -> None:
        geometry = self._qsettings.value("geometry")
        state = self._qsettings.value("state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)  # refuses a state saved by another layout version
            QTimer.singleShot(0, self.hide_stray_tab_bars)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)
        QTimer.singleShot(0, self.hide_stray_tab_bars)

    # ---- session bar: who is logged in, the kill switch, the HALTED banner --------------------------

    def _build_session_bar(self) -> None:
        bar = QToolBar("Session", self)
        bar.setObjectName("sessionBar")
        bar.setMovable(False)
        bar.setFloatable(False)
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(8, 2, 8, 2)
        self.session_label = QLabel("Not logged in")
        self.session_label.setObjectName("sessionLabel")
        self.market_label = QLabel("")
        self.market_label.setObjectName("marketLabel")
        self.market_label.setStyleSheet(f"color: {theme.MUTED};")
        self.kill_slot = QHBoxLayout()
        row.addWidget(self.session_label)
        row.addSpacing(24)
        row.addWidget(self.market_label, 1)
        row.addLayout(self.kill_slot)
        bar.addWidget(holder)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.session_bar = bar

        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        banner_bar = QToolBar("Trading state", self)
        banner_bar.setObjectName("haltedBar")
        banner_bar.setMovable(False)
        banner_bar.setFloatable(False)
        banner_bar.setStyleSheet("QToolBar#haltedBar { border: 0; padding: 0; spacing: 0; }")
        self.banner = HaltedBanner()
        # a toolbar controls its widgets' visibility through their actions: the banner lives in an
        # always-visible holder so HaltedBanner can show and hide itself
        holder = QWidget()
        holder.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.banner)
        banner_bar.addWidget(holder)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, banner_bar)
        banner_bar.setVisible(False)
        self.banner_bar = banner_bar

    def set_session(self, actor: str, role: str) -> None:
        """Show who is logged in ('alice', 'supervisor')."""
        color = theme.AMBER if role == "supervisor" else theme.TEXT
        self.session_label.setText(
            f"<span style='color:{theme.MUTED}'>Logged in:</span> <b>{html.escape(actor)}</b> "
            f"<span style='color:{color}'>({html.escape(role)})</span>"
        )
        self.session_label.setTextFormat(Qt.TextFormat.RichText)

    def set_market_description(self, text: str) -> None:
        self.market_label.setText(text)

    def set_kill_switch(self, widget: QWidget | None) -> None:
        """Supervisors get the kill switch in the session bar; traders get nothing there."""
        while self.kill_slot.count():
            item = self.kill_slot.takeAt(0)
            old = item.widget() if item is not None else None
            if old is not None:
                old.setParent(None)
        if widget is not None:
            self.kill_slot.addWidget(widget)
            widget.show()

    def show_trading_state(self, state: TradingState, actor: str = "", ts: float | None = None, reason: str = "",
                           canceled_by_venue: Mapping[str, int] | None = None) -> None:
        """Status bar label, full-width banner and window title all say HALTED / REDUCING."""
        self.set_trading_state(state)
        self.banner.set_state(state, actor, ts, reason, canceled_by_venue)
        self.banner_bar.setVisible(state is not TradingState.ACTIVE)
        suffix = "" if state is TradingState.ACTIVE else f" — {state.value.upper()}"
        self.setWindowTitle(f"Blockhouse {__version__}{suffix}")

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
        for key, name, text in (("F2", "ticket", "Order &ticket"), ("F3", "pretrade", "&Pre-trade"),
                                ("F4", "override", "&Override"), ("F5", "rfq", "&RFQ"), ("F6", "alerts", "&Alerts"),
                                ("F7", "parents", "Parent &orders")):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _c=False, n=name: self._focus_panel(n))
            self.trading_menu.addAction(action)
        help_menu = bar.addMenu("&Help")
        about = QAction(f"Blockhouse {__version__}", self)
        about.setEnabled(False)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.venues_label = QLabel("Venues: none connected")
        self.venues_label.setObjectName("venuesLabel")
        self.venues_label.setTextFormat(Qt.TextFormat.RichText)
        self.trading_state_label = QLabel()
        self.trading_state_label.setObjectName("tradingState")
        self.lag_label = QLabel("Loop lag: –")
        self.clock_label = QLabel()
        self.clock_label.setObjectName("clockLabel")
        for label in (self.venues_label, self.trading_state_label, self.lag_label):
            status.addWidget(label)
        status.addPermanentWidget(self.clock_label)
        self.set_trading_state(TradingState.ACTIVE)

    def set_trading_state(self, state: TradingState) -> None:
        self.trading_state_label.setText(state.value.upper())
        self.trading_state_label.setProperty("state", state.value)
        self.trading_state_label.style().unpolish(self.trading_state_label)
        self.trading_state_label.style().polish(self.trading_state_label)

    def set_venue_status(self, venues: Mapping[str, tuple[bool, float]]) -> None:
        """Each venue's connection (up/down) and latency in ms (NaN: not measured yet)."""
        parts = []
        for name, (up, latency_ms) in venues.items():
            color = theme.GREEN if up else theme.ASK
            state = "" if up else " DOWN"
            lat = "" if math.isnan(latency_ms) else f" {latency_ms:.0f} ms"
            parts.append(f"<span style='color:{color}'>●</span> {html.escape(name)}{state}"
                         f"<span style='color:{theme.MUTED}'>{lat}</span>")
        text = "&nbsp;&nbsp;&nbsp;".join(parts) or "Venues: none connected"
        if text != self.venues_label.text():
            self.venues_label.setText(text)

    def set_clock_source(self, now: Callable[[], float]) -> None:
        self._clock_now = now
        self._refresh_clock()

    def set_sim_speed(self, speed: float | None, note: str = "") -> None:
        """The simulation speed shown beside the clock, with a note (×1 while a quote is open…)."""
        self._sim_speed, self._sim_note = speed, note
        self._refresh_clock()

    def show_loop_lag(self, event: LoopLag) -> None:
        self.lag_label.setText(f"Loop lag: {event.lag_ms:.0f} ms (max {event.max_lag_ms:.0f})")

    def _refresh_clock(self) -> None:
        t = self._clock_now()
        utc = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))
        local = time.strftime("%H:%M:%S local", time.localtime(t))
        speed = f"  ·  sim ×{self._sim_speed:g}" if self._sim_speed else ""
        note = f" {self._sim_note}" if self._sim_note else ""
        text = f"{utc}  ·  {local}{speed}{note}"
        if text != self.clock_label.text():
            self.clock_label.setText(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.close_guard is not None and not self.close_guard():
            event.ignore()
            return
        self.save_layout()
        super().closeEvent(event)
