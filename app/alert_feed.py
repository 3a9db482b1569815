"""The terminal's alerts: every alert row the window shows, and what happens to it.

`add` numbers a row (A000001, …), hands it to the alerts panel at once (alerts are rare and
urgent, never coalesced) and logs warnings and worse. Critical rows are heard and, when the
terminal is not in front, seen (`AlertNotifier`). An acknowledgement is journaled with who
acknowledged which alert, through the OMS's record API (the same journal as the orders).
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtWidgets import QWidget

from app.session import Session
from core.clock import Clock
from core.events import Severity
from core.oms import OrderManager
from widgets.alerts import AlertNotifier, AlertsView
from widgets.viewmodels import AlertRow

log = logging.getLogger(__name__)


class AlertFeed:
    def __init__(self, panel: AlertsView, window: QWidget, oms: OrderManager, clock: Clock, session: Session) -> None:
        self.panel = panel
        self.oms = oms
        self.clock = clock
        self.session = session
        self._seq = 0
        # critical alerts are heard (sound) and, when the terminal is not in front, seen (notification)
        self.notifier = AlertNotifier(window)
        panel.alerts.critical_added.connect(self.notifier.on_critical)

    def add(self, severity: Severity, kind: str, source: str, detail: str, venue: str = "",
            parent_id: str = "", ts: float | None = None) -> AlertRow:
        """Show an alert now; `ts` epoch seconds (default: the desk's clock)."""
        self._seq += 1
        row = AlertRow(f"A{self._seq:06d}", self.clock.now() if ts is None else ts, severity, kind, source,
                       detail, venue, parent_id)
        self.panel.alerts.apply_rows([row])
        if severity >= Severity.WARNING:
            log.warning("%s %s: %s", kind, source, detail, extra={"parent_id": parent_id, "venue": venue})
        return row

    def on_acknowledged(self, alert_id: str) -> None:
        """Journal who acknowledged which alert."""
        row = self.panel.alerts.row_by_key(alert_id)
        payload: dict[str, Any] = {"alert_id": alert_id}
        if row is not None:
            payload.update(severity=row.severity.name.lower(), kind=row.kind, source=row.source, detail=row.detail,
                           venue=row.venue, parent_id=row.parent_id, alert_ts=row.ts)
        self.oms.record("alert.ack", payload, self.session.acting(), self.clock.now())
