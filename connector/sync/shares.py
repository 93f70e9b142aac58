"""Nextcloud-only steps of the sync: groups, folder shares, upload-only links, calendar sharing.

Each is read once (one OCS listing of the shares under the plan's root, the calendar invites come
with the calendar-home PROPFIND) and only what is missing or different is written.
"""
from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from connector.dav.caldav import CalDAVClient, CalendarInfo
from connector.dav.http import HttpClient
from connector.errors import AuthError, ServerError, UnreachableError
from connector.models import Unit
from connector.nextcloud import calendars as nccal
from connector.nextcloud.ocs import OCSClient

log = logging.getLogger("plan-connector.shares")

READ = 1
READ_CREATE = 5  # read + create: members file new reports, cannot overwrite or delete (Nextcloud answers 403)
CREATE_ONLY = 4  # file drop
FILE_DROP_LABEL = "Hộp nộp báo cáo"  # the label of the links this connector creates


def _nfc(path: str) -> str:
    # The OCS client sends NFC paths and Nextcloud lists NFC paths; compare in the same form.
    return unicodedata.normalize("NFC", path)


@dataclass
class ShareReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    file_drops: dict[str, str] = field(default_factory=dict)  # unit id -> public upload URL


def ensure_groups(ocs: OCSClient, groups: list[str], *, dry_run: bool, report: ShareReport) -> None:
    """Create the groups that do not exist (users are never created or deleted)."""
    have = set(ocs.groups())
    for gid in sorted(set(groups) - have):
        if dry_run:
            report.planned.append(f"create group {gid}")
            continue
        ocs.create_group(gid)
        report.created.append(f"group {gid}")


def sync_folder_shares(ocs: OCSClient, root: str, units: list[Unit], unit_folders: dict[str, str],
                       coordinator_groups: list[str], *, file_drop_expire: date | None, file_drop_note: str,
                       dry_run: bool, report: ShareReport) -> None:
    """Unit folder → its group (read + create); root → coordinating groups (read); optional file drops."""
    root_path = _nfc("/" + root.strip("/"))
    try:
        existing = ocs.shares(root_path, subfiles=True) + ocs.shares(root_path)
    except ServerError as exc:
        if exc.status != 404 or isinstance(exc, (AuthError, UnreachableError)):
            raise
        existing = []  # the root folder does not exist yet (a dry run before the first sync): nothing is shared
    by_path: dict[str, list] = {}
    for s in existing:
        by_path.setdefault(_nfc(s.path.rstrip("/")), []).append(s)

    def want(path: str, share_type: int, share_with: str | None, permissions: int, create, label: str) -> None:
        candidates = [s for s in by_path.get(path, [])
                      if s.share_type == share_type and (share_with is None or s.share_with == share_with)]
        if share_type == 3:
            # Any link that already is a file drop will do; a link with other permissions is changed only
            # when it is one of ours (by label): a person's read-only link is never turned into a drop.
            candidates = ([s for s in candidates if s.permissions == permissions]
                          or [s for s in candidates if s.label == FILE_DROP_LABEL])
        if candidates:
            s = candidates[0]
            if s.permissions != permissions:
                if dry_run:
                    report.planned.append(f"set permissions {permissions} on {label}")
                    return
                ocs.update_share(s.id, permissions=permissions)
                report.updated.append(label)
            if share_type == 3 and s.url:
                report.file_drops[label] = s.url
            return
        if dry_run:
            report.planned.append(f"share {label}")
            return
        share = create()
        report.created.append(label)
        if share_type == 3 and share.url:
            report.file_drops[label] = share.url

    for gid in coordinator_groups:
        try:
            want(root_path, 1, gid, READ, lambda gid=gid: ocs.create_group_share(root_path, gid, READ), f"{root} → {gid}")
        except (AuthError, UnreachableError):
            raise
        except ServerError as exc:
            report.failed.append(f"share {root} with {gid}: {exc}")
    for unit in units:
        path = _nfc(f"{root_path}/{unit_folders[unit.id]}")
        try:
            want(path, 1, unit.group, READ_CREATE,
                 lambda u=unit, p=path: ocs.create_group_share(p, u.group, READ_CREATE, note=file_drop_note),
                 f"{unit.name} → {unit.group}")
            if unit.file_drop:
                want(path, 3, None, CREATE_ONLY,
                     lambda p=path: ocs.create_link_share(p, permissions=CREATE_ONLY, expire_date=file_drop_expire,
                                                          note=file_drop_note, label=FILE_DROP_LABEL),
                     unit.id)
        except (AuthError, UnreachableError):
            raise
        except ServerError as exc:
            report.failed.append(f"share {path}: {exc}")


class CalendarSharing:
    """Shares the plan's calendars read-only with groups and publishes the deadline calendar."""

    def __init__(self, http: HttpClient, caldav: CalDAVClient, state: dict, *, dry_run: bool = False):
        self.http = http
        self.caldav = caldav
        self.state = state  # slug -> {"groups": [...]}: groups this connector shared, to unshare later
        self.dry_run = dry_run

    def apply(self, home: dict[str, CalendarInfo], calendars, report) -> None:
        published = False
        for cal in calendars:
            info = home.get(cal.slug)
            if info is None:
                continue
            current = nccal.shared_groups(info)
            entry = self.state.setdefault(cal.slug, {})
            ours = set(entry.get("groups", []))
            missing = [g for g in cal.share_groups if g not in current]
            stale = [g for g in ours if g not in cal.share_groups and g in current]
            try:
                if missing:
                    if self.dry_run:
                        report.notices.append(f"would share {cal.slug} with {', '.join(missing)}")
                    else:
                        nccal.share_calendar(self.http, info.href, missing, summary=cal.displayname)
                if stale:
                    if self.dry_run:
                        report.notices.append(f"would unshare {cal.slug} from {', '.join(sorted(stale))}")
                    else:
                        nccal.unshare_calendar(self.http, info.href, sorted(stale))
                if not self.dry_run:
                    entry["groups"] = sorted(set(cal.share_groups))
                if cal.publish and not info.publish_url:
                    if self.dry_run:
                        report.notices.append(f"would publish {cal.slug}")
                    else:
                        nccal.publish_calendar(self.http, info.href)
                        published = True
                if cal.publish and info.publish_url:
                    report.publish_url = info.publish_url
            except (AuthError, UnreachableError):
                raise
            except ServerError as exc:
                report.failed.append(f"sharing {cal.slug}: {exc}")
        if published:  # the publish URL is only known after publishing: one more PROPFIND
            fresh = self.caldav.calendars()
            for cal in calendars:
                info = fresh.get(cal.slug)
                if cal.publish and info and info.publish_url:
                    report.publish_url = info.publish_url
