"""The pure half of the sync: given what we want and what the server holds, decide the changes.

Knows nothing about HTTP. Policy, stated once:
- an item is ours when its X-PLAN-CONNECTOR-PLAN marker names this plan; everything else belongs to
  people and is never written or deleted;
- an item whose content hash matches is never rewritten;
- deletions are refused as a whole when they exceed a fraction of the owned items (a plan or units
  file that suddenly lost most of its content is more likely a mistake than an intent).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Known:
    """What we know about one item on the server."""

    etag: str | None
    plan: str | None  # plan code of the ownership marker, None when the item is not ours
    hash: str | None


@dataclass(frozen=True)
class Wanted:
    uid: str
    hash: str
    body: str


@dataclass(frozen=True)
class Change:
    action: Action
    collection: str  # calendar slug
    href: str
    uid: str | None = None
    etag: str | None = None  # the ETag we expect (If-Match); None for creates
    body: str | None = None
    hash: str | None = None


def diff_collection(collection: str, wanted: dict[str, Wanted], known: dict[str, Known], plan_code: str
                    ) -> tuple[list[Change], int, int]:
    """Changes that make one collection hold exactly `wanted` (href -> item) among the items we own.

    Returns (changes, unchanged, owned) where owned counts the items of ours on the server now.
    """
    changes: list[Change] = []
    unchanged = 0
    owned = sum(1 for k in known.values() if k.plan == plan_code)
    for href, w in wanted.items():
        k = known.get(href)
        if k is None:
            changes.append(Change(Action.CREATE, collection, href, w.uid, None, w.body, w.hash))
        elif k.plan != plan_code:
            continue  # a person's item at our href: leave it (reported by the caller)
        elif k.hash == w.hash:
            unchanged += 1
        else:
            changes.append(Change(Action.UPDATE, collection, href, w.uid, k.etag, w.body, w.hash))
    for href, k in known.items():
        if k.plan == plan_code and href not in wanted:
            changes.append(Change(Action.DELETE, collection, href, None, k.etag))
    return changes, unchanged, owned


def deletion_allowed(deletes: int, owned: int, max_fraction: float) -> bool:
    """True when deleting `deletes` of `owned` items stays within the allowed fraction."""
    if deletes == 0:
        return True
    return deletes <= max_fraction * owned
