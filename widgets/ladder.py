"""Depth ladder (TT MD Trader style): one row per price, centered on the market, custom painted.

Columns, left to right: our working buys · bid size (depth bar) · price · ask size (depth bar) ·
our working sells · last traded quantity · volume at price. The last trade's price is boxed,
levels flagged by surveillance carry amber markers (hover for the score).

Cost model: `set_view` only stores the latest `LadderView`; a single-shot timer (max `max_fps`)
folds it into pre-computed rows — numpy binning, cached text layouts, rect lists grouped by
colour — and schedules one paint. `paintEvent` then draws those lists with reused pens and
brushes: a handful of `drawRects` calls plus one `drawStaticText` per non-empty cell.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QEvent, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QStaticText,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from widgets import theme
from widgets.viewmodels import LadderView

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# column ids, in drawing order
WORK_BUY, BID, PRICE, ASK, WORK_SELL, LTQ, VAP = range(7)
COLUMN_TITLES = ("Buys", "Bid", "Price", "Ask", "Sells", "LTQ", "Volume")
# share of spare width each column takes beyond its minimum
_COLUMN_WEIGHTS = (1.0, 1.5, 1.2, 1.5, 1.0, 0.8, 1.3)
_DEFAULT_ROWS = 26  # size hint: comfortably more than the 20 levels a trader expects
_EPS = 1e-6  # tolerance when snapping float prices to the row grid
_TEXT_CACHE_MAX = 4096  # bounded: quantities change every tick, the cache must not grow forever
_Placed = tuple[int, int, QStaticText]  # a text at its integer top-left pixel (no QPointF per cell)


@dataclass(frozen=True, slots=True, eq=False)
class LadderRows:
    """The rows currently drawn, top (highest price) first. Quantities 0 / NaN = empty cell."""

    price: FloatArray
    bid_qty: FloatArray
    ask_qty: FloatArray
    working_buy: FloatArray
    working_sell: FloatArray
    last_qty: FloatArray  # non-NaN only on the last trade's row
    vap_qty: FloatArray
    flag_score: FloatArray  # NaN = not flagged
    texts: tuple[tuple[str, ...], ...]  # per column id, one string per row ("" = empty)

    def row_of(self, price: float) -> int | None:
        """Row index whose price is nearest `price` within half a row, or None when off screen."""
        if not len(self.price):
            return None
        step = abs(float(self.price[0] - self.price[1])) if len(self.price) > 1 else 1.0
        i = int(np.argmin(np.abs(self.price - price)))
        return i if abs(float(self.price[i]) - price) <= step / 2 else None


class DepthLadder(QWidget):
    """A per-venue or consolidated ladder. Keys: C recenter, ↑/↓ and PgUp/PgDn scroll."""

    recentered = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        max_fps: float = 30.0,
        ticks_per_row: int = 1,
        auto_recenter: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("depthLadder")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._view: LadderView | None = None
        self._pending: LadderView | None = None
        self._ticks_per_row = max(1, int(ticks_per_row))
        self._center_u: int | None = None  # row-grid unit at the center row
        self._scrolled = False  # the trader scrolled away: auto-recenter waits for C
        self.auto_recenter = auto_recenter
        self.rebuild_count = 0

        self.title = QLabel("–")
        self.title.setObjectName("ladderTitle")
        self.title.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)  # never squeezed
        self.title.setStyleSheet(f"color: {theme.TEXT}; font-weight: 700;")
        self.info = _ElidedLabel()
        self.info.setObjectName("ladderInfo")
        self.info.setStyleSheet(f"color: {theme.MUTED};")
        self.auto_button = QToolButton()
        self.auto_button.setText("Auto")
        self.auto_button.setCheckable(True)
        self.auto_button.setChecked(auto_recenter)
        self.auto_button.setToolTip("Recenter automatically when the inside market leaves the ladder")
        self.auto_button.toggled.connect(self._set_auto)
        self.recenter_button = QPushButton("Center (C)")
        self.recenter_button.setToolTip("Recenter the ladder on the inside market  [C]")
        self.recenter_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.recenter_button.clicked.connect(self.recenter)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.setSpacing(6)
        bar.addWidget(self.title)
        bar.addWidget(self.info, 1)
        bar.addWidget(self.auto_button)
        bar.addWidget(self.recenter_button)

        self.canvas = _LadderCanvas(self)
        # keys go to the ladder itself; a click on the grid focuses it (setFocusProxy would do the
        # same but trips a PySide6 6.12 slot-lookup error when a ladder is destroyed)
        self.canvas.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._frame_s = 1.0 / max(max_fps, 1e-3)
        self._last_flush = -math.inf
        self._timer.timeout.connect(self.flush)

    # ---- feeding --------------------------------------------------------------------------------

    def set_view(self, view: LadderView) -> None:
        """Store the latest view; the ladder repaints at most once per frame (max_fps), as soon as
        a frame has passed since the last one (a fixed delay after every update would halve the
        rate when the updates themselves come at the frame rate)."""
        self._pending = view
        if not self._timer.isActive():
            wait_s = self._frame_s - (time.monotonic() - self._last_flush)
            self._timer.start(math.ceil(1000.0 * max(0.0, wait_s)))

    def flush(self) -> None:
        """Fold the pending view into rows and schedule one paint (the timer calls this)."""
        self._timer.stop()
        self._last_flush = time.monotonic()
        if self._pending is not None:
            self._view, self._pending = self._pending, None
            self._maybe_auto_recenter()
            self._update_info()
        self._rebuild()

    def set_ticks_per_row(self, ticks: int) -> None:
        """Group `ticks` price ticks per row (sizes summed); recenters on the market."""
        self._ticks_per_row = max(1, int(ticks))
        self._center_u = None
        self._maybe_auto_recenter(force=True)
        self._rebuild()

    # ---- navigation ------------------------------------------------------------------------------

    def recenter(self) -> None:
        """Put the inside market in the middle of the ladder and resume auto-recentering."""
        if self._pending is not None:
            self.flush()
        self._scrolled = False
        if self._maybe_auto_recenter(force=True):
            self._rebuild()
        self.recentered.emit()

    def scroll_rows(self, rows: int) -> None:
        """Scroll up (+) or down (−) by whole rows; auto-recenter pauses until the next recenter."""
        if self._center_u is None or rows == 0:
            return
        self._center_u += rows
        self._scrolled = True
        self._rebuild()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        page = max(1, self.visible_rows // 2)
        plain = not event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
        if key == Qt.Key.Key_C and plain:  # Ctrl+C etc. stay with the application
            self.recenter()
        elif key == Qt.Key.Key_Up:
            self.scroll_rows(1)
        elif key == Qt.Key.Key_Down:
            self.scroll_rows(-1)
        elif key == Qt.Key.Key_PageUp:
            self.scroll_rows(page)
        elif key == Qt.Key.Key_PageDown:
            self.scroll_rows(-page)
        else:
            super().keyPressEvent(event)

    # ---- introspection (tests, tooltips, the app) -------------------------------------------------

    @property
    def view(self) -> LadderView | None:
        return self._pending if self._pending is not None else self._view

    @property
    def visible_rows(self) -> int:
        return self.canvas.row_count

    @property
    def paint_count(self) -> int:
        return self.canvas.paint_count

    @property
    def is_scrolled(self) -> bool:
        return self._scrolled

    def row_model(self) -> LadderRows:
        return self.canvas.rows

    def describe_row(self, row: int) -> str:
        """Tooltip text for a row: flag details, our working orders and the queue ahead."""
        rows, view = self.canvas.rows, self._view
        if view is None or not 0 <= row < len(rows.price):
            return ""
        px = float(rows.price[row])
        lines = [f"{self.canvas.price_text(row)}"]
        score = float(rows.flag_score[row])
        if not math.isnan(score):
            kinds = [
                view.flag_kind[i] if i < len(view.flag_kind) else "flagged"
                for i in np.flatnonzero(np.abs(view.flag_px - px) <= self._step() / 2 + _EPS)
            ]
            lines.append(f"⚠ surveillance: {', '.join(kinds) or 'flagged'} — score {score:.2f}")
        for label, qty in (("our buys", rows.working_buy[row]), ("our sells", rows.working_sell[row])):
            if qty > 0:
                lines.append(f"{label}: {qty:,.{view.qty_decimals}f}{self._queue_text(px)}")
        if not math.isnan(float(rows.last_qty[row])):
            lines.append(f"last trade: {float(rows.last_qty[row]):,.{view.qty_decimals}f}")
        if rows.vap_qty[row] > 0:
            lines.append(f"volume at price: {float(rows.vap_qty[row]):,.{view.qty_decimals}f}")
        return "\n".join(lines) if len(lines) > 1 else ""

    def sizeHint(self) -> QSize:
        canvas = self.canvas.sizeHint()
        return QSize(canvas.width(), canvas.height() + self.recenter_button.sizeHint().height() + 4)

    # ---- internals ---------------------------------------------------------------------------------

    def _step(self) -> float:
        view = self._view
        return (view.tick_size if view is not None else 1.0) * self._ticks_per_row

    def _set_auto(self, on: bool) -> None:
        self.auto_recenter = on
        if on:
            self.recenter()

    def _maybe_auto_recenter(self, force: bool = False) -> bool:
        """Recenter when forced, on the first view, or when the inside market or one of our working
        orders is off screen (unless the trader scrolled away or turned auto-recentering off)."""
        view = self._view
        if view is None:
            return False
        step = self._step()
        bid, ask = view.best_bid, view.best_ask
        if math.isnan(bid) and math.isnan(ask):
            return False
        bid_u = math.floor(bid / step + _EPS) if not math.isnan(bid) else None
        ask_u = math.ceil(ask / step - _EPS) if not math.isnan(ask) else None
        if not force and self._center_u is not None:
            if not self.auto_recenter or self._scrolled:
                return False
            n = self.canvas.row_count
            top = self._center_u + n // 2
            bottom = top - n + 1
            inside_shown = all(u is None or bottom <= u <= top for u in (bid_u, ask_u))
            # our working orders count too: recentering brings back one the market drifted away from
            if inside_shown and all(bottom <= round(px / step) <= top for px in view.working_px.tolist()):
                return False
        inside = [u for u in (bid_u, ask_u) if u is not None]
        # the higher of the two middle rows when the spread is an odd number of rows
        self._center_u = (inside[0] + inside[-1] + 1) // 2
        return True

    def _rebuild(self) -> None:
        if self._view is None or self._center_u is None:
            return
        self.rebuild_count += 1
        n = self.canvas.row_count
        self.canvas.rebuild(self._view, self._center_u + n // 2, self._step())

    def _update_info(self) -> None:
        view = self._view
        if view is None:
            return
        title = f"{view.venue} · {view.symbol}" if view.symbol else view.venue
        if title != self.title.text():
            self.title.setText(title)
        bid, ask = view.best_bid, view.best_ask
        parts = []
        if not (math.isnan(bid) or math.isnan(ask)):
            spread = ask - bid
            ticks = spread / view.tick_size if view.tick_size > 0 else float("nan")
            parts.append(f"spread {ticks:.0f}t ({1e4 * spread / (0.5 * (bid + ask)):.2f} bps)")
        if not math.isnan(view.last_px):
            parts.append(f"last {self.canvas.format_price(view.last_px)} × {view.last_qty:,.{view.qty_decimals}f}")
        text = "  ·  ".join(parts)
        if text != self.info.text():
            self.info.setText(text)
            self.info.setToolTip(text)

    def _queue_text(self, px: float) -> str:
        view = self._view
        if view is None or not len(view.working_queue_ahead):
            return ""
        hit = np.flatnonzero(np.abs(view.working_px - px) <= self._step() / 2 + _EPS)
        ahead = [float(view.working_queue_ahead[i]) for i in hit if i < len(view.working_queue_ahead)]
        ahead = [a for a in ahead if not math.isnan(a)]
        return f" (queue ahead {min(ahead):,.{view.qty_decimals}f})" if ahead else ""


class _ElidedLabel(QLabel):
    """A label that elides on the right instead of clipping mid-glyph when the dock is narrow."""

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
        p.end()

    def minimumSizeHint(self) -> QSize:
        return QSize(10, super().minimumSizeHint().height())


class _LadderCanvas(QWidget):
    """The painted grid. Owns the pre-computed draw lists; knows nothing about recentering."""

    def __init__(self, owner: DepthLadder) -> None:
        super().__init__(owner)
        self._owner = owner
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # we paint every pixel
        self.setMouseTracking(False)
        self.paint_count = 0
        self.row_count = 0
        self._price_decimals = 1
        self._qty_cache: dict[tuple[float, int], tuple[QStaticText, int, str]] = {}
        self._price_cache: dict[int, tuple[QStaticText, int, str]] = {}
        self._price_cache_step = 0.0
        self._price_column_key: tuple[object, ...] | None = None
        self._price_column_value: tuple[dict[str, list[_Placed]], list[str]] = ({}, [])

        # reused paint objects
        self._colors = {
            name: QColor(value)
            for name, value in (
                ("bg", theme.BG), ("alt", theme.BG_ALT), ("panel", theme.PANEL), ("grid", theme.GRID),
                ("text", theme.TEXT), ("muted", theme.MUTED), ("dim", theme.DIM), ("accent", theme.ACCENT),
                ("bid", theme.BID), ("ask", theme.ASK), ("bid_bar", theme.BID_BAR), ("ask_bar", theme.ASK_BAR),
                ("vap_bar", theme.VAP_BAR), ("amber", theme.AMBER), ("white", "#ffffff"),
            )
        }
        self._pens = {name: QPen(color) for name, color in self._colors.items()}
        self._brushes = {name: QBrush(color) for name, color in self._colors.items()}
        self._last_pen = QPen(self._colors["amber"], 2)
        self._no_pen = QPen(Qt.PenStyle.NoPen)

        self._empty_rows()
        self._layout_metrics()

    # ---- geometry ----------------------------------------------------------------------------------

    def _layout_metrics(self) -> None:
        self._font = QFont(self.font())
        self._bold = QFont(self._font)
        self._bold.setBold(True)
        self._header_font = QFont(self._font)
        self._header_font.setPointSizeF(max(6.0, self._font.pointSizeF() * 0.9))
        fm = QFontMetrics(self._font)
        self._fm_height = fm.height()
        self.row_h = fm.height() + 4
        self.header_h = QFontMetrics(self._header_font).height() + 6
        self._pad = max(3, fm.horizontalAdvance("0") // 2)
        qty_w = fm.horizontalAdvance("0,000.0") + 2 * self._pad  # format_qty never exceeds 7 characters
        self._min_widths = (
            qty_w, qty_w, fm.horizontalAdvance("000,000.00") + 2 * self._pad + 10, qty_w, qty_w, qty_w, qty_w,
        )
        self._qty_cache.clear()
        self._price_cache.clear()
        self._layout_columns()

    def _layout_columns(self) -> None:
        width = self.width()
        mins, weights = list(self._min_widths), list(_COLUMN_WEIGHTS)
        if width < sum(mins):  # too narrow for everything: volume-at-price goes first, never clipped text
            mins[VAP] = weights[VAP] = 0
        spare = max(0, width - sum(mins))
        total_weight = sum(weights)
        xs, x = [], 0
        for min_w, weight in zip(mins, weights, strict=True):
            w = min_w + int(spare * weight / total_weight)
            xs.append((x, w))
            x += w
        # the last visible column absorbs rounding so the grid reaches the right edge
        last = VAP if mins[VAP] else LTQ
        last_x, last_w = xs[last]
        xs[last] = (last_x, max(last_w, width - last_x))
        self.show_vap = bool(mins[VAP])
        self._cols = xs
        self.row_count = max(0, (self.height() - self.header_h) // self.row_h)
        self._header_rects = [QRect(cx, 0, cw, self.header_h) for cx, cw in self._cols]
        # static stripes and separators, rebuilt only on resize
        self._stripe_rects = [
            QRect(0, self.header_h + i * self.row_h, width, self.row_h) for i in range(1, self.row_count, 2)
        ]
        px, pw = self._cols[PRICE]
        self._price_col_rect = QRect(px, self.header_h, pw, self.height() - self.header_h)
        self._separator_rects = [QRect(cx + cw - 1, 0, 1, self.height()) for cx, cw in self._cols[:-1]]

    def sizeHint(self) -> QSize:
        return QSize(sum(self._min_widths) + 120, self.header_h + _DEFAULT_ROWS * self.row_h)

    def minimumSizeHint(self) -> QSize:
        return QSize(sum(self._min_widths[:5]), self.header_h + 5 * self.row_h)

    def resizeEvent(self, event: QResizeEvent) -> None:
        old_rows = self.row_count
        self._layout_columns()
        super().resizeEvent(event)
        if self.row_count != old_rows:
            self._owner._maybe_auto_recenter()
        self._owner._rebuild()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._layout_metrics()
            self._owner._rebuild()
        super().changeEvent(event)

    # ---- text caches -------------------------------------------------------------------------------

    def _static(self, text: str) -> tuple[QStaticText, int, str]:
        st = QStaticText(text)
        st.setTextFormat(Qt.TextFormat.PlainText)
        st.prepare(QTransform(), self._font)
        return st, math.ceil(st.size().width()), text

    def _qty_text(self, qty: float, decimals: int) -> tuple[QStaticText, int, str]:
        key = (round(qty, decimals), decimals)
        hit = self._qty_cache.get(key)
        if hit is None:
            if len(self._qty_cache) > _TEXT_CACHE_MAX:
                self._qty_cache.clear()
            hit = self._qty_cache[key] = self._static(format_qty(qty, decimals))
        return hit

    def _price_text(self, u: int, step: float) -> tuple[QStaticText, int, str]:
        if step != self._price_cache_step:
            self._price_cache.clear()
            self._price_cache_step = step
            self._price_decimals = price_decimals(step)
        hit = self._price_cache.get(u)
        if hit is None:
            if len(self._price_cache) > _TEXT_CACHE_MAX:
                self._price_cache.clear()
            hit = self._price_cache[u] = self._static(f"{u * step:,.{self._price_decimals}f}")
        return hit

    def format_price(self, px: float) -> str:
        return f"{px:,.{price_decimals(self._owner._step())}f}"

    def price_text(self, row: int) -> str:
        return self.rows.texts[PRICE][row]

    # ---- rows --------------------------------------------------------------------------------------

    def _empty_rows(self) -> None:
        empty = np.empty(0)
        self.rows = LadderRows(empty, empty, empty, empty, empty, empty, empty, empty, ((),) * 7)
        self._rect_groups: list[tuple[str, list[QRect]]] = []
        self._text_groups: list[tuple[str, list[_Placed]]] = []
        self._flag_rects: list[QRect] = []
        self._last_rect: QRect | None = None

    def rebuild(self, view: LadderView, top_u: int, step: float) -> None:
        """Bin the view onto the visible rows and pre-compute everything paint needs."""
        n = self.row_count
        if n <= 0:
            self._empty_rows()
            self.update()
            return
        u = top_u - np.arange(n, dtype=np.int64)
        price = (u * step).astype(np.float64)

        bid = _bin(view.bid_px, view.bid_qty, top_u, n, step, "down")
        ask = _bin(view.ask_px, view.ask_qty, top_u, n, step, "up")
        wq = view.working_qty
        buys, sells = wq > 0, wq < 0
        work_buy = _bin(view.working_px[buys], wq[buys], top_u, n, step, "down")
        work_sell = _bin(view.working_px[sells], -wq[sells], top_u, n, step, "up")
        vap = _bin(view.vap_px, view.vap_qty, top_u, n, step, "nearest")
        last = np.full(n, np.nan)
        last_row = -1
        if not math.isnan(view.last_px) and not math.isnan(view.last_qty):
            r = top_u - round(view.last_px / step)
            if 0 <= r < n:
                last[r], last_row = view.last_qty, r
        flags = np.full(n, np.nan)
        if len(view.flag_px):
            rows_f = top_u - np.round(view.flag_px / step).astype(np.int64)
            ok = (rows_f >= 0) & (rows_f < n)
            np.fmax.at(flags, rows_f[ok], view.flag_score[ok])

        dec = view.qty_decimals
        y0, rh, cols = self.header_h, self.row_h, self._cols
        best_bid_u = math.floor(view.best_bid / step + _EPS) if len(view.bid_px) else None
        best_ask_u = math.ceil(view.best_ask / step - _EPS) if len(view.ask_px) else None

        rect_groups: dict[str, list[QRect]] = {"bid_bar": [], "ask_bar": [], "vap_bar": [], "accent": []}
        text_groups: dict[str, list[_Placed]] = {
            "text": [], "bid": [], "ask": [], "muted": [], "white": [], "dim": [], "amber": [],
        }
        texts: list[list[str]] = [[""] * n for _ in range(7)]

        # depth bars scale to the largest visible level on either side so the two sides compare
        depth_max = max(float(bid.max()), float(ask.max()), 1e-12)
        column = self._fill_column
        column(BID, bid, dec, text_groups["text"], texts[BID], rect_groups["bid_bar"], depth_max, from_right=True)
        column(ASK, ask, dec, text_groups["text"], texts[ASK], rect_groups["ask_bar"], depth_max)
        column(WORK_BUY, work_buy, dec, text_groups["white"], texts[WORK_BUY], rect_groups["accent"], 0.0)
        column(WORK_SELL, work_sell, dec, text_groups["white"], texts[WORK_SELL], rect_groups["accent"], 0.0)
        if self.show_vap:
            vap_max = max(float(vap.max()), 1e-12)
            column(VAP, vap, dec, text_groups["muted"], texts[VAP], rect_groups["vap_bar"], vap_max)
        if last_row >= 0:
            group = "bid" if view.last_side > 0 else "ask" if view.last_side < 0 else "text"
            one = np.zeros(n)
            one[last_row] = view.last_qty
            column(LTQ, one, dec, text_groups[group], texts[LTQ])

        px_x, px_w = cols[PRICE]
        flagged = ~np.isnan(flags)
        price_groups, texts[PRICE] = self._price_column(u, step, best_bid_u, best_ask_u, flagged)
        for group, items in price_groups.items():
            text_groups[group].extend(items)

        flag_rects = []
        for row in np.flatnonzero(flagged).tolist():
            y = y0 + row * rh
            flag_rects.append(QRect(px_x + 1, y + 1, 4, rh - 2))
            flag_rects.append(QRect(px_x + px_w - 6, y + 1, 4, rh - 2))
        self._flag_rects = flag_rects
        self._last_rect = QRect(px_x + 1, y0 + last_row * rh + 1, px_w - 3, rh - 2) if last_row >= 0 else None
        self._rect_groups = [(k, v) for k, v in rect_groups.items() if v]
        self._text_groups = [(k, v) for k, v in text_groups.items() if v]
        self.rows = LadderRows(
            price=price, bid_qty=bid, ask_qty=ask, working_buy=work_buy, working_sell=work_sell,
            last_qty=last, vap_qty=vap, flag_score=flags, texts=tuple(tuple(t) for t in texts),
        )
        self.update()

    def _fill_column(
        self,
        col: int,
        values: FloatArray,
        decimals: int,
        text_out: list[_Placed],
        texts_out: list[str],
        rect_out: list[QRect] | None = None,
        scale: float = 0.0,
        from_right: bool = False,
    ) -> None:
        """Right-aligned size texts for one column, plus bars (scale > 0: width ∝ value/scale;
        scale == 0: a full cell, as for our working orders)."""
        rows = np.flatnonzero(values > 0)
        if not len(rows):
            return
        cx, cw = self._cols[col]
        rh = self.row_h
        ys = self.header_h + rows * rh
        vals = values[rows]
        if rect_out is not None:
            if scale > 0:
                widths = np.maximum(1, ((cw - 2) * np.minimum(1.0, vals / scale)).astype(np.int64))
                xs = cx + cw - 1 - widths if from_right else np.full(len(rows), cx + 1)
                cells = zip(xs.tolist(), ys.tolist(), widths.tolist(), strict=True)
                rect_out.extend(QRect(x, y + 2, w, rh - 4) for x, y, w in cells)
            else:
                rect_out.extend(QRect(cx + 1, y + 1, cw - 2, rh - 2) for y in ys.tolist())
        right = cx + cw - self._pad
        dy = (rh - self._fm_height) // 2
        cache, make = self._qty_cache, self._qty_text
        for row, value, y in zip(rows.tolist(), np.round(vals, decimals).tolist(), ys.tolist(), strict=True):
            hit = cache.get((value, decimals)) or make(value, decimals)
            text_out.append((right - hit[1], y + dy, hit[0]))
            texts_out[row] = hit[2]

    def _price_column(
        self, u: IntArray, step: float, best_bid_u: int | None, best_ask_u: int | None, flagged: npt.NDArray[np.bool_]
    ) -> tuple[dict[str, list[_Placed]], list[str]]:
        """Centered prices coloured by side (amber when flagged); cached until the rows, the
        inside market or the flags move — most frames only sizes change."""
        key = (int(u[0]), len(u), step, best_bid_u, best_ask_u, flagged.tobytes(), tuple(self._cols[PRICE]), self.row_h)
        if key == self._price_column_key:
            return self._price_column_value
        px_x, px_w = self._cols[PRICE]
        y0, rh = self.header_h, self.row_h
        dy = (rh - self._fm_height) // 2
        groups: dict[str, list[_Placed]] = {"bid": [], "ask": [], "dim": [], "amber": []}
        texts = [""] * len(u)
        for row, uu in enumerate(u.tolist()):
            st, width, text = self._price_text(uu, step)
            if flagged[row]:
                group = "amber"
            elif best_bid_u is not None and uu <= best_bid_u:
                group = "bid"
            elif best_ask_u is not None and uu >= best_ask_u:
                group = "ask"
            else:
                group = "dim"  # inside the spread
            groups[group].append((px_x + (px_w - width) // 2, y0 + row * rh + dy, st))
            texts[row] = text
        self._price_column_key = key
        self._price_column_value = (groups, texts)
        return groups, texts

    # ---- painting ----------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paint_count += 1
        p = QPainter(self)
        c, b = self._colors, self._brushes
        p.fillRect(self.rect(), c["bg"])
        p.setPen(self._no_pen)
        p.setBrush(b["alt"])
        if self._stripe_rects:
            p.drawRects(self._stripe_rects)
        p.setBrush(b["panel"])
        p.drawRect(self._price_col_rect)
        p.drawRect(QRect(0, 0, self.width(), self.header_h))
        for group, rects in self._rect_groups:
            p.setBrush(b[group])
            p.drawRects(rects)
        p.setBrush(b["grid"])
        p.drawRects(self._separator_rects)
        if self._flag_rects:
            p.setBrush(b["amber"])
            p.drawRects(self._flag_rects)

        p.setFont(self._header_font)
        p.setPen(self._pens["muted"])
        for rect, title in zip(self._header_rects, COLUMN_TITLES, strict=True):
            if rect.width() > 0:
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, title)

        p.setFont(self._font)
        pens = self._pens
        for group, items in self._text_groups:
            p.setPen(pens[group])
            for x, y, st in items:
                p.drawStaticText(x, y, st)
        if self._last_rect is not None:
            p.setPen(self._last_pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(self._last_rect)
        p.end()

    # ---- interaction -------------------------------------------------------------------------------

    def row_at(self, y: int) -> int:
        return (y - self.header_h) // self.row_h if y >= self.header_h else -1

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self._owner.describe_row(self.row_at(event.pos().y()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._owner.setFocus(Qt.FocusReason.MouseFocusReason)
        super().mousePressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() // 120
        if steps:
            self._owner.scroll_rows(int(steps) * 2)
        event.accept()


# ---- helpers -------------------------------------------------------------------------------------


def _bin(px: FloatArray, qty: FloatArray, top_u: int, n: int, step: float, snap: str) -> FloatArray:
    """Sum `qty` into the n visible rows by price.

    `snap` maps a price onto the row grid: "down" for bids and our buys (a bid between two rows
    counts at the lower one), "up" for asks and our sells, "nearest" for trades and flags.
    """
    if not len(px):
        return np.zeros(n)
    if snap == "down":
        units = np.floor(px / step + _EPS)
    elif snap == "up":
        units = np.ceil(px / step - _EPS)
    else:
        units = np.round(px / step)
    rows = top_u - units.astype(np.int64)
    ok = (rows >= 0) & (rows < n)
    return np.bincount(rows[ok], weights=qty[ok], minlength=n)[:n].astype(np.float64)


def price_decimals(step: float) -> int:
    """Decimals a price on a `step` grid needs (0.1 → 1, 0.25 → 2, 5 → 0)."""
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def format_qty(qty: float, decimals: int) -> str:
    """Compact size text for a narrow column: fewer decimals as sizes grow, k above 10,000."""
    if qty >= 100_000:
        return f"{qty / 1000:,.0f}k"
    if qty >= 10_000:
        return f"{qty / 1000:,.1f}k"
    if qty >= 1_000:
        return f"{qty:,.{min(decimals, 1)}f}"
    if qty >= 100:
        return f"{qty:.{min(decimals, 2)}f}"
    return f"{qty:.{decimals}f}"
