"""The terminal's panels: every widget the bridge feeds, created and docked in one place, and the
rows the app defines for panels of its own (balances, the RFQ log).

`build_panels` is called by the composition root (app/composition.py) before the bridge exists;
the bridge (app/bridge.py) and its parts only fill these widgets. The RFQ panel carries a note over
its blotter that says why it stays empty when the desk has no OTC desks.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from app.main_window import MainWindow
from widgets import theme
from widgets.alerts import AlertsView
from widgets.exec_chart import ExecutionChart
from widgets.ladder import DepthLadder
from widgets.override_panel import OverridePanel
from widgets.pretrade_panel import PreTradePanel
from widgets.risk_panel import RiskPanel
from widgets.tables import BlotterView, ChildrenModel, Column, FillsModel, ParentsModel, RowTableModel
from widgets.ticket import OrderTicket

CONSOLIDATED = "consolidated"  # the ladder of every venue's book merged
OTC_LABEL = "OTC"  # where OTC fills and balances show, next to the venues
NO_DESKS = "No OTC desks are configured on this desk: requests for quote are not available."


@dataclass
class Panels:
    """The widgets the bridge feeds (created by the composition root)."""

    ladders: dict[str, DepthLadder]
    chart: ExecutionChart
    parents: BlotterView
    children: BlotterView
    fills: BlotterView
    balances: BlotterView
    alerts: AlertsView
    rfq_log: BlotterView
    risk: RiskPanel
    ticket: OrderTicket
    pretrade: PreTradePanel
    override: OverridePanel
    children_tabs: QTabWidget | None = None
    rfq_note: QLabel | None = None  # over the RFQ blotter; says why it stays empty (no OTC desks)


def build_panels(window: MainWindow, venues: tuple[str, ...], max_fps: float) -> Panels:
    """Create every panel widget and put it in its dock."""
    ladder_box = QWidget()
    ladder_box.setObjectName("ladderRow")
    row = QHBoxLayout(ladder_box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(3)
    ladders: dict[str, DepthLadder] = {}
    for name in (*venues, CONSOLIDATED):
        ladder = DepthLadder(max_fps=max_fps)
        ladder.setObjectName("depthLadder")
        ladders[name] = ladder
        row.addWidget(ladder, 1)
    window.set_panel("ladders", ladder_box)

    chart = ExecutionChart()
    # the price legend as a two-row strip in headroom above the prices, so it never hides them
    chart.price_legend.setColumnCount(4)
    chart.price_plot.getViewBox().setDefaultPadding(0.2)
    window.set_panel("chart", chart)
    parents = BlotterView(ParentsModel(), name="parents")
    window.set_panel("parents", parents)
    children = BlotterView(ChildrenModel(), name="children")
    fills = BlotterView(FillsModel(), name="fills")
    tabs = QTabWidget()
    tabs.setObjectName("childrenTabs")
    tabs.addTab(children, "Child orders")
    tabs.addTab(fills, "Fills")
    window.set_panel("children", tabs)
    balances = BlotterView(RowTableModel(BALANCE_COLUMNS), name="balances")
    window.set_panel("balances", balances)
    alerts = AlertsView()
    window.set_panel("alerts", alerts)
    rfq_log = BlotterView(RowTableModel(RFQ_COLUMNS), name="rfq")
    rfq_box = QWidget()
    rfq_box.setObjectName("rfqPanel")
    rfq_layout = QVBoxLayout(rfq_box)
    rfq_layout.setContentsMargins(0, 0, 0, 0)
    rfq_layout.setSpacing(0)
    rfq_note = QLabel()
    rfq_note.setObjectName("rfqNote")
    rfq_note.setWordWrap(True)
    rfq_note.setContentsMargins(6, 6, 6, 2)
    rfq_note.setStyleSheet(f"color: {theme.AMBER};")
    rfq_note.hide()  # shown only when the desk has no OTC desks
    rfq_layout.addWidget(rfq_note)
    rfq_layout.addWidget(rfq_log, 1)
    rfq_box.setFocusProxy(rfq_log)  # F5 lands in the blotter, as before the note existed
    window.set_panel("rfq", rfq_box)
    risk = RiskPanel()
    window.set_panel("risk", risk)
    ticket = OrderTicket()
    window.set_panel("ticket", ticket)
    pretrade = PreTradePanel()
    window.set_panel("pretrade", pretrade)
    override = OverridePanel()
    window.set_panel("override", override)
    return Panels(ladders, chart, parents, children, fills, balances, alerts, rfq_log, risk, ticket, pretrade,
                  override, tabs, rfq_note)


# ---- rows the app defines for its own panels (balances, RFQ log) ----------------------------------


@dataclass(frozen=True, slots=True)
class BalanceRow:
    venue: str
    asset: str
    total: float
    available: float
    locked: float
    pending_otc: float

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.asset}"


@dataclass(frozen=True, slots=True)
class RfqRow:
    rfq_id: str
    parent_id: str
    desk: str
    state: str
    quoted_qty: float
    price: float
    edge_bps: float
    expires_ts: float
    filled: float
    detail: str

    @property
    def key(self) -> str:
        return self.rfq_id


BALANCE_COLUMNS = (
    Column("Venue", lambda r: r.venue),
    Column("Asset", lambda r: r.asset),
    Column("Total", lambda r: r.total, "qty", decimals=4),
    Column("Available", lambda r: r.available, "qty", decimals=4),
    Column("Locked", lambda r: r.locked, "qty", decimals=4, tooltip="Held by our open orders"),
    Column("Pending OTC", lambda r: r.pending_otc, "signed_qty", decimals=4,
           tooltip="OTC executions not settled yet (+ to receive, − to deliver)"),
)
_RFQ_STATE_COLORS = {"filled": theme.GREEN, "quoted": theme.AMBER, "accepted": theme.AMBER,
                     "last_look_rejected": theme.ASK, "expired": theme.DIM, "rejected": theme.MUTED}
RFQ_COLUMNS = (
    Column("RFQ", lambda r: r.rfq_id),
    Column("Parent", lambda r: r.parent_id),
    Column("Desk", lambda r: r.desk),
    Column("State", lambda r: r.state.replace("_", " "), color=lambda r: _RFQ_STATE_COLORS.get(r.state)),
    Column("Qty", lambda r: r.quoted_qty, "qty", decimals=4),
    Column("Price", lambda r: r.price, "price"),
    Column("vs exch bps", lambda r: r.edge_bps, "bps", tooltip="+ = better than doing it on exchange"),
    Column("Expires", lambda r: r.expires_ts, "time", tooltip="UTC"),
    Column("Filled", lambda r: r.filled, "qty", decimals=4),
    Column("Detail", lambda r: r.detail, cell_tooltip=lambda r: r.detail),
)
