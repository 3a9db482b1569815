"""Leaving the terminal while orders work: ask, then cancel and wait, or leave them working.

`confirm_exit` is the window's close guard. With no live parent and no open child order the
window closes at once. Otherwise the trader is asked (`prompt`, by default the non-modal
`ExitDialog`, opened with `open()`, never `exec()`): *cancel everything* (only someone logged in),
*leave them working*, or *don't exit*. The choice is journaled as `terminal.exit` with the parents
and children it concerned. Cancel-and-exit cancels every live parent and every open child, then
waits — at most `ack_wait_s` of wall time — for the venues to confirm the cancels before closing,
and journals `terminal.exit_cancels` (confirmed, unconfirmed, seconds waited); cancels still
unconfirmed stay pending-cancel in the journal for reconciliation on the next start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer

from app.alert_feed import AlertFeed
from app.desk import Desk
from app.main_window import MainWindow
from app.session import Session
from core.events import Severity
from core.orders import ChildOrder
from core.parent import ParentState
from widgets.exit_dialog import CANCEL, LEAVE, ExitDialog

log = logging.getLogger(__name__)

EXIT_ACK_WAIT_S = 5.0  # on exit with "cancel all": wait at most this long (wall) for the venues' cancel acks
EXIT_POLL_MS = 50
LIVE = (ParentState.RUNNING, ParentState.PAUSED, ParentState.COMPLETING)


class ExitFlow(QObject):
    def __init__(self, desk: Desk, window: MainWindow, session: Session, alerts: AlertFeed,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = desk.engine
        self.execution = desk.execution
        self.clock = desk.clock
        self.window = window
        self.session = session
        self.alerts = alerts
        # asks the trader: (summary of what works, may they cancel, answer(choice)); tests replace it
        self.prompt: Callable[[str, bool, Callable[[str], None]], None] = self._open_exit_dialog
        self.dialog: ExitDialog | None = None
        self.ack_wait_s = EXIT_ACK_WAIT_S
        self.pending = False  # asked, or canceling: the window stays until this resolves
        self._ready = False
        self._waiting: set[str] = set()
        self._started = 0.0
        self._timer: QTimer | None = None
        window.close_guard = self.confirm_exit

    def close(self) -> None:
        """Stop guarding the window (the terminal shuts down)."""
        if self.window.close_guard == self.confirm_exit:
            self.window.close_guard = None
        if self._timer is not None:
            self._timer.stop()

    def working_orders(self) -> tuple[list[str], list[ChildOrder]]:
        """Live parents (running, paused, completing) and every open child order."""
        oms = self.engine.oms
        return [pid for pid, p in oms.parents.items() if p.state in LIVE], oms.open_children()

    def confirm_exit(self) -> bool:
        """The window's close guard: True closes now; False keeps the window while the trader
        answers (or while canceled orders are being confirmed)."""
        if self._ready:
            return True
        if self.pending:
            return False
        parents, children = self.working_orders()
        if not parents and not children:
            return True
        self.pending = True
        self.prompt(self._working_summary(parents, children), self.session.actor is not None, self._on_exit_choice)
        return False

    # ---- helpers -----------------------------------------------------------------------------------

    def _working_summary(self, parents: list[str], children: list[ChildOrder]) -> str:
        oms = self.engine.oms
        lines = []
        for pid in parents:
            p = oms.parents[pid]
            done = float(oms.done_qty(pid))
            qty = float(p.quantity)
            lines.append(f"{pid}: {p.side.name.lower()} {qty:,.4g} {p.instrument.base}, {p.algo}, "
                         f"{p.state.value.replace('_', ' ')}, {100 * done / qty if qty else 0:.1f}% done")
        per_venue: dict[str, int] = {}
        for child in children:
            per_venue[child.venue] = per_venue.get(child.venue, 0) + 1
        leaves = sum(float(c.leaves) for c in children)
        if children:
            venues = ", ".join(f"{v} {n}" for v, n in sorted(per_venue.items()))
            lines.append(f"{len(children)} child orders working ({venues}), {leaves:,.4g} left to fill")
        else:
            lines.append("No child order is resting right now, but the running parents will send more.")
        return "\n".join(lines)

    def _open_exit_dialog(self, summary: str, can_cancel: bool, answer: Callable[[str], None]) -> None:
        dialog = ExitDialog(summary, can_cancel, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.choice.connect(answer)
        dialog.destroyed.connect(lambda *_: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()  # never exec(): a nested loop under qasync

    def _on_exit_choice(self, choice: str) -> None:
        if choice not in (CANCEL, LEAVE) or (choice == CANCEL and self.session.actor is None):
            self.pending = False  # "Don't exit" (or a cancel nobody may do): the terminal stays
            return
        actor = self.session.acting()
        parents, children = self.working_orders()
        self.engine.oms.record("terminal.exit", {
            "choice": choice, "parents": parents, "children": [c.client_id for c in children],
            "working_qty": sum(float(c.leaves) for c in children),
        }, actor, self.clock.now())
        if choice == LEAVE:
            log.info("exit: leaving %d parents and %d child orders working", len(parents), len(children))
            self._exit_now()
            return
        for pid in parents:
            try:
                self.execution.cancel(pid, actor, "canceled on exit")
            except (ValueError, KeyError, PermissionError) as exc:
                log.warning("exit: could not cancel parent %s: %s", pid, exc)
        leftovers = self.engine.oms.open_children()  # children of no live parent (e.g. after a stop)
        self.engine.cancel_children(leftovers, actor, "canceled on exit")
        self._waiting = {c.client_id for c in (*children, *leftovers)}
        self._started = time.monotonic()
        self.alerts.add(Severity.WARNING, "exit", str(actor), f"Canceling {len(parents)} parents and "
                        f"{len(self._waiting)} child orders before exit")
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.setInterval(EXIT_POLL_MS)
            self._timer.timeout.connect(self._poll_exit_cancels)
        self._timer.start()
        self._poll_exit_cancels()

    def _poll_exit_cancels(self) -> None:
        """Close once every canceled child is confirmed closed, or after `ack_wait_s`."""
        children = self.engine.oms.children
        pending = sorted(cid for cid in self._waiting if cid in children and children[cid].status.is_open)
        waited = time.monotonic() - self._started
        if pending and waited < self.ack_wait_s:
            self.window.statusBar().showMessage(
                f"Exit: waiting for {len(pending)} cancel confirmations ({self.ack_wait_s - waited:.0f} s left)…")
            return
        if self._timer is not None:
            self._timer.stop()
        self.engine.oms.record("terminal.exit_cancels", {
            "confirmed": len(self._waiting) - len(pending), "unconfirmed": pending, "waited_s": round(waited, 3),
        }, self.session.acting(), self.clock.now())
        if pending:  # left pending-cancel in the journal: reconciliation resolves them on the next start
            log.warning("exit: %d cancels unconfirmed after %.1f s: %s", len(pending), waited, ", ".join(pending))
        self._exit_now()

    def _exit_now(self) -> None:
        self._ready = True
        self.pending = False
        # next turn of the loop: an answer given inside closeEvent would hit Qt's guard against a nested close
        QTimer.singleShot(0, self.window, self.window.close)
