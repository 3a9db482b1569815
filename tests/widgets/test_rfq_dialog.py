"""RFQ dialog: non-modal, countdown to expiry, A/R only while the dialog has focus."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QMainWindow

from widgets import samples
from widgets.rfq_dialog import RfqQuoteDialog, evaluation_text


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(samples.T0)


@pytest.fixture
def ticket(qtbot):  # type: ignore[no-untyped-def]
    """A main window whose line edit stands in for the order ticket the trader is typing in."""
    window = QMainWindow()
    edit = QLineEdit()
    window.setCentralWidget(edit)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window, edit


def _dialog(qtbot, clock: FakeClock, parent=None, **kw) -> RfqQuoteDialog:  # type: ignore[no-untyped-def]
    dialog = RfqQuoteDialog(samples.rfq_quote(samples.T0, ttl_s=15.0), now=clock, parent=parent, tick_ms=10, **kw)
    if parent is None:
        qtbot.addWidget(dialog)
    return dialog


def test_dialog_is_non_modal_on_top_and_shown_without_activation(qtbot, clock, ticket) -> None:  # type: ignore[no-untyped-def]
    window, _ = ticket
    dialog = _dialog(qtbot, clock, parent=window)
    dialog.show()  # returns at once: no nested event loop
    assert dialog.isVisible() and not dialog.isModal()
    assert dialog.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert dialog.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert not dialog.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert not dialog.accept_button.isDefault() and not dialog.accept_button.autoDefault()


def test_shows_the_quote_and_its_evaluation(qtbot, clock) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot, clock)
    assert dialog.desk_label.text() == "Wintermute OTC"
    assert "150.000 BTC" in dialog.size_label.text() and "$9,748,500" in dialog.size_label.text()
    assert dialog.price_label.text() == "64,990.00"
    assert dialog.evaluation_label.text() == "Better than exchange by 4.2 bps ($4,094)"
    assert dialog.recommendation_label.text() == "Recommendation: ACCEPT"
    assert "remaining" in dialog.reason_label.text()
    assert evaluation_text(-3.14, -2500.0) == "Worse than exchange by 3.1 bps ($2,500)"


def test_countdown_runs_to_expiry_and_disables_accept(qtbot, clock) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot, clock)
    dialog.show()
    assert dialog.countdown.value() == 1000
    clock.t = samples.T0 + 7.5
    qtbot.waitUntil(lambda: dialog.countdown.value() == 500, timeout=1000)
    assert dialog.countdown_label.text() == "7.5 s left"
    assert dialog.accept_button.isEnabled()
    with qtbot.waitSignal(dialog.expired, timeout=1000) as blocker:
        clock.t = samples.T0 + 15.0
    assert blocker.args == ["Q-7781"]
    assert not dialog.accept_button.isEnabled() and not dialog.reject_button.isEnabled()
    assert dialog.countdown.value() == 0
    assert dialog.countdown_label.text() == "Expired" and dialog.status_label.text() == "Expired"
    with qtbot.assertNotEmitted(dialog.accepted_quote):
        dialog.accept_quote()
        qtbot.keyClick(dialog, Qt.Key.Key_A)


def test_accept_after_expiry_is_refused_even_before_the_next_tick(qtbot, clock) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot, clock)
    dialog._timer.stop()  # the clock jumps past expiry between two ticks
    clock.t = samples.T0 + 20.0
    with qtbot.assertNotEmitted(dialog.accepted_quote):
        dialog.accept_button.click()
    assert dialog.is_expired and not dialog.accept_button.isEnabled()


def test_a_key_accepts_only_when_the_dialog_has_focus(qtbot, clock, ticket) -> None:  # type: ignore[no-untyped-def]
    window, edit = ticket
    dialog = _dialog(qtbot, clock, parent=window)
    dialog.show()
    # the trader keeps typing in the ticket: A and R go to the ticket, never to the quote
    window.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(lambda: edit.hasFocus(), timeout=1000)
    with qtbot.assertNotEmitted(dialog.accepted_quote), qtbot.assertNotEmitted(dialog.rejected_quote):
        qtbot.keyClick(edit, Qt.Key.Key_A)
        qtbot.keyClick(edit, Qt.Key.Key_R)
    assert edit.text() == "ar"
    assert dialog.accept_button.isEnabled()

    # focus the dialog: now A accepts the quote with its size
    dialog.activateWindow()
    dialog.accept_button.setFocus()
    qtbot.waitUntil(lambda: dialog.isActiveWindow(), timeout=1000)
    with qtbot.waitSignal(dialog.accepted_quote, timeout=1000) as blocker:
        qtbot.keyClick(dialog.accept_button, Qt.Key.Key_A)
    assert blocker.args == ["Q-7781", 150.0]
    assert not dialog.accept_button.isEnabled()
    assert "Accepted" in dialog.status_label.text()
    with qtbot.assertNotEmitted(dialog.rejected_quote):  # answered once, for good
        qtbot.keyClick(dialog, Qt.Key.Key_R)


def test_r_key_rejects_and_enter_or_escape_do_nothing(qtbot, clock) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot, clock)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: dialog.isActiveWindow(), timeout=1000)
    with qtbot.assertNotEmitted(dialog.accepted_quote), qtbot.assertNotEmitted(dialog.rejected_quote):
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible()
    with qtbot.waitSignal(dialog.rejected_quote, timeout=1000) as blocker:
        qtbot.keyClick(dialog, Qt.Key.Key_R)
    assert blocker.args == ["Q-7781"]
    assert dialog.status_label.text() == "Rejected"


def test_a_new_quote_from_the_desk_restarts_the_dialog(qtbot, clock) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot, clock)
    clock.t = samples.T0 + 16
    dialog.tick()
    assert not dialog.accept_button.isEnabled()
    dialog.set_quote(samples.rfq_quote(clock.t, ttl_s=10.0, better=False))
    assert dialog.accept_button.isEnabled()
    assert dialog.evaluation_label.text().startswith("Worse than exchange by 3.1 bps")
    assert dialog.recommendation_label.text() == "Recommendation: REJECT"
