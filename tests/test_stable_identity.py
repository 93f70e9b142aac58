"""Stable identities (issue 10): what a unit filed stays with its obligation when a new plan version moves a
one-off date or renumbers and rewords a task.

On the embedded servers: a unit files on time; the plan then moves the date (or inserts a task before it);
sync + collect still say "on time", in the same folder, the to-do stays completed, and no overdue reminder
is due. Pure tests cover registers and reminder state written before keys were stable.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from connector.cli import main
from connector.commands import Job, run_job
from connector.config import Config, PlanConfig, ServerConfig
from connector.dav.webdav import Entry
from connector.models import MilestoneKind, Obligation, Plan, RemoteFile, Status, Task, Unit
from connector.plan.mapping import load_plan
from connector.plan.versions import assign_identities, match_versions
from connector.register.status import compute_register
from connector.reminders import pending_reminders
from connector.render.names import todo_uid
from connector.sync.folders import adopt_existing_folders
from tests.helpers import chi_bo_units, free_port

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "mappings/plans/ke-hoach-21-kl-tw.txt")
UNITS = chi_bo_units("A", "B")


def at(*a) -> datetime:
    return datetime(*a, tzinfo=TZ)


def config(tmp_path: Path, **plan) -> Config:
    units = tmp_path / "units.toml"
    units.write_text(UNITS, encoding="utf-8")
    cfg = Config(server=ServerConfig(kind="embedded", data_dir=str(tmp_path / "data"),
                                     caldav_port=free_port(), webdav_port=free_port()),
                 plan=PlanConfig(units=str(units), **plan))
    cfg.state_dir = str(tmp_path / "state")
    return cfg


def upload(job: Job, ob: Obligation, name: str, when: datetime) -> None:
    path = f"{job.root}/{ob.folder}/{name}"
    job.webdav.put(path, b"%PDF-1.4 report\n", create_only=True)
    job.embedded.set_file_time(path, when)


def todos(job: Job, unit: str) -> dict[str, object]:
    """UID -> VTODO of one unit's task list."""
    cal = next(info for slug, info in job.caldav.calendars().items() if slug.endswith(f"-{unit}"))
    listing = job.caldav.list_items(cal.href)
    return {str(t["UID"]): t for _e, ics in job.caldav.fetch(cal.href, list(listing.items)).values()
            for t in Calendar.from_ical(ics).walk("VTODO")}


def dirs_under(job: Job, folder: str) -> set[str]:
    prefix = f"{job.root}/{folder}/"
    return {e.path[len(prefix):] for e in job.webdav.list_tree(job.root)
            if e.is_dir and e.path.startswith(prefix) and "/" not in e.path[len(prefix):]}


@pytest.mark.server
def test_a_moved_one_off_date_keeps_the_report_on_time_in_its_folder(tmp_path):
    mapping = tmp_path / "plan.toml"
    mapping.write_text("", encoding="utf-8")  # no overrides yet
    cfg = config(tmp_path, document=SEED, mapping=str(mapping))
    with Job(cfg) as job:  # `sync`, then the unit files task 3's plan on 20/02, due 28/02
        assert job.sync()["failed"] == []
        ob = next(o for o in job.obligations if o.unit == "cb-a" and o.task == 3)
        assert ob.kind == MilestoneKind.ONCE and ob.due == date(2022, 2, 28)
        upload(job, ob, "ke-hoach.pdf", at(2022, 2, 20, 9, 0))
        folder, task_dir = ob.folder, ob.folder.rsplit("/", 1)[0]
    with Job(cfg) as job:  # `collect`
        result = job.collect(date(2022, 3, 1), out_dir=tmp_path / "out")
        job.sync_calendars(result["register"].completions())

    # The next version of the plan moves the deadline to 31/03 ("Tháng 03-2022").
    mapping.write_text("[overrides.tasks.3.milestones.1]\ndue = 2022-03-31\n", encoding="utf-8")
    with Job(cfg) as job:  # `sync`: the to-do stays completed, no second folder beside the one in use
        assert job.sync()["failed"] == []
        ob = next(o for o in job.obligations if o.unit == "cb-a" and o.task == 3)
        assert ob.due == date(2022, 3, 31) and ob.folder == folder
        assert dirs_under(job, task_dir) == {folder.rsplit("/", 1)[1]}
        todo = todos(job, "cb-a")["pc-21-kl-tw-td-cb-a-t03-m1-once"]
        assert str(todo["STATUS"]) == "COMPLETED" and todo["DUE"].dt == date(2022, 3, 31)
    with Job(cfg) as job:  # `collect` after the new date: still on time, filed 20/02
        reg = job.collect(date(2022, 4, 5), out_dir=tmp_path / "out")["register"]
        job.sync_calendars(reg.completions())
        assert str(todos(job, "cb-a")["pc-21-kl-tw-td-cb-a-t03-m1-once"]["STATUS"]) == "COMPLETED"

    row = next(r for r in reg.rows if r.unit == "cb-a" and r.task == 3)
    assert row.status == Status.SUBMITTED_ON_TIME and row.submitted_at == at(2022, 2, 20, 9, 0)
    assert row.folder == folder and [f.name for f in row.files] == ["ke-hoach.pdf"]
    assert reg.unassigned == []
    overdue = [r.key for _k, _s, r in pending_reminders(reg, {}) if r.task == 3]
    assert overdue == ["cb-b/3/1/once"]  # only the unit that filed nothing is reminded
    saved = json.loads((tmp_path / "out" / "register.json").read_text(encoding="utf-8"))
    assert next(r for r in saved["rows"] if r["unit"] == "cb-a" and r["task"] == 3)["status"] == "submitted_on_time"


def test_a_register_written_before_keys_were_stable_keeps_the_first_submission():
    """A register of an earlier release keyed the one-off period by its date: the row is still found after the
    date moved, with its first submission time, even once the file itself is gone."""
    units = [Unit(id="cb-a", name="Chi bộ A", group="a")]
    plan = Plan(title="Kế hoạch", code="kh", tasks=[Task(number=3, title="Xây dựng kế hoạch", text="…")])
    folder = "Chi bộ A/03 – Xây dựng kế hoạch/Tháng 02-2022"
    before = [Obligation(unit="cb-a", task=3, milestone=1, period="2022-02-28", due=date(2022, 2, 28),
                         kind=MilestoneKind.ONCE, folder=folder)]
    filed = RemoteFile(path=f"{folder}/ke-hoach.pdf", name="ke-hoach.pdf", size=10, uploaded_at=at(2022, 2, 20, 9))
    old = compute_register(before, [filed], units, plan, date(2022, 3, 1), at(2022, 3, 1, 8))
    assert old.rows[0].period == "2022-02-28"  # what registers say: the period is still the date

    after = [before[0].model_copy(update={"period": "2022-03-31", "due": date(2022, 3, 31)})]
    reg = compute_register(after, [], units, plan, date(2022, 4, 5), at(2022, 4, 5, 8), previous=old)
    (row,) = reg.rows
    assert row.status == Status.SUBMITTED_ON_TIME and row.submitted_at == at(2022, 2, 20, 9)
    assert row.files[0].removed and row.files[0].name == "ke-hoach.pdf"


def test_reminders_sent_under_the_old_keys_are_not_sent_again():
    reg = compute_register(
        [Obligation(unit="cb-a", task=3, milestone=1, period="2022-02-28", due=date(2022, 2, 28),
                    kind=MilestoneKind.ONCE, folder="A/03 – X/Tháng 02-2022")],
        [], [Unit(id="cb-a", name="A", group="a")], Plan(title="K", tasks=[Task(number=3, title="X", text="X")]),
        date(2022, 3, 5), at(2022, 3, 5, 8))
    assert [k for k, _s, _r in pending_reminders(reg, {})] == ["cb-a/3/1/once:overdue"]
    assert pending_reminders(reg, {"cb-a/3/1/2022-02-28:overdue": "2022-03-01T08:00:00+07:00"}) == []


def entries(root: str, *dirs: str) -> list[Entry]:
    return [Entry(href="", path=f"{root}/{d}", is_dir=True, size=None, etag=None, last_modified=None,
                  upload_time=None, file_id=None, owner_id=None, permissions=None) for d in dirs]


def test_without_a_register_a_moved_date_takes_the_one_dated_folder_of_its_task():
    ob = Obligation(unit="a", task=3, milestone=1, period="2022-03-31", due=date(2022, 3, 31),
                    kind=MilestoneKind.ONCE, folder="A/03 – X/Tháng 03-2022")
    monthly = Obligation(unit="a", task=3, milestone=2, period="2022-02", due=date(2022, 2, 28),
                         kind=MilestoneKind.MONTHLY, folder="A/03 – X/Tháng 02-2022 (mốc 2)")
    listing = entries("R", "A", "A/03 – X", "A/03 – X/Tháng 02-2022", "A/03 – X/Tháng 02-2022 (mốc 2)",
                      "A/03 – X/Tài liệu")
    adopted = adopt_existing_folders([ob, monthly], listing, "R")
    assert [o.folder for o in adopted] == ["A/03 – X/Tháng 02-2022", "A/03 – X/Tháng 02-2022 (mốc 2)"]
    # Two dated folders nobody claims: no guess.
    two = listing + entries("R", "A/03 – X/Hạn 15-03-2022")
    assert adopt_existing_folders([ob], two, "R")[0].folder == ob.folder
    # With a register, it names the folder; nothing is guessed.
    assert adopt_existing_folders([ob], listing, "R", known={})[0].folder == ob.folder


def test_a_folder_one_obligation_keeps_is_never_given_to_another():
    kept = Obligation(unit="a", task=1, milestone=1, period="2022-04-30", due=date(2022, 4, 30),
                      kind=MilestoneKind.ONCE, folder="A/01 – X/Tháng 04-2022")
    # The date moved from February; the monthly milestone's February folder is now the plain name.
    monthly = Obligation(unit="a", task=1, milestone=2, period="2022-02", due=date(2022, 2, 28),
                         kind=MilestoneKind.MONTHLY, folder="A/01 – X/Tháng 02-2022")
    listing = entries("R", "A", "A/01 – X", "A/01 – X/Tháng 02-2022")
    adopted = adopt_existing_folders([kept, monthly], listing, "R", known={kept.key: "A/01 – X/Tháng 02-2022"})
    assert [o.folder for o in adopted] == ["A/01 – X/Tháng 02-2022", "A/01 – X/Tháng 02-2022 (mốc 2)"]


# --- a new version of the plan that renumbers and rewords tasks -----------------------------------

V1 = """KẾ HOẠCH
thực hiện chương trình công tác năm 2022

II. NHIỆM VỤ

1. Tổ chức hội nghị quán triệt nghị quyết đến toàn thể cán bộ, đảng viên (tháng 3/2022).
2. Rà soát, bổ sung quy chế làm việc của cấp ủy các chi bộ trực thuộc (quý II/2022).
3. Báo cáo sơ kết việc thực hiện kế hoạch trong 6 tháng đầu năm (tháng 6/2022).
"""
V2 = """KẾ HOẠCH
thực hiện chương trình công tác năm 2022

II. NHIỆM VỤ

1. Tổ chức hội nghị quán triệt nghị quyết đến toàn thể cán bộ, đảng viên (tháng 3/2022).
2. Xây dựng chương trình kiểm tra, giám sát chuyên đề của cấp ủy (tháng 5/2022).
3. Rà soát, bổ sung quy chế làm việc của cấp ủy các chi bộ trực thuộc (quý II/2022).
4. Báo cáo sơ kết thực hiện kế hoạch trong 6 tháng đầu năm (tháng 7/2022).
"""


def import_plan(tmp_path: Path, text: str, mapping: Path, capsys, *extra: str) -> tuple[int, str, str]:
    doc = tmp_path / "ke-hoach.txt"
    doc.write_text(text, encoding="utf-8")
    code = main(["import", str(doc), "-o", str(mapping), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_import_shows_how_the_new_version_maps_onto_the_old(tmp_path, capsys):
    mapping = tmp_path / "plan.toml"
    assert import_plan(tmp_path, V1, mapping, capsys)[0] == 0
    code, out, _err = import_plan(tmp_path, V2, mapping, capsys)
    assert code == 0
    assert "task 2: new" in out
    assert "task 3: was task 2; keeps its folders, reports and to-dos" in out
    assert "task 4: was task 3, retitled from «Báo cáo sơ kết việc thực hiện" in out
    text = mapping.read_text(encoding="utf-8")
    # Task 3 is task 2 of the first version, task 4 its task 3; the new task 2 gets an identity never used.
    assert [(t.number, t.ident or t.number) for t in load_plan(mapping=mapping).tasks] == [(1, 1), (2, 5), (3, 2), (4, 3)]
    # Importing the same version again changes nothing and says nothing about versions.
    code, out, _err = import_plan(tmp_path, V2, mapping, capsys)
    assert code == 0 and "previous version" not in out and mapping.read_text(encoding="utf-8") == text


def test_an_unclear_match_is_asked_about_not_guessed_and_a_pin_decides(tmp_path, capsys):
    old = Plan(title="K", tasks=[Task(number=1, title="Tổ chức hội nghị quán triệt nghị quyết",
                                      text="Tổ chức hội nghị quán triệt nghị quyết đến cán bộ chủ chốt")])
    new = Plan(title="K", tasks=[Task(number=1, title="Hội nghị sơ kết", text="Hội nghị sơ kết một năm"),
                                 Task(number=2, title="Học tập, quán triệt nghị quyết trong toàn Đảng bộ",
                                      text="Học tập, quán triệt nghị quyết trong toàn Đảng bộ, cán bộ chủ chốt")])
    vmap = match_versions(old, new)
    assert vmap.matches[1].old is None and vmap.matches[1].unsure is old.tasks[0]
    assign_identities(new, vmap, old)
    assert [t.ident for t in new.tasks] == [3, 0]  # task 1 reworded beyond recognition: new; task 2: asked, new

    mapping = tmp_path / "plan.toml"
    assert import_plan(tmp_path, "KẾ HOẠCH\nthử\n\nII. NHIỆM VỤ\n\n1. Tổ chức hội nghị quán triệt nghị quyết "
                                  "đến cán bộ chủ chốt (tháng 3/2022).\n", mapping, capsys)[0] == 0
    v2 = ("KẾ HOẠCH\nthử\n\nII. NHIỆM VỤ\n\n1. Hội nghị sơ kết một năm thực hiện (tháng 12/2022).\n"
          "2. Học tập, quán triệt nghị quyết trong toàn Đảng bộ, cán bộ chủ chốt (tháng 3/2022).\n")
    code, out, err = import_plan(tmp_path, v2, mapping, capsys, "--strict")
    assert code == 1 and "task 2 ? may be task 1 of the previous version" in out
    assert "[overrides.tasks.2] ident = 1" in out and "pin them (--strict)" in err
    # The admin pins it: task 2 is task 1 of the first version.
    text = mapping.read_text(encoding="utf-8")
    mapping.write_text(text.replace("# =====", "[overrides.tasks.2]\nident = 1\n\n# =====", 1), encoding="utf-8")
    code, out, err = import_plan(tmp_path, v2, mapping, capsys, "--strict")
    assert code == 0, err
    plan = load_plan(mapping=mapping)
    assert [(t.number, t.ident or t.number) for t in plan.tasks] == [(1, 3), (2, 1)]


@pytest.mark.server
def test_a_renumbered_and_reworded_task_keeps_its_folder_reports_and_todo(tmp_path, capsys):
    mapping = tmp_path / "plan.toml"
    assert import_plan(tmp_path, V1, mapping, capsys)[0] == 0
    cfg = config(tmp_path, mapping=str(mapping))
    with Job(cfg) as job:
        job.sync()
        ob = next(o for o in job.obligations if o.unit == "cb-a" and o.task == 3)
        upload(job, ob, "so-ket.pdf", at(2022, 6, 20, 9, 0))
        run_job(job, date(2022, 6, 25), tmp_path / "out")
        folder, uid = ob.folder, todo_uid(job.plan, ob)
        assert str(todos(job, "cb-a")[uid]["STATUS"]) == "COMPLETED"

    code, out, _err = import_plan(tmp_path, V2, mapping, capsys)  # inserts a task 2: old 2 -> 3, old 3 -> 4
    assert "task 4: was task 3" in out
    with Job(cfg) as job:
        summary = run_job(job, date(2022, 8, 5), tmp_path / "out")
        assert summary["failed"] == []
        unit_dirs = dirs_under(job, "Chi bộ A")
        listed = todos(job, "cb-a")
    reg = json.loads((tmp_path / "out" / "register.json").read_text(encoding="utf-8"))
    row = next(r for r in reg["rows"] if r["unit"] == "cb-a" and r["task"] == 4)
    assert row["status"] == "submitted_on_time" and row["folder"] == folder
    assert [f["name"] for f in row["files"]] == ["so-ket.pdf"] and row["task_ident"] == 3
    assert reg["unassigned"] == []
    new_task = next(r for r in reg["rows"] if r["unit"] == "cb-a" and r["task"] == 2)
    assert new_task["status"] == "overdue" and new_task["files"] == []
    assert folder.split("/")[1] in unit_dirs and new_task["folder"].split("/")[1] in unit_dirs
    assert str(listed[uid]["STATUS"]) == "COMPLETED" and str(listed[uid]["SUMMARY"]).startswith("NV 4 ")
