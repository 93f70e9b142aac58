"""How a new version of a plan maps onto the previous one (pure): which task is which.

A task's identity (Task.ident, else its number) keys its folders, reports and to-dos. A new version
may insert, drop, renumber or reword tasks; matching by content keeps each task's identity:
the same wording (or nearly) is the same task whatever its number now. A match that is not clear
is not guessed: the task is treated as new and `import` asks the admin to pin it in the mapping
(`[overrides.tasks.N] ident = M`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from connector.models import Plan, Task
from connector.text import nfc

SURE = 0.8  # a pair at least this alike (and clearly the best for both) is the same task
MAYBE = 0.5  # below this: a different task
_WORD = re.compile(r"\w+")


def identity(task: Task) -> int:
    """The number that keys a task's obligations: Task.ident, else its number."""
    return task.ident or task.number


def _words(text: str) -> list[str]:
    return _WORD.findall(nfc(text).lower())


def similarity(a: Task, b: Task) -> float:
    """0..1: how alike two tasks' wording is (the better of title and whole-text likeness)."""
    def ratio(x: str, y: str) -> float:
        wx, wy = _words(x), _words(y)
        if not wx or not wy:
            return 0.0
        return SequenceMatcher(None, wx, wy, autojunk=False).ratio()

    return max(ratio(a.title, b.title), ratio(f"{a.title} {a.text}", f"{b.title} {b.text}"))


@dataclass
class TaskMatch:
    """One task of the new version and what it was."""

    task: Task
    old: Task | None  # the previous version's task it continues; None: a new task
    score: float = 0.0
    unsure: Task | None = None  # a previous task it may be (not applied: the admin pins it)
    pinned: bool = False  # the mapping's `ident` override decided

    @property
    def renumbered(self) -> bool:
        return self.old is not None and self.old.number != self.task.number

    @property
    def retitled(self) -> bool:
        return self.old is not None and nfc(self.old.title).strip() != nfc(self.task.title).strip()


@dataclass
class VersionMap:
    matches: list[TaskMatch]
    dropped: list[Task]  # previous tasks no task of the new version continues

    def changes(self) -> int:
        return (sum(1 for m in self.matches if m.old is None or m.renumbered or m.retitled or m.unsure)
                + len(self.dropped))


def match_versions(old: Plan, new: Plan, pinned: dict[int, int] | None = None) -> VersionMap:
    """Pair the new version's tasks with the previous version's, best likeness first, one to one.

    `pinned`: new task number -> identity the mapping gives it (`ident` override); those are not guessed.
    A pair counts when it is at least SURE alike and no other pairing comes within 0.1 of it; a pair
    between MAYBE and that is reported as unsure and not applied.
    """
    pinned = pinned or {}
    by_ident = {identity(t): t for t in old.tasks}
    matches: dict[int, TaskMatch] = {}
    taken: set[int] = set()
    for t in new.tasks:
        if t.number in pinned:
            t.ident = 0 if pinned[t.number] == t.number else pinned[t.number]
            o = by_ident.get(pinned[t.number])
            matches[t.number] = TaskMatch(t, o, similarity(t, o) if o else 0.0, pinned=True)
            if o is not None:
                taken.add(identity(o))
    free_new = [t for t in new.tasks if t.number not in matches]
    free_old = [t for t in old.tasks if identity(t) not in taken]
    scores = {(n.number, identity(o)): similarity(n, o) for n in free_new for o in free_old}

    def best_other(number: int, ident: int) -> float:
        """The best score either side of the pair has with anything else."""
        rivals = [s for (n, i), s in scores.items() if (n == number) != (i == ident)]
        return max(rivals, default=0.0)

    used_new: set[int] = set()
    for (number, ident), score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
        if number in used_new or ident in taken or score < MAYBE:
            continue
        task = next(t for t in free_new if t.number == number)
        o = by_ident[ident]
        same_place = o.number == number
        clear = score >= SURE and best_other(number, ident) <= score - 0.1
        if clear or (same_place and score >= MAYBE):
            matches[number] = TaskMatch(task, o, score)
            used_new.add(number)
            taken.add(ident)
        elif number not in matches:
            matches[number] = TaskMatch(task, None, score, unsure=o)
    for t in free_new:
        matches.setdefault(t.number, TaskMatch(t, None))
    ordered = [matches[t.number] for t in new.tasks]
    # An unsure pairing whose previous task another task continued is no question any more.
    for m in ordered:
        if m.unsure is not None and identity(m.unsure) in taken:
            m.unsure = None
    return VersionMap(ordered, [t for t in old.tasks if identity(t) not in taken])


def assign_identities(new: Plan, version_map: VersionMap, old: Plan) -> None:
    """Set Task.ident on the new version: a continued task keeps the previous identity; a new task keeps
    its number unless that number is an identity of the previous version (or taken), then a fresh one."""
    old_idents = {identity(t) for t in old.tasks}
    used = {identity(m.old) for m in version_map.matches if m.old is not None}
    used |= {identity(m.task) for m in version_map.matches if m.pinned}
    fresh = max([*old_idents, *(t.number for t in old.tasks), *(t.number for t in new.tasks), *used], default=0)
    for m in version_map.matches:
        if m.pinned:
            continue
        if m.old is not None:
            ident = identity(m.old)
        elif m.task.number not in old_idents and m.task.number not in used:
            ident = m.task.number
        else:
            fresh += 1
            ident = fresh
        used.add(ident)
        m.task.ident = 0 if ident == m.task.number else ident


def describe(version_map: VersionMap, source: str) -> list[str]:
    """Lines for people: what changed since the previous version, and what to pin when unsure."""
    lines = ["", f"Compared with the previous version ({source}):"]
    same = 0
    for m in version_map.matches:
        t = m.task
        if m.old is None and m.unsure is not None:
            lines.append(f"  task {t.number} ? may be task {m.unsure.number} of the previous version "
                         f"(«{_short(m.unsure.title)}», likeness {m.score:.2f}): treated as new; if it is the same task, "
                         f"pin it: [overrides.tasks.{t.number}] ident = {identity(m.unsure)}")
        elif m.old is None:
            lines.append(f"  task {t.number}: new" + (" (pinned)" if m.pinned else ""))
        elif m.renumbered or m.retitled:
            what = []
            if m.renumbered:
                what.append(f"was task {m.old.number}")
            if m.retitled:
                what.append(f"retitled from «{_short(m.old.title)}»")
            lines.append(f"  task {t.number}: {', '.join(what)}; keeps its folders, reports and to-dos"
                         + (" (pinned)" if m.pinned else ""))
        else:
            same += 1
    for o in version_map.dropped:
        lines.append(f"  task {o.number} of the previous version («{_short(o.title)}») is not in this one: "
                     "its folders and reports stay where they are")
    lines.append(f"{same} task(s) unchanged, {version_map.changes()} change(s)")
    return lines


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(nfc(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
