"""Test-wide setup: offscreen Qt, a writable numba cache, a deterministic hypothesis profile."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / "blockhouse-numba-cache"))

from hypothesis import HealthCheck, settings

# JIT compilation makes first calls slow: no deadline; derandomized so CI is reproducible.
settings.register_profile(
    "ci", deadline=None, derandomize=True, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
