"""Blotters: batch upserts without resets, sort, filter, copy and CSV export."""

from __future__ import annotations

import csv
import dataclasses
import math
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication

from core.parent import ParentState
from widgets import samples
from widgets.tables import (
    PARENT_COLUMNS,
    BlotterView,
    ChildrenModel,
    FillsModel,
    ParentsModel,
    format_value,
)


def _col(title: str) -> int:
    return [c.title for c in PARENT_COLUMNS].index(title)


@pytest.fixture
def parents(qtbot):  # type: ignore[no-untyped-def]
    model = ParentsModel()
    view = BlotterView(model, name="parents")
    qtbot.addWidget(view)
    model.apply_rows(samples.parent_rows())
    view.resize(1400, 300)
    view.show()
    return view


class Spy:
    def __init__(self, model: ParentsModel) -> None:
        self.resets = self.inserts = self.changes = 0
        model.modelReset.connect(lambda: self._bump("resets"))
        model.rowsInserted.connect(lambda *a: self._bump("inserts"))
        model.dataChanged.connect(lambda *a: self._bump("changes"))

    def _bump(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)


def test_batch_updates_keep_the_row_count_and_never_reset(parents: BlotterView) -> None:
    model = parents.model
    spy = Spy(model)  # type: ignore[arg-type]
    rows = samples.parent_rows()
    for tick in range(1, 51):
        batch = [dataclasses.replace(r, filled=r.filled + tick, leaves=r.leaves - tick) for r in rows[:3]]
        assert model.apply_rows(batch) == (3, 0)
    assert model.rowCount() == len(rows)
    assert spy.resets == 0 and spy.inserts == 0
    assert spy.changes == 50  # rows 0..2 are one contiguous run: one dataChanged per batch
    assert model.row_by_key("BH0002").filled == pytest.approx(rows[1].filled + 50)

    # an identical batch (fresh NaN objects included) changes nothing
    same = [dataclasses.replace(r, limit=float("nan")) if math.isnan(r.limit) else r for r in model.rows()]
    assert model.apply_rows(same) == (0, 0)
    assert spy.changes == 50

    # new rows arrive in one insert, a duplicate key within the batch keeps the last
    new = [dataclasses.replace(rows[0], parent_id=f"NEW{i}") for i in range(3)]
    new.append(dataclasses.replace(new[0], trader="zoe"))
    assert model.apply_rows(new) == (0, 3)
    assert spy.inserts == 1 and model.rowCount() == len(rows) + 3
    assert model.row_by_key("NEW0").trader == "zoe"
    assert spy.resets == 0


def test_sort_numerically_and_by_state(parents: BlotterView) -> None:
    parents.sort_by(_col("Qty"), Qt.SortOrder.DescendingOrder)
    qtys = [parents.model.row_by_key(k).qty for k in parents.visible_keys()]
    assert qtys == sorted(qtys, reverse=True)  # 1,000 before 500 before 250: numbers, not strings
    parents.sort_by(_col("IS bps"), Qt.SortOrder.AscendingOrder)
    keys = parents.visible_keys()
    assert keys[0] == "BH0005"  # unknown (NaN) sorts first
    assert keys[-1] == "BH0006"
    # sorting survives live updates
    parents.sort_by(_col("Qty"), Qt.SortOrder.DescendingOrder)
    row = parents.model.row_by_key("BH0004")
    parents.model.apply_rows([dataclasses.replace(row, qty=5000.0)])
    assert parents.visible_keys()[0] == "BH0004"


def test_filter_matches_any_column_case_insensitively(parents: BlotterView, qtbot) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(parents.filter_edit, "PAUSED")
    assert parents.visible_keys() == ["BH0003"]
    assert parents.count_label.text() == "1 of 6 rows"
    parents.filter_edit.clear()
    parents.set_filter("bob")
    assert set(parents.visible_keys()) == {"BH0002", "BH0004", "BH0006"}
    parents.set_filter("")
    assert len(parents.visible_keys()) == 6


def test_csv_export_round_trips(parents: BlotterView, tmp_path: Path) -> None:
    parents.sort_by(_col("ID"), Qt.SortOrder.AscendingOrder)
    path = tmp_path / "parents.csv"
    assert parents.export_csv(path) == 6
    with open(path, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table[0] == [c.title for c in PARENT_COLUMNS]
    by_title = [dict(zip(table[0], line, strict=True)) for line in table[1:]]
    for exported, row in zip(by_title, samples.parent_rows(), strict=True):
        assert exported["ID"] == row.parent_id
        assert exported["Side"] == row.side.name.lower()
        assert float(exported["Qty"]) == row.qty and float(exported["Filled"]) == row.filled
        assert ParentState(exported["State"]) is row.state
        if math.isnan(row.limit):
            assert exported["Limit"] == ""
        else:
            assert float(exported["Limit"]) == row.limit
        start = datetime.fromisoformat(exported["Start"].replace("Z", "+00:00")).timestamp()
        assert start == pytest.approx(row.start_ts, abs=1e-3)
    # what is exported is what is shown: filtered rows stay out
    parents.set_filter("paused")
    assert parents.export_csv(path) == 1


def test_ctrl_c_copies_the_selection_tab_separated(parents: BlotterView, qtbot) -> None:  # type: ignore[no-untyped-def]
    parents.sort_by(_col("ID"), Qt.SortOrder.AscendingOrder)
    selection = parents.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for r in (0, 2):
        selection.select(parents.proxy.index(r, 0), flags)
    parents.table.setFocus()
    qtbot.keyClick(parents.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    text = QGuiApplication.clipboard().text()
    lines = text.split("\n")
    assert len(lines) == 2
    cells = lines[0].split("\t")
    assert len(cells) == len(PARENT_COLUMNS)
    assert cells[0] == "BH0001" and cells[_col("Qty")] == "1,000.000" and cells[_col("Side")] == "Sell"
    assert lines[1].split("\t")[0] == "BH0003"
    assert parents.selected_keys() == ["BH0001", "BH0003"]


def test_activating_a_row_emits_its_key(parents: BlotterView, qtbot) -> None:  # type: ignore[no-untyped-def]
    parents.sort_by(_col("ID"), Qt.SortOrder.AscendingOrder)
    with qtbot.waitSignal(parents.row_activated) as blocker:
        parents.table.activated.emit(parents.proxy.index(1, 3))
    assert blocker.args == ["BH0002"]


def test_children_and_fills_blotters(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    children, fills = ChildrenModel(), FillsModel()
    cv, fv = BlotterView(children, name="children"), BlotterView(fills, name="fills")
    qtbot.addWidget(cv)
    qtbot.addWidget(fv)
    children.apply_rows(samples.child_rows())
    fills.apply_rows(samples.fill_rows())
    fills.apply_rows(samples.fill_rows())  # a replayed batch adds nothing
    assert children.rowCount() == 12 and fills.rowCount() == 20
    cv.set_filter("rejected")
    assert len(cv.visible_keys()) == 2
    reason = children.columns[[c.title for c in children.columns].index("Reject reason")]
    assert reason.cell_tooltip is not None and "risk" in reason.cell_tooltip(children.row(4))
    assert fv.export_csv(tmp_path / "fills.csv") == 20


def test_formats() -> None:
    assert format_value(float("nan"), "price") == ""
    assert format_value(1234.5, "price") == "1,234.50"
    assert format_value(-3.14, "bps") == "-3.1"
    assert format_value(3725.0, "duration") == "1:02:05"
    assert format_value(65.0, "duration") == "1:05"
    assert format_value(ParentState.STOPPED_BY_RISK, "enum") == "stopped by risk"
