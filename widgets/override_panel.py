"""Override panel: steer the selected running parent without stopping it.

Fed with plain values: `set_parent(dict)` (keys in `PARENT_KEYS`), `set_policy_decisions(dicts)`
(the adaptive policy's latest decisions, each with its one-line reason, newest first) and
`set_decisions(lines)` (schedule status, overrides, RFQ outcomes, newest first). Every action is a signal the app turns
into an ExecutionService call with the session's actor; `set_result(text, ok)` shows the outcome.
Aggressive actions — finish now, cancel the parent, raising urgency to high — ask first in a
non-modal box (`open()`, never `exec()`) whose default button is the harmless one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from widgets import theme
from widgets.ticket import parse_horizon, parse_number

PARENT_KEYS = (
    "parent_id", "state", "side", "symbol", "quantity", "filled", "urgency", "limit_price", "max_participation",
    "end_ts", "venues", "venue_enabled", "algo", "rfq_mode",
)
_LIVE_STATES = ("running", "paused", "completing")
POLICY_DECISIONS_SHOWN = 12  # the adaptive policy's latest decisions listed for the selected parent
_POLICY_SKIP = ("ts", "reason", "parent_id")


def format_policy_decision(decision: Mapping[str, Any]) -> str:
    """'12:00:05  buy participation ×2.1 on venue B: transient dip p=0.83  ·  venue=beta, mult=2.1'.

    `ts` (UTC epoch s) and `reason` first; any other field as key=value after them."""
    ts = decision.get("ts")
    try:
        stamp = time.strftime("%H:%M:%S", time.gmtime(float(ts)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        stamp = "--:--:--"
    reason = str(decision.get("reason") or "(no reason given)")
    extras = [f"{k}={_short(v)}" for k, v in decision.items() if k not in _POLICY_SKIP]
    return f"{stamp}  {reason}" + (f"  ·  {', '.join(extras)}" if extras else "")


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return "/".join(f"{k} {_short(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "/".join(_short(v) for v in value)
    return str(value)


class OverridePanel(QWidget):
    """Signals carry the parent id first; `override_requested(parent_id, field, value)` uses the
    ExecutionService field names (urgency, limit_price, max_participation, quantity, end_ts)."""

    pause_requested = Signal(str)
    resume_requested = Signal(str)
    override_requested = Signal(str, str, object)
    venue_toggled = Signal(str, bool)
    finish_now_requested = Signal(str)
    cancel_requested = Signal(str)
    rfq_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("overridePanel")
        self.parent_id = ""
        self.state = ""
        self._now = time.time
        self._values: dict[str, Any] = {}
        self.confirm_box: QMessageBox | None = None
        self._confirm_button: QAbstractButton | None = None

        self.headline = QLabel("Select a running parent order (Parent orders blotter) to steer it here.")
        self.headline.setObjectName("overrideHeadline")
        self.headline.setWordWrap(True)
        self.headline.setStyleSheet(f"color: {theme.MUTED}; font-size: 11pt;")

        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("overridePause")
        self.rfq_button = QPushButton("Request quotes")
        self.rfq_button.setToolTip("Ask the allowed OTC desks for a quote on part of what is left")
        self.finish_button = QPushButton("Finish now…")
        self.finish_button.setObjectName("overrideFinish")
        self.finish_button.setToolTip("Complete the rest aggressively within the price cap (asks first)")
        self.cancel_button = QPushButton("Cancel parent…")
        self.cancel_button.setObjectName("overrideCancel")
        self.cancel_button.setStyleSheet(f"QPushButton:enabled {{ border: 1px solid {theme.ASK}; }}")
        for b in (self.pause_button, self.rfq_button, self.finish_button, self.cancel_button):
            b.setAutoDefault(False)
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.rfq_button.clicked.connect(lambda: self._emit(self.rfq_requested))
        self.finish_button.clicked.connect(self._ask_finish)
        self.cancel_button.clicked.connect(self._ask_cancel)
        actions = QGridLayout()
        for i, b in enumerate((self.pause_button, self.rfq_button, self.finish_button, self.cancel_button)):
            actions.addWidget(b, i // 2, i % 2)

        self.urgency = QComboBox()
        self.urgency.addItems(["low", "medium", "high"])
        self.limit = QLineEdit()
        self.limit.setPlaceholderText("empty = no limit")
        self.max_participation = QLineEdit()
        self.max_participation.setPlaceholderText("% of volume")
        self.quantity = QLineEdit()
        self.end_time = QLineEdit()
        self.end_time.setPlaceholderText("14:30 or +30m")
        self.end_time.setToolTip("New end time in UTC (HH:MM) or from now (+30m, +1h)")
        self.apply_buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        self.current: dict[str, QLabel] = {}
        for row, (field, label, editor) in enumerate((
            ("urgency", "Urgency", self.urgency),
            ("limit_price", "Limit price", self.limit),
            ("max_participation", "Max part. %", self.max_participation),
            ("quantity", "Quantity", self.quantity),
            ("end_ts", "End time", self.end_time),
        )):
            caption = QLabel(label)
            caption.setStyleSheet(f"color: {theme.MUTED};")
            now = QLabel("–")
            now.setObjectName(f"overrideCurrent_{field}")
            now.setMinimumWidth(now.fontMetrics().horizontalAdvance("00:00:00 UTC") + 4)
            apply = QPushButton("Apply")
            apply.setObjectName(f"overrideApply_{field}")
            apply.setAutoDefault(False)
            apply.clicked.connect(lambda _c=False, f=field: self.apply(f))
            self.apply_buttons[field] = apply
            self.current[field] = now
            grid.addWidget(caption, row, 0)
            grid.addWidget(now, row, 1)
            grid.addWidget(editor, row, 2)
            grid.addWidget(apply, row, 3)
        grid.setColumnStretch(2, 1)

        self.venue_box = QHBoxLayout()
        self.venue_checks: dict[str, QCheckBox] = {}
        venues_row = QHBoxLayout()
        venues_caption = QLabel("Venues")
        venues_caption.setStyleSheet(f"color: {theme.MUTED};")
        venues_row.addWidget(venues_caption)
        venues_row.addLayout(self.venue_box)
        venues_row.addStretch(1)

        self.result = QLabel("")
        self.result.setObjectName("overrideResult")
        self.result.setWordWrap(True)
        self.decisions_model = QStringListModel()
        self.decisions = QListView()
        self.decisions.setObjectName("overrideDecisions")
        self.decisions.setModel(self.decisions_model)
        self.decisions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.decisions.setWordWrap(True)
        self.decisions.setMinimumHeight(80)
        decisions_caption = QLabel("Algo decisions and overrides (newest first)")
        decisions_caption.setStyleSheet(f"color: {theme.MUTED}; font-weight: 600;")
        self.policy_caption = QLabel()
        self.policy_caption.setObjectName("policyCaption")
        self.policy_caption.setStyleSheet(f"color: {theme.MUTED}; font-weight: 600;")
        self.policy_caption.setWordWrap(True)
        self.policy_model = QStringListModel()
        self.policy_decisions = QListView()
        self.policy_decisions.setObjectName("policyDecisions")
        self.policy_decisions.setModel(self.policy_model)
        self.policy_decisions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.policy_decisions.setWordWrap(True)
        self.policy_decisions.setMinimumHeight(60)
        self.policy_decisions.setToolTip("The adaptive policy's latest decisions, each with its reason (newest first)")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)
        layout.addWidget(self.headline)
        layout.addLayout(actions)
        layout.addLayout(grid)
        layout.addLayout(venues_row)
        layout.addWidget(self.result)
        layout.addWidget(self.policy_caption)
        layout.addWidget(self.policy_decisions, 1)
        layout.addWidget(decisions_caption)
        layout.addWidget(self.decisions, 2)
        self._set_live(False)
        self.set_policy_decisions([])

    # ---- feeding ----------------------------------------------------------------------------------

    def set_clock(self, now: Any) -> None:
        self._now = now

    def set_parent(self, values: Mapping[str, Any] | None) -> None:
        """Show a parent (None: nothing selected). Editors are refilled only for a new parent."""
        if not values:
            self.parent_id, self.state, self._values = "", "", {}
            self.headline.setText("Select a running parent order (Parent orders blotter) to steer it here.")
            self._set_live(False)
            return
        new = values.get("parent_id") != self.parent_id
        self._values = dict(values)
        self.parent_id = str(values.get("parent_id", ""))
        self.state = str(values.get("state", ""))
        qty, filled = float(values.get("quantity", math.nan)), float(values.get("filled", 0.0))
        pct = 100.0 * filled / qty if qty else 0.0
        side = str(values.get("side", "")).upper()
        color = theme.GREEN if self.state == "running" else theme.AMBER if self.state in _LIVE_STATES else theme.DIM
        base = str(values.get("symbol", "")).split("/")[0]
        self.headline.setText(
            f"<b>{self.parent_id}</b>  {side} {qty:,.4g} {base} · {values.get('algo', '')} · "
            f"<span style='color:{color}; font-weight:800'>{self.state.replace('_', ' ').upper()}</span>"
            f" · {pct:.1f}% done ({filled:,.4g})"
        )
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setStyleSheet(f"color: {theme.TEXT}; font-size: 11pt;")
        limit = values.get("limit_price")
        end_ts = values.get("end_ts")
        self.current["urgency"].setText(str(values.get("urgency", "")))
        self.current["limit_price"].setText("none" if limit is None else f"{float(limit):,.2f}")
        self.current["max_participation"].setText(f"{100 * float(values.get('max_participation', math.nan)):.0f}%")
        self.current["quantity"].setText(f"{qty:,.4f}")
        self.current["end_ts"].setText(
            time.strftime("%H:%M:%S UTC", time.gmtime(float(end_ts))) if end_ts is not None else "–")
        if new:
            self.urgency.setCurrentText(str(values.get("urgency", "medium")))
            self.limit.setText("" if limit is None else f"{float(limit):.2f}")
            self.max_participation.setText(f"{100 * float(values.get('max_participation', 0.25)):g}")
            self.quantity.setText(f"{qty:g}")
            self.end_time.setText("")
            self.result.setText("")
            self.decisions_model.setStringList([])
            self.policy_model.setStringList([])
        self._set_venues(values.get("venues", ()), values.get("venue_enabled", {}))
        self._set_live(self.state in _LIVE_STATES)
        self.pause_button.setText("Resume" if self.state == "paused" else "Pause")

    def set_policy_decisions(self, decisions: Sequence[Mapping[str, Any]], algo: str = "", policy: str = "") -> None:
        """The adaptive policy's decisions, newest first (the first `POLICY_DECISIONS_SHOWN` are listed);
        `policy` is where its parameters came from (`policy: fitted …` or `policy: defaults`)."""
        lines = [format_policy_decision(d) for d in decisions[:POLICY_DECISIONS_SHOWN]]
        if lines:
            caption = f"Adaptive policy: latest {len(lines)} decisions and reasons (newest first)"
        elif algo and algo != "adaptive":
            caption = f"Adaptive policy: not used by this parent (algo {algo})"
        else:
            caption = "Adaptive policy: no decisions yet"
        if policy and algo == "adaptive":
            caption += f" ({policy})"
        self.policy_caption.setText(caption)
        self.policy_decisions.setVisible(bool(lines))
        if lines != self.policy_model.stringList():
            self.policy_model.setStringList(lines)

    def set_decisions(self, lines: Iterable[str]) -> None:
        lines = list(lines)
        if lines != self.decisions_model.stringList():
            self.decisions_model.setStringList(lines)

    def set_result(self, text: str, ok: bool = True) -> None:
        self.result.setText(text)
        self.result.setStyleSheet(f"color: {theme.GREEN if ok else theme.ASK};")

    # ---- actions ----------------------------------------------------------------------------------

    def apply(self, field: str) -> None:
        """Validate the editor of `field` and emit the override (asks first for urgency → high)."""
        if not self.parent_id:
            return
        value: Any
        if field == "urgency":
            value = self.urgency.currentText()
            if value == "high" and self._values.get("urgency") != "high":
                self._confirm(
                    f"Raise {self.parent_id}'s urgency to HIGH?\n\nThe schedule front-loads what is left: faster, "
                    "and more market impact.", "Raise to high", lambda: self._emit_override(field, value))
                return
        elif field == "limit_price":
            text = self.limit.text().strip()
            value = None if not text else parse_number(text)
            if text and (value is None or value <= 0):
                self.set_result(f"Limit must be a positive price or empty, not {text!r}.", ok=False)
                return
        elif field == "max_participation":
            pct = parse_number(self.max_participation.text())
            if pct is None or not 0 < pct <= 100:
                self.set_result("Max participation must be a percentage in (0, 100].", ok=False)
                return
            value = pct / 100.0
        elif field == "quantity":
            value = parse_number(self.quantity.text())
            if value is None or value <= 0:
                self.set_result("Quantity must be a positive number.", ok=False)
                return
        elif field == "end_ts":
            text = self.end_time.text().strip()
            now = float(self._now())
            if text.startswith("+"):
                parsed = parse_horizon(text[1:], now)
            else:
                parsed = parse_horizon(text if ":" in text else f"@{text}", now) if text else "Enter an end time."
            if isinstance(parsed, str):
                self.set_result(parsed, ok=False)
                return
            value = now + parsed
        else:
            raise ValueError(f"unknown override field {field!r}")
        self._emit_override(field, value)

    def _emit_override(self, field: str, value: Any) -> None:
        self.override_requested.emit(self.parent_id, field, value)

    def _pause_or_resume(self) -> None:
        self._emit(self.resume_requested if self.state == "paused" else self.pause_requested)

    def _ask_finish(self) -> None:
        self._confirm(f"Finish {self.parent_id} now?\n\nWhat is left is taken aggressively, within the price cap.",
                      "Finish now", lambda: self._emit(self.finish_now_requested))

    def _ask_cancel(self) -> None:
        self._confirm(f"Cancel {self.parent_id}?\n\nIts working orders are canceled and the algo stops; "
                      "what is filled stays filled.", "Cancel parent", lambda: self._emit(self.cancel_requested))

    def _confirm(self, text: str, action: str, on_yes: Any) -> None:
        if self.confirm_box is not None and self.confirm_box.isVisible():
            self.confirm_box.close()
        box = QMessageBox(self)
        box.setObjectName("overrideConfirm")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Confirm override")
        box.setText(text)
        yes = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
        no = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(no)
        box.setEscapeButton(no)
        box.buttonClicked.connect(lambda b: on_yes() if b is yes else None)
        self.confirm_box, self._confirm_button = box, yes
        box.open()

    @property
    def confirm_button(self) -> QAbstractButton | None:
        """The "yes" button of the open confirmation (tests, keyboard users)."""
        return self._confirm_button

    def _emit(self, signal: Any) -> None:
        if self.parent_id:
            signal.emit(self.parent_id)

    # ---- internals --------------------------------------------------------------------------------

    def _set_venues(self, venues: Sequence[str], enabled: Mapping[str, bool]) -> None:
        if tuple(self.venue_checks) != tuple(venues):
            for check in self.venue_checks.values():
                self.venue_box.removeWidget(check)
                check.deleteLater()
            self.venue_checks = {}
            for name in venues:
                check = QCheckBox(name)
                check.setObjectName(f"overrideVenue_{name}")
                check.toggled.connect(lambda on, n=name: self.venue_toggled.emit(n, on))
                self.venue_box.addWidget(check)
                self.venue_checks[name] = check
        for name, check in self.venue_checks.items():
            on = bool(enabled.get(name, True))
            if check.isChecked() != on:
                check.blockSignals(True)
                check.setChecked(on)
                check.blockSignals(False)

    def _set_live(self, live: bool) -> None:
        for w in (self.pause_button, self.finish_button, self.cancel_button, self.rfq_button,
                  *self.apply_buttons.values(), *self.venue_checks.values()):
            w.setEnabled(live)
