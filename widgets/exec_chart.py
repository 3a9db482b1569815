"""Execution chart (pyqtgraph): how a parent order is doing against its plan, live.

Top: cumulative filled vs the planned schedule inside the Almgren-Chriss band.
Middle: market price with the arrival and VWAP lines, our fills as markers sized by quantity and
coloured by venue (legend). Bottom: our participation rate against its cap.
x = minutes since the parent started; the three plots share it (zoom/pan one, all follow).

`apply(ChartUpdate)` appends samples to preallocated numpy buffers (capacity doubles when full)
and marks the chart dirty; a single-shot timer calls `setData` at most `max_fps` times a second.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets import theme
from widgets.viewmodels import ChartUpdate

FloatArray = npt.NDArray[np.float64]
_MARKER_MIN_PX, _MARKER_MAX_PX = 5.0, 16.0  # fill marker size range (smallest → largest fill)


class ColumnBuffer:
    """Parallel float64 columns in one preallocated block; appends grow it by doubling."""

    def __init__(self, columns: int, capacity: int = 4096) -> None:
        self._data = np.empty((columns, max(16, capacity)), dtype=np.float64)
        self.size = 0

    def append(self, *columns: npt.ArrayLike) -> None:
        arrays = [np.asarray(c, dtype=np.float64) for c in columns]
        k = len(arrays[0]) if arrays else 0
        if k == 0:
            return
        need = self.size + k
        if need > self._data.shape[1]:
            grown = np.empty((self._data.shape[0], max(need, 2 * self._data.shape[1])), dtype=np.float64)
            grown[:, : self.size] = self._data[:, : self.size]
            self._data = grown
        for i, arr in enumerate(arrays):
            self._data[i, self.size : need] = arr
        self.size = need

    def column(self, i: int) -> FloatArray:
        return self._data[i, : self.size]

    def clear(self) -> None:
        self.size = 0

    @property
    def capacity(self) -> int:
        return int(self._data.shape[1])


class ExecutionChart(QWidget):
    def __init__(self, parent: QWidget | None = None, *, max_fps: float = 10.0, capacity: int = 16384) -> None:
        super().__init__(parent)
        self.setObjectName("executionChart")
        self.parent_id = ""
        self.start_ts = math.nan
        self.venues: tuple[str, ...] = ()
        self.arrival = math.nan
        self.max_participation = math.nan
        self.flush_count = 0
        self.set_data_calls = 0

        # columns: x (min), filled, price, vwap, participation (%)
        self.samples = ColumnBuffer(5, capacity)
        # columns: x (min), price, qty, venue index
        self.fills = ColumnBuffer(4, max(256, capacity // 8))
        self._plan: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None = None
        self._dirty: set[str] = set()
        self._fills_drawn = 0
        self._fill_qty_ref = 0.0  # fill quantity drawn at the largest marker size
        self._x_end = 0.0
        self._user_zoomed = False  # the trader zoomed or panned: stop moving the ranges

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(theme.BG)
        self.qty_plot = self.graphics.addPlot(row=0, col=0)
        self.price_plot = self.graphics.addPlot(row=1, col=0)
        self.part_plot = self.graphics.addPlot(row=2, col=0)
        layout = self.graphics.ci.layout
        for row, stretch in ((0, 4), (1, 5), (2, 2)):
            layout.setRowStretchFactor(row, stretch)
        for plot, label in (
            (self.qty_plot, "filled (base)"),
            (self.price_plot, "price"),
            (self.part_plot, "participation %"),
        ):
            _style_plot(plot, label)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
        for plot in (self.qty_plot, self.price_plot, self.part_plot):
            plot.getViewBox().sigRangeChangedManually.connect(self._on_manual_range)
        self.price_plot.setXLink(self.qty_plot)
        self.part_plot.setXLink(self.qty_plot)
        self.part_plot.setLabel("bottom", "minutes since start", color=theme.MUTED)
        for plot in (self.qty_plot, self.price_plot):
            plot.getAxis("bottom").setStyle(showValues=False)
        self.part_plot.setYRange(0, 30)
        self._part_top = 30.0

        # top: band, schedule, filled
        # legends sit where the data is not: cumulative lines leave the top-left empty, while the
        # price and participation plots fill left to right, leaving the future (right) empty
        self.qty_legend = _legend(self.qty_plot, offset=(8, 4), columns=1)
        self.band_low = pg.PlotDataItem(pen=pg.mkPen(theme.ACCENT, width=1))
        self.band_high = pg.PlotDataItem(pen=pg.mkPen(theme.ACCENT, width=1))
        self.band = pg.FillBetweenItem(self.band_low, self.band_high, brush=pg.mkBrush(45, 91, 154, 90))
        for item in (self.band_low, self.band_high, self.band):
            self.qty_plot.addItem(item)
        self.schedule = self.qty_plot.plot(
            name="schedule", pen=pg.mkPen(theme.MUTED, width=2, style=Qt.PenStyle.DashLine)
        )
        self.filled = self.qty_plot.plot(name="filled", pen=pg.mkPen("#4c9be8", width=2.5))
        # a FillBetweenItem has no legend sample; a never-plotted filled item stands in for it
        self._band_sample = pg.PlotDataItem(
            [0, 1], [1, 1], pen=pg.mkPen(theme.ACCENT), fillLevel=0, fillBrush=pg.mkBrush(45, 91, 154, 90)
        )
        self.qty_legend.addItem(self._band_sample, "AC band")

        # middle: price, VWAP, arrival, fills by venue
        self.price_legend = _legend(self.price_plot, offset=(-8, 4), columns=2)
        self.price = self.price_plot.plot(name="price", pen=pg.mkPen(theme.TEXT, width=1.2))
        self.vwap = self.price_plot.plot(name="VWAP", pen=pg.mkPen("#56c2c2", width=1.5, style=Qt.PenStyle.DashLine))
        self.arrival_line = self.price_plot.plot(
            name="arrival", pen=pg.mkPen(theme.AMBER, width=1.5, style=Qt.PenStyle.DashLine)
        )
        self.fill_scatters: list[pg.ScatterPlotItem] = []

        # bottom: participation and its cap
        self.part_legend = _legend(self.part_plot, offset=(-8, 4), columns=2)
        self.participation = self.part_plot.plot(name="participation", pen=pg.mkPen(theme.GREEN, width=1.5))
        self.cap_line = self.part_plot.plot(name="cap", pen=pg.mkPen(theme.ASK, width=1, style=Qt.PenStyle.DashLine))

        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.graphics)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(1, round(1000.0 / max_fps)))
        self._timer.timeout.connect(self.flush)

    # ---- feeding -----------------------------------------------------------------------------------

    def apply(self, update: ChartUpdate) -> None:
        """Append an update's samples and fills, replace the plan if given; redraw at most max_fps."""
        if update.reset or update.parent_id != self.parent_id:
            self.clear()
            self.parent_id = update.parent_id
            self.start_ts = update.start_ts
        if update.venues:
            self._set_venues(update.venues)
        if not math.isnan(update.arrival) and update.arrival != self.arrival:
            self.arrival = update.arrival
            self._dirty.add("lines")
        if not math.isnan(update.max_participation) and update.max_participation != self.max_participation:
            self.max_participation = update.max_participation
            self._dirty.add("lines")
        if len(update.t):
            self.samples.append(
                (update.t - self.start_ts) / 60.0, update.filled_cum, update.price, update.vwap,
                100.0 * update.participation,
            )
            self._dirty.add("samples")
        if len(update.schedule_t):
            self._plan = (
                (np.asarray(update.schedule_t, dtype=np.float64) - self.start_ts) / 60.0,
                np.array(update.schedule_qty, dtype=np.float64),
                np.array(update.band_low, dtype=np.float64),
                np.array(update.band_high, dtype=np.float64),
            )
            self._dirty.update(("plan", "lines"))
        if len(update.fill_t):
            x_fill = (update.fill_t - self.start_ts) / 60.0
            self.fills.append(x_fill, update.fill_px, update.fill_qty, update.fill_venue)
            self._dirty.add("fills")
        if self._dirty and not self._timer.isActive():
            self._timer.start()

    def clear(self) -> None:
        self.samples.clear()
        self.fills.clear()
        self._plan = None
        self._fills_drawn = 0
        self._fill_qty_ref = 0.0
        self._x_end = 0.0
        self._user_zoomed = False
        self.arrival = self.max_participation = math.nan
        self._dirty.update(("samples", "plan", "fills", "lines", "refill"))
        for plot in (self.qty_plot, self.price_plot, self.part_plot):
            plot.enableAutoRange(y=True)
        self.qty_plot.enableAutoRange(x=True)

    def reset_view(self) -> None:
        """Undo the trader's zoom/pan: whole horizon, automatic price range."""
        self._user_zoomed = False
        self._x_end = 0.0
        self.price_plot.enableAutoRange(y=True)
        self._dirty.update(("plan", "samples"))
        self.flush()

    # ---- drawing -----------------------------------------------------------------------------------

    def flush(self) -> None:
        """Push what changed to the plot items (the timer calls this at most max_fps per second).

        Only dirty groups are pushed: samples every frame they grow, the plan when re-planned,
        new fills as appended points (all fills only when the marker scale changes).
        """
        self._timer.stop()
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        self.flush_count += 1
        x = self.samples.column(0)
        if "samples" in dirty:
            self._set(self.filled, x, self.samples.column(1))
            self._set(self.price, x, self.samples.column(2))
            self._set(self.vwap, x, self.samples.column(3))
            self._set(self.participation, x, self.samples.column(4))
        plan_end = 0.0
        if self._plan is not None:
            px, qty, low, high = self._plan
            plan_end = float(px[-1]) if len(px) else 0.0
        if "plan" in dirty:
            if self._plan is not None:
                self._set(self.schedule, px, qty)
                self._set(self.band_low, px, low)
                self._set(self.band_high, px, high)
                if not self._user_zoomed and len(qty):
                    # the plan fixes the quantity axis: no autorange work on every frame
                    top = max(float(np.nanmax(high)), float(np.nanmax(qty))) * 1.05
                    self.qty_plot.setYRange(0.0, top, padding=0)
            else:
                for item in (self.schedule, self.band_low, self.band_high):
                    self._set(item, np.empty(0), np.empty(0))
        x_end = max(plan_end, float(x[-1]) if len(x) else 0.0, 1.0)
        if x_end > self._x_end + 1e-9:
            self._x_end = x_end
            dirty.add("lines")
            if not self._user_zoomed and self._plan is not None:
                self.qty_plot.setXRange(0.0, x_end, padding=0.01)  # the linked plots follow
        if "lines" in dirty:
            span = np.array([0.0, self._x_end])
            if math.isnan(self.arrival):
                self._set(self.arrival_line, np.empty(0), np.empty(0))
            else:
                self._set(self.arrival_line, span, np.full(2, self.arrival))
            if math.isnan(self.max_participation):
                self._set(self.cap_line, np.empty(0), np.empty(0))
            else:
                self._set(self.cap_line, span, np.full(2, 100.0 * self.max_participation))
        if "samples" in dirty or "lines" in dirty:
            self._fit_participation_axis()
        if dirty & {"fills", "refill"}:
            self._draw_fills(full="refill" in dirty)

    def _fit_participation_axis(self) -> None:
        cap = 100.0 * self.max_participation if not math.isnan(self.max_participation) else 0.0
        part = self.samples.column(4)
        peak = float(np.nanmax(part)) if len(part) else 0.0
        top = max(cap * 1.6, peak * 1.1, 5.0)  # headroom above the cap for the legend
        # grow in steps so the axis is not re-laid out on every frame
        top = 5.0 * math.ceil(top / 5.0)
        if top != self._part_top and not self._user_zoomed:
            self._part_top = top
            self.part_plot.setYRange(0, top, padding=0)

    def _draw_fills(self, full: bool) -> None:
        fx, fpx, fq, fv = (self.fills.column(i) for i in range(4))
        qmax = float(fq.max()) if len(fq) else 0.0
        if qmax > self._fill_qty_ref:
            # marker sizes are relative to the largest fill: a new largest one rescales them all
            self._fill_qty_ref = qmax
            full = True
        start = 0 if full else self._fills_drawn
        ref = max(self._fill_qty_ref, 1e-12)
        sizes = _MARKER_MIN_PX + (_MARKER_MAX_PX - _MARKER_MIN_PX) * np.sqrt(np.clip(fq[start:] / ref, 0, 1))
        venue_idx = fv[start:].astype(np.int64)
        for i, scatter in enumerate(self.fill_scatters):
            mask = venue_idx == i
            if full:
                scatter.setData(x=fx[start:][mask], y=fpx[start:][mask], size=sizes[mask])
            elif mask.any():
                scatter.addPoints(x=fx[start:][mask], y=fpx[start:][mask], size=sizes[mask])
            else:
                continue
            self.set_data_calls += 1
        self._fills_drawn = len(fx)

    def _set(self, item: pg.PlotDataItem, x: FloatArray, y: FloatArray) -> None:
        item.setData(x, y, connect="finite")
        self.set_data_calls += 1

    def _on_manual_range(self, *_: object) -> None:
        self._user_zoomed = True

    def _set_venues(self, venues: tuple[str, ...]) -> None:
        if venues == self.venues:
            return
        for scatter in self.fill_scatters:
            self.price_plot.removeItem(scatter)  # also drops its legend entry
        self.venues = venues
        self.fill_scatters = []
        for i, venue in enumerate(venues):
            color = pg.mkColor(theme.venue_color(i))
            color.setAlpha(215)
            scatter = pg.ScatterPlotItem(
                name=f"fills · {venue}", pen=pg.mkPen(theme.BG, width=0.8), brush=pg.mkBrush(color), symbol="o",
            )
            scatter.setZValue(10)
            self.price_plot.addItem(scatter)  # named items join the plot's legend
            self.fill_scatters.append(scatter)
        self._dirty.add("refill")


def _style_plot(plot: pg.PlotItem, label: str) -> None:
    plot.showGrid(x=False, y=False)
    plot.setLabel("left", label, color=theme.MUTED)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(theme.BORDER))
        axis.setTextPen(pg.mkPen(theme.MUTED))
    plot.getAxis("left").setWidth(64)
    plot.setMenuEnabled(True)


def _legend(plot: pg.PlotItem, offset: tuple[int, int], columns: int) -> pg.LegendItem:
    return plot.addLegend(
        offset=offset, brush=pg.mkBrush(20, 23, 28, 215), pen=pg.mkPen(theme.BORDER),
        labelTextColor=theme.TEXT, colCount=columns,
    )
