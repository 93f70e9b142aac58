"""Report folders are made when their period comes, not years ahead.

Given the seed plan moved so that it runs from 2026 and two units: on 10/03/2026 the sync makes each unit's
folder and the folders of the periods that have begun or begin within a month (February's one-off reports,
March's, the 2026 yearly ones), and nothing for December or for 2027 and later. The to-do of a period whose
folder is not made yet links the nearest folder that exists (its task folder, else the unit's), never one
that goes nowhere; the register says those periods are not yet due; a second run writes nothing. On
01/12/2026 the next run makes December's and 2027's folders and points their to-dos at them. On a live
Nextcloud, a plan that starts this year gets only its near folders, and every to-do's link is a folder's id.
"""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import pytest
from icalendar import Calendar

from connector import commands
from connector.commands import Job, run_job
from connector.config import Config, PlanConfig, ServerConfig, SyncConfig, load_config
from connector.errors import ConfigError
from connector.models import MilestoneKind, Obligation, Status
from connector.render.names import calendar_slug, todo_uid
from connector.sync.folders import desired_folders, folder_due
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "mappings/plans/ke-hoach-21-kl-tw.txt"
UNITS = ('[[units]]\nid = "cb-a"\nname = "Chi bộ A"\ngroup = "chi-bo-a"\nkind = "chi bộ cơ sở"\n'
         '[[units]]\nid = "cb-b"\nname = "Chi bộ B"\ngroup = "chi-bo-b"\nkind = "chi bộ cơ sở"\n')
MARCH, DECEMBER = date(2026, 3, 10), date(2026, 12, 1)


def shifted_seed(tmp: Path, years: int) -> Path:
    """The seed plan (and its mapping) with every year moved forward."""
    out = tmp / f"ke-hoach-plus{years}.txt"
    for src, dst in ((SEED, out), (SEED.with_suffix(".toml"), out.with_suffix(".toml"))):
        text = src.read_text(encoding="utf-8")
        dst.write_text(re.sub(r"\b(20[0-9]{2})\b", lambda m: str(int(m.group(1)) + years), text), encoding="utf-8")
    return out


# --- the rule, without a server ------------------------------------------------------------------

def ob(folder: str, start: date | None, due: date | None, kind=MilestoneKind.YEARLY) -> Obligation:
    return Obligation(unit="cb-a", task=7, milestone=1, period="p", due=due, start=start, kind=kind, folder=folder)


def test_a_period_gets_its_folder_once_it_begins_or_is_within_the_days_ahead():
    today = date(2026, 3, 10)
    assert folder_due(ob("A/07/Năm 2025", date(2025, 1, 1), date(2025, 12, 31)), today, 31)  # past: late reports
    assert folder_due(ob("A/07/Năm 2026", date(2026, 1, 1), date(2026, 12, 31)), today, 31)  # running
    assert folder_due(ob("A/02/Tháng 04-2026", date(2026, 4, 1), date(2026, 4, 30)), today, 31)  # in 22 days
    assert not folder_due(ob("A/02/Tháng 04-2026", date(2026, 4, 1), date(2026, 4, 30)), today, 0)
    assert not folder_due(ob("A/07/Năm 2027", date(2027, 1, 1), date(2027, 12, 31)), today, 31)
    # A one-off with no start: its due date; an ongoing task with no date at all: always.
    assert folder_due(ob("A/04/Hạn 10-04-2026", None, date(2026, 4, 10), MilestoneKind.ONCE), today, 31)
    assert not folder_due(ob("A/04/Hạn 11-04-2026", None, date(2026, 4, 11), MilestoneKind.ONCE), today, 31)
    assert folder_due(ob("A/06/Thường xuyên", None, None, MilestoneKind.ONGOING), today, 0)

    obs = [ob("A/07/Năm 2026", date(2026, 1, 1), date(2026, 12, 31)),
           ob("A/07/Năm 2027", date(2027, 1, 1), date(2027, 12, 31)),
           ob("A/09/Năm 2028", date(2028, 1, 1), date(2028, 12, 31))]
    assert desired_folders("R", obs, ["_Tổng hợp"], today=today, ahead_days=31) == [
        "R", "R/A", "R/_Tổng hợp", "R/A/07", "R/A/07/Năm 2026"]  # no task folder 09 with nothing in it yet
    assert len(desired_folders("R", obs)) == 7  # without a day: every period to the horizon


def test_folders_ahead_days_is_a_setting_of_sync_never_negative(tmp_path):
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text('[server]\nkind = "embedded"\n[sync]\nfolders_ahead_days = 0\n', encoding="utf-8")
    assert load_config(str(cfg)).sync.folders_ahead_days == 0
    assert SyncConfig().folders_ahead_days == 31
    cfg.write_text('[server]\nkind = "embedded"\n[sync]\nfolders_ahead_days = -7\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="folders_ahead_days.*greater than or equal to 0"):
        load_config(str(cfg))


# --- the story on the embedded servers -------------------------------------------------------------

@pytest.fixture
def story(tmp_path, monkeypatch):
    """(open a job as of a day) for the seed plan moved to 2026 and two units."""
    units = tmp_path / "units.toml"
    units.write_text(UNITS, encoding="utf-8")
    cfg = Config(server=ServerConfig(kind="embedded", data_dir=str(tmp_path / "data"),
                                     caldav_port=free_port(), webdav_port=free_port()),
                 plan=PlanConfig(document=str(shifted_seed(tmp_path, 4)), units=str(units)))
    cfg.state_dir = str(tmp_path / "state")

    def job_on(day: date, *, dry_run: bool = False) -> Job:
        monkeypatch.setattr(commands, "local_today", lambda: day)
        return Job(cfg, dry_run=dry_run)
    return job_on


def folders_of(job: Job) -> set[str]:
    """The folders under the plan's root, relative to it."""
    prefix = job.root + "/"
    return {e.path[len(prefix):] for e in job.list_report_tree() if e.is_dir}


def todo_descriptions(job: Job, unit: str) -> dict[str, str]:
    """UID -> the description of each to-do in the unit's task list."""
    cal = job.caldav.calendars()[calendar_slug(job.plan, "unit", next(u for u in job.units if u.id == unit))]
    listing = job.caldav.list_items(cal.href)
    return {str(todo["UID"]): str(todo["DESCRIPTION"])
            for _etag, ics in job.caldav.fetch(cal.href, list(listing.items)).values()
            for todo in Calendar.from_ical(ics).walk("VTODO")}


def todo_links(job: Job, unit: str) -> dict[str, str]:
    """UID -> the link ("Liên kết: …") of each to-do in the unit's task list."""
    out = {}
    for uid, text in todo_descriptions(job, unit).items():
        found = re.search(r"^Liên kết: (\S+)$", text, re.M)
        out[uid] = found.group(1) if found else ""
    return out


def path_of(job: Job, url: str) -> str:
    """The folder a link opens, relative to the plan's root."""
    assert url.startswith(job.files_root), url
    return unquote(url[len(job.files_root):]).strip("/").removeprefix(job.root).strip("/")


@pytest.mark.server
def test_folders_come_with_their_periods_and_links_always_open_one(story, tmp_path):
    # --- 10/03/2026: the plan's first months ---------------------------------------------------
    with story(MARCH) as job:
        first = job.sync()
        assert first["failed"] == []
        made = folders_of(job)
        mine = [o for o in job.obligations if o.unit == "cb-a"]
        now = [o for o in mine if folder_due(o, MARCH, 31)]
        later = [o for o in mine if not folder_due(o, MARCH, 31)]
        assert {o.folder for o in now} <= made and not {o.folder for o in later} & made
        assert "Chi bộ A" in made and {o.folder.split("/")[1] for o in now} == {
            f.split("/")[1] for f in made if f.startswith("Chi bộ A/")}  # task folders only with a period in them
        names = {o.folder.rsplit("/", 1)[1] for o in now}
        assert {"Tháng 02-2026", "Tháng 03-2026", "Năm 2026", "Thường xuyên"} <= names
        assert not any(n.endswith(("2027", "2028", "2029", "2030", "12-2026")) for n in names)
        assert first["folders_created"] == len(made) + len(job.root.split("/"))  # the root's folders too
        assert made == set(desired_folders("", job.obligations, ["_Tổng hợp"], today=MARCH, ahead_days=31))
        assert len(made) < len(desired_folders("", job.obligations)) - 30  # not every period to 2030

        # Every to-do links a folder that exists: its own, else its task folder, else its unit's.
        links = todo_links(job, "cb-a")
        uid = {todo_uid(job.plan, o): o for o in mine}
        assert set(links) == set(uid)
        for u, url in links.items():
            o = uid[u]
            opened = path_of(job, url)
            assert opened in made and job.webdav.exists(f"{job.root}/{opened}"), (o.folder, url)
            task_dir = o.folder.rsplit("/", 1)[0]
            assert opened == (o.folder if o.folder in made else task_dir if task_dir in made else "Chi bộ A")
        assert any(path_of(job, links[todo_uid(job.plan, o)]) == "Chi bộ A" for o in later)  # 04: only in December
        assert any(path_of(job, links[todo_uid(job.plan, o)]).count("/") == 1 for o in later)  # 07: Năm 2027
        # ... and says its own folder comes with its period.
        texts = todo_descriptions(job, "cb-a")
        for o in mine:
            assert ("(thư mục sẽ được tạo khi đến kỳ)" in texts[todo_uid(job.plan, o)]) == (o in later), o.folder

        # The register: those periods are not due yet, their rows open an existing folder, nothing is missing.
        summary = run_job(job, MARCH, tmp_path / "out")
        assert summary["failed"] == []
        reg = job.last_register()
        rows = {r.key: r for r in reg.rows}
        for o in later:
            row = rows[o.key]
            assert row.status == Status.NOT_DUE and not row.removed and not row.files
            assert path_of(job, row.url) in made
        assert not reg.unassigned

        # Nothing changed: nothing is written.
        again = run_job(job, MARCH, tmp_path / "out")
        assert again["writes"] == 0 and again["failed"] == []

    # --- 01/12/2026: December's reports and 2027's folders are made; a dry run said so first -------
    with story(DECEMBER, dry_run=True) as job:
        planned = job.sync()
    with story(DECEMBER) as job:
        done = job.sync()
        assert done["failed"] == []
        assert [planned[k] for k in ("created", "updated", "deleted")] == [done[k] for k in ("created", "updated",
                                                                                              "deleted")]
        made_now = folders_of(job)
        assert made <= made_now  # nothing removed
        new = [o for o in later if folder_due(o, DECEMBER, 31)]
        assert {o.folder.rsplit("/", 1)[1] for o in new} >= {"Tháng 12-2026", "Năm 2027"}
        assert {o.folder for o in new} <= made_now
        assert not any(o.folder in made_now for o in later if not folder_due(o, DECEMBER, 31))
        links = todo_links(job, "cb-a")
        assert all(path_of(job, links[todo_uid(job.plan, o)]) == o.folder for o in new)
        assert done["items"]["updated"] >= 2 * len(new)  # each unit's to-do of a period now made links it
        assert job.sync()["items"] == {"created": 0, "updated": 0, "deleted": 0}


@pytest.mark.server
def test_with_no_days_ahead_a_folder_comes_on_its_periods_first_day(story):
    with story(date(2026, 12, 31)) as job:
        job.cfg.sync.folders_ahead_days = 0
        job.sync()
        assert not any(f.endswith("Năm 2027") for f in folders_of(job))
        assert any(f.endswith("Tháng 12-2026") for f in folders_of(job))  # due today (no start date of its own)
    with story(date(2027, 1, 1)) as job:
        job.sync()
        assert {"Chi bộ A/Báo cáo hằng năm/Năm 2027", "Chi bộ B/Báo cáo hằng năm/Năm 2027"} <= folders_of(job)


@pytest.mark.nextcloud
@pytest.mark.slow
def test_on_nextcloud_a_plan_starting_this_year_gets_its_near_folders_and_every_link_opens_one(nc_case):
    today = commands.local_today()
    plan = nc_case.shifted_plan(today.year - 2022)  # the seed plan, running from 1 January this year
    [unit] = nc_case.units(1, members=0)
    cfg = nc_case.config(plan=plan)
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0 and json.loads(out)["failed"] == [], err + out

    with Job(load_config(str(cfg))) as job:
        prefix = job.root + "/"
        ids = {e.path[len(prefix):]: e.file_id for e in job.list_report_tree() if e.is_dir}
        assert all(ids.values())
        now = [o for o in job.obligations if folder_due(o, today, 31)]
        later = [o for o in job.obligations if not folder_due(o, today, 31)]
        assert later and {o.folder for o in now} <= set(ids) and not {o.folder for o in later} & set(ids)

        links = todo_links(job, unit.id)
        folder_of_id = {fid: path for path, fid in ids.items()}
        by_uid = {todo_uid(job.plan, o): o for o in job.obligations}
        assert set(links) == set(by_uid)
        for uid, link in links.items():
            found = re.fullmatch(re.escape(nc_case.url) + r"/index\.php/f/(\d+)", link)
            assert found and found.group(1) in folder_of_id, (by_uid[uid].folder, link)  # an existing folder
            opened, folder = folder_of_id[found.group(1)], by_uid[uid].folder
            assert opened == folder if folder in ids else folder.startswith(opened + "/")
