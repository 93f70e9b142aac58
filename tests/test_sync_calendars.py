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
from connector.errors import ServerError
from connector.render.ical import RenderOptions, build_desired
from connector.schedule import expand
from connector.sync.calendars import CalendarSync
from tests.plan_samples import sample_units, seed_like_plan

pytestmark = pytest.mark.server
CODE = "21-kl-tw"


class Harness:
    """One admin's view: a session, a client, the state that survives between runs."""

    def __init__(self, embedded, dav_session):
        self.http = HttpClient(dav_session)
        self.caldav = CalDAVClient(self.http, embedded.calendar_home)
        self.state: dict = {}

    def sync(self, plan, units, *, completions=None, force=False, parallel=4):
        cals, items = build_desired(plan, units, expand(plan, units), RenderOptions(), completions=completions)
        before = self.http.count
        report = CalendarSync(self.caldav, self.state, CODE, parallel=parallel, force=force).run(cals, items)
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
    other.http, other.caldav, other.state = admin.http, admin.caldav, {}
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
