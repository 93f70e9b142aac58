"""`plan-connector purge`: remove exactly what the connector made for one plan, never a report.

- calendars and task lists of the plan (exact names: those the plan renders and those the state
  remembers): the connector's items are deleted; a calendar left empty is deleted for good (so it no
  longer counts against Nextcloud's calendar limit), one that still holds people's items is kept;
- report folders: the register files the connector uploaded, then every folder with no file left
  beneath it, deepest first; a folder that holds a report stays, and so does the report;
- folder shares and upload-only links the connector made (remembered in the state) on what stays;
- the plan's state, when nothing of the above failed.

`--dry-run` lists it all first; without `--yes` nothing is removed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from connector.errors import AuthError, ServerError, UnreachableError
from connector.render.ical import read_marker
from connector.sync.shares import shares_under

log = logging.getLogger("plan-connector.purge")

REGISTER_FILES = ("register.json", "register.csv", "register.xlsx", "register.html")


@dataclass
class PurgeReport:
    removed: list[str] = field(default_factory=list)  # what was (or, in a dry run, would be) removed
    kept: list[str] = field(default_factory=list)  # what stays, and why
    failed: list[str] = field(default_factory=list)


def _fatal(exc: Exception) -> bool:
    return isinstance(exc, (AuthError, UnreachableError))


def _remove(report: PurgeReport, what: str, action, dry_run: bool) -> bool:
    """Run one removal (not in a dry run); a failure is one line in `report.failed`, a fatal one stops all."""
    try:
        if not dry_run:
            action()
        return True
    except ServerError as exc:
        if _fatal(exc):
            raise
        report.failed.append(f"{what}: {exc}")
        return False


def purge(job, calendar_slugs: set[str], *, dry_run: bool) -> PurgeReport:
    """Remove the plan's calendars, items, empty folders, register files and shares (see module doc)."""
    report = PurgeReport()
    _purge_calendars(job, calendar_slugs | set(job.state.section("calendars")), dry_run, report)
    prefix = job.root.strip("/") + "/"
    entries = [replace(e, path=e.path[len(prefix):]) for e in job.webdav.list_tree(job.root)
               if e.path.startswith(prefix)]  # paths relative to the plan's root from here on
    kept_dirs = _purge_folders(job, entries, dry_run, report)
    if job.ocs is not None:
        _purge_shares(job, kept_dirs, dry_run, report)
    if not dry_run and not report.failed:
        job.state.path.unlink(missing_ok=True)
        job.state.data.clear()
    return report


def _purge_calendars(job, slugs: set[str], dry_run: bool, report: PurgeReport) -> None:
    home = job.caldav.calendars()
    for slug in sorted(slugs):
        info = home.get(slug) or home.deleted.get(slug)
        if info is None:
            continue
        try:
            listing = job.caldav.list_items(info.href) if slug in home else None
            fetched = job.caldav.fetch(info.href, list(listing.items)) if listing and listing.items else {}
            ours = {h: etag for h, (etag, ics) in fetched.items() if read_marker(ics)[0] == job.code}
            theirs = len(fetched) - len(ours)
            if theirs:
                for href, etag in ours.items():
                    if not dry_run:
                        job.caldav.delete(href, etag)
                report.removed.append(f"{len(ours)} items of calendar {slug}")
                report.kept.append(f"calendar {slug} ({info.displayname}): {theirs} items not made by plan-connector")
                continue
            if not dry_run:
                job.caldav.delete_calendar(info.href, permanently=True)
            report.removed.append(f"calendar {slug} ({info.displayname}) with its {len(ours)} items")
        except ServerError as exc:
            if _fatal(exc):
                raise
            report.failed.append(f"calendar {slug}: {exc}")


def _purge_folders(job, entries, dry_run: bool, report: PurgeReport) -> set[str]:
    """Delete register files and empty folders; returns the folders that stay (relative to the root)."""
    register_dir = job.cfg.plan.register_folder
    files = [e for e in entries if not e.is_dir]
    reports = []
    for e in files:
        if e.path.rsplit("/", 1)[0] == register_dir and e.name in REGISTER_FILES:
            if _remove(report, f"register file {e.path}", lambda p=e.path: job.webdav.delete(f"{job.root}/{p}"), dry_run):
                report.removed.append(f"register file {e.path}")
            else:
                reports.append(e)
        else:
            reports.append(e)
    # A folder stays when a report (or a file that could not be removed) is at any depth below it.
    keep = {""}
    for e in reports:
        parts = e.path.split("/")[:-1]
        keep.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    if not entries:
        return set()
    if keep == {""}:  # no report anywhere: the whole tree goes in one request
        if _remove(report, f"folder {job.root}", lambda: job.webdav.delete(job.root), dry_run):
            report.removed.append(f"folder {job.root} ({sum(e.is_dir for e in entries)} empty folders)")
        return set()
    dirs = sorted((e.path for e in entries if e.is_dir), key=lambda p: (-p.count("/"), p))
    removed: set[str] = set()
    for path in dirs:
        if path in keep:
            continue
        parent = path.rsplit("/", 1)[0] if "/" in path else None
        if parent is not None and parent not in keep:
            continue  # removed with its parent, in one request
        if _remove(report, f"folder {path}", lambda p=path: job.webdav.delete(f"{job.root}/{p}"), dry_run):
            removed.add(path)
        else:
            keep.add(path)
    # Only the top of each removed subtree is listed: its sub-folders went with it.
    report.removed += [f"empty folder {p}" for p in sorted(removed)]
    report.kept.append(f"{len(reports)} files (reports) in {job.root}, with the folders that hold them")
    return {p for p in keep if p}


def _purge_shares(job, kept_dirs: set[str], dry_run: bool, report: PurgeReport) -> None:
    """Withdraw the shares the connector made on folders that stay (the others went with their folder)."""
    made: dict = job.state.section("folder_shares")
    if not made or not kept_dirs:
        return
    try:
        existing = shares_under(job.ocs, "/" + job.root.strip("/"))
    except ServerError as exc:
        if _fatal(exc):
            raise
        report.failed.append(f"shares under {job.root}: {exc}")
        return
    for share in existing:
        if share.id not in made:
            continue  # a person's own share or link: never touched
        if _remove(report, f"share {share.id} on {share.path}", lambda sid=share.id: job.ocs.delete_share(sid), dry_run):
            report.removed.append(f"share {share.path} → {share.share_with or 'link'}")
