"""Blotters: table models fed in batches, and a view that sorts, filters, copies and exports.

`RowTableModel.apply_rows(rows)` upserts frozen row view-models by key: a changed row emits
`dataChanged` for its run of rows, a new one is appended inside `beginInsertRows`; the model
is never reset on a tick (only `clear()` resets, on a trader's request). Display text is
formatted on demand for the visible cells only; sorting uses raw values (`SORT_ROLE`), so
"1,000.000" sorts after "250.000".
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.orders import OrderStatus
from core.parent import ParentState
from core.types import Side
from widgets import theme
from widgets.viewmodels import ChildRow, FillRow, ParentRow

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
KEY_ROLE = Qt.ItemDataRole.UserRole + 2
_NUMERIC_KINDS = frozenset({"qty", "price", "bps", "pct", "time", "duration", "ms", "money", "signed_qty"})
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_MANY_RUNS = 32  # past this many changed runs, one dataChanged over their span is cheaper
Index = QModelIndex | QPersistentModelIndex

Row = Any  # a frozen row view-model with a `key` property


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    """One blotter column. `value` gives the raw value (sort, export); `kind` picks the format.

    kinds: text, enum, side, qty, signed_qty, price, bps, pct, money, ms, time (UTC epoch s),
    duration (s). `color` maps a row to a theme colour (or None) for its text.
    """

    title: str
    value: Callable[[Row], Any]
    kind: str = "text"
    decimals: int | None = None
    color: Callable[[Row], str | None] | None = None
    tooltip: str = ""
    cell_tooltip: Callable[[Row], str] | None = None

    def display(self, raw: Any) -> str:
        return format_value(raw, self.kind, self.decimals)

    def export(self, raw: Any) -> str:
        return export_value(raw, self.kind)


class RowTableModel(QAbstractTableModel):
    """Rows keyed by `row.key`, upserted in batches. Row order is arrival order (views sort)."""

    def __init__(self, columns: Sequence[Column], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns: tuple[Column, ...] = tuple(columns)
        self._rows: list[Row] = []
        self._index: dict[str, int] = {}
        self._brushes: dict[str, QBrush] = {}

    # ---- feeding ----------------------------------------------------------------------------------

    def apply_rows(self, rows: Iterable[Row]) -> tuple[int, int]:
        """Upsert a batch; returns (rows changed, rows inserted). Unchanged rows emit nothing."""
        changed: set[int] = set()
        new: dict[str, Row] = {}
        for row in rows:
            key = row.key
            i = self._index.get(key)
            if i is None:
                new[key] = row  # a later duplicate in the same batch wins
            elif not same_row(self._rows[i], row):
                self._rows[i] = row
                changed.add(i)
        if changed:
            self._emit_changed(sorted(changed))
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for offset, (key, row) in enumerate(new.items()):
                self._index[key] = first + offset
                self._rows.append(row)
            self.endInsertRows()
        return len(changed), len(new)

    def remove_keys(self, keys: Iterable[str]) -> int:
        """Remove rows by key (contiguous runs, bottom first); returns how many were removed."""
        doomed = sorted({self._index[k] for k in keys if k in self._index}, reverse=True)
        for start, end in _runs(sorted(doomed))[::-1]:
            self.beginRemoveRows(QModelIndex(), start, end)
            del self._rows[start : end + 1]
            self.endRemoveRows()
        if doomed:
            self._index = {row.key: i for i, row in enumerate(self._rows)}
        return len(doomed)

    def clear(self) -> None:
        """Forget every row (a trader's action, never a tick)."""
        self.beginResetModel()
        self._rows.clear()
        self._index.clear()
        self.endResetModel()

    def _emit_changed(self, indices: list[int]) -> None:
        last_col = len(self.columns) - 1
        runs = _runs(indices)
        if len(runs) > _MANY_RUNS:
            runs = [(runs[0][0], runs[-1][1])]
        for start, end in runs:
            self.dataChanged.emit(self.index(start, 0), self.index(end, last_col))

    # ---- access -----------------------------------------------------------------------------------

    def row(self, i: int) -> Row:
        return self._rows[i]

    def rows(self) -> list[Row]:
        return list(self._rows)

    def row_by_key(self, key: str) -> Row | None:
        i = self._index.get(key)
        return self._rows[i] if i is not None else None

    def row_index(self, key: str) -> int | None:
        return self._index.get(key)

    # ---- Qt model interface -----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.display(col.value(row))
        if role == SORT_ROLE:
            return sort_value(col.value(row))
        if role == Qt.ItemDataRole.ForegroundRole:
            color = col.color(row) if col.color is not None else None
            return self._brush(color) if color else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_RIGHT if col.kind in _NUMERIC_KINDS else _LEFT)
        if role == Qt.ItemDataRole.ToolTipRole and col.cell_tooltip is not None:
            return col.cell_tooltip(row) or None
        if role == KEY_ROLE:
            return row.key
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[section].tooltip or None
        return None

    def _brush(self, color: str) -> QBrush:
        brush = self._brushes.get(color)
        if brush is None:
            brush = self._brushes[color] = QBrush(QColor(color))
        return brush


# ---- the three blotters -----------------------------------------------------------------------------


def _side_color(row: Any) -> str:
    return theme.BID if row.side is Side.BUY else theme.ASK


def _cost_color(value: float) -> str | None:
    """Costs in bps: positive (we paid) in sell-red, negative (we gained) in green."""
    if math.isnan(value) or abs(value) < 0.05:
        return None
    return theme.ASK if value > 0 else theme.GREEN


_PARENT_STATE_COLORS = {
    ParentState.RUNNING: theme.GREEN,
    ParentState.PAUSED: theme.AMBER,
    ParentState.COMPLETING: theme.AMBER,
    ParentState.PENDING_APPROVAL: theme.AMBER,
    ParentState.STOPPED_BY_RISK: theme.ASK,
    ParentState.CANCELED: theme.DIM,
    ParentState.DONE: theme.MUTED,
}
_ORDER_STATUS_COLORS = {
    OrderStatus.FILLED: theme.GREEN,
    OrderStatus.PARTIALLY_FILLED: theme.TEXT,
    OrderStatus.REJECTED: theme.ASK,
    OrderStatus.UNKNOWN: theme.AMBER,
    OrderStatus.PENDING_CANCEL: theme.AMBER,
    OrderStatus.CANCELED: theme.DIM,
    OrderStatus.EXPIRED: theme.DIM,
}

PARENT_COLUMNS: tuple[Column, ...] = (
    Column("ID", lambda r: r.parent_id),
    Column("Account", lambda r: r.account),
    Column("Trader", lambda r: r.trader),
    Column("Instrument", lambda r: r.instrument),
    Column("Side", lambda r: r.side, "side", color=_side_color),
    Column("Qty", lambda r: r.qty, "qty", tooltip="Parent quantity, base units"),
    Column("Filled", lambda r: r.filled, "qty"),
    Column("Leaves", lambda r: r.leaves, "qty"),
    Column("%", lambda r: r.pct, "pct", tooltip="Filled, percent of quantity"),
    Column("Avg px", lambda r: r.avg_price, "price"),
    Column("Arrival", lambda r: r.arrival, "price", tooltip="Mid price when the parent started"),
    Column("IS bps", lambda r: r.shortfall_bps, "bps", color=lambda r: _cost_color(r.shortfall_bps),
           tooltip="Implementation shortfall vs arrival, bps; + = cost"),
    Column("vs VWAP", lambda r: r.vs_vwap_bps, "bps", color=lambda r: _cost_color(r.vs_vwap_bps),
           tooltip="Average price vs market VWAP over our interval, bps; + = cost"),
    Column("Limit", lambda r: r.limit, "price"),
    Column("Algo", lambda r: r.algo),
    Column("State", lambda r: r.state, "enum", color=lambda r: _PARENT_STATE_COLORS.get(r.state)),
    Column("Start", lambda r: r.start_ts, "time", tooltip="UTC"),
    Column("End", lambda r: r.end_ts, "time", tooltip="UTC"),
    Column("Left", lambda r: r.time_left_s, "duration", tooltip="Time left in the horizon"),
    Column("Ahead/behind", lambda r: r.ahead_behind_qty, "signed_qty",
           color=lambda r: theme.AMBER if r.ahead_behind_qty < 0 else None,
           tooltip="Filled minus scheduled, base units; − = behind schedule"),
    Column("Working", lambda r: r.working, "qty", tooltip="Resting at venues, base units"),
    Column("OTC", lambda r: r.otc_qty, "qty", tooltip="Done or accepted with OTC desks, base units"),
    Column("Notional $", lambda r: r.notional_usd, "money", decimals=0, tooltip="Parent quantity in USD"),
)

CHILD_COLUMNS: tuple[Column, ...] = (
    Column("Client ID", lambda r: r.client_id),
    Column("Parent", lambda r: r.parent_id),
    Column("Venue", lambda r: r.venue),
    Column("Venue order ID", lambda r: r.venue_order_id),
    Column("Side", lambda r: r.side, "side", color=_side_color),
    Column("Price", lambda r: r.price, "price", tooltip="Limit price; blank = market"),
    Column("Qty", lambda r: r.qty, "qty"),
    Column("Filled", lambda r: r.filled, "qty"),
    Column("Status", lambda r: r.status, "enum", color=lambda r: _ORDER_STATUS_COLORS.get(r.status)),
    Column("TIF", lambda r: r.tif, "enum"),
    Column("Created", lambda r: r.created_ts, "time", tooltip="UTC"),
    Column("Ack ms", lambda r: r.ack_latency_ms, "ms", tooltip="Submit → venue acknowledgement, ms"),
    Column("Reject reason", lambda r: r.reject_reason, color=lambda r: theme.ASK if r.reject_reason else None,
           cell_tooltip=lambda r: r.reject_reason),
    Column("Fee", lambda r: r.fee, "money", decimals=4, tooltip="Quote currency; − = rebate"),
)

FILL_COLUMNS: tuple[Column, ...] = (
    Column("Time", lambda r: r.ts, "time", tooltip="Venue time, UTC"),
    Column("Parent", lambda r: r.parent_id),
    Column("Client ID", lambda r: r.client_id),
    Column("Venue", lambda r: r.venue),
    Column("Trade ID", lambda r: r.venue_trade_id),
    Column("Venue order ID", lambda r: r.venue_order_id),
    Column("Side", lambda r: r.side, "side", color=_side_color),
    Column("Price", lambda r: r.price, "price"),
    Column("Qty", lambda r: r.qty, "qty"),
    Column("Notional $", lambda r: r.notional, "money"),
    Column("Liq", lambda r: r.liquidity, "enum", tooltip="Maker or taker"),
    Column("Fee", lambda r: r.fee, "money", decimals=4, tooltip="Fee currency; − = rebate"),
    Column("Fee ccy", lambda r: r.fee_currency),
)


class ParentsModel(RowTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(PARENT_COLUMNS, parent)

    def apply_rows(self, rows: Iterable[ParentRow]) -> tuple[int, int]:
        return super().apply_rows(rows)


class ChildrenModel(RowTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(CHILD_COLUMNS, parent)

    def apply_rows(self, rows: Iterable[ChildRow]) -> tuple[int, int]:
        return super().apply_rows(rows)


class FillsModel(RowTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(FILL_COLUMNS, parent)

    def apply_rows(self, rows: Iterable[FillRow]) -> tuple[int, int]:
        return super().apply_rows(rows)


# ---- the view ---------------------------------------------------------------------------------------


class BlotterView(QWidget):
    """A blotter: filter box, row count, CSV export, and a sortable table (Ctrl+C copies).

    `row_activated(key)` fires on Enter or double-click (the app jumps to that parent/order).
    """

    row_activated = Signal(str)

    def __init__(
        self,
        model: RowTableModel,
        parent: QWidget | None = None,
        *,
        name: str = "blotter",
        proxy: QSortFilterProxyModel | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.model = model
        self.proxy = proxy if proxy is not None else QSortFilterProxyModel()
        self.proxy.setParent(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)  # match any column
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter (any column)…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.set_filter)
        self.count_label = QLabel()
        self.count_label.setStyleSheet(f"color: {theme.MUTED};")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Export the rows shown (filtered, in this order) to a CSV file")
        self.export_button.clicked.connect(self.choose_export_path)
        bar = self.toolbar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.count_label)
        bar.addWidget(self.export_button)

        self.table = _BlotterTable(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # arrival order until a header click
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setHighlightSections(False)
        self.table.activated.connect(self._on_activated)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

        self._sized = False
        for sig in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset, self.proxy.layoutChanged):
            sig.connect(self._update_count)
        model.rowsInserted.connect(self._size_columns_once)
        self._file_dialog: QFileDialog | None = None
        self._update_count()

    # ---- actions -----------------------------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self._update_count()

    def sort_by(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.table.sortByColumn(column, order)

    def visible_keys(self) -> list[str]:
        """Keys of the rows shown, top to bottom (after filter and sort)."""
        return [self.proxy.index(r, 0).data(KEY_ROLE) for r in range(self.proxy.rowCount())]

    def selected_keys(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedIndexes()})
        return [self.proxy.index(r, 0).data(KEY_ROLE) for r in rows]

    def select_key(self, key: str) -> bool:
        """Select and scroll to the row with `key` (cleared filter if it hides it); False if absent."""
        source_row = self.model.row_index(key)
        if source_row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        if not index.isValid() and self.filter_edit.text():
            self.filter_edit.clear()
            index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        if not index.isValid():
            return False
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    def copy_selection(self) -> str:
        """Copy the selected cells as tab-separated lines (rows in view order) to the clipboard."""
        indexes = self.table.selectionModel().selectedIndexes()
        if not indexes:
            return ""
        cells: dict[int, dict[int, str]] = {}
        for index in indexes:
            cells.setdefault(index.row(), {})[index.column()] = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        header = self.table.horizontalHeader()
        columns = sorted({c for row in cells.values() for c in row}, key=header.visualIndex)
        text = "\n".join("\t".join(cells[r].get(c, "") for c in columns) for r in sorted(cells))
        QGuiApplication.clipboard().setText(text)
        return text

    def export_csv(self, path: str | Path) -> int:
        """Write the rows shown (filtered, in view order), all columns, raw values; returns rows.

        Numbers are written unformatted (full precision, '.' decimal, no thousands separator),
        times as ISO-8601 UTC, unknown values as empty cells.
        """
        columns = self.model.columns
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([c.title for c in columns])
            count = 0
            for r in range(self.proxy.rowCount()):
                source_row = self.proxy.mapToSource(self.proxy.index(r, 0)).row()
                row = self.model.row(source_row)
                writer.writerow([c.export(c.value(row)) for c in columns])
                count += 1
        return count

    def choose_export_path(self) -> None:
        """Ask for a file without a nested event loop (`open()`, never `exec()`)."""
        dialog = QFileDialog(self, "Export CSV", f"{self.objectName()}.csv", "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(self.export_csv)
        self._file_dialog = dialog
        dialog.open()

    def handle_key(self, event: QKeyEvent) -> bool:
        """Subclasses bind extra keys here (the table asks before its own handling)."""
        return False

    # ---- internals ---------------------------------------------------------------------------------

    def _on_activated(self, index: QModelIndex) -> None:
        key = index.data(KEY_ROLE)
        if key is not None:
            self.row_activated.emit(str(key))

    def _update_count(self, *_: object) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} rows" if shown == total else f"{shown} of {total} rows")

    def _size_columns_once(self, *_: object) -> None:
        if not self._sized:
            self._sized = True
            self.table.resizeColumnsToContents()


class _BlotterTable(QTableView):
    def __init__(self, owner: BlotterView) -> None:
        super().__init__(owner)
        self._owner = owner

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self._owner.copy_selection()
            event.accept()
            return
        if self._owner.handle_key(event):
            event.accept()
            return
        super().keyPressEvent(event)


# ---- formatting -------------------------------------------------------------------------------------


def format_value(raw: Any, kind: str, decimals: int | None = None) -> str:
    """Display text for a cell. NaN / None render as an empty cell."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    if kind == "side":
        return raw.name.capitalize() if isinstance(raw, Side) else str(raw)
    if kind == "enum":
        return raw.value.replace("_", " ") if isinstance(raw, Enum) else str(raw)
    if kind == "qty":
        return f"{raw:,.{3 if decimals is None else decimals}f}"
    if kind == "signed_qty":
        text = f"{raw:+,.{3 if decimals is None else decimals}f}"
        return text[1:] if text.strip("+-0.,") == "" else text  # on schedule: "0.000", not "+0.000"
    if kind in ("price", "money"):
        return f"{raw:,.{2 if decimals is None else decimals}f}"
    if kind == "bps":
        return f"{raw:+.{1 if decimals is None else decimals}f}"
    if kind == "pct":
        return f"{raw:.{1 if decimals is None else decimals}f}%"
    if kind == "ms":
        return f"{raw:.{1 if decimals is None else decimals}f}"
    if kind == "time":
        return time.strftime("%H:%M:%S", time.gmtime(raw))
    if kind == "duration":
        seconds = max(0, round(raw))
        h, rem = divmod(seconds, 3600)
        m, s = divmod(rem, 60)
        return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
    if isinstance(raw, Enum):
        return str(raw.value)
    return str(raw)


def export_value(raw: Any, kind: str) -> str:
    """CSV cell: full-precision numbers (shortest round-trip repr), ISO-8601 UTC times."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    if kind == "time":
        whole = math.floor(raw)
        millis = round((raw - whole) * 1000)
        if millis == 1000:
            whole, millis = whole + 1, 0
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"
    if isinstance(raw, Side):
        return raw.name.lower()
    if isinstance(raw, Enum):
        return str(raw.value)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        return repr(raw)
    return str(raw)


def sort_value(raw: Any) -> Any:
    """A value QSortFilterProxyModel can order: numbers stay numbers, NaN sorts first, enums by name."""
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, Side):
        return raw.name
    if isinstance(raw, int | float):
        return -math.inf if isinstance(raw, float) and math.isnan(raw) else float(raw)
    if isinstance(raw, Enum):
        return str(raw.value)
    return "" if raw is None else str(raw)


def same_row(a: Any, b: Any) -> bool:
    """Row equality where NaN equals NaN (a fresh NaN from the bridge is not a change)."""
    if a is b or a == b:
        return True
    if type(a) is not type(b):
        return False
    cls: type = type(a)
    for name in _field_names(cls):
        x, y = getattr(a, name), getattr(b, name)
        if x != y and not (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)):
            return False
    return True


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted indices → inclusive (start, end) runs of consecutive values."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs
