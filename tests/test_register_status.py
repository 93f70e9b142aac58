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


def test_ongoing_obligations_are_in_progress_with_or_without_files():
    # With no yearly report to judge them by (see test_register_page for the plan's horizon).
    folder = "Chi bộ A/05 – Tuyên truyền (thường xuyên)"
    ongoing = monthly(folder=folder, due=None, period="ongoing")
    assert only_row(register([ongoing], [])).status == Status.IN_PROGRESS
    filed = only_row(register([ongoing], [upload(f"{folder}/tin-bai.docx", datetime(2023, 1, 1, tzinfo=VN))],
                              as_of=date(2023, 1, 2)))
    assert filed.status == Status.IN_PROGRESS and [f.name for f in filed.files] == ["tin-bai.docx"]


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
        "Chi bộ B/tai-lieu.pdf": "cb-b",
        "Tài liệu chung/huong-dan.pdf": None,
        "ghi-chu.txt": None,
    }
    reasons = {f.path: f.reason for f in reg.unassigned}
    assert "số nhiệm vụ" in reasons["Chi bộ A/bao-cao-chung.pdf"]
    assert reasons["ghi-chu.txt"] == "Nằm ngoài thư mục của các đơn vị"
    # A file in the task folder (not in a period folder) counts for that task's open period.
    row = only_row(reg)
    assert row.status == Status.SUBMITTED_ON_TIME
    assert [(f.name, f.credited_by) for f in row.files] == [("ke-hoach.docx", "task_folder")]


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
                            Status.DUE_SOON: 1, Status.NOT_DUE: 1, Status.IN_PROGRESS: 0}
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
    periods = ("2022", "2022-H1", "2022-Q3", "2022-02", "2022-02-28", "2022-02-15", "ongoing")
    assert [period_label_vi(p) for p in periods] == [
        "Năm 2022", "6 tháng đầu năm 2022", "Quý III/2022", "Tháng 02/2022", "Tháng 02/2022", "Hạn 15/02/2022",
        "Thường xuyên"]  # a one-off due on a month's last day reads as its folder does: "Tháng 02-2022"


# --- scale --------------------------------------------------------------------------------

def test_300_units_by_60_obligations_each_file_lands_in_its_row():
    """Correctness at scale; the speed is measured by scripts/bench.py, not by a timed test."""
    units = [Unit(id=f"u{i}", name=f"Chi bộ {i}", group=f"u{i}") for i in range(300)]
    obligations, files = [], []
    for u in units:
        for k in range(60):
            due = date(2022, 1, 1) + timedelta(days=6 * k)
            folder = f"{u.name}/{k % 12:02d} – Nhiệm vụ {k % 12}/Kỳ {k}"
            obligations.append(Obligation(unit=u.id, task=k % 12, milestone=k // 12 + 1, period=due.isoformat(), due=due,
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


# --- reports filed through a unit's upload-only link: credited by the task number in the name ----------

def yearly(task: int, year: int, unit: str = "cb-a") -> Obligation:
    return Obligation(unit=unit, task=task, milestone=1, period=str(year), due=date(year, 12, 31),
                      kind=MilestoneKind.YEARLY, folder=f"Chi bộ A/{task:02d} – Việc {task}/Năm {year}")


YEARS = [yearly(8, 2022), yearly(8, 2023), yearly(8, 2024), yearly(3, 2022)]
PLAN8 = Plan(title="Kế hoạch", code="kh", tasks=[Task(number=3, title="Ba", text="…"), Task(number=8, title="Tám", text="…")])


def drop(name: str, at: datetime, unit_folder: str = "Chi bộ A") -> RemoteFile:
    return upload(f"{unit_folder}/{name}", at)


def credited(files, as_of=date(2024, 12, 31), obligations=YEARS, **kw):
    reg = compute_register(obligations, files, UNITS, PLAN8, as_of, NOW, **kw)
    return {r.key: (r.status, [f.name for f in r.files]) for r in reg.rows}, reg


def test_a_report_dropped_in_the_unit_folder_counts_for_the_task_its_name_starts_with():
    rows, reg = credited([drop("NV03 - Báo cáo kế hoạch.docx", datetime(2022, 6, 1, tzinfo=VN))])
    assert rows["cb-a/3/1/2022"] == (Status.SUBMITTED_ON_TIME, ["NV03 - Báo cáo kế hoạch.docx"])
    row = next(r for r in reg.rows if r.task == 3)
    assert reg.unassigned == [] and row.files[0].credited_by == "name"


def test_the_task_number_may_be_written_nv3_nv_03_or_nhiem_vu_3():
    from connector.register.status import task_in_name

    for name in ("NV3.pdf", "nv 03 bao cao.pdf", "NV-3_BC.docx", "Nhiệm vụ 3 - báo cáo.pdf", "BC_NV03.pdf"):
        assert task_in_name(name)[0] == {3}, name
    assert task_in_name("BCHN - Báo cáo năm 2024.docx") == ({0}, {"2024"})
    assert task_in_name("Báo cáo hằng năm 2023.pdf")[0] == {0}
    assert task_in_name("NVTH3.pdf")[0] == set() and task_in_name("KHNV.pdf")[0] == set()


def test_a_late_report_counts_for_the_period_still_owed_and_the_next_one_for_the_next_period():
    rows, _ = credited([drop("NV08 - BC.docx", datetime(2023, 1, 10, tzinfo=VN)),     # 2022's, late
                        drop("NV08 - BC.docx (2).docx", datetime(2023, 11, 20, tzinfo=VN))])  # 2023's, on time
    assert rows["cb-a/8/1/2022"][0] == Status.SUBMITTED_LATE
    assert rows["cb-a/8/1/2023"][0] == Status.SUBMITTED_ON_TIME
    assert rows["cb-a/8/1/2024"] == (Status.DUE_SOON, [])


def test_an_annex_the_same_day_or_a_correction_before_the_deadline_joins_the_same_report():
    rows, _ = credited([drop("NV08 - Báo cáo.docx", datetime(2022, 12, 1, 9, tzinfo=VN)),
                        drop("NV08 - Phụ lục.xlsx", datetime(2022, 12, 1, 9, 5, tzinfo=VN)),
                        drop("NV08 - Báo cáo (sửa).docx", datetime(2022, 12, 5, tzinfo=VN))])
    assert rows["cb-a/8/1/2022"] == (Status.SUBMITTED_ON_TIME,
                                     ["NV08 - Báo cáo (sửa).docx", "NV08 - Báo cáo.docx", "NV08 - Phụ lục.xlsx"])
    assert rows["cb-a/8/1/2023"][1] == []


def test_a_year_in_the_name_picks_that_years_report():
    rows, _ = credited([drop("NV08 - 2023 - Báo cáo.docx", datetime(2024, 2, 1, tzinfo=VN))])
    assert rows["cb-a/8/1/2023"][0] == Status.SUBMITTED_LATE and rows["cb-a/8/1/2022"][1] == []


def test_a_report_filed_in_its_folder_closes_that_period_for_dropped_files():
    rows, _ = credited([upload("Chi bộ A/08 – Việc 8/Năm 2022/bc.pdf", datetime(2022, 11, 1, tzinfo=VN)),
                        drop("NV08.pdf", datetime(2023, 3, 1, tzinfo=VN))])
    assert rows["cb-a/8/1/2022"][1] == ["bc.pdf"] and rows["cb-a/8/1/2023"][1] == ["NV08.pdf"]


def test_what_cannot_be_placed_stays_unassigned_with_the_reason():
    _, reg = credited([drop("bao-cao.pdf", datetime(2022, 6, 1, tzinfo=VN)),
                       drop("NV03 và NV08.pdf", datetime(2022, 6, 1, tzinfo=VN)),
                       drop("NV05 - BC.pdf", datetime(2022, 6, 1, tzinfo=VN)),
                       upload("Chi bộ A/Khác/NV03.pdf", datetime(2022, 6, 1, tzinfo=VN))])
    reasons = {f.name: f.reason for f in reg.unassigned}
    assert "không có số nhiệm vụ" in reasons["bao-cao.pdf"]
    assert reasons["NV03 và NV08.pdf"] == "Tên tệp nêu nhiều nhiệm vụ (NV03, NV08)"
    assert reasons["NV05 - BC.pdf"] == "Đơn vị không có nhiệm vụ 5 trong kế hoạch"
    assert reasons["NV03.pdf"] == "Không nằm trong thư mục nộp của nhiệm vụ nào"
    assert all(f.unit == "cb-a" for f in reg.unassigned)


def test_crediting_does_not_change_with_later_uploads_or_an_earlier_as_of():
    first = drop("NV08 - BC.docx", datetime(2022, 5, 1, tzinfo=VN))
    later = drop("NV08 - BC năm sau.docx", datetime(2023, 5, 1, tzinfo=VN))
    early, _ = credited([first, later], as_of=date(2022, 12, 31))
    full, _ = credited([first, later])
    assert early["cb-a/8/1/2022"] == full["cb-a/8/1/2022"] == (Status.SUBMITTED_ON_TIME, ["NV08 - BC.docx"])
    assert early["cb-a/8/1/2023"][1] == [] and full["cb-a/8/1/2023"][1] == ["NV08 - BC năm sau.docx"]


def test_a_dropped_report_deleted_later_stays_with_the_obligation_it_was_credited_to(tmp_path):
    f = drop("NV08 - BC.docx", datetime(2022, 5, 1, tzinfo=VN))
    _, before = credited([f])
    previous = load_register(write_json(before, tmp_path))
    rows, after = credited([], previous=previous)
    assert rows["cb-a/8/1/2022"] == (Status.SUBMITTED_ON_TIME, ["NV08 - BC.docx"])
    assert after.unassigned == []


def test_the_link_note_states_the_rule_once():
    from connector.register.status import DROP_RULE_VI, drop_note

    note = drop_note("Nộp báo cáo thực hiện kế hoạch vào đây")
    assert note.startswith("Nộp báo cáo thực hiện kế hoạch vào đây. ") and note.endswith(DROP_RULE_VI)
    assert drop_note(note) == note and drop_note("") == DROP_RULE_VI
    assert "NV03" in DROP_RULE_VI and "BCHN" in DROP_RULE_VI


# --- a folder deleted with the reports in it ---------------------------------------------------------

def test_reports_lost_with_a_deleted_folder_say_so_and_where_they_are(tmp_path):
    f = upload(f"{FOLDER}/bao-cao.pdf", datetime(2022, 2, 20, tzinfo=VN))
    task_folder = "Chi bộ A/03 – Xây dựng kế hoạch"
    listed = {"Chi bộ A": "10", task_folder: "11", FOLDER: "12", "Chi bộ B": "13"}
    before = register([monthly()], [f], folders=listed)
    assert before.folder_ids == {"Chi bộ A": "10", task_folder: "11", FOLDER: "12"}  # those holding reports
    previous = load_register(write_json(before, tmp_path))

    # The unit folder went to the trash bin (the listing lacks it) ...
    gone = register([monthly()], [], previous=previous, folders={"Chi bộ B": "13"}, trash_owner="plan-bot")
    lost = only_row(gone).files[0]
    assert lost.removed and lost.note == ("Thư mục «Chi bộ A» đã bị xoá cùng tệp này; tệp nằm trong thùng rác "
                                          "(Tệp đã xoá) của tài khoản «plan-bot»")
    assert only_row(gone).status == Status.SUBMITTED_ON_TIME  # the submission stands
    # ... and the note stays once the next sync has made the folders again (new ids).
    again = register([monthly()], [], previous=gone, folders={"Chi bộ A": "20", task_folder: "21", FOLDER: "22"})
    assert only_row(again).files[0].note == lost.note

    # Made anew before any collect saw it missing: the new ids tell which folder went.
    unit_anew = register([monthly()], [], previous=previous, folders={"Chi bộ A": "20", task_folder: "21", FOLDER: "22"})
    assert "«Chi bộ A» đã bị xoá" in only_row(unit_anew).files[0].note
    period_anew = register([monthly()], [], previous=previous, folders={"Chi bộ A": "10", task_folder: "11", FOLDER: "22"})
    assert f"«{FOLDER}» đã bị xoá" in only_row(period_anew).files[0].note
    assert "thùng rác" not in only_row(period_anew).files[0].note  # other servers: no trash bin to name

    # A file deleted on its own, its folder still there: no word of a trash bin.
    alone = register([monthly()], [], previous=previous, folders=listed, trash_owner="plan-bot")
    assert only_row(alone).files[0].note == "Tệp đã bị xoá hoặc chuyển khỏi thư mục"
