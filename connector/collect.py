"""Collection: what units uploaded, read from the listing of the plan's report tree.

The admin cannot see who uploaded a file (Nextcloud shows the folder owner as owner): the unit is
known from which unit's folder holds it. Submission time is `nc:upload_time` where the server
gives it, else `getlastmodified`.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from connector.dav.webdav import Entry, WebDAVClient
from connector.errors import AuthError, PreconditionFailed, ServerError, UnreachableError
from connector.models import RemoteFile
from connector.register.status import Register, register_to_json

log = logging.getLogger("plan-connector.collect")

REGISTER_FILES = ("json", "csv", "xlsx", "html")


def _inside(path: str, prefix: str) -> str | None:
    """The path relative to the plan's root, or None for one outside it: not below the root, or climbing out
    with "." / ".." segments (a server's href such as "<root>/../../etc/passwd")."""
    if not path.startswith(prefix):
        return None
    rel = path[len(prefix):]
    if any(part in (".", "..", "") for part in rel.split("/")):
        log.warning("ignored a listed path outside the plan's folder: %s", path)
        return None
    return rel


def remote_files(entries: list[Entry], root: str) -> list[RemoteFile]:
    """Files under the plan's root, with paths relative to it (never one outside it)."""
    prefix = root.strip("/") + "/"
    files = []
    for e in entries:
        if e.is_dir or (rel := _inside(e.path, prefix)) is None:
            continue
        files.append(RemoteFile(path=rel, name=rel.rsplit("/", 1)[-1], size=e.size or 0,
                                uploaded_at=e.upload_time or e.last_modified, href=e.href, etag=e.etag))
    return files


def remote_folders(entries: list[Entry], root: str) -> dict[str, str | None]:
    """Folders under the plan's root (paths relative to it) -> their file ids (None where the server has none)."""
    prefix = root.strip("/") + "/"
    return {rel: e.file_id for e in entries if e.is_dir and (rel := _inside(e.path, prefix)) is not None}


def register_digest(reg: Register) -> str:
    """A hash of what the register says, without the time it was generated."""
    doc = register_to_json(reg)
    doc.pop("generated_at", None)
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


@dataclass
class UploadReport:
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def upload_register(webdav: WebDAVClient, folder: str, paths: dict[str, Path], entries: list[Entry],
                    state: dict, digest: str, *, dry_run: bool = False) -> UploadReport:
    """Upload the register files unless unchanged; never overwrite a copy someone edited since our last upload."""
    report = UploadReport()
    listed = {e.path: e.etag for e in entries if not e.is_dir}
    remembered: dict = state.setdefault("uploads", {})
    all_there = all(f"{folder}/{p.name}" in listed for p in paths.values())
    if state.get("digest") == digest and all_there:
        return report
    for kind, local in paths.items():
        remote = f"{folder}/{local.name}"
        server_etag = listed.get(remote)
        mine = remembered.get(remote)
        if server_etag and mine and server_etag != mine:
            report.skipped.append(f"{remote}: changed on the server since the last upload; not overwritten "
                                  f"(the new copy is at {local})")
            continue
        if dry_run:
            report.uploaded.append(remote)
            continue
        try:
            etag = webdav.put(remote, local.read_bytes(), etag=server_etag, create_only=server_etag is None,
                              content_type=_content_type(kind))
        except PreconditionFailed:
            report.skipped.append(f"{remote}: changed on the server during this run; not overwritten")
            continue
        except (AuthError, UnreachableError):
            raise
        except ServerError as exc:
            report.failed.append(f"upload {remote}: {exc}")
            continue
        remembered[remote] = etag
        report.uploaded.append(remote)
    if not report.failed and not report.skipped and not dry_run:
        state["digest"] = digest
    return report


def _content_type(kind: str) -> str:
    return {
        "json": "application/json; charset=utf-8",
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "html": "text/html; charset=utf-8",
    }[kind]

