"""ARCHITECTURE.md's one dependency rule, enforced on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE_ALLOWED_THIRD_PARTY = {"numpy", "pandas", "numba"}
FORBIDDEN_IN_CORE = {"PySide6", "pyqtgraph", "qasync", "app", "widgets", "adapters", "ccxt", "sqlalchemy", "websockets"}
FORBIDDEN_IN_WIDGETS = {"adapters", "app", "core.engine", "core.oms", "core.execution", "core.risk", "core.rfq"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_only_stdlib_numpy_pandas_numba() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names)
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            allowed = top in stdlib or top in CORE_ALLOWED_THIRD_PARTY or top == "core"
            if top in FORBIDDEN_IN_CORE or not allowed:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_widgets_import_no_adapters_and_no_engine_modules() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "widgets").rglob("*.py")
        for name in imports_of(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_WIDGETS)
    ]
    assert offenders == []


def test_the_rule_detects_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6.QtCore import QObject\nimport adapters.sim\n")
    assert {"PySide6.QtCore", "adapters.sim"} <= imports_of(bad)
