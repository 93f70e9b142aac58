"""Issue 9: .docx plans whose numbers exist only in Word's numbering.xml, and task tables with merged cells."""
from __future__ import annotations

from datetime import date

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from connector.models import MilestoneKind as K
from connector.plan import parse_plan
from tests.test_plan_seed import SEED


def _numbering(document, num_id: int, fmt: str, text: str) -> None:
    numbering = document.part.numbering_part.element
    numbering.append(parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{num_id}"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        f'<w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{num_id}"/></w:num>'))


def _num_pr(element, num_id: int) -> None:
    element.get_or_add_pPr().append(parse_xml(
        f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="{num_id}"/></w:numPr>'))


def test_the_seed_with_word_automatic_numbering_on_a_style_reads_as_the_text(tmp_path):
    """Task paragraphs carry a list style whose w:numPr numbers them; the "1." is not in the text."""
    document = docx.Document()
    _numbering(document, 70, "decimal", "%1.")
    style = document.styles.add_style("Nhiệm vụ", 1)
    _num_pr(style.element, 70)
    in_tasks = False
    for line in SEED.read_text(encoding="utf-8").splitlines():
        if line.startswith("II. "):
            in_tasks = True
        elif line.startswith("III. "):
            in_tasks = False
        numbered = in_tasks and line[:3].rstrip(".").strip().isdigit() and ". " in line[:4]
        text = line.split(". ", 1)[1] if numbered else line
        paragraph = document.add_paragraph(style="Nhiệm vụ" if numbered else None)
        for i, piece in enumerate(text.replace("**", "").split("*")):
            if piece:
                paragraph.add_run(piece).italic = i % 2 == 1
    path = tmp_path / "ke-hoach-21-kl-tw.docx"
    document.save(path)
    plan = parse_plan(path)
    assert [t.number for t in plan.tasks] == list(range(1, 20))
    assert len([m for t in plan.tasks for m in t.milestones]) == 21
    assert plan.tasks[0].title == "Tổ chức Hội nghị cán bộ cốt cán theo hình thức trực tuyến"


def _targets_and_tasks(document, section_list: int, item_list: int, item_format: str) -> None:
    """Sections "I. MỤC TIÊU" and "II. NHIỆM VỤ" with their items, all numbered by Word (two lists)."""
    _numbering(document, section_list, "upperRoman", "%1.")
    _numbering(document, item_list, "decimal", item_format)
    for title, items in (("MỤC TIÊU", ["Đến năm 2030, 100% hồ sơ được số hóa."]),
                         ("NHIỆM VỤ", ["Ban hành quy chế dữ liệu (quý II/2026).", "Đào tạo cán bộ (hằng năm)."])):
        _num_pr(document.add_paragraph(title)._p, section_list)
        for item in items:
            _num_pr(document.add_paragraph(item)._p, item_list)


def test_a_docx_with_paragraph_numbering_letters_and_a_merged_task_table(tmp_path):
    document = docx.Document()
    document.add_paragraph("ỦY BAN NHÂN DÂN TỈNH BÌNH AN")
    document.add_paragraph("Số: 45/KH-UBND    Bình An, ngày 03 tháng 3 năm 2026")
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("CHUYỂN ĐỔI SỐ GIAI ĐOẠN 2026 - 2030")
    _targets_and_tasks(document, 80, 81, "%1-")
    table = document.add_table(rows=4, cols=4)
    for cell, text in zip(table.rows[0].cells, ["STT", "Tên nhiệm vụ", "Đơn vị chủ trì", "Thời hạn"]):
        cell.text = text
    group = table.rows[1].cells[0].merge(table.rows[1].cells[3])
    group.text = "NHÓM NHIỆM VỤ HẠ TẦNG"
    for row, (n, task, when) in zip(table.rows[2:], [("1", "Nâng cấp mạng nội bộ", "6/2026"),
                                                     ("2", "Mua sắm máy chủ", "Thường xuyên")]):
        row.cells[0].text, row.cells[1].text, row.cells[3].text = n, task, when
    lead = table.rows[2].cells[2].merge(table.rows[3].cells[2])  # one lead for both rows (vertical merge)
    lead.text = "Sở Khoa học và Công nghệ"
    path = tmp_path / "ke-hoach.docx"
    document.save(path)

    plan = parse_plan(path)
    assert plan.number == "45/KH-UBND" and plan.issued == date(2026, 3, 3) and plan.horizon == 2030
    assert [t.title for t in plan.tasks] == ["Nâng cấp mạng nội bộ", "Mua sắm máy chủ"]  # the table wins
    assert [t.lead for t in plan.tasks] == [["Sở Khoa học và Công nghệ"]] * 2
    assert plan.tasks[0].group == "NHÓM NHIỆM VỤ HẠ TẦNG"
    assert plan.tasks[0].milestones[0].due == date(2026, 6, 30)
    assert plan.tasks[1].milestones[0].kind == K.ONGOING


def test_numbered_targets_are_not_tasks_without_a_table(tmp_path):
    document = docx.Document()
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("CÔNG TÁC NĂM 2026")
    _targets_and_tasks(document, 90, 91, "%1.")
    path = tmp_path / "ke-hoach.docx"
    document.save(path)
    plan = parse_plan(path)
    assert [t.title for t in plan.tasks] == ["Ban hành quy chế dữ liệu", "Đào tạo cán bộ"]
    assert [t.label for t in plan.tasks] == ["II.2", "II.3"]  # one list (numId) goes on counting, as Word shows it
    assert plan.tasks[0].milestones[0].due == date(2026, 6, 30) and plan.tasks[1].milestones[0].kind == K.YEARLY
