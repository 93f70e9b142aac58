"""The embedded default: a real CalDAV server (Radicale) and a real WebDAV server (WsgiDAV).

Both run in-process on cheroot, each in a daemon thread, with their data under one directory:

    <data_dir>/credentials.toml   the login (mode 0600), reused by later runs and by `serve`
    <data_dir>/htpasswd           Radicale's user file (plain text, mode 0600)
    <data_dir>/caldav/            Radicale's collections
    <data_dir>/files/             the tree WsgiDAV serves at "/"

The sync and collect code talks to them over HTTP exactly as it talks to Nextcloud. Like Nextcloud's, the
WebDAV server's folder ETags change when anything beneath them changes (see folder_etags).
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import signal
import sys
import threading
import tomllib
from datetime import datetime
from pathlib import Path
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import quote, urljoin

import tomli_w

from connector.errors import ConfigError, InputError, ServerError
from connector.log import register_secret

log = logging.getLogger("plan-connector.embedded")

CREDENTIALS_FILE = "credentials.toml"
SERVING_FILE = "serving.toml"  # written by `serve` while it runs: other runs use its servers
_CALDAV = "{urn:ietf:params:xml:ns:caldav}"
_THREADS = 10  # per server; the sync runs a bounded number of requests in parallel


class EmbeddedServers:
    """Radicale (CalDAV) and WsgiDAV (WebDAV) on `host`, data in `data_dir`; use as a context manager.

    Port 0 picks a free port. `password=None` reuses the one stored in `<data_dir>/credentials.toml`
    or generates and stores one. `extra_users` maps more user names to passwords (e.g. a unit's account).
    After `start()`: `caldav_url`, `calendar_home`, `files_root` (URLs ending in "/"), `files_dir`.
    `middleware` (tests only: fault injection) wraps each WSGI app: middleware("caldav" | "webdav", app) -> app.
    """

    def __init__(self, data_dir: Path, *, host: str = "127.0.0.1", caldav_port: int = 0, webdav_port: int = 0,
                 user: str = "admin", password: str | None = None, extra_users: dict[str, str] | None = None,
                 middleware: Callable[[str, Any], Any] | None = None):
        self.data_dir = Path(data_dir)
        self.host = host
        self.user = user
        self.password = password
        self.extra_users = dict(extra_users or {})
        self.files_dir = self.data_dir / "files"
        self.credentials_file = self.data_dir / CREDENTIALS_FILE
        self.caldav_url = ""
        self.calendar_home = ""
        self.files_root = ""
        self._ports = {"caldav": caldav_port, "webdav": webdav_port}
        self._middleware = middleware or (lambda _kind, app: app)
        self._servers: list = []
        self._threads: list[threading.Thread] = []

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> EmbeddedServers:
        """Start both servers and make sure every user's calendar home exists."""
        if self._servers:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.files_dir.mkdir(exist_ok=True)
        if self.password is None:
            self.password = _stored_or_new_password(self.credentials_file, self.user)
        register_secret(self.password)
        for secret in self.extra_users.values():
            register_secret(secret)
        try:
            caldav_port = self._serve(self._middleware("caldav", _radicale_app(self.data_dir, self._users())),
                                      self._ports["caldav"], "CalDAV")
            webdav_port = self._serve(self._middleware("webdav", _wsgidav_app(self.files_dir, self._users())),
                                      self._ports["webdav"], "WebDAV")
            base = _url_host(self.host)
            self.caldav_url = f"http://{base}:{caldav_port}/"
            self.calendar_home = f"{self.caldav_url}{quote(self.user)}/"
            self.files_root = f"http://{base}:{webdav_port}/"
            self._create_principals()
        except BaseException:
            self.stop()
            raise
        log.info("embedded CalDAV at %s, WebDAV at %s", self.caldav_url, self.files_root)
        return self

    def stop(self) -> None:
        """Stop both servers and release their ports."""
        for server in self._servers:
            server.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> EmbeddedServers:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @classmethod
    def attach(cls, data_dir: Path, user: str = "admin") -> "EmbeddedServers | None":
        """The servers a running `serve` keeps up for this data directory, or None.

        Sync and collect then use them (the same ports, so links in events stay the same) instead of
        starting a second pair on other ports.
        """
        data_dir = Path(data_dir)
        try:
            info = tomllib.loads((data_dir / SERVING_FILE).read_text(encoding="utf-8"))
            os.kill(int(info["pid"]), 0)
        except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError):
            return None
        servers = cls(data_dir, user=user)
        servers.password = _stored_or_new_password(servers.credentials_file, user)
        register_secret(servers.password)
        servers.caldav_url, servers.calendar_home, servers.files_root = (
            info["caldav_url"], info["calendar_home"], info["files_root"])
        return servers

    def _write_serving_file(self) -> None:
        info = {"pid": os.getpid(), "caldav_url": self.caldav_url, "calendar_home": self.calendar_home,
                "files_root": self.files_root}
        _write_private(self.data_dir / SERVING_FILE, tomli_w.dumps(info))

    def _remove_serving_file(self) -> None:
        try:
            info = tomllib.loads((self.data_dir / SERVING_FILE).read_text(encoding="utf-8"))
            if info.get("pid") == os.getpid():
                (self.data_dir / SERVING_FILE).unlink()
        except (OSError, tomllib.TOMLDecodeError):
            pass

    # -- helpers for the demo and tests -------------------------------------------------------

    def set_file_time(self, rel_path: str, when: datetime) -> None:
        """Set a file's access and modification time, which WebDAV reports as getlastmodified.

        A naive `when` is local time (as `datetime.timestamp` reads it).
        """
        path = (self.files_dir / rel_path.lstrip("/")).resolve()
        if not path.is_relative_to(self.files_dir.resolve()):
            raise InputError(f"not under the WebDAV root: {rel_path}")
        if not path.exists():
            raise InputError(f"no such file under the WebDAV root: {rel_path}")
        stamp = when.timestamp()
        os.utime(path, (stamp, stamp))

    # -- internals ----------------------------------------------------------------------------

    def _users(self) -> dict[str, str]:
        return {**self.extra_users, self.user: self.password}

    def _serve(self, app, port: int, what: str) -> int:
        from cheroot import wsgi

        server = wsgi.Server((self.host, port), app, numthreads=_THREADS, shutdown_timeout=1,
                             server_name=f"plan-connector-{what.lower()}")
        # stop() waits for the connection loop's next tick; cheroot's default 0.5 s would make
        # every test fixture and every `serve` shutdown that much slower.
        server.expiration_interval = 0.05
        try:
            server.prepare()
        except OSError as exc:
            raise ConfigError(f"cannot serve {what} on {self.host}:{port}: {exc.strerror or exc}") from exc
        thread = threading.Thread(target=server.serve, name=f"embedded-{what.lower()}", daemon=True)
        thread.start()
        self._servers.append(server)
        self._threads.append(thread)
        return server.bind_addr[1]

    def _create_principals(self) -> None:
        # Radicale creates a user's principal collection (the calendar home) on the user's first
        # authenticated request; do that now so MKCALENDAR under the home works right away.
        import requests

        with requests.Session() as session:
            session.trust_env = False
            for name, secret in self._users().items():
                url = f"{self.caldav_url}{quote(name)}/"
                resp = session.request("PROPFIND", url, auth=(name, secret), headers={"Depth": "0"}, timeout=10)
                if resp.status_code != 207:
                    raise ServerError(f"embedded CalDAV server did not create the home of {name}: HTTP {resp.status_code}",
                                      status=resp.status_code, method="PROPFIND", url=url)


def _url_host(host: str) -> str:
    """The host part of URLs clients on this machine use to reach a server bound to `host`."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)  # the file may have existed with wider permissions


def _stored_or_new_password(path: Path, user: str) -> str:
    """The password stored for `user` in the credentials file; else a new one, stored there."""
    if path.exists():
        try:
            stored = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the credentials: {exc}", path=str(path)) from exc
        if stored.get("user") == user and isinstance(stored.get("password"), str) and stored["password"]:
            return stored["password"]
    password = secrets.token_urlsafe(18)
    header = "# Login for the embedded CalDAV and WebDAV servers of plan-connector. Keep private.\n"
    _write_private(path, header + tomli_w.dumps({"user": user, "password": password}))
    return password


def _radicale_app(data_dir: Path, users: dict[str, str]):
    import radicale
    import radicale.config

    # Radicale logs to the "radicale" logger; we never call radicale.log.setup() (it would take over
    # the root logger), so its records go to our handlers, and only warnings and worse.
    logging.getLogger("radicale").setLevel(logging.ERROR)  # its 412 warnings are expected answers to conditional writes
    htpasswd = data_dir / "htpasswd"
    _write_private(htpasswd, "".join(f"{name}:{secret}\n" for name, secret in users.items()))
    storage = data_dir / "caldav"
    (storage / "collection-root").mkdir(parents=True, exist_ok=True)  # else Radicale warns on first start
    configuration = radicale.config.load()
    configuration.update({
        "auth": {"type": "htpasswd", "htpasswd_filename": str(htpasswd), "htpasswd_encryption": "plain",
                 "delay": "0"},
        "rights": {"type": "owner_only"},
        "storage": {"filesystem_folder": str(storage), "type": _radicale_storage()},
        "server": {"delay_on_error": "0"},
        "logging": {"level": "warning", "mask_passwords": "True"},
    }, "plan-connector embedded")
    return radicale.Application(configuration)


_TOKENS_FILE = "plan-connector-tokens.json"  # in a collection's .Radicale.cache: its tokens, by the folder's mtime
_SETTLED_NS = 2_000_000_000  # a folder unchanged this long has no write pending in its mtime's clock tick


def _radicale_storage():
    """Radicale's storage, with collection tokens kept between requests, as Nextcloud keeps them.

    Radicale works out a calendar's sync-token and ctag by reading every item (and its history) on each
    request: a PROPFIND of a home of 200 task lists reads 14,000 files to say nothing changed. Every write
    Radicale makes to a collection (an item, a deletion, its properties) replaces a file in its folder, which
    moves the folder's mtime; so the tokens are kept beside that mtime, in the collection's cache folder, and
    reused while it stands. Only tokens read when the folder was last written more than _SETTLED_NS ago are
    kept, so a later write within the same clock tick cannot leave its mtime (and stale tokens) unchanged."""
    import json
    import time

    from radicale.storage import multifilesystem

    base = multifilesystem.Collection

    class Collection(base):
        def _kept(self, name: str, compute: Callable[[], str]) -> str:
            try:
                mtime_ns = os.stat(self._filesystem_path).st_mtime_ns
            except OSError:
                return compute()
            path = os.path.join(self._filesystem_path, ".Radicale.cache", _TOKENS_FILE)
            try:
                with open(path, encoding="utf-8") as f:
                    kept = json.load(f)
            except (OSError, ValueError):
                kept = {}
            if not isinstance(kept, dict) or kept.get("mtime_ns") != mtime_ns:
                kept = {"mtime_ns": mtime_ns}
            elif isinstance(value := kept.get(name), str):
                return value
            value = compute()
            if time.time_ns() - mtime_ns > _SETTLED_NS:
                kept[name] = value
                try:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}"
                    with open(tmp, "w", encoding="utf-8") as f:
                        json.dump(kept, f)
                    os.replace(tmp, path)
                except OSError:
                    pass  # kept next time, perhaps
            return value

        @property
        def etag(self) -> str:
            return self._kept("ctag", lambda: base.etag.fget(self))

        def sync(self, old_token: str = ""):
            if old_token:  # a sync-collection REPORT: the changes since then, worked out in full
                return base.sync(self, old_token)

            def changes():  # since no token, every item: read only by a REPORT that asks for them
                yield from base.sync(self)[1]
            return self._kept("sync_token", lambda: base.sync(self)[0]), changes()

    class Storage(multifilesystem.Storage):
        _collection_class = Collection

    return Storage


_FOLDER_ETAGS = "plan_connector.folder_etags"  # environ key: one request's folder ETags, by file path


def folder_etags(top: str, memo: dict[str, str]) -> str:
    """The ETag of the folder `top`: a digest of its modification time and everything beneath it (names,
    modification times, file sizes), so it changes when anything below changes, as Nextcloud's folder ETags
    do. The ETags of the folders below go into `memo` (file path -> ETag) on the way: one walk serves a
    whole listing. Symbolic links are left out, as WsgiDAV leaves them out of listings."""
    def walk(path: str, mtime_ns: int) -> str:
        digest = hashlib.blake2b(b"%d" % mtime_ns, digest_size=16)
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            entries = []  # gone while walking: the next request sees it
        for e in entries:
            try:
                if e.is_symlink():
                    continue
                st = e.stat()
                if e.is_dir():
                    digest.update(b"\0d%s\0%s" % (os.fsencode(e.name), walk(e.path, st.st_mtime_ns).encode()))
                elif e.is_file():
                    digest.update(b"\0f%s\0%d\0%d" % (os.fsencode(e.name), st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                continue
        memo[path] = etag = digest.hexdigest()
        return etag
    return walk(top, os.stat(top).st_mtime_ns)


def _files_provider(files_dir: Path):
    """WsgiDAV's filesystem provider, with folder ETags (see folder_etags): the report tree's root ETag
    tells the connector whether anything changed beneath it before it lists the whole tree."""
    from wsgidav.fs_dav_provider import FilesystemProvider, FolderResource

    class Folder(FolderResource):
        def get_etag(self):
            memo = self.environ.setdefault(_FOLDER_ETAGS, {})
            return memo.get(self._file_path) or folder_etags(self._file_path, memo)

        def get_descendants(self, *, depth="infinity", **kwargs):
            # The subtree is walked once, before the listing reads its entries: a change made meanwhile
            # moves the next ETag (never the other way round), and subfolders' ETags cost a lookup.
            if depth != "0":
                self.get_etag()
            return super().get_descendants(depth=depth, **kwargs)

    class Files(FilesystemProvider):
        def get_resource_inst(self, path, environ):
            res = super().get_resource_inst(path, environ)
            if type(res) is FolderResource:
                res.__class__ = Folder  # the same folder, with an ETag
            return res

    return Files(str(files_dir), fs_opts={"shadow_map": {}, "follow_symlinks": False})


def _wsgidav_app(files_dir: Path, users: dict[str, str]):
    from wsgidav.wsgidav_app import WsgiDAVApp

    config = {
        "provider_mapping": {"/": _files_provider(files_dir)},
        "simple_dc": {"user_mapping": {"*": {name: {"password": secret} for name, secret in users.items()}}},
        # Basic only: requests' HTTPBasicAuth and the Nextcloud-style clients send it preemptively.
        "http_authenticator": {"accept_basic": True, "accept_digest": False, "default_to_digest": False},
        "lock_storage": True,
        "property_manager": True,
        "verbose": 1,
        "logging": {"enable": False},
    }
    # Building the app warns about choices made on purpose here (basic auth without TLS on a local
    # port, CORS off); keep those out of every run's log, but let warnings at request time through.
    wsgidav_log = logging.getLogger("wsgidav")
    wsgidav_log.setLevel(logging.ERROR)
    try:
        return WsgiDAVApp(config)
    finally:
        wsgidav_log.setLevel(logging.WARNING)


# -- `plan-connector serve` ---------------------------------------------------------------------

class CalendarInfo(NamedTuple):
    name: str  # display name
    url: str  # absolute URL, ending in "/"
    components: tuple[str, ...]  # e.g. ("VEVENT",) for a calendar, ("VTODO",) for a task list


def list_calendars(servers: EmbeddedServers) -> list[CalendarInfo]:
    """Every calendar and task list in the user's calendar home (one PROPFIND, Depth 1), by name."""
    import requests
    from defusedxml import ElementTree

    body = ('<?xml version="1.0" encoding="utf-8"?>'
            '<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            "<d:prop><d:displayname/><d:resourcetype/><c:supported-calendar-component-set/></d:prop></d:propfind>")
    with requests.Session() as session:
        session.trust_env = False
        resp = session.request("PROPFIND", servers.calendar_home, data=body.encode(), timeout=10,
                               auth=(servers.user, servers.password),
                               headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
    if resp.status_code != 207:
        raise ServerError(f"PROPFIND {servers.calendar_home} answered HTTP {resp.status_code}",
                          status=resp.status_code, method="PROPFIND", url=servers.calendar_home)
    calendars = []
    for response in ElementTree.fromstring(resp.content).iter("{DAV:}response"):
        if response.find(f".//{{DAV:}}resourcetype/{_CALDAV}calendar") is None:
            continue
        url = urljoin(servers.calendar_home, response.findtext("{DAV:}href", ""))
        name = response.findtext(".//{DAV:}displayname") or url.rstrip("/").rsplit("/", 1)[-1]
        components = tuple(sorted(comp.get("name", "") for comp in response.iter(f"{_CALDAV}comp")))
        calendars.append(CalendarInfo(name, url, components))
    return sorted(calendars)


def _serve_banner(servers: EmbeddedServers, calendars: list[tuple[str, str]]) -> str:
    lines = [
        "plan-connector: embedded servers are running (Ctrl-C to stop)",
        "",
        f"CalDAV server:  {servers.caldav_url}",
        f"Calendar home:  {servers.calendar_home}",
    ]
    if calendars:
        lines.append("Calendars:")
        for calendar in calendars:
            kind = "tasks" if calendar.components == ("VTODO",) else "events" if "VTODO" not in calendar.components else "events, tasks"
            lines.append(f"  {calendar.name} ({kind}): {calendar.url}")
    else:
        lines.append("Calendars:      none yet (run `plan-connector sync` or `plan-connector demo`)")
    lines += [
        f"WebDAV (files): {servers.files_root}",
        f"User:           {servers.user}",
        f"Password:       see {servers.credentials_file}",
        "",
        "Subscribe:",
        f"  Thunderbird: New Calendar > On the Network; user name {servers.user}, location {servers.calendar_home}",
        "               (it finds every calendar and task list there).",
        f"  DAVx5 (Android): Add account > Login with URL and user name; base URL {servers.caldav_url}",
        f"  iOS: Settings > Calendar > Accounts > Add Account > Other > Add CalDAV Account; server {servers.calendar_home}",
        f"  Files: any WebDAV client (file manager, Cyberduck, rclone) at {servers.files_root}",
    ]
    if servers.host in ("", "0.0.0.0", "::"):
        lines.append("  Listening on all interfaces: from another device use this computer's LAN address instead of"
                     f" {_url_host(servers.host)} (plain HTTP: trusted networks only).")
    elif servers.host in ("127.0.0.1", "localhost", "::1"):
        lines.append("  Phones cannot reach 127.0.0.1: restart with --host 0.0.0.0 and use this computer's LAN address"
                     " (plain HTTP: trusted networks only).")
    return "\n".join(lines)


def serve_command(args) -> int:
    """`plan-connector serve`: run the embedded servers, print how to reach them, stop on SIGINT/SIGTERM."""
    servers = EmbeddedServers(Path(args.data_dir), host=args.host, caldav_port=args.caldav_port,
                              webdav_port=args.webdav_port)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with servers:
            servers._write_serving_file()
            try:
                print(_serve_banner(servers, list_calendars(servers)), flush=True)
                while not stop.wait(0.5):
                    pass
                print("plan-connector: stopping", file=sys.stderr, flush=True)
            finally:
                servers._remove_serving_file()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
