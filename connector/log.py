"""Logging set-up: stderr or a file, text or JSON lines, secrets always masked."""
from __future__ import annotations

import json
import logging
import sys
import time

_SECRETS: set[str] = set()
MASK = "<redacted>"
_ROUTE = {"file": None, "json": False}  # where logs go, as set by setup_logging


def register_secret(secret: str | None) -> None:
    """Mask this string wherever it would appear in a log line."""
    if secret and len(secret) >= 3:
        _SECRETS.add(secret)


def redact(text: str) -> str:
    """Replace every registered secret in text."""
    for s in _SECRETS:
        if s in text:
            text = text.replace(s, MASK)
    return text


class _RedactingFormatter(logging.Formatter):
    def __init__(self, json_lines: bool):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.json_lines = json_lines

    def format(self, record: logging.LogRecord) -> str:
        if self.json_lines:
            payload = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(record.created)),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
            if record.exc_info:
                payload["exception"] = self.formatException(record.exc_info)
            return redact(json.dumps(payload, ensure_ascii=False))
        return redact(super().format(record))


def setup_logging(level: int = logging.WARNING, log_file: str | None = None, fmt: str = "text") -> None:
    """Configure the root logger once per process."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(fmt == "json"))
    root.addHandler(handler)
    root.setLevel(level)
    _ROUTE.update(file=log_file, json=fmt == "json")


def report_failure(text: str, *, logger: str = "plan-connector") -> None:
    """One failure, for people and for machines: a log record where logs go to a file or as JSON
    (cron and journald keep those), and a plain line on stderr unless that record already went there."""
    text = redact(text)
    if _ROUTE["file"] or _ROUTE["json"]:
        logging.getLogger(logger).error(text)
    if _ROUTE["file"] or not _ROUTE["json"]:
        print(text, file=sys.stderr)
