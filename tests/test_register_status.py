"""The register's arithmetic: who filed what, on time or not, as of a given day."""
from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime, timedelta, timezone

from connector.models import MilestoneKind, Obligation, Plan, RemoteFile, Status, Task, Unit
from connector.register import compute_register, load_register, register_from_json, register_to_json, write_json
from connector.register.status import TZ, period_label_vi, status_of

VN = timezone(timedelta(hours=7))
NOW = datetime(2022, 3, 10, 8, 0, tzinfo=VN)
PLAN = Plan(title="Kế hoạch thực hiện Kết luận số 21-KL/TW", code="21-kl-tw",
            tasks=[Task(number=3, title="Xây dựng kế hoạch", text="…")])
UNITS = [Unit(id="cb-a", name="Chi bộ A", group="cb-a"), Unit(id="cb-b", name="Chi bộ B", group="cb-b")]
FOLDER = "Chi bộ A/03 – Xây dựng kế hoạch/Tháng 02-2022"


def monthly(unit: str = "cb-a", folder: str = FOLDER, due: date | None = date(2022, 2, 28),
            period: str = "2022-02") -> Obligation:
    kind = MilestoneKind.MONTHLY if due else MilestoneKind.ONGOING
    return Obligation(unit=unit, task=3, milestone=1, period=period, due=due, kind=kind, folder=folder)


def upload(path: str, at: datetime | None, size: int = 1200) -> RemoteFile:
    return RemoteFile(path=path, name=path.rsplit("/", 1)[-1], size=size, uploaded_at=at, href=f"/dav/{path}")


def register(obligations, files, as_of=date(2022, 3, 10), **kw):
    return compute_register(obligations, files, UNITS, PLAN, as_of, NOW, **kw)


def only_row(reg):
    assert len(reg.rows) == 1
    return reg.rows[0]


# --- the deadline is the end of the due day, Vietnam time ------------------------------------

def test_a_report_uploaded_at_2359_on_the_due_day_is_on_time():
    row = only_row(register([monthly()], [upload(f"{FOLDER}/bao-cao.pdf", datetime(2022, 2, 28, 23, 59, tzinfo=VN))]))
    assert row.status == Status.SUBMITTED_ON_TIME
    assert row.submitted_at == datetime(2022, 2, 28, 23, 59, tzinfo=VN)


def test_a_report_uploaded_one_minute_into_the_next_day_is_late():
    row = only_row(register([monthly()], [upload(f"{FOLDER}/bao-cao.pdf", datetime(2022, 3, 1, 0, 1, tzinfo=VN))]))
    assert row.status == Status.SUBMITTED_LATE


def test_server_times_in_utc_are_judged_by_the_vietnamese_calendar_day():
    # 16:59 UTC on the 28th is 23:59 in Hà Nội; 17:01 UTC is already 00:01 on 1 March.
    on_time = upload(f"{FOLDER}/a.pdf", datetime(2022, 2, 28, 16, 59, tzinfo=timezone.utc))
    late = upload(f"{FOLDER}/a.pdf", datetime(2022, 2, 28, 17, 1, tzinfo=timezone.utc))
    assert only_row(register([monthly()], [on_time])).status == Status.SUBMITTED_ON_TIME
    assert only_row(register([monthly()], [late])).status == Status.SUBMITTED_LATE


def test_the_earliest_file_is_the_submission_time():
    files = [upload(f"{FOLDER}/bo-sung.docx", datetime(2022, 3, 5, 9, 0, tzinfo=VN)),
             upload(f"{FOLDER}/bao-cao.pdf", datetime(2022, 2, 20, 14, 30, tzinfo=VN))]
    row = only_row(register([monthly()], files))
    assert row.submitted_at == datetime(2022, 2, 20, 14, 30, tzinfo=VN)
    assert row.status == Status.SUBMITTED_ON_TIME
    assert [f.name for f in row.files] == ["bao-cao.pdf", "bo-sung.docx"]


def test_files_uploaded_after_the_as_of_day_do_not_count_yet():
    late_file = upload(f"{FOLDER}/bao-cao.pdf", datetime(2022, 3, 1, 0, 1, tzinfo=VN))
    as_of_due_day = only_row(register([monthly()], [late_file], as_of=date(2022, 2, 28)))
    assert as_of_due_day.status == Status.DUE_SOON  # due today, nothing filed yet that day
    assert as_of_due_day.files == [] and as_of_due_day.submitted_at is None
    assert only_row(register([monthly()], [late_file], as_of=date(2022, 3, 1))).status == Status.SUBMITTED_LATE


def test_a_file_without_upload_time_counts_as_present_on_the_as_of_day():
    row = only_row(register([monthly()], [upload(f"{FOLDER}/bao-cao.pdf", None)], as_of=date(2022, 2, 27)))
    assert row.status == Status.SUBMITTED_ON_TIME
    assert row.submitted_at.date() == date(2022, 2, 27) and row.submitted_at.tzinfo is not None


def test_naive_upload_times_are_read_as_vietnamese_local_time():
    files = [upload(f"{FOLDER}/a.pdf", datetime(2022, 2, 28, 23, 30)),
             upload(f"{FOLDER}/b.pdf", datetime(2022, 3, 1, 9, 0, tzinfo=timezone.utc))]
    row = only_row(register([monthly()], files))
    assert row.status == Status.SUBMITTED_ON_TIME
    assert row.submitted_at == datetime(2022, 2, 28, 23, 30, tzinfo=VN)


def test_nothing_filed_after_the_due_day_is_overdue():
    assert only_row(register([monthly()], [], as_of=date(2022, 3, 1))).status == Status.OVERDUE


def test_due_soon_covers_today_through_seven_days_ahead():
    due = date(2022, 2, 28)
    assert status_of(due, None, due) == Status.DUE_SOON
    assert status_of(due, None, due - timedelta(days=7)) == Status.DUE_SOON
    assert status_of(due, None, due - timedelta(days=8)) == Status.NOT_DUE
    assert status_of(due, None, due - timedelta(days=8), due_soon_days=10) == Status.DUE_SOON
    reg = register([monthly()], [], as_of=date(2022, 2, 20), due_soon_days=3)
    assert only_row(reg).status == Status.NOT_DUE


def test_ongoing_obligations_are_not_due_until_something_is_filed():
    folder = "Chi bộ A/05 – Tuyên truyền (thường xuyên)"
    ongoing = monthly(folder=folder, due=None, period="ongoing")
    assert only_row(register([ongoing], [])).status == Status.NOT_DUE
    filed = only_row(register([ongoing], [upload(f"{folder}/tin-bai.docx", datetime(2023, 1, 1, tzinfo=VN))],
                              as_of=date(2023, 1, 2)))
    assert filed.status == Status.SUBMITTED_ON_TIME


# --- which folder a file belongs to --------------------------------------------------------------

def test_files_in_sub_folders_of_the_obligation_folder_count_for_it():
    row = only_row(register([monthly()], [upload(f"{FOLDER}/Phụ lục/bang-so-lieu.xlsx",
                                                 datetime(2022, 2, 25, tzinfo=VN))]))
    assert row.status == Status.SUBMITTED_ON_TIME
    assert row.files[0].path == f"{FOLDER}/Phụ lục/bang-so-lieu.xlsx"


def test_a_sibling_folder_sharing_the_name_prefix_is_not_the_obligation_folder():
    reg = register([monthly()], [upload(f"{FOLDER} (bổ sung)/bao-cao.pdf", datetime(2022, 2, 25, tzinfo=VN))])
    assert only_row(reg).status == Status.OVERDUE
    assert [f.path for f in reg.unassigned] == [f"{FOLDER} (bổ sung)/bao-cao.pdf"]


def test_names_match_whether_the_client_sent_nfc_or_nfd():
    # macOS clients upload decomposed names; the plan's folder names are composed.
    nfd_path = unicodedata.normalize("NFD", f"{FOLDER}/Báo cáo tháng 2.pdf")
    assert nfd_path != unicodedata.normalize("NFC", nfd_path)
    row = only_row(register([monthly()], [upload(nfd_path, datetime(2022, 2, 25, tzinfo=VN))]))
    assert row.status == Status.SUBMITTED_ON_TIME
    assert row.files[0].name == unicodedata.normalize("NFC", "Báo cáo tháng 2.pdf")
    nfd_folder = monthly(folder=unicodedata.normalize("NFD", FOLDER))
    row = only_row(register([nfd_folder], [upload(f"{FOLDER}/a.pdf", datetime(2022, 2, 25, tzinfo=VN))]))
    assert row.status == Status.SUBMITTED_ON_TIME


def test_partial_temporary_and_empty_files_are_ignored_with_a_reason():
    t = datetime(2022, 2, 25, tzinfo=VN)
    junk = [f"{FOLDER}/bao-cao.pdf.ocTransferId1234.part", f"{FOLDER}/~$bao-cao.docx",
            f"{FOLDER}/.~lock.bao-cao.docx#", f"{FOLDER}/.DS_Store", f"{FOLDER}/Thumbs.db", f"{FOLDER}/desktop.ini"]
    files = [upload(p, t) for p in junk] + [upload(f"{FOLDER}/trong.pdf", t, size=0)]
    reg = register([monthly()], files)
    assert only_row(reg).status == Status.OVERDUE
    assert sorted(i.path for i in reg.ignored) == sorted(junk + [f"{FOLDER}/trong.pdf"])
    reasons = {i.path.rsplit("/", 1)[-1]: i.reason for i in reg.ignored}
    assert ".part" in reasons["bao-cao.pdf.ocTransferId1234.part"]
    assert "rỗng" in reasons["trong.pdf"]
    assert reg.unassigned == []


def test_files_beside_obligation_folders_are_kept_as_unassigned_with_the_unit_guessed():
    t = datetime(2022, 2, 25, tzinfo=VN)
    files = [upload("Chi bộ A/bao-cao-chung.pdf", t),                      # directly in the unit folder
             upload("Chi bộ A/03 – Xây dựng kế hoạch/ke-hoach.docx", t),   # in the task folder
             upload("Chi bộ B/tai-lieu.pdf", t),                             # unit known only from unit_folders
             upload("Tài liệu chung/huong-dan.pdf", t),                      # an unknown top-level folder
             upload("ghi-chu.txt", t),                                       # at the root
             upload("Sổ theo dõi/register.json", t)]                         # the register's own folder
    files.append(upload("Báo cáo/Sổ theo dõi/register.csv", t))                # a nested ignored folder
    reg = register([monthly()], files, unit_folders={"cb-b": "Chi bộ B"},
                   ignored_dirs={"Sổ theo dõi", "Báo cáo/Sổ theo dõi/"})
    assert {f.path: f.unit for f in reg.unassigned} == {
        "Chi bộ A/bao-cao-chung.pdf": "cb-a",
        "Chi bộ A/03 – Xây dựng kế hoạch/ke-hoach.docx": "cb-a",
        "Chi bộ B/tai-lieu.pdf": "cb-b",
        "Tài liệu chung/huong-dan.pdf": None,
        "ghi-chu.txt": None,
    }
    assert only_row(reg).status == Status.OVERDUE


# --- history: the register never forgets a submission silently --------------------------------

def test_a_deleted_file_stays_listed_as_removed_and_the_submission_stands(tmp_path):
    first, second = (upload(f"{FOLDER}/bao-cao.pdf", datetime(2022, 2, 20, 10, 0, tzinfo=VN)),
                     upload(f"{FOLDER}/phu-luc.pdf", datetime(2022, 3, 3, 10, 0, tzinfo=VN)))
    loose = upload("Chi bộ A/nham-cho.pdf", datetime(2022, 2, 21, tzinfo=VN))
    before = register([monthly()], [first, second, loose], as_of=date(2022, 3, 5))
    previous = load_register(write_json(before, tmp_path))  # history goes through register.json

    # The unit replaced its report: the first file is gone, a later one stays.
    after = register([monthly()], [second], as_of=date(2022, 3, 10), previous=previous)
    row = only_row(after)
    assert {f.name: f.removed for f in row.files} == {"bao-cao.pdf": True, "phu-luc.pdf": False}
    assert row.submitted_at == datetime(2022, 2, 20, 10, 0, tzinfo=VN)
    assert row.status == Status.SUBMITTED_ON_TIME and not row.removed
    assert [(f.path, f.removed, f.unit) for f in after.unassigned] == [("Chi bộ A/nham-cho.pdf", True, "cb-a")]

    # Then everything disappeared: the row keeps its submission, marked removed.
    emptied = only_row(register([monthly()], [], as_of=date(2022, 3, 20), previous=after))
    assert emptied.removed and emptied.status == Status.SUBMITTED_ON_TIME
    assert emptied.submitted_at == datetime(2022, 2, 20, 10, 0, tzinfo=VN)
    assert all(f.removed for f in emptied.files) and len(emptied.files) == 2
    assert emptied.files[0].size == 1200 and emptied.files[0].href.startswith("/dav/")


def test_a_file_that_comes_back_is_no_longer_marked_removed():
    f = upload(f"{FOLDER}/bao-cao.pdf", datetime(2022, 2, 20, tzinfo=VN))
    gone = register([monthly()], [], previous=register([monthly()], [f]))
    assert only_row(gone).files[0].removed
    back = only_row(register([monthly()], [f], previous=gone))
    assert [x.removed for x in back.files] == [False] and not back.removed


# --- summaries and register.json -----------------------------------------------------------------

def sample_register():
    a2 = monthly()
    a3 = monthly(folder="Chi bộ A/03 – Xây dựng kế hoạch/Tháng 03-2022", due=date(2022, 3, 31), period="2022-03")
    b2 = monthly(unit="cb-b", folder="Chi bộ B/03 – Xây dựng kế hoạch/Tháng 02-2022")
    yearly = Obligation(unit="cb-b", task=0, milestone=0, period="2022", due=date(2022, 3, 15),
                        kind=MilestoneKind.YEARLY, folder="Chi bộ B/00 – Báo cáo hằng năm/Năm 2022")
    files = [upload(f"{FOLDER}/bao-cao.pdf", datetime(2022, 3, 2, 8, 15, tzinfo=VN)),
             upload("Chi bộ B/lac-cho.pdf", None)]
    return register([b2, a3, yearly, a2], files)


def test_counts_list_every_status_and_completions_only_submitted_rows():
    reg = sample_register()
    assert reg.counts() == {Status.SUBMITTED_ON_TIME: 0, Status.SUBMITTED_LATE: 1, Status.OVERDUE: 1,
                            Status.DUE_SOON: 1, Status.NOT_DUE: 1}
    assert reg.completions() == {"cb-a/3/1/2022-02": datetime(2022, 3, 2, 8, 15, tzinfo=VN)}
    assert reg.summary_by_unit()["cb-b"][Status.OVERDUE] == 1
    assert reg.summary_by_unit()["cb-b"][Status.DUE_SOON] == 1
    assert list(reg.summary_by_task()) == [0, 3]
    assert reg.summary_by_task()[3][Status.SUBMITTED_LATE] == 1
    # Rows come in the units' order, then task and period; the yearly report is titled in Vietnamese.
    assert [r.key for r in reg.rows] == ["cb-a/3/1/2022-02", "cb-a/3/1/2022-03", "cb-b/0/0/2022", "cb-b/3/1/2022-02"]
    assert reg.rows[2].task_title == "Báo cáo hằng năm" and reg.rows[0].task_title == "Xây dựng kế hoạch"


def test_register_json_has_the_published_shape_and_round_trips():
    reg = sample_register()
    data = json.loads(json.dumps(register_to_json(reg), ensure_ascii=False))
    assert data["as_of"] == "2022-03-10" and data["generated_at"] == "2022-03-10T08:00:00+07:00"
    row = data["rows"][0]
    assert {"unit", "unit_name", "task", "milestone", "period", "due", "folder", "status", "submitted_at",
            "files"} <= set(row)
    assert (row["unit"], row["task"], row["period"], row["due"], row["status"]) == (
        "cb-a", 3, "2022-02", "2022-02-28", "submitted_late")
    assert row["status_label"] == "Hoàn thành quá hạn"
    assert row["submitted_at"] == "2022-03-02T08:15:00+07:00"
    assert {"name", "size", "uploaded_at", "href"} <= set(row["files"][0])
    assert data["unassigned"][0]["unit"] == "cb-b" and data["unassigned"][0]["uploaded_at"] is None
    assert register_from_json(data) == reg


def test_period_labels_read_as_vietnamese():
    assert [period_label_vi(p) for p in ("2022", "2022-H1", "2022-Q3", "2022-02", "2022-02-28", "ongoing")] == [
        "Năm 2022", "6 tháng đầu năm 2022", "Quý III/2022", "Tháng 02/2022", "28/02/2022", "Thường xuyên"]


# --- scale --------------------------------------------------------------------------------

def test_300_units_by_60_obligations_each_file_lands_in_its_row():
    """Correctness at scale; the speed is measured by scripts/bench.py, not by a timed test."""
    units = [Unit(id=f"u{i}", name=f"Chi bộ {i}", group=f"u{i}") for i in range(300)]
    obligations, files = [], []
    for u in units:
        for k in range(60):
            due = date(2022, 1, 1) + timedelta(days=6 * k)
            folder = f"{u.name}/{k % 12:02d} – Nhiệm vụ {k % 12}/Kỳ {k}"
            obligations.append(Obligation(unit=u.id, task=k % 12, milestone=1, period=due.isoformat(), due=due,
                                          kind=MilestoneKind.ONCE, folder=folder))
            if k % 3:
                for n in range(3):
                    files.append(upload(f"{folder}/tep-{n}.pdf", datetime.combine(due, datetime.min.time(), TZ)))
    reg = compute_register(obligations, files, units, PLAN, date(2022, 12, 31), NOW)
    assert len(reg.rows) == 18_000 and sum(len(r.files) for r in reg.rows) == len(files)
    assert reg.unassigned == []


def test_a_task_folder_renamed_by_a_new_version_of_the_plan_still_counts_for_its_task():
    ob = monthly(folder="Chi bộ A/03 – Xây dựng kế hoạch triển khai/Tháng 02-2022")
    old_name = "Chi bộ A/03 – Chỉ đạo các đảng ủy xây dựng kế hoạch/Tháng 02-2022/ke-hoach.pdf"
    reg = register([ob], [upload(old_name, datetime(2022, 2, 20, 9, 0, tzinfo=TZ))])
    assert only_row(reg).status is Status.SUBMITTED_ON_TIME and reg.unassigned == []
    other_task = "Chi bộ A/04 – Tập huấn/Tháng 02-2022/x.pdf"
    reg = register([ob], [upload(other_task, datetime(2022, 2, 20, 9, 0, tzinfo=TZ))])
    assert only_row(reg).status is Status.OVERDUE and [u.path for u in reg.unassigned] == [other_task]
