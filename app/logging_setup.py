"""Structured logging: one JSON object per line to a rotating file; secrets redacted."""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import time
from pathlib import Path

_SECRET_RE = re.compile(r"(?i)(api[_-]?key|secret|password|signature|token)(['\"]?\s*[:=]\s*['\"]?)([^\s'\",}]+)")


def redact(text: str) -> str:
    """Mask the value of anything that looks like a credential."""
    return _SECRET_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key in ("parent_id", "client_id", "venue"):
            if hasattr(record, key):
                event[key] = getattr(record, key)
        if record.exc_info:
            event["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(event, separators=(",", ":"))


def setup_logging(log_dir: Path, level: str = "INFO") -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "blockhouse.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=20_000_000, backupCount=10, encoding="utf-8")
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, logging.handlers.RotatingFileHandler)]
    root.addHandler(handler)
    root.setLevel(level)
    return path
