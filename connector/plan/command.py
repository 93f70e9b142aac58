"""`plan-connector import PATH [--json] [-o FILE.toml] [--previous FILE] [--strict] [--vocabulary FILE] [--units FILE]`.

With a previous version (the plan in the mapping -o rewrites, or --previous), its tasks are matched with the
new version's by content: a renumbered or reworded task keeps its identity (Task.ident), and so its folders,
reports and to-dos; a match that is not clear is asked about, not guessed (see connector.plan.versions).
"""
from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path

from connector.config import load_units
from connector.errors import ConfigError
from connector.models import Milestone, MilestoneKind, Plan, Unit
from connector.plan.mapping import load_plan, plan_from_mapping, read_mapping, write_mapping
from connector.plan.parser import parse_plan
from connector.plan.units import match_leads, match_units
from connector.plan.versions import assign_identities, describe, match_versions
from connector.plan.vocabulary import load_vocabulary

MAPPINGS_DIR = Path("mappings") / "plans"


def run(args) -> int:
    """Import a plan: print it as a table (or --json), optionally write its mapping; 1 if --strict finds flags
    (or tasks it cannot tell from the previous version's)."""
    vocabulary = load_vocabulary(getattr(args, "vocabulary", None))
    plan = parse_plan(args.path, vocabulary)
    units = load_units(args.units) if getattr(args, "units", None) else None
    if units is not None:
        match_leads(plan, units)  # written with -o, so the admin sees which names are which units
    target = mapping_path(args.output) if getattr(args, "output", None) else None
    versions = compare_with_previous(plan, getattr(args, "previous", None), target, vocabulary)
    shown = plan
    if target is not None:
        write_mapping(plan, target)
        shown = load_plan(mapping=target, vocabulary=vocabulary)  # what later steps will see, overrides applied
        if units is not None:
            match_leads(shown, units)  # a lead named in the overrides is matched too
        print(f"plan-connector: wrote {target}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps(shown.public_json(), ensure_ascii=False, indent=2))
        if versions is not None:  # stdout is the JSON: what changed since the previous version goes to stderr
            print("\n".join(versions[0]), file=sys.stderr)
    else:
        print(format_table(shown))
        if units is not None:
            print(format_matches(shown, units, args.units))
        if versions is not None:
            print("\n".join(versions[0]))
    flagged = sum(m.needs_review for t in shown.tasks for m in t.milestones)
    if getattr(args, "strict", False) and flagged:
        print(f"plan-connector: {flagged} milestone(s) need review (--strict)", file=sys.stderr)
        return 1
    if getattr(args, "strict", False) and versions is not None and versions[1]:
        print(f"plan-connector: {versions[1]} task(s) may be tasks of the previous version; pin them (--strict)",
              file=sys.stderr)
        return 1
    return 0


def previous_version(previous: str | None, target: Path | None, vocabulary) -> tuple[Plan, str] | None:
    """The previous version of the plan: --previous (a mapping .toml or a plan document), else the plan in the
    mapping -o rewrites; None when there is none."""
    if previous:
        if previous.lower().endswith(".toml"):
            return load_plan(mapping=previous, vocabulary=vocabulary), previous
        return parse_plan(previous, vocabulary), previous
    if target is None or not target.is_file():
        return None
    data = read_mapping(target)
    if "plan" not in data:
        return None
    try:
        return load_plan(mapping=target, vocabulary=vocabulary), str(target)
    except ConfigError:  # overrides that no longer fit: the stored plan as it is
        return plan_from_mapping(data, str(target)), str(target)


def compare_with_previous(plan: Plan, previous: str | None, target: Path | None,
                          vocabulary) -> tuple[list[str], int] | None:
    """Match the new version's tasks with the previous version's (see plan.versions), set their identities,
    and say what changed: (lines, number of unsure tasks), or None when there is nothing to compare with
    or nothing changed."""
    found = previous_version(previous, target, vocabulary)
    if found is None:
        return None
    old, source = found
    over = read_mapping(target).get("overrides", {}) if target is not None and target.is_file() else {}
    tasks_over = over.get("tasks", {}) if isinstance(over.get("tasks", {}), dict) else {}
    pins = {int(n): t["ident"] for n, t in tasks_over.items()
            if str(n).isdigit() and isinstance(t, dict) and type(t.get("ident")) is int}
    vmap = match_versions(old, plan, pins)
    assign_identities(plan, vmap, old)
    lines = describe(vmap, source) if vmap.changes() else []
    old_by_number = {t.number: t for t in old.tasks}
    continues = {m.task.number: m.old for m in vmap.matches}
    for n, table in tasks_over.items():
        if not str(n).isdigit() or set(table if isinstance(table, dict) else {}) <= {"ident"}:
            continue
        was = old_by_number.get(int(n))
        if was is not None and continues.get(int(n)) is not was:
            now = next((m.task.number for m in vmap.matches if m.old is was), None)
            where = f"now task {now}" if now is not None else "not in this version"
            lines.append(f"note: [overrides.tasks.{n}] was written for task {n} of the previous version "
                         f"(«{was.title[:50]}»), {where}: move it to the task it is meant for")
    code = (over.get("plan") or {}).get("code") or plan.code
    if old.code and code != old.code:
        lines.append(f"note: the plan's code was {old.code!r}, now {code!r}: calendars, to-dos and the report root "
                     f"follow the code; to keep them, set [overrides.plan] code = \"{old.code}\"")
    unsure = sum(1 for m in vmap.matches if m.unsure is not None)
    return (lines, unsure) if lines else None


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
    numbering = [n for n in plan.notes if n.reason.startswith("numbered ")]
    if numbering:
        lines += ["Numbering:", *(f"  line {n.line}: {n.text} ({n.reason})" for n in numbering)]
    unread = [n for n in plan.notes if not n.reason.startswith(("task ", "numbered "))]
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
