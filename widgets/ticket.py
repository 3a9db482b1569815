"""Order ticket: the trader describes the block, sees what is wrong inline, stages, then starts.

Plain values in, plain values out: `set_market` gives the instrument, venues and desks;
`set_reference_price` the consolidated mid (notional conversion, limit sanity); `set_clock` the
app's clock (simulated or live) for end times. "Stage" emits `stage_requested(StageRequest)`, the
validated ticket as core's typed request (core/stage_request.py, quantities in base units); the
app snaps its prices to the instrument's tick, stages the parent, shows the staged prices back
(`show_staged_prices`), computes the pre-trade report and calls `set_staged`; "Start" then emits
`start_requested(id)`.

Inline validation: each field shows its own message under it as soon as it has been edited (or
after a Stage attempt); errors (red) block staging, warnings (amber) do not.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core.durations import parse_duration
from core.parent import EndAction, Urgency
from core.stage_request import StageRequest
from core.types import Instrument, Side
from widgets import theme

ALGOS: tuple[tuple[str, str], ...] = (
    ("ac", "Almgren-Chriss (IS)"),
    ("adaptive", "Adaptive (AC band)"),
    ("twap", "TWAP"),
    ("vwap", "VWAP"),
    ("pov", "POV (% of volume)"),
    ("iceberg", "Iceberg"),
)
RFQ_MODES: tuple[tuple[str, str], ...] = (
    ("manual", "Manual (I answer each quote)"),
    ("auto", "Auto (accept if better)"),
    ("off", "Off"),
)
END_ACTIONS: tuple[tuple[str, str], ...] = (
    ("complete", "Complete within the cap"),
    ("stop", "Stop, leave the residual"),
)
URGENCIES = ("low", "medium", "high")
MAX_HORIZON_S = 7 * 86_400.0
_LIMIT_WARN_PCT = 2.0  # a limit this far on the wrong side of the market probably will not trade


class OrderTicket(QWidget):
    """Signals: stage_requested(StageRequest), start_requested(parent_id)."""

    stage_requested = Signal(object)
    start_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("orderTicket")
        self._now: Callable[[], float] = time.time
        self._mid = math.nan
        self._touched: set[str] = set()
        self._show_all = False
        self.staged_id = ""
        self.messages: dict[str, tuple[str, str]] = {}  # field -> (level, text), level "error"/"warning"

        self.symbol = QComboBox()
        self.symbol.setEditable(True)
        self.symbol.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.symbol.setToolTip("Instrument (type to search the venues' markets)")

        self.buy_button = QPushButton("Buy")
        self.sell_button = QPushButton("Sell")
        self.side_group = QButtonGroup(self)
        for button, name, color in ((self.buy_button, "buySide", theme.BID), (self.sell_button, "sellSide", theme.ASK)):
            button.setObjectName(name)
            button.setCheckable(True)
            button.setAutoDefault(False)
            button.setStyleSheet(
                f"QPushButton:checked {{ background: {color}; color: {theme.BG}; font-weight: 800; "
                f"border-color: {color}; }}"
            )
            self.side_group.addButton(button)
        self.sell_button.setChecked(True)

        self.quantity = QLineEdit()
        self.quantity.setObjectName("ticketQuantity")
        self.quantity.setPlaceholderText("e.g. 1000 or 1,000")
        self.unit = QComboBox()
        self.unit.addItems(["base", "USD notional"])
        self.unit.setToolTip("Quantity in base units or as a USD notional (converted at the consolidated mid)")
        self.quantity_hint = _hint()

        self.horizon = QLineEdit("4h")
        self.horizon.setObjectName("ticketHorizon")
        self.horizon.setPlaceholderText("4h, 90m, 1h30m or end time 14:30 UTC")
        self.horizon.setToolTip("A duration (4h, 90m, 1h30m; a bare number is minutes) or an end time in UTC (14:30)")
        self.horizon_hint = _hint()
        self.end_action = _combo(END_ACTIONS)

        self.limit = QLineEdit()
        self.limit.setObjectName("ticketLimit")
        self.limit.setPlaceholderText("none")
        self.limit.setToolTip("No child order ever trades beyond this price; empty = no limit. Snapped to the "
                              "tick when staged: a sell limit rounds up, a buy limit down (never looser)")
        self.i_would = QLineEdit()
        self.i_would.setObjectName("ticketIWould")
        self.i_would.setPlaceholderText("none")
        self.i_would.setToolTip("At or better than this price the algo speeds up to its max participation; "
                                "empty = none. Snapped to the tick like the limit")
        self.urgency = QComboBox()
        self.urgency.addItems(list(URGENCIES))
        self.urgency.setCurrentText("medium")
        self.urgency.setToolTip("How front-loaded the schedule is: high trades faster and pays more impact")

        self.algo = _combo(ALGOS)
        self.pov_rate = QLineEdit("10")
        self.pov_rate.setToolTip("Target share of market volume, percent")
        self.display_qty = QLineEdit()
        self.display_qty.setPlaceholderText("1% of qty")
        self.max_participation = QLineEdit("25")
        self.max_participation.setToolTip("Never more than this share of the market's volume, percent")
        # the parent's own risk limits (a breaker pauses the parent beyond them); empty = none
        self.max_slippage = QLineEdit()
        self.max_slippage.setObjectName("ticketMaxSlippage")
        self.max_slippage.setPlaceholderText("none")
        self.max_slippage.setToolTip("Pause the parent when its fills average more than this many bps worse than "
                                     "the arrival mid; empty = no limit (a supervisor's cap may still apply)")
        self.max_deviation = QLineEdit()
        self.max_deviation.setObjectName("ticketMaxDeviation")
        self.max_deviation.setPlaceholderText("none")
        self.max_deviation.setToolTip("Pause the parent when it is more than this percent of its quantity ahead of "
                                      "or behind its schedule; empty = no limit (a supervisor's cap may still apply)")

        self.venue_box = QWidget()
        self.venue_layout = QHBoxLayout(self.venue_box)
        self.venue_layout.setContentsMargins(0, 0, 0, 0)
        self.venue_checks: dict[str, QCheckBox] = {}
        self.desk_box = QWidget()
        self.desk_layout = QGridLayout(self.desk_box)
        self.desk_layout.setContentsMargins(0, 0, 0, 0)
        self.desk_checks: dict[str, QCheckBox] = {}
        self.rfq_mode = _combo(RFQ_MODES)

        self.status = QLabel("")
        self.status.setObjectName("ticketStatus")
        self.status.setWordWrap(True)
        self.stage_button = QPushButton("Stage  (Ctrl+Enter)")
        self.stage_button.setObjectName("ticketStage")
        self.stage_button.setAutoDefault(False)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("ticketStart")
        self.start_button.setAutoDefault(False)
        self.start_button.setEnabled(False)
        self.start_button.setToolTip("Start the staged parent order")
        self.start_button.setStyleSheet(
            f"QPushButton:enabled {{ background: #1d4a35; border: 1px solid {theme.GREEN}; font-weight: 800; }}"
        )

        # one message label per validated field, shown under it
        self._msg_labels: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(4)
        side_row = QHBoxLayout()
        side_row.addWidget(self.buy_button)
        side_row.addWidget(self.sell_button)
        qty_row = QHBoxLayout()
        qty_row.addWidget(self.quantity, 1)
        qty_row.addWidget(self.unit)
        algo_params = QHBoxLayout()
        self.pov_label = QLabel("rate %")
        self.display_label = QLabel("display")
        for w in (self.pov_label, self.pov_rate, self.display_label, self.display_qty):
            algo_params.addWidget(w)
        algo_params.addWidget(QLabel("max part. %"))
        algo_params.addWidget(self.max_participation)
        self.pov_rate.setMaximumWidth(60)
        self.max_participation.setMaximumWidth(60)

        self._row(form, "Instrument", self.symbol, "symbol")
        self._row(form, "Side", side_row, "side")
        self._row(form, "Quantity", qty_row, "quantity", hint=self.quantity_hint)
        self._row(form, "Horizon / end", self.horizon, "horizon", hint=self.horizon_hint)
        self._row(form, "At the end", self.end_action, "end_action")
        limit_row = QHBoxLayout()
        limit_row.addWidget(self.limit, 1)
        limit_row.addWidget(QLabel("I would"))
        limit_row.addWidget(self.i_would, 1)
        self._row(form, "Limit price", limit_row, "limit")
        self._row(form, "Urgency", self.urgency, "urgency")
        self._row(form, "Algo", self.algo, "algo")
        self._row(form, "Parameters", algo_params, "params")
        own_limits = QHBoxLayout()
        own_limits.addWidget(QLabel("max slippage bps"))
        own_limits.addWidget(self.max_slippage)
        own_limits.addWidget(QLabel("max off schedule %"))
        own_limits.addWidget(self.max_deviation)
        self.max_slippage.setMaximumWidth(60)
        self.max_deviation.setMaximumWidth(60)
        self._row(form, "Pause if", own_limits, "own_limits")
        self._row(form, "Venues", self.venue_box, "venues")
        self._row(form, "OTC desks", self.desk_box, "desks")
        self._row(form, "RFQ mode", self.rfq_mode, "rfq_mode")

        buttons = QHBoxLayout()
        buttons.addWidget(self.stage_button, 1)
        buttons.addWidget(self.start_button, 1)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(8, 6, 8, 6)
        column.addLayout(form)
        column.addWidget(self.status)
        column.addLayout(buttons)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        for edit, name in ((self.quantity, "quantity"), (self.horizon, "horizon"), (self.limit, "limit"),
                           (self.i_would, "limit"),
                           (self.pov_rate, "params"), (self.display_qty, "params"),
                           (self.max_participation, "params"), (self.max_slippage, "own_limits"),
                           (self.max_deviation, "own_limits")):
            edit.textEdited.connect(lambda _t, n=name: self._touch(n))
        for combo in (self.unit, self.algo, self.urgency, self.end_action, self.rfq_mode):
            combo.currentIndexChanged.connect(lambda _i: self._changed())
        self.side_group.buttonClicked.connect(lambda _b: self._changed())
        self.algo.currentIndexChanged.connect(self._update_param_fields)
        self.stage_button.clicked.connect(self.stage)
        self.start_button.clicked.connect(self._start)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.stage)
        self._update_param_fields()
        self._changed()

    # ---- feeding ----------------------------------------------------------------------------------

    def set_market(self, symbols: Sequence[str], venues: Sequence[str], desks: Sequence[str]) -> None:
        self.symbol.clear()
        self.symbol.addItems(list(symbols))
        for check in [*self.venue_checks.values(), *self.desk_checks.values()]:
            check.deleteLater()
        self.venue_checks, self.desk_checks = {}, {}
        for name in venues:
            check = QCheckBox(name)
            check.setChecked(True)
            check.toggled.connect(lambda _on: self._touch("venues"))
            self.venue_layout.addWidget(check)
            self.venue_checks[name] = check
        self.venue_layout.addStretch(1)
        for i, name in enumerate(desks):
            check = QCheckBox(name)
            check.setChecked(True)
            self.desk_layout.addWidget(check, i // 3, i % 3)
            self.desk_checks[name] = check
        self._changed()

    def set_reference_price(self, mid: float) -> None:
        """The consolidated mid: converts a notional and sanity-checks the limit."""
        if mid != self._mid and not (math.isnan(mid) and math.isnan(self._mid)):
            self._mid = mid
            self._refresh_hints()

    def set_clock(self, now: Callable[[], float]) -> None:
        self._now = now
        self._refresh_hints()

    def fill(self, **values: Any) -> None:
        """Set fields programmatically (presets, tests, the demo): side, quantity, unit, horizon,
        end_action, limit, i_would, urgency, algo, rfq_mode, max_participation_pct, max_slippage_bps,
        max_schedule_deviation_pct, venues, desks."""
        if "side" in values:
            (self.buy_button if str(values["side"]).lower() == "buy" else self.sell_button).setChecked(True)
        for key, edit in (("quantity", self.quantity), ("horizon", self.horizon), ("limit", self.limit),
                          ("i_would", self.i_would),
                          ("max_participation_pct", self.max_participation), ("pov_rate_pct", self.pov_rate),
                          ("max_slippage_bps", self.max_slippage),
                          ("max_schedule_deviation_pct", self.max_deviation)):
            if key in values:
                edit.setText(str(values[key]))
                own = key.startswith("max_s")
                name = "limit" if key == "i_would" else key
                self._touched.add("own_limits" if own else "params" if key.endswith("_pct") else name)
        if "unit" in values:
            self.unit.setCurrentIndex(0 if values["unit"] == "base" else 1)
        for key, combo in (("end_action", self.end_action), ("algo", self.algo), ("rfq_mode", self.rfq_mode)):
            if key in values:
                combo.setCurrentIndex(max(0, combo.findData(values[key])))
        if "urgency" in values:
            self.urgency.setCurrentText(str(values["urgency"]))
        for key, checks in (("venues", self.venue_checks), ("desks", self.desk_checks)):
            if key in values:
                for name, check in checks.items():
                    check.setChecked(name in values[key])
        self._changed()

    # ---- staging ----------------------------------------------------------------------------------

    def stage(self) -> None:
        """Validate; on success emit `stage_requested(request)`, else show every message."""
        self._show_all = True
        request = self.values()
        if request is None:
            refused = self.messages.get("request")
            text = f"Not staged: {refused[1]}" if refused else "Fix the fields marked in red, then Stage again."
            self.set_status(text, theme.ASK)
            return
        self.set_status("Staging… computing the pre-trade report", theme.MUTED)
        self.stage_requested.emit(request)

    def show_staged_prices(self, limit_price: Decimal | None, i_would_price: Decimal | None, tick_size: Decimal,
                           side: Side) -> None:
        """Show the prices the desk staged (snapped to `tick_size`) in place of the typed ones,
        with a note under the row when snapping changed one; the ticket stays staged."""
        changed = []
        for edit, price, what in ((self.limit, limit_price, "limit"), (self.i_would, i_would_price, "i-would")):
            if price is None:
                continue
            typed = parse_decimal(edit.text())
            if typed != price:
                changed.append(f"{what} {_plain(typed)} → {_plain(price)}")
            edit.setText(_plain(price))  # setText is not an edit: the staged report still describes the ticket
        if changed:
            way = "up" if side is Side.SELL else "down"
            self.messages["limit"] = ("warning", f"Snapped to the {_plain(tick_size)} tick ({way}, never looser): "
                                                 f"{'; '.join(changed)}.")
            self._show_messages()

    def set_staged(self, parent_id: str, summary: str = "") -> None:
        self.staged_id = parent_id
        self.start_button.setEnabled(bool(parent_id))
        self.start_button.setText(f"Start {parent_id}" if parent_id else "Start")
        if parent_id:
            self.set_status(f"Staged {parent_id}. {summary} Read the pre-trade report, then Start.", theme.GREEN)

    def set_started(self, parent_id: str) -> None:
        self.staged_id = ""
        self.start_button.setEnabled(False)
        self.start_button.setText("Start")
        self.set_status(f"{parent_id} started. Watch it on the ladders and the chart; steer it from Override.",
                        theme.GREEN)

    def show_error(self, text: str) -> None:
        self.set_status(text, theme.ASK)

    def set_status(self, text: str, color: str = theme.TEXT) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {color};")

    def set_trading_allowed(self, allowed: bool, reason: str = "") -> None:
        """Disable staging (e.g. HALTED, or no one logged in) and say why."""
        self.stage_button.setEnabled(allowed)
        self.start_button.setEnabled(allowed and bool(self.staged_id))
        if not allowed and reason:
            self.set_status(reason, theme.ASK)

    # ---- validation -------------------------------------------------------------------------------

    def values(self) -> StageRequest | None:
        """The validated ticket as a typed request, or None when a field has an error."""
        request, messages = self._parse()
        self.messages = messages
        self._show_messages()
        if request is None or any(level == "error" for level, _ in messages.values()):
            return None
        return request

    def validate(self) -> dict[str, tuple[str, str]]:
        """Every field's message (shown or not): field -> (level, text)."""
        return self._parse()[1]

    def _parse(self) -> tuple[StageRequest | None, dict[str, tuple[str, str]]]:
        msg: dict[str, tuple[str, str]] = {}
        side = "buy" if self.buy_button.isChecked() else "sell"
        symbol = self.symbol.currentText().strip().upper()
        if not re.fullmatch(r"[A-Z0-9]+/[A-Z0-9]+", symbol):
            msg["symbol"] = ("error", "Pick an instrument like BTC/USDT.")

        quantity = notional = math.nan
        raw_qty = parse_number(self.quantity.text())
        if not self.quantity.text().strip():
            msg["quantity"] = ("error", "Enter a quantity.")
        elif raw_qty is None or raw_qty <= 0:
            msg["quantity"] = ("error", f"Quantity must be a positive number, not {self.quantity.text()!r}.")
        elif self.unit.currentIndex() == 1:
            if math.isnan(self._mid):
                msg["quantity"] = ("error", "No market price yet to convert a notional: enter base units.")
            else:
                notional, quantity = raw_qty, raw_qty / self._mid
        else:
            quantity = raw_qty
            notional = raw_qty * self._mid if not math.isnan(self._mid) else math.nan

        horizon_s = math.nan
        parsed = parse_horizon(self.horizon.text(), self._now())
        if isinstance(parsed, str):
            msg["horizon"] = ("error", parsed)
        else:
            horizon_s = parsed
            if horizon_s > MAX_HORIZON_S:
                msg["horizon"] = ("error", "Horizon longer than 7 days: split the order.")

        limit: Decimal | None = None
        if self.limit.text().strip():
            value = parse_decimal(self.limit.text())
            if value is None or value <= 0:
                msg["limit"] = ("error", f"Limit must be a positive price (or empty), not {self.limit.text()!r}.")
            else:
                limit = value
                if not math.isnan(self._mid):
                    away = (float(value) / self._mid - 1.0) * 100.0 * (1 if side == "sell" else -1)
                    if away > _LIMIT_WARN_PCT:
                        where = "above" if side == "sell" else "below"
                        msg["limit"] = ("warning", f"Limit is {abs(away):.1f}% {where} the market: the algo will not "
                                                   "trade until the price gets there.")
        i_would: Decimal | None = None
        if self.i_would.text().strip():
            value = parse_decimal(self.i_would.text())
            if value is None or value <= 0:
                msg["limit"] = ("error", f"I-would must be a positive price (or empty), not {self.i_would.text()!r}.")
            elif limit is not None and (value > limit if side == "buy" else value < limit):
                msg["limit"] = ("error", f"I-would {_plain(value)} is beyond the limit {_plain(limit)}: the algo could "
                                         "never trade there.")
            else:
                i_would = value

        algo = str(self.algo.currentData())
        params: dict[str, float] = {}
        max_part = parse_number(self.max_participation.text())
        if max_part is None or not 0 < max_part <= 100:
            msg["params"] = ("error", "Max participation must be a percentage in (0, 100].")
            max_part = math.nan
        if algo == "pov":
            rate = parse_number(self.pov_rate.text())
            if rate is None or not 0 < rate < 100:
                msg["params"] = ("error", "POV rate must be a percentage in (0, 100).")
            elif not math.isnan(max_part) and rate > max_part:
                msg["params"] = ("error", f"POV rate {rate:g}% is above the max participation {max_part:g}%.")
            else:
                params["rate"] = rate / 100.0
        if algo == "iceberg" and self.display_qty.text().strip():
            shown = parse_number(self.display_qty.text())
            if shown is None or shown <= 0 or (not math.isnan(quantity) and shown > quantity):
                msg["params"] = ("error", "Iceberg display quantity must be positive and at most the quantity.")
            else:
                params["display_qty"] = shown

        max_slippage: float | None = None
        max_deviation: float | None = None
        if self.max_slippage.text().strip():
            value = parse_number(self.max_slippage.text())
            if value is None or not 0 < value < math.inf:
                msg["own_limits"] = ("error", f"Max slippage must be a positive number of bps (or empty), "
                                              f"not {self.max_slippage.text()!r}.")
            else:
                max_slippage = value
        if self.max_deviation.text().strip():
            value = parse_number(self.max_deviation.text())
            if value is None or not 0 < value <= 100:
                msg["own_limits"] = ("error", f"Max deviation from schedule must be a percentage in (0, 100] "
                                              f"(or empty), not {self.max_deviation.text()!r}.")
            else:
                max_deviation = value / 100.0

        venues = tuple(name for name, check in self.venue_checks.items() if check.isChecked())
        if self.venue_checks and not venues:
            msg["venues"] = ("error", "Allow at least one venue.")
        desks = tuple(name for name, check in self.desk_checks.items() if check.isChecked())
        rfq_mode = str(self.rfq_mode.currentData())
        if rfq_mode != "off" and self.desk_checks and not desks:
            msg["desks"] = ("warning", "No desk allowed: RFQ will not ask anyone.")

        if any(level == "error" for level, _ in msg.values()):
            return None, msg
        typed_qty = parse_decimal(self.quantity.text()) if self.unit.currentIndex() == 0 else None
        try:
            request = StageRequest(
                Instrument.parse(symbol),
                Side.parse(side),
                typed_qty if typed_qty is not None else Decimal(repr(quantity)),  # base units as typed
                horizon_s,
                algo=algo,
                limit_price=limit,
                i_would_price=i_would,
                urgency=Urgency(self.urgency.currentText()),
                end_action=EndAction(str(self.end_action.currentData())),
                params=params,
                max_participation=max_part / 100.0,
                venues=venues,
                desks=desks,
                rfq_mode=rfq_mode,
                max_slippage_bps=max_slippage,
                max_schedule_deviation=max_deviation,
                notional_usd=notional,
            )
        except ValueError as exc:  # the fields above passed; a rule only the request knows refused it
            msg["request"] = ("error", str(exc))
            return None, msg
        return request, msg

    # ---- internals --------------------------------------------------------------------------------

    def _row(self, form: QFormLayout, label: str, field: QWidget | QHBoxLayout, name: str,
             hint: QLabel | None = None) -> None:
        box = QVBoxLayout()
        box.setSpacing(1)
        if isinstance(field, QWidget):
            box.addWidget(field)
        else:
            box.addLayout(field)
        if hint is not None:
            box.addWidget(hint)
        message = QLabel()
        message.setObjectName(f"ticketMessage_{name}")
        message.setWordWrap(True)
        message.setVisible(False)
        box.addWidget(message)
        self._msg_labels[name] = message
        form.addRow(label, box)

    def _touch(self, name: str) -> None:
        self._touched.add(name)
        self._changed()

    def _changed(self) -> None:
        if self.staged_id:  # an edit after staging: the staged report no longer describes the ticket
            self.set_staged("")
            self.set_status("Ticket changed: Stage again to see its pre-trade report.", theme.AMBER)
        self.messages = self.validate()
        self._show_messages()
        self._refresh_hints()

    def _show_messages(self) -> None:
        for name, label in self._msg_labels.items():
            entry = self.messages.get(name)
            visible = entry is not None and (self._show_all or name in self._touched or entry[0] == "warning")
            if visible and entry is not None:
                level, text = entry
                label.setText(text)
                label.setStyleSheet(f"color: {theme.ASK if level == 'error' else theme.AMBER};")
            if label.isVisible() != visible:
                label.setVisible(visible)

    def _refresh_hints(self) -> None:
        qty = parse_number(self.quantity.text())
        if qty is None or qty <= 0 or math.isnan(self._mid):
            self.quantity_hint.setText("")
        elif self.unit.currentIndex() == 1:
            self.quantity_hint.setText(f"≈ {qty / self._mid:,.4f} base at {self._mid:,.2f}")
        else:
            self.quantity_hint.setText(f"≈ ${qty * self._mid:,.0f} at {self._mid:,.2f}")
        parsed = parse_horizon(self.horizon.text(), self._now())
        if isinstance(parsed, str):
            self.horizon_hint.setText("")
        else:
            end = self._now() + parsed
            self.horizon_hint.setText(f"ends {time.strftime('%H:%M:%S UTC', time.gmtime(end))} "
                                      f"(in {format_duration(parsed)})")

    def _update_param_fields(self) -> None:
        algo = self.algo.currentData()
        for w in (self.pov_label, self.pov_rate):
            w.setVisible(algo == "pov")
        for w in (self.display_label, self.display_qty):
            w.setVisible(algo == "iceberg")

    def _start(self) -> None:
        if self.staged_id:
            self.start_requested.emit(self.staged_id)


def parse_number(text: str) -> float | None:
    """'1,000.5' → 1000.5, '2k' → 2000, '1.5m' → 1,500,000; None when not a finite number."""
    t = text.strip().replace(",", "").replace("_", "").lower()
    scale = 1.0
    if t.endswith("k"):
        t, scale = t[:-1], 1e3
    elif t.endswith("m"):
        t, scale = t[:-1], 1e6
    try:
        value = float(t) * scale
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_decimal(text: str) -> Decimal | None:
    """Like `parse_number`, exactly: '60,000.004' → Decimal('60000.004'), '60k' → 60000; None when
    not a finite number. Prices are parsed this way so the digits typed are the digits staged."""
    t = text.strip().replace(",", "").replace("_", "").lower()
    scale = 1
    if t.endswith("k"):
        t, scale = t[:-1], 1000
    elif t.endswith("m"):
        t, scale = t[:-1], 1_000_000
    try:
        value = Decimal(t) * scale
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _plain(value: Decimal | None) -> str:
    """A price as the trader would type it: no exponent, no trailing zeros past the point."""
    if value is None:
        return ""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text




def parse_horizon(text: str, now: float) -> float | str:
    """Seconds until the end: a duration in the one grammar of core/durations.py ('4h', '90m',
    '1h30m', '45s', '2d'; a bare number is refused, as on the command line) or an end time in UTC
    ('14:30', '14:30:15', next occurrence). A str is the error."""
    t = text.strip().lower().replace(" ", "")
    if not t:
        return "Enter a horizon (e.g. 4h) or an end time (e.g. 14:30 UTC)."
    clock = re.fullmatch(r"@?(\d{1,2}):(\d{2})(?::(\d{2}))?", t)
    if clock:
        h, m, s = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
        if h > 23 or m > 59 or s > 59:
            return f"{text!r} is not a time of day (HH:MM, UTC)."
        day = math.floor(now / 86_400.0) * 86_400.0
        end = day + h * 3600 + m * 60 + s
        if end <= now:
            end += 86_400.0
        return end - now
    try:
        return parse_duration(t, "Horizon")
    except ValueError as exc:
        return f"{exc}, or an end time like 14:30 (UTC)."


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}m"
    return f"{m}m{s:02d}s" if m else f"{s}s"


def _combo(items: Sequence[tuple[str, str]]) -> QComboBox:
    combo = QComboBox()
    for data, text in items:
        combo.addItem(text, data)
    # the dock decides the width, not the longest item
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    return combo


def _hint() -> QLabel:
    label = QLabel("")
    label.setStyleSheet(f"color: {theme.MUTED};")
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label
