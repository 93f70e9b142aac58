"""Links people click: report folders and files as URLs that open for whoever receives them.

On Nextcloud a folder shared with a group appears in each member's root under its own name, so a
path of the connector's account (`/apps/files/?dir=/Báo cáo/…`) opens nothing for them;
`<base>/index.php/f/<fileid>` opens a file or folder for anyone who can see it. A Nextcloud link
therefore exists only once the item's file id is known (from the listing of the report tree, or
the `OC-FileId` answer of the MKCOL that made it) and stays the same from run to run. Other
servers get the item's WebDAV URL. Every link is absolute, so it also works in a page opened from disk.
Once the tree was listed, `exists` tells the folders made (listed, or made since) from those that are not
(a period's folder waits for its period: connector.sync.folders), so nobody is given a link to nothing.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import quote

from connector.text import nfc

_APP_PATH = re.compile(r"/(?:index\.php|apps)(?:/.*)?$")


def _norm(path: str) -> str:
    return "/".join(p for p in nfc(path).split("/") if p)


@lru_cache(maxsize=8192)
def _quoted(name: str) -> str:
    """One path segment percent-encoded (a register links thousands of paths made of a few hundred names)."""
    return quote(name, safe="")


class Links:
    """Paths relative to the WebDAV files root -> links people open.

    `nextcloud` is the base people open (server.web_url, else server.url); None for other servers,
    whose links are `web_base` (server.web_url, else the WebDAV files root) + the path.
    """

    def __init__(self, *, nextcloud: str | None = None, web_base: str = ""):
        self.nextcloud = _APP_PATH.sub("", nextcloud.rstrip("/")) if nextcloud else None
        self.web_base = web_base.rstrip("/")
        self.ids: dict[str, str] = {}
        self.present: set[str] | None = None  # folders listed or made; None until a listing was learnt
        self.files: set[str] = set()  # files listed

    def learn(self, entries: Iterable) -> None:
        """Remember the listed entries (objects with .path, .file_id and .is_dir): they exist, with their ids."""
        present = self.present if self.present is not None else set()
        for e in entries:
            (present if getattr(e, "is_dir", True) else self.files).add(_norm(e.path))
            if e.file_id:
                self.ids[_norm(e.path)] = str(e.file_id)
        self.present = present

    def made(self, paths: Iterable[str]) -> None:
        """Folders made since the listing (in a dry run: those the real run would make)."""
        if self.present is not None:
            self.present.update(_norm(p) for p in paths)

    def exists(self, path: str) -> bool:
        """Whether the item was listed or made (True while no listing was learnt: nothing says otherwise)."""
        return self.present is None or _norm(path) in self.present or _norm(path) in self.files

    def learn_ids(self, ids: Mapping[str, str | None]) -> None:
        """Remember path -> file id pairs (e.g. the answers to MKCOL)."""
        for path, fid in ids.items():
            if fid:
                self.ids[_norm(path)] = str(fid)

    def file_id(self, path: str) -> str | None:
        return self.ids.get(_norm(path))

    def url(self, path: str) -> str | None:
        """The link for a file or folder, or None while a Nextcloud item's id is unknown."""
        if self.nextcloud is not None:
            fid = self.ids.get(_norm(path))
            return f"{self.nextcloud}/index.php/f/{fid}" if fid else None
        rel = "/".join(_quoted(p) for p in _norm(path).split("/"))
        return f"{self.web_base}/{rel}"
