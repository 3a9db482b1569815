"""Override panel: the adaptive policy's latest decisions with their reasons; the exit question."""

from __future__ import annotations

from PySide6.QtCore import Qt

from widgets.exit_dialog import CANCEL, LEAVE, STAY, ExitDialog
from widgets.override_panel import POLICY_DECISIONS_SHOWN, OverridePanel, format_policy_decision

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


def test_policy_decision_lines_put_time_and_reason_first() -> None:
    line = format_policy_decision({"ts": T0 + 5, "reason": "venue alpha excluded: spoofing score 0.91",
                                   "venue": "alpha", "weights": {"alpha": 0.0, "beta": 0.61234}, "parent_id": "P1"})
    assert line == "00:00:05  venue alpha excluded: spoofing score 0.91  ·  venue=alpha, weights=alpha 0/beta 0.6123"
    assert format_policy_decision({"mult": 2.0}) == "--:--:--  (no reason given)  ·  mult=2"


def test_policy_decisions_listed_newest_first_capped(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = OverridePanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_parent({"parent_id": "P1", "state": "running", "side": "sell", "symbol": "BTC/USDT", "quantity": 10.0,
                      "filled": 1.0, "urgency": "medium", "max_participation": 0.2, "venues": ("alpha",),
                      "venue_enabled": {"alpha": True}, "algo": "adaptive"})
    panel.set_policy_decisions([], "adaptive")
    assert panel.policy_caption.text() == "Adaptive policy: no decisions yet" and not panel.policy_decisions.isVisible()
    decisions = [{"ts": T0 + k, "reason": f"step {k}"} for k in range(30, 0, -1)]  # newest first
    panel.set_policy_decisions(decisions, "adaptive")
    lines = panel.policy_model.stringList()
    assert len(lines) == POLICY_DECISIONS_SHOWN and lines[0].endswith("step 30") and panel.policy_decisions.isVisible()
    panel.set_policy_decisions([], "twap")
    assert "not used by this parent (algo twap)" in panel.policy_caption.text()
    panel.set_policy_decisions(decisions, "adaptive", "policy: fitted resources/policy/btc-mixed-4h.json")
    assert panel.policy_caption.text().endswith("(newest first) (policy: fitted resources/policy/btc-mixed-4h.json)")


def test_exit_dialog_answers_once_and_defaults_to_staying(qtbot) -> None:  # type: ignore[no-untyped-def]
    answers: list[str] = []
    dialog = ExitDialog("BH0001: sell 20 BTC, ac, running, 12.0% done", can_cancel=True)
    qtbot.addWidget(dialog)
    dialog.choice.connect(answers.append)
    dialog.open()
    assert dialog.defaultButton() is dialog.stay_button and dialog.escapeButton() is dialog.stay_button
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert answers == [CANCEL] and dialog.answered == CANCEL
    for choice, button in ((LEAVE, "leave_button"), (STAY, "stay_button")):
        other = ExitDialog("x")
        qtbot.addWidget(other)
        got: list[str] = []
        other.choice.connect(got.append)
        other.open()
        qtbot.mouseClick(getattr(other, button), Qt.MouseButton.LeftButton)
        assert got == [choice]
    closed = ExitDialog("x", can_cancel=False)
    qtbot.addWidget(closed)
    got = []
    closed.choice.connect(got.append)
    closed.open()
    assert not closed.cancel_button.isEnabled() and "Log in" in closed.informativeText()
    qtbot.keyClick(closed, Qt.Key.Key_Escape)
    assert got == [STAY]
