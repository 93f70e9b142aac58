"""Plan + units -> obligations (pure): unit x milestone x period, plus the yearly report.

"Thực hiện thường xuyên" (ongoing) milestones have no date of their own; they are judged
through the plan's yearly report, which every unit owes once a year (Plan.annual_report_due).
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from datetime import date

from connector.models import Milestone, MilestoneKind, Obligation, Plan, Task, Unit
from connector.render.names import REPORT_FOLDER, period_folder, task_folder, unit_folder

Period = tuple[str, date | None, date | None]  # (label, start, due)

_QUARTER_END_MONTH = {1: 3, 2: 6, 3: 9, 4: 12}


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _on(year: int, month: int, day: int) -> date:
    """date(year, month, day) with the day clamped to the month (29/02 in a common year -> 28/02)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _first_year(milestone: Milestone, plan: Plan) -> int | None:
    if milestone.start:
        return milestone.start.year
    if milestone.due:
        return milestone.due.year
    return plan.year


def horizon(plan: Plan, start_year: int | None = None) -> int | None:
    """Last year recurring milestones run to: Plan.horizon, else the plan's (or start) year + 4."""
    if plan.horizon is not None:
        return plan.horizon
    base = plan.year if plan.year is not None else start_year
    return base + 4 if base is not None else None


def units_owing(milestone: Milestone, units: Sequence[Unit]) -> list[Unit]:
    """The units that owe this milestone: all, or those named by id or kind in the milestone."""
    if not milestone.units and not milestone.unit_kinds:
        return list(units)
    ids, kinds = set(milestone.units), set(milestone.unit_kinds)
    return [u for u in units if u.id in ids or u.kind in kinds]


def periods(milestone: Milestone, plan: Plan) -> list[Period]:
    """The periods a milestone falls due in: (label, start, due), in date order."""
    kind = milestone.kind
    if kind == MilestoneKind.ONCE:
        return [(milestone.due.isoformat(), milestone.start, milestone.due)] if milestone.due else []
    if kind == MilestoneKind.ONGOING:
        return [("ongoing", milestone.start, None)]
    if kind == MilestoneKind.UNKNOWN:
        return [("unknown", None, milestone.due)] if milestone.due else []
    month, day = (milestone.due.month, milestone.due.day) if milestone.due else (12, 31)
    if kind == MilestoneKind.TERM:
        return [(str(y), date(y, 1, 1), _on(y, month, day)) for y in sorted(set(milestone.years))]

    first = _first_year(milestone, plan)
    last = horizon(plan, first)
    if first is None or last is None:
        return []
    out: list[Period] = []
    for year in range(first, last + 1):
        if kind == MilestoneKind.YEARLY:
            out.append((str(year), date(year, 1, 1), _on(year, month, day)))
        elif kind == MilestoneKind.HALF_YEARLY:
            out.append((f"{year}-H1", date(year, 1, 1), date(year, 6, 30)))
            out.append((f"{year}-H2", date(year, 7, 1), date(year, 12, 31)))
        elif kind == MilestoneKind.QUARTERLY:
            for q, end_month in _QUARTER_END_MONTH.items():
                out.append((f"{year}-Q{q}", date(year, end_month - 2, 1), _month_end(year, end_month)))
        elif kind == MilestoneKind.MONTHLY:
            on_day = _monthly_day(milestone)
            for m in range(1, 13):
                end = _month_end(year, m)
                out.append((f"{year}-{m:02d}", date(year, m, 1), end.replace(day=min(on_day, end.day)) if on_day else end))
    # Sub-yearly kinds start with the period holding the milestone's start (else its first due).
    begin = milestone.start or milestone.due
    if begin and kind != MilestoneKind.YEARLY:
        out = [p for p in out if p[2] >= begin]
    if out and milestone.start and milestone.start <= out[0][2]:
        out[0] = (out[0][0], milestone.start, out[0][2])
    return out


def _monthly_day(milestone: Milestone) -> int | None:
    """The day of the month a monthly milestone falls due on ("trước ngày 10 hằng tháng"), None for month end."""
    m = re.search(r"BYMONTHDAY=(\d+)", milestone.rrule or "")
    return int(m.group(1)) if m else None


def report_periods(plan: Plan) -> list[Period]:
    """The yearly report's periods: plan.year .. horizon, due on Plan.annual_report_due."""
    first = plan.year if plan.year is not None else _earliest_due_year(plan.tasks)
    last = horizon(plan, first)
    if first is None or last is None:
        return []
    month, day = plan.annual_report_due
    return [(str(y), date(y, 1, 1), _on(y, month, day)) for y in range(first, last + 1)]


def _earliest_due_year(tasks: Iterable[Task]) -> int | None:
    years = [m.due.year for t in tasks for m in t.milestones if m.due]
    return min(years) if years else None


def _task_slots(task: Task, plan: Plan) -> list[tuple[int, Milestone, list[tuple[Period, str]]]]:
    """Per milestone: its periods, each with "<task folder>/<period folder>".

    A period folder an earlier milestone of the same task already uses gets " (mốc N)".
    """
    tfolder = task_folder(task)
    used: set[str] = set()
    slots = []
    for index, milestone in enumerate(task.milestones, start=1):
        entries = []
        for label, start, due in periods(milestone, plan):
            pfolder = period_folder(milestone.kind, label, due)
            if pfolder in used:
                pfolder = f"{pfolder} (mốc {index})"
            entries.append(((label, start, due), f"{tfolder}/{pfolder}"))
        used.update(suffix.rsplit("/", 1)[1] for _, suffix in entries)
        slots.append((index, milestone, entries))
    return slots


def expand(plan: Plan, units: Sequence[Unit]) -> list[Obligation]:
    """Every obligation of the plan: per unit (in the given order), the yearly report, then
    each task, milestone and period."""
    report = [((label, start, due), f"{REPORT_FOLDER}/{period_folder('report', label, due)}")
              for label, start, due in report_periods(plan)]
    # (task number, milestone index, kind, unit ids owing it or None for all, entries)
    slots = []
    for task in sorted(plan.tasks, key=lambda t: t.number):
        for index, milestone, entries in _task_slots(task, plan):
            owing = None
            if milestone.units or milestone.unit_kinds:
                owing = {u.id for u in units_owing(milestone, units)}
            slots.append((task.number, index, milestone.kind, owing, entries))

    out: list[Obligation] = []
    make = Obligation.model_construct  # fields are built here from typed values; skip re-validation
    for unit in units:
        ufolder = unit_folder(unit)
        for (label, start, due), suffix in report:
            out.append(make(unit=unit.id, task=0, milestone=0, period=label, due=due, start=start,
                            kind=MilestoneKind.YEARLY, folder=f"{ufolder}/{suffix}"))
        for task_no, index, kind, owing, entries in slots:
            if owing is not None and unit.id not in owing:
                continue
            for (label, start, due), suffix in entries:
                out.append(make(unit=unit.id, task=task_no, milestone=index, period=label, due=due,
                                start=start, kind=kind, folder=f"{ufolder}/{suffix}"))
    return out
