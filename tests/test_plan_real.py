"""Issue 9: real plans of other bodies (../shared/plans/real/) read as a careful reader would.

Expected task counts were counted by hand once per plan, with these rules: the leaves of the task sections'
numbering are tasks (group headings, "Mục tiêu"/"Chỉ tiêu" targets and purpose sections are not); bullets are
tasks under a heading or a unit's name; a plan with a task table takes its tasks from the table; an item of
"Tổ chức thực hiện"/"Chế độ báo cáo" is a task only with a dated or day-of-month deadline (a yearly report
there is the plan's periodic report). "dated" = milestones with a due date or a recurrence.
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from connector.cli import main
from connector.models import MilestoneKind as K
from connector.models import Unit
from connector.plan import parse_plan, parse_text
from connector.render.ical import build_desired
from connector.schedule import expand

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "plans" / "real"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/plans/real is not here")

# file: (tasks, dated milestones, tasks with a lead, number, issued)
EXPECTED = {
    "nghe-an-980-kh-ubnd-phong-thu-dan-su.md": (13, 8, 13, "980/KH-UBND", date(2025, 11, 18)),
    "thu-tuong-2623-qd-ttg-luat-bvdlcn.txt": (9, 8, 9, "2623/QĐ-TTg", date(2025, 11, 29)),
    "dong-nai-182-kh-ubnd-ma-tuy.txt": (50, 4, 37, "182/KH-UBND", date(2025, 11, 20)),
    "son-la-2954-qd-ubnd-xuat-khau-2026-2030.txt": (20, 8, 2, "2954/QĐ-UBND", date(2025, 11, 20)),
    "tp-hcm-174-kh-ubnd-binh-dang-gioi.txt": (6, 2, 6, "174/KH-UBND", date(2025, 11, 18)),
    "dong-thap-552-kh-ubnd-doi-moi-cong-nghe.md": (20, 5, 20, "552/KH-UBND", date(2025, 11, 19)),
    "xa-luong-minh-16-kh-mttq-bau-cu.txt": (18, 19, 15, "16/KH-MTTQ-BTT", date(2025, 11, 18)),
    "dak-lak-0129-kh-ubnd-nhu-yeu-pham-mua-lu.txt": (36, 2, 35, "0129/KH-UBND", date(2025, 11, 21)),  # 2 daily
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_real_plan_imports_with_the_tasks_a_reader_counts(name):
    plan = parse_plan(REAL / name)
    tasks, dated, led, number, issued = EXPECTED[name]
    milestones = [m for t in plan.tasks for m in t.milestones]
    assert len(plan.tasks) == tasks
    assert sum(bool(m.due or m.rrule) for m in milestones) == dated
    assert sum(bool(t.lead) for t in plan.tasks) == led
    assert (plan.number, plan.issued) == (number, issued)
    assert [t.number for t in plan.tasks] == list(range(1, tasks + 1))
    assert plan.title.startswith("Kế hoạch ") and plan.title[9:10].islower()  # no "Kế hoạch tRIỂN KHAI"


def test_a_markdown_task_table_with_roman_group_rows():
    plan = parse_plan(REAL / "nghe-an-980-kh-ubnd-phong-thu-dan-su.md")
    first, second, third = plan.tasks[:3]
    assert first.label == "PL.I.1" and first.group == "KIỆN TOÀN VÀ HOÀN THIỆN CƠ CHẾ CHỈ ĐẠO, ĐIỀU HÀNH PHÒNG THỦ DÂN SỰ"
    assert first.lead == ["Bộ CHQS tỉnh", "UBND cấp xã"] and first.milestones[0].due == date(2025, 11, 30)
    assert first.result == "Quyết định của Chủ tịch UBND cấp tỉnh, cấp xã"
    assert second.milestones[0].kind == K.ONGOING  # "Thường xuyên"
    assert third.milestones[0].due == date(2025, 12, 31)  # a bare "2025" in the time column
    sixth = plan.tasks[6]
    assert sixth.lead == ["Sở Khoa học và Công nghệ"]  # "và" inside a name does not split it
    eighth = plan.tasks[7]
    assert eighth.milestones[0].kind == K.UNKNOWN and "event" in eighth.milestones[0].flags[0]
    assert eighth.milestones[0].line == 97
    assert plan.code == "980-kh-ubnd" and plan.issuer == "Ủy ban nhân dân tỉnh Nghệ An"


def test_a_decision_with_its_plan_after_the_signature_and_label_lines():
    plan = parse_plan(REAL / "thu-tuong-2623-qd-ttg-luat-bvdlcn.txt")
    assert plan.title == "Kế hoạch triển khai thi hành luật bảo vệ dữ liệu cá nhân"
    assert plan.issuer == "Thủ tướng Chính phủ"
    one = plan.tasks[0]
    assert "Bộ Văn hóa, Thể thao và Du lịch" in one.lead and "Bộ Giáo dục và Đào tạo" in one.lead
    assert one.milestones[0].kind == K.YEARLY and one.milestones[0].start == date(2025, 1, 1)
    four = plan.tasks[3]
    assert [m.due for m in four.milestones] == [date(2025, 12, 15), date(2025, 12, 31)]
    assert four.lead[0] == "Bộ Công an"  # "Bộ Công an tiến hành rà soát …": the clause is cut
    five_a, five_b = plan.tasks[4], plan.tasks[5]  # "- Nghị định …" bullets with their own labels are tasks
    assert five_a.milestones[0].due == date(2026, 1, 1) and five_a.cooperating[0] == "Văn phòng Chính phủ"
    assert five_b.milestones[0].kind == K.UNKNOWN and plan.notes


def test_two_level_numbering_group_headings_and_targets_are_not_tasks():
    plan = parse_plan(REAL / "dong-nai-182-kh-ubnd-ma-tuy.txt")
    texts = " ".join(t.text for t in plan.tasks)
    assert "Phấn đấu 100% các điểm tổ chức" not in texts  # 6.x are targets (Chỉ tiêu)
    assert not any(t.title == "Nhiệm vụ, giải pháp tổng thể" for t in plan.tasks)
    labels = [t.label for t in plan.tasks]
    assert "III.1.1" in labels and "III.1.7" in labels and "III.1" not in labels
    health = next(t for t in plan.tasks if t.label == "III.2.5")
    assert health.lead == ["Sở Y tế"] and health.title.startswith("Chủ trì, phối hợp")
    culture = next(t for t in plan.tasks if t.label == "III.2.6")
    assert culture.lead == ["Sở Văn hóa, Thể thao và Du lịch"] and culture.milestones[0].due == date(2025, 11, 30)
    assert plan.period == (2025, 2030) and plan.horizon == 2030


def test_reporting_calendars_become_recurrences():
    plan = parse_plan(REAL / "son-la-2954-qd-ubnd-xuat-khau-2026-2030.txt")
    report = plan.tasks[-1]
    assert report.lead == ["Sở Công Thương"]
    kinds = [(m.kind, m.rrule) for m in report.milestones]
    assert (K.MONTHLY, "FREQ=MONTHLY;BYMONTHDAY=18") in kinds
    assert (K.YEARLY, "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=18") in kinds  # "6 tháng (trước ngày 18/5)"
    assert (K.YEARLY, "FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=30") in kinds
    assert plan.period == (2026, 2030) and plan.horizon == 2030  # not 2029


def test_label_lines_and_deadlines_inside_a_task():
    plan = parse_plan(REAL / "xa-luong-minh-16-kh-mttq-bau-cu.txt")
    first = plan.tasks[0]
    assert first.milestones[0].due == date(2025, 11, 30)  # "Dự kiến tháng 11/2025 (sau khi …)"
    assert first.lead == ["Đồng chí Phó chủ tịch Thường trực, phụ trách lĩnh vực Giám sát và Phản biện xã hội"]
    assert first.result.startswith("Dự thảo Hướng dẫn")
    conferences = plan.tasks[3]
    assert [m.due for m in conferences.milestones] == [date(2025, 12, 10), date(2026, 2, 3), date(2026, 2, 20),
                                                      date(2025, 12, 31), date(2026, 3, 31)]
    span = next(t for t in plan.tasks if t.label == "II.3.3")
    assert (span.milestones[0].start, span.milestones[0].due) == (date(2025, 12, 1), date(2026, 3, 31))


def test_year_less_dates_take_the_plans_year():
    plan = parse_plan(REAL / "tp-hcm-174-kh-ubnd-binh-dang-gioi.txt")
    first = plan.tasks[0]
    assert first.milestones[0].due == date(2025, 11, 25)  # "(ngày 25/11)" closing the clause, in the plan's year
    assert not first.milestones[0].needs_review
    assert first.lead == ["Sở Nội vụ"] and first.cooperating
    assert plan.tasks[-1].milestones[0].due == date(2025, 12, 16)  # "Chế độ báo cáo" with a date is a task


def test_json_carries_plan_facts_and_review_lines(capsys):
    assert main(["import", str(REAL / "nghe-an-980-kh-ubnd-phong-thu-dan-su.md"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["code"], printed["number"], printed["issued"]) == ("980-kh-ubnd", "980/KH-UBND", "2025-11-18")
    assert printed["issuer"] == "Ủy ban nhân dân tỉnh Nghệ An"
    assert [r["line"] for r in printed["review"]] == [97, 98, 100, 101]
    assert printed["tasks"][0]["label"] == "PL.I.1"


def test_a_document_with_tasks_and_unreadable_deadlines_exits_0_unless_strict(capsys):
    path = REAL / "nghe-an-980-kh-ubnd-phong-thu-dan-su.md"
    assert main(["import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(line 97)" in out and "due on an event" in out
    assert main(["import", str(path), "--strict"]) == 1


def test_quarterly_on_a_day_and_ongoing_from_a_date():
    text = ("UBND XÃ AN BÌNH\nSố: 12/KH-UBND    An Bình, ngày 10 tháng 02 năm 2026\n\nKẾ HOẠCH\nCÔNG TÁC NĂM 2026\n\n"
            "I. NHIỆM VỤ\n\n1- Báo cáo tiến độ.\n- Thời hạn: trước ngày 05 tháng cuối cùng của mỗi quý.\n\n"
            "2- Áp dụng quy trình mới.\n- Thời gian thực hiện: Từ 01/7/2026.\n\n"
            "3- Tổng kết.\n- Thời gian hoàn thành: trước ngày 05/6.\n")
    plan = parse_text(text)
    one, two, three = (t.milestones[0] for t in plan.tasks)
    assert (one.kind, one.rrule, one.due) == (K.QUARTERLY, "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=5", date(2026, 3, 5))
    assert (two.kind, two.start) == (K.ONGOING, date(2026, 7, 1))
    assert (three.due, three.needs_review) == (date(2026, 6, 5), False)


def test_daily_reports_are_an_ongoing_duty_not_a_folder_per_day():
    """An emergency plan's "báo cáo 02 lần/ngày (trước 9h00’ và 16h00’)": each commune owes it as an ongoing duty
    from the plan's date (one "Thường xuyên" folder, judged through the yearly report), never a deadline a day."""
    plan = parse_plan(REAL / "dak-lak-0129-kh-ubnd-nhu-yeu-pham-mua-lu.txt")
    daily = [(t, m) for t in plan.tasks for m in t.milestones if (m.rrule or "").startswith("FREQ=DAILY")]
    assert [(t.lead, m.phrase, m.rrule) for t, m in daily] == [
        (["Sở Công Thương"], "báo cáo UBND tỉnh trước 19h00’ hằng ngày và đột xuất khi cần thiết", "FREQ=DAILY;BYHOUR=19"),
        (["UBND các xã, phường"], "02 lần/ngày (trước 9h00’ và 16h00’)", "FREQ=DAILY;BYHOUR=9,16")]
    for _, m in daily:
        assert (m.kind, m.start, m.due, m.needs_review) == (K.ONGOING, date(2025, 11, 21), None, False)
    communes = [Unit(id=f"xa-{n}", name=f"UBND xã {n}", group=f"g{n}", kind="xã") for n in ("a", "b")]
    task = daily[1][0].number
    owed = [ob for ob in expand(plan, communes) if ob.task == task]
    assert [(ob.unit, ob.period, ob.due, ob.folder.rsplit("/", 1)[1]) for ob in owed] == [
        ("xa-a", "ongoing", None, "Thường xuyên"), ("xa-b", "ongoing", None, "Thường xuyên")]
    _, items = build_desired(plan, communes, expand(plan, communes))
    assert not any(i.uid.endswith(f"-ev-t{task:02d}-m1") for i in items)  # no deadline event, no alarm each day


def test_a_plain_every_day_is_not_a_daily_report():
    plan = parse_text("UBND XÃ AN BÌNH\nSố: 3/KH-UBND    An Bình, ngày 02 tháng 3 năm 2026\n\nKẾ HOẠCH\nCHĂM LO ĐỜI SỐNG\n\n"
                      "I. NHIỆM VỤ\n\n1. Chăm lo cuộc sống hằng ngày của nhân dân.\n\n"
                      "2. Cập nhật số hộ được hỗ trợ, báo cáo hằng ngày.\n")
    assert plan.tasks[0].milestones == []
    assert plan.tasks[1].milestones[0].rrule == "FREQ=DAILY" and plan.tasks[1].milestones[0].kind == K.ONGOING
