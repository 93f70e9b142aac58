"""Sync correctness on a real CalDAV server (Radicale), each test one finding of issue 10:

- a change someone makes while a sync writes is seen by the next run (tokens come from the sync REPORT);
- an item the server wrote without answering an ETag is never updated or deleted unconditionally;
- ownership needs the marker, the connector's own UID and href, and one of this plan's calendars: a
  person's copy of an event is left alone, and plan `21-kl` never touches the calendars of `21-kl-tw`;
- a calendar home with an escaped character (`bot@example.org`) is spelled one way: reruns write
  nothing, meet no 412, and old state files are read as before.
"""
from __future__ import annotations

import threading
from datetime import date

import pytest
import requests
from icalendar import Calendar

from connector.dav.caldav import CalDAVClient
from connector.dav.http import HttpClient
from connector.embedded import EmbeddedServers
from connector.render.ical import RenderOptions, build_desired
from connector.render.names import plan_code
from connector.schedule import expand
from connector.sync.calendars import CalendarSync
from tests.dav_faults import Faults, Rule
from tests.plan_samples import sample_units, seed_like_plan

pytestmark = pytest.mark.server


class Admin:
    """One admin's runs of the calendar sync: a client on `home` and the state kept between runs."""

    def __init__(self, servers: EmbeddedServers, home: str | None = None):
        session = requests.Session()
        session.trust_env = False
        session.auth = (servers.user, servers.password)
        self.http = HttpClient(session)
        self.caldav = CalDAVClient(self.http, home or servers.calendar_home)
        self.state: dict = {}

    def sync(self, plan, units, **kw):
        cals, items = build_desired(plan, units, expand(plan, units), RenderOptions())
        report = CalendarSync(self.caldav, self.state, plan_code(plan), **kw).run(cals, items)
        return report, items

    def items(self) -> dict[str, dict[str, str]]:
        """calendar slug -> {UID: iCalendar text} as the server holds them now (fresh full listings)."""
        out = {}
        for slug, info in self.caldav.calendars().items():
            listing = self.caldav.list_items(info.href)
            out[slug] = {}
            for _etag, ics in self.caldav.fetch(info.href, list(listing.items)).values():
                for comp in Calendar.from_ical(ics).walk():
                    if comp.name in ("VEVENT", "VTODO"):
                        out[slug][str(comp["UID"])] = ics
        return out


@pytest.fixture
def faults():
    return Faults()


@pytest.fixture
def servers(tmp_path, faults):
    s = EmbeddedServers(tmp_path / "data", password="test-pass", middleware=faults.wrap).start()
    yield s
    s.stop()


@pytest.fixture
def admin(servers):
    return Admin(servers)


def _move_task2(plan, when=date(2022, 4, 15)):
    next(t for t in plan.tasks if t.number == 2).milestones[0].due = when


# -- tokens from the REPORT ----------------------------------------------------------------------

def test_an_event_a_person_deletes_while_the_sync_writes_comes_back_on_the_next_run(admin, servers, monkeypatch):
    plan, units = seed_like_plan(), sample_units(2)
    _, items = admin.sync(plan, units)
    han = admin.caldav.calendars()[f"pc-{plan.code}-han"]
    victim = next(i.uid for i in items if i.calendar == han.name)
    person = requests.Session()
    person.trust_env, person.auth = False, (servers.user, servers.password)
    real_put, done, lock = admin.caldav.put, [], threading.Lock()

    def put_while_a_person_deletes(href, *a, **kw):
        with lock:
            if not done:  # during this run's writes, in a calendar app: the event is deleted
                done.append(person.delete(admin.caldav.item_href(han.href, victim)).status_code)
        return real_put(href, *a, **kw)

    monkeypatch.setattr(admin.caldav, "put", put_while_a_person_deletes)
    _move_task2(plan)  # something for this run to write
    during, _ = admin.sync(plan, units)
    assert during.updated > 0 and done in ([200], [204])
    monkeypatch.setattr(admin.caldav, "put", real_put)

    after, items = admin.sync(plan, units)
    assert after.created == 1, "the deleted event was not seen: the run after it must write it again"
    assert victim in admin.items()[han.name]
    assert admin.sync(plan, units)[0].writes == 0


def test_each_calendars_token_is_the_one_its_sync_report_gave(admin):
    plan, units = seed_like_plan(), sample_units(2)
    admin.sync(plan, units)
    for slug, info in admin.caldav.calendars().items():
        entry = admin.state[slug]
        assert entry["token"] == info.sync_token  # the writes' own changes are already known
        assert all(_etag(meta) for meta in entry["items"].values())  # every ETag learnt


# -- ETags after writes ---------------------------------------------------------------------------

def test_items_written_without_an_etag_in_the_answer_are_only_changed_conditionally(admin, faults):
    plan, units = seed_like_plan(), sample_units(3)
    faults.add(Rule("strip_etag", methods={"PUT"}, server="caldav"))
    first, items = admin.sync(plan, units)
    assert first.created == len(items) and faults.fired == len(items)
    faults.log.clear()

    _move_task2(plan)
    changed, _ = admin.sync(plan, units[:2])  # updates and deletes
    assert changed.updated > 0 and changed.deleted > 0 and changed.failed == []
    writes = [s for s in faults.seen(server="caldav") if s.method in ("PUT", "DELETE") and s.path.endswith(".ics")]
    unconditional = [f"{s.method} {s.path}" for s in writes
                     if not (s.headers.get("If-Match") or s.headers.get("If-None-Match"))]
    assert writes and unconditional == []


def test_an_item_whose_etag_is_unknown_is_read_before_it_is_changed(admin, faults):
    """An ETag lost (the server named none, nothing listed it since): read it, then write with If-Match."""
    plan, units = seed_like_plan(), sample_units(2)
    admin.sync(plan, units)
    for entry in admin.state.values():
        items = entry["items"]
        for href in items:
            items[href] = _without_etag(items[href])
    faults.log.clear()
    _move_task2(plan)
    report, _ = admin.sync(plan, units)
    assert report.updated > 0 and report.failed == []
    puts = [s for s in faults.seen("PUT", "caldav")]
    assert puts and all(s.headers.get("If-Match") for s in puts)


def _without_etag(meta):
    if isinstance(meta, dict):
        return {**meta, "etag": None}
    return [None, *meta[1:]]


# -- ownership -----------------------------------------------------------------------------------

def test_a_copy_of_our_event_a_person_made_is_never_deleted(admin):
    plan, units = seed_like_plan(), sample_units(2)
    _, items = admin.sync(plan, units)
    han = admin.caldav.calendars()[f"pc-{plan.code}-han"]
    ours = next(i for i in items if i.calendar == han.name)
    # "Duplicate" in a calendar app: a new UID and file name, every other property (our marker too) kept.
    copy = ours.ics.replace(f"UID:{ours.uid}", "UID:0b7c51a2-copy-by-a-person")
    admin.caldav.put(han.href + "0b7c51a2-copy-by-a-person.ics", copy, create=True)
    # The same, but a person's file name that looks like one of ours with a foreign UID inside.
    lookalike = ours.ics.replace(f"UID:{ours.uid}", "UID:pc-21-kl-tw-ev-t99-m9")
    admin.caldav.put(han.href + "pc-21-kl-tw-ev-t98-m9.ics", lookalike, create=True)

    _move_task2(plan)
    report, _ = admin.sync(plan, units[:1], force=True)  # even a run that deletes
    assert report.deleted > 0
    on_server = admin.items()[han.name]
    assert "0b7c51a2-copy-by-a-person" in on_server and "pc-21-kl-tw-ev-t99-m9" in on_server


def test_a_plan_whose_code_is_a_prefix_of_another_never_touches_its_calendars(admin, servers, faults):
    units = sample_units(2)
    longer = seed_like_plan()  # code 21-kl-tw
    admin.sync(longer, units)
    # The 21-kl-tw account also has a task list that is empty for now (a unit just added, say).
    admin.caldav.create_calendar("pc-21-kl-tw-cb-009", "Nhiệm vụ – Chi bộ 9", components=("VTODO",))
    theirs = sorted(admin.caldav.calendars())

    shorter = seed_like_plan()
    shorter.code = "21-kl"
    other = Admin(servers)
    faults.log.clear()
    report, _ = other.sync(shorter, units[:1])
    assert report.failed == []
    assert set(theirs) <= set(admin.caldav.calendars())  # nothing of 21-kl-tw removed
    touched = sorted({s.path for s in faults.log if "/pc-21-kl-tw-" in s.path})
    assert touched == []  # nor listed
    assert not any(slug.startswith("pc-21-kl-tw") for slug in other.state)
    assert admin.sync(longer, units)[0].writes == 0


def test_a_calendar_of_a_removed_unit_is_still_emptied_and_removed(admin):
    plan, units = seed_like_plan(), sample_units(3)
    admin.sync(plan, units)
    report, _ = admin.sync(plan, units[:2])
    gone = f"pc-{plan.code}-{units[2].id}"
    assert gone not in admin.caldav.calendars() and report.deleted > 0
    assert any(f"removed calendar {gone}" in n for n in report.notices)


# -- one spelling of every URL -------------------------------------------------------------------

@pytest.fixture
def bot(tmp_path):
    s = EmbeddedServers(tmp_path / "bot", user="bot@example.org", password="bot-pass").start()
    yield s
    s.stop()


def test_a_login_with_an_at_sign_syncs_and_resyncs_without_412s(bot):
    # The home as a person writes it in the config: "@" unescaped; the server answers "%40" or "@".
    home = bot.calendar_home.replace("%40", "@")
    admin = Admin(bot, home)
    plan, units = seed_like_plan(), sample_units(3)
    first, items = admin.sync(plan, units)
    assert first.created == len(items) and first.failed == []
    assert admin.sync(plan, units)[0].writes == 0

    _move_task2(plan)
    changed, after = admin.sync(plan, units[:2], force=True)
    assert changed.failed == [] and changed.updated > 0 and changed.deleted > 0 and changed.created == 0
    rerun, _ = admin.sync(plan, units[:2])
    assert (rerun.writes, rerun.failed, rerun.unchanged) == (0, [], len(after))
    on_server = sorted(u for uids in admin.items().values() for u in uids)
    assert on_server == sorted(i.uid for i in after)
    keys = [h for e in admin.state.values() for h in e["items"]]
    assert keys and all("/bot@example.org/" in h for h in keys)  # decoded, one spelling


def test_a_state_file_written_by_an_older_version_is_read_without_rewrites(bot, tmp_path):
    """Older versions stored items as [etag, plan, hash] under the percent-encoded path, no schema version."""
    import json

    from connector.state import State

    admin = Admin(bot)
    plan, units = seed_like_plan(), sample_units(2)
    admin.sync(plan, units)
    old = {"calendars": {slug: {"href": e["href"], "token": e["token"],
                                "items": {h.replace("@", "%40"): _as_list(m) for h, m in e["items"].items()}}
                         for slug, e in admin.state.items()},
           "reminders": {"x": 1}}
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    probe = State.open(state_dir, "dav:bot", "21-kl-tw")
    probe.path.write_text(json.dumps(old), encoding="utf-8")

    state = State.open(state_dir, "dav:bot", "21-kl-tw")
    assert state.data["reminders"] == {"x": 1}
    later = Admin(bot)
    later.state = state.section("calendars")
    report, items = later.sync(plan, units)
    assert (report.writes, report.failed, report.unchanged) == (0, [], len(items))
    assert later.http.count <= 1 + 0  # the tokens still hold: one PROPFIND of the home, nothing read


def _as_list(meta):
    if isinstance(meta, dict):
        return [meta.get("etag"), meta.get("plan"), meta.get("hash")]
    return list(meta)


def _etag(meta):
    return meta.get("etag") if isinstance(meta, dict) else meta[0]
