"""A one-line progress bar on stderr, shown only on a terminal and only for long work."""
from __future__ import annotations

import sys
import threading


class Progress:
    """`with Progress(n, "writing") as p: ... p.advance()`; silent under cron, systemd or a pipe."""

    def __init__(self, total: int, label: str, *, stream=None, minimum: int = 50):
        self.stream = stream or sys.stderr
        self.total = total
        self.label = label
        self.done = 0
        self.enabled = total >= minimum and getattr(self.stream, "isatty", lambda: False)()
        self._lock = threading.Lock()

    def advance(self, n: int = 1) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.done += n
            width = 30
            filled = width * self.done // max(self.total, 1)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
