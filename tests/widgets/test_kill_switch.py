"""Kill switch: confirmation without a nested loop; the HALTED banner is unmissable."""

from __future__ import annotations

from PySide6.QtGui import QColor

from core.events import TradingState
from widgets import theme
from widgets.kill_switch import HaltedBanner, KillSwitchButton


def test_kill_needs_an_explicit_confirmation(qtbot) -> None:  # type: ignore[no-untyped-def]
    button = KillSwitchButton()
    qtbot.addWidget(button)
    button.show()
    assert button.objectName() == "killSwitch"
    with qtbot.assertNotEmitted(button.kill_confirmed):
        button.click()  # opens the box and returns: no exec()
        box = button.confirm_box
        assert box is not None and box.isVisible()
        box.defaultButton().click()  # Cancel is the default: Enter never kills
    assert not box.isVisible()
    button.click()
    with qtbot.waitSignal(button.kill_confirmed, timeout=1000):
        assert button.kill_button is not None
        button.kill_button.click()


def test_halted_banner_shows_who_and_when_and_hides_when_active(qtbot) -> None:  # type: ignore[no-untyped-def]
    banner = HaltedBanner()
    qtbot.addWidget(banner)
    banner.resize(1200, 80)
    banner.show()
    banner.set_state(TradingState.ACTIVE)
    assert not banner.isVisible()
    banner.set_state(TradingState.HALTED, "carol", 1_760_003_600.0, "manual", {"okx": 3, "binance": 12})
    assert banner.isVisible()
    assert banner.text == "HALTED — kill switch by carol at 09:53:20 UTC"
    assert "Canceled 15 working orders: binance 12 · okx 3" in banner.detail.text()
    assert not banner.reset_button.isVisible()
    banner.set_can_reset(True)
    assert banner.reset_button.isVisible()
    image = banner.grab().toImage()
    assert QColor(image.pixel(4, 4)) == QColor(theme.DANGER)
    with qtbot.waitSignal(banner.reset_requested):
        banner.reset_button.click()
    banner.set_state(TradingState.REDUCING, "risk", 1_760_003_600.0)
    assert banner.isVisible() and banner.text.startswith("REDUCING")
    banner.set_state(TradingState.ACTIVE)
    assert not banner.isVisible()
