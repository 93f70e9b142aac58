"""What the connector remembers between runs: sync tokens, ETags, content hashes, sent reminders.

One JSON file per (server, user, plan) in the state directory. Safe to delete: losing it costs one
full listing of each collection, never a duplicate (UIDs and hrefs are deterministic and creates
are conditional).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def default_state_dir() -> Path:
    """$XDG_STATE_HOME/plan-connector, else ~/.local/state/plan-connector."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "plan-connector"


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write so that readers see the old file or the new one, never a mix: a temporary file beside
    `path`, fsync, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class State:
    """A JSON document kept in memory and saved atomically (after every batch of writes)."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None):
        self.path = path
        self.data: dict[str, Any] = data or {}

    @classmethod
    def open(cls, state_dir: Path, server_id: str, plan_code: str) -> "State":
        """Load the state of this server and plan (empty when missing or unreadable)."""
        digest = hashlib.sha256(server_id.encode()).hexdigest()[:10]
        path = state_dir / f"{plan_code}-{digest}.json"
        data: dict[str, Any] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}  # a damaged state only costs a full listing
        return cls(path, data)

    def section(self, name: str) -> dict[str, Any]:
        return self.data.setdefault(name, {})

    def save(self) -> None:
        atomic_write(self.path, json.dumps(self.data, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8"), 0o600)
