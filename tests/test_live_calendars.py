"""Calendars on a live Nextcloud 34 with its limits and its trash bin.

Nextcloud lets an account create 10 calendars per hour and own 30 (admins too). A sync that meets a
limit makes what it may, finishes everything else, says in one line what waits and why (exit 1), and a
rerun does not ask again before it may; once the limit is raised a run completes. With [sync] task_lists =
"shared" one task list holds every unit's to-dos and each member sees it, read-only. A calendar someone
deleted comes back from the trash bin. The dav limits are server-wide: a test that lowers one puts it back.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from icalendar import Calendar

from connector.dav.http import HttpClient
from live_nextcloud import calendar_home as home_of
from live_nextcloud import components as items_in

pytestmark = [pytest.mark.nextcloud, pytest.mark.slow]

SMALL_PLAN = Path(__file__).parent / "data" / "ke-hoach-chi-bo.txt"  # 4 tasks, 11 to-dos per unit
CODE = "ke-hoach-chi-bo"


@pytest.fixture
def methods(monkeypatch) -> Counter:
    """Every HTTP method the connector sends in this test, counted."""
    sent: Counter = Counter()
    real = HttpClient.request

    def counting(self, method, url, **kw):
        sent[method.upper()] += 1
        return real(self, method, url, **kw)

    monkeypatch.setattr(HttpClient, "request", counting)
    return sent


@pytest.fixture
def dav_limit(live_nextcloud):
    """Set one of the server-wide dav limits for this test; the default comes back afterwards."""
    changed = []

    def set_(key: str, value: int) -> None:
        live_nextcloud.set_app_config("dav", key, str(value))
        changed.append(key)

    try:
        yield set_
    finally:
        for key in changed:
            live_nextcloud.delete_app_config("dav", key)


def sync(nc_case, cfg) -> tuple[int, dict, str]:
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    return code, json.loads(out), err


def test_the_hourly_limit_leaves_task_lists_waiting_and_a_rerun_does_not_ask_again(nc_case, methods, dav_limit):
    units = nc_case.units(4, members=0)
    cfg = nc_case.config(plan=SMALL_PLAN)
    dav_limit("rateLimitCalendarCreation", 2)

    code, first, err = sync(nc_case, cfg)
    assert code == 1
    (line,) = first["failed"]
    home = home_of(nc_case.bot.session(), nc_case.url, nc_case.bot.user)
    assert {f"pc-{CODE}-han", f"pc-{CODE}-tong-hop"} <= set(home)  # everything else is done
    waiting = [u for u in units if f"pc-{CODE}-{u.id}" not in home]
    assert waiting and line.startswith(f"task lists of {len(waiting)} units wait: Nextcloud allows this account "
                                       "2 new calendars per hour; the next run after ")
    assert (f"continues (raise with occ config:app:set dav rateLimitCalendarCreation --value={2 + len(waiting)}, "
            'or set [sync] task_lists = "shared")') in line
    assert first["created"] > 0 and methods["MKCOL"] > 0  # items and report folders were written
    asked = methods["MKCALENDAR"]

    code, out, err = nc_case.run("sync", "-c", cfg)
    assert code == 1 and f"failed: {line}" in err.splitlines()
    assert methods["MKCALENDAR"] == asked  # not asked again within the hour: no storm of 429s

    dav_limit("rateLimitCalendarCreation", 10)  # an admin raises it: the next run continues at once
    code, third, err = sync(nc_case, cfg)
    assert code == 0, err
    home = home_of(nc_case.bot.session(), nc_case.url, nc_case.bot.user)
    assert all(f"pc-{CODE}-{u.id}" in home for u in units)


def test_the_limit_on_calendars_in_all_is_counted_before_asking(nc_case, methods, dav_limit):
    nc_case.units(3, members=0)
    cfg = nc_case.config(plan=SMALL_PLAN)
    have = sum(1 for name in home_of(nc_case.bot.session(), nc_case.url, nc_case.bot.user) if name != "contact_birthdays")
    dav_limit("maximumCalendarsSubscriptions", have + 3)  # room for deadlines, overview and one task list

    code, first, _ = sync(nc_case, cfg)
    assert code == 1 and methods["MKCALENDAR"] == 3  # none refused: counted beforehand
    (line,) = first["failed"]
    assert line.startswith(f"task lists of 2 units wait: Nextcloud allows this account {have + 3} calendars in all "
                           f"(it has {have + 3})")
    assert f"occ config:app:set dav maximumCalendarsSubscriptions --value={have + 5}" in line

    dav_limit("maximumCalendarsSubscriptions", have + 5)
    code, second, err = sync(nc_case, cfg)
    assert code == 0, err
    assert methods["MKCALENDAR"] == 5


def test_one_shared_task_list_shows_every_member_their_todos_read_only(nc_case):
    units = nc_case.units(3, members=1)
    cfg = nc_case.config(plan=SMALL_PLAN, sync={"task_lists": "shared"})
    code, synced, err = sync(nc_case, cfg)
    assert code == 0, err
    assert synced["calendars"] == [f"pc-{CODE}-han", f"pc-{CODE}-tong-hop", f"pc-{CODE}-nhiem-vu-cac-don-vi"]

    unit, member = units[1], units[1].members[0]
    own = member.session(app=False)
    home = home_of(own, nc_case.url, member.user)
    (name,) = [n for n, (display, _) in home.items() if display.startswith("Nhiệm vụ các đơn vị")]
    assert home[name][1] == "calendar"
    cal_url = f"{nc_case.url}/remote.php/dav/calendars/{member.user}/{name}/"
    todos = items_in(own, cal_url, "VTODO")
    mine = [t for t in todos if str(t["SUMMARY"]).startswith(f"[{unit.name}] ")]
    assert len(todos) == 3 * len(mine) and mine
    assert all(unit.name in [str(c) for c in t["CATEGORIES"].cats] for t in mine)

    # Read-only for the member: a new to-do and a changed one are both refused (Nextcloud 34 answers 404,
    # not 403, to a write into a calendar shared read-only), and nothing changes.
    todo = Calendar.from_ical(own.get(cal_url + str(mine[0]["UID"]) + ".ics").content)
    next(iter(todo.walk("VTODO")))["SUMMARY"] = "Đã sửa"
    changed = own.put(cal_url + str(mine[0]["UID"]) + ".ics", data=todo.to_ical(),
                      headers={"Content-Type": "text/calendar"})
    new = own.put(cal_url + "member-new.ics", data=todo.to_ical().replace(str(mine[0]["UID"]).encode(), b"member-new"),
                  headers={"Content-Type": "text/calendar"})
    assert (changed.status_code, new.status_code) == (404, 404)
    assert len(items_in(own, cal_url, "VTODO")) == len(todos)
    assert str(next(iter(Calendar.from_ical(own.get(cal_url + str(mine[0]["UID"]) + ".ics").content)
                         .walk("VTODO")))["SUMMARY"]) == str(mine[0]["SUMMARY"])

    code, again, err = sync(nc_case, cfg)
    assert code == 0 and (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)


def test_a_deleted_deadline_calendar_comes_back_from_the_trash_bin(nc_case):
    units = nc_case.units(2, members=1)
    cfg = nc_case.config(plan=SMALL_PLAN)
    assert sync(nc_case, cfg)[0] == 0
    bot = nc_case.bot.session()
    deadlines = f"{nc_case.url}/remote.php/dav/calendars/{nc_case.bot.user}/pc-{CODE}-han/"
    assert bot.delete(deadlines).status_code == 204  # as the web interface does: into the trash bin
    assert home_of(bot, nc_case.url, nc_case.bot.user)[f"pc-{CODE}-han"][1] == "deleted-calendar"

    code, out, err = nc_case.run("sync", "-c", cfg)
    assert code == 0, err
    assert f"note: restored calendar pc-{CODE}-han" in out
    assert home_of(bot, nc_case.url, nc_case.bot.user)[f"pc-{CODE}-han"][1] == "calendar"
    member = units[0].members[0]
    own = member.session(app=False)
    shared = {display: n for n, (display, _) in home_of(own, nc_case.url, member.user).items()}
    name = next(n for d, n in shared.items() if d.startswith("Hạn nhiệm vụ"))
    events = items_in(own, f"{nc_case.url}/remote.php/dav/calendars/{member.user}/{name}/", "VEVENT")
    assert len(events) == len(items_in(bot, deadlines, "VEVENT")) > 0


def test_check_names_the_calendar_limits_and_the_occ_lines_to_raise_them(nc_case):
    nc_case.units(40, members=0, create_groups=False)
    cfg = nc_case.config(plan=SMALL_PLAN)
    code, out, _ = nc_case.run("check", "-c", cfg)
    lines = out.splitlines()
    assert code == 1
    assert ("ok       calendar limits: Nextcloud allows this account 10 new calendars per hour and 30 in all "
            "(calendars + subscriptions, those in the trash bin too); read from the server's dav settings") in lines
    calendars = next(s for s in lines if s.startswith("missing  calendars: the job needs 42"))
    assert "never fit" in calendars
    assert any(s.startswith("note     to raise the limits: occ config:app:set dav maximumCalendarsSubscriptions "
                            "--value=") for s in lines)
    assert "note     to raise the limits: occ config:app:set dav rateLimitCalendarCreation --value=42" in lines
    assert any(s.startswith('note     or: set [sync] task_lists = "shared"') for s in lines)
