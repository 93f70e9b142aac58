"""What the connector remembers between runs: sync tokens, ETags, content hashes, sent reminders.

One JSON file per (server, user, plan) in the state directory. Safe to delete: losing it costs one
full listing of each collection, never a duplicate (UIDs and hrefs are deterministic and creates
are conditional); only the calendars of units removed meanwhile are then no longer known as this
plan's (they stay, with their items, until removed by hand). Beside it, `<same name>-tree.json` keeps the
last listing of the plan's report tree (TreeCache); losing it costs one full listing of the tree.

Schema (`schema_version` 2): "calendars" maps each calendar slug this plan made to {"href": decoded path,
"token": the sync token of the REPORT that listed it, "items": {decoded NFC path: {"etag", "plan",
"hash"}}} (see sync.reconcile.ItemMeta). Files of version 1 (no version; items as [etag, plan, hash]
under the percent-encoded path) are migrated when read.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

SCHEMA_VERSION = 2


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
        self._saved: bytes | None = None  # what the file holds (as read or last written)

    @classmethod
    def open(cls, state_dir: Path, server_id: str, plan_code: str) -> "State":
        """Load the state of this server and plan (empty when missing or unreadable)."""
        digest = hashlib.sha256(server_id.encode()).hexdigest()[:10]
        path = state_dir / f"{plan_code}-{digest}.json"
        data: dict[str, Any] = {}
        raw = None
        if path.is_file():
            try:
                raw = path.read_bytes()
                data = json.loads(raw)
            except (OSError, ValueError):
                data = {}  # a damaged state only costs a full listing
            if not isinstance(data, dict):
                data = {}
        state = cls(path, migrate(data, plan_code))
        state._saved = raw
        return state

    def section(self, name: str) -> dict[str, Any]:
        return self.data.setdefault(name, {})

    def save(self) -> None:
        """Write the state, unless the file already holds exactly this (a run that changed nothing)."""
        self.data["schema_version"] = SCHEMA_VERSION
        # Compact: json's C encoder (indent= would take the pure-Python one, ~4x slower on a large state).
        raw = json.dumps(self.data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        if raw != self._saved:
            atomic_write(self.path, raw, 0o600)
            self._saved = raw


class TreeCache:
    """The last listing of a plan's report tree, beside the state (`<state file>-tree.json`), for servers whose
    folder ETags tell whether anything changed beneath (see WebDAVClient.refresh_tree).

    It holds a format version, what it is the listing of (`key`: server, root) and the rows; one that is
    unreadable, of another version or of another tree is dropped and costs one full listing.
    """

    VERSION = 1

    def __init__(self, state: State, key: dict[str, str]):
        self.path = state.path.with_name(f"{state.path.stem}-tree.json")
        self.key = key

    def load(self) -> list | None:
        try:
            doc = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            doc = None
        if (isinstance(doc, dict) and doc.get("version") == self.VERSION and doc.get("key") == self.key
                and isinstance(doc.get("rows"), list)):
            return doc["rows"]
        self.drop()
        return None

    def save(self, rows: list) -> None:
        doc = {"version": self.VERSION, "key": self.key, "rows": rows}
        atomic_write(self.path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 0o600)

    def drop(self) -> None:
        self.path.unlink(missing_ok=True)


def _key(href: str) -> str:
    return unicodedata.normalize("NFC", unquote(urlsplit(href).path))


def migrate(data: dict[str, Any], plan_code: str) -> dict[str, Any]:
    """The state in the current schema (see the module docstring); a newer or current one as it is.

    Version 1 -> 2: item keys decoded (one spelling; where two spellings of one item were kept, the one
    with an ETag wins), items as {"etag", "plan", "hash"}, and only calendars holding an item of this plan
    kept (version 1 also remembered the calendars of plans whose code starts with this one's).
    """
    version = data.get("schema_version", 1)
    if not data or not isinstance(version, int) or version >= SCHEMA_VERSION:
        return data
    calendars = data.get("calendars")
    if isinstance(calendars, dict):
        kept: dict[str, Any] = {}
        for slug, entry in calendars.items():
            if not isinstance(entry, dict):
                continue
            items: dict[str, dict] = {}
            for href, meta in (entry.get("items") or {}).items():
                if isinstance(meta, dict):
                    etag, plan, digest = meta.get("etag"), meta.get("plan"), meta.get("hash")
                else:
                    etag, plan, digest = (list(meta) + [None, None, None])[:3]
                key = _key(href)
                if key in items and items[key]["etag"] and not etag:
                    continue
                items[key] = {"etag": etag or None, "plan": plan, "hash": digest}
            if not any(m["plan"] == plan_code for m in items.values()):
                continue
            kept[slug] = {**entry, "items": items}
            if entry.get("href"):
                kept[slug]["href"] = _key(entry["href"])
        data["calendars"] = kept
    data["schema_version"] = SCHEMA_VERSION
    return data
