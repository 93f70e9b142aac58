"""A live Nextcloud for the tests: the release in ../shared/nextcloud started by `nc-server`, or any
server named in the environment.

    PLAN_CONNECTOR_TEST_NEXTCLOUD_URL            https://cloud.example.org (a throwaway server!)
    PLAN_CONNECTOR_TEST_NEXTCLOUD_USER           an admin account (default "admin")
    PLAN_CONNECTOR_TEST_NEXTCLOUD_PASSWORD       its login password, or
    PLAN_CONNECTOR_TEST_NEXTCLOUD_PASSWORD_FILE  a file holding it

Tests never share accounts: each asks for its own bot account (an admin with its own app password, so
its own calendar home, files and rate-limit budget) and its own groups and unit members, all named with
a per-test prefix. The login password of the server's admin is used only for provisioning, as an admin
would at the console (Nextcloud 34 asks for password confirmation there).
"""
from __future__ import annotations

import itertools
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

NC_SERVER = Path(__file__).resolve().parents[2] / "shared" / "nextcloud" / "nc-server"
if not NC_SERVER.is_file():  # the checkout may live elsewhere; the shared folder is at /work/shared
    NC_SERVER = Path("/work/shared/nextcloud/nc-server")

ENV_URL = "PLAN_CONNECTOR_TEST_NEXTCLOUD_URL"
OCS = {"OCS-APIRequest": "true", "Accept": "application/json"}


@dataclass
class Account:
    """A Nextcloud user made for one test: login password and (for bots) an app password."""

    user: str
    password: str
    app_password: str | None = None

    def session(self, *, app: bool = True) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.auth = (self.user, self.app_password if app and self.app_password else self.password)
        return s


class LiveNextcloud:
    """Provisioning on a live server: accounts, groups, members, app config, occ where it runs locally."""

    _serial = itertools.count(1)

    def __init__(self, url: str, admin: str, admin_password: str, *, server_dir: Path | None = None):
        self.url = url.rstrip("/")
        self.admin = admin
        self.admin_password = admin_password
        self.server_dir = server_dir  # set when the tests started the server themselves (occ works)
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.auth = (admin, admin_password)
        self.version = self.http.get(f"{self.url}/status.php", timeout=30).json().get("versionstring", "?")

    # -- low level ---------------------------------------------------------------------------
    def ocs(self, method: str, path: str, *, auth: tuple[str, str] | None = None, **data) -> dict:
        """One OCS v2 call as the admin (or `auth`); returns `ocs.data`, raises on a failed status."""
        # Another user's call goes without the admin session's cookies (they would win over `auth`).
        http = self.http if auth is None else Account(*auth).session(app=False)
        r = http.request(method, f"{self.url}/ocs/v2.php/{path.lstrip('/')}", headers=OCS,
                         data=data or None, timeout=60)
        try:
            meta = r.json()["ocs"]["meta"]
        except ValueError:
            raise AssertionError(f"{method} {path}: HTTP {r.status_code} {r.text[:300]}") from None
        if meta.get("statuscode") not in (100, 200):
            raise AssertionError(f"{method} {path}: {meta}")
        return r.json()["ocs"]["data"]

    def occ(self, *args: str) -> str:
        """Run occ on the local server (only when the tests started it)."""
        if self.server_dir is None:
            raise RuntimeError("occ needs the server the tests started; this one is remote")
        out = subprocess.run(["php", "-d", "apc.enable_cli=1", "-d", "memory_limit=1G", "occ", *args],
                             cwd=self.server_dir / "nextcloud", capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise AssertionError(f"occ {' '.join(args)}: {out.stdout}{out.stderr}")
        return out.stdout

    # -- provisioning ------------------------------------------------------------------------
    def prefix(self) -> str:
        """A short name prefix no other test of this session uses (and no earlier session, remotely)."""
        return f"t{next(self._serial)}{secrets.token_hex(2)}"

    def create_group(self, gid: str) -> str:
        self.ocs("POST", "cloud/groups", groupid=gid)
        return gid

    def create_user(self, uid: str, *, groups: tuple[str, ...] = (), display_name: str | None = None,
                    app_password: bool = False) -> Account:
        password = f"Pc-{secrets.token_urlsafe(12)}-9a"
        data = {"userid": uid, "password": password}
        if display_name:
            data["displayName"] = display_name
        self.ocs("POST", "cloud/users", **data)
        for gid in groups:
            self.add_member(uid, gid)
        account = Account(uid, password)
        if app_password:
            account.app_password = self.ocs("GET", "core/getapppassword", auth=(uid, password))["apppassword"]
        return account

    def add_member(self, uid: str, gid: str) -> None:
        self.ocs("POST", f"cloud/users/{quote(uid, safe='')}/groups", groupid=gid)

    def bot(self, prefix: str, *, admin: bool = True) -> Account:
        """The account the connector runs as in one test: an admin (groups, notifications) with an app password."""
        return self.create_user(f"{prefix}-bot", groups=("admin",) if admin else (), app_password=True)

    def set_app_config(self, app: str, key: str, value: str) -> None:
        """Server-wide app setting (e.g. dav limits); with the login password, as an admin would."""
        self.ocs("POST", f"apps/provisioning_api/api/v1/config/apps/{app}/{key}", value=value)

    def delete_app_config(self, app: str, key: str) -> None:
        self.ocs("DELETE", f"apps/provisioning_api/api/v1/config/apps/{app}/{key}")

    def notifications(self, account: Account) -> list[dict]:
        """What a user sees in their notification bell."""
        r = account.session(app=False).get(f"{self.url}/ocs/v2.php/apps/notifications/api/v2/notifications",
                                           headers=OCS, timeout=60)
        r.raise_for_status()
        return r.json()["ocs"]["data"]


def start_local(server_dir: Path, port: int) -> dict[str, str]:
    """`nc-server start` in server_dir; returns its KEY=VALUE lines."""
    out = subprocess.run([str(NC_SERVER), "start", str(server_dir), str(port)], capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"nc-server start failed: {out.stderr.strip() or out.stdout.strip()}")
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def stop_local(server_dir: Path) -> None:
    subprocess.run([str(NC_SERVER), "stop", str(server_dir)], capture_output=True, timeout=60)


def local_unavailable_reason() -> str | None:
    """Why the bundled server cannot start here (None when it can)."""
    if not NC_SERVER.is_file():
        return f"no {NC_SERVER} (the shared Nextcloud release)"
    if shutil.which("php") is None:
        return "php is not installed (as root: ../shared/nextcloud/nc-server deps); .ci/run installs it"
    return None


def from_environment() -> LiveNextcloud | None:
    url = os.environ.get(ENV_URL)
    if not url:
        return None
    user = os.environ.get("PLAN_CONNECTOR_TEST_NEXTCLOUD_USER", "admin")
    password = os.environ.get("PLAN_CONNECTOR_TEST_NEXTCLOUD_PASSWORD")
    if not password and os.environ.get("PLAN_CONNECTOR_TEST_NEXTCLOUD_PASSWORD_FILE"):
        password = Path(os.environ["PLAN_CONNECTOR_TEST_NEXTCLOUD_PASSWORD_FILE"]).read_text().strip()
    if not password:
        raise RuntimeError(f"{ENV_URL} is set but neither PLAN_CONNECTOR_TEST_NEXTCLOUD_PASSWORD nor "
                           "PLAN_CONNECTOR_TEST_NEXTCLOUD_PASSWORD_FILE is")
    return LiveNextcloud(url, user, password)


# -- what a user sees in their calendar app ------------------------------------------------------

_D, _C = "{DAV:}", "{urn:ietf:params:xml:ns:caldav}"
_HOME_PROPS = (b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/><d:resourcetype/>'
               b"</d:prop></d:propfind>")
_ALL_ITEMS = b"""<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR"/></c:filter>
</c:calendar-query>"""


def calendar_home(session: requests.Session, url: str, user: str) -> dict[str, tuple[str, str]]:
    """name -> (displayname, "calendar" | "deleted-calendar"), as a calendar app lists the user's home."""
    import defusedxml.ElementTree as ET

    r = session.request("PROPFIND", f"{url}/remote.php/dav/calendars/{user}/", data=_HOME_PROPS,
                        headers={"Depth": "1", "Content-Type": "application/xml"})
    assert r.status_code == 207, r.text[:300]
    out = {}
    for resp in ET.fromstring(r.content).iter(f"{_D}response"):
        rt = resp.find(f".//{_D}resourcetype")
        kind = ("calendar" if rt is not None and rt.find(f"{_C}calendar") is not None
                else "deleted-calendar" if rt is not None and rt.find("{http://nextcloud.com/ns}deleted-calendar") is not None
                else None)
        if kind:
            name = resp.findtext(f"{_D}href").rstrip("/").rsplit("/", 1)[1]
            out[name] = (resp.findtext(f".//{_D}displayname") or "", kind)
    return out


def calendars_of(session: requests.Session, url: str, user: str) -> dict[str, str]:
    """displayname -> calendar URL of the user's live calendars."""
    return {display: f"{url}/remote.php/dav/calendars/{user}/{name}/"
            for name, (display, kind) in calendar_home(session, url, user).items() if kind == "calendar"}


def components(session: requests.Session, cal_url: str, kind: str) -> list:
    """Every VEVENT or VTODO of a calendar, as icalendar components (one calendar-query)."""
    import defusedxml.ElementTree as ET
    from icalendar import Calendar

    r = session.request("REPORT", cal_url, data=_ALL_ITEMS, headers={"Depth": "1", "Content-Type": "application/xml"})
    assert r.status_code == 207, r.text[:300]
    return [c for d in ET.fromstring(r.content).iter(f"{_C}calendar-data") for c in Calendar.from_ical(d.text).walk(kind)]
