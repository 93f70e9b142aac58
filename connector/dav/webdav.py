"""WebDAV files: list a report tree, create folders level by level, put/get/delete files, Nextcloud SEARCH."""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from xml.sax.saxutils import escape

from connector.dav import xml as dx
from connector.dav.caldav import normalize_etag, quote_etag
from connector.dav.http import HttpClient, join_url, url_path
from connector.dav.pool import run_adaptive
from connector.errors import ServerError

log = logging.getLogger(__name__)

_XML = {"Content-Type": "application/xml; charset=utf-8"}

_TREE_PROPS = ("<d:getlastmodified/><d:getetag/><d:getcontentlength/><d:resourcetype/>"
               "<oc:fileid/><oc:owner-id/><oc:permissions/><oc:size/><nc:upload_time/>")
_PROPFIND = ('<?xml version="1.0" encoding="UTF-8"?>\n'
             '<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">'
             f"<d:prop>{_TREE_PROPS}</d:prop></d:propfind>")

(_RESOURCETYPE, _COLLECTION, _LENGTH, _OC_SIZE, _UPLOAD_TIME, _ETAG, _MODIFIED, _FILEID, _OWNER, _PERMISSIONS) = map(
    dx.clark, ("d:resourcetype", "d:collection", "d:getcontentlength", "oc:size", "nc:upload_time", "d:getetag",
               "d:getlastmodified", "oc:fileid", "oc:owner-id", "oc:permissions"))


@dataclass
class Entry:
    href: str  # decoded server path
    path: str  # relative to the client's root, decoded, NFC, no leading/trailing "/"
    is_dir: bool
    size: int | None
    etag: str | None
    last_modified: datetime | None  # aware
    upload_time: datetime | None  # nc:upload_time; None when absent or 0
    file_id: str | None
    owner_id: str | None
    permissions: str | None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def _norm(path: str) -> str:
    return unicodedata.normalize("NFC", path).strip("/")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def file_id_header(value: str | None) -> str | None:
    """The file id in Nextcloud's `OC-FileId` header ("00000073ocabs7kr18d9" -> "73"), else None."""
    m = re.match(r"0*(\d+)", value or "")
    return m.group(1) if m else None


@lru_cache(maxsize=4096)  # a listing's folders share a few seconds of modification times
def _http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class WebDAVClient:
    """File operations below one WebDAV root (e.g. <nextcloud>/remote.php/dav/files/<user>/)."""

    def __init__(self, http: HttpClient, root_url: str):
        self.http = http
        self.root_url = root_url if root_url.endswith("/") else root_url + "/"
        self._root_path = _norm(url_path(self.root_url))
        self._root_prefix = self._root_path + "/"
        self.created_ids: dict[str, str] = {}  # path -> file id of the folders this client made (Nextcloud)

    def url(self, path: str) -> str:
        """Absolute URL of a path relative to the root (segments percent-encoded)."""
        return join_url(self.root_url, path) if _norm(path) else self.root_url

    def _entry(self, r: dx.Response) -> Entry | None:
        full = _norm(r.href)
        if full != self._root_path and not full.startswith(self._root_prefix) and self._root_path:
            return None
        rel = full[len(self._root_path):].strip("/") if self._root_path else full
        text = r.text
        rt = r.props.get(_RESOURCETYPE)
        is_dir = (rt is not None and rt.find(_COLLECTION) is not None) or (rt is None and r.href.endswith("/"))
        size = _int(text(_LENGTH))
        if size is None:
            size = _int(text(_OC_SIZE))
        upload = _int(text(_UPLOAD_TIME))
        return Entry(
            href=r.href, path=rel, is_dir=is_dir, size=size, etag=normalize_etag(text(_ETAG)),
            last_modified=_http_date(text(_MODIFIED)),
            upload_time=datetime.fromtimestamp(upload, UTC) if upload else None,
            file_id=text(_FILEID) or None, owner_id=text(_OWNER) or None, permissions=text(_PERMISSIONS) or None)

    def _propfind(self, path: str, depth: str, expect=(207,)):
        return self.http.request("PROPFIND", self.url(path), headers={**_XML, "Depth": depth},
                                 data=_PROPFIND.encode(), expect=expect)

    def list_tree(self, path: str = "", depth: str = "infinity", *, include_self: bool = False) -> list[Entry]:
        """Everything below `path` (and `path` itself with include_self), in one PROPFIND when the server
        allows Depth infinity.

        A server that refuses infinity is walked with Depth 1; a missing `path` gives [].
        """
        path = _norm(path)
        resp = self._propfind(path, depth, expect=(207, 400, 403, 404, 501))
        if resp.status_code == 404:
            return []
        if resp.status_code == 207:
            entries = [e for r in dx.parse_multistatus(resp.content).responses
                       if (e := self._entry(r)) is not None and (include_self or e.path != path)]
            return sorted(entries, key=lambda e: e.path)
        if depth == "infinity" and (resp.status_code in (400, 501) or b"propfind-finite-depth" in resp.content):
            log.info("server refuses Depth infinity on %s; walking folder by folder", path or "/")
            return self._walk(path, include_self)
        raise self.http.error_for(resp, "PROPFIND", self.url(path))

    def refresh_tree(self, path: str, known: list[Entry] | None, *, max_relists: int = 8) -> list[Entry]:
        """`path` and everything below it, as list_tree(path, include_self=True) gives it, reusing `known` (an
        earlier answer of either) where folder ETags say nothing changed. Only for servers whose folder ETags
        change when anything beneath changes (Nextcloud, the embedded server).

        One PROPFIND Depth 1 of `path`: when its ETag and file id are the known root's, `known` is the answer
        as it is. Otherwise the folders directly below whose ETag moved (or that are new) are listed again,
        each with one PROPFIND Depth infinity, up to `max_relists` of them; more: the whole tree in one.
        Every ETag kept was read before the entries below it, so a change made during the listing moves
        the next ETag rather than hide in a listing that looks current. A missing `path` gives [].
        """
        path = _norm(path)
        old = {e.path: e for e in known or ()}
        was = old.get(path)
        if was is None:
            return self.list_tree(path, include_self=True)
        resp = self._propfind(path, "1", expect=(207, 404))
        if resp.status_code == 404:
            return []
        top = [e for r in dx.parse_multistatus(resp.content).responses if (e := self._entry(r)) is not None]
        root = next((e for e in top if e.path == path), None)
        if root is None or not root.etag:
            return self.list_tree(path, include_self=True)
        if (was.etag, was.file_id) == (root.etag, root.file_id):
            return known

        def moved(e: Entry) -> bool:
            o = old.get(e.path)
            return o is None or not o.is_dir or not e.etag or (o.etag, o.file_id) != (e.etag, e.file_id)

        children = [e for e in top if e.path != path and e.is_dir]
        stale = {e.path for e in children if moved(e)}
        if len(stale) > max_relists:
            return self.list_tree(path, include_self=True)
        below: dict[str, list[Entry]] = {}  # a child folder -> the known entries beneath it
        prefix = path + "/" if path else ""
        for e in known:
            if e.path.startswith(prefix) and "/" in (rest := e.path[len(prefix):]):
                below.setdefault(prefix + rest.split("/", 1)[0], []).append(e)
        out = list(top)
        for child in children:
            out += self.list_tree(child.path) if child.path in stale else below.get(child.path, [])
        return sorted(out, key=lambda e: e.path)

    def dump_entries(self, entries: list[Entry]) -> list[list]:
        """Entries as JSON-ready rows (see load_entries), the href left out where it is the usual one."""
        def stamp(dt: datetime | None) -> float | None:
            return dt.timestamp() if dt else None
        return [[e.path, e.is_dir, e.size, e.etag, stamp(e.last_modified), stamp(e.upload_time), e.file_id,
                 e.owner_id, e.permissions, None if e.href == self._href(e.path, e.is_dir) else e.href]
                for e in entries]

    def load_entries(self, rows: list[list]) -> list[Entry]:
        """The entries dump_entries wrote (ValueError when they are not such rows)."""
        def when(ts) -> datetime | None:
            return datetime.fromtimestamp(ts, UTC) if ts is not None else None
        out = []
        try:
            for path, is_dir, size, etag, modified, uploaded, file_id, owner_id, permissions, href in rows:
                if not isinstance(path, str) or not isinstance(href, str | None):
                    raise TypeError(f"a path is not text: {path!r}")
                out.append(Entry(href=href or self._href(path, is_dir), path=path, is_dir=bool(is_dir), size=size,
                                 etag=etag, last_modified=when(modified), upload_time=when(uploaded),
                                 file_id=file_id, owner_id=owner_id, permissions=permissions))
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            raise ValueError(f"not a listing: {exc}") from exc
        return out

    def _href(self, path: str, is_dir: bool) -> str:
        """The decoded href a server usually gives `path`: "/<root path>/<path>", "/" after a folder."""
        full = "/".join(p for p in (self._root_path, path) if p)
        return f"/{full}/" if is_dir and full else f"/{full}"

    def _walk(self, path: str, include_self: bool = False) -> list[Entry]:
        out: list[Entry] = []
        todo = [path]
        while todo:
            folder = todo.pop()
            resp = self._propfind(folder, "1", expect=(207, 404))
            if resp.status_code == 404:
                continue
            for r in dx.parse_multistatus(resp.content).responses:
                e = self._entry(r)
                if e is None or (e.path == folder and not (include_self and folder == path)):
                    continue
                out.append(e)
                if e.is_dir and e.path != folder:
                    todo.append(e.path)
        return sorted(out, key=lambda e: e.path)

    def exists(self, path: str) -> bool:
        """Is there a file or folder at `path`?"""
        return self._propfind(_norm(path), "0", expect=(207, 404)).status_code == 207

    def mkcol(self, path: str) -> bool:
        """Create one folder: True if created, False if it already existed (405). A missing parent raises (409)."""
        resp = self.http.request("MKCOL", self.url(path), expect=(201, 405))
        if resp.status_code == 201 and (fid := file_id_header(resp.headers.get("OC-FileId"))):
            self.created_ids[_norm(path)] = fid  # Nextcloud names the new folder's id: links need no PROPFIND
        return resp.status_code == 201

    def ensure_dirs(self, paths: Iterable[str], existing: set[str], *, parallel: int = 1,
                    failed: dict[str, ServerError] | None = None) -> list[str]:
        """Create every missing folder of `paths`, one level at a time, parents first.

        Folders in `existing` are skipped; `existing` is updated with those made or found. Folders of one
        level are made up to `parallel` at a time, fewer while the server is busy (connector.dav.pool).
        A folder that cannot be made goes into `failed` (path -> error) and the folders below it are not
        tried; everything else is still made. Without `failed`, the first such error is raised at the end.
        A 401 or an unreachable server raises at once. Returns the paths created.
        """
        wanted: set[str] = set()
        for p in paths:
            parts = [s for s in _norm(p).split("/") if s]
            for i in range(1, len(parts) + 1):
                wanted.add("/".join(parts[:i]))
        levels: dict[int, list[str]] = {}
        for p in sorted(wanted - existing):
            levels.setdefault(p.count("/"), []).append(p)
        errors: dict[str, ServerError] = {} if failed is None else failed
        created: list[str] = []

        def make(path: str) -> None:
            if self.mkcol(path):
                created.append(path)
            existing.add(path)

        for depth in sorted(levels):
            batch = [p for p in levels[depth] if not any(p.startswith(f + "/") for f in errors)]
            done = run_adaptive(batch, make, parallel=parallel, pressure=getattr(self.http, "busy_seen", None))
            for path, exc in done.failed:
                log.info("cannot create folder %s: %s", path, exc)  # the caller reports it
                errors[path] = exc
        if failed is None and errors:
            raise next(iter(errors.values()))
        return sorted(created, key=lambda p: (p.count("/"), p))

    def put(self, path: str, data: bytes, *, etag: str | None = None, create_only: bool = False,
            content_type: str = "application/octet-stream") -> str | None:
        """Upload a file (If-Match etag / If-None-Match: * when create_only); returns the new ETag if sent."""
        headers = {"Content-Type": content_type}
        if create_only:
            headers["If-None-Match"] = "*"
        elif etag:
            headers["If-Match"] = quote_etag(etag)
        resp = self.http.request("PUT", self.url(path), headers=headers, data=data, expect=(200, 201, 204))
        return normalize_etag(resp.headers.get("ETag"))

    def get(self, path: str) -> tuple[bytes, str | None]:
        """A file's content and ETag."""
        resp = self.http.request("GET", self.url(path), expect=(200,))
        return resp.content, normalize_etag(resp.headers.get("ETag"))

    def delete(self, path: str) -> None:
        """Delete a file or folder; one already gone is not an error."""
        self.http.request("DELETE", self.url(path), expect=(200, 204, 404))

    def search_modified_since(self, dav_root_url: str, user: str, folder: str, since: datetime) -> list[Entry]:
        """Nextcloud WebDAV SEARCH: files and folders under `folder` modified after `since`.

        `dav_root_url` is <nextcloud>/remote.php/dav/. Nextcloud 29 reports nc:upload_time as 0 here
        (-> None); use list_tree when upload times matter.
        """
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        scope = "/files/" + user + ("/" + _norm(folder) if _norm(folder) else "")
        literal = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<d:searchrequest xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">'
                f"<d:basicsearch><d:select><d:prop>{_TREE_PROPS}</d:prop></d:select>"
                f"<d:from><d:scope><d:href>{escape(scope)}</d:href><d:depth>infinity</d:depth></d:scope></d:from>"
                "<d:where><d:gt><d:prop><d:getlastmodified/></d:prop>"
                f"<d:literal>{literal}</d:literal></d:gt></d:where>"
                "<d:orderby/></d:basicsearch></d:searchrequest>")
        resp = self.http.request("SEARCH", dav_root_url, headers={"Content-Type": "text/xml; charset=utf-8"},
                                 data=body.encode(), expect=(207,))
        return [e for r in dx.parse_multistatus(resp.content).responses if (e := self._entry(r)) is not None]
