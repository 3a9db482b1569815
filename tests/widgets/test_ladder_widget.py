"""Depth ladder: 20+ levels, coalesced repaints, our working orders drawn, recentering."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from widgets import samples, theme
from widgets.ladder import BID, LTQ, PRICE, WORK_BUY, WORK_SELL, DepthLadder, format_qty, price_decimals
from widgets.viewmodels import LadderView


@pytest.fixture
def ladder(qtbot, rng):  # type: ignore[no-untyped-def]
    widget = DepthLadder()
    qtbot.addWidget(widget)
    widget.set_view(samples.ladder_view(rng))
    widget.show()
    qtbot.waitExposed(widget)
    widget.flush()
    return widget


def test_default_size_shows_at_least_20_price_levels(ladder: DepthLadder) -> None:
    rows = ladder.row_model()
    assert ladder.visible_rows >= 20
    assert len(rows.price) == ladder.visible_rows
    # one row per tick, top = highest price, prices printed on the tick grid
    assert np.allclose(np.diff(rows.price), -0.1)
    assert all(t.count(".") == 1 and len(t.split(".")[1]) == 1 for t in rows.texts[PRICE])
    # both sides of the book are on screen around the inside market
    assert (rows.bid_qty > 0).sum() >= 5 and (rows.ask_qty > 0).sum() >= 5


def test_a_thousand_set_view_calls_make_a_handful_of_paints(ladder: DepthLadder, qtbot, rng) -> None:  # type: ignore[no-untyped-def]
    qtbot.wait(50)
    paints, rebuilds = ladder.paint_count, ladder.rebuild_count
    views = [samples.ladder_view(rng) for _ in range(20)]
    for i in range(1000):
        ladder.set_view(views[i % 20])
    last = samples.ladder_view(np.random.default_rng(99))
    ladder.set_view(last)
    qtbot.wait(250)  # ~7 frames at 30 fps
    assert ladder.rebuild_count - rebuilds <= 2
    assert 1 <= ladder.paint_count - paints <= 4
    # and what is drawn is the latest view, not a stale one
    rows = ladder.row_model()
    r = rows.row_of(last.best_bid)
    assert r is not None and rows.bid_qty[r] == pytest.approx(last.bid_qty[0])


def test_repaints_are_capped_at_max_fps_under_a_steady_stream(qtbot, rng) -> None:  # type: ignore[no-untyped-def]
    widget = DepthLadder(max_fps=20)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    views = [samples.ladder_view(rng) for _ in range(10)]
    import time

    start = time.perf_counter()
    for i in range(300):  # a fixed stream; how long it takes depends on the machine's load
        widget.set_view(views[i % 10])
        qtbot.wait(1)
    elapsed_s = time.perf_counter() - start
    assert elapsed_s > 0.3
    assert 3 <= widget.rebuild_count <= elapsed_s * 20 + 3  # live, yet never more than max_fps


def test_our_working_quantity_is_drawn_at_its_price(ladder: DepthLadder) -> None:
    view = ladder.view
    assert view is not None
    rows = ladder.row_model()
    buy_row = rows.row_of(float(view.working_px[0]))
    sell_row = rows.row_of(float(view.working_px[3]))
    assert buy_row is not None and sell_row is not None
    assert rows.working_buy[buy_row] == pytest.approx(2.5)
    assert rows.texts[WORK_BUY][buy_row] == "2.500"
    assert rows.working_sell[sell_row] == pytest.approx(1.2)
    assert rows.texts[WORK_SELL][sell_row] == "1.200"
    assert rows.texts[WORK_SELL][buy_row] == ""
    # and on screen: the working cell is filled with the accent colour, its neighbour is not
    image = ladder.canvas.grab().toImage()
    x, w = ladder.canvas._cols[WORK_BUY]
    y = ladder.canvas.header_h + buy_row * ladder.canvas.row_h + ladder.canvas.row_h // 2
    assert QColor(image.pixel(x + 3, y)) == QColor(theme.ACCENT)
    empty_row = next(r for r in range(len(rows.price)) if rows.working_buy[r] == 0)
    y_empty = ladder.canvas.header_h + empty_row * ladder.canvas.row_h + ladder.canvas.row_h // 2
    assert QColor(image.pixel(x + 3, y_empty)) != QColor(theme.ACCENT)


def test_last_trade_and_flagged_level_are_marked(ladder: DepthLadder) -> None:
    view = ladder.view
    assert view is not None
    rows = ladder.row_model()
    last_row = rows.row_of(view.last_px)
    assert last_row is not None and rows.texts[LTQ][last_row] == "0.842"
    assert np.isnan(rows.last_qty).sum() == len(rows.price) - 1
    flag_row = rows.row_of(float(view.flag_px[0]))
    assert flag_row is not None and rows.flag_score[flag_row] == pytest.approx(0.87)
    tip = ladder.describe_row(flag_row)
    assert "spoofing" in tip and "0.87" in tip
    working_tip = ladder.describe_row(rows.row_of(float(view.working_px[0])))  # type: ignore[arg-type]
    assert "our buys: 2.500" in working_tip and "queue ahead" in working_tip


def test_recenter_by_key_and_button_after_scrolling_away(ladder: DepthLadder, qtbot) -> None:  # type: ignore[no-untyped-def]
    view = ladder.view
    assert view is not None
    ladder.scroll_rows(60)
    assert ladder.is_scrolled
    assert ladder.row_model().row_of(view.best_bid) is None
    # while scrolled, a new view does not yank the ladder back
    ladder.set_view(dataclasses.replace(view, bid_qty=view.bid_qty * 2))
    ladder.flush()
    assert ladder.row_model().row_of(view.best_bid) is None

    ladder.setFocus()
    qtbot.keyClick(ladder, Qt.Key.Key_C)
    rows = ladder.row_model()
    bid_row, ask_row = rows.row_of(view.best_bid), rows.row_of(view.best_ask)
    assert bid_row is not None and ask_row is not None
    assert abs((bid_row + ask_row) / 2 - len(rows.price) / 2) <= 1.5
    assert not ladder.is_scrolled

    ladder.scroll_rows(-60)
    qtbot.mouseClick(ladder.recenter_button, Qt.MouseButton.LeftButton)
    assert ladder.row_model().row_of(view.best_bid) is not None


def test_auto_recenter_when_the_inside_market_leaves_the_band(ladder: DepthLadder, rng) -> None:  # type: ignore[no-untyped-def]
    ladder.set_view(samples.ladder_view(rng, mid=65_150.0))
    ladder.flush()
    rows = ladder.row_model()
    assert rows.row_of(65_150.0) is not None
    # a small move inside the band does not recenter (rows stay put)
    top = rows.price[0]
    ladder.set_view(samples.ladder_view(rng, mid=65_150.3))
    ladder.flush()
    assert ladder.row_model().price[0] == top
    # with auto off, the ladder stays where it is
    ladder.auto_button.setChecked(False)
    ladder.set_view(samples.ladder_view(rng, mid=66_000.0))
    ladder.flush()
    assert ladder.row_model().row_of(66_000.0) is None


def test_auto_recenter_brings_back_our_working_order(ladder: DepthLadder, rng) -> None:  # type: ignore[no-untyped-def]
    view = samples.ladder_view(rng, mid=65_150.0)
    ladder.set_view(dataclasses.replace(view, working_px=view.working_px[:0], working_qty=view.working_qty[:0]))
    ladder.flush()
    rows = ladder.row_model()
    n = len(rows.price)
    # the inside moves up a third of the ladder (still on screen); our sell rests just above the top row
    step = view.tick_size
    shift = (n // 3) * step
    top = float(rows.price[0])
    ask = top + 2 * step
    moved = dataclasses.replace(view, bid_px=view.bid_px + shift, ask_px=view.ask_px + shift,
                                working_px=np.array([ask]), working_qty=np.array([-1.5]))
    assert rows.row_of(float(moved.ask_px[0])) is not None and rows.row_of(ask) is None
    ladder.set_view(moved)
    ladder.flush()
    assert ladder.row_model().row_of(ask) is not None  # recentered: our order is on screen
    # scrolled away by hand: the ladder stays where the trader put it
    ladder.scroll_rows(40)
    ladder.set_view(dataclasses.replace(moved, working_px=np.array([ask + 200 * step])))
    ladder.flush()
    assert ladder.row_model().row_of(ask + 200 * step) is None


def test_consolidated_view_and_price_grouping(qtbot) -> None:  # type: ignore[no-untyped-def]
    widget = DepthLadder()
    qtbot.addWidget(widget)
    widget.show()
    view = LadderView(
        venue="consolidated",
        symbol="BTC/USDT",
        tick_size=0.1,
        bid_px=np.array([65_000.0, 64_999.9, 64_999.8, 64_999.5]),
        bid_qty=np.array([1.0, 2.0, 3.0, 4.0]),
        ask_px=np.array([65_000.1, 65_000.2]),
        ask_qty=np.array([0.5, 0.25]),
    )
    widget.set_view(view)
    widget.flush()
    assert widget.title.text() == "consolidated · BTC/USDT"
    widget.set_ticks_per_row(5)  # 0.5 per row: bids sum down into their bucket, asks up
    rows = widget.row_model()
    r = rows.row_of(65_000.0)
    assert r is not None and rows.bid_qty[r] == pytest.approx(1.0)
    r = rows.row_of(64_999.5)
    assert r is not None and rows.bid_qty[r] == pytest.approx(2.0 + 3.0 + 4.0)
    r = rows.row_of(65_000.5)
    assert r is not None and rows.ask_qty[r] == pytest.approx(0.75)
    assert rows.texts[BID][rows.row_of(64_999.5)] == "9.000"  # type: ignore[index]


def test_empty_or_one_sided_books_do_not_break_the_ladder(qtbot) -> None:  # type: ignore[no-untyped-def]
    widget = DepthLadder()
    qtbot.addWidget(widget)
    widget.show()
    empty = np.empty(0)
    widget.set_view(LadderView("okx", "BTC/USDT", 0.1, empty, empty, empty, empty))
    widget.flush()
    widget.set_view(LadderView("okx", "BTC/USDT", 0.1, np.array([64_000.0]), np.array([1.0]), empty, empty))
    widget.flush()
    widget.repaint()
    assert widget.row_model().row_of(64_000.0) is not None


def test_number_formats() -> None:
    assert price_decimals(0.1) == 1 and price_decimals(0.25) == 2 and price_decimals(5.0) == 0
    assert format_qty(0.5, 3) == "0.500"
    assert format_qty(1234.5678, 3) == "1,234.6"
    assert format_qty(54_321.0, 3) == "54.3k"
