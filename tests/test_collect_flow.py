"""The unit's story end to end on real servers (WsgiDAV for files, Radicale for tasks).

Given the seed plan and four units: after sync the report folders exist; units upload on time,
late, not at all, into the wrong place and leave a temporary file; collect as of a fixed date
says exactly that, completes the to-dos, and a second collect changes nothing.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from connector.commands import Job, run_job
from connector.config import Config, PlanConfig, ServerConfig
from connector.models import Status
from tests.helpers import free_port

pytestmark = pytest.mark.server
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "mappings/plans/ke-hoach-21-kl-tw.txt")

UNITS = """
[[units]]
id = "cb-a"
name = "Chi bộ A"
group = "chi-bo-a"
kind = "chi bộ cơ sở"
[[units]]
id = "cb-b"
name = "Chi bộ B"
group = "chi-bo-b"
kind = "chi bộ cơ sở"
[[units]]
id = "du-c"
name = "Đảng ủy C"
group = "dang-uy-c"
kind = "đảng ủy cơ sở"
[[units]]
id = "ban-tc"
name = "Ban Tổ chức"
group = "ban-to-chuc"
kind = "ban"
"""


@pytest.fixture
def job_factory(tmp_path):
    units = tmp_path / "units.toml"
    units.write_text(UNITS, encoding="utf-8")
    # The same ports for every run, as in real use: links written into events stay the same.
    cfg = Config(server=ServerConfig(kind="embedded", data_dir=str(tmp_path / "data"),
                                     caldav_port=free_port(), webdav_port=free_port()),
                 plan=PlanConfig(document=SEED, units=str(units)))
    cfg.state_dir = str(tmp_path / "state")
    return lambda: Job(cfg)


def upload(job, obligation, name, when, content=b"%PDF-1.4 report\n"):
    path = f"{job.root}/{obligation.folder}/{name}"
    job.webdav.put(path, content, create_only=True)
    job.embedded.set_file_time(path, when)


def at(*a):
    return datetime(*a, tzinfo=TZ)


def test_register_says_exactly_what_units_did(job_factory, tmp_path):
    with job_factory() as job:
        first = job.sync()
        assert first["failed"] == [] and first["folders_created"] > 0
        ob = {(o.unit, o.task, o.milestone, o.period): o for o in job.obligations}
        t3 = lambda u: ob[(u, 3, 1, "2022-02-28")]  # noqa: E731 - task 3, due 28/02/2022
        upload(job, t3("cb-a"), "ke-hoach.pdf", at(2022, 2, 28, 23, 59))     # on time, last minute
        upload(job, t3("cb-b"), "ke-hoach.pdf", at(2022, 3, 1, 0, 5))        # late by minutes
        upload(job, t3("du-c"), "~$ke-hoach.docx", at(2022, 2, 20, 9, 0), b"lock")  # temporary: not a report
        unit_dir = t3("ban-tc").folder.split("/")[0]
        job.webdav.put(f"{job.root}/{unit_dir}/bao-cao-de-nham-cho.pdf", b"%PDF", create_only=True)  # wrong place
        job.embedded.set_file_time(f"{job.root}/{unit_dir}/bao-cao-de-nham-cho.pdf", at(2022, 3, 1, 9, 0))
        upload(job, ob[("cb-a", 2, 1, "2022-03-31")], "sinh-hoat.pdf", at(2022, 3, 20, 10, 0))
        upload(job, ob[("cb-b", 4, 1, "2022-12-31")], "tap-huan.pdf", at(2022, 6, 1, 8, 0))  # after as-of: not yet

        summary = run_job(job, date(2022, 3, 25), tmp_path / "out")
        assert summary["failed"] == []

    reg = json.loads((tmp_path / "out" / "register.json").read_text(encoding="utf-8"))
    rows = {(r["unit"], r["task"], r["milestone"], r["period"]): r for r in reg["rows"]}
    assert reg["as_of"] == "2022-03-25"
    assert rows[("cb-a", 3, 1, "2022-02-28")]["status"] == Status.SUBMITTED_ON_TIME
    assert rows[("cb-b", 3, 1, "2022-02-28")]["status"] == Status.SUBMITTED_LATE
    assert rows[("du-c", 3, 1, "2022-02-28")]["status"] == Status.OVERDUE  # only a temp file
    assert rows[("ban-tc", 3, 1, "2022-02-28")]["status"] == Status.OVERDUE
    assert rows[("cb-a", 2, 1, "2022-03-31")]["status"] == Status.SUBMITTED_ON_TIME  # filed 20/03, early
    assert rows[("cb-b", 2, 1, "2022-03-31")]["status"] == Status.DUE_SOON
    assert rows[("cb-b", 4, 1, "2022-12-31")]["status"] == Status.NOT_DUE  # its file came after the as-of date
    assert rows[("cb-a", 3, 1, "2022-02-28")]["files"][0]["name"] == "ke-hoach.pdf"
    assert [u["name"] for u in reg["unassigned"]] == ["bao-cao-de-nham-cho.pdf"]
    assert any("~$ke-hoach.docx" in i["path"] for i in reg.get("ignored", []))
    for ext in ("json", "csv", "xlsx", "html"):
        assert (tmp_path / "out" / f"register.{ext}").stat().st_size > 0

    with job_factory() as job:
        # The to-dos of what was filed are completed; the register was uploaded for the coordinators.
        cals = job.caldav.calendars()
        cal = next(info for slug, info in cals.items() if slug.endswith("-cb-a"))
        listing = job.caldav.list_items(cal.href)
        todos = [c for _e, ics in job.caldav.fetch(cal.href, list(listing.items)).values()
                 for c in Calendar.from_ical(ics).walk("VTODO")]
        done = sorted(str(t["SUMMARY"]) for t in todos if str(t.get("STATUS")) == "COMPLETED")
        assert len(done) == 2 and all(int(t["PERCENT-COMPLETE"]) == 100 for t in todos if str(t.get("STATUS")) == "COMPLETED")
        assert job.webdav.exists(f"{job.root}/{job.cfg.plan.register_folder}/register.xlsx")

        # A second collect with nothing new: no write at all.
        again = run_job(job, date(2022, 3, 25), tmp_path / "out")
        assert again["writes"] == 0 and again["failed"] == []


def test_a_report_deleted_later_stays_in_the_register_marked_removed(job_factory, tmp_path):
    with job_factory() as job:
        job.sync()
        ob = next(o for o in job.obligations if o.unit == "cb-a" and o.task == 3)
        upload(job, ob, "ke-hoach.pdf", at(2022, 2, 10, 9, 0))
        run_job(job, date(2022, 3, 25), tmp_path / "out")
        job.webdav.delete(f"{job.root}/{ob.folder}/ke-hoach.pdf")
        run_job(job, date(2022, 3, 26), tmp_path / "out")
    reg = json.loads((tmp_path / "out" / "register.json").read_text(encoding="utf-8"))
    row = next(r for r in reg["rows"] if r["unit"] == "cb-a" and r["task"] == 3)
    assert row["status"] == Status.SUBMITTED_ON_TIME and row["removed"] is True
    assert row["files"][0]["name"] == "ke-hoach.pdf" and row["files"][0].get("removed") is True


def test_a_new_plan_version_that_retitles_a_task_keeps_the_folder_units_know(tmp_path):
    units = tmp_path / "units.toml"
    units.write_text(UNITS, encoding="utf-8")
    seed_mapping = (ROOT / "mappings/plans/ke-hoach-21-kl-tw.toml").read_text(encoding="utf-8")
    mapping = tmp_path / "plan.toml"
    mapping.write_text(seed_mapping, encoding="utf-8")
    cfg = Config(server=ServerConfig(kind="embedded", data_dir=str(tmp_path / "data"),
                                     caldav_port=free_port(), webdav_port=free_port()),
                 plan=PlanConfig(mapping=str(mapping), units=str(units)))
    cfg.state_dir = str(tmp_path / "state")
    with Job(cfg) as job:
        job.sync()
        ob = next(o for o in job.obligations if o.unit == "cb-a" and o.task == 3)
        upload(job, ob, "ke-hoach.pdf", at(2022, 2, 10, 9, 0))
        old_task_folder = ob.folder.split("/")[1]
    mapping.write_text(seed_mapping.replace(
        "[overrides.tasks.1.milestones.1]",
        '[overrides.tasks.3]\ntitle = "Xây dựng kế hoạch triển khai Kết luận"\n\n[overrides.tasks.1.milestones.1]', 1),
        encoding="utf-8")
    with Job(cfg) as job:
        summary = run_job(job, date(2022, 3, 25), tmp_path / "out")
        task_dirs = {e.path.split("/")[3] for e in job.webdav.list_tree(job.root)
                     if e.is_dir and e.path.count("/") == 3 and e.path.split("/")[3].startswith("03 ")}
    assert task_dirs == {old_task_folder}  # no second "03 – …" folder next to the one units use
    reg = json.loads((tmp_path / "out" / "register.json").read_text(encoding="utf-8"))
    row = next(r for r in reg["rows"] if r["unit"] == "cb-a" and r["task"] == 3)
    assert row["status"] == Status.SUBMITTED_ON_TIME and row["folder"].split("/")[1] == old_task_folder
    assert summary["failed"] == []


def test_a_unit_renamed_in_the_units_file_keeps_its_folder_and_its_reports(job_factory, tmp_path):
    with job_factory() as job:
        job.sync()
        ob = next(o for o in job.obligations if o.unit == "cb-a" and o.task == 3)
        upload(job, ob, "ke-hoach.pdf", at(2022, 2, 10, 9, 0))
    units = tmp_path / "units.toml"
    units.write_text(units.read_text(encoding="utf-8").replace('name = "Chi bộ A"', 'name = "Đảng bộ A"'),
                     encoding="utf-8")
    with job_factory() as job:
        run_job(job, date(2022, 3, 25), tmp_path / "out")
        top = {e.path.split("/")[2] for e in job.webdav.list_tree(job.root) if e.is_dir and e.path.count("/") == 2}
    assert "Chi bộ A" in top and "Đảng bộ A" not in top
    reg = json.loads((tmp_path / "out" / "register.json").read_text(encoding="utf-8"))
    row = next(r for r in reg["rows"] if r["unit"] == "cb-a" and r["task"] == 3)
    assert row["status"] == Status.SUBMITTED_ON_TIME and row["unit_name"] == "Đảng bộ A"
    assert reg["unassigned"] == []
