"""Plan + units -> obligations (pure): unit x milestone x period, plus the yearly report.

"Thực hiện thường xuyên" (ongoing) milestones have no date of their own; they are judged
through the plan's yearly report, which every unit owes once a year (Plan.annual_report_due).
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from datetime import date

from connector.errors import ConfigError
from connector.models import Milestone, MilestoneKind, Obligation, Plan, Task, Unit
from connector.render.names import DEFAULT_RULES, REPORT_FOLDER, NameRules, period_folder, task_folder, unit_folder

Period = tuple[str, date | None, date | None]  # (label, start, due)

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
    step = _STEP.get(kind)
    offset, on_day = _due_in_period(milestone, step) if step else (0, None)
    for year in range(first, last + 1):
        if kind == MilestoneKind.YEARLY:
            out.append((str(year), date(year, 1, 1), _on(year, month, day)))
            continue
        for n, opening in enumerate(range(1, 13, step), 1):  # the period's first month
            label = {6: f"{year}-H{n}", 3: f"{year}-Q{n}", 1: f"{year}-{opening:02d}"}[step]
            due = _on(year, opening + offset, on_day) if on_day else _month_end(year, opening + offset)
            out.append((label, date(year, opening, 1), due))
    # Sub-yearly kinds start with the period holding the milestone's start (else its first due).
    begin = milestone.start or milestone.due
    if begin and kind != MilestoneKind.YEARLY:
        out = [p for p in out if p[2] >= begin]
    if out and milestone.start and milestone.start <= out[0][2]:
        out[0] = (out[0][0], milestone.start, out[0][2])
    return out


_STEP = {MilestoneKind.HALF_YEARLY: 6, MilestoneKind.QUARTERLY: 3, MilestoneKind.MONTHLY: 1}


def _due_in_period(milestone: Milestone, step: int) -> tuple[int, int | None]:
    """Where in each period a half-yearly, quarterly or monthly milestone falls due: (month of the period,
    0-based; day of that month, None for its last day).

    The day is the rrule's BYMONTHDAY ("trước ngày 10 hằng tháng" → 10; -1 → month end), else the first due
    date's day; the month is the first due date's month within its period ("trước ngày 05 tháng cuối cùng
    của mỗi quý" → the third), else the period's last. This is what the event's RRULE (FREQ=MONTHLY;
    INTERVAL=step;BYMONTHDAY=day from the first due date) gives, so events and obligations agree."""
    due = milestone.due
    offset = (due.month - 1) % step if due else step - 1
    found = re.search(r"BYMONTHDAY=(-?\d+)", milestone.rrule or "")
    if found:
        day = int(found.group(1))
        return offset, day if day > 0 else None
    if due and due.day != calendar.monthrange(due.year, due.month)[1]:
        return offset, due.day
    return offset, None


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


def _task_slots(task: Task, plan: Plan,
                rules: NameRules = DEFAULT_RULES) -> list[tuple[int, Milestone, list[tuple[Period, str]]]]:
    """Per milestone: its periods, each with "<task folder>/<period folder>".

    A period folder an earlier milestone of the same task already uses gets " (mốc N)".
    """
    tfolder = task_folder(task, rules)
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


def expand(plan: Plan, units: Sequence[Unit], rules: NameRules = DEFAULT_RULES) -> list[Obligation]:
    """Every obligation of the plan: per unit (in the given order), the yearly report, then
    each task, milestone and period. `rules`: what folder names may not hold on the server."""
    report = [((label, start, due), f"{REPORT_FOLDER}/{period_folder('report', label, due)}")
              for label, start, due in report_periods(plan)]
    check_identities(plan)
    # (task number, its identity, milestone index, kind, unit ids owing it or None for all, entries)
    slots = []
    for task in sorted(plan.tasks, key=lambda t: t.number):
        ident = task.ident if task.ident and task.ident != task.number else 0
        for index, milestone, entries in _task_slots(task, plan, rules):
            owing = None
            if milestone.units or milestone.unit_kinds:
                owing = {u.id for u in units_owing(milestone, units)}
            slots.append((task.number, ident, index, milestone.kind, owing, entries))

    out: list[Obligation] = []
    make = Obligation.model_construct  # fields are built here from typed values; skip re-validation
    for unit in units:
        ufolder = unit_folder(unit, rules)
        for (label, start, due), suffix in report:
            out.append(make(unit=unit.id, task=0, milestone=0, period=label, due=due, start=start,
                            kind=MilestoneKind.YEARLY, folder=f"{ufolder}/{suffix}"))
        for task_no, ident, index, kind, owing, entries in slots:
            if owing is not None and unit.id not in owing:
                continue
            for (label, start, due), suffix in entries:
                out.append(make(unit=unit.id, task=task_no, milestone=index, period=label, due=due,
                                start=start, kind=kind, folder=f"{ufolder}/{suffix}", ident=ident))
    return out


def task_identity(task: Task) -> int:
    """What keys a task's obligations across plan versions: Task.ident, else its number."""
    return task.ident or task.number


def check_identities(plan: Plan) -> None:
    """Two tasks of one plan never share an identity (a mapping's `ident` pinned twice)."""
    seen: dict[int, int] = {}
    for task in sorted(plan.tasks, key=lambda t: t.number):
        ident = task_identity(task)
        if ident in seen:
            raise ConfigError(f"tasks {seen[ident]} and {task.number} are both task {ident} of the earlier plan "
                              "version (ident): pin one of them otherwise in the plan mapping")
        seen[ident] = task.number
