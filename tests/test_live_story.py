"""The whole job on a live Nextcloud, as its people live it.

Given the seed plan (its years moved so that 2022 is last year) and three units with one member each:
after `sync` a unit member sees the shared deadline calendar and their unit's task list, read-only; the
public subscription link serves the events; the member files one report on time and one late through
the folder shared with their group; `run` gives the register those statuses, completes the member's
to-dos and notifies the member of what is overdue or due soon, once per stage; a second `run` writes
nothing and notifies nobody again.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
import requests
from icalendar import Calendar

from connector.commands import Job
from connector.commands import local_today
from connector.config import load_config
from connector.dav.http import join_url
from live_nextcloud import calendars_of, components

pytestmark = [pytest.mark.nextcloud, pytest.mark.slow]

def test_units_see_their_deadlines_file_reports_and_get_a_true_register(nc_case):
    today = local_today()  # the register's day is Ho Chi Minh City's
    plan = nc_case.shifted_plan(today.year - 2023)  # the plan's 2022 is last year: its deadlines have passed
    units = nc_case.units(3, members=1)
    coord_gid, (coordinator,) = nc_case.coordinator()
    cfg = nc_case.config(plan=plan, plan_extra={"publish": True}, reminders=True)
    unit, member = units[0], units[0].members[0]
    url = nc_case.url

    # --- sync: calendars, task lists, folders, shares -------------------------------------------
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, err
    synced = json.loads(out)
    assert synced["failed"] == []

    own = member.session(app=False)
    cals = calendars_of(own, url, member.user)
    deadline_cal = next(u for n, u in cals.items() if n.startswith("Hạn"))
    unit_list = next(u for n, u in cals.items() if unit.name in n)
    assert not any(units[1].name in n for n in cals), "a member sees only their own unit's task list"
    events = components(own, deadline_cal, "VEVENT")
    todos = components(own, unit_list, "VTODO")
    assert len(events) >= 10 and len(todos) >= 20
    assert all(str(t["SUMMARY"]).startswith(("NV ", "Báo cáo")) for t in todos)

    # Read-only for the member: changing a deadline is refused by the server.
    # (Nextcloud answers 404 to a write into a calendar shared read-only.)
    todo = todos[0]
    href = unit_list.rstrip("/") + "/" + str(todo["UID"]) + ".ics"
    changed = Calendar.from_ical(own.get(href).content)
    next(iter(changed.walk("VTODO")))["SUMMARY"] = "Đã sửa"
    assert own.put(href, data=changed.to_ical(), headers={"Content-Type": "text/calendar"}).status_code in (403, 404)
    assert own.delete(href).status_code in (403, 404)
    assert str(next(iter(Calendar.from_ical(own.get(href).content).walk("VTODO")))["SUMMARY"]) == str(todo["SUMMARY"])

    # The public subscription link serves the same events to anyone (Thunderbird, phones).
    assert synced["publish_url"]
    public = requests.get(synced["publish_url"] + "?export", timeout=30)
    assert public.status_code == 200 and public.text.count("BEGIN:VEVENT") == len(events)

    # --- the member files reports through the folder shared with their group ----------------------
    job = Job(load_config(str(cfg)))
    mine = [ob for ob in job.obligations if ob.unit == unit.id and ob.due]
    late = next(ob for ob in mine if ob.due < today and ob.task)
    on_time = next(ob for ob in mine if ob.due > today and ob.task and ob.task != late.task)
    files = f"{url}/remote.php/dav/files/{member.user}/"
    for ob, name in ((late, "bao-cao-muon.pdf"), (on_time, "bao-cao-dung-han.pdf")):
        # The shared unit folder sits in the member's own root under its own name.
        r = own.put(join_url(files, ob.folder, name), data=b"%PDF-1.4 bao cao\n")
        assert r.status_code == 201, (ob.folder, r.status_code, r.text[:200])

    # --- run: register, reflected to-dos, reminders ----------------------------------------------
    as_of = max(today, date(today.year, 12, 28))
    code, out, err = nc_case.run("run", "-c", cfg, "--as-of", as_of.isoformat(), "--json")
    assert code == 0, err
    summary = json.loads(out)
    reg = json.loads(open(summary["paths"]["json"], encoding="utf-8").read())
    rows = {(r["unit"], r["task"], r["milestone"], r["period"]): r for r in reg["rows"]}
    key = lambda ob: (ob.unit, ob.task, ob.milestone, ob.period)  # noqa: E731
    assert rows[key(late)]["status"] == "submitted_late"
    assert rows[key(on_time)]["status"] == "submitted_on_time"
    same_for_other_unit = next(ob for ob in job.obligations if ob.unit == units[1].id
                               and (ob.task, ob.milestone, ob.period) == (late.task, late.milestone, late.period))
    assert rows[key(same_for_other_unit)]["status"] == "overdue"

    # The member's to-dos of what they filed are completed; the rest are not.
    done = {str(t["UID"]) for t in components(own, unit_list, "VTODO") if str(t.get("STATUS")) == "COMPLETED"}
    assert len(done) == 2

    # Reminders reached the member, once per obligation and stage.
    notes = nc_case.nc.notifications(member)
    subjects = [n["subject"] for n in notes]
    assert any(s.startswith("Quá hạn") for s in subjects)
    assert any(s.startswith("Sắp đến hạn") for s in subjects)
    assert len(subjects) == len(set(subjects))
    assert not nc_case.nc.notifications(coordinator) or all(
        not s["subject"].startswith("Quá hạn") for s in nc_case.nc.notifications(coordinator))

    # --- a second run: nothing to write, nobody notified again -----------------------------------
    code, out, err = nc_case.run("run", "-c", cfg, "--as-of", as_of.isoformat(), "--json")
    assert code == 0, err
    again = json.loads(out)
    assert again["writes"] == 0 and again["reminders"] == []
    assert len(nc_case.nc.notifications(member)) == len(notes)
