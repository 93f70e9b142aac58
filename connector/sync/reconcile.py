"""The pure half of the sync: given what we want and what the server holds, decide the changes.

Knows nothing about HTTP. Items are keyed by their decoded NFC URL path (one spelling, see
`connector.dav.caldav.item_key`). Policy, stated once:
- an item is ours when its X-PLAN-CONNECTOR-PLAN marker names this plan AND it sits at `<uid>.ics`
  with one of this plan's UIDs (`pc-<code>-ev|td|ov-…`, the UID inside it the same, checked on read):
  a person's copy of one of our events keeps the marker but not the UID, and stays theirs; everything
  that is not ours belongs to people and is never written or deleted;
- an item whose content hash matches is never rewritten;
- deletions are refused as a whole when they exceed a fraction of the owned items (a plan or units
  file that suddenly lost most of its content is more likely a mistake than an intent).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class ItemMeta:
    """What we know about one item on the server (kept in the state between runs)."""

    etag: str | None  # None: not known (the server named none); the item is read again before any write
    plan: str | None  # plan code of the ownership marker; None when it has none, or its UID is not its href's
    hash: str | None

    def to_json(self) -> dict:
        return {"etag": self.etag, "plan": self.plan, "hash": self.hash}

    @classmethod
    def from_json(cls, value) -> ItemMeta:
        """From the state: {"etag", "plan", "hash"}, or the [etag, plan, hash] list of older versions."""
        if isinstance(value, dict):
            return cls(value.get("etag") or None, value.get("plan"), value.get("hash"))
        etag, plan, digest = (list(value) + [None, None, None])[:3]
        return cls(etag or None, plan, digest)


Known = ItemMeta  # the older name


@lru_cache(maxsize=32)
def _uid_re(plan_code: str) -> re.Pattern:
    return re.compile(rf"pc-{re.escape(plan_code)}-(?:ev|td|ov)-[a-z0-9-]+")


def is_plan_uid(uid: str, plan_code: str) -> bool:
    """Is this one of the UIDs the connector gives this plan's items (render.names: pc-<code>-ev|td|ov-…)?"""
    return bool(_uid_re(plan_code).fullmatch(uid))


def uid_of_key(key: str) -> str | None:
    """The UID an item key names: "<calendar>/<uid>.ics" -> uid; None for other file names."""
    name = key.rstrip("/").rsplit("/", 1)[-1]
    return name[:-4] if name.endswith(".ics") else None


def owns(key: str, meta: ItemMeta, plan_code: str) -> bool:
    """Is the item at `key` this plan's: its marker names the plan and it sits at one of the plan's UIDs?"""
    uid = uid_of_key(key)
    return meta.plan == plan_code and uid is not None and is_plan_uid(uid, plan_code)


@dataclass(frozen=True)
class Wanted:
    uid: str
    hash: str
    body: str | Callable[[], str]  # the item's text, or what makes it (called only for what is written)


@dataclass(frozen=True)
class Change:
    action: Action
    collection: str  # calendar slug
    href: str
    uid: str | None = None
    etag: str | None = None  # the ETag we expect (If-Match); None for creates
    body: str | Callable[[], str] | None = None  # made when written (by the writer that sends it)
    hash: str | None = None

    def text(self) -> str | None:
        return self.body() if callable(self.body) else self.body


def diff_collection(collection: str, wanted: dict[str, Wanted], known: dict[str, ItemMeta], plan_code: str
                    ) -> tuple[list[Change], int, int]:
    """Changes that make one collection hold exactly `wanted` (key -> item) among the items we own.

    Returns (changes, unchanged, owned) where owned counts the items of ours on the server now. An update
    or delete carries the ETag to send as If-Match; None means "read it first" (never written blindly).
    """
    changes: list[Change] = []
    unchanged = 0
    owned = sum(1 for href, k in known.items() if owns(href, k, plan_code))
    for href, w in wanted.items():
        k = known.get(href)
        if k is None:
            changes.append(Change(Action.CREATE, collection, href, w.uid, None, w.body, w.hash))
        elif not owns(href, k, plan_code):
            continue  # a person's item at our href: leave it (reported by the caller)
        elif k.hash == w.hash:
            unchanged += 1
        else:
            changes.append(Change(Action.UPDATE, collection, href, w.uid, k.etag, w.body, w.hash))
    for href, k in known.items():
        if href not in wanted and owns(href, k, plan_code):
            changes.append(Change(Action.DELETE, collection, href, uid_of_key(href), k.etag))
    return changes, unchanged, owned


def deletion_allowed(deletes: int, owned: int, max_fraction: float) -> bool:
    """True when deleting `deletes` of `owned` items stays within the allowed fraction."""
    if deletes == 0:
        return True
    return deletes <= max_fraction * owned
