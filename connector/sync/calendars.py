"""Calendars and task lists: make the server hold the desired items, with the fewest requests.

Per run: one PROPFIND of the calendar home (every calendar's sync-token at once). A calendar whose
token is the one remembered is not read at all; otherwise one sync-collection REPORT (incremental
with the remembered token) and one calendar-multiget for the items whose ETag we do not know.
Writes are conditional (If-None-Match: * / If-Match) and run a few at a time; a 412 makes us
re-read that one item and decide again.

Calendars the server keeps in a trash bin (Nextcloud) are restored, or removed for good and made
again; nothing is ever written into one. Calendars are created within the server's limits (Nextcloud:
so many per hour, so many in all): what does not fit waits, one line says why, and later runs go on
without asking again before the limit's period has passed. An item whose task list changed (the
[sync] task_lists layout) moves: written into its new list first, then deleted from the old one.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit

from connector.dav.caldav import CalDAVClient, CalendarHome, CalendarInfo
from connector.progress import Progress
from connector.errors import AuthError, PreconditionFailed, RateLimited, ServerError, UnreachableError
from connector.nextcloud.limits import CalendarLimits, waiting_line
from connector.render.ical import DesiredCalendar, DesiredItem, read_marker
from connector.dav.pool import run_adaptive
from connector.sync.reconcile import Action, Change, Known, Wanted, deletion_allowed, diff_collection

log = logging.getLogger("plan-connector.sync")


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    planned: list[Change] = field(default_factory=list)  # what a dry run would do
    calendars: list[str] = field(default_factory=list)
    publish_url: str | None = None
    waiting: list[str] = field(default_factory=list)  # calendars not created this run (server limits)
    waiting_line: str | None = None  # the one line (also in `failed`) that says what waits and why
    waiting: list[str] = field(default_factory=list)  # calendar shares paced by the server's limit (not failures)

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.deleted


def _known_from_state(entry: dict) -> dict[str, Known]:
    return {href: Known(*v) for href, v in entry.get("items", {}).items()}


def _uid_of(href: str) -> str:
    """The UID of one of our items from its href (<calendar>/<uid>.ics; our UIDs are [a-z0-9-])."""
    return unquote(href.rstrip("/").rsplit("/", 1)[-1]).removesuffix(".ics")


def _limit_kind(exc: ServerError) -> str | None:
    """Which calendar limit an error of MKCALENDAR means: "hourly" (429), "total" (403 limit), or None."""
    if exc.status == 429:
        return "hourly"
    if exc.status == 403 and (isinstance(exc, RateLimited) or "Calendar limit reached" in str(exc)):
        return "total"
    return None


def _path(href: str) -> str:
    """Items are remembered by URL path: the host or port may change (the embedded servers pick free
    ports), the path on the server does not."""
    return urlsplit(href).path


class CalendarSync:
    """Reconciles the calendars of one plan on one CalDAV home."""

    def __init__(self, caldav: CalDAVClient, state: dict, plan_code: str, *, parallel: int = 4,
                 dry_run: bool = False, force: bool = False, max_delete_fraction: float = 0.5,
                 sharing=None, limits_state: dict | None = None,
                 read_limits: Callable[[], CalendarLimits] | None = None, clock: Callable[[], float] = time.time):
        self.caldav = caldav
        self.state = state  # the "calendars" section of State: slug -> {href, token, items}
        self.plan_code = plan_code
        self.prefix = f"pc-{plan_code}-"
        self.parallel = max(1, parallel)
        self.dry_run = dry_run
        self.force = force
        self.max_delete_fraction = max_delete_fraction
        self.sharing = sharing  # Nextcloud-only: object with share(info, cal) / publish(info); None elsewhere
        # What the last runs met of the server's calendar limits (the "calendar_limits" state section):
        # {"created": [times of our MKCALENDARs], "until": time before which none is sent, "why", "limits"}.
        self.limits_state = limits_state if limits_state is not None else {}
        self.read_limits = read_limits  # Nextcloud: the account's limits (asked only when calendars are missing)
        self.clock = clock
        self._limits: CalendarLimits | None = None
        self._lock = threading.Lock()

    # -- reading -----------------------------------------------------------------------------
    def _server_view(self, info: CalendarInfo, entry: dict) -> dict[str, Known]:
        """What the calendar holds, from memory when its sync-token has not moved."""
        known = _known_from_state(entry)
        token = info.sync_token or info.ctag
        if entry.get("token") and token == entry.get("token") and "items" in entry:
            return known
        listing = self.caldav.list_items(info.href, entry.get("token") if "items" in entry else None)
        view: dict[str, Known] = {} if listing.full else dict(known)
        for href in listing.deleted:
            view.pop(_path(href), None)
        unknown = []
        for href, etag in listing.items.items():
            href = _path(href)
            k = known.get(href)
            if k is not None and k.etag is not None and k.etag == etag:
                view[href] = k
            else:
                unknown.append(href)
        if unknown:
            fetched = self.caldav.fetch(info.href, [self._abs(h) for h in unknown])
            for href, (etag, ics) in fetched.items():
                plan, digest = read_marker(ics)
                view[_path(href)] = Known(etag, plan, digest)
        return view

    def _abs(self, path: str) -> str:
        return urljoin(self.caldav.home_url, path)

    # -- writing -----------------------------------------------------------------------------
    def _apply(self, change: Change, cal_href: str, view: dict[str, Known], report: SyncReport, retry: bool = True) -> None:
        try:
            if change.action is Action.DELETE:
                self.caldav.delete(self._abs(change.href), change.etag)
                with self._lock:
                    view.pop(change.href, None)
                    report.deleted += 1
                return
            etag = self.caldav.put(self._abs(change.href), change.body, etag=change.etag, create=change.action is Action.CREATE)
            with self._lock:
                view[change.href] = Known(etag, self.plan_code, change.hash)
                if change.action is Action.CREATE:
                    report.created += 1
                else:
                    report.updated += 1
        except PreconditionFailed:
            if not retry:
                raise
            # Someone (or an interrupted earlier run) changed the item: re-read it and decide again.
            fetched = {_path(h): v for h, v in self.caldav.fetch(cal_href, [self._abs(change.href)]).items()}
            if change.href not in fetched:
                if change.action is Action.DELETE:
                    with self._lock:
                        view.pop(change.href, None)
                    return
                again = Change(Action.CREATE, change.collection, change.href, change.uid, None, change.body, change.hash)
            else:
                etag, ics = fetched[change.href]
                plan, digest = read_marker(ics)
                with self._lock:
                    view[change.href] = Known(etag, plan, digest)
                if plan != self.plan_code:
                    with self._lock:
                        report.failed.append(f"{change.href}: an item not made by plan-connector uses this UID; left alone")
                    return
                if change.action is not Action.DELETE and digest == change.hash:
                    with self._lock:
                        report.unchanged += 1
                    return
                again = Change(change.action if change.action is Action.DELETE else Action.UPDATE,
                               change.collection, change.href, change.uid, etag, change.body, change.hash)
            self._apply(again, cal_href, view, report, retry=False)

    def _run_changes(self, work: list[tuple[Change, str, dict]], report: SyncReport) -> None:
        progress = Progress(len(work), "calendar items")

        def one(item):
            change, cal_href, view = item
            try:
                self._apply(change, cal_href, view, report)
            finally:
                progress.advance()

        # As many writers as the server bears (a SQLite Nextcloud: about one); a 401 or an unreachable
        # server stops the queue at once; other failures (423, 507, a lock that never cleared) are per item.
        with progress:
            done = run_adaptive(work, one, parallel=self.parallel,
                                pressure=getattr(self.caldav.http, "busy_seen", None))
        for (change, _href, _view), exc in done.failed:
            report.failed.append(f"{change.action} {change.href}: {exc}")

    def _rename(self, href: str, displayname: str, report: SyncReport) -> None:
        try:
            self.caldav.set_displayname(href, displayname)
            report.updated += 1
        except (AuthError, UnreachableError):
            raise
        except ServerError as exc:
            report.failed.append(f"rename calendar {href}: {exc}")

    # -- trash bin and limits ----------------------------------------------------------------
    def _from_trash(self, home: CalendarHome, calendars: list[DesiredCalendar], report: SyncReport,
                    unusable: set[str]) -> CalendarHome:
        """Restore our calendars that sit in the trash bin; failing that, remove them for good (they are
        then made again). Returns the home as it stands after."""
        trashed = [c for c in calendars if c.slug not in home and c.slug in home.deleted]
        if not trashed or self.dry_run:
            for cal in trashed:
                report.notices.append(f"would restore calendar {cal.slug} ({cal.displayname}) from the trash bin")
            return home
        for cal in trashed:
            try:
                self.caldav.restore_calendar(cal.slug)
                report.notices.append(f"restored calendar {cal.slug} ({cal.displayname}) from the trash bin")
                self.state.get(cal.slug, {}).pop("token", None)  # read it again in full (ETags still count)
                continue
            except (AuthError, UnreachableError):
                raise
            except ServerError as exc:
                why = exc
            try:
                self.caldav.delete_calendar(home.deleted[cal.slug].href, permanently=True)
                report.notices.append(f"calendar {cal.slug} could not be restored from the trash bin ({why}); "
                                      "removed it for good to make it again")
                self.state.pop(cal.slug, None)
            except (AuthError, UnreachableError):
                raise
            except ServerError as exc:
                unusable.add(cal.slug)
                report.failed.append(f"calendar {cal.slug} is in the trash bin and can be neither restored ({why}) "
                                     f"nor removed ({exc}); its items wait")
        return self.caldav.calendars()

    def _limits_now(self) -> CalendarLimits | None:
        if self._limits is None and self.read_limits is not None:
            self._limits = self.read_limits()
        return self._limits

    def _creation_gate(self, home: CalendarHome, missing: int) -> tuple[int | None, str | None]:
        """(how many calendars this run may create, None = try them all; why the rest waits)."""
        if not missing or self.dry_run:
            return None, None
        limits = self._limits_now()
        mem = self.limits_state
        now = self.clock()
        period = limits.period if limits else 3600
        mem["created"] = [t for t in mem.get("created", []) if t > now - period]
        if mem.get("until", 0) > now:
            # Not before the period has passed, unless an admin has changed the limits since.
            if limits is None or not limits.read or mem.get("limits") == _limit_values(limits):
                return 0, mem.get("why", "hourly")
        if limits is not None and limits.read and limits.maximum >= 0:
            free = max(0, limits.maximum - home.owned_count(self.caldav.principal))
            if free < missing:
                return free, "total"
        return None, None

    def _limit_met(self, kind: str) -> None:
        """Remember that the server refused a calendar: no MKCALENDAR again before the period has passed."""
        limits = self._limits_now()
        now = self.clock()
        period = limits.period if limits else 3600
        created = self.limits_state.get("created", [])
        # The hourly window frees a place one period after the oldest creation in it (ours, if we know it).
        until = min(created) + period if kind == "hourly" and created else now + period
        self.limits_state.update(until=until, why=kind, limits=_limit_values(limits) if limits and limits.read else None)

    def _waiting_line(self, waiting: list[DesiredCalendar], why: str, home: CalendarHome, created: int) -> str:
        until = self.limits_state.get("until")
        resume = datetime.fromtimestamp(until).strftime("%H:%M") if why == "hourly" and until else None
        limits = self._limits_now() or (CalendarLimits() if self.read_limits is not None else None)
        return waiting_line(sum(1 for c in waiting if c.unit), [c.displayname for c in waiting if not c.unit],
                            limits=limits, hourly=why == "hourly", total=why == "total",
                            have=home.owned_count(self.caldav.principal) + created,
                            resume_at=resume, shared_advice=any(c.unit for c in waiting))

    # -- the whole run -----------------------------------------------------------------------
    def run(self, calendars: list[DesiredCalendar], items: list[DesiredItem]) -> SyncReport:
        """Make the server hold exactly `items` (among ours) in `calendars`; return what happened."""
        report = SyncReport(calendars=[c.slug for c in calendars])
        unusable: set[str] = set()
        home = self._from_trash(self.caldav.calendars(), calendars, report, unusable)
        by_cal: dict[str, dict[str, DesiredItem]] = {c.slug: {} for c in calendars}
        for it in items:
            by_cal.setdefault(it.calendar, {})[it.uid] = it
        # Calendars of this plan that are no longer desired (a unit was removed, the layout changed): empty them.
        orphans = [slug for slug in home if slug.startswith(self.prefix) and slug not in by_cal]
        missing = [c for c in calendars if c.slug not in home and c.slug not in unusable
                   and not (self.dry_run and c.slug in home.deleted)]
        may_create, why = self._creation_gate(home, len(missing))
        wrote = False
        created = 0
        waiting: list[DesiredCalendar] = []
        views: dict[str, tuple[CalendarInfo | None, str, dict[str, Known]]] = {}
        for cal in calendars:
            info = home.get(cal.slug)
            if cal.slug in unusable:
                continue
            if info is None:
                if self.dry_run:
                    if cal.slug not in home.deleted:
                        report.notices.append(f"would create calendar {cal.slug} ({cal.displayname})")
                    views[cal.slug] = (None, self.caldav.home_url + cal.slug + "/", {})
                    continue
                if may_create is not None and created >= may_create:
                    waiting.append(cal)
                    continue
                try:
                    href = self.caldav.create_calendar(cal.slug, cal.displayname, description=cal.description,
                                                       components=tuple(cal.components), color=cal.color)
                except (AuthError, UnreachableError):
                    raise
                except ServerError as exc:
                    kind = _limit_kind(exc)
                    if kind is None:
                        report.failed.append(f"create calendar {cal.slug}: {exc}; its items wait")
                        continue
                    self._limit_met(kind)
                    may_create, why = created, kind
                    waiting.append(cal)
                    continue
                created += 1
                if self.read_limits is not None:
                    self.limits_state.setdefault("created", []).append(self.clock())
                wrote = True
                entry = self.state.setdefault(cal.slug, {})
                entry.clear()
                entry["href"] = href
                entry["items"] = {}
                views[cal.slug] = (None, href, {})
                continue
            entry = self.state.setdefault(cal.slug, {})
            entry["href"] = info.href
            views[cal.slug] = (info, info.href, self._server_view(info, entry))
            if info.displayname is not None and info.displayname != cal.displayname:
                # The unit or the plan was renamed: the calendar apps show the new name.
                if self.dry_run:
                    report.notices.append(f"would rename calendar {cal.slug} to {cal.displayname!r}")
                else:
                    self._rename(info.href, cal.displayname, report)
                    wrote = True
        if waiting:
            report.waiting = [c.slug for c in waiting]
            report.waiting_line = self._waiting_line(waiting, why or "hourly", home, created)
            report.failed.append(report.waiting_line)
        elif not self.dry_run:
            for key in ("until", "why", "limits"):
                self.limits_state.pop(key, None)
        for slug in orphans:
            info = home[slug]
            entry = self.state.setdefault(slug, {})
            views[slug] = (info, info.href, self._server_view(info, entry))
            by_cal[slug] = {}

        work, moves = self._changes(views, by_cal, {it.uid: it.calendar for it in items}, report)
        if self.dry_run:
            report.planned = [w[0] for w in work + moves]
            return report
        try:
            self._run_changes(work, report)
            # An item that changed task list leaves the old one only once it is in the new one.
            arrived = [m for m in moves if self._arrived(m[0], views, by_cal)]
            if arrived:
                self._run_changes(arrived, report)
        finally:
            wrote = wrote or bool(work) or bool(moves)
            for slug, (_info, href, view) in views.items():
                entry = self.state.setdefault(slug, {})
                entry["href"] = href
                entry["items"] = {h: [k.etag, k.plan, k.hash] for h, k in view.items()}
        # A calendar of a unit that left the plan, now empty (no item of ours, none of a person's): remove
        # it, so its group no longer sees it; for good, as an empty calendar in Nextcloud's trash bin would
        # still count against the account's calendar limit for 30 days.
        for slug in orphans:
            info, href, view = views[slug]
            if not view:
                try:
                    self.caldav.delete_calendar(href, permanently=True)
                except (AuthError, UnreachableError):
                    raise
                except ServerError as exc:
                    report.failed.append(f"remove calendar {slug}: {exc}")
                    continue
                wrote = True
                report.notices.append(f"removed calendar {slug} ({info.displayname}): no longer part of the plan")
                self.state.pop(slug, None)
                del views[slug]
        # Remember each calendar's token as it stands after our writes, so the next run reads nothing.
        final = self.caldav.calendars() if wrote else home
        for slug in list(views):
            info = final.get(slug)
            if info is not None:
                self.state[slug]["token"] = info.sync_token or info.ctag
        if self.sharing is not None:
            self.sharing.apply(final, calendars, report)
        return report

    def _changes(self, views, by_cal, target_of: dict[str, str], report: SyncReport):
        """(work, moves): the changes per calendar, deletions of items that moved to another calendar apart.

        A move is no loss, so it does not count against the delete guard (switching [sync] task_lists
        moves every to-do); it waits while its new calendar waits.
        """
        work: list[tuple[Change, str, dict]] = []
        moves: list[tuple[Change, str, dict]] = []
        deletes = owned = 0
        for slug, (_info, href, view) in views.items():
            wanted = {_path(self.caldav.item_href(href, uid)): Wanted(uid, it.hash, it.ics) for uid, it in by_cal[slug].items()}
            changes, unchanged, n_owned = diff_collection(slug, wanted, view, self.plan_code)
            report.unchanged += unchanged
            owned += n_owned
            for ch in changes:
                if ch.action is Action.DELETE:
                    target = target_of.get(_uid_of(ch.href))
                    if target is not None and target != slug:
                        if target in views:
                            moves.append((ch, href, view))
                        continue  # its new calendar waits: the item stays where it is for now
                    deletes += 1
                work.append((ch, href, view))
            foreign = [h for h in wanted if h in view and view[h].plan != self.plan_code]
            for h in foreign:
                report.failed.append(f"{h}: an item not made by plan-connector uses this UID; left alone")
        if not self.force and not deletion_allowed(deletes, owned, self.max_delete_fraction):
            work = [w for w in work if w[0].action is not Action.DELETE]
            report.failed.append(
                f"refusing to delete {deletes} of {owned} items made by plan-connector in one run "
                f"(more than {self.max_delete_fraction:.0%}); check the plan and units files, or rerun with --force")
        return work, moves

    def _arrived(self, change: Change, views, by_cal) -> bool:
        """Is the item this deletion moves now in its new calendar (written by us)?"""
        uid = _uid_of(change.href)
        for slug, (_info, href, view) in views.items():
            if uid in by_cal.get(slug, {}):
                known = view.get(_path(self.caldav.item_href(href, uid)))
                return known is not None and known.plan == self.plan_code
        return False

def _limit_values(limits: CalendarLimits) -> list[int]:
    return [limits.per_period, limits.period, limits.maximum]
