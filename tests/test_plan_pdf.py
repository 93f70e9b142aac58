"""Issue 9: plans circulate as PDF. A PDF with a text layer imports like the text it was printed from; a
scanned one is refused with a clear reason. The PDFs are typeset here (tests/pdf_samples.py) the way a
secretary's Word file prints: letterhead in two columns, justified paragraphs, page numbers, a footer."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.cli import main
from connector.errors import PlanError
from connector.plan import parse_plan
from connector.plan.reader import read_document
from pdf_samples import LEFT, Page, Run, pdf_bytes, typeset

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"
REAL = ROOT.parent / "shared" / "plans" / "real"
real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/plans/real is not here")


def _printed(tmp_path: Path, source: Path, **layout) -> Path:
    """The plan text printed to PDF (markdown italics are not printed)."""
    order = layout.pop("order", "natural")
    pdf = tmp_path / (source.stem + ".pdf")
    pdf.write_bytes(pdf_bytes(typeset(source.read_text(encoding="utf-8").replace("*", ""), **layout), order=order))
    return pdf


def _tasks(plan):
    return [(t.number, t.label, t.title, t.lead, t.cooperating, t.result,
             [(m.phrase, m.kind, m.due, m.start, m.rrule, m.years, m.needs_review) for m in t.milestones])
            for t in plan.tasks]


def _facts(plan):
    return (plan.title, plan.code, plan.number, plan.issuer, plan.signer, plan.issued, plan.year, plan.term,
            plan.period, plan.horizon, plan.annual_report_due)


def test_the_seed_plan_printed_to_pdf_imports_with_the_same_tasks_and_milestones(tmp_path):
    pdf = _printed(tmp_path, SEED, footer="Kế hoạch 21-KL/TW - Đảng ủy Khối", order="shuffled")
    text, printed = parse_plan(SEED), parse_plan(pdf)
    assert len(printed.tasks) == 19
    assert _tasks(printed) == _tasks(text)
    assert _facts(printed) == _facts(text)
    assert printed.tasks[10].milestones[0].years == [2021, 2023]  # "năm thứ 2 và năm thứ 4 của nhiệm kỳ"


@real
@pytest.mark.parametrize("name", ["xa-luong-minh-16-kh-mttq-bau-cu.txt", "thu-tuong-2623-qd-ttg-luat-bvdlcn.txt",
                                  "son-la-2954-qd-ubnd-xuat-khau-2026-2030.txt", "dong-nai-182-kh-ubnd-ma-tuy.txt",
                                  "tp-hcm-174-kh-ubnd-binh-dang-gioi.txt", "dak-lak-0129-kh-ubnd-nhu-yeu-pham-mua-lu.txt"])
def test_a_real_plan_printed_to_pdf_imports_like_its_text(tmp_path, name):
    source = REAL / name
    pdf = _printed(tmp_path, source, footer="Văn bản điện tử", order="shuffled")
    text, printed = parse_plan(source), parse_plan(pdf)
    assert _tasks(printed) == _tasks(text)
    assert _facts(printed) == _facts(text)  # number, date and issuer from the two-column letterhead; the signer


@real
@pytest.mark.parametrize("layout", [{"words_apart": True}, {"indent": 0, "para_gap": 8}],
                         ids=["word-by-word", "no-first-line-indent"])
def test_other_producers_and_paragraph_styles_read_the_same(tmp_path, layout):
    source = REAL / "xa-luong-minh-16-kh-mttq-bau-cu.txt"
    printed = parse_plan(_printed(tmp_path, source, **layout))
    text = parse_plan(source)
    assert _tasks(printed) == _tasks(text) and _facts(printed) == _facts(text)
    four = printed.tasks[3]
    assert [m.due.isoformat() for m in four.milestones] == ["2025-12-10", "2026-02-03", "2026-02-20", "2025-12-31",
                                                            "2026-03-31"]


def _page(*rows: tuple[float, str], number: str | None = None, justify: float | None = None) -> Page:
    page = Page()
    y = 780.0
    if number:
        page.runs.append(Run(290, 805, number, 12))
    for x, text in rows:
        page.runs.append(Run(x, y, text, justify=justify if x == LEFT and justify else None))
        y -= 16.25
    page.runs.append(Run(LEFT, 30, "Kế hoạch số 5/KH-UBND xã An Bình", 9))  # a running footer
    return page


def test_rows_join_into_paragraphs_keeping_compound_hyphens_and_dropping_page_furniture(tmp_path):
    first = _page((LEFT + 36, "1. Quán triệt Kết luận số 21-"),
                  (LEFT, "KL/TW của Ban Chấp hành Trung ương trong giai đoạn 2026 -"),
                  (LEFT, "2030, báo cáo theo Nghị quyết số 85/"),
                  (LEFT, "2015/QH13 (hoàn thành trong tháng 12/2026)."))
    second = _page((LEFT, "2. Tổ chức học tập chuyên đề cho toàn thể đảng viên của chi bộ trong năm, sơ kết"),
                   (LEFT, "vào cuối năm (hằng năm)."), number="2")
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(pdf_bytes([first, second]))
    text = read_document(pdf)
    assert ("1. Quán triệt Kết luận số 21-KL/TW của Ban Chấp hành Trung ương trong giai đoạn 2026 - 2030, "
            "báo cáo theo Nghị quyết số 85/2015/QH13 (hoàn thành trong tháng 12/2026).") in text.splitlines()
    assert "2. Tổ chức học tập chuyên đề cho toàn thể đảng viên của chi bộ trong năm, sơ kết vào cuối năm " \
           "(hằng năm)." in text.splitlines()
    assert "Kế hoạch số 5/KH-UBND" not in text and "\n2\n" not in text  # footer and page number gone


def test_a_soft_hyphen_at_a_row_end_is_dropped(tmp_path):
    pdf = tmp_path / "soft.pdf"
    pdf.write_bytes(pdf_bytes([_page((LEFT + 36, "1. Triển khai ứng dụng Inter\u00ad"), (LEFT, "net trong chỉ đạo."))]))
    assert "1. Triển khai ứng dụng Internet trong chỉ đạo." in read_document(pdf).splitlines()


def test_a_scanned_pdf_is_refused_naming_the_file(tmp_path):
    pdf = tmp_path / "ke-hoach-scan.pdf"
    pdf.write_bytes(pdf_bytes([Page(), Page()]))  # pages with no text: what a scanner without OCR makes
    with pytest.raises(PlanError) as err:
        parse_plan(pdf)
    assert "no text layer: scanned PDF; OCR it first" in str(err.value) and "ke-hoach-scan.pdf" in str(err.value)
    assert err.value.exit_code == 2


def test_a_broken_or_misnamed_pdf_is_a_plan_error(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")
    with pytest.raises(PlanError, match="broken.pdf"):
        parse_plan(broken)
    not_pdf = tmp_path / "plan.pdf"
    not_pdf.write_text("KẾ HOẠCH\n1. Việc.\n", encoding="utf-8")
    with pytest.raises(PlanError, match="not a PDF file"):
        parse_plan(not_pdf)
    misnamed = tmp_path / "plan.txt"
    misnamed.write_bytes(pdf_bytes([_page((LEFT, "KẾ HOẠCH"))]))
    with pytest.raises(PlanError, match="name it .pdf"):
        parse_plan(misnamed)


def test_import_reads_a_pdf_from_the_command_line(tmp_path, capsys):
    pdf = _printed(tmp_path, SEED)
    assert main(["import", str(pdf), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["code"] == "21-kl-tw" and len(printed["tasks"]) == 19
