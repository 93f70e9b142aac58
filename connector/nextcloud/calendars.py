"""Nextcloud calendar sharing and publishing (owncloud-namespace POST bodies on the calendar URL).

Shares go out in batches of at most 10 groups: Nextcloud 34 refuses larger requests.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from xml.sax.saxutils import escape

from connector.dav.caldav import CalendarInfo
from connector.dav.http import HttpClient

_XML = {"Content-Type": "application/xml; charset=utf-8"}
GROUP_PRINCIPAL = "principal:principals/groups/"
# Nextcloud 34: "share is limited to 10 set or remove elements" (400) per request.
MAX_SHARE_ELEMENTS = 10


def _share_body(inner: str) -> bytes:
    # Nextcloud wants the owncloud namespace; the calendarserver.org <cs:share> form gets 501.
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<oc:share xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">{inner}</oc:share>').encode()


def share_calendar(http: HttpClient, cal_href: str, group_ids: Iterable[str], *,
                   read_write: bool = False, summary: str | None = None,
                   on_batch: Callable[[list[str], list[str]], None] | None = None) -> None:
    """Share a calendar with groups (read-only unless read_write), at most 10 groups per request."""
    update_shares(http, cal_href, add=group_ids, read_write=read_write, summary=summary, on_batch=on_batch)


def unshare_calendar(http: HttpClient, cal_href: str, group_ids: Iterable[str], *,
                     on_batch: Callable[[list[str], list[str]], None] | None = None) -> None:
    """Withdraw a calendar share from groups, at most 10 groups per request."""
    update_shares(http, cal_href, remove=group_ids, on_batch=on_batch)


def share_batches(add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[tuple[list[str], list[str]]]:
    """(add, remove) per request: removals first, then additions, at most MAX_SHARE_ELEMENTS in each."""
    elements = [("remove", g) for g in remove] + [("set", g) for g in add]
    batches = []
    for i in range(0, len(elements), MAX_SHARE_ELEMENTS):
        chunk = elements[i:i + MAX_SHARE_ELEMENTS]
        batches.append(([g for kind, g in chunk if kind == "set"], [g for kind, g in chunk if kind == "remove"]))
    return batches


def update_shares(http: HttpClient, cal_href: str, *, add: Iterable[str] = (), remove: Iterable[str] = (),
                  read_write: bool = False, summary: str | None = None,
                  on_batch: Callable[[list[str], list[str]], None] | None = None) -> None:
    """Add and withdraw group shares of a calendar, as few requests as Nextcloud allows.

    Nextcloud 34 refuses a request with more than 10 set/remove elements (400), and counts every
    request against the account's share-request limit (429 RateLimited). `on_batch(added, removed)`
    runs after each accepted request, so a caller stopped half-way knows what went through.
    """
    for sets, removes in share_batches(add, remove):
        inner = "".join(f"<oc:remove><d:href>{escape(GROUP_PRINCIPAL + gid)}</d:href></oc:remove>" for gid in removes)
        for gid in sets:
            parts = [f"<d:href>{escape(GROUP_PRINCIPAL + gid)}</d:href>"]
            if summary:
                parts.append(f"<oc:summary>{escape(summary)}</oc:summary>")
            if read_write:
                parts.append("<oc:read-write/>")
            inner += "<oc:set>" + "".join(parts) + "</oc:set>"
        http.request("POST", cal_href, headers=_XML, data=_share_body(inner), expect=(200, 204))
        if on_batch is not None:
            on_batch(sets, removes)


def publish_calendar(http: HttpClient, cal_href: str) -> None:
    """Publish a calendar (public read-only link; its URL then shows up as CalendarInfo.publish_url)."""
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<cs:publish-calendar xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"/>').encode()
    http.request("POST", cal_href, headers=_XML, data=body, expect=(200, 202, 204))


def shared_groups(info: CalendarInfo) -> dict[str, str]:
    """gid -> "read" | "read-write" for the groups a calendar is shared with."""
    return {href[len(GROUP_PRINCIPAL):].strip("/"): access
            for href, access in info.invites if href.startswith(GROUP_PRINCIPAL)}
