"""The register as a committee secretary reads it: what an ongoing task's status means, and register.html on a
1366 px laptop, a 390 px phone and A4 paper (headless Chromium: screenshots and a PDF in test-artifacts/)."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pypdf
import pytest

from connector.models import STATUS_LABELS_VI, MilestoneKind, Obligation, Plan, RemoteFile, Status, Task, Unit
from connector.plan.mapping import load_plan
from connector.register import compute_register, register_to_json, write_all, write_html
from connector.register.status import STATUS_ORDER
from connector.schedule import expand
from plan_samples import sample_units

ROOT = Path(__file__).resolve().parents[1]
VN = timezone(timedelta(hours=7))
AS_OF = date(2022, 3, 25)


# --- an ongoing ("thường xuyên") task ------------------------------------------------------------

PLAN = Plan(title="Kế hoạch thực hiện Kết luận số 21-KL/TW", code="21-kl-tw", year=2022, horizon=2025,
            tasks=[Task(number=12, title="Giữ vững nguyên tắc tổ chức và sinh hoạt Đảng", text="… (thực hiện thường xuyên).")])
UNIT = Unit(id="cb-a", name="Chi bộ A", group="cb-a")


def ongoing_and_reports(start: date | None = None) -> list[Obligation]:
    ongoing = Obligation(unit="cb-a", task=12, milestone=1, period="ongoing", due=None, start=start,
                         kind=MilestoneKind.ONGOING, folder="Chi bộ A/12 – Giữ vững nguyên tắc/Thường xuyên")
    reports = [Obligation(unit="cb-a", task=0, milestone=0, period=str(y), due=date(y, 12, 15), start=date(y, 1, 1),
                          kind=MilestoneKind.YEARLY, folder=f"Chi bộ A/Báo cáo hằng năm/Năm {y}") for y in range(2022, 2026)]
    return [ongoing, *reports]


def report_filed(year: int, day: date) -> RemoteFile:
    path = f"Chi bộ A/Báo cáo hằng năm/Năm {year}/bao-cao.pdf"
    return RemoteFile(path=path, name="bao-cao.pdf", size=9000, uploaded_at=datetime.combine(day, datetime.min.time(), VN),
                      href=f"/dav/{path}")


def ongoing_row(as_of: date, files=(), start: date | None = None):
    reg = compute_register(ongoing_and_reports(start), list(files), [UNIT], PLAN, as_of,
                           datetime.combine(as_of, datetime.min.time(), VN))
    return reg, next(r for r in reg.rows if r.period == "ongoing")


def test_an_ongoing_task_is_in_progress_while_the_plan_runs_not_forever_not_due():
    reg, row = ongoing_row(AS_OF)
    assert row.status == Status.IN_PROGRESS and row.status_label == "Đang thực hiện"
    assert reg.judging_report(row).period == "2022"  # the yearly report it owes next
    assert ongoing_row(date(2025, 12, 15))[1].status == Status.IN_PROGRESS  # the last report's day
    assert ongoing_row(date(2022, 3, 1), start=date(2023, 1, 1))[1].status == Status.NOT_DUE  # starts later
    data = register_to_json(reg)
    assert next(r for r in data["rows"] if r["period"] == "ongoing")["status"] == "in_progress"
    # JSON consumers keep every value they knew.
    assert {"submitted_on_time", "submitted_late", "overdue", "due_soon", "not_due"} < {s.value for s in Status}


def test_after_the_horizon_an_ongoing_task_is_judged_by_the_last_yearly_report():
    after = date(2026, 1, 10)
    _, missing = ongoing_row(after)
    assert missing.status == Status.OVERDUE
    reg, on_time = ongoing_row(after, [report_filed(2025, date(2025, 12, 1))])
    assert on_time.status == Status.SUBMITTED_ON_TIME and on_time.submitted_at.date() == date(2025, 12, 1)
    assert reg.completions()[on_time.key] == on_time.submitted_at  # its to-do is completed by the report
    assert reg.judging_report(on_time).period == "2025"
    assert ongoing_row(after, [report_filed(2025, date(2025, 12, 20))])[1].status == Status.SUBMITTED_LATE


def test_the_page_lists_an_ongoing_task_overdue_by_its_last_yearly_report(tmp_path):
    reg, _ = ongoing_row(date(2026, 1, 10))
    markup = write_html(reg, tmp_path).read_text(encoding="utf-8")
    overdue = re.search(r'<section id="qua-han">(.*?)</section>', markup, re.S).group(1)
    row = re.search(r'<tr data-u="u0" data-t="t12"[^>]*>(.*?)</tr>', overdue, re.S).group(1)
    assert "15/12/2025" in row and ">26<" in row  # the last report's day, 26 days ago


# --- register.html for the seed plan and ~40 units ------------------------------------------------

def seed_register(units: int = 40):
    """The seed plan's register as of 25/03/2022: some reports on time, some late, most not due yet."""
    plan = load_plan(mapping=ROOT / "mappings/plans/ke-hoach-21-kl-tw.toml")
    unit_list = sample_units(units)
    obligations = expand(plan, unit_list)
    files = []
    for i, ob in enumerate(obligations):
        if ob.due and ob.due < AS_OF and i % 3:
            at = datetime.combine(ob.due, datetime.min.time(), VN) + timedelta(days=3 if i % 5 == 0 else -2)
            files.append(RemoteFile(path=f"{ob.folder}/bao-cao.pdf", name="bao-cao.pdf", size=48_213, uploaded_at=at,
                                    href=""))
    files.append(RemoteFile(path=f"{unit_list[1].name}/nop-nham-cho.pdf", name="nop-nham-cho.pdf", size=1200,
                            uploaded_at=datetime(2022, 3, 10, 9, 0, tzinfo=VN), href=""))
    return compute_register(obligations, files, unit_list, plan, AS_OF, datetime(2022, 3, 25, 7, 30, tzinfo=VN))


def folder_link(path: str) -> str:
    return f"https://cloud.example.vn/index.php/f/{abs(hash(path)) % 10**6}"


@pytest.fixture(scope="module")
def reg():
    return seed_register()


@pytest.fixture(scope="module")
def page(reg, tmp_path_factory) -> Path:
    return write_html(reg, tmp_path_factory.mktemp("register"), folder_url=folder_link)


def visible_text(markup: str) -> str:
    """The text a reader sees without hovering: tags and their attributes (title=…) removed."""
    return html.unescape(re.sub(r"<style>.*?</style>|<[^>]+>", "", markup, flags=re.S))


def test_the_legend_and_the_abbreviations_are_written_on_the_page_not_in_tooltips(reg, page):
    text = " ".join(visible_text(page.read_text(encoding="utf-8")).split())
    for status in Status:
        assert STATUS_LABELS_VI[status] in text
    assert "BC: báo cáo hằng năm" in text and "NV1 … NV19: nhiệm vụ 1 … 19 của kế hoạch" in text
    assert "Không phải thực hiện" in text
    # Every task's full title is on the page (in a details element, opened on demand).
    markup = page.read_text(encoding="utf-8")
    for number, title in reg.tasks.items():
        block = re.search(rf'<details id="nv-{number}"[^>]*>(.*?)</details>', markup, re.S)
        assert block and html.escape(title, quote=True) in block.group(1), number


def test_the_page_filters_by_unit_task_and_status_without_a_script(reg, page):
    markup = page.read_text(encoding="utf-8")
    assert "<script" not in markup and "<link" not in markup
    options = {sid: re.findall(r'<option value="([^"]*)"', re.search(rf'<select id="{sid}">(.*?)</select>', markup,
                                                                           re.S).group(1))
               for sid in ("f-unit", "f-task", "f-status")}
    assert len(options["f-unit"]) == 1 + 40 and len(options["f-task"]) == 1 + 20
    assert set(options["f-status"][1:]) == {s.value for s, n in reg.counts().items() if n}
    assert '<button type="reset">Bỏ lọc</button>' in markup  # resets the choices without a script
    assert re.search(r'\.filters:has\(#f-unit option\[value="u3"\]:checked\)~\* \[data-u\]:not\(\[data-u="u3"\]\)', markup)


def test_the_page_prints_on_a4_landscape_and_its_links_open(page):
    markup = page.read_text(encoding="utf-8")
    assert "@page{size:A4 landscape" in markup and "@media print{" in markup
    links = re.findall(r'href="([^"]+)"', markup)
    assert links and all(h.startswith(("https://cloud.example.vn/", "#")) for h in links)
    anchors = set(re.findall(r'id="([^"]+)"', markup))
    assert {h[1:] for h in links if h.startswith("#")} <= anchors  # every in-page link has its target


CHROMIUM = shutil.which("chromium")


def browser(test):
    """Marks a test that drives headless Chromium (skipped where it is not installed)."""
    reason = "chromium is not installed (apt-get install chromium); .ci/run installs it"
    return pytest.mark.browser(pytest.mark.skipif(CHROMIUM is None, reason=reason)(test))


# Measures the page as laid out, then uses each filter as a reader would, and writes what it saw into the page.
PROBE = """<script>
(() => {
  const shown = e => !!e && e.getClientRects().length > 0;
  const count = sel => [...document.querySelectorAll(sel)].filter(shown).length;
  const doc = document.documentElement, box = document.querySelector('.scroll');
  const out = {
    overflow: doc.scrollWidth - doc.clientWidth,
    gridOverflow: box.scrollWidth - box.clientWidth,
    unitColumn: getComputedStyle(document.querySelector('table.grid tbody th.unit')).position,
    key: [...document.querySelectorAll('.key li')].filter(shown)  // the words beside each swatch
           .map(e => [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim()),
    how: shown(document.querySelector('.how')) ? document.querySelector('.how').textContent : '',
    filters: [...document.querySelectorAll('.filters select')].filter(shown).map(e => e.id),
    rows: count('table.grid tbody tr'),
    columns: count('table.grid thead th'),
    fontPx: parseFloat(getComputedStyle(document.querySelector('table.grid tbody th.unit')).fontSize),
  };
  const choose = (id, value) => { document.getElementById(id).value = value; document.body.offsetHeight; };
  choose('f-unit', 'u3');
  out.unit = {rows: count('table.grid tbody tr'), details: count('#don-vi details'), overdue: count('#qua-han tbody tr'),
              name: document.querySelector('#f-unit option[value="u3"]').textContent,
              gridName: [...document.querySelectorAll('table.grid tbody th.unit a')].filter(shown).map(a => a.textContent)};
  choose('f-unit', '');
  choose('f-task', 't3');
  out.task = {columns: [...document.querySelectorAll('table.grid thead th')].filter(shown).map(e => e.textContent),
              cells: count('table.grid tbody td'), tasks: count('#nhiem-vu details')};
  choose('f-task', '');
  choose('f-status', 'overdue');
  const rows = [...document.querySelectorAll('table.grid tbody tr')].filter(shown);
  out.status = {rows: rows.length, allOverdue: rows.every(r => r.classList.contains('h-overdue')),
                overdue: count('#qua-han tbody tr')};
  document.querySelector('form.filters').reset(); document.body.offsetHeight;
  out.reset = count('table.grid tbody tr');
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.append(pre);
})();
</script>"""


def chromium(*args: str, profile: Path, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=timeout, check=True)


def probe(page: Path, width: int, height: int, profile: Path) -> dict:
    probed = page.with_name(f"probe-{width}.html")
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium("--dump-dom", f"--window-size={width},{height}", probed.as_uri(), profile=profile).stdout
    return json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1)))


def screenshot(page: Path, shot: Path, width: int, height: int, profile: Path) -> None:
    shot.unlink(missing_ok=True)
    chromium(f"--screenshot={shot}", f"--window-size={width},{height}", "--hide-scrollbars", page.as_uri(),
             profile=profile)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


@browser
def test_on_a_1366_px_laptop_the_grid_fits_and_says_what_it_shows(reg, page, tmp_path, artifacts_dir):
    seen = probe(page, 1366, 900, tmp_path / "profile")
    assert seen["overflow"] == 0, "the page scrolls sideways"
    assert seen["gridOverflow"] <= 0, "the grid needs sideways scrolling at 1366 px"
    assert seen["rows"] == 40 and seen["columns"] == 1 + 20
    assert seen["key"] == [*(STATUS_LABELS_VI[s] for s in STATUS_ORDER), "Không phải thực hiện", "Có tệp đã nộp nay bị xoá"]
    assert "BC: báo cáo hằng năm" in seen["how"]
    assert seen["filters"] == ["f-unit", "f-task", "f-status"]
    # The filters, used as a reader would.
    assert seen["unit"]["rows"] == 1 and seen["unit"]["details"] == 1 and seen["unit"]["gridName"] == [seen["unit"]["name"]]
    assert seen["task"]["columns"] == ["Đơn vị", "NV3"] and seen["task"]["cells"] == 40 and seen["task"]["tasks"] == 1
    overdue_units = {r.unit for r in reg.rows if r.status == Status.OVERDUE}
    assert seen["status"] == {"rows": len(overdue_units), "allOverdue": True, "overdue": reg.counts()[Status.OVERDUE]}
    assert seen["reset"] == 40
    screenshot(page, artifacts_dir / "register-1366.png", 1366, 900, tmp_path / "profile")


@browser
def test_on_a_390_px_phone_the_page_does_not_scroll_sideways_and_the_unit_names_stay(page, tmp_path, artifacts_dir):
    seen = probe(page, 390, 844, tmp_path / "profile")
    assert seen["overflow"] == 0, "the page scrolls sideways on a phone"
    assert seen["gridOverflow"] > 0 and seen["unitColumn"] == "sticky"  # the grid scrolls in its box, names stay
    assert len(seen["key"]) == 8 and seen["filters"] == ["f-unit", "f-task", "f-status"]
    assert seen["fontPx"] >= 12
    assert seen["unit"]["rows"] == 1 and seen["reset"] == 40
    screenshot(page, artifacts_dir / "register-390.png", 390, 844, tmp_path / "profile")
    screenshot(page, artifacts_dir / "register-390-grid.png", 390, 2200, tmp_path / "profile")


@browser
def test_printed_the_register_is_a4_landscape_with_the_whole_grid_first(reg, page, tmp_path, artifacts_dir):
    pdf = artifacts_dir / "register.pdf"
    pdf.unlink(missing_ok=True)
    chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri(), profile=tmp_path / "profile")
    pages = pypdf.PdfReader(pdf).pages
    width, height = float(pages[0].mediabox.width), float(pages[0].mediabox.height)
    assert abs(width - 842) < 2 and abs(height - 595) < 2, (width, height)  # A4 landscape, in points
    first = " ".join(" ".join(p.extract_text().split()) for p in pages[:2])
    assert reg.plan_title in first and "Quá hạn chưa hoàn thành" in first and "BC: báo cáo hằng năm" in first
    assert all(name in first for name in reg.unit_names().values()), "the grid does not fit on two pages"
    assert "Lọc" not in pages[0].extract_text().split() and "Bỏ lọc" not in first  # no controls on paper


@browser
def test_the_demo_sized_register_prints_quickly(tmp_path):
    """A page whose filters re-match the whole document took Chromium 26 s to print 40 units."""
    page = write_all(seed_register(40), tmp_path / "out", folder_url=folder_link)["html"]
    started = datetime.now()
    chromium("--no-pdf-header-footer", f"--print-to-pdf={tmp_path / 'r.pdf'}", page.as_uri(),
             profile=tmp_path / "profile", timeout=30)
    assert (datetime.now() - started).total_seconds() < 10


# --- the demo's summary --------------------------------------------------------------------------------

@pytest.mark.server
def test_the_demos_first_run_says_what_it_wrote_once_and_the_second_writes_nothing(tmp_path, capsys):
    from argparse import Namespace

    from connector import demo

    args = Namespace(data_dir=str(tmp_path / "data"), out=None, json=False)
    assert demo.run(args) == 0
    out = capsys.readouterr().out
    assert out.count("writes") == 1 and "0 created" not in out, out  # one count, not three
    total = int(re.search(r"^total writes this run: (\d+); HTTP requests: \d+$", out, re.M).group(1))
    parts = re.search(r"^this run: (.*)$", out, re.M).group(1)
    numbers = dict((what, int(n)) for n, what in re.findall(r"(\d+) ([^,]+)", parts))
    assert sum(numbers.values()) == total > 700
    assert numbers["calendar items created"] > 300 and numbers["folders created"] > 400
    assert numbers["sample reports filed"] == 7 and numbers["register files uploaded"] == 4
    assert "Đang thực hiện" in out  # the register's table has every status

    assert demo.run(Namespace(data_dir=str(tmp_path / "data"), out=None, json=True)) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["writes"] == 0 and again["counts"]["in_progress"] > 0
    assert demo.run(args) == 0
    assert "total writes this run: 0;" in capsys.readouterr().out
