"""The calendar sync against a real CalDAV server (Radicale, started by the `embedded` fixture).

Given the seed-like plan and some units, after sync the calendars hold exactly the plan; rerunning
writes nothing and costs a handful of requests whatever the number of units.
"""
from __future__ import annotations

from datetime import date

import pytest
from icalendar import Calendar

from connector.dav.caldav import CalDAVClient
from connector.dav.http import HttpClient
from connector.errors import RateLimited, ServerError
from connector.nextcloud.limits import CalendarLimits
from connector.render.ical import RenderOptions, build_desired
from connector.schedule import expand
from connector.sync.calendars import CalendarSync
from tests.plan_samples import sample_units, seed_like_plan

pytestmark = pytest.mark.server
CODE = "21-kl-tw"


class Harness:
    """One admin's view: a session, a client, the state that survives between runs."""

    def __init__(self, embedded, dav_session, client=CalDAVClient):
        self.http = HttpClient(dav_session)
        self.caldav = client(self.http, embedded.calendar_home)
        self.state: dict = {}
        self.limits: dict = {}  # the state's "calendar_limits" section

    def sync(self, plan, units, *, completions=None, force=False, parallel=4, task_lists="per_unit", **kw):
        cals, items = build_desired(plan, units, expand(plan, units), RenderOptions(), completions=completions,
                                    task_lists=task_lists)
        before = self.http.count
        report = CalendarSync(self.caldav, self.state, CODE, parallel=parallel, force=force,
                              limits_state=self.limits, **kw).run(cals, items)
        report.requests = self.http.count - before
        return report, items

    def server_items(self) -> dict[str, list[str]]:
        """calendar slug -> every UID on the server (read with a fresh full listing)."""
        out = {}
        for slug, info in self.caldav.calendars().items():
            listing = self.caldav.list_items(info.href)
            fetched = self.caldav.fetch(info.href, list(listing.items))
            uids = []
            for _etag, ics in fetched.values():
                for comp in Calendar.from_ical(ics).walk():
                    if comp.name in ("VEVENT", "VTODO"):
                        uids.append(str(comp["UID"]))
            out[slug] = uids
        return out


@pytest.fixture
def admin(embedded, dav_session):
    return Harness(embedded, dav_session)


def test_first_sync_creates_the_plan_and_a_rerun_writes_nothing(admin):
    plan, units = seed_like_plan(), sample_units(4)
    report, items = admin.sync(plan, units)
    assert report.created == len(items) and report.failed == []
    on_server = admin.server_items()
    assert sorted(u for uids in on_server.values() for u in uids) == sorted(i.uid for i in items)
    assert f"pc-{CODE}-han" in on_server and f"pc-{CODE}-tong-hop" in on_server

    again, _ = admin.sync(plan, units)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
    assert again.unchanged == len(items)
    assert again.requests == 1  # one PROPFIND of the calendar home


def test_noop_resync_costs_the_same_whatever_the_number_of_units(embedded, dav_session):
    costs = {}
    for n in (2, 8):
        h = Harness(embedded, dav_session)
        plan = seed_like_plan()
        plan.code = CODE
        h.sync(plan, sample_units(n))
        report, _ = h.sync(plan, sample_units(n))
        assert report.writes == 0
        costs[n] = report.requests
    assert costs[2] == costs[8] == 1


def test_a_lost_state_costs_one_listing_and_no_duplicate(admin):
    plan, units = seed_like_plan(), sample_units(3)
    _, items = admin.sync(plan, units)
    admin.state.clear()
    report, _ = admin.sync(plan, units)
    assert report.writes == 0 and report.unchanged == len(items)
    uids = [u for uids in admin.server_items().values() for u in uids]
    assert len(uids) == len(set(uids)) == len(items)


def test_moving_a_deadline_updates_exactly_the_affected_items(admin):
    plan, units = seed_like_plan(), sample_units(3)
    _, before = admin.sync(plan, units)
    task2 = next(t for t in plan.tasks if t.number == 2)
    task2.milestones[0].due = date(2022, 4, 15)
    report, after = admin.sync(plan, units)
    old = {i.uid: i.hash for i in before}
    changed = {i.uid for i in after if old.get(i.uid) != i.hash}
    assert changed and all("-t02-" in uid or uid.endswith("-t02") for uid in changed)
    assert report.updated == len(changed) and report.created == 0 and report.deleted == 0


def test_removing_a_unit_removes_only_its_items(admin):
    plan, units = seed_like_plan(), sample_units(4)
    admin.sync(plan, units)
    gone = units[-1]
    report, items = admin.sync(plan, units[:-1])
    assert report.deleted > 0 and report.created == 0
    on_server = admin.server_items()
    remaining = sorted(u for uids in on_server.values() for u in uids)
    assert remaining == sorted(i.uid for i in items)
    assert not any(f"-td-{gone.id}" in u for u in remaining)
    assert not any(slug.endswith(gone.id) for slug in admin.caldav.calendars())  # its emptied task list is gone
    assert any("removed calendar" in n for n in report.notices)
    assert admin.sync(plan, units[:-1])[0].writes == 0


def test_deleting_most_of_the_plan_is_refused_without_force(admin):
    plan, units = seed_like_plan(), sample_units(6)
    _, items = admin.sync(plan, units)
    report, _ = admin.sync(plan, units[:1])
    assert report.deleted == 0
    assert any("refusing to delete" in f for f in report.failed)
    forced, _ = admin.sync(plan, units[:1], force=True)
    assert forced.deleted > 0 and forced.failed == []


def test_an_event_a_person_added_survives_every_sync(admin, dav_session):
    plan, units = seed_like_plan(), sample_units(2)
    admin.sync(plan, units)
    cal = admin.caldav.calendars()[f"pc-{CODE}-han"]
    personal = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//person//EN\r\nBEGIN:VEVENT\r\nUID:hop-chi-bo-thang-3\r\n"
                "DTSTAMP:20220301T000000Z\r\nDTSTART;VALUE=DATE:20220310\r\nSUMMARY:Họp chi bộ tháng 3\r\n"
                "END:VEVENT\r\nEND:VCALENDAR\r\n")
    href = admin.caldav.item_href(cal.href, "hop-chi-bo-thang-3")
    admin.caldav.put(href, personal, create=True)
    report, _ = admin.sync(plan, units[:1], force=True)  # even a sync that deletes
    assert "hop-chi-bo-thang-3" in admin.server_items()[f"pc-{CODE}-han"]
    assert all("hop-chi-bo" not in f for f in report.failed)


def test_an_interrupted_sync_converges_on_rerun_without_duplicates(admin, monkeypatch):
    plan, units = seed_like_plan(), sample_units(3)
    real_put = admin.caldav.put
    calls = {"n": 0}

    def flaky_put(*a, **kw):
        calls["n"] += 1
        if calls["n"] > 25:
            raise ServerError("simulated: connection dropped after 25 writes", status=503)
        return real_put(*a, **kw)

    monkeypatch.setattr(admin.caldav, "put", flaky_put)
    first, items = admin.sync(plan, units, parallel=1)
    assert first.created == 25 and first.failed
    monkeypatch.setattr(admin.caldav, "put", real_put)
    admin.state.clear()  # the crash may also have lost the state: still no duplicate
    second, _ = admin.sync(plan, units)
    assert second.created == len(items) - 25 and second.failed == []
    uids = [u for uids in admin.server_items().values() for u in uids]
    assert sorted(uids) == sorted(i.uid for i in items)


def test_a_write_that_raced_with_another_run_is_re_decided(admin):
    """The state says nothing exists, the server already has it: If-None-Match 412 → re-read → unchanged."""
    plan, units = seed_like_plan(), sample_units(2)
    _, items = admin.sync(plan, units)
    other = Harness.__new__(Harness)
    other.http, other.caldav, other.state, other.limits = admin.http, admin.caldav, {}, {}
    # Pretend every calendar is known and empty at the current token: the creates will meet 412s.
    for slug, info in admin.caldav.calendars().items():
        other.state[slug] = {"href": info.href, "token": info.sync_token or info.ctag, "items": {}}
    report, _ = other.sync(plan, units)
    assert report.created == 0 and report.failed == [] and report.unchanged == len(items)


def test_completed_obligations_complete_their_todos(admin):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    plan, units = seed_like_plan(), sample_units(2)
    obligations = expand(plan, units)
    admin.sync(plan, units)
    ob = next(o for o in obligations if o.task == 2 and o.unit == units[0].id)
    done = {ob.key: datetime(2022, 3, 20, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))}
    report, _ = admin.sync(plan, units, completions=done)
    assert report.updated >= 1 and report.created == 0
    cal = admin.caldav.calendars()[next(s for s in admin.caldav.calendars() if s.endswith(units[0].id))]
    listing = admin.caldav.list_items(cal.href)
    todos = [Calendar.from_ical(ics) for _e, ics in admin.caldav.fetch(cal.href, list(listing.items)).values()]
    completed = [c for cal_ in todos for c in cal_.walk("VTODO") if str(c.get("STATUS")) == "COMPLETED"]
    assert len(completed) == 1 and int(completed[0]["PERCENT-COMPLETE"]) == 100
    assert admin.sync(plan, units, completions=done)[0].writes == 0


def test_a_renamed_unit_sees_its_task_list_renamed(admin):
    plan, units = seed_like_plan(), sample_units(2)
    admin.sync(plan, units)
    renamed = [units[0].model_copy(update={"name": "Đảng bộ Mới"}), units[1]]
    report, _ = admin.sync(plan, renamed)
    names = {info.displayname for info in admin.caldav.calendars().values()}
    assert any("Đảng bộ Mới" in n for n in names) and report.updated >= 1
    assert admin.sync(plan, renamed)[0].writes == 0


# -- Nextcloud's rules on a real CalDAV server: calendar limits, the trash bin, the layouts ----------

class NextcloudLike(CalDAVClient):
    """Radicale behind Nextcloud's rules: `per_period` new calendars per period (429), `maximum` calendars in
    all (403 "Calendar limit reached"), and a trash bin where a deleted calendar stays, still writable."""

    per_period: int | None = None
    maximum: int | None = None
    restore_fails = False

    def __init__(self, http, home):
        super().__init__(http, home)
        self.in_window = 0  # creations the server counts in the current period
        self.attempts = 0  # MKCALENDARs sent
        self.trashed: set[str] = set()
        self.written_into_trash: list[str] = []

    def _name(self, href: str) -> str:
        return href.rstrip("/").rsplit("/", 1)[-1]

    def calendars(self):
        home = super().calendars()
        for name in self.trashed & set(home):
            home.deleted[name] = home.pop(name)
        return home

    def create_calendar(self, name, *args, **kw):
        self.attempts += 1
        if self.per_period is not None and self.in_window >= self.per_period:
            raise RateLimited("too many requests (429) during MKCALENDAR (Too many calendars created)", status=429)
        if self.maximum is not None and super().calendars().owned_count() >= self.maximum:
            raise RateLimited("forbidden (403) during MKCALENDAR (Calendar limit reached)", status=403)
        self.in_window += 1
        return super().create_calendar(name, *args, **kw)

    def trash(self, name: str) -> None:
        """What a person deleting the calendar in Nextcloud's web interface does."""
        self.trashed.add(name)

    def restore_calendar(self, name):
        if self.restore_fails:
            raise ServerError("simulated: restore refused", status=500)
        self.trashed.discard(name)
        return self.home_url + name + "/"

    def delete_calendar(self, href, *, permanently=False):
        if permanently:
            self.trashed.discard(self._name(href))
            super().delete_calendar(href)
        else:
            self.trash(self._name(href))

    def put(self, href, *args, **kw):
        if self._name(href.rsplit("/", 1)[0]) in self.trashed:
            self.written_into_trash.append(href)
        return super().put(href, *args, **kw)


@pytest.fixture
def nextcloud_like(embedded, dav_session):
    NextcloudLike.per_period = NextcloudLike.maximum = None
    NextcloudLike.restore_fails = False
    return Harness(embedded, dav_session, client=NextcloudLike)


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _uids(harness) -> list[str]:
    return sorted(u for uids in harness.server_items().values() for u in uids)


def test_calendars_beyond_the_hourly_limit_wait_and_later_runs_finish_without_asking_again(nextcloud_like):
    nc, clock = nextcloud_like, Clock()
    nc.caldav.per_period = 3
    limits = CalendarLimits(per_period=3, period=3600, maximum=30, read=True)
    plan, units = seed_like_plan(), sample_units(6)  # 2 + 6 calendars

    first, items = nc.sync(plan, units, read_limits=lambda: limits, clock=clock)
    assert nc.caldav.attempts == 4  # three made, the fourth refused: no more asked
    assert len(first.waiting) == 5 and first.waiting == [f"pc-{CODE}-{u.id}" for u in units[1:]]
    assert len(first.failed) == 1
    line = first.failed[0]
    assert line.startswith("task lists of 5 units wait: Nextcloud allows this account 3 new calendars per hour")
    assert "next run after" in line and "occ config:app:set dav rateLimitCalendarCreation --value=8" in line
    assert 'task_lists = "shared"' in line
    on_server = nc.server_items()  # everything else is done
    assert set(on_server) == {f"pc-{CODE}-han", f"pc-{CODE}-tong-hop", f"pc-{CODE}-{units[0].id}"}
    assert sorted(u for uids in on_server.values() for u in uids) == sorted(
        i.uid for i in items if i.calendar in on_server)

    clock.now += 600  # ten minutes later: the hour has not passed, nothing is asked
    second, _ = nc.sync(plan, units, read_limits=lambda: limits, clock=clock)
    assert nc.caldav.attempts == 4 and second.writes == 0 and len(second.failed) == 1

    clock.now += 3600
    nc.caldav.in_window = 0  # the server's hour has passed too
    third, _ = nc.sync(plan, units, read_limits=lambda: limits, clock=clock)
    assert len(third.waiting) == 2 and third.created > 0
    clock.now += 3600
    nc.caldav.in_window = 0
    last, _ = nc.sync(plan, units, read_limits=lambda: limits, clock=clock)
    assert last.failed == [] and last.waiting == []
    assert _uids(nc) == sorted(i.uid for i in items)
    assert "until" not in nc.limits
    assert nc.caldav.attempts == 4 + 4 + 2  # one refused MKCALENDAR per hour, no storm


def test_an_admin_raising_the_limit_lets_the_next_run_finish_at_once(nextcloud_like):
    nc, clock = nextcloud_like, Clock()
    nc.caldav.per_period = 2
    limits = CalendarLimits(per_period=2, period=3600, maximum=30, read=True)
    plan, units = seed_like_plan(), sample_units(3)
    first, items = nc.sync(plan, units, read_limits=lambda: limits, clock=clock)
    assert len(first.waiting) == 3
    nc.caldav.per_period = 100
    raised = CalendarLimits(per_period=100, period=3600, maximum=30, read=True)
    clock.now += 60
    second, _ = nc.sync(plan, units, read_limits=lambda: raised, clock=clock)
    assert second.failed == [] and _uids(nc) == sorted(i.uid for i in items)


def test_the_limit_on_calendars_in_all_is_counted_before_asking(nextcloud_like):
    nc, clock = nextcloud_like, Clock()
    plan, units = seed_like_plan(), sample_units(5)  # 7 calendars
    limits = CalendarLimits(per_period=10, period=3600, maximum=4, read=True)
    first, _ = nc.sync(plan, units, read_limits=lambda: limits, clock=clock)
    assert nc.caldav.attempts == 4 and len(first.waiting) == 3  # never refused: counted beforehand
    line = first.failed[0]
    assert line.startswith("task lists of 3 units wait: Nextcloud allows this account 4 calendars in all (it has 4)")
    assert "occ config:app:set dav maximumCalendarsSubscriptions --value=7" in line
    assert "rateLimitCalendarCreation" not in line
    again, _ = nc.sync(plan, units, read_limits=lambda: limits, clock=clock)
    assert nc.caldav.attempts == 4 and again.failed == [line]
    more = CalendarLimits(per_period=10, period=3600, maximum=7, read=True)
    done, _ = nc.sync(plan, units, read_limits=lambda: more, clock=clock)
    assert done.failed == [] and nc.caldav.attempts == 7


def test_limits_the_account_cannot_read_are_met_once_then_waited_for(nextcloud_like):
    nc, clock = nextcloud_like, Clock()
    nc.caldav.maximum = 3
    plan, units = seed_like_plan(), sample_units(3)
    first, _ = nc.sync(plan, units, read_limits=CalendarLimits, clock=clock)  # the defaults, not read
    assert nc.caldav.attempts == 4 and len(first.waiting) == 2
    assert "Nextcloud allows this account (by default) 30 calendars in all (it has 3)" in first.failed[0]
    clock.now += 1800
    nc.sync(plan, units, read_limits=CalendarLimits, clock=clock)
    assert nc.caldav.attempts == 4  # within the hour: not asked again
    nc.caldav.maximum = None
    clock.now += 1801
    last, _ = nc.sync(plan, units, read_limits=CalendarLimits, clock=clock)
    assert last.failed == [] and nc.caldav.attempts == 6


def test_a_calendar_in_the_trash_bin_is_restored_and_never_written_into(nextcloud_like):
    nc = nextcloud_like
    plan, units = seed_like_plan(), sample_units(2)
    _, items = nc.sync(plan, units)
    nc.caldav.trash(f"pc-{CODE}-han")
    task2 = next(t for t in plan.tasks if t.number == 2)
    task2.milestones[0].due = date(2022, 4, 15)  # a change for the deleted calendar to receive
    report, items = nc.sync(plan, units)
    assert nc.caldav.written_into_trash == []
    assert any("restored calendar pc-21-kl-tw-han" in n for n in report.notices)
    assert f"pc-{CODE}-han" in nc.caldav.calendars() and report.failed == []
    assert _uids(nc) == sorted(i.uid for i in items)
    assert nc.sync(plan, units)[0].writes == 0


def test_a_calendar_that_cannot_be_restored_is_removed_for_good_and_made_again(nextcloud_like):
    nc = nextcloud_like
    plan, units = seed_like_plan(), sample_units(2)
    _, items = nc.sync(plan, units)
    nc.caldav.trash(f"pc-{CODE}-{units[0].id}")
    nc.caldav.restore_fails = True
    report, _ = nc.sync(plan, units)
    assert nc.caldav.written_into_trash == [] and report.failed == []
    assert any("removed it for good to make it again" in n for n in report.notices)
    assert _uids(nc) == sorted(i.uid for i in items)


def test_switching_to_one_shared_task_list_moves_every_todo_once(nextcloud_like):
    nc = nextcloud_like
    plan, units = seed_like_plan(), sample_units(4)
    _, per_unit = nc.sync(plan, units)
    report, shared = nc.sync(plan, units, task_lists="shared")
    assert report.failed == []  # a move is no loss: the delete guard lets it through
    on_server = nc.server_items()
    shared_list = f"pc-{CODE}-nhiem-vu-cac-don-vi"
    assert set(on_server) == {f"pc-{CODE}-han", f"pc-{CODE}-tong-hop", shared_list}
    todos = sorted(i.uid for i in per_unit if "-td-" in i.uid)
    assert sorted(on_server[shared_list]) == todos  # the same UIDs, each once
    assert sorted(i.uid for i in shared) == sorted(i.uid for i in per_unit)
    assert sum("removed calendar" in n for n in report.notices) == 4
    assert nc.sync(plan, units, task_lists="shared")[0].writes == 0

    back, _ = nc.sync(plan, units)
    assert back.failed == [] and _uids(nc) == sorted(i.uid for i in per_unit)
    assert shared_list not in nc.caldav.calendars()


def test_todos_wait_in_the_shared_list_while_their_unit_lists_wait(nextcloud_like):
    nc, clock = nextcloud_like, Clock()
    plan, units = seed_like_plan(), sample_units(4)
    nc.sync(plan, units, task_lists="shared")
    nc.caldav.per_period, nc.caldav.in_window = 2, 0
    limits = CalendarLimits(per_period=2, period=3600, maximum=30, read=True)
    report, per_unit = nc.sync(plan, units, read_limits=lambda: limits, clock=clock)
    assert report.waiting == [f"pc-{CODE}-{u.id}" for u in units[2:]] and len(report.failed) == 1
    on_server = nc.server_items()
    uids = [u for v in on_server.values() for u in v]
    assert sorted(uids) == sorted(i.uid for i in per_unit)  # nothing lost, nothing twice
    still_shared = on_server[f"pc-{CODE}-nhiem-vu-cac-don-vi"]
    assert still_shared and all(any(f"-td-{u.id}-" in uid for u in units[2:]) for uid in still_shared)
