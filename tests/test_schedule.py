"""Schedule: which unit owes what, for which period, due when, uploaded where."""
from __future__ import annotations

import unicodedata
from collections import Counter
from datetime import date, datetime

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from connector.models import Milestone, MilestoneKind, Task, Unit
from connector.plan import parse_text
from connector.render.ical import build_desired
from connector.schedule import expand, periods, units_owing
from plan_samples import large_plan, sample_units, seed_like_plan


def _ms(kind: MilestoneKind, **kw) -> Milestone:
    return Milestone(phrase=kw.pop("phrase", "thời hạn"), kind=kind, **kw)


def test_every_unit_owes_the_seed_plan_milestones_and_four_yearly_reports():
    plan, units = seed_like_plan(), sample_units(8)
    obligations = expand(plan, units)

    per_unit = Counter(ob.unit for ob in obligations)
    # report 4 + NV1 2 + NV2 1 + NV6 1 + NV7 (1 + 4 years) + NV11 2 + NV18 1
    assert per_unit == {u.id: 16 for u in units}
    reports = [ob for ob in obligations if ob.unit == "cb-a" and ob.task == 0]
    assert [(ob.period, ob.due) for ob in reports] == [
        ("2022", date(2022, 12, 15)), ("2023", date(2023, 12, 15)),
        ("2024", date(2024, 12, 15)), ("2025", date(2025, 12, 15))]
    assert {ob.milestone for ob in reports} == {0}
    assert reports[0].folder == "Chi bộ A/Báo cáo hằng năm/Năm 2022"


def test_a_once_milestone_is_one_period_labelled_by_its_due_date():
    plan = seed_like_plan()
    milestone = plan.tasks[0].milestones[1]
    assert periods(milestone, plan) == [("2022-02-28", None, date(2022, 2, 28))]


def test_yearly_from_2022_runs_to_the_horizon_on_the_same_day():
    plan = seed_like_plan()
    yearly = plan.tasks[3].milestones[1]
    assert periods(yearly, plan) == [(str(y), date(y, 1, 1), date(y, 12, 31)) for y in range(2022, 2026)]

    mid_year = _ms(MilestoneKind.YEARLY, due=date(2023, 6, 15))
    assert [(label, due) for label, _, due in periods(mid_year, plan)] == [
        ("2023", date(2023, 6, 15)), ("2024", date(2024, 6, 15)), ("2025", date(2025, 6, 15))]


def test_a_yearly_29_february_falls_on_28_february_in_common_years():
    plan = seed_like_plan()
    leap = _ms(MilestoneKind.YEARLY, due=date(2024, 2, 29))
    assert [due for _, _, due in periods(leap, plan)] == [date(2024, 2, 29), date(2025, 2, 28)]


def test_without_a_horizon_recurring_milestones_run_four_years_past_the_plan_year():
    plan = seed_like_plan()
    plan.horizon = None
    yearly = _ms(MilestoneKind.YEARLY)
    assert [label for label, _, _ in periods(yearly, plan)] == ["2022", "2023", "2024", "2025", "2026"]


def test_half_yearly_quarterly_and_monthly_periods_end_on_the_last_day():
    plan = seed_like_plan()
    half = periods(_ms(MilestoneKind.HALF_YEARLY, due=date(2025, 6, 30)), plan)
    assert half == [("2025-H1", date(2025, 1, 1), date(2025, 6, 30)), ("2025-H2", date(2025, 7, 1), date(2025, 12, 31))]

    quarters = periods(_ms(MilestoneKind.QUARTERLY, due=date(2025, 3, 31)), plan)
    assert [(label, due) for label, _, due in quarters] == [
        ("2025-Q1", date(2025, 3, 31)), ("2025-Q2", date(2025, 6, 30)),
        ("2025-Q3", date(2025, 9, 30)), ("2025-Q4", date(2025, 12, 31))]

    # starting in February 2025: the first month is February, not January
    months = periods(_ms(MilestoneKind.MONTHLY, due=date(2025, 2, 28)), plan)
    assert months[0] == ("2025-02", date(2025, 2, 1), date(2025, 2, 28))
    assert months[-1][0] == "2025-12" and len(months) == 11


def test_term_ongoing_and_unknown_milestones():
    plan = seed_like_plan()
    term = plan.tasks[4].milestones[0]
    assert periods(term, plan) == [("2021", date(2021, 1, 1), date(2021, 12, 31)),
                                   ("2023", date(2023, 1, 1), date(2023, 12, 31))]
    assert periods(plan.tasks[2].milestones[0], plan) == [("ongoing", None, None)]
    assert periods(_ms(MilestoneKind.UNKNOWN, due=date(2022, 5, 10)), plan) == [("unknown", None, date(2022, 5, 10))]
    assert periods(_ms(MilestoneKind.UNKNOWN), plan) == []


def test_a_milestone_narrowed_by_kind_or_id_is_owed_only_by_those_units():
    units = sample_units(8)
    by_kind = _ms(MilestoneKind.ONCE, due=date(2022, 2, 28), unit_kinds=["đoàn thể"])
    assert [u.id for u in units_owing(by_kind, units)] == ["doan-thanh-nien", "cong-doan-khoi"]

    by_kind_or_id = _ms(MilestoneKind.ONCE, due=date(2022, 2, 28), unit_kinds=["ban"], units=["cb-a"])
    assert [u.id for u in units_owing(by_kind_or_id, units)] == ["cb-a", "ban-to-chuc", "ubkt"]
    assert units_owing(_ms(MilestoneKind.ONCE), units) == units

    plan = seed_like_plan()
    plan.tasks[5].milestones[0].unit_kinds = ["đảng ủy cơ sở"]
    owing_18 = {ob.unit for ob in expand(plan, units) if ob.task == 18}
    assert owing_18 == {"du-vnpt", "du-dien-luc"}


def test_obligations_come_in_unit_then_task_milestone_period_order():
    plan, units = seed_like_plan(), sample_units(3)
    keys = [ob.key for ob in expand(plan, units)]
    assert keys == [ob.key for ob in expand(plan, units)]  # deterministic
    assert keys[:5] == ["cb-a/0/0/2022", "cb-a/0/0/2023", "cb-a/0/0/2024", "cb-a/0/0/2025", "cb-a/1/1/once"]
    assert [k.split("/")[0] for k in keys] == sorted([k.split("/")[0] for k in keys], key=[u.id for u in units].index)
    assert len(set(keys)) == len(keys)


def test_folders_name_unit_task_and_period_in_vietnamese():
    plan = seed_like_plan()
    obligations = {ob.key: ob for ob in expand(plan, sample_units(2))}
    assert obligations["cb-a/7/1/once"].folder == (
        "Chi bộ A/07 – Xây dựng Kế hoạch thực hiện Kết luận phù hợp với chức năng…/Tháng 02-2022")
    assert obligations["cb-a/7/2/2024"].folder.endswith("/Năm 2024")
    assert obligations["du-vnpt/6/1/ongoing"].folder.endswith("/Thường xuyên")
    assert obligations["cb-a/2/1/once"].folder.startswith("Chi bộ A/02 – Mở đợt sinh hoạt")
    for ob in obligations.values():
        assert unicodedata.is_normalized("NFC", ob.folder)
        assert ob.folder.count("/") == 2


def test_two_milestones_of_a_task_due_in_the_same_month_get_separate_folders():
    plan = seed_like_plan()
    plan.tasks[0].milestones[0].due = date(2022, 2, 28)  # both of NV 1 now in February
    folders = [ob.folder for ob in expand(plan, sample_units(1)) if ob.task == 1]
    assert folders == ["Chi bộ A/01 – Tổ chức Hội nghị cán bộ cốt cán quán triệt Kết luận/Tháng 02-2022",
                       "Chi bộ A/01 – Tổ chức Hội nghị cán bộ cốt cán quán triệt Kết luận/Tháng 02-2022 (mốc 2)"]


def test_a_unit_name_with_a_slash_stays_one_folder_level():
    plan = seed_like_plan()
    unit = Unit(id="cb-x", name="Chi bộ Phòng Tổ chức/Hành chính", group="g", kind="chi bộ cơ sở")
    folder = expand(plan, [unit])[0].folder
    assert folder == "Chi bộ Phòng Tổ chức-Hành chính/Báo cáo hằng năm/Năm 2022"


def test_a_task_with_no_dated_milestone_still_gets_its_ongoing_obligation():
    plan = seed_like_plan()
    plan.tasks = [Task(number=12, title="Giữ vững nguyên tắc tổ chức", text="…",
                       milestones=[_ms(MilestoneKind.ONGOING, phrase="thực hiện thường xuyên")])]
    keys = [ob.key for ob in expand(plan, sample_units(1))]
    assert keys == ["cb-a/0/0/2022", "cb-a/0/0/2023", "cb-a/0/0/2024", "cb-a/0/0/2025", "cb-a/12/1/ongoing"]


def test_nineteen_tasks_for_three_hundred_units_expand_to_unique_obligations():
    """Correctness at scale; the speed is measured by scripts/bench.py, not by a timed test."""
    plan, units = large_plan(19), sample_units(300)
    obligations = expand(plan, units)
    assert len(obligations) > 10_000 and len({ob.key for ob in obligations}) == len(obligations)


def test_quarterly_on_a_day_falls_on_that_day_of_each_quarters_last_month():
    """"trước ngày 05 tháng cuối cùng của mỗi quý": 05/03, 05/06, 05/09, 05/12 — not the quarter's last day."""
    plan = parse_text("UBND XÃ AN BÌNH\nSố: 12/KH-UBND    An Bình, ngày 10 tháng 02 năm 2026\n\nKẾ HOẠCH\n"
                      "CÔNG TÁC GIAI ĐOẠN 2026 - 2027\n\nI. NHIỆM VỤ\n\n1- Báo cáo tiến độ.\n"
                      "- Thời hạn: trước ngày 05 tháng cuối cùng của mỗi quý.\n")
    quarterly = plan.tasks[0].milestones[0]
    assert [(label, start, due) for label, start, due in periods(quarterly, plan)][:2] == [
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 5)), ("2026-Q2", date(2026, 4, 1), date(2026, 6, 5))]
    assert [due for _, _, due in periods(quarterly, plan)][-1] == date(2027, 12, 5)


def test_monthly_and_half_yearly_keep_their_day_and_a_short_month_ends_early():
    plan = seed_like_plan()
    on_31 = _ms(MilestoneKind.MONTHLY, due=date(2025, 1, 31), rrule="FREQ=MONTHLY;BYMONTHDAY=31")
    assert [due for _, _, due in periods(on_31, plan)][:4] == [
        date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)]
    mid_half = _ms(MilestoneKind.HALF_YEARLY, due=date(2025, 1, 20), rrule="FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=20")
    assert [due for _, _, due in periods(mid_half, plan)] == [date(2025, 1, 20), date(2025, 7, 20)]


RECURRING = [
    ("quarterly on the 5th", _ms(MilestoneKind.QUARTERLY, due=date(2022, 3, 5), start=date(2022, 1, 1),
                                 rrule="FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=5")),
    ("quarterly at the end", _ms(MilestoneKind.QUARTERLY, due=date(2022, 6, 30),
                                 rrule="FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1")),
    ("quarterly, no rrule", _ms(MilestoneKind.QUARTERLY, due=date(2022, 3, 20))),
    ("monthly on the 31st", _ms(MilestoneKind.MONTHLY, due=date(2022, 1, 31), rrule="FREQ=MONTHLY;BYMONTHDAY=31")),
    ("monthly on the 10th", _ms(MilestoneKind.MONTHLY, due=date(2022, 5, 10), rrule="FREQ=MONTHLY;BYMONTHDAY=10")),
    ("monthly at the end", _ms(MilestoneKind.MONTHLY, due=date(2022, 2, 28), rrule="FREQ=MONTHLY;BYMONTHDAY=-1")),
    ("half-yearly at the end", _ms(MilestoneKind.HALF_YEARLY, due=date(2022, 6, 30),
                                   rrule="FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=-1")),
    ("half-yearly on the 16th", _ms(MilestoneKind.HALF_YEARLY, due=date(2022, 6, 16),
                                    rrule="FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=16")),
    ("yearly on 29/02", _ms(MilestoneKind.YEARLY, due=date(2024, 2, 29), rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29")),
    ("yearly on 20/11", _ms(MilestoneKind.YEARLY, due=date(2022, 11, 20), rrule="FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=20")),
]


@pytest.mark.parametrize("milestone", [m for _, m in RECURRING], ids=[name for name, _ in RECURRING])
def test_the_deadline_events_rrule_gives_the_obligations_due_dates(milestone):
    """A member's calendar shows the dates the register judges: the event's RRULE, expanded, is the list of
    schedule.periods' due dates."""
    plan, units = seed_like_plan(), sample_units(2)
    plan.tasks[0].milestones = [milestone]
    _, items = build_desired(plan, units, expand(plan, units))
    event = next(c for i in items if i.uid.endswith("-ev-t01-m1")
                 for c in Calendar.from_ical(i.ics).subcomponents if c.name == "VEVENT")
    start = event.decoded("DTSTART")
    rule = event["RRULE"].to_ical().decode()
    expanded = [d.date() for d in rrulestr(rule, dtstart=datetime(start.year, start.month, start.day))]
    owed = sorted({ob.due for ob in expand(plan, units) if ob.task == 1})
    assert [due for _, _, due in periods(milestone, plan)] == owed
    assert expanded == owed
