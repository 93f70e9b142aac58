"""Links, upload-only links and deleted folders on a live Nextcloud, as the unit's people meet them.

A small plan whose deadlines lie ahead (next year) and one unit with one member and an upload-only link:
- the link in the member's to-do opens their own unit folder (the old `?dir=` form named a path only the
  connector's account has), and a second sync rewrites nothing;
- a report sent through the upload-only link, named as the link's note says ("NV01 - …"), counts on time
  for task 1 and the member's to-do shows it completed; a report without a task number is listed with why;
- a unit folder deleted by someone comes back with the next sync, shared again, and the register says
  which reports went with it and that they are in the trash bin.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
import requests

from connector.commands import Job, local_today
from connector.config import load_config
from connector.dav.http import join_url
from connector.register.status import DROP_RULE_VI
from live_nextcloud import calendars_of, components

pytestmark = [pytest.mark.nextcloud, pytest.mark.slow]

YEAR = local_today().year + 1
PLAN = f"""KẾ HOẠCH
thực hiện chuyên đề năm {YEAR}

II. NHIỆM VỤ
1. Xây dựng kế hoạch thực hiện chuyên đề của đơn vị, hoàn thành trước ngày 30/6/{YEAR}.
2. Báo cáo kết quả thực hiện chuyên đề hằng quý.
"""


def small_plan(tmp: Path) -> Path:
    path = tmp / "ke-hoach-chuyen-de.txt"
    path.write_text(PLAN, encoding="utf-8")
    return path


def setup(nc_case, *, file_drop: bool = False):
    nc_case.units(1, members=1, file_drop=file_drop)
    # The plan runs next year: its folders are made now (not a month before each period) for the links to open.
    cfg = nc_case.config(plan=small_plan(nc_case.tmp), sync={"folders_ahead_days": 800})
    code, out, err = nc_case.run("sync", "-c", cfg)
    assert code == 0, err + out
    unit = nc_case.unit_list[0]
    return cfg, out, unit, unit.members[0], Job(load_config(str(cfg)))


def todo_of(session, url: str, user: str, unit, task: int):
    """The member's to-do of a task, from their unit's task list as their calendar app reads it."""
    cals = calendars_of(session, url, user)
    task_list = next(u for n, u in cals.items() if unit.name in n)
    todos = [t for t in components(session, task_list, "VTODO") if str(t["SUMMARY"]).startswith(f"NV {task} ")]
    assert todos, f"no to-do of task {task} in {task_list}"
    return todos[0]


def link_in(todo) -> str:
    m = re.search(r"^Liên kết: (\S+)$", str(todo["DESCRIPTION"]), re.M)
    assert m, str(todo["DESCRIPTION"])
    return m.group(1)


def member_path_behind(session, link: str) -> str | None:
    """Where Nextcloud sends the member for a link: the folder path in their own files, or None."""
    r = session.get(link, allow_redirects=False, timeout=30)
    if r.status_code in (301, 302, 303, 307):
        query = parse_qs(urlsplit(r.headers["Location"]).query)
        return query.get("dir", [None])[0]
    return parse_qs(urlsplit(link).query).get("dir", [None])[0] if r.status_code == 200 else None


def member_sees(session, base: str, user: str, path: str) -> bool:
    r = session.request("PROPFIND", join_url(f"{base}/remote.php/dav/files/{quote(user)}/", path.strip("/")),
                        headers={"Depth": "0"}, timeout=30)
    return r.status_code == 207


def test_the_link_in_a_members_todo_opens_their_own_unit_folder_and_stays_the_same(nc_case):
    cfg, _, unit, member, job = setup(nc_case)
    url, own = nc_case.url, member.session(app=False)
    ob = next(o for o in job.obligations if o.task == 1)

    link = link_in(todo_of(own, url, member.user, unit, 1))
    assert re.fullmatch(re.escape(url) + r"/index\.php/f/\d+", link), link

    # Nextcloud sends the member to the folder in *their* files: the shared unit folder under its own name.
    where = member_path_behind(own, link)
    assert where == "/" + ob.folder, where
    assert member_sees(own, url, member.user, where)
    # The old link named the connector account's path, which the member does not have.
    old = f"{url}/apps/files/?dir=/{quote(f'{job.root}/{ob.folder}')}"
    assert not member_sees(own, url, member.user, unquote(parse_qs(urlsplit(old).query)["dir"][0]))

    # The id is the folder's own, and the deadline event links the same folder for this unit.
    bot = requests.Session()
    bot.trust_env, bot.auth = False, (nc_case.bot.user, nc_case.bot.app_password)
    r = bot.request("PROPFIND", join_url(f"{url}/remote.php/dav/files/{nc_case.bot.user}/", f"{job.root}/{ob.folder}"),
                    headers={"Depth": "0"}, data=b'<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">'
                                                  b"<d:prop><oc:fileid/></d:prop></d:propfind>")
    assert link.endswith("/f/" + re.search(r"<oc:fileid>(\d+)</oc:fileid>", r.text).group(1))
    deadlines = next(u for n, u in calendars_of(own, url, member.user).items() if n.startswith("Hạn"))
    event = next(e for e in components(own, deadlines, "VEVENT") if str(e["SUMMARY"]).startswith("Hạn NV 1"))
    assert f"Thư mục nộp báo cáo của {unit.name}: {link}" in str(event["DESCRIPTION"])  # one unit owes it: its folder

    # Links are there from the first sync on and do not change: a second sync writes nothing.
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)


def test_a_report_sent_through_the_upload_only_link_named_by_the_rule_counts_on_time(nc_case):
    cfg, out, unit, member, job = setup(nc_case, file_drop=True)
    url = nc_case.url
    drop = re.search(rf"upload-only link for {re.escape(unit.id)}: (\S+)", out).group(1)
    token = drop.rstrip("/").rsplit("/", 1)[-1]

    # The link's note tells the secretary how to name the file.
    shares = nc_case.nc.ocs("GET", "apps/files_sharing/api/v1/shares",
                            auth=(nc_case.bot.user, nc_case.bot.app_password))
    link_share = next(s for s in shares if s["share_type"] == 3 and s.get("token") == token)
    assert DROP_RULE_VI in link_share["note"] and link_share["permissions"] == 4

    # Someone without an account sends two reports through the link (public WebDAV, no login).
    anon = requests.Session()
    anon.trust_env = False
    for name in ("NV01 - Kế hoạch thực hiện chuyên đề.docx", "bao-cao.docx"):
        r = anon.put(f"{url}/public.php/dav/files/{token}/{quote(name)}", data=b"PK\x03\x04 report", timeout=30)
        assert r.status_code == 201, (r.status_code, r.text[:200])

    # The register's day is Ho Chi Minh City's (an upload at 00:30 there on the 27th is after the 26th's end).
    code, out, err = nc_case.run("collect", "-c", cfg, "--as-of", local_today().isoformat(), "--json")
    assert code == 0, err
    reg = json.loads(out)
    row = next(r for r in reg["rows"] if r["task"] == 1)
    assert row["status"] == "submitted_on_time"
    assert [(f["name"], f.get("credited_by")) for f in row["files"]] == [("NV01 - Kế hoạch thực hiện chuyên đề.docx", "name")]
    assert re.fullmatch(re.escape(url) + r"/index\.php/f/\d+", row["files"][0]["url"])
    [loose] = reg["unassigned"]
    assert loose["name"] == "bao-cao.docx" and "số nhiệm vụ" in loose["reason"] and loose["unit"] == unit.id

    todo = todo_of(member.session(app=False), url, member.user, unit, 1)
    assert str(todo["STATUS"]) == "COMPLETED"


def test_a_deleted_unit_folder_comes_back_and_the_register_names_the_reports_lost_with_it(nc_case):
    cfg, _, unit, member, job = setup(nc_case)
    url, own = nc_case.url, member.session(app=False)
    ob = next(o for o in job.obligations if o.task == 1)
    files = f"{url}/remote.php/dav/files/{quote(member.user)}/"
    assert own.put(join_url(files, f"{ob.folder}/ke-hoach.pdf"), data=b"%PDF-1.4 ke hoach\n").status_code == 201
    today = local_today().isoformat()
    code, _, err = nc_case.run("collect", "-c", cfg, "--as-of", today)
    assert code == 0, err

    # Someone with the connector's account deletes the whole unit folder (it goes to the trash bin).
    bot = requests.Session()
    bot.trust_env, bot.auth = False, (nc_case.bot.user, nc_case.bot.app_password)
    bot_files = f"{url}/remote.php/dav/files/{quote(nc_case.bot.user)}/"
    unit_folder = ob.folder.split("/")[0]
    assert bot.delete(join_url(bot_files, f"{job.root}/{unit_folder}")).status_code == 204
    assert not member_sees(own, url, member.user, unit_folder)

    code, out, err = nc_case.run("sync", "-c", cfg)
    assert code == 0, err + out
    assert member_sees(own, url, member.user, ob.folder), "the folder is back and shared with the unit again"
    new_link = link_in(todo_of(own, url, member.user, unit, 1))
    assert member_path_behind(own, new_link) == "/" + ob.folder

    code, out, err = nc_case.run("collect", "-c", cfg, "--as-of", today, "--json")
    assert code == 0, err
    row = next(r for r in json.loads(out)["rows"] if r["task"] == 1)
    assert row["status"] == "submitted_on_time" and row["removed"]  # the submission stands
    [lost] = row["files"]
    assert lost["name"] == "ke-hoach.pdf" and lost["removed"]
    assert f"«{unit_folder}» đã bị xoá" in lost["note"] and nc_case.bot.user in lost["note"]
    html = Path(job.state_dir / "register" / job.code / "register.html").read_text(encoding="utf-8")
    assert "Báo cáo đã nộp nay không còn (1)" in html and "ke-hoach.pdf" in html

    # And it truly is in the account's trash bin, where the note sends people.
    trash = bot.request("PROPFIND", f"{url}/remote.php/dav/trashbin/{quote(nc_case.bot.user)}/trash/",
                        headers={"Depth": "1"})
    assert trash.status_code == 207 and unit_folder in unquote(trash.text)
