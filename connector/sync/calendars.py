"""Calendars and task lists: make the server hold the desired items, with the fewest requests.

Per run: one PROPFIND of the calendar home (every calendar's sync-token at once). A calendar whose
token is the one remembered is not read at all; otherwise one sync-collection REPORT (incremental
with the remembered token) and one calendar-multiget for the items whose ETag we do not know. The
token remembered is the one that REPORT returned, so whatever changes after it is seen by a later run.
Writes are always conditional (If-None-Match: * / If-Match; an item whose ETag is unknown is read
first) and run a few at a time; a 412 makes us re-read that one item and decide again. After the
writes, one incremental REPORT per written calendar from the token before them learns the ETags the
writes made (and anything others changed meanwhile) and gives the token to remember.

Ownership: an item is ours only with this plan's marker at `<uid>.ics` with one of the plan's UIDs
(sync.reconcile.owns); a calendar only when its name is one this plan makes (or made: the state
remembers them), never by prefix — plan `21-kl` does not touch the calendars of `21-kl-tw`. Items
are keyed by their decoded NFC path (dav.caldav.item_key), whatever the server's spelling.

Calendars the server keeps in a trash bin (Nextcloud) are restored, or removed for good and made
again; nothing is ever written into one. Calendars are created within the server's limits (Nextcloud:
so many per hour, so many in all): what does not fit waits, one line says why, and later runs go on
without asking again before the limit's period has passed. An item whose task list changed (the
[sync] task_lists layout) moves: written into its new list first, then deleted from the old one.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from dataclasses import dataclass, field

from connector.dav.caldav import CalDAVClient, CalendarHome, CalendarInfo, item_key
from connector.progress import Progress
from connector.errors import AuthError, PreconditionFailed, RateLimited, ServerError, UnreachableError
from connector.nextcloud.limits import CalendarLimits, waiting_line
from connector.render.ical import DesiredCalendar, DesiredItem, read_marker
from connector.dav.pool import run_adaptive
from connector.sync.reconcile import (Action, Change, ItemMeta, Wanted, deletion_allowed, diff_collection, owns,
                                      uid_of_key)

log = logging.getLogger("plan-connector.sync")

Known = ItemMeta  # the older name


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
    waiting: list[str] = field(default_factory=list)  # slugs of calendars not made this run (server limits)
    paced: list[str] = field(default_factory=list)  # lines: calendar shares paced by the server's rate limit (not failures)
    waiting_line: str | None = None  # the one line (also in `failed`) that says what waits and why

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.deleted


def _known_from_state(entry: dict) -> dict[str, ItemMeta]:
    """The items a state entry remembers, by key (older spellings and formats read too)."""
    return {item_key(href): ItemMeta.from_json(v) for href, v in (entry.get("items") or {}).items()}


def _uid_of(href: str) -> str:
    """The UID of one of our items from its key or href (<calendar>/<uid>.ics; our UIDs are [a-z0-9-])."""
    return uid_of_key(item_key(href)) or ""


_UNFOLD = re.compile(r"\r?\n[ \t]")
_UID_LINE = re.compile(r"^UID(?:;[^:\r\n]*)?:(.*?)\r?$", re.MULTILINE)


def _meta(key: str, etag: str | None, ics: str) -> ItemMeta:
    """What an item read from the server is: its marker counts only when the UID inside it is its href's
    (a person's copy of one of our events has our marker and another UID)."""
    plan, digest = read_marker(ics)
    uids = {m.strip() for m in _UID_LINE.findall(_UNFOLD.sub("", ics))}
    if plan is not None and uids != {uid_of_key(key)}:
        plan = None
    return ItemMeta(etag or None, plan, digest)


def _limit_kind(exc: ServerError) -> str | None:
    """Which calendar limit an error of MKCALENDAR means: "hourly" (429), "total" (403 limit), or None."""
    if exc.status == 429:
        return "hourly"
    if exc.status == 403 and (isinstance(exc, RateLimited) or "Calendar limit reached" in str(exc)):
        return "total"
    return None


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
    @staticmethod
    def _unmoved(info: CalendarInfo, entry: dict) -> bool:
        """Does the calendar hold what the state remembers (its sync-token, else its ctag, unchanged)?"""
        return "items" in entry and bool(
            (info.sync_token and info.sync_token == entry.get("token"))
            or (not info.sync_token and info.ctag and info.ctag == entry.get("ctag")))

    def _read(self, info: CalendarInfo, entry: dict) -> dict[str, ItemMeta]:
        """What the calendar holds, from memory when its sync-token has not moved; the entry's token then
        becomes the one the REPORT gave (a change after it is seen by the next run)."""
        known = _known_from_state(entry)
        if self._unmoved(info, entry):
            return known
        view, token = self._refresh(info.href, known, entry.get("token") if "items" in entry else None)
        if not self.dry_run:  # the token and the items it stands for are remembered together
            entry["token"] = token
            entry["items"] = {k: m.to_json() for k, m in view.items()}
            if info.sync_token is None and info.ctag:
                entry["ctag"] = info.ctag  # read before the listing: no change can hide behind it
            else:
                entry.pop("ctag", None)
        return view

    def _refresh(self, cal_href: str, known: dict[str, ItemMeta], token: str | None
                 ) -> tuple[dict[str, ItemMeta], str | None]:
        """(view, token): the calendar's items after the changes since `token` (all of them without one),
        each unknown ETag's item read with one calendar-multiget."""
        listing = self.caldav.list_items(cal_href, token)
        view: dict[str, ItemMeta] = {} if listing.full else dict(known)
        for href in listing.deleted:
            view.pop(item_key(href), None)
        unknown = []
        for href, etag in listing.items.items():
            key = item_key(href)
            k = known.get(key)
            if k is not None and k.etag and k.etag == etag:
                view[key] = k
            else:
                view.pop(key, None)
                unknown.append(key)
        if unknown:
            for href, (etag, ics) in self.caldav.fetch(cal_href, [self._abs(k) for k in unknown]).items():
                key = item_key(href)
                view[key] = _meta(key, etag, ics)
        return view, listing.sync_token

    def _abs(self, key: str) -> str:
        return self.caldav.url(key)

    # -- writing -----------------------------------------------------------------------------
    def _apply(self, change: Change, cal_href: str, view: dict[str, ItemMeta], report: SyncReport,
               retry: bool = True) -> None:
        if change.action is not Action.CREATE and not change.etag:
            # Never an unconditional update or delete: read the item first (its ETag, whose it is now).
            self._redecide(change, cal_href, view, report)
            return
        try:
            if change.action is Action.DELETE:
                self.caldav.delete(self._abs(change.href), change.etag)
                with self._lock:
                    view.pop(change.href, None)
                    report.deleted += 1
                return
            etag = self.caldav.put(self._abs(change.href), change.text(), etag=change.etag,
                                   create=change.action is Action.CREATE)
            with self._lock:
                view[change.href] = ItemMeta(etag, self.plan_code, change.hash)  # None: learnt after the writes
                if change.action is Action.CREATE:
                    report.created += 1
                else:
                    report.updated += 1
        except PreconditionFailed:
            if not retry:
                raise
            # Someone (or an interrupted earlier run) changed the item: re-read it and decide again.
            self._redecide(change, cal_href, view, report)

    def _redecide(self, change: Change, cal_href: str, view: dict[str, ItemMeta], report: SyncReport) -> None:
        """Read one item again and make the change it still needs, conditionally (once: a second 412 fails)."""
        key = change.href
        fetched = {item_key(h): v for h, v in self.caldav.fetch(cal_href, [self._abs(key)]).items()}
        if key not in fetched:
            with self._lock:
                view.pop(key, None)
            if change.action is Action.DELETE:
                return
            again = Change(Action.CREATE, change.collection, key, change.uid, None, change.body, change.hash)
        else:
            etag, ics = fetched[key]
            meta = _meta(key, etag, ics)
            with self._lock:
                view[key] = meta
            if not owns(key, meta, self.plan_code):
                with self._lock:
                    report.failed.append(f"{key}: an item not made by plan-connector uses this UID; left alone")
                return
            if change.action is not Action.DELETE and meta.hash == change.hash:
                with self._lock:
                    report.unchanged += 1
                return
            if not meta.etag:
                raise ServerError(f"{change.action} {key}: the server names no ETag for it; "
                                  "not changed without one (it could overwrite someone's change)")
            again = Change(Action.DELETE if change.action is Action.DELETE else Action.UPDATE,
                           change.collection, key, change.uid, meta.etag, change.body, change.hash)
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
    def run_settled(self, calendars: list[DesiredCalendar], home: CalendarHome) -> SyncReport | None:
        """The run when the desired items are those the last complete run left (the caller knows: same
        inputs) and the server still holds them (`home`, the calendar home as just read): every calendar
        there under its name, its sync-token unmoved, no calendar of ours left over. None when anything
        moved: `run` then decides item by item."""
        wanted = {c.slug for c in calendars}
        if any(slug in self.state and slug not in wanted and slug.startswith(self.prefix) for slug in home):
            return None
        unchanged = 0
        for cal in calendars:
            info, entry = home.get(cal.slug), self.state.get(cal.slug)
            if (info is None or entry is None or not self._unmoved(info, entry)
                    or info.displayname not in (None, cal.displayname)):
                return None
            unchanged += sum(1 for key, meta in _known_from_state(entry).items() if owns(key, meta, self.plan_code))
        report = SyncReport(calendars=[c.slug for c in calendars], unchanged=unchanged)
        if self.sharing is not None:
            self.sharing.apply(home, calendars, report)
        return report

    def run(self, calendars: list[DesiredCalendar], items: list[DesiredItem],
            home: CalendarHome | None = None) -> SyncReport:
        """Make the server hold exactly `items` (among ours) in `calendars`; return what happened. `home`: the
        calendar home if the caller has just read it (else read here)."""
        report = SyncReport(calendars=[c.slug for c in calendars])
        unusable: set[str] = set()
        home = self._from_trash(home or self.caldav.calendars(), calendars, report, unusable)
        by_cal: dict[str, dict[str, DesiredItem]] = {c.slug: {} for c in calendars}
        for it in items:
            by_cal.setdefault(it.calendar, {})[it.uid] = it
        # Calendars this plan made that are no longer desired (a unit was removed, the layout changed):
        # empty them. Known by name from the state, never by prefix (another plan's code may extend ours).
        orphans = [slug for slug in home if slug in self.state and slug not in by_cal and slug.startswith(self.prefix)]
        missing = [c for c in calendars if c.slug not in home and c.slug not in unusable
                   and not (self.dry_run and c.slug in home.deleted)]
        may_create, why = self._creation_gate(home, len(missing))
        wrote = False
        created = 0
        waiting: list[DesiredCalendar] = []
        views: dict[str, tuple[CalendarInfo | None, str, dict[str, ItemMeta]]] = {}
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
                    # Nextcloud's calendar limits are remembered (no MKCALENDAR before their period is over);
                    # elsewhere a refusal, a 429 too, is one failure and the next run asks again.
                    kind = _limit_kind(exc) if self.read_limits is not None else None
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
                entry["href"] = item_key(href)
                entry["items"] = {}
                views[cal.slug] = (None, self.caldav.url(href), {})
                continue
            entry = self.state.setdefault(cal.slug, {})
            entry["href"] = item_key(info.href)
            views[cal.slug] = (info, info.href, self._read(info, entry))
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
            views[slug] = (info, info.href, self._read(info, entry))
            by_cal[slug] = {}

        work, moves = self._changes(views, by_cal, {it.uid: it.calendar for it in items}, report)
        if self.dry_run:
            report.planned = [w[0] for w in work + moves]
            return report
        written = {w[0].collection for w in work + moves} | {slug for slug, v in views.items() if v[0] is None}
        try:
            self._run_changes(work, report)
            # An item that changed task list leaves the old one only once it is in the new one.
            arrived = [m for m in moves if self._arrived(m[0], views, by_cal)]
            if arrived:
                self._run_changes(arrived, report)
            self._learn_after_writes(views, written)
        finally:
            wrote = wrote or bool(work) or bool(moves)
            for slug, (_info, href, view) in views.items():
                entry = self.state.setdefault(slug, {})
                entry["href"] = item_key(href)
                entry["items"] = {k: m.to_json() for k, m in view.items()}
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
        if self.sharing is not None:
            self.sharing.apply(self.caldav.calendars() if wrote else home, calendars, report)
        return report

    def _learn_after_writes(self, views, written: set[str]) -> None:
        """One incremental REPORT per written calendar, from the token before the writes: the ETags our
        writes made, whatever others changed meanwhile, and the token to remember (a no-op rerun then reads
        nothing). A calendar this fails for keeps its earlier token: the next run reads from there."""
        for slug in sorted(written & set(views)):
            info, href, view = views[slug]
            entry = self.state.setdefault(slug, {})
            try:
                fresh, token = self._refresh(href, view, entry.get("token") if "items" in entry else None)
            except (AuthError, UnreachableError):
                raise
            except ServerError as exc:
                log.info("could not list %s after writing (%s); the next run reads it", slug, exc)
                entry.pop("ctag", None)
                continue
            view.clear()
            view.update(fresh)
            entry["token"] = token
            entry.pop("ctag", None)  # a ctag read before these writes would hide them

    def _changes(self, views, by_cal, target_of: dict[str, str], report: SyncReport):
        """(work, moves): the changes per calendar, deletions of items that moved to another calendar apart.

        A move is no loss, so it does not count against the delete guard (switching [sync] task_lists
        moves every to-do); it waits while its new calendar waits.
        """
        work: list[tuple[Change, str, dict]] = []
        moves: list[tuple[Change, str, dict]] = []
        deletes = owned = 0
        for slug, (_info, href, view) in views.items():
            wanted = {item_key(self.caldav.item_href(href, uid)): Wanted(uid, it.hash, lambda it=it: it.ics)
                      for uid, it in by_cal[slug].items()}
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
            foreign = [h for h in wanted if h in view and not owns(h, view[h], self.plan_code)]
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
                key = item_key(self.caldav.item_href(href, uid))
                known = view.get(key)
                return known is not None and owns(key, known, self.plan_code)
        return False

def _limit_values(limits: CalendarLimits) -> list[int]:
    return [limits.per_period, limits.period, limits.maximum]
