"""Plans of other layouts and phrasings (tests/data/) import as well as the seed."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import docx

from connector.models import MilestoneKind as K
from connector.plan import parse_plan, parse_text

DATA = Path(__file__).parent / "data"


def test_markdown_plan_with_deadline_and_responsibility_lines():
    plan = parse_plan(DATA / "ke-hoach-12-kh-duk.md")
    assert plan.title == "Kế hoạch triển khai công tác chuyển đổi số trong các tổ chức đảng năm 2023"
    assert plan.code == "12-kh-duk"
    assert plan.issued == date(2023, 2, 15) and plan.year == 2023
    assert plan.period == (2023, 2023) and plan.horizon == 2023  # "… năm 2023": the plan's period is its horizon
    assert plan.issuer == "Ban Thường vụ Đảng ủy Khối các cơ quan tỉnh"
    assert plan.signer == "Trần Văn Bình"
    assert [t.number for t in plan.tasks] == [1, 2, 3, 4, 5]
    one, two, three, four, five = plan.tasks
    assert one.lead == ["Văn phòng Đảng ủy Khối"]
    assert one.cooperating == ["Ban Tổ chức", "Ban Tuyên giáo", "Ủy ban Kiểm tra"]
    assert [(m.phrase, m.due) for m in one.milestones] == [("quý II/2023", date(2023, 6, 30))]
    assert "Cơ quan chủ trì" not in one.text and "Thời gian" not in one.text
    assert "a) Số hóa văn bản lưu trữ" in two.text  # sub-items stay with their task
    assert two.cooperating == ["Các đảng ủy, chi bộ cơ sở"]
    assert two.milestones[0].due == date(2023, 6, 30) and two.milestones[0].line == 31
    assert three.milestones == []  # a task without a deadline is still a task
    assert (four.milestones[0].kind, four.milestones[0].due) == (K.QUARTERLY, date(2023, 3, 31))
    assert five.milestones[0].due == date(2023, 12, 31)
    assert plan.purpose and plan.organization[0].startswith("1. Văn phòng")


def test_named_tasks_without_sections_and_wrapped_lines():
    plan = parse_plan(DATA / "chuong-trinh-cong-tac.txt")
    assert plan.title.startswith("Chương trình công tác kiểm tra, giám sát")
    assert plan.code == "chuong-trinh-cong-tac" and plan.term == (2020, 2025)
    assert len(plan.tasks) == 6
    kinds = [[m.kind for m in t.milestones] for t in plan.tasks]
    assert kinds == [[K.ONCE], [K.MONTHLY], [K.HALF_YEARLY], [K.ONCE, K.ONCE], [K.TERM], [K.ONCE, K.YEARLY]]
    assert "không được làm" in plan.tasks[1].text  # the wrapped line joined its task
    assert plan.tasks[1].title == "Giám sát thường xuyên việc thực hiện quy định về những điều"
    four = plan.tasks[3].milestones
    assert [m.due for m in four] == [date(2023, 6, 30), date(2023, 11, 30)]
    assert four[1].clause == "giám sát việc kê khai tài sản, thu nhập"
    assert plan.tasks[4].milestones[0].needs_review


def test_letter_numbered_tasks_under_a_differently_titled_section():
    plan = parse_plan(DATA / "ke-hoach-chi-bo.txt")
    assert [t.number for t in plan.tasks] == [1, 2, 3, 4]
    a, b, c, d = plan.tasks
    assert a.milestones[0].due == date(2024, 5, 31)
    assert b.milestones[0].kind == K.UNKNOWN and b.milestones[0].needs_review
    assert c.milestones[0].kind == K.TERM and c.milestones[0].years == []  # no term named anywhere
    assert d.milestones[0].rrule == "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=15"
    assert all("Bí thư chi bộ" not in t.text for t in plan.tasks)


def test_plain_parentheses_count_only_when_they_close_a_clause_with_a_known_phrase():
    text = ("KẾ HOẠCH\nthử\n\nII. NHIỆM VỤ\n\n"
            "1. Quán triệt Nghị quyết (khóa XIII) và Kết luận (ngày 25/10/2021) của Trung ương (quý I/2023).\n")
    [m] = parse_text(text).tasks[0].milestones
    assert (m.phrase, m.due) == ("quý I/2023", date(2023, 3, 31))


def test_plan_issue_date_sets_the_year_over_deadline_years():
    text = ("ĐẢNG ỦY KHỐI\nSố 07-KH/ĐUK\nHà Nội, ngày 20 tháng 3 năm 2021\n\nKẾ HOẠCH\nthử\n\n"
            "I. MỤC ĐÍCH\n\nMục đích.\n\nII. NHIỆM VỤ\n\n1. Việc một (*năm 2023*).\n2. Việc hai (*hằng năm*).\n"
            "\nIII. TỔ CHỨC THỰC HIỆN\n\nCác chi bộ báo cáo trước ngày 10/12 hằng năm.\n")
    plan = parse_text(text)
    assert plan.issued == date(2021, 3, 20) and plan.year == 2021
    assert plan.tasks[1].milestones[0].due == date(2021, 12, 31)
    assert plan.annual_report_due == (12, 10)
    assert plan.issuer == "Đảng ủy khối"  # the letterhead, in sentence case


def test_docx_with_word_automatic_numbering_and_a_header_table(tmp_path):
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "ĐẢNG ỦY KHỐI DOANH NGHIỆP\nSố 03-KH/ĐUDN"
    table.cell(0, 1).text = "Hải Phòng, ngày 05 tháng 4 năm 2024"
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("thực hiện Chỉ thị số 35-CT/TW về đại hội đảng bộ các cấp")
    document.add_paragraph("II. NHIỆM VỤ CỤ THỂ")
    numbering = document.part.numbering_part.element
    numbering.append(parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    for text, phrase in (("Xây dựng đề án nhân sự", "quý II/2024"), ("Tổ chức đại hội điểm", "tháng 9/2024")):
        p = document.add_paragraph(f"{text} (")
        p.add_run(phrase).italic = True
        p.add_run(").")
        p._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="90"/></w:numPr>'))
    path = tmp_path / "chi-thi-35.docx"
    document.save(path)

    plan = parse_plan(path)
    assert plan.code == "03-kh-dudn" and plan.issued == date(2024, 4, 5)  # the plan's own number
    assert [(t.number, t.milestones[0].due) for t in plan.tasks] == [(1, date(2024, 6, 30)), (2, date(2024, 9, 30))]
    assert plan.issuer == "Đảng ủy khối doanh nghiệp"  # a soft line break in the letterhead cell stays a line


def test_bullet_tasks_under_markdown_headings_and_a_repeated_deadline_counts_once():
    text = ("# Kế hoạch hoạt động của Chi đoàn\n\n### I. Mục đích\nGiáo dục đoàn viên.\n\n### II - Nội dung\n"
            "- Ra quân tình nguyện mùa hè (*tháng 7/2025*).\n- Thời gian thực hiện: tháng 7/2025.\n"
            "- Sinh hoạt chủ điểm (hằng tháng).\n- Tổng kết năm.\n\n### III. Tổ chức thực hiện\nBan Chấp hành triển khai.\n")
    plan = parse_text(text)
    assert [t.title for t in plan.tasks] == ["Ra quân tình nguyện mùa hè", "Sinh hoạt chủ điểm", "Tổng kết năm"]
    assert [len(t.milestones) for t in plan.tasks] == [1, 1, 0]
    assert plan.purpose == ["Giáo dục đoàn viên."] and plan.organization == ["Ban Chấp hành triển khai."]
