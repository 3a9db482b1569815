"""Widget-test helpers: the dark theme on a widget, where screenshots go, and a PySide6 guard.

The guard: PySide6/shiboken6 6.12.0 on CPython 3.11 drops one reference to `None` on every call
of a void Qt method (its abi3 wheels assume 3.12's immortal None). A few thousand paints bring
None's refcount to zero and the interpreter aborts ("Fatal Python error: none_dealloc").
Until constraints.txt moves off 6.12.0 (6.11.3 is clean) or CI moves to Python ≥ 3.12, pin
None's refcount high so a long test session cannot hit zero — loudly, never silently.
"""

from __future__ import annotations

import ctypes
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def pyside_leaks_none() -> bool:
    """True when void Qt calls drop a reference to None (PySide6 6.12.0 on Python < 3.12)."""
    if sys.version_info >= (3, 12):  # None is immortal: a dropped reference is harmless
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(200):
        probe.setObjectName("probe")  # a void method
    return sys.getrefcount(None) < before - 100


if pyside_leaks_none():
    import PySide6

    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40  # ob_refcnt: None now never reaches 0
    warnings.warn(
        f"PySide6 {PySide6.__version__} on Python {sys.version_info.major}.{sys.version_info.minor} leaks a "
        "reference to None per void Qt call; pinned None's refcount for this test session. "
        "Pin PySide6-Essentials/shiboken6 to 6.11.3 (or use Python ≥ 3.12).",
        RuntimeWarning,
        stacklevel=1,
    )
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
