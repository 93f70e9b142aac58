"""The register as people open it: register.json, .csv in Excel, .xlsx, and register.html in a browser."""
from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest

from connector.models import STATUS_LABELS_VI, MilestoneKind, Obligation, Plan, RemoteFile, Status, Task, Unit
from connector.register import Register, compute_register, load_register, write_all, write_csv, write_html
from connector.register.export import STATUS_FILLS
from connector.register.status import STATUS_ORDER, period_label_vi

VN = timezone(timedelta(hours=7))

PLAN = Plan(title="Kế hoạch thực hiện Kết luận số 21-KL/TW của Ban Chấp hành Trung ương", code="21-kl-tw", tasks=[
    Task(number=1, title="Quán triệt, tuyên truyền Kết luận 21-KL/TW", text="…"),
    Task(number=2, title="Rà soát, bổ sung quy chế làm việc", text="…"),
    Task(number=3, title="Xây dựng kế hoạch kiểm tra, giám sát hằng tháng", text="…"),
    Task(number=4, title="Nêu gương, tự phê bình và phê bình (thường xuyên)", text="…"),
])
UNITS = [
    Unit(id="cb-vp", name="Chi bộ Văn phòng", group="cb-vp"),
    Unit(id="cb-tg", name="Chi bộ Ban Tuyên giáo", group="cb-tg"),
    Unit(id="db-dl", name="Đảng bộ Công ty Điện lực", group="db-dl"),
    Unit(id="cb-nh", name="Chi bộ Ngân hàng Nhà nước", group="cb-nh"),
]
AS_OF = date(2022, 3, 10)


def obligations_for(unit: Unit) -> list[Obligation]:
    """Five obligations each: two already due, one due within days, one later, the yearly report."""
    root = unit.name
    spec = [
        (1, 1, "2022-02-28", date(2022, 2, 28), MilestoneKind.ONCE, "01 – Quán triệt/Hạn 28-02-2022"),
        (3, 1, "2022-02", date(2022, 2, 28), MilestoneKind.MONTHLY, "03 – Kiểm tra, giám sát/Tháng 02-2022"),
        (3, 1, "2022-03", date(2022, 3, 31), MilestoneKind.MONTHLY, "03 – Kiểm tra, giám sát/Tháng 03-2022"),
        (0, 0, "2022", date(2022, 12, 15), MilestoneKind.YEARLY, "00 – Báo cáo hằng năm/Năm 2022"),
    ]
    if unit.id == "cb-nh":  # the bank's branch owes no by-law review, but the ongoing task instead
        spec.append((4, 1, "ongoing", None, MilestoneKind.ONGOING, "04 – Nêu gương"))
    else:
        spec.append((2, 1, "2022-03-15", date(2022, 3, 15), MilestoneKind.ONCE, "02 – Rà soát quy chế/Hạn 15-03-2022"))
    return [Obligation(unit=unit.id, task=t, milestone=m, period=p, due=d, kind=k, folder=f"{root}/{sub}")
            for t, m, p, d, k, sub in spec]


def filed(path: str, day: int, month: int = 2, hour: int = 10) -> RemoteFile:
    return RemoteFile(path=path, name=path.rsplit("/", 1)[-1], size=48_213,
                      uploaded_at=datetime(2022, month, day, hour, 0, tzinfo=VN),
                      href="/remote.php/dav/files/vanphong/" + quote(path))


def sample_register() -> Register:
    obligations = [ob for u in UNITS for ob in obligations_for(u)]
    files = [
        filed("Chi bộ Văn phòng/01 – Quán triệt/Hạn 28-02-2022/bao-cao-quan-triet.pdf", 25),
        filed("Chi bộ Văn phòng/03 – Kiểm tra, giám sát/Tháng 02-2022/kiem-tra-t2.docx", 2, month=3),
        filed("Chi bộ Văn phòng/02 – Rà soát quy chế/Hạn 15-03-2022/quy-che.pdf", 8, month=3),
        filed("Đảng bộ Công ty Điện lực/01 – Quán triệt/Hạn 28-02-2022/Phụ lục/danh-sach.xlsx", 1, month=3),
        filed("Đảng bộ Công ty Điện lực/03 – Kiểm tra, giám sát/Tháng 02-2022/bao-cao.pdf", 27),
        filed("Chi bộ Ngân hàng Nhà nước/04 – Nêu gương/kiem-diem.docx", 14),
        filed("Chi bộ Ngân hàng Nhà nước/01 – Quán triệt/Hạn 28-02-2022/bao-cao.pdf", 28, hour=23),
        filed("Chi bộ Ban Tuyên giáo/bao-cao-nham-cho.pdf", 3, month=3),
        filed("Chi bộ Ban Tuyên giáo/01 – Quán triệt/Hạn 28-02-2022/~$bao-cao.docx", 3, month=3),
        filed("Sổ theo dõi/register.html", 9, month=3),
    ]
    return compute_register(obligations, files, UNITS, PLAN, AS_OF, datetime(2022, 3, 10, 7, 30, tzinfo=VN),
                            ignored_dirs={"Sổ theo dõi"})


@pytest.fixture(scope="module")
def reg() -> Register:
    return sample_register()


def expected_rows(reg: Register) -> list[tuple]:
    return [(r.unit, r.task, period_label_vi(r.period, r.due), STATUS_LABELS_VI[r.status]) for r in reg.rows]


def test_the_sample_register_shows_every_status(reg):
    counts = reg.counts()
    assert all(counts[s] > 0 for s in Status), counts
    assert sum(counts.values()) == 20
    assert [f.path for f in reg.unassigned] == ["Chi bộ Ban Tuyên giáo/bao-cao-nham-cho.pdf"]
    assert [i.path.rsplit("/", 1)[-1] for i in reg.ignored] == ["~$bao-cao.docx"]


def test_write_all_writes_four_files_and_the_json_reads_back(reg, tmp_path):
    paths = write_all(reg, tmp_path / "out")
    assert set(paths) == {"json", "csv", "xlsx", "html"}
    assert [p.name for p in paths.values()] == ["register.json", "register.csv", "register.xlsx", "register.html"]
    assert all(p.stat().st_size > 0 for p in paths.values())
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")], "temporary files left behind"
    assert load_register(paths["json"]) == reg
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert "Chi bộ Văn phòng" in paths["json"].read_text(encoding="utf-8")  # not \\u-escaped
    assert [r["status"] for r in data["rows"]] == [r.status.value for r in reg.rows]


def test_rewriting_replaces_the_file_whole(reg, tmp_path):
    first = write_csv(reg, tmp_path)
    before = first.read_bytes()
    second = write_csv(reg.model_copy(update={"rows": reg.rows[:1]}), tmp_path)
    assert first == second and len(second.read_bytes()) < len(before)


def test_the_csv_opens_in_excel_with_vietnamese_headings_and_the_same_rows(reg, tmp_path):
    path = write_csv(reg, tmp_path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel then reads UTF-8
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # The headings say how dates are written; the separator is a comma (the page's footer says so too).
    assert list(rows[0]) == ["Đơn vị", "Mã đơn vị", "Nhiệm vụ", "Tên nhiệm vụ", "Mốc", "Kỳ", "Hạn (dd/mm/yyyy)",
                             "Thường xuyên", "Tình trạng", "Thời điểm nộp (dd/mm/yyyy hh:mm)", "Số tệp", "Thư mục",
                             "Liên kết", "Ghi chú"]
    assert path.read_text(encoding="utf-8-sig").splitlines()[0].count(",") == 13
    assert [(r["Mã đơn vị"], int(r["Nhiệm vụ"]), r["Kỳ"], r["Tình trạng"]) for r in rows] == expected_rows(reg)
    late = next(r for r in rows if r["Tình trạng"] == "Hoàn thành quá hạn")
    assert re.fullmatch(r"\d\d/\d\d/2022", late["Hạn (dd/mm/yyyy)"])
    assert re.fullmatch(r"\d\d/\d\d/2022 \d\d:\d\d", late["Thời điểm nộp (dd/mm/yyyy hh:mm)"])
    vp_feb = next(r for r in rows if r["Mã đơn vị"] == "cb-vp" and r["Nhiệm vụ"] == "3" and r["Kỳ"] == "Tháng 02/2022")
    assert (vp_feb["Hạn (dd/mm/yyyy)"], vp_feb["Thời điểm nộp (dd/mm/yyyy hh:mm)"], vp_feb["Số tệp"]) == (
        "28/02/2022", "02/03/2022 10:00", "1")
    # An ongoing task has no date in the date column: it is marked in its own column, its note says how it is judged.
    ongoing = next(r for r in rows if r["Mã đơn vị"] == "cb-nh" and r["Nhiệm vụ"] == "4")
    assert (ongoing["Hạn (dd/mm/yyyy)"], ongoing["Thường xuyên"], ongoing["Kỳ"]) == ("", "Có", "Thường xuyên")
    assert ongoing["Tình trạng"] == "Đang thực hiện" and "báo cáo hằng năm 2022" in ongoing["Ghi chú"]
    assert all(r["Hạn (dd/mm/yyyy)"] == "" or re.fullmatch(r"\d\d/\d\d/\d{4}", r["Hạn (dd/mm/yyyy)"]) for r in rows)


def test_the_xlsx_holds_the_same_rows_coloured_by_status_with_real_dates(reg, tmp_path):
    wb = openpyxl.load_workbook(write_all(reg, tmp_path)["xlsx"])
    assert wb.sheetnames == ["Sổ theo dõi", "Theo đơn vị", "Theo nhiệm vụ", "Chưa xếp chỗ"]
    ws = wb["Sổ theo dõi"]
    head = [c.value for c in ws[1]]
    assert head[:3] == ["Đơn vị", "Mã đơn vị", "Nhiệm vụ"] and "Tình trạng" in head
    col = {h: i for i, h in enumerate(head)}
    body = list(ws.iter_rows(min_row=2))
    assert [(r[col["Mã đơn vị"]].value, r[col["Nhiệm vụ"]].value, r[col["Kỳ"]].value, r[col["Tình trạng"]].value)
            for r in body] == expected_rows(reg)
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:N{len(reg.rows) + 1}"
    assert ws.column_dimensions["D"].width > 30
    for cells, row in zip(body, reg.rows):
        assert cells[col["Tình trạng"]].fill.fgColor.rgb.endswith(STATUS_FILLS[row.status])
        due = cells[col["Hạn"]]
        if row.due:  # a real date column: every value a date, none a word
            assert due.value.date() == row.due and due.number_format == "dd/mm/yyyy"
            assert cells[col["Thường xuyên"]].value is None
        else:
            assert due.value is None and cells[col["Thường xuyên"]].value == "Có"
    by_unit = wb["Theo đơn vị"]
    totals = {r[0].value: r[-1].value for r in by_unit.iter_rows(min_row=2)}
    assert totals == {"cb-vp": 5, "cb-tg": 5, "db-dl": 5, "cb-nh": 5}
    assert [c.value for c in by_unit[1]][2:-1] == [STATUS_LABELS_VI[s] for s in STATUS_ORDER]
    overdue_col = [c.value for c in by_unit[1]].index(STATUS_LABELS_VI[Status.OVERDUE])
    assert sum(r[overdue_col].value for r in by_unit.iter_rows(min_row=2)) == reg.counts()[Status.OVERDUE]
    by_task = {r[0].value: r[-1].value for r in wb["Theo nhiệm vụ"].iter_rows(min_row=2)}
    assert by_task == {0: 4, 1: 4, 2: 3, 3: 8, 4: 1}
    loose = list(wb["Chưa xếp chỗ"].iter_rows(min_row=2, values_only=True))
    assert loose[0][:2] == ("Chi bộ Ban Tuyên giáo", "Chi bộ Ban Tuyên giáo/bao-cao-nham-cho.pdf")


class _Cells(HTMLParser):
    """Collects the grid cells of register.html: (data-status, classes, link) per <td class="cell…">, and every link."""

    def __init__(self):
        super().__init__()
        self.cells: list[dict] = []
        self.plain = 0
        self.in_cell = False
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "td" and "cell" in classes:
            self.cells.append({"status": a.get("data-status"), "classes": classes, "href": None})
            self.in_cell = True
        elif tag == "td" and "none" in classes:
            self.plain += 1
        elif tag == "a":
            self.links.append(a.get("href"))
            if self.in_cell:
                self.cells[-1]["href"] = a.get("href")

    def handle_endtag(self, tag):
        if tag == "td":
            self.in_cell = False


def parse_cells(text: str) -> _Cells:
    parser = _Cells()
    parser.feed(text)
    return parser


def folder_link(folder: str) -> str:
    return "https://cloud.example.vn/apps/files/?dir=/Ke-hoach-21/" + quote(folder)


def worst_per_cell(reg: Register) -> dict[tuple[str, int], Status]:
    """(unit, task) -> the status a grid cell shows: the one most in need of attention among its periods."""
    cells: dict[tuple[str, int], list[Status]] = {}
    for r in reg.rows:
        cells.setdefault((r.unit, r.task), []).append(r.status)
    return {k: next(s for s in STATUS_ORDER if s in v) for k, v in cells.items()}


def test_the_html_page_is_self_contained_vietnamese_and_sorted_by_overdue(reg, tmp_path):
    text = write_html(reg, tmp_path, folder_url=folder_link).read_text(encoding="utf-8")
    assert '<html lang="vi">' in text and '<meta charset="utf-8">' in text
    assert not re.search(r"""(src|href)=["'](https?:)?//(?!cloud\.example\.vn)""", text), "external asset"
    assert "<link" not in text and "<script" not in text
    assert "10/03/2022" in text and "07:30" in text and PLAN.title in text
    page = parse_cells(text)
    tasks = {r.task for r in reg.rows}
    assert len(page.cells) == len(worst_per_cell(reg)) and page.plain == len(UNITS) * len(tasks) - len(page.cells)
    assert sorted(c["status"] for c in page.cells) == sorted(s.value for s in worst_per_cell(reg).values())
    # A cell leads to its unit's details within the page; every period's folder link there is absolute.
    assert all(c["href"].startswith("#dv-") for c in page.cells)
    assert all(h.startswith(("#", "https://cloud.example.vn/")) for h in page.links)
    assert sum(h.startswith("https://cloud.example.vn/") for h in page.links) >= len(reg.rows)
    # Units with overdue work first: the propaganda board owes three, the others fewer.
    order = re.findall(r'<th class="unit" scope="row"><a href="#dv-u\d+">([^<]+)</a>', text)
    overdue = {n: sum(1 for r in reg.rows if r.unit_name == n and r.status == Status.OVERDUE) for n in order}
    assert order[0] == "Chi bộ Ban Tuyên giáo"
    assert [overdue[n] for n in order] == sorted(overdue.values(), reverse=True)
    assert "bao-cao-nham-cho.pdf" in text and "Quá hạn chưa hoàn thành" in text


def test_a_submission_whose_files_were_deleted_is_marked_in_the_grid(reg, tmp_path):
    alone = {k for k, n in Counter((r.unit, r.task) for r in reg.rows).items() if n == 1}
    done = next(i for i, r in enumerate(reg.rows) if r.status == Status.SUBMITTED_ON_TIME and (r.unit, r.task) in alone)
    rows = list(reg.rows)
    rows[done] = rows[done].model_copy(update={"removed": True})
    cells = parse_cells(write_html(reg.model_copy(update={"rows": rows}), tmp_path).read_text(encoding="utf-8")).cells
    marked = [c for c in cells if "removed" in c["classes"]]
    assert [c["status"] for c in marked] == ["submitted_on_time"]


def test_without_folder_links_the_page_links_only_within_itself(reg, tmp_path):
    page = parse_cells(write_html(reg, tmp_path).read_text(encoding="utf-8"))
    assert page.cells and all(h.startswith("#") for h in page.links)


CHROMIUM = shutil.which("chromium")


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=60, check=True)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); .ci/run installs it")
def test_in_a_browser_the_grid_shows_one_coloured_cell_per_unit_and_task(reg, tmp_path, artifacts_dir):
    page = write_html(reg, tmp_path, folder_url=folder_link)
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile").stdout
    cells = parse_cells(dom).cells
    seen = {s: sum(1 for c in cells if c["status"] == s.value) for s in Status}
    worst = list(worst_per_cell(reg).values())
    assert seen == {s: worst.count(s) for s in Status}
    assert all(f"st-{c['status']}" in c["classes"] for c in cells)

    shot = artifacts_dir / "register.png"
    shot.unlink(missing_ok=True)
    chromium(f"--screenshot={shot}", "--window-size=1400,900", "--hide-scrollbars", page.as_uri(),
             profile=tmp_path / "profile")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
