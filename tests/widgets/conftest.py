"""Widget-test helpers: the dark theme on a widget, and where screenshots go."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DARK_QSS = ROOT / "resources" / "theme" / "dark.qss"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture
def dark_qss() -> str:
    """The terminal's stylesheet, to set on a top-level widget (never on the shared QApplication)."""
    return DARK_QSS.read_text(encoding="utf-8")


@pytest.fixture
def shots_dir(tmp_path: Path) -> Path:
    """BLOCKHOUSE_WIDGET_SHOTS=/tmp keeps the PNGs for a human to look at; else a temp dir."""
    target = os.environ.get("BLOCKHOUSE_WIDGET_SHOTS")
    path = Path(target) if target else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path
