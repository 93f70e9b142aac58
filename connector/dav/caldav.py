"""CalDAV: list calendars (apart from those in a trash bin), create, rename, delete or restore one,
list/fetch/put/delete items with ETags and sync tokens.

URLs have one spelling: the home is made canonical (decoded, NFC, encoded one way) when the client is
made, every href a server answers is decoded and encoded again the same way, and callers that keep items
(the sync state) key them by `item_key` (the decoded NFC path), whatever the server's own spelling.
"""
from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit
from xml.sax.saxutils import escape

from connector.dav import xml as dx
from connector.dav.http import HttpClient, join_url
from connector.errors import RateLimited

log = logging.getLogger(__name__)

_XML = {"Content-Type": "application/xml; charset=utf-8"}

_CALENDARS_PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:oc="http://owncloud.org/ns" xmlns:n="http://nextcloud.com/ns">
  <d:prop><d:displayname/><d:resourcetype/>{ctag}<d:sync-token/><c:supported-calendar-component-set/><cs:publish-url/><oc:invite/><oc:owner-principal/><n:deleted-at/></d:prop>
</d:propfind>"""

# Nextcloud's trash bin (note: nextcloud.com, not the nextcloud.org of other Nextcloud properties).
NC_COM = "http://nextcloud.com/ns"
_DELETED_CALENDAR = f"{{{NC_COM}}}deleted-calendar"
_DELETED_AT = f"{{{NC_COM}}}deleted-at"
_SUBSCRIBED = f"{{{dx.CS}}}subscribed"
BIRTHDAY_CALENDAR = "contact_birthdays"  # made by Nextcloud, not counted against the calendar limit

_ETAG_PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>"""

_VTIMEZONE_HCM = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//plan-connector//VI
BEGIN:VTIMEZONE
TZID:Asia/Ho_Chi_Minh
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0700
TZOFFSETTO:+0700
TZNAME:+07
END:STANDARD
END:VTIMEZONE
END:VCALENDAR
"""


def normalize_etag(value: str | None) -> str | None:
    """The comparable form of an ETag: no W/ prefix, no surrounding quotes (servers differ)."""
    if value is None:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:].strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value or None


def quote_etag(value: str) -> str:
    """The header form of a normalized ETag, for If-Match."""
    return f'"{normalize_etag(value)}"'


def canonical_href(base_url: str, path: str) -> str:
    """An absolute URL for a decoded path (as `xml.Response.href` gives it), encoded one consistent way.

    Servers encode hrefs differently (lower/upper hex, "@" raw or not); decoding and re-encoding
    makes the listing's hrefs equal to the ones `item_href` builds.
    """
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}{quote(unicodedata.normalize('NFC', path), safe='/')}"


def item_key(href: str) -> str:
    """The one spelling an item or calendar is known by: its decoded NFC path ("/bot@example.org/cal/x.ics"),
    whatever the server's or the config's encoding, host or port."""
    return dx.href_path(href)


@dataclass
class CalendarInfo:
    href: str  # absolute URL, trailing "/"
    name: str  # last path segment
    displayname: str | None
    ctag: str | None
    sync_token: str | None
    components: frozenset[str]
    publish_url: str | None = None
    invites: list[tuple[str, str]] = field(default_factory=list)  # (principal href, "read" | "read-write")
    owner: str | None = None  # owner principal (Nextcloud: "principals/users/<uid>"), when the server says
    deleted_at: str | None = None  # Nextcloud: when it went to the trash bin (deleted calendars only)


class CalendarHome(dict):
    """The live calendars of a home by last path segment (what `CalDAVClient.calendars` returns).

    `deleted`: calendars in Nextcloud's trash bin (resource type nc:deleted-calendar), kept apart because
    they are not usable: writes into them succeed and nobody sees them. `subscriptions`: how many
    subscriptions the home holds (they count against Nextcloud's calendar limit).
    """

    def __init__(self, live=(), *, deleted: dict[str, CalendarInfo] | None = None, subscriptions: int = 0):
        super().__init__(live)
        self.deleted: dict[str, CalendarInfo] = deleted or {}
        self.subscriptions = subscriptions

    def owned_count(self, owner: str | None = None) -> int:
        """Calendars and subscriptions that count against Nextcloud's per-account limit: the account's own
        calendars, live or in the trash bin, without the birthday calendar, plus its subscriptions."""
        own = [c for c in [*self.values(), *self.deleted.values()]
               if c.name != BIRTHDAY_CALENDAR and (owner is None or c.owner in (None, owner))]
        return len(own) + self.subscriptions


@dataclass
class Listing:
    items: dict[str, str]  # absolute href -> normalized ETag
    deleted: set[str]
    sync_token: str | None
    full: bool  # True: `items` is the whole collection; False: only changes since the token


class CalDAVClient:
    """CalDAV operations on one calendar home."""

    def __init__(self, http: HttpClient, home_url: str):
        self.http = http
        self.home_url = canonical_href(home_url, item_key(home_url).rstrip("/") + "/")

    def url(self, href: str) -> str:
        """The canonical absolute URL of a href: a URL as any server spells it, or a decoded path (a key)."""
        if urlsplit(href).scheme:
            return canonical_href(href, item_key(href))
        return canonical_href(self.home_url, href)

    # -- calendars -----------------------------------------------------------------------------
    def calendars(self, *, ctag: bool = False) -> CalendarHome:
        """The calendar collections in the home (one PROPFIND Depth 1), keyed by last path segment.

        Calendars in Nextcloud's trash bin come back apart, in `.deleted`. The ctag is asked for only
        when a calendar names no sync-token (a second PROPFIND): some servers (Radicale) compute each
        from every item, and the sync-token alone then costs half as much.
        """
        body = _CALENDARS_PROPFIND.format(ctag="<cs:getctag/>" if ctag else "")
        resp = self.http.request("PROPFIND", self.home_url, headers={**_XML, "Depth": "1"},
                                 data=body.encode(), expect=(207,))
        home = CalendarHome()
        for r in dx.parse_multistatus(resp.content).responses:
            rt = r.props.get(dx.clark("d:resourcetype"))
            if rt is None:
                continue
            if rt.find(_SUBSCRIBED) is not None:
                home.subscriptions += 1
                continue
            deleted = rt.find(_DELETED_CALENDAR) is not None
            if not deleted and rt.find(dx.clark("c:calendar")) is None:
                continue
            href = canonical_href(self.home_url, r.href).rstrip("/") + "/"
            if item_key(href).rstrip("/").rsplit("/", 1)[0] != item_key(self.home_url).rstrip("/"):
                continue  # not a collection of this home (another account's, or elsewhere): never ours to touch
            name = r.href.rstrip("/").rsplit("/", 1)[-1]
            comps = r.props.get(dx.clark("c:supported-calendar-component-set"))
            components = frozenset(c.get("name", "").upper() for c in comps) if comps is not None else frozenset()
            publish = r.props.get(dx.clark("cs:publish-url"))
            publish_url = (publish.findtext(dx.clark("d:href")) or "").strip() or None if publish is not None else None
            owner = r.props.get(dx.clark("oc:owner-principal"))
            info = CalendarInfo(
                href=href, name=name, displayname=r.text("d:displayname"), ctag=r.text("cs:getctag"),
                sync_token=r.text("d:sync-token"), components=components, publish_url=publish_url,
                invites=_invites(r.props.get(dx.clark("oc:invite"))),
                owner=_principal(owner) if owner is not None else None,
                deleted_at=r.text(_DELETED_AT) if deleted else None)
            (home.deleted if deleted else home)[name] = info
        if not ctag and any(info.sync_token is None for info in home.values()):
            return self.calendars(ctag=True)
        return home

    @property
    def principal(self) -> str:
        """The owner principal of this home as Nextcloud names it: "principals/users/<uid>"."""
        return "principals/users/" + dx.href_path(self.home_url).rstrip("/").rsplit("/", 1)[-1]

    def create_calendar(self, name: str, displayname: str, *, description: str = "",
                        components: tuple[str, ...] = ("VEVENT", "VTODO"), color: str | None = None) -> str:
        """MKCALENDAR <home>/<name>/ (time zone Asia/Ho_Chi_Minh); an existing calendar (405) is fine.

        Returns the calendar's absolute href.
        """
        href = join_url(self.home_url, name) + "/"
        props = [f"<d:displayname>{escape(displayname)}</d:displayname>"]
        if color:
            props.append(f"<a:calendar-color>{escape(color)}</a:calendar-color>")
        if description:
            props.append(f"<c:calendar-description>{escape(description)}</c:calendar-description>")
        props.append(f"<c:calendar-timezone>{escape(_VTIMEZONE_HCM)}</c:calendar-timezone>")
        props.append("<c:supported-calendar-component-set>"
                     + "".join(f'<c:comp name="{escape(c)}"/>' for c in components)
                     + "</c:supported-calendar-component-set>")
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" '
                'xmlns:a="http://apple.com/ns/ical/"><d:set><d:prop>'
                + "".join(props) + "</d:prop></d:set></c:mkcalendar>")
        resp = self.http.request("MKCALENDAR", href, headers=_XML, data=body.encode(),
                                 expect=(201, 200, 403, 405, 409))
        if resp.status_code == 403 and b"Calendar limit reached" in (resp.content or b""):
            # Nextcloud's cap on calendars + subscriptions per account (dav maximumCalendarsSubscriptions).
            error = self.http.error_for(resp, "MKCALENDAR", href)
            raise RateLimited(str(error), status=403, method="MKCALENDAR", url=error.url)
        # "Already exists" is 405 on Nextcloud, 409 on Radicale, 403 per RFC 4791; 403/409 can also
        # mean something else (no home, no right), so those are only accepted for an existing calendar.
        if resp.status_code in (403, 409) and not self._is_calendar(href):
            raise self.http.error_for(resp, "MKCALENDAR", href)
        if resp.status_code != 201:
            log.debug("calendar %s already exists", name)
        return href

    def set_displayname(self, href: str, displayname: str) -> None:
        """PROPPATCH a calendar's display name (what calendar apps show)."""
        body = ('<?xml version="1.0" encoding="utf-8"?>\n<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop>'
                f"<d:displayname>{escape(displayname)}</d:displayname></d:prop></d:set></d:propertyupdate>")
        self.http.request("PROPPATCH", href, headers=_XML, data=body.encode("utf-8"), expect=(200, 207))

    def delete_calendar(self, href: str, *, permanently: bool = False) -> None:
        """Delete a calendar; one already gone is fine.

        Nextcloud moves a deleted calendar to its trash bin for 30 days (where it still counts against
        the account's calendar limit); `permanently` removes it for good (X-NC-CalDAV-No-Trashbin), also
        one already in the trash bin. Other servers ignore the header.
        """
        headers = {"X-NC-CalDAV-No-Trashbin": "1"} if permanently else {}
        self.http.request("DELETE", href, headers=headers, expect=(200, 204, 404))

    def restore_calendar(self, name: str) -> str:
        """Bring a calendar back from Nextcloud's trash bin, with its items and shares.

        MOVE of the deleted calendar to <home>/trashbin/restore/<name>; returns the calendar's href.
        """
        href = join_url(self.home_url, name) + "/"
        self.http.request("MOVE", href, headers={"Destination": join_url(self.home_url, "trashbin", "restore", name)},
                          expect=(201, 204))
        return href

    def _is_calendar(self, href: str) -> bool:
        body = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>'
        resp = self.http.request("PROPFIND", href, headers={**_XML, "Depth": "0"}, data=body, expect=(207, 404))
        if resp.status_code != 207:
            return False
        return any((rt := r.props.get(dx.clark("d:resourcetype"))) is not None
                   and rt.find(dx.clark("c:calendar")) is not None
                   for r in dx.parse_multistatus(resp.content).responses)

    # -- items ---------------------------------------------------------------------------------
    def item_href(self, cal_href: str, uid: str) -> str:
        """Where the item with this UID lives: <calendar>/<uid>.ics."""
        return cal_href.rstrip("/") + "/" + quote(unicodedata.normalize("NFC", uid), safe="") + ".ics"

    def list_items(self, cal_href: str, sync_token: str | None = None) -> Listing:
        """Members of a calendar with their ETags.

        With a token: only the changes (deleted members in `deleted`). An invalid token falls back
        to a full listing; a server without sync-collection falls back to PROPFIND Depth 1.
        """
        cal_href = self.url(cal_href)
        if sync_token:
            resp = self._sync_report(cal_href, sync_token)
            if resp.status_code == 207:
                listing = self._parse_sync(cal_href, resp.content, full=False)
                # A token the server never issued (e.g. after a restore) may come back as an empty
                # change list with a different token (Nextcloud e16); only a full listing is safe then.
                if listing.items or listing.deleted or listing.sync_token == sync_token:
                    return listing
                log.info("sync token for %s not recognised by the server; listing in full", cal_href)
            elif _invalid_token(resp):
                log.info("sync token for %s rejected (%s); listing in full", cal_href, resp.status_code)
            elif resp.status_code in (403, 405, 501):
                return self._propfind_listing(cal_href)
            else:
                raise self.http.error_for(resp, "REPORT", cal_href)
        resp = self._sync_report(cal_href, "")
        if resp.status_code == 207:
            return self._parse_sync(cal_href, resp.content, full=True)
        if resp.status_code in (403, 405, 501) and not _invalid_token(resp):
            return self._propfind_listing(cal_href)
        raise self.http.error_for(resp, "REPORT", cal_href)

    def _sync_report(self, cal_href: str, token: str):
        token_el = f"<d:sync-token>{escape(token)}</d:sync-token>" if token else "<d:sync-token/>"
        body = ('<?xml version="1.0" encoding="utf-8"?>\n'
                '<d:sync-collection xmlns:d="DAV:">' + token_el
                + "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>")
        return self.http.request("REPORT", cal_href, headers={**_XML, "Depth": "1"}, data=body.encode(),
                                 expect=(207, 400, 403, 405, 409, 412, 418, 501))

    def _parse_sync(self, cal_href: str, body: bytes, *, full: bool) -> Listing:
        ms = dx.parse_multistatus(body)
        own = dx.href_path(cal_href).rstrip("/")
        items: dict[str, str] = {}
        deleted: set[str] = set()
        for r in ms.responses:
            if r.href.rstrip("/") == own:
                continue
            href = canonical_href(cal_href, r.href)
            if r.status == 404:
                deleted.add(href)
            elif r.has("d:getetag"):
                items[href] = normalize_etag(r.text("d:getetag")) or ""
        return Listing(items, deleted, ms.sync_token, full)

    def _propfind_listing(self, cal_href: str) -> Listing:
        resp = self.http.request("PROPFIND", cal_href, headers={**_XML, "Depth": "1"},
                                 data=_ETAG_PROPFIND.encode(), expect=(207,))
        own = dx.href_path(cal_href).rstrip("/")
        items = {}
        for r in dx.parse_multistatus(resp.content).responses:
            rt = r.props.get(dx.clark("d:resourcetype"))
            if r.href.rstrip("/") == own or (rt is not None and rt.find(dx.clark("d:collection")) is not None):
                continue
            if r.has("d:getetag"):
                items[canonical_href(cal_href, r.href)] = normalize_etag(r.text("d:getetag")) or ""
        return Listing(items, set(), None, True)

    def fetch(self, cal_href: str, hrefs, batch: int = 200) -> dict[str, tuple[str, str]]:
        """href -> (ETag, iCalendar text) via calendar-multiget; hrefs the server lacks are omitted."""
        cal_href = self.url(cal_href)
        hrefs = [self.url(urljoin(cal_href, h)) for h in hrefs]
        out: dict[str, tuple[str, str]] = {}
        for i in range(0, len(hrefs), batch):
            chunk = hrefs[i:i + batch]
            body = ('<?xml version="1.0" encoding="utf-8"?>\n'
                    '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
                    "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
                    + "".join(f"<d:href>{escape(urlsplit(urljoin(cal_href, h)).path)}</d:href>" for h in chunk)
                    + "</c:calendar-multiget>")
            resp = self.http.request("REPORT", cal_href, headers={**_XML, "Depth": "1"},
                                     data=body.encode(), expect=(207,))
            for r in dx.parse_multistatus(resp.content).responses:
                data = r.text("c:calendar-data")
                if r.status == 200 and data:
                    out[canonical_href(cal_href, r.href)] = (normalize_etag(r.text("d:getetag")) or "", data)
        return out

    def put(self, href: str, ics: str, *, etag: str | None = None, create: bool = False) -> str | None:
        """Write one item, always conditionally: create -> If-None-Match: *, else If-Match: etag.
        Returns the new ETag when the server names one (None otherwise: learn it from a listing).

        A changed or already existing item raises PreconditionFailed; an update without an ETag is refused
        (ValueError): read the item first.
        """
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if create:
            headers["If-None-Match"] = "*"
        elif etag:
            headers["If-Match"] = quote_etag(etag)
        else:
            raise ValueError(f"refusing an unconditional update of {href}: read its ETag first")
        resp = self.http.request("PUT", href, headers=headers, data=ics.encode("utf-8"), expect=(200, 201, 204))
        return normalize_etag(resp.headers.get("ETag"))

    def delete(self, href: str, etag: str | None = None) -> None:
        """Delete one item (If-Match when etag is given); an item already gone is not an error."""
        headers = {"If-Match": quote_etag(etag)} if etag else {}
        self.http.request("DELETE", href, headers=headers, expect=(200, 204, 404))


def _invalid_token(resp) -> bool:
    """Does this error answer mean "your sync token is no good"? (Nextcloud/Radicale 403, Xandikos 412, old 418)."""
    if resp.status_code in (412, 418):
        return True
    return 400 <= resp.status_code < 500 and b"valid-sync-token" in (resp.content or b"")


def _principal(el) -> str | None:
    """An owner-principal property: text ("principals/users/x") or a <d:href> inside; no slashes at the ends."""
    path = dx.href_path((el.findtext(dx.clark("d:href")) or el.text or "").strip()).strip("/")
    return path[path.find("principals/"):] if "principals/" in path else (path or None)


def _invites(el) -> list[tuple[str, str]]:
    if el is None:
        return []
    out = []
    for user in el.findall(dx.clark("oc:user")):
        href = (user.findtext(dx.clark("d:href")) or "").strip()
        access = user.find(dx.clark("oc:access"))
        rw = access is not None and access.find(dx.clark("oc:read-write")) is not None
        if href:
            out.append((href, "read-write" if rw else "read"))
    return out
