"""A run lock so that two scheduled runs never overlap (flock on a file in the state directory)."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from connector.errors import LockedError


class RunLock:
    """Exclusive, non-blocking; released when the process exits, even on a crash."""

    def __init__(self, state_dir: Path, name: str = "run"):
        self.path = state_dir / f"{name}.lock"
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            finally:
                os.close(fd)
            raise LockedError(f"another plan-connector run (pid {holder}) holds {self.path}; nothing done") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
