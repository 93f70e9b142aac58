"""Issue 2 on the real seed plan: the .txt as shipped and a .docx rendering of it."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from connector.models import MilestoneKind
from connector.plan import parse_plan

ROOT = Path(__file__).resolve().parent.parent
SHARED_SEED = ROOT.parent / "shared" / "plans" / "ke-hoach-21-kl-tw.txt"
SEED = SHARED_SEED if SHARED_SEED.is_file() else ROOT / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"


def seed_as_docx(path: Path) -> Path:
    """The seed rendered as Word does: one paragraph per line, `*...*` as italic runs."""
    import docx

    document = docx.Document()
    for line in SEED.read_text(encoding="utf-8").splitlines():
        paragraph = document.add_paragraph()
        for i, piece in enumerate(re.split(r"(?<!\*)\*(?!\*)", line.replace("**", ""))):
            if piece:
                paragraph.add_run(piece).italic = i % 2 == 1
    document.save(path)
    return path


@pytest.fixture(params=["txt", "docx"])
def seed_plan(request, tmp_path):
    path = SEED if request.param == "txt" else seed_as_docx(tmp_path / "ke-hoach-21-kl-tw.docx")
    return parse_plan(path)


def test_the_seed_has_19_tasks_and_21_milestones_all_recognised(seed_plan):
    assert [t.number for t in seed_plan.tasks] == list(range(1, 20))
    milestones = [m for t in seed_plan.tasks for m in t.milestones]
    assert len(milestones) == 21
    assert not [m.phrase for m in milestones if m.kind == MilestoneKind.UNKNOWN]


def test_due_dates_follow_the_vocabulary(seed_plan):
    by_number = {t.number: t for t in seed_plan.tasks}
    task1 = by_number[1].milestones
    assert [(m.phrase, m.due) for m in task1] == [("tháng 01/2022", date(2022, 1, 31)), ("tháng 02/2022", date(2022, 2, 28))]
    assert by_number[2].milestones[0].due == date(2022, 3, 31)
    assert by_number[18].milestones[0].due == date(2022, 12, 31)
    seven = by_number[7].milestones
    assert [m.kind for m in seven] == [MilestoneKind.ONCE, MilestoneKind.YEARLY]
    assert (seven[1].start, seven[1].due, seven[1].rrule) == (date(2022, 1, 1), date(2022, 12, 31),
                                                              "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31")
    assert by_number[16].milestones[0].kind == MilestoneKind.ONGOING
    assert by_number[16].milestones[0].start == date(2022, 1, 1) and by_number[16].milestones[0].due is None


def test_task_11_is_term_based_and_flagged(seed_plan):
    m = seed_plan.tasks[10].milestones[0]
    assert m.kind == MilestoneKind.TERM and m.needs_review
    assert m.years == [2021, 2023]  # default reading: năm thứ N = 2020 + N - 1
    assert m.flags
    others = [m for t in seed_plan.tasks if t.number != 11 for m in t.milestones]
    assert not any(m.needs_review for m in others)


def test_each_milestone_closes_its_own_clause(seed_plan):
    first, second = seed_plan.tasks[0].milestones
    assert first.clause.endswith("triển khai Kế hoạch thực hiện")
    assert second.clause.startswith("Hướng dẫn, chỉ đạo nghiên cứu")
    seven = seed_plan.tasks[6].milestones
    assert seven[1].clause.startswith("kiểm tra, giám sát việc tổ chức quán triệt")


def test_page_break_continuations_are_joined(seed_plan):
    assert "Tiếp tục chỉ đạo nâng cao chất lượng việc thực hiện quy chế dân chủ ở cơ sở" in seed_plan.tasks[5].text
    assert "thực hiện Quy định số 890-QĐi/TU" in seed_plan.tasks[16].text
    assert seed_plan.tasks[5].milestones[0].phrase == "thực hiện thường xuyên"


def test_no_text_of_section_i_or_iii_is_a_task(seed_plan):
    texts = " ".join(t.text for t in seed_plan.tasks)
    assert "Làm cho cấp ủy" not in texts and "Phân công Ban Tổ chức" not in texts and "Nơi nhận" not in texts
    assert len(seed_plan.purpose) == 3 and seed_plan.purpose[0].startswith("1. Làm cho cấp ủy")
    assert len(seed_plan.organization) == 3 and "định kỳ hằng năm báo cáo" in seed_plan.organization[2]


def test_plan_facts_are_read_from_the_document(seed_plan):
    assert seed_plan.title == "Kế hoạch thực hiện Kết luận số 21-KL/TW, ngày 25/10/2021 của Ban Chấp hành Trung ương Đảng"
    assert seed_plan.code == "21-kl-tw"
    assert seed_plan.issuer == "Ban Thường vụ Đảng ủy Khối các cơ quan và doanh nghiệp tỉnh"
    assert seed_plan.signer == "Nguyễn Đình Hải"
    assert seed_plan.issued is None  # dates quoted from other documents do not count
    assert (seed_plan.year, seed_plan.term, seed_plan.horizon) == (2022, (2020, 2025), 2025)


def test_titles_are_short_and_lines_point_at_the_source():
    plan = parse_plan(SEED)
    assert all(0 < len(t.title) <= 60 and t.title[-1] not in ".,;:" for t in plan.tasks)
    assert plan.tasks[0].title == "Tổ chức Hội nghị cán bộ cốt cán theo hình thức trực tuyến"
    assert plan.tasks[0].line == 19
    assert plan.tasks[5].milestones[0].line == 31  # the phrase is on the continuation line
