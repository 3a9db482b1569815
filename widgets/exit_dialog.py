"""The question on exit while orders are working: cancel them, leave them working, or stay.

Opened with `open()` (never `exec()`: a nested loop under qasync); the answer comes back as
`choice(str)` — one of `CANCEL`, `LEAVE`, `STAY`. Escape and closing the box mean `STAY`, and
`STAY` is the default button: a stray Enter never cancels or abandons a block.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

CANCEL, LEAVE, STAY = "cancel", "leave", "stay"
CANCEL_TEXT = "Cancel all working orders"
LEAVE_TEXT = "Leave them working"
STAY_TEXT = "Don't exit"


class ExitDialog(QMessageBox):
    """`summary`: what is working (parents, child orders, quantity) in the trader's words.
    `can_cancel` False (nobody logged in) disables the cancel button and says why."""

    choice = Signal(str)

    def __init__(self, summary: str, can_cancel: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exitDialog")
        self.setWindowTitle("Blockhouse — orders still working")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setText("<b>Orders are still working.</b> What should happen to them when the terminal closes?")
        detail = summary
        if not can_cancel:
            detail += "\n\nLog in to cancel them from here."
        else:
            detail += ("\n\nCancel: every running parent is canceled and every working child order is canceled "
                       "at its venue; the terminal waits a few seconds for the venues to confirm.\n"
                       "Leave: the orders stay at the venues and the parents resume from the journal on the next "
                       "start.")
        self.setInformativeText(detail)
        self.cancel_button = self.addButton(CANCEL_TEXT, QMessageBox.ButtonRole.DestructiveRole)
        self.leave_button = self.addButton(LEAVE_TEXT, QMessageBox.ButtonRole.AcceptRole)
        self.stay_button = self.addButton(STAY_TEXT, QMessageBox.ButtonRole.RejectRole)
        self.cancel_button.setEnabled(can_cancel)
        self.setDefaultButton(self.stay_button)
        self.setEscapeButton(self.stay_button)
        self._answers = {self.cancel_button: CANCEL, self.leave_button: LEAVE, self.stay_button: STAY}
        self.answered = ""
        self.buttonClicked.connect(self._on_clicked)
        self.rejected.connect(lambda: self._answer(STAY))  # closed from the title bar

    def _on_clicked(self, button: QAbstractButton) -> None:
        self._answer(self._answers.get(button, STAY))

    def _answer(self, what: str) -> None:
        if self.answered:  # buttonClicked and finished both fire for one click
            return
        self.answered = what
        self.choice.emit(what)
