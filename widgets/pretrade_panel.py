"""Pre-trade panel: what the staged block is expected to cost, before the trader starts it.

Fed with the pre-trade report as a plain dict (`PreTradeReport.to_dict()`, shape in
docs/pretrade.md; costs in bps of quantity × mid, positive = cost) and, when available, the Monte
Carlo cost samples in bps. Shows: instant cost on the deepest venue and on the consolidated book,
the per-venue liquidity table, the candidate horizons with the recommended one highlighted, the
cost distribution (histogram with P5 / P50 / P95) and the efficient frontier with the chosen
schedule on it. "Start" emits `start_requested(parent_id)`; "Use recommended horizon" emits
`horizon_chosen(seconds)` for the ticket.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from widgets import theme
from widgets.tables import Column, RowTableModel

FloatArray = npt.NDArray[np.float64]
Index = QModelIndex | QPersistentModelIndex
_HIST_BINS = 60
_SIDE_BY_SIDE_PX = 640  # narrower than this, the two plots stack


@dataclasses.dataclass(frozen=True, slots=True)
class VenueLiquidityRow:
    venue: str
    mid: float
    spread_bps: float
    depth_1pct: float  # base units within 1 % of mid on the side we take
    instant_cost_bps: float
    levels: int
    unfilled: float
    taker_fee_bps: float
    deepest: bool

    @property
    def key(self) -> str:
        return self.venue


@dataclasses.dataclass(frozen=True, slots=True)
class HorizonRowView:
    horizon_s: float
    expected_cost_bps: float
    cost_std_bps: float
    objective_bps: float
    participation: float
    recommended: bool

    @property
    def key(self) -> str:
        return f"{self.horizon_s:g}"


VENUE_COLUMNS = (
    Column("Venue", lambda r: r.venue + (" ★" if r.deepest else ""),
           cell_tooltip=lambda r: f"{r.venue}: mid {r.mid:,.2f}, {r.levels} levels walked"
           + (" — the deepest venue" if r.deepest else "")),
    Column("Spread", lambda r: r.spread_bps, "price", decimals=2, tooltip="bps"),
    Column("Depth", lambda r: r.depth_1pct, "qty", decimals=1,
           tooltip="Base units within 1 % of mid, on the side we take"),
    Column("Instant", lambda r: r.instant_cost_bps, "price", decimals=1,
           tooltip="bps: the whole block on this venue alone, taker fee included"),
    Column("Unfilled", lambda r: r.unfilled, "qty", decimals=1, color=lambda r: theme.ASK if r.unfilled > 0 else None,
           tooltip="What the visible book could not fill"),
    Column("Fee", lambda r: r.taker_fee_bps, "price", decimals=1, tooltip="Taker fee, bps"),
)
HORIZON_COLUMNS = (
    Column("Horizon", lambda r: r.horizon_s, "duration"),
    Column("Expected", lambda r: r.expected_cost_bps, "price", decimals=1, tooltip="Expected cost, bps"),
    Column("Std", lambda r: r.cost_std_bps, "price", decimals=1, tooltip="Cost standard deviation, bps"),
    Column("Objective", lambda r: r.objective_bps, "price", decimals=1, tooltip="Expected + λ·variance, bps"),
    Column("Part.", lambda r: 100.0 * r.participation, "pct", decimals=1, tooltip="Share of market volume"),
)


class PreTradePanel(QWidget):
    """Signals: start_requested(parent_id), horizon_chosen(seconds)."""

    start_requested = Signal(str)
    horizon_chosen = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pretradePanel")
        self.report: dict[str, Any] = {}
        self.parent_id = ""

        self.headline = QLabel("Stage an order from the ticket to see its pre-trade report.")
        self.headline.setObjectName("pretradeHeadline")
        self.headline.setWordWrap(True)
        self.headline.setStyleSheet(f"color: {theme.MUTED}; font-size: 11pt;")
        self.figures: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(2)
        for i, (key, title) in enumerate((
            ("instant_deepest", "Instant, deepest venue"),
            ("instant_consolidated", "Instant, consolidated"),
            ("expected", "Expected, AC schedule"),
            ("percentiles", "P5 / P50 / P95, bps"),
            ("recommended", "Recommended horizon"),
            ("participation", "Participation"),
        )):
            caption = QLabel(title)
            caption.setStyleSheet(f"color: {theme.MUTED};")
            value = QLabel("–")
            value.setObjectName(f"pretrade_{key}")
            value.setStyleSheet("font-weight: 700; font-size: 11pt;")
            self.figures[key] = value
            value.setWordWrap(True)
            grid.addWidget(caption, (i // 2) * 2, i % 2)
            grid.addWidget(value, (i // 2) * 2 + 1, i % 2)

        self.histogram = pg.PlotWidget()
        self.histogram.setObjectName("pretradeHistogram")
        self.frontier = pg.PlotWidget()
        self.frontier.setObjectName("pretradeFrontier")
        for plot, title, xlabel, ylabel in (
            (self.histogram, "Cost distribution (Monte Carlo)", "cost, bps", "paths"),
            (self.frontier, "Efficient frontier", "cost std, bps", "expected cost, bps"),
        ):
            plot.setBackground(theme.BG)
            plot.setMinimumHeight(190)
            plot.setMaximumHeight(250)  # stacked in a narrow dock, the tables stay within reach
            item = plot.getPlotItem()
            item.setTitle(title, color=theme.MUTED, size="9pt")
            item.setLabel("bottom", xlabel, color=theme.MUTED)
            item.setLabel("left", ylabel, color=theme.MUTED)
            for name in ("left", "bottom"):
                item.getAxis(name).setPen(pg.mkPen(theme.BORDER))
                item.getAxis(name).setTextPen(pg.mkPen(theme.MUTED))
            item.setMenuEnabled(False)
        self.hist_legend = self.histogram.getPlotItem().addLegend(
            offset=(-6, 4), brush=pg.mkBrush(20, 23, 28, 215), pen=pg.mkPen(theme.BORDER), labelTextColor=theme.TEXT,
            colCount=2,
        )
        self.frontier.getPlotItem().addLegend(
            offset=(-6, 4), brush=pg.mkBrush(20, 23, 28, 215), pen=pg.mkPen(theme.BORDER), labelTextColor=theme.TEXT
        )
        self.plots = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.plots.addWidget(self.histogram, 1)
        self.plots.addWidget(self.frontier, 1)

        self.venue_model = RowTableModel(VENUE_COLUMNS)
        self.horizon_model = _HighlightModel(HORIZON_COLUMNS)
        self.venue_table = _table(self.venue_model, "pretradeVenues")
        self.horizon_table = _table(self.horizon_model, "pretradeHorizons")

        self.use_recommended = QPushButton("Use recommended horizon")
        self.use_recommended.setAutoDefault(False)
        self.use_recommended.setEnabled(False)
        self.use_recommended.clicked.connect(self._choose_recommended)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("pretradeStart")
        self.start_button.setAutoDefault(False)
        self.start_button.setEnabled(False)
        self.start_button.setStyleSheet(
            f"QPushButton:enabled {{ background: #1d4a35; border: 1px solid {theme.GREEN}; font-weight: 800; }}"
        )
        self.start_button.clicked.connect(self._start)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_recommended)
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)

        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(8, 6, 8, 6)
        column.setSpacing(6)
        column.addWidget(self.headline)
        column.addLayout(grid)
        column.addLayout(self.plots)
        column.addWidget(_section("Liquidity by venue"))
        column.addWidget(self.venue_table)
        column.addWidget(_section("Horizons (recommended highlighted)"))
        column.addWidget(self.horizon_table)
        column.addLayout(buttons)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Side by side when there is room, stacked in a narrow dock (never clipped)."""
        wide = event.size().width() >= _SIDE_BY_SIDE_PX
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.plots.direction() != direction:
            self.plots.setDirection(direction)
        super().resizeEvent(event)

    # ---- feeding ----------------------------------------------------------------------------------

    def set_report(self, report: Mapping[str, Any], samples_bps: Sequence[float] | FloatArray | None = None,
                   parent_id: str = "", symbol: str = "") -> None:
        """Show a report (dict as `PreTradeReport.to_dict()`); samples draw the histogram."""
        self.report = dict(report)
        self.parent_id = parent_id
        r = self.report
        side = str(r.get("side", "")).upper()
        base = symbol.split("/")[0] if "/" in symbol else ""
        qty, mid = _f(r.get("quantity")), _f(r.get("mid"))
        self.headline.setText(
            f"<b>{parent_id}</b>  {side} {qty:,.4g} {base} over {_duration(_f(r.get('horizon_s')))} "
            f"· mid {mid:,.2f} · notional ${_f(r.get('notional')) / 1e6:,.1f}M · urgency {r.get('urgency', '')}"
        )
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setStyleSheet(f"color: {theme.TEXT}; font-size: 11pt;")
        unfilled = _f(r.get("instant_unfilled_qty_consolidated"))
        self.figures["instant_deepest"].setText(
            f"{_bps(r.get('instant_cost_bps_deepest'))}  on {r.get('deepest_venue', '?')}")
        consolidated = _bps(r.get("instant_cost_bps_consolidated"))
        if unfilled > 0:
            consolidated += f"  ({unfilled:,.1f} unfilled)"
        self.figures["instant_consolidated"].setText(consolidated)
        self.figures["expected"].setText(f"{_bps(r.get('expected_cost_bps'))} ± {_f(r.get('cost_std_bps')):.1f}")
        self.figures["percentiles"].setText(
            f"{_f(r.get('cost_p05_bps')):.1f} / {_f(r.get('cost_p50_bps')):.1f} / {_f(r.get('cost_p95_bps')):.1f}")
        recommended = _f(r.get("recommended_horizon_s"))
        self.figures["recommended"].setText(_duration(recommended))
        self.figures["recommended"].setStyleSheet(f"font-weight: 800; font-size: 11pt; color: {theme.GREEN};")
        rows = [h for h in r.get("horizons", []) if isinstance(h, Mapping)]
        chosen = next((h for h in rows if abs(_f(h.get("horizon_s")) - _f(r.get("horizon_s"))) < 1e-6), None)
        self.figures["participation"].setText(
            f"{100 * _f(chosen.get('participation')):.1f}% of volume" if chosen else "–")

        self.venue_model.clear()
        side_sign = 1 if str(r.get("side")) == "buy" else -1
        depth_key = "depth_ask_qty_100bps" if side_sign > 0 else "depth_bid_qty_100bps"
        venues = r.get("venues", {}) or {}
        self.venue_model.apply_rows(
            VenueLiquidityRow(
                venue=str(name), mid=_f(v.get("mid")), spread_bps=_f(v.get("spread_bps")),
                depth_1pct=_f(v.get(depth_key)), instant_cost_bps=_f(v.get("instant_cost_bps")),
                levels=int(v.get("instant_levels_consumed") or 0), unfilled=_f(v.get("unfilled_qty")),
                taker_fee_bps=_f(v.get("taker_fee_bps")), deepest=name == r.get("deepest_venue"),
            )
            for name, v in venues.items()
        )
        self.horizon_model.clear()
        self.horizon_model.apply_rows(
            HorizonRowView(
                horizon_s=_f(h.get("horizon_s")), expected_cost_bps=_f(h.get("expected_cost_bps")),
                cost_std_bps=_f(h.get("cost_std_bps")), objective_bps=_f(h.get("objective_bps")),
                participation=_f(h.get("participation")),
                recommended=abs(_f(h.get("horizon_s")) - recommended) < 1e-6,
            )
            for h in rows
        )
        for table in (self.venue_table, self.horizon_table):
            _fit_height(table)
        self._draw_histogram(samples_bps)
        self._draw_frontier()
        self.use_recommended.setEnabled(not math.isnan(recommended)
                                        and abs(recommended - _f(r.get("horizon_s"))) > 1e-6)
        self.set_startable(bool(parent_id))

    def set_startable(self, on: bool) -> None:
        self.start_button.setEnabled(on and bool(self.parent_id))
        self.start_button.setText(f"Start {self.parent_id}" if on and self.parent_id else "Start")

    @property
    def recommended_row(self) -> int | None:
        for i, row in enumerate(self.horizon_model.rows()):
            if row.recommended:
                return i
        return None

    # ---- drawing ------------------------------------------------------------------------------------

    def _draw_histogram(self, samples: Sequence[float] | FloatArray | None) -> None:
        plot = self.histogram.getPlotItem()
        plot.clear()
        self.hist_legend.clear()
        r = self.report
        if samples is not None and len(samples):
            data = np.asarray(samples, dtype=np.float64)
            data = data[np.isfinite(data)]
            lo, hi = np.percentile(data, [0.5, 99.5]) if len(data) else (0.0, 1.0)
            counts, edges = np.histogram(data, bins=_HIST_BINS, range=(float(lo), float(hi)))
            bars = pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush=pg.mkBrush(theme.ACCENT),
                                   pen=pg.mkPen(theme.BG, width=0.5))
            plot.addItem(bars)
            self.hist_legend.addItem(bars, f"{len(data):,} paths")
        for key, label, color in (("cost_p05_bps", "P5", theme.GREEN), ("cost_p50_bps", "P50", theme.TEXT),
                                  ("cost_p95_bps", "P95", theme.ASK)):
            value = _f(r.get(key))
            if not math.isnan(value):
                line = plot.plot([value, value], [0, 1], pen=pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine),
                                 name=f"{label} {value:.1f} bps")
                line.setData([value, value], [0, _hist_top(plot)])
        plot.enableAutoRange()
        if samples is not None and len(samples):
            plot.setYRange(0, _hist_top(plot) * 1.6, padding=0)  # headroom: the legend sits above the bars

    def _draw_frontier(self) -> None:
        plot = self.frontier.getPlotItem()
        plot.clear()
        pts = [p for p in self.report.get("frontier", []) if isinstance(p, Mapping)]
        xs = np.array([_f(p.get("cost_std_bps")) for p in pts])
        ys = np.array([_f(p.get("expected_cost_bps")) for p in pts])
        ok = np.isfinite(xs) & np.isfinite(ys)
        if ok.any():
            plot.plot(xs[ok], ys[ok], pen=pg.mkPen(theme.ACCENT, width=2), symbol="o", symbolSize=4,
                      symbolBrush=theme.ACCENT, name="optimal (E, σ)")
        e, s = _f(self.report.get("expected_cost_bps")), _f(self.report.get("cost_std_bps"))
        if math.isfinite(e) and math.isfinite(s):
            plot.plot([s], [e], pen=None, symbol="star", symbolSize=16, symbolBrush=theme.AMBER,
                      symbolPen=pg.mkPen(theme.BG), name=f"this schedule ({self.report.get('urgency', '')})")

    # ---- actions ------------------------------------------------------------------------------------

    def _choose_recommended(self) -> None:
        value = _f(self.report.get("recommended_horizon_s"))
        if not math.isnan(value):
            self.horizon_chosen.emit(value)

    def _start(self) -> None:
        if self.parent_id:
            self.start_requested.emit(self.parent_id)


class _HighlightModel(RowTableModel):
    """Rows with `recommended = True` drawn bold on the accent colour."""

    def __init__(self, columns: Sequence[Column]) -> None:
        super().__init__(columns)
        self._bg = QBrush(QColor(theme.ACCENT))
        self._bold = QFont()
        self._bold.setBold(True)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.FontRole):
            if getattr(self.row(index.row()), "recommended", False):
                return self._bg if role == Qt.ItemDataRole.BackgroundRole else self._bold
            return None
        return super().data(index, role)


def _table(model: RowTableModel, name: str) -> QTableView:
    table = QTableView()
    table.setObjectName(name)
    table.setModel(model)
    table.verticalHeader().setVisible(False)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    # the columns share the dock's width: no horizontal scrolling in a narrow dock
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.horizontalHeader().setMinimumSectionSize(40)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return table


def _fit_height(table: QTableView) -> None:
    """Show every row: the panel scrolls, the tables do not."""
    rows = table.model().rowCount()
    header = max(table.horizontalHeader().height(), table.horizontalHeader().sizeHint().height())
    height = header + rows * table.verticalHeader().defaultSectionSize() + 4
    if table.horizontalHeader().length() > table.viewport().width():
        height += table.horizontalScrollBar().sizeHint().height()  # a scrollbar must not hide the last row
    table.setFixedHeight(max(height, 40))


def _section(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet(f"color: {theme.MUTED}; font-weight: 600; padding-top: 4px;")
    return label


def _hist_top(plot: pg.PlotItem) -> float:
    top = 1.0
    for item in plot.items:
        if isinstance(item, pg.BarGraphItem):
            heights = item.opts.get("height")
            if heights is not None and len(heights):
                top = max(top, float(np.max(heights)))
    return top * 1.05


def _f(value: Any) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _bps(value: Any) -> str:
    v = _f(value)
    return "–" if math.isnan(v) else f"{v:.1f} bps"


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    h, rem = divmod(round(seconds), 3600)
    m = rem // 60
    return f"{h}h{m:02d}" if h and m else f"{h}h" if h else f"{m}m"
