"""Colours the painted widgets share with resources/theme/dark.qss (hex strings, one source).

Painted widgets (ladder, chart) cannot read a stylesheet, so the qss palette is repeated here;
change both together. Red is reserved for danger (sells use a softer red than HALTED).
"""

from __future__ import annotations

# surfaces (dark.qss: QWidget, QDockWidget::title, QMainWindow::separator, QPushButton border)
BG = "#14171c"
BG_ALT = "#181b21"
PANEL = "#1c2028"
GRID = "#232833"
BORDER = "#2c3240"
INPUT_BG = "#0f1216"

# text (dark.qss: QWidget color, QStatusBar color, QLabel#emptyState)
TEXT = "#d8dde6"
MUTED = "#9aa4b5"
DIM = "#6c7688"

# signals (dark.qss: selection/accent, tradingState active/reducing/halted)
ACCENT = "#2d5b9a"
GREEN = "#4cc38a"
AMBER = "#e3b341"
DANGER = "#c62828"
DANGER_DARK = "#8e1c1c"

# trading sides: buys green, sells a softer red than DANGER, with dim fills for depth bars
BID = GREEN
ASK = "#e5534b"
BID_BAR = "#21503a"
ASK_BAR = "#5a2a2f"
VAP_BAR = "#2a3140"

# one colour per venue in charts and legends, in venue-index order (cycled past the end)
VENUE_COLORS: tuple[str, ...] = ("#4c9be8", AMBER, "#b48ead", GREEN, ASK, "#56c2c2", "#d08770", "#a3be8c")


def venue_color(index: int) -> str:
    return VENUE_COLORS[index % len(VENUE_COLORS)]
