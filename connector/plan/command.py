"""`plan-connector import PATH [--json] [-o FILE.toml] [--strict] [--vocabulary FILE] [--units FILE]`."""
from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path

from connector.config import load_units
from connector.models import Milestone, MilestoneKind, Plan, Unit
from connector.plan.mapping import load_plan, write_mapping
from connector.plan.parser import parse_plan
from connector.plan.units import match_leads, match_units
from connector.plan.vocabulary import load_vocabulary

MAPPINGS_DIR = Path("mappings") / "plans"


def run(args) -> int:
    """Import a plan: print it as a table (or --json), optionally write its mapping; 1 if --strict finds flags."""
    vocabulary = load_vocabulary(getattr(args, "vocabulary", None))
    plan = parse_plan(args.path, vocabulary)
    units = load_units(args.units) if getattr(args, "units", None) else None
    if units is not None:
        match_leads(plan, units)  # written with -o, so the admin sees which names are which units
    shown = plan
    if getattr(args, "output", None):
        target = mapping_path(args.output)
        write_mapping(plan, target)
        shown = load_plan(mapping=target, vocabulary=vocabulary)  # what later steps will see, overrides applied
        if units is not None:
            match_leads(shown, units)  # a lead named in the overrides is matched too
        print(f"plan-connector: wrote {target}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps(shown.public_json(), ensure_ascii=False, indent=2))
    else:
        print(format_table(shown))
        if units is not None:
            print(format_matches(shown, units, args.units))
    flagged = sum(m.needs_review for t in shown.tasks for m in t.milestones)
    if getattr(args, "strict", False) and flagged:
        print(f"plan-connector: {flagged} milestone(s) need review (--strict)", file=sys.stderr)
        return 1
    return 0


def mapping_path(output: str) -> Path:
    """A bare file name goes under mappings/plans/; a path is used as given."""
    path = Path(output)
    return MAPPINGS_DIR / path if path.parent == Path(".") and not output.startswith(".") else path


def _d(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def due_text(m: Milestone) -> str:
    """The due date(s) of a milestone as people read them (dd/mm/yyyy)."""
    if m.kind == MilestoneKind.ONGOING:
        since = f"ongoing from {_d(m.start)}" if m.start else "ongoing"
        if (m.rrule or "").startswith("FREQ=DAILY"):  # a daily report: no per-day deadline (see vocabulary "daily")
            hours = re.search(r"BYHOUR=([\d,]+)", m.rrule or "")
            at = " at " + ", ".join(f"{h}h" for h in hours.group(1).split(",")) if hours else ""
            return f"daily{at}, {since}"
        return since
    if m.kind == MilestoneKind.TERM:
        return ", ".join(_d(date(y, m.due.month if m.due else 12, m.due.day if m.due else 31)) for y in m.years) or "?"
    if m.due is None:
        return "?"
    if m.kind == MilestoneKind.YEARLY:
        return f"{_d(m.due)}, then every {m.due.day:02d}/{m.due.month:02d}"
    step = {MilestoneKind.HALF_YEARLY: "6 months", MilestoneKind.QUARTERLY: "3 months", MilestoneKind.MONTHLY: "month"}
    if m.kind in step:
        day = re.search(r"BYMONTHDAY=(\d+)", m.rrule or "")
        on = f"day {int(day.group(1)):02d}" if day else "the month's end"
        return f"{_d(m.due)}, then {on} every {step[m.kind]}"
    return _d(m.due)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(plan: Plan) -> str:
    """The plain-text table `import` prints: task, short title, each milestone's phrase, kind, due date(s), flags."""
    facts = [f"code {plan.code}"] + ([f"number {plan.number}"] if plan.number else [])
    for label, value in (("issuer", plan.issuer), ("signer", plan.signer),
                         ("issued", _d(plan.issued) if plan.issued else None), ("year", plan.year),
                         ("term", f"{plan.term[0]}-{plan.term[1]}" if plan.term else None),
                         ("period", f"{plan.period[0]}-{plan.period[1]}" if plan.period else None),
                         ("horizon", plan.horizon)):
        if value:
            facts.append(f"{label} {value}")
    rows = [("#", "Task", "Deadline phrase", "Kind", "Due", "Flags")]
    notes = []
    for task in plan.tasks:
        first = True
        for i, m in enumerate(task.milestones or [None], 1):
            number, title = (str(task.number), task.title) if first else ("", "")
            first = False
            if m is None:
                rows.append((number, title, "—", "", "", "no deadline"))
                continue
            rows.append((number, title, m.phrase, m.kind.value, due_text(m), "REVIEW" if m.needs_review else ""))
            if m.flags:
                where = f" (line {m.line})" if m.line else ""
                notes.append(f"  task {task.number}, milestone {i}{where}: {'; '.join(m.flags)}")
    widths = [3, 42, 32, 11, 30, 11]
    lines = [plan.title, " · ".join(facts), ""]
    for row in rows:
        lines.append("  ".join(_fit(cell, w).ljust(w) for cell, w in zip(row, widths)).rstrip())
    milestones = sum(len(t.milestones) for t in plan.tasks)
    flagged = sum(m.needs_review for t in plan.tasks for m in t.milestones)
    lines += ["", f"{len(plan.tasks)} tasks, {milestones} milestones, {flagged} to review"]
    if notes:
        lines += ["Review:", *notes]
    unread = [n for n in plan.notes if not n.reason.startswith("task ")]
    if unread:
        lines += ["Not read:", *(f"  line {n.line}: {n.text} ({n.reason})" for n in unread)]
    return "\n".join(lines)


def format_matches(plan: Plan, units: list[Unit], source: str) -> str:
    """Which lead and cooperating names are which units of the units file; the tasks whose lead names match
    units are owed by those units only (sync), the others by every unit."""
    lines = ["", f"Units ({source}):"]
    names = matched = 0
    for task in plan.tasks:
        parts = []
        for role, listed in (("lead", task.lead), ("cooperating", task.cooperating)):
            for name in listed:
                ids = match_units([name], units)
                names += 1
                matched += bool(ids)
                parts.append(f"{role} {name} → {', '.join(ids) if ids else '—'}")
        if parts:
            owed = ", ".join(task.lead_units) if task.lead_units else "every unit"
            lines.append(f"  task {task.number} (owed by {owed}): " + "; ".join(parts))
    lines.append(f"{matched} of {names} names match a unit")
    return "\n".join(lines)
