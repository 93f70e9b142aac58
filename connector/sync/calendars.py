"""Calendars and task lists: make the server hold the desired items, with the fewest requests.

Per run: one PROPFIND of the calendar home (every calendar's sync-token at once). A calendar whose
token is the one remembered is not read at all; otherwise one sync-collection REPORT (incremental
with the remembered token) and one calendar-multiget for the items whose ETag we do not know.
Writes are conditional (If-None-Match: * / If-Match) and run a few at a time; a 412 makes us
re-read that one item and decide again.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit
from xml.sax.saxutils import escape

from connector.dav.caldav import CalDAVClient, CalendarInfo
from connector.progress import Progress
from connector.errors import AuthError, PreconditionFailed, ServerError, UnreachableError
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

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.deleted


def _known_from_state(entry: dict) -> dict[str, Known]:
    return {href: Known(*v) for href, v in entry.get("items", {}).items()}


def _path(href: str) -> str:
    """Items are remembered by URL path: the host or port may change (the embedded servers pick free
    ports), the path on the server does not."""
    return urlsplit(href).path


class CalendarSync:
    """Reconciles the calendars of one plan on one CalDAV home."""

    def __init__(self, caldav: CalDAVClient, state: dict, plan_code: str, *, parallel: int = 4,
                 dry_run: bool = False, force: bool = False, max_delete_fraction: float = 0.5,
                 sharing=None):
        self.caldav = caldav
        self.state = state  # the "calendars" section of State: slug -> {href, token, items}
        self.plan_code = plan_code
        self.prefix = f"pc-{plan_code}-"
        self.parallel = max(1, parallel)
        self.dry_run = dry_run
        self.force = force
        self.max_delete_fraction = max_delete_fraction
        self.sharing = sharing  # Nextcloud-only: object with share(info, cal) / publish(info); None elsewhere
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
        body = ('<?xml version="1.0" encoding="utf-8"?>\n<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop>'
                f"<d:displayname>{escape(displayname)}</d:displayname></d:prop></d:set></d:propertyupdate>")
        try:
            self.caldav.http.request("PROPPATCH", href, headers={"Content-Type": "application/xml; charset=utf-8"},
                                     data=body.encode("utf-8"), expect=(200, 207))
            report.updated += 1
        except (AuthError, UnreachableError):
            raise
        except ServerError as exc:
            report.failed.append(f"rename calendar {href}: {exc}")

    # -- the whole run -----------------------------------------------------------------------
    def run(self, calendars: list[DesiredCalendar], items: list[DesiredItem]) -> SyncReport:
        """Make the server hold exactly `items` (among ours) in `calendars`; return what happened."""
        report = SyncReport(calendars=[c.slug for c in calendars])
        home = self.caldav.calendars()
        by_cal: dict[str, dict[str, DesiredItem]] = {c.slug: {} for c in calendars}
        for it in items:
            by_cal.setdefault(it.calendar, {})[it.uid] = it
        # Calendars of this plan that are no longer desired (a unit was removed): empty them.
        orphans = [slug for slug in home if slug.startswith(self.prefix) and slug not in by_cal]
        wrote = False
        views: dict[str, tuple[CalendarInfo | None, str, dict[str, Known]]] = {}
        for cal in calendars:
            info = home.get(cal.slug)
            entry = self.state.setdefault(cal.slug, {})
            if info is None:
                if self.dry_run:
                    report.notices.append(f"would create calendar {cal.slug} ({cal.displayname})")
                    views[cal.slug] = (None, self.caldav.home_url + cal.slug + "/", {})
                    continue
                href = self.caldav.create_calendar(cal.slug, cal.displayname, description=cal.description,
                                                   components=tuple(cal.components), color=cal.color)
                wrote = True
                entry.clear()
                entry["href"] = href
                entry["items"] = {}
                views[cal.slug] = (None, href, {})
                continue
            entry["href"] = info.href
            views[cal.slug] = (info, info.href, self._server_view(info, entry))
            if info.displayname is not None and info.displayname != cal.displayname:
                # The unit or the plan was renamed: the calendar apps show the new name.
                if self.dry_run:
                    report.notices.append(f"would rename calendar {cal.slug} to {cal.displayname!r}")
                else:
                    self._rename(info.href, cal.displayname, report)
                    wrote = True
        for slug in orphans:
            info = home[slug]
            entry = self.state.setdefault(slug, {})
            views[slug] = (info, info.href, self._server_view(info, entry))
            by_cal[slug] = {}

        work: list[tuple[Change, str, dict]] = []
        deletes = owned = 0
        for slug, (_info, href, view) in views.items():
            wanted = {_path(self.caldav.item_href(href, uid)): Wanted(uid, it.hash, it.ics) for uid, it in by_cal[slug].items()}
            changes, unchanged, n_owned = diff_collection(slug, wanted, view, self.plan_code)
            report.unchanged += unchanged
            owned += n_owned
            for ch in changes:
                if ch.action is Action.DELETE:
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
        if self.dry_run:
            report.planned = [w[0] for w in work]
            return report
        try:
            self._run_changes(work, report)
        finally:
            wrote = wrote or bool(work)
            for slug, (_info, href, view) in views.items():
                entry = self.state.setdefault(slug, {})
                entry["href"] = href
                entry["items"] = {h: [k.etag, k.plan, k.hash] for h, k in view.items()}
        # A calendar of a unit that left the plan, now empty (no item of ours, none of a person's):
        # remove it, so its group no longer sees it (Nextcloud keeps it in the trash bin for a while).
        for slug in orphans:
            info, href, view = views[slug]
            if not view and not self.dry_run:
                try:
                    self.caldav.http.request("DELETE", href, expect=(200, 204, 404))
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
