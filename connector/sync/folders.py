"""Report folders: one tree per plan, one folder per unit, one sub-folder per obligation.

One PROPFIND (Depth infinity) of the plan's root tells what exists; missing folders are made one
level at a time, parents first. The same listing then serves collection, so a `run` reads the
tree once.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from connector.dav.webdav import Entry, WebDAVClient
from connector.models import Obligation

log = logging.getLogger("plan-connector.folders")


@dataclass
class FolderReport:
    created: list[str] = field(default_factory=list)
    existing: int = 0
    planned: list[str] = field(default_factory=list)


def desired_folders(root: str, obligations: list[Obligation], extra: list[str] = ()) -> list[str]:
    """Every folder the plan needs, relative to the WebDAV root, parents before children."""
    wanted: set[str] = set()

    def add(path: str) -> None:
        parts = [p for p in path.split("/") if p]
        for i in range(1, len(parts) + 1):
            wanted.add("/".join(parts[:i]))

    add(root)
    for ob in obligations:
        add(f"{root}/{ob.folder}")
    for e in extra:
        add(f"{root}/{e}")
    return sorted(wanted, key=lambda p: (p.count("/"), p))


_TASK_NUMBER = re.compile(r"^(\d+)\s*[–-]")


def adopt_existing_folders(obligations: list[Obligation], entries: list[Entry], root: str) -> list[Obligation]:
    """Keep the task folders units already know: when a new version of the plan words a task's title
    differently, its folder "03 – <old title>" stays in use rather than a second "03 – <new title>"."""
    prefix = root.strip("/") + "/"
    existing: dict[tuple[str, int], list[str]] = {}
    for e in entries:
        if not e.is_dir or not e.path.startswith(prefix):
            continue
        parts = e.path[len(prefix):].split("/")
        if len(parts) == 2 and (m := _TASK_NUMBER.match(parts[1])):
            existing.setdefault((parts[0], int(m.group(1))), []).append(parts[1])
    if not existing:
        return obligations
    out = []
    for ob in obligations:
        parts = ob.folder.split("/")
        m = _TASK_NUMBER.match(parts[1]) if len(parts) > 2 else None
        names = existing.get((parts[0], int(m.group(1)))) if m else None
        if names and parts[1] not in names:
            ob = ob.model_copy(update={"folder": "/".join([parts[0], sorted(names)[0], *parts[2:]])})
        out.append(ob)
    return out


def list_tree(webdav: WebDAVClient, root: str) -> list[Entry]:
    """Everything under the plan's root (one request; [] when the root does not exist yet)."""
    return webdav.list_tree(root)


def sync_folders(webdav: WebDAVClient, root: str, obligations: list[Obligation], entries: list[Entry],
                 *, extra: list[str] = (), dry_run: bool = False, parallel: int = 4) -> FolderReport:
    """Create the folders that are missing; never delete or rename anything."""
    report = FolderReport()
    existing = {e.path for e in entries if e.is_dir}
    if entries:  # the listing holds only what is below the root: a non-empty one proves the root and its ancestors
        parts = root.split("/")
        existing.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    wanted = desired_folders(root, obligations, extra)
    missing = [p for p in wanted if p not in existing]
    report.existing = len(wanted) - len(missing)
    if dry_run:
        report.planned = missing
        return report
    if missing:
        report.created = webdav.ensure_dirs(missing, existing, parallel=parallel)
    return report
