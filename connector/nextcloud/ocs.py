"""Nextcloud OCS: capabilities, groups, shares, notifications.

Built on nextcloud-api-wrapper 0.2.3 (the project's chosen OCS library), with every request
routed through the connector's own HttpClient/Session. Its known defects and how they are contained:

- Requester.headers is ONE class-level dict shared by its OCS and WebDAV requesters, cached per
  method: after a WebDAV PUT an OCS PUT goes out without `OCS-APIRequest: true` (Nextcloud: 412
  "CSRF check failed"). -> `_RoutedSession.request` adds the OCS headers to every request itself.
- URL segments and ids are not escaped; integer share ids crash (`"/".join` on an int).
  -> we quote every segment and pass ids as strings.
- NextCloud(endpoint=".../prefix") writes the prefix onto the wrapper *classes* (shared by all
  clients in the process). -> we never build a NextCloud object; each wrapper instance gets its
  own API_URL and a session whose `url` is our base URL.
- No default timeout (and session_kwargs timeouts are dropped after login()). -> HttpClient
  always sends its timeout.
- create_share has no expireDate/note/label, update_share allows one field per request and
  always sends `expireDate=` (which clears an expiry set at creation). -> those calls go through
  `_call`, the same Session without the wrapper.

Nextcloud 34 answers two things a client must tell apart from plain failures: `429` on share creation
(20 per account per 10 minutes; an empty body, no Retry-After) -> RateLimited from the HTTP layer, and
`403 "Password confirmation is required"` on group creation with an app password ->
PasswordConfirmationRequired (decoded here, from the OCS envelope).
"""
from __future__ import annotations

import unicodedata
from datetime import date, datetime
from urllib.parse import quote, urlsplit

import requests
from nextcloud.api_wrappers.capabilities import Capabilities
from nextcloud.api_wrappers.group import Group
from nextcloud.api_wrappers.share import Share as _ShareWrapper
from pydantic import BaseModel, field_validator

from connector.dav.http import HttpClient, make_session, url_path
from connector.errors import PasswordConfirmationRequired, ServerError

OCS_HEADERS = {"OCS-APIRequest": "true", "Accept": "application/json"}
# OCS answers failures with a JSON body (HTTP 400/403/404 on v2): read it instead of raising early.
# 401 and 429 (no OCS body) are left to the HTTP layer: AuthError, RateLimited.
_OCS_EXPECT = tuple(s for s in range(200, 500) if s not in (401, 429))
# The message of Nextcloud's NotConfirmedException, in the OCS envelope of a 403.
_NOT_CONFIRMED = "password confirmation is required"

SHARES_API = "/ocs/v2.php/apps/files_sharing/api/v1"
SHARE_GROUP = 1
SHARE_LINK = 3

_FIELD_NAMES = {"expire_date": "expireDate", "public_upload": "publicUpload", "hide_download": "hideDownload",
                "send_password_by_talk": "sendPasswordByTalk"}


class Share(BaseModel):
    """One OCS share as Nextcloud 29 and 34 report it."""

    id: str
    share_type: int
    share_with: str | None = None
    uid_owner: str | None = None  # who made the share (the connector's account, or a person)
    permissions: int
    path: str
    token: str | None = None
    url: str | None = None
    expiration: date | None = None
    note: str = ""
    label: str = ""

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, v):
        return str(v)

    @field_validator("note", "label", mode="before")
    @classmethod
    def _none_empty(cls, v):
        return v or ""

    @field_validator("expiration", mode="before")
    @classmethod
    def _date_part(cls, v):
        # "2027-12-31 00:00:00" (NC 29) and "2027-12-31 23:59:59" (NC 34) mean the same day.
        if isinstance(v, str):
            return v.strip()[:10] or None
        return v


class _RoutedSession:
    """The `session` nextcloud-api-wrapper's requesters call, sending through our HttpClient."""

    def __init__(self, http: HttpClient, base_url: str):
        self.http = http
        self.url = base_url.rstrip("/")
        self.user = http.user

    def request(self, method, url, headers=None, params=None, data=None, **_ignored):
        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, params)
        # Copy: the wrapper hands out its shared class-level cache dict.
        merged = {**(headers or {}), **OCS_HEADERS}
        return self.http.request(method.upper(), prepared.url, headers=merged, data=data, expect=_OCS_EXPECT)


class _WrapperClient:
    def __init__(self, session: _RoutedSession):
        self.session = session

    @property
    def user(self):
        return self.session.user


class OCSClient:
    """The OCS calls the connector needs, for one Nextcloud at `base_url`."""

    def __init__(self, http: HttpClient, base_url: str):
        self.http = http
        self.base_url = base_url.rstrip("/")
        client = _WrapperClient(_RoutedSession(http, self.base_url))
        self._caps = Capabilities(client)
        self._groups = Group(client)
        self._shares = _ShareWrapper(client)
        # Instance attributes: the classes' API_URL may carry another client's prefix.
        self._caps.API_URL = "/ocs/v2.php/cloud/capabilities"
        self._groups.API_URL = "/ocs/v2.php/cloud/groups"
        self._shares.API_URL = SHARES_API

    # -- plumbing ------------------------------------------------------------------------------
    def _data(self, resp: requests.Response, *, ok_codes=(100, 200)):
        method = resp.request.method
        path = url_path(resp.request.url)
        kw = {"status": resp.status_code, "method": method, "url": resp.request.url}
        try:
            payload = resp.json()
        except ValueError:
            raise ServerError(f"not an OCS answer (HTTP {resp.status_code}) during {method} {path}", **kw) from None
        meta = (payload.get("ocs") or {}).get("meta") if isinstance(payload, dict) else None
        if not meta:
            message = payload.get("message", "") if isinstance(payload, dict) else ""
            if resp.status_code == 412 and "CSRF" in message:
                raise ServerError(f"CSRF check failed (412) during {method} {path}: "
                                  "the request lacked the OCS-APIRequest header", **kw)
            raise ServerError(f"not an OCS answer (HTTP {resp.status_code}) during {method} {path}", **kw)
        code = meta.get("statuscode")
        if resp.status_code < 400 and code in ok_codes:
            return payload["ocs"].get("data")
        message = " ".join(str(meta.get("message") or meta.get("status") or "").split())
        if resp.status_code == 403 and _NOT_CONFIRMED in message.lower():
            raise PasswordConfirmationRequired(
                f"Nextcloud asks for password confirmation (HTTP 403) during {method} {path}: an app password "
                "cannot give it", ocs_status=code, **kw)
        raise ServerError(f"OCS error {code} (HTTP {resp.status_code}{': ' + message if message else ''}) "
                          f"during {method} {path}", ocs_status=code, **kw)

    def _call(self, method: str, path: str, data: dict | None = None) -> requests.Response:
        """One OCS request without the wrapper (same Session, same headers)."""
        url = self.base_url + path
        if method == "GET":
            url += ("&" if "?" in url else "?") + "format=json"
        return self.http.request(method, url, headers=dict(OCS_HEADERS), data=data, expect=_OCS_EXPECT)

    # -- server --------------------------------------------------------------------------------
    def capabilities(self) -> dict:
        """The `data` of /cloud/capabilities: {"version": {...}, "capabilities": {...}}."""
        return self._data(self._caps.get_capabilities().raw) or {}

    def with_login_password(self, password: str) -> "OCSClient":
        """The same server and account through a session of its own that logs in with `password` (the
        account's login password, for the provisioning calls Nextcloud 34 asks password confirmation for)."""
        session = make_session(self.http.user, password, verify=self.http.session.verify,
                               user_agent=self.http.session.headers.get("User-Agent", "plan-connector"))
        return OCSClient(HttpClient(session, timeout=self.http.timeout), self.base_url)

    def app_value(self, app: str, key: str) -> str | None:
        """An app setting through the provisioning API (admins only): its value, "" when it is at the
        default, None when the account may not read it."""
        path = f"/ocs/v2.php/apps/provisioning_api/api/v1/config/apps/{quote(app, safe='')}/{quote(key, safe='')}"
        try:
            data = self._data(self._call("GET", path))
        except ServerError as exc:
            if exc.status in (403, 404):
                return None
            raise
        return str((data or {}).get("data") or "")

    # -- groups --------------------------------------------------------------------------------
    def groups(self, search: str = "") -> list[str]:
        """Group ids, optionally filtered by a search string."""
        data = self._data(self._groups.get_groups(search=search or None).raw)
        return list((data or {}).get("groups", []))

    def create_group(self, gid: str) -> bool:
        """Create a group: True if created, False if it already existed (HTTP 400 / OCS 102)."""
        resp = self._groups.add_group(gid).raw
        try:
            self._data(resp)
        except ServerError as exc:
            if exc.ocs_status == 102:
                return False
            raise
        return True

    def probe_group_creation(self) -> str:
        """May this login create groups? Asks to create a group with an empty name, which Nextcloud
        refuses without side effects once the caller is allowed to ask: "ok" (OCS 101, invalid name),
        "confirm" (403 password confirmation required: Nextcloud 34 with an app password) or "forbidden"
        (403: not an admin)."""
        try:
            self._data(self._call("POST", "/ocs/v2.php/cloud/groups", {"groupid": ""}))
        except PasswordConfirmationRequired:
            return "confirm"
        except ServerError as exc:
            if exc.status == 403:
                return "forbidden"
            if exc.ocs_status == 101 or exc.status == 400:
                return "ok"
            raise
        return "ok"  # never seen: an empty name accepted

    def group_members(self, gid: str) -> list[str]:
        """User ids in a group."""
        resp = self._groups.requester.get(quote(gid, safe="") + "/users").raw
        return list((self._data(resp) or {}).get("users", []))

    # -- shares --------------------------------------------------------------------------------
    def shares(self, path: str, subfiles: bool = False) -> list[Share]:
        """Shares of a path (relative to the user's files, "/"-separated), including others' reshares."""
        resp = self._shares.get_shares_from_path(_share_path(path), reshares=True, subfiles=subfiles or None).raw
        return [Share.model_validate(s) for s in self._data(resp) or []]

    def create_group_share(self, path: str, gid: str, permissions: int, note: str | None = None) -> Share:
        """Share a folder with a group (e.g. permissions 5 = read + create)."""
        data = {"path": _share_path(path), "shareType": SHARE_GROUP, "shareWith": gid, "permissions": permissions}
        if note:
            data["note"] = note
        # Direct: the wrapper's create_share cannot send a note.
        return Share.model_validate(self._data(self._call("POST", SHARES_API + "/shares", data)))

    def create_link_share(self, path: str, *, permissions: int = 4, expire_date: date | None = None,
                          note: str | None = None, label: str | None = None) -> Share:
        """A public link; permissions 4 = file drop (upload only).

        Nextcloud 29 answers 21 when asked for 4; a follow-up update then sets 4 (34 gives 4 at once).
        """
        data: dict = {"path": _share_path(path), "shareType": SHARE_LINK, "permissions": permissions}
        if expire_date:
            data["expireDate"] = expire_date.isoformat()
        if note:
            data["note"] = note
        if label:
            data["label"] = label
        # Direct: the wrapper's create_share has no expireDate, note or label.
        share = Share.model_validate(self._data(self._call("POST", SHARES_API + "/shares", data)))
        if share.permissions != permissions:
            share = self.update_share(share.id, permissions=permissions)
            if share.permissions != permissions:
                raise ServerError(f"link share {share.id} on {path} kept permissions {share.permissions} "
                                  f"instead of {permissions}", method="PUT")
        return share

    def update_share(self, share_id: str | int, **fields) -> Share:
        """Change a share in one request: permissions, expire_date, note, label, password, public_upload, ..."""
        data = {}
        for key, value in fields.items():
            if isinstance(value, (date, datetime)):
                value = value.strftime("%Y-%m-%d")
            elif isinstance(value, bool):
                value = "true" if value else "false"
            data[_FIELD_NAMES.get(key, key)] = value
        # Direct: the wrapper sends one field per request and always adds an empty expireDate.
        resp = self._call("PUT", f"{SHARES_API}/shares/{quote(str(share_id), safe='')}", data)
        return Share.model_validate(self._data(resp))

    def delete_share(self, share_id: str | int) -> None:
        """Remove a share."""
        self._data(self._shares.delete_share(quote(str(share_id), safe="")).raw)

    # -- notifications -------------------------------------------------------------------------
    def notify(self, uid: str, short_message: str, long_message: str = "") -> None:
        """An admin notification to one user (needs the notifications app; the caller must be admin)."""
        data = {"shortMessage": short_message}
        if long_message:
            data["longMessage"] = long_message
        # Direct: the wrapper has no admin_notifications endpoint.
        self._data(self._call("POST", "/ocs/v2.php/apps/notifications/api/v2/admin_notifications/"
                              + quote(uid, safe=""), data))


def _share_path(path: str) -> str:
    return "/" + unicodedata.normalize("NFC", path).strip("/")


def base_url_of(dav_url: str) -> str:
    """The Nextcloud base URL (with any sub-path prefix) from one of its remote.php URLs."""
    parts = urlsplit(dav_url)
    prefix = parts.path.split("/remote.php/", 1)[0] if "/remote.php/" in parts.path else parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{prefix}"
