"""Nextcloud-only steps of the sync: groups, folder shares, upload-only links, calendar sharing.

Each is read once (one OCS listing of the shares under the plan's root, the calendar invites come
with the calendar-home PROPFIND) and only what is missing or different is written.

Access follows the units file: the shares this connector made are remembered in the state, and those
no longer wanted (a unit removed or moved to another group, a coordinator group dropped, a unit that
no longer wants its upload-only link) are withdrawn. A person's own shares and links are never touched.

Nextcloud 34 limits sharing per account (20 folder shares created per 10 minutes, 20 calendar share
requests per hour, at most 10 groups per calendar share request). Calendar shares go out in batches of
10; when a limit answers 429, that kind of share stops for this run, everything else goes on, one line
says what waits and until when, and the state remembers the limit so later runs do not ask again
before its period has passed. The budget goes to what matters most first: coordinators' root shares,
then unit folders, then upload-only links; the deadline calendar before the task lists.
"""
from __future__ import annotations

import logging
import math
import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from connector.dav.caldav import CalDAVClient, CalendarInfo
from connector.dav.http import HttpClient
from connector.errors import AuthError, PasswordConfirmationRequired, RateLimited, ServerError, UnreachableError
from connector.models import Unit
from connector.nextcloud import calendars as nccal
from connector.nextcloud.limits import period_text
from connector.nextcloud.ocs import SHARE_GROUP, SHARE_LINK, OCSClient, Share
from connector.text import nfc

log = logging.getLogger("plan-connector.shares")

READ = 1
READ_CREATE = 5  # read + create: members file new reports, cannot overwrite or delete (Nextcloud answers 403)
CREATE_ONLY = 4  # file drop
FILE_DROP_LABEL = "Hộp nộp báo cáo"  # the label of the links this connector creates

# Nextcloud 34's defaults (see ../shared/nextcloud/README.md); a 429 says when they are met.
FOLDER_SHARE_PERIOD = 600  # files_sharing createShare: #[UserRateLimit(limit: 20, period: 600)]
CALENDAR_SHARE_LIMIT, CALENDAR_SHARE_PERIOD = 20, 3600  # dav rateLimit(Period)ShareAddressbookOrCalendar


def _now() -> float:
    """The clock the limits are measured with (tests move it forward)."""
    return time.time()


def _fatal(exc: Exception) -> bool:
    return isinstance(exc, (AuthError, UnreachableError))


def _rate_limited(exc: ServerError) -> bool:
    return isinstance(exc, RateLimited) or exc.status == 429


@dataclass
class ShareReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # shares withdrawn
    failed: list[str] = field(default_factory=list)
    # One line per rate limit met: what waits for a later run. Pacing, not a failure: the run exits 0.
    paced: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    file_drops: dict[str, str] = field(default_factory=dict)  # unit id -> public upload URL


class RateGate:
    """One of Nextcloud's per-account limits, as remembered in the state (`limits`: the "share_limits"
    section): when a 429 met it, nothing of that kind is sent again until its period has passed."""

    def __init__(self, limits: dict | None, key: str, period: float, limit: int | None = None):
        self.limits = limits if limits is not None else {}
        self.key = key
        entry = self.limits.get(key) if isinstance(self.limits.get(key), dict) else {}
        self.period = entry.get("period", period)
        self.limit = entry.get("limit", limit)
        self.hit = False  # met during this run

    @property
    def until(self) -> float | None:
        entry = self.limits.get(self.key)
        return float(entry["until"]) if isinstance(entry, dict) and "until" in entry else None

    def closed(self) -> bool:
        until = self.until
        return until is not None and _now() < until

    def met(self, period: float | None = None, limit: int | None = None) -> None:
        self.period = period or self.period
        self.limit = limit or self.limit
        now = _now()
        self.limits[self.key] = {"met_at": round(now), "until": round(now + self.period), "period": self.period,
                                 **({"limit": self.limit} if self.limit else {})}
        self.hit = True

    def passed(self) -> None:
        """Forget a limit met in an earlier run once it is no longer in the way."""
        if not self.hit and self.until is not None and not self.closed():
            self.limits.pop(self.key, None)

    def when(self) -> str:
        """Local time the limit lets go ("14:05", or "27/11 09:30" on another day)."""
        at = datetime.fromtimestamp(self.until or _now())
        return at.strftime("%H:%M") if at.date() == datetime.now().date() else at.strftime("%d/%m %H:%M")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _join(parts: list[str]) -> str:
    parts = [p for p in parts if p]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# -- groups ---------------------------------------------------------------------------------------

def occ_group_add_lines(groups: Iterable[str]) -> str:
    """The occ commands that create `groups` on the server, "; "-separated (one line to copy)."""
    return "; ".join(f"occ group:add {shlex.quote(g)}" for g in groups)


def confirmation_advice(groups: list[str]) -> str:
    """Both ways out when Nextcloud asks for password confirmation to create groups."""
    return ("set [server] admin_password_file to a file holding the account's login password (used only to "
            f"create groups), or run on the server: {occ_group_add_lines(groups)}")


def ensure_groups(ocs: OCSClient, groups: list[str], *, dry_run: bool, report: ShareReport,
                  admin_password: str | None = None) -> set[str]:
    """Create the groups that do not exist (users are never created or deleted); returns the groups that
    still do not exist, which the later steps skip (this step already said why, in one line).

    Nextcloud 34 refuses group creation with an app password ("password confirmation is required");
    `admin_password` (the account's login password) is then used, for these calls alone.
    """
    have = set(ocs.groups())
    missing = sorted(set(groups) - have)
    if dry_run:
        report.planned += [f"create group {gid}" for gid in missing]
        return set()
    creator = ocs
    absent: list[str] = []
    i = 0
    while i < len(missing):
        gid = missing[i]
        try:
            creator.create_group(gid)
        except PasswordConfirmationRequired:
            if admin_password and creator is ocs:  # the login password, only where the server asks for it
                creator = ocs.with_login_password(admin_password)
                continue
            rest = missing[i:]
            absent += rest
            report.failed.append(
                f"{_count(len(rest), 'group', 'groups')} not created ({', '.join(rest)}): Nextcloud asks for "
                f"password confirmation, which an app password cannot give; {confirmation_advice(rest)}")
            break
        except AuthError:
            if creator is ocs:
                raise
            rest = missing[i:]
            absent += rest
            report.failed.append(
                f"{_count(len(rest), 'group', 'groups')} not created ({', '.join(rest)}): Nextcloud refused the "
                "login password in [server] admin_password_file; correct it, or run on the server: "
                f"{occ_group_add_lines(rest)}")
            break
        except ServerError as exc:
            if _fatal(exc):
                raise
            absent.append(gid)
            report.failed.append(f"group {gid} not created: {exc}")
        else:
            report.created.append(f"group {gid}")
        i += 1
    if absent:
        report.failed[-1] += "; their folders and calendars are shared once the groups exist"
    return set(absent)


# -- report folders -------------------------------------------------------------------------------

@dataclass
class _Want:
    path: str
    share_type: int
    share_with: str | None
    permissions: int
    label: str  # how reports name it
    kind: str  # "coordinator", "unit", "link": what waits, when the limit is met
    create: Callable[[], Share]
    unit: str | None = None


def _record(share: Share) -> dict:
    return {"path": nfc(share.path.rstrip("/")), "type": share.share_type, "with": share.share_with}


def sync_folder_shares(ocs: OCSClient, root: str, units: list[Unit], unit_folders: dict[str, str],
                       coordinator_groups: list[str], *, file_drop_expire: date | None, file_drop_note: str,
                       dry_run: bool, report: ShareReport, made: dict | None = None, limits: dict | None = None,
                       absent_groups: Iterable[str] = ()) -> None:
    """Unit folder → its group (read + create); root → coordinating groups (read); optional file drops;
    and the shares this connector made that are no longer wanted are withdrawn.

    `made` is the state's record of those shares (share id -> path, type, with); `limits` the state's
    record of limits met (see RateGate); groups in `absent_groups` do not exist and are skipped.
    """
    made = made if made is not None else {}
    absent = set(absent_groups)
    me = ocs.http.user
    root_path = nfc("/" + root.strip("/"))
    existing = shares_under(ocs, root_path)
    by_path: dict[str, list[Share]] = {}
    for s in existing:
        by_path.setdefault(nfc(s.path.rstrip("/")), []).append(s)

    wants: list[_Want] = [
        _Want(root_path, SHARE_GROUP, gid, READ, f"{root} → {gid}", "coordinator",
              lambda gid=gid: ocs.create_group_share(root_path, gid, READ))
        for gid in coordinator_groups if gid not in absent]
    links: list[_Want] = []
    for unit in units:
        path = nfc(f"{root_path}/{unit_folders[unit.id]}")
        if unit.group not in absent:
            wants.append(_Want(path, SHARE_GROUP, unit.group, READ_CREATE, f"{unit.name} → {unit.group}", "unit",
                               lambda u=unit, p=path: ocs.create_group_share(p, u.group, READ_CREATE, note=file_drop_note),
                               unit.id))
        if unit.file_drop:
            links.append(_Want(path, SHARE_LINK, None, CREATE_ONLY, unit.id, "link",
                               lambda p=path: ocs.create_link_share(p, permissions=CREATE_ONLY, expire_date=file_drop_expire,
                                                                    note=file_drop_note, label=FILE_DROP_LABEL),
                               unit.id))
    wants += links  # the budget goes to group shares first: a link is the fallback for people without accounts

    def ours(s: Share) -> bool:
        """Made by this connector: remembered, or bearing its marks (shares of versions that did not remember)."""
        if s.id in made:
            return True
        if s.uid_owner not in (None, me):
            return False
        if s.share_type == SHARE_LINK:
            return s.label == FILE_DROP_LABEL
        return (s.share_type == SHARE_GROUP and s.permissions == READ_CREATE and bool(file_drop_note)
                and s.note == file_drop_note and nfc(s.path.rstrip("/")).rsplit("/", 1)[0] == root_path)

    kept: set[str] = set()
    pending: list[_Want] = []
    for w in wants:
        try:
            if not _settle(ocs, w, by_path.get(w.path, []), made, me, kept, dry_run, report):
                pending.append(w)
        except ServerError as exc:
            if _fatal(exc):
                raise
            report.failed.append(f"share {w.path}: {exc}")
    kept.update(_create(pending, made, limits, dry_run, report))
    _withdraw(ocs, existing, root_path, made, kept, ours, dry_run, report)


def _settle(ocs: OCSClient, w: _Want, listed: list[Share], made: dict, me: str, kept: set[str],
            dry_run: bool, report: ShareReport) -> bool:
    """Is `w` already shared (its permissions set right)? Remembers the share as ours where it is."""
    candidates = [s for s in listed if s.share_type == w.share_type and (w.share_with is None or s.share_with == w.share_with)]
    if w.share_type == SHARE_LINK:
        # Any link that already is a file drop will do; a link with other permissions is changed only
        # when it is one of ours (by label): a person's read-only link is never turned into a drop.
        candidates = ([s for s in candidates if s.permissions == w.permissions]
                      or [s for s in candidates if s.label == FILE_DROP_LABEL or s.id in made])
    if not candidates:
        return False
    s = sorted(candidates, key=lambda c: (c.id not in made, c.label != FILE_DROP_LABEL))[0]  # ours first
    kept.add(s.id)
    if s.id not in made and s.uid_owner in (None, me) and (w.share_type != SHARE_LINK or s.label == FILE_DROP_LABEL):
        if not dry_run:
            made[s.id] = _record(s)
    if s.permissions != w.permissions:
        if dry_run:
            report.planned.append(f"set permissions {w.permissions} on {w.label}")
            return True
        s = ocs.update_share(s.id, permissions=w.permissions)
        report.updated.append(w.label)
    if w.share_type == SHARE_LINK and s.url:
        report.file_drops[w.label] = s.url
    return True


def _create(pending: list[_Want], made: dict, limits: dict | None, dry_run: bool, report: ShareReport) -> set[str]:
    """Create what is missing, in order, until Nextcloud's share-creation limit says stop; returns the new ids."""
    gate = RateGate(limits, "folder shares", FOLDER_SHARE_PERIOD)
    waiting: list[_Want] = []
    new: set[str] = set()
    for i, w in enumerate(pending):
        if dry_run:
            report.planned.append(f"share {w.label}")
            continue
        if gate.closed():
            waiting = pending[i:]
            break
        try:
            share = w.create()
        except ServerError as exc:
            if _fatal(exc):
                raise
            if _rate_limited(exc):
                gate.met()
                waiting = pending[i:]
                break
            report.failed.append(f"share {w.path}: {exc}")
            continue
        made[share.id] = _record(share)
        new.add(share.id)
        report.created.append(w.label)
        if w.share_type == SHARE_LINK and share.url:
            report.file_drops[w.label] = share.url
    if waiting:
        report.paced.append(_folder_wait_line(waiting, gate, done=len(new)))
    else:
        gate.passed()
    return new


def _folder_wait_line(waiting: list[_Want], gate: RateGate, done: int) -> str:
    kinds = [sum(w.kind == k for w in waiting) for k in ("unit", "link", "coordinator")]
    what = _join([_count(kinds[0], "unit folder", "unit folders") if kinds[0] else "",
                  _count(kinds[1], "upload-only link", "upload-only links") if kinds[1] else "",
                  _count(kinds[2], "coordinator share", "coordinator shares") if kinds[2] else ""])
    suggest = max(100, math.ceil((len(waiting) + done) / 50) * 50)
    return (f"folder shares wait: {what} not shared yet: Nextcloud lets one account create only so many shares "
            f"(20 per 10 minutes by default); the next run after {gate.when()} continues (or raise the limit in "
            "config.php: 'ratelimit_overwrite' => ['files_sharing.shareapi.createshare' => "
            f"['user' => ['limit' => {suggest}, 'period' => 600]]])")


def shares_under(ocs: OCSClient, root_path: str) -> list[Share]:
    """Every share on the plan's root and below it (two OCS listings); [] while the root does not exist
    (a dry run before the first sync)."""
    try:
        return ocs.shares(root_path, subfiles=True) + ocs.shares(root_path)
    except ServerError as exc:
        if exc.status != 404 or _fatal(exc):
            raise
        return []


def _delete_share(ocs: OCSClient, sid: str, name: str, report: ShareReport) -> bool | None:
    """Withdraw one share: True when deleted now, False when it was already gone (404), None when it
    could not be (one line in report.failed)."""
    try:
        ocs.delete_share(sid)
    except ServerError as exc:
        if _fatal(exc):
            raise
        if exc.status != 404:
            report.failed.append(f"withdraw share {name}: {exc}")
            return None
        return False
    return True


def _withdraw(ocs: OCSClient, existing: list[Share], root_path: str, made: dict, kept: set[str],
              ours: Callable[[Share], bool], dry_run: bool, report: ShareReport) -> None:
    """Withdraw the shares this connector made that nothing wants any more; forget those gone."""
    listed = {s.id for s in existing} | kept
    for s in existing:
        if s.id in kept or not ours(s):
            continue
        name = f"{s.path} → {s.share_with}" if s.share_type == SHARE_GROUP else f"upload-only link on {s.path}"
        if dry_run:
            report.planned.append(f"withdraw share {name}")
            continue
        if _delete_share(ocs, s.id, name, report) is None:
            continue
        made.pop(s.id, None)
        report.removed.append(name)
    for sid in [sid for sid in made if sid not in listed]:
        path = nfc(str(made[sid].get("path", "")))
        if path == root_path or path.startswith(root_path + "/"):
            if not dry_run:
                made.pop(sid)  # deleted by someone (or with its folder): nothing left to withdraw
            continue
        # Outside the plan's root (root_folder changed): still ours, no longer wanted.
        if dry_run:
            report.planned.append(f"withdraw share {path} → {made[sid].get('with') or 'link'}")
            continue
        name = f"{path} → {made[sid].get('with') or 'link'}"
        deleted = _delete_share(ocs, sid, path, report)
        if deleted is None:
            continue
        if deleted:
            report.removed.append(name)
        made.pop(sid)


# -- calendars ------------------------------------------------------------------------------------

class CalendarSharing:
    """Shares the plan's calendars read-only with groups and publishes the deadline calendar.

    `state`: slug -> {"groups": [...]}, the groups this connector shared (to unshare later); `limits`:
    the state's record of limits met (see RateGate); `ocs` (optional) reads the share-request limit an
    admin set; groups in `absent_groups` do not exist (already reported) and are skipped.
    """

    def __init__(self, http: HttpClient, caldav: CalDAVClient, state: dict, *, dry_run: bool = False,
                 limits: dict | None = None, ocs: OCSClient | None = None, absent_groups: Iterable[str] = ()):
        self.http = http
        self.caldav = caldav
        self.state = state
        self.dry_run = dry_run
        self.limits = limits
        self.ocs = ocs
        self.absent = set(absent_groups)

    def _limit(self) -> tuple[int, int]:
        """(requests, seconds) of the account's calendar share-request limit: the defaults, unless the
        account is an admin and can read what the server is set to."""
        limit, period = CALENDAR_SHARE_LIMIT, CALENDAR_SHARE_PERIOD
        if self.ocs is not None:
            try:
                limit = int(self.ocs.app_value("dav", "rateLimitShareAddressbookOrCalendar") or limit)
                period = int(self.ocs.app_value("dav", "rateLimitPeriodShareAddressbookOrCalendar") or period)
            except ValueError:
                pass
        return limit, period

    def apply(self, home: dict[str, CalendarInfo], calendars, report) -> None:
        published = False
        gate = RateGate(self.limits, "calendar shares", CALENDAR_SHARE_PERIOD)
        waiting: list[tuple[str, int]] = []  # (calendar, groups to add or withdraw)
        for cal in calendars:
            info = home.get(cal.slug)
            if info is None:
                continue
            current = nccal.shared_groups(info)
            entry = self.state.setdefault(cal.slug, {})
            ours = set(entry.get("groups", []))
            missing = [g for g in cal.share_groups if g not in current and g not in self.absent]
            stale = sorted(g for g in ours if g not in cal.share_groups and g in current)
            try:
                if self.dry_run:
                    if missing:
                        report.notices.append(f"would share {cal.slug} with {', '.join(missing)}")
                    if stale:
                        report.notices.append(f"would unshare {cal.slug} from {', '.join(stale)}")
                elif missing or stale:
                    if gate.closed():
                        waiting.append((cal.slug, len(missing) + len(stale)))
                    else:
                        self._send(info, cal, entry, ours, missing, stale, gate, waiting)
                else:
                    entry["groups"] = sorted(set(cal.share_groups))
                if cal.publish and not info.publish_url:
                    if self.dry_run:
                        report.notices.append(f"would publish {cal.slug}")
                    else:
                        nccal.publish_calendar(self.http, info.href)
                        published = True
                if cal.publish and info.publish_url:
                    report.publish_url = info.publish_url
            except ServerError as exc:
                if _fatal(exc):
                    raise
                report.failed.append(f"sharing {cal.slug}: {exc}")
        if waiting:
            report.paced.append(self._wait_line(waiting, gate))
        elif not self.dry_run:
            gate.passed()
        if published:  # the publish URL is only known after publishing: one more PROPFIND
            fresh = self.caldav.calendars()
            for cal in calendars:
                info = fresh.get(cal.slug)
                if cal.publish and info and info.publish_url:
                    report.publish_url = info.publish_url

    def _send(self, info: CalendarInfo, cal, entry: dict, ours: set[str], missing: list[str], stale: list[str],
              gate: RateGate, waiting: list[tuple[str, int]]) -> None:
        """Send one calendar's share changes in batches; on the limit, note what waits and close the gate."""
        done: set[str] = set()

        def went_through(added: list[str], removed: list[str]) -> None:
            ours.update(added)
            ours.difference_update(removed)
            done.update(added, removed)
            entry["groups"] = sorted(ours)

        try:
            nccal.update_shares(self.http, info.href, add=missing, remove=stale, summary=cal.displayname,
                                on_batch=went_through)
        except ServerError as exc:
            if _fatal(exc) or not _rate_limited(exc):
                raise
            limit, period = self._limit()
            gate.met(period, limit)
            waiting.append((cal.slug, len(missing) + len(stale) - len(done)))
            return
        entry["groups"] = sorted(set(cal.share_groups))

    def _wait_line(self, waiting: list[tuple[str, int]], gate: RateGate) -> str:
        limit, period = gate.limit or CALENDAR_SHARE_LIMIT, int(gate.period)
        groups = sum(n for _, n in waiting)
        return (f"calendar shares wait: {_count(len(waiting), 'calendar', 'calendars')} not shared yet with "
                f"{_count(groups, 'group', 'groups')} in all: Nextcloud lets one account send {limit} calendar share "
                f"requests per {period_text(period)} (10 groups each); the next run after {gate.when()} continues (or raise the "
                f"limit: occ config:app:set dav rateLimitShareAddressbookOrCalendar --value={max(100, limit * 5)})")
