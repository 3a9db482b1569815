"""The price-move breaker's sliding window (monotonic deques) equals a scan of the window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.risk.test_breakers import rig


@given(st.lists(st.tuples(st.floats(0.0, 5.0), st.floats(90.0, 110.0)), min_size=1, max_size=200))
def test_window_low_and_high_equal_a_scan_of_the_window(steps: list[tuple[float, float]]) -> None:
    _, _, _, breakers, _ = rig()
    window = breakers.config.price_move_window_s
    t, seen = 0.0, []
    for dt, mid in steps:
        t += dt
        seen.append((t, mid))
        lo, hi = breakers._window_range("X", t, mid)
        inside = [m for ts, m in seen if ts >= t - window]
        assert (lo, hi) == (min(inside), max(inside))
