"""Machine description printed with every benchmark (results go to docs/benchmarks.md)."""

from __future__ import annotations

import os
import platform
import time


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    date = time.strftime("%Y-%m-%d", time.gmtime())
    return f"{date} · {cpu} · {os.cpu_count()} cores · Python {platform.python_version()} · {platform.system()}"
