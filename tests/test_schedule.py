"""Schedule: which unit owes what, for which period, due when, uploaded where."""
from __future__ import annotations

import unicodedata
from collections import Counter
from datetime import date

from connector.models import Milestone, MilestoneKind, Task, Unit
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
    assert keys[:5] == ["cb-a/0/0/2022", "cb-a/0/0/2023", "cb-a/0/0/2024", "cb-a/0/0/2025", "cb-a/1/1/2022-01-31"]
    assert [k.split("/")[0] for k in keys] == sorted([k.split("/")[0] for k in keys], key=[u.id for u in units].index)
    assert len(set(keys)) == len(keys)


def test_folders_name_unit_task_and_period_in_vietnamese():
    plan = seed_like_plan()
    obligations = {ob.key: ob for ob in expand(plan, sample_units(2))}
    assert obligations["cb-a/7/1/2022-02-28"].folder == (
        "Chi bộ A/07 – Xây dựng Kế hoạch thực hiện Kết luận phù hợp với chức năng, nhiệm/Tháng 02-2022")
    assert obligations["cb-a/7/2/2024"].folder.endswith("/Năm 2024")
    assert obligations["du-vnpt/6/1/ongoing"].folder.endswith("/Thường xuyên")
    assert obligations["cb-a/2/1/2022-03-31"].folder.startswith("Chi bộ A/02 – Mở đợt sinh hoạt")
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
