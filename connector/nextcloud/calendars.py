"""Nextcloud calendar sharing and publishing (owncloud-namespace POST bodies on the calendar URL)."""
from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape

from connector.dav.caldav import CalendarInfo
from connector.dav.http import HttpClient

_XML = {"Content-Type": "application/xml; charset=utf-8"}
GROUP_PRINCIPAL = "principal:principals/groups/"


def _share_body(inner: str) -> bytes:
    # Nextcloud wants the owncloud namespace; the calendarserver.org <cs:share> form gets 501.
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<oc:share xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">{inner}</oc:share>').encode()


def share_calendar(http: HttpClient, cal_href: str, group_ids: Iterable[str], *,
                   read_write: bool = False, summary: str | None = None) -> None:
    """Share a calendar with groups in ONE request (read-only unless read_write)."""
    sets = []
    for gid in group_ids:
        parts = [f"<d:href>{escape(GROUP_PRINCIPAL + gid)}</d:href>"]
        if summary:
            parts.append(f"<oc:summary>{escape(summary)}</oc:summary>")
        if read_write:
            parts.append("<oc:read-write/>")
        sets.append("<oc:set>" + "".join(parts) + "</oc:set>")
    if sets:
        http.request("POST", cal_href, headers=_XML, data=_share_body("".join(sets)), expect=(200, 204))


def unshare_calendar(http: HttpClient, cal_href: str, group_ids: Iterable[str]) -> None:
    """Withdraw a calendar share from groups in one request."""
    removes = "".join(f"<oc:remove><d:href>{escape(GROUP_PRINCIPAL + gid)}</d:href></oc:remove>"
                      for gid in group_ids)
    if removes:
        http.request("POST", cal_href, headers=_XML, data=_share_body(removes), expect=(200, 204))


def publish_calendar(http: HttpClient, cal_href: str) -> None:
    """Publish a calendar (public read-only link; its URL then shows up as CalendarInfo.publish_url)."""
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<cs:publish-calendar xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"/>').encode()
    http.request("POST", cal_href, headers=_XML, data=body, expect=(200, 202, 204))


def shared_groups(info: CalendarInfo) -> dict[str, str]:
    """gid -> "read" | "read-write" for the groups a calendar is shared with."""
    return {href[len(GROUP_PRINCIPAL):].strip("/"): access
            for href, access in info.invites if href.startswith(GROUP_PRINCIPAL)}
