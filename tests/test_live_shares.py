"""Sharing on a live Nextcloud 34 with its limits: batches of 10 groups, the share-creation limit met and
waited out, group creation that asks for password confirmation, and access taken back from a unit that
leaves the plan.
"""
from __future__ import annotations

import json
import time
from urllib.parse import unquote

import defusedxml.ElementTree as ET
import pytest
import requests

from connector.sync import shares

pytestmark = [pytest.mark.nextcloud, pytest.mark.slow]

D = "{DAV:}"
ROOT = "Báo cáo/KH 21"
OCS = {"OCS-APIRequest": "true", "Accept": "application/json"}
EVENT = b"""BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//member//EN\r\nBEGIN:VEVENT\r\nUID:member-try\r\n\
DTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20270105\r\nSUMMARY:thu\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"""


def small_plan(nc_case):
    """A one-task plan: what these tests look at is sharing, not hundreds of calendar items."""
    path = nc_case.tmp / "ke-hoach-thu.txt"
    path.write_text("KẾ HOẠCH\nthử chia sẻ năm 2027\n\nI. NỘI DUNG\n\n"
                    "1. Các chi bộ gửi báo cáo sơ kết công tác (trước ngày 30/6/2027).\n", encoding="utf-8")
    return path


def listing(session: requests.Session, url: str, props: bytes = b"<d:displayname/>") -> list:
    """<d:response> elements of a Depth 1 PROPFIND."""
    body = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>' + props + \
        b"</d:prop></d:propfind>"
    r = session.request("PROPFIND", url, data=body, headers={"Depth": "1", "Content-Type": "application/xml"})
    assert r.status_code == 207, r.text[:300]
    return list(ET.fromstring(r.content).iter(f"{D}response"))


def calendar_names(nc_case, account) -> set[str]:
    """The calendars a person's calendar app lists."""
    url = f"{nc_case.url}/remote.php/dav/calendars/{account.user}/"
    return {r.findtext(f".//{D}displayname") or "" for r in listing(account.session(app=False), url)}


def root_names(nc_case, account) -> set[str]:
    """What a person sees at the top of their files."""
    url = f"{nc_case.url}/remote.php/dav/files/{account.user}/"
    return {unquote(r.findtext(f"{D}href")).rstrip("/").rsplit("/", 1)[1] for r in listing(account.session(app=False), url)}


def shares_of(nc_case, path: str) -> list[dict]:
    """The shares of a path of the bot's, as the bot lists them."""
    r = nc_case.bot.session().get(f"{nc_case.url}/ocs/v2.php/apps/files_sharing/api/v1/shares",
                                  params={"path": path, "reshares": "true", "format": "json"}, headers=OCS)
    return r.json()["ocs"]["data"]


@pytest.fixture
def share_limit(live_nextcloud):
    """Lower the share-creation limit for this test (server-wide: config.php's ratelimit_overwrite); restored after."""
    if live_nextcloud.server_dir is None:
        pytest.skip("the share limit is set in config.php: needs the server the tests started (occ)")

    def lower(limit: int, period: int) -> None:
        value = {"files_sharing.shareapi.createshare": {"user": {"limit": limit, "period": period}}}
        live_nextcloud.occ("config:system:set", "ratelimit_overwrite", "--type=json", f"--value={json.dumps(value)}")

    try:
        yield lower
    finally:
        live_nextcloud.occ("config:system:delete", "ratelimit_overwrite")


def test_twelve_units_see_the_deadline_calendar_shared_in_batches_of_ten(nc_case):
    units = nc_case.units(12, members=0)
    member = nc_case.nc.create_user(f"{nc_case.prefix}-u12", groups=(units[11].group,))  # of the twelfth unit
    # 3 calendars (the calendar limit is not this test's), a one-task plan.
    cfg = nc_case.config(plan=small_plan(nc_case), sync={"task_lists": "shared"})
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, err
    assert json.loads(out)["failed"] == []

    own = member.session(app=False)
    home = f"{nc_case.url}/remote.php/dav/calendars/{member.user}/"
    seen = {r.findtext(f".//{D}displayname"): nc_case.url + r.findtext(f"{D}href") for r in listing(own, home)}
    deadlines = next(url for name, url in seen.items() if name and name.startswith("Hạn"))
    # Read-only: the member's calendar app cannot write into it.
    put = own.put(deadlines + "member-try.ics", data=EVENT, headers={"Content-Type": "text/calendar"})
    assert put.status_code in (403, 404), put.status_code
    assert own.request("PROPFIND", deadlines, headers={"Depth": "1"}).status_code == 207

    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)


def test_the_share_limit_met_waits_one_line_and_a_later_run_completes(nc_case, share_limit, monkeypatch):
    share_limit(3, 2)  # 3 shares per 2 s: the first run meets it, the wait is short
    nc_case.units(5, members=0)
    cfg = nc_case.config(plan=small_plan(nc_case))
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0  # pacing within the server's limit is not a failure
    first = json.loads(out)
    waiting = first["waiting"]
    assert first["failed"] == [] and len(waiting) == 1, waiting
    assert waiting[0].startswith("folder shares wait: 2 unit folders not shared yet: Nextcloud lets one account create")
    assert "ratelimit_overwrite" in waiting[0]
    started = time.monotonic()

    # Within the period the connector remembers (Nextcloud's default, 10 minutes) nothing is asked again.
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0 and json.loads(out)["waiting"] == waiting

    # Later: the connector's clock past its remembered period, the server's (2 s) past too.
    moved = time.time() + 601
    monkeypatch.setattr(shares, "_now", lambda: moved)
    time.sleep(max(0.0, 2.2 - (time.monotonic() - started)))
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, out + err
    done = json.loads(out)
    assert done["failed"] == done["waiting"] == [] and done["created"] == 2


def test_groups_on_34_need_the_login_password_or_occ_and_everything_else_goes_on(nc_case):
    if not nc_case.nc.version.startswith("34"):
        pytest.skip(f"password confirmation for group creation is Nextcloud 34's ({nc_case.nc.version} here)")
    units = nc_case.units(2, create_groups=False)
    plan = small_plan(nc_case)
    cfg = nc_case.config(plan=plan, plan_extra={"create_groups": True, "root_folder": ROOT})
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 1
    result = json.loads(out)
    assert len(result["failed"]) == 1, result["failed"]
    line = result["failed"][0]
    assert line.startswith("2 groups not created") and "password confirmation" in line
    assert "[server] admin_password_file" in line
    assert all(f"occ group:add {u.group}" in line for u in units)
    assert result["created"] >= 10  # calendars' items and folders: everything else was done

    login = nc_case.tmp / "login-password"
    login.write_text(nc_case.bot.password + "\n")
    login.chmod(0o600)
    cfg = nc_case.config(plan=plan, plan_extra={"create_groups": True, "root_folder": ROOT},
                         server_extra={"admin_password_file": str(login)})
    code, out, err = nc_case.run("check", "-c", cfg)
    assert "group creation" in out and nc_case.bot.password not in out + err
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, out + err
    assert nc_case.bot.password not in out + err
    have = nc_case.nc.ocs("GET", f"cloud/groups?search={nc_case.prefix}")["groups"]
    assert {u.group for u in units} <= set(have)
    assert any(s["share_with"] == units[0].group for s in shares_of(nc_case, f"/{ROOT}/{units[0].name}"))


def test_a_unit_removed_from_the_units_file_no_longer_sees_its_folder_but_a_persons_link_stays(nc_case):
    """Access follows the units file: the removed unit's members lose the folder share and the deadline
    calendar; a link someone made at the bot's account on the same folder is theirs and stays."""
    units = nc_case.units(3, members=1)
    cfg = nc_case.config(plan=small_plan(nc_case), plan_extra={"root_folder": ROOT})
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, err
    leaving = units[2]
    member = leaving.members[0]
    assert leaving.name in root_names(nc_case, member)
    assert any(name.startswith("Hạn") for name in calendar_names(nc_case, member))
    folder = f"/{ROOT}/{leaving.name}"
    # Someone at the bot's account shares the folder by a read-only link of their own.
    r = nc_case.bot.session().post(f"{nc_case.url}/ocs/v2.php/apps/files_sharing/api/v1/shares", headers=OCS,
                                   data={"path": folder, "shareType": 3, "permissions": 1, "label": "Xem báo cáo"})
    assert r.status_code == 200, r.text[:300]
    persons = r.json()["ocs"]["data"]["id"]

    nc_case.unit_list = units[:2]
    nc_case.write_units()
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, out + err
    assert leaving.name not in root_names(nc_case, member)
    assert not any(name.startswith("Hạn") for name in calendar_names(nc_case, member))  # calendars withdraw too
    left = shares_of(nc_case, folder)
    assert [s["id"] for s in left] == [persons]
    kept = listing(nc_case.bot.session(), f"{nc_case.url}/remote.php/dav/files/{nc_case.bot.user}/{ROOT}/")
    assert any(unquote(r.findtext(f"{D}href")).rstrip("/").endswith("/" + leaving.name) for r in kept)  # the bot keeps it
    assert units[0].name in root_names(nc_case, units[0].members[0])
