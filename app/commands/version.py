"""`python main.py version`: the program, Python and key library versions."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from importlib import metadata

from app import __version__

LIBRARIES = ("PySide6-Essentials", "numpy", "numba", "pandas", "SQLAlchemy", "ccxt", "qasync", "pyqtgraph")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("version", help="print the version of Blockhouse and its libraries")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    libs = {}
    for name in LIBRARIES:
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = "not installed"
    info = {"blockhouse": __version__, "python": platform.python_version(), "libraries": libs}
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        print()
    else:
        print(f"Blockhouse {__version__} (Python {info['python']})")
        for name, version in libs.items():
            print(f"  {name:20s} {version}")
    return 0
