"""What staff read: task titles in events, to-dos, folder names and the register; event descriptions; period labels.

Vietnamese words are often two or three syllables ("triển khai", "sinh hoạt"), so a title cut at any space may
stop in the middle of one ("…xây dựng Kế hoạch triển"). Titles are cut where a phrase ends, marked with "…",
and the full title is in the description.
"""
from __future__ import annotations

import csv
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connector.dav.webdav import Entry
from connector.models import Task, Unit
from connector.plan.mapping import load_plan
from connector.register import compute_register, write_csv
from connector.register.status import period_label_vi
from connector.render import names
from connector.render.ical import RenderOptions, build_desired
from connector.schedule import expand
from connector.sync.folders import adopt_existing_folders, desired_folders
from plan_samples import sample_units, seed_like_plan

ROOT = Path(__file__).resolve().parents[1]
VN = timezone(timedelta(hours=7))
# Words of two syllables the seed plan uses: a title never ends between their syllables.
WORDS = {"triển khai", "sinh hoạt", "thành viên", "tập thể", "chức năng", "nhiệm vụ", "cán bộ", "đảng viên",
         "kiểm tra", "giám sát", "tuyên truyền", "xây dựng", "thực hiện", "hoạt động", "lãnh đạo", "chỉ đạo",
         "tổ chức", "công tác", "quy chế", "quy định", "tham nhũng", "tiêu cực", "chất lượng", "hiệu quả",
         "trách nhiệm", "đứng đầu", "văn hóa", "chính trị", "kiểm điểm", "khắc phục", "nhận thức", "phát huy",
         "đóng góp", "ý kiến", "hệ thống", "chỉnh đốn", "báo cáo", "tín nhiệm", "đoàn thể", "cơ sở", "kế hoạch",
         "kết luận", "nhiệm kỳ", "hình thức", "trực tuyến", "cốt cán", "phê bình", "nghiêm túc", "thường vụ",
         "chấp hành", "trung ương", "tỉnh ủy", "phối hợp", "chuyên môn", "đoàn kết", "sơ kết", "tổng kết",
         "ban hành", "sửa đổi", "bổ sung", "làm việc", "tăng cường", "hướng dẫn", "đẩy mạnh", "nâng cao", "đề cao"}


@pytest.fixture(scope="module")
def seed():
    """The seed plan as `import` wrote it (its titles are the importer's ~60 characters) and eight units."""
    return load_plan(mapping=ROOT / "mappings/plans/ke-hoach-21-kl-tw.toml"), sample_units(8)


def first_clause(text: str) -> str:
    """The task's full title: its text up to the first ";", ":", "(" or the end of the first sentence."""
    return re.split(r"\s*(?:[(;:\n]|\.\s|\.$)", " ".join(text.split()), maxsplit=1)[0].strip(" ,.;:–-")


def assert_cut_between_phrases(shown: str, task: Task, where: str, *, path: bool = False) -> None:
    full = first_clause(task.text).replace("/", "-") if path else first_clause(task.text)
    if not shown.endswith("…"):
        assert shown == full, f"{where}: {shown!r} is neither the full title nor marked as cut"
        return
    head = shown.removesuffix("…")
    assert full.startswith(head) and len(head) < len(full), f"{where}: {shown!r} is not the start of {full!r}"
    last = head.split()[-1].casefold()
    following = full[len(head):].split()
    assert following and f"{last} {following[0].casefold().strip(',;')}" not in WORDS, (
        f"{where}: {shown!r} cuts the word «{last} {following[0]}»")


def summary(item) -> str:
    return re.search(r"^SUMMARY:([^\r\n]*)", re.sub(r"\r\n[ \t]", "", item.ics), re.M).group(1).replace("\\,", ",")


def description(item) -> str:
    text = re.search(r"^DESCRIPTION:([^\r\n]*)", re.sub(r"\r\n[ \t]", "", item.ics), re.M).group(1)
    return text.replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";")


# --- titles ----------------------------------------------------------------------------------------

def test_titles_staff_read_end_between_phrases_never_inside_a_word(seed):
    plan, units = seed
    obligations = expand(plan, units)
    _, items = build_desired(plan, units, obligations)
    tasks = {t.number: t for t in plan.tasks}
    for item in items:
        head = re.match(r"^(?:Hạn NV (\d+)(?: \(mốc \d\))?: |NV (\d+) – )(.*?)(?: \([^()]*\))?$", summary(item))
        if head and not head.group(3).startswith("mốc "):  # events, overview to-dos and the units' to-dos
            task = tasks[int(head.group(1) or head.group(2))]
            assert_cut_between_phrases(head.group(3), task, f"{item.uid} summary")
    for ob in obligations:
        if ob.task:
            folder = ob.folder.split("/")[1]
            assert len(folder) <= names.TASK_FOLDER_MAX
            assert_cut_between_phrases(folder.split(" – ", 1)[1], tasks[ob.task], f"folder {ob.folder}", path=True)
    reg = compute_register(obligations, [], units, plan, date(2022, 3, 25), datetime(2022, 3, 25, tzinfo=VN))
    for row in reg.rows:
        if row.task:
            assert_cut_between_phrases(row.task_title, tasks[row.task], f"register row {row.key}")


def test_the_two_titles_the_committee_saw_cut_now_read_whole(seed):
    plan, units = seed
    _, items = build_desired(plan, units, expand(plan, units))
    summaries = {i.uid: summary(i) for i in items}
    assert summaries["pc-21-kl-tw-ev-t03-m1"] == "Hạn NV 3: Chỉ đạo các đảng ủy, chi bộ cơ sở xây dựng Kế hoạch triển khai…"
    assert not any(s.endswith(("triển", "triển…", "trong sinh", "trong sinh…")) for s in summaries.values())
    folders = {ob.task: ob.folder.split("/")[1] for ob in expand(plan, units) if ob.task}
    assert folders[3] == "03 – Chỉ đạo các đảng ủy, chi bộ cơ sở xây dựng Kế hoạch triển khai…"
    assert folders[8] == "08 – Thực hiện nghiêm việc tự phê bình và phê bình…"


def test_shorten_prefers_a_phrase_boundary_and_marks_the_cut():
    text = "Tăng cường chỉ đạo, hướng dẫn hoạt động của ủy ban kiểm tra các cấp, chú trọng công tác tự kiểm tra"
    assert names.shorten(text, 200) == text
    assert names.shorten(text, 70) == "Tăng cường chỉ đạo, hướng dẫn hoạt động của ủy ban kiểm tra các cấp…"
    assert names.shorten(text, 60) == "Tăng cường chỉ đạo, hướng dẫn hoạt động…"  # "kiểm tra các cấp" would not fit
    assert names.shorten(text, 30) == "Tăng cường chỉ đạo…"
    # Never inside "gắn với" nor between "gắn với" and the document it names.
    text = "Thực hiện đồng bộ Kết luận số 21-KL/TW gắn với Quy định số 890-QĐ/TU, ngày 05/3/2019"
    assert names.shorten(text, 62) == "Thực hiện đồng bộ Kết luận số 21-KL/TW…"
    # An overridden title that is not the start of the text is kept as the coordinator wrote it.
    task = Task(number=3, title="Xây dựng kế hoạch thực hiện", text="Chỉ đạo các chi bộ xây dựng kế hoạch; báo cáo.")
    assert names.full_title(task) == "Xây dựng kế hoạch thực hiện" and names.short_title(task, 80) == task.title


def test_descriptions_give_the_full_title(seed, tmp_path):
    plan, units = seed
    obligations = expand(plan, units)
    _, items = build_desired(plan, units, obligations)
    full = first_clause(next(t for t in plan.tasks if t.number == 3).text)
    assert len(full) > 120
    by_uid = {i.uid: i for i in items}
    assert f"Nhiệm vụ 3: {full}" in description(by_uid["pc-21-kl-tw-ev-t03-m1"])
    todo = next(i for uid, i in by_uid.items() if "-td-" in uid and "-t03-" in uid)
    assert f"Nhiệm vụ 3: {full}" in description(todo)
    reg = compute_register(obligations, [], units, plan, date(2022, 3, 25), datetime(2022, 3, 25, tzinfo=VN))
    assert reg.tasks[3] == full
    with write_csv(reg, tmp_path).open(encoding="utf-8-sig", newline="") as fh:
        assert {r["Tên nhiệm vụ"] for r in csv.DictReader(fh) if r["Nhiệm vụ"] == "3"} == {full}


# --- folder names stay -----------------------------------------------------------------------------

def entry(path: str, is_dir: bool = True) -> Entry:
    return Entry(href=f"/dav/{path}", path=path, is_dir=is_dir, size=None if is_dir else 1200, etag=None,
                 last_modified=None, upload_time=None, file_id=None, owner_id=None, permissions=None)


def test_folders_named_by_an_earlier_release_are_kept_and_names_do_not_depend_on_the_rest(seed):
    plan, units = seed
    root = "Báo cáo KH21"
    earlier = "03 – Chỉ đạo các đảng ủy, chi bộ cơ sở xây dựng Kế hoạch triển"  # the importer's 60 characters
    listing = [entry(f"{root}/Chi bộ A"), entry(f"{root}/Chi bộ A/{earlier}"),
               entry(f"{root}/Chi bộ A/{earlier}/Tháng 02-2022"),
               entry(f"{root}/Chi bộ A/{earlier}/Tháng 02-2022/ke-hoach.pdf", is_dir=False)]
    obligations = adopt_existing_folders(expand(plan, units), listing, root)
    task3 = [ob.folder for ob in obligations if ob.task == 3 and ob.unit == "cb-a"]
    assert task3 == [f"Chi bộ A/{earlier}/Tháng 02-2022"]  # the report filed there stays where it is
    made = desired_folders(root, obligations)
    assert not [p for p in made if p.startswith(f"{root}/Chi bộ A/03 – ") and not p.startswith(f"{root}/Chi bộ A/{earlier}")]
    # Another unit gets today's name; names depend on the task alone, not on other units or tasks.
    fresh = {ob.folder.split("/")[1] for ob in expand(plan, units) if ob.task == 3}
    assert fresh == {names.task_folder(next(t for t in plan.tasks if t.number == 3))}
    fewer = plan.model_copy(update={"tasks": [t for t in plan.tasks if t.number in (3, 8)]})
    assert ({ob.folder for ob in expand(fewer, units[:1]) if ob.task == 3}
            == {ob.folder for ob in expand(plan, units) if ob.task == 3 and ob.unit == units[0].id})


# --- one place to upload, named plan, task and milestone -------------------------------------------

def nextcloud_links(path: str) -> str | None:
    """As on Nextcloud: every folder has a link by its file id, but the plan's root opens nothing for units."""
    return f"https://nc.example/index.php/f/{abs(hash(path)) % 10**6}" if path else None


@pytest.mark.parametrize("count", [5, 50])
def test_an_event_names_plan_task_and_milestone_and_links_one_place(count):
    plan, units = seed_like_plan(), sample_units(count)
    _, items = build_desired(plan, units, expand(plan, units), RenderOptions(folder_url=nextcloud_links))
    events = {i.uid: description(i) for i in items if "-ev-" in i.uid}
    text = events["pc-21-kl-tw-ev-t07-m2"]
    assert text.startswith(f"Kế hoạch: {plan.title}\nNhiệm vụ 7: Xây dựng Kế hoạch thực hiện Kết luận")
    assert "Mốc 2/2: thực hiện hằng năm từ năm 2022" in text
    for uid, text in events.items():
        assert "https://" not in text, f"{uid} links a unit's folder in a calendar every unit shares"
        assert "thư mục của đơn vị trong ứng dụng Tệp" in text
        assert not any(u.name + ":" in text for u in units)
    # With 50 units the description is as long as with 5 (the count, not the names).
    assert len(events["pc-21-kl-tw-ev-t07-m2"]) < 2000


def test_where_the_plans_root_opens_for_everyone_an_event_links_it_once_and_one_unit_its_own_folder():
    plan, units = seed_like_plan(), sample_units(5)
    plan.tasks[1].milestones[0].units = ["cb-a"]  # task 2: only Chi bộ A owes it
    _, items = build_desired(plan, units, expand(plan, units),
                             RenderOptions(folder_url=lambda p: f"https://dav.example/files/{p}"))
    for item in items:
        if "-ev-" in item.uid:
            assert len(re.findall(r"https://", description(item))) == 1, item.uid
    text = description(next(i for i in items if i.uid == "pc-21-kl-tw-ev-t02-m1"))
    assert re.search(r"Thư mục nộp báo cáo của Chi bộ A: https://dav\.example/files/Chi bộ A/02 – [^\n]+/Tháng 03-2022", text)
    other = description(next(i for i in items if i.uid == "pc-21-kl-tw-ev-t07-m1"))
    assert "Thư mục nộp báo cáo: https://dav.example/files/\n" in other + "\n"


# --- period labels agree -----------------------------------------------------------------------------

def test_period_labels_agree_in_folders_register_and_to_dos(seed, tmp_path):
    plan, units = seed
    obligations = expand(plan, units)
    _, items = build_desired(plan, units, obligations)
    todos = {i.uid: summary(i) for i in items if "-td-" in i.uid}
    for ob in obligations:
        label = names.period_label(ob.period, ob.due)
        assert re.sub(r" \(mốc \d+\)$", "", ob.folder.rsplit("/", 1)[1]) == label.replace("/", "-"), ob.key
        assert todos[names.todo_uid(plan, ob)].endswith(f"({label})"), ob.key
    reg = compute_register(obligations, [], units, plan, date(2022, 3, 25), datetime(2022, 3, 25, tzinfo=VN))
    with write_csv(reg, tmp_path).open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row, csv_row in zip(reg.rows, rows):
        assert csv_row["Kỳ"].replace("/", "-") == row.folder.rsplit("/", 1)[1].split(" (mốc")[0], row.key
    # The committee's example: task 1's first milestone, due 31/01/2022, in folder "Tháng 01-2022".
    jan = next(r for r in rows if r["Nhiệm vụ"] == "1" and r["Hạn (dd/mm/yyyy)"] == "31/01/2022")
    assert (jan["Kỳ"], jan["Thư mục"].rsplit("/", 1)[1]) == ("Tháng 01/2022", "Tháng 01-2022")
    assert period_label_vi("2022-02-15") == "Hạn 15/02/2022" and names.period_folder("once", "2022-02-15",
                                                                                      date(2022, 2, 15)) == "Hạn 15-02-2022"


def test_unit_folder_names_are_untouched(seed):
    _, units = seed
    assert names.unit_folder(Unit(id="x", name="Chi bộ Sở Tư pháp", group="g")) == "Chi bộ Sở Tư pháp"
    assert [names.unit_folder(u) for u in units] == [u.name for u in units]
