"""Report folders: one tree per plan, one folder per unit, one sub-folder per obligation.

A period's folder is made when it is needed: once the period has started or starts within
`[sync] folders_ahead_days` (past periods always, so late reports have a place), not every period to
the plan's horizon up front; each unit's folder always. The listing of the plan's root
(Job.list_report_tree) tells what exists; missing folders are made one level at a time, parents first.
The same listing then serves collection, so a `run` reads the tree once.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from connector.dav.webdav import Entry, WebDAVClient
from connector.models import MilestoneKind, Obligation
from connector.render.names import task_number

log = logging.getLogger("plan-connector.folders")


@dataclass
class FolderReport:
    created: list[str] = field(default_factory=list)
    existing: int = 0
    planned: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one line per folder that could not be made


def folder_due(ob: Obligation, today: date, ahead_days: int) -> bool:
    """Whether an obligation's folder is wanted by `today`: its period has started or starts within
    `ahead_days` (a period with no start date: its due date); one with no date at all (ongoing) always."""
    begins = ob.start or ob.due
    return begins is None or begins - timedelta(days=ahead_days) <= today


def desired_folders(root: str, obligations: list[Obligation], extra: list[str] = (), *,
                    today: date | None = None, ahead_days: int = 0) -> list[str]:
    """The folders the plan needs, relative to the WebDAV root, parents before children.

    With `today`, an obligation's folder (and its task folder) only once `folder_due`, its unit's folder
    always; without, every obligation's folder to the plan's horizon.
    """
    wanted: set[str] = set()

    def add(path: str) -> None:
        parts = [p for p in path.split("/") if p]
        for i in range(1, len(parts) + 1):
            wanted.add("/".join(parts[:i]))

    add(root)
    for ob in obligations:
        if today is None or folder_due(ob, today, ahead_days):
            add(f"{root}/{ob.folder}")
        else:
            add(f"{root}/{ob.folder.split('/', 1)[0]}")
    for e in extra:
        add(f"{root}/{e}")
    return sorted(wanted, key=lambda p: (p.count("/"), p))


def adopt_existing_folders(obligations: list[Obligation], entries: list[Entry], root: str,
                           remembered: dict[str, str] | None = None,
                           known: Mapping[str, str] | None = None) -> list[Obligation]:
    """Keep the folders units already know, so nothing filed is stranded by a rename or a new date:

    - an obligation keeps the folder it had (`known`: obligation key -> folder, from the last register)
      as long as that folder exists: a one-off milestone whose date a new plan version moves keeps its
      "Tháng 02-2022" / "Hạn 15-02-2022" folder, a renumbered task its "03 – …" folder;
    - a unit renamed in the units file keeps the folder it had (`remembered`: unit id -> folder
      name from earlier runs) as long as that folder exists;
    - a task a new version of the plan words differently keeps its "03 – <old title>" folder
      rather than getting a second "03 – <new title>" beside it (a renumbered task: the folder of
      the number it had, Obligation.ident);
    - with no register at all (`known` None: never collected, or the state lost), a one-off milestone
      whose folder is missing takes the one dated folder of its task folder no other obligation claims.
    """
    prefix = root.strip("/") + "/"
    dirs = {e.path[len(prefix):] for e in entries if e.is_dir and e.path.startswith(prefix)}
    guess = known is None  # no register to say which folder is whose
    known = {k: v for k, v in (known or {}).items() if v in dirs}
    tasks: dict[tuple[str, int], list[str]] = {}
    for d in dirs:
        parts = d.split("/")
        if len(parts) == 2 and (n := task_number(parts[1])) is not None:
            tasks.setdefault((parts[0], n), []).append(parts[1])
    # A number another task now carries as its identity is that task's folder, not this one's.
    taken = {ob.ident for ob in obligations if ob.ident and ob.ident != ob.task}
    out = []
    for ob in obligations:
        if ob.key in known:
            out.append(ob if known[ob.key] == ob.folder else ob.model_copy(update={"folder": known[ob.key]}))
            continue
        parts = ob.folder.split("/")
        known_unit = (remembered or {}).get(ob.unit)
        if known_unit and known_unit != parts[0] and known_unit in dirs and parts[0] not in dirs:
            parts[0] = known_unit
        n = (ob.ident or (ob.task if ob.task not in taken else None)) if len(parts) > 2 and ob.task else None
        names = tasks.get((parts[0], n)) if n is not None else None
        if names and parts[1] not in names:
            parts[1] = sorted(names)[0]
        folder = "/".join(parts)
        out.append(ob if folder == ob.folder else ob.model_copy(update={"folder": folder}))
    if guess:
        out = _adopt_dated_folders(out, dirs)
    return _distinct(out, set(known))


_DATED = re.compile(r"^(?:Hạn \d\d-\d\d-\d{4}|Tháng \d\d-\d{4}|Chưa rõ hạn)(?: \(mốc \d+\))?$")


def _adopt_dated_folders(obligations: list[Obligation], dirs: set[str]) -> list[Obligation]:
    """A one-off milestone whose folder is missing takes its task folder's one dated folder nobody claims
    (the register that would name it is missing: a first collect, a lost state); two or more: none."""
    claimed = {ob.folder for ob in obligations}
    lacking: dict[str, list[int]] = {}
    for i, ob in enumerate(obligations):
        if ob.kind == MilestoneKind.ONCE and ob.folder not in dirs and ob.folder.count("/") == 2:
            lacking.setdefault(ob.folder.rsplit("/", 1)[0], []).append(i)
    out = list(obligations)
    below: dict[str, list[str]] = {}  # task folder -> its period folders (one pass: no dirs x tasks scan)
    for d in dirs:
        if d.count("/") == 2:
            below.setdefault(d.rsplit("/", 1)[0], []).append(d)
    for task_dir, indexes in lacking.items():
        free = [d for d in below.get(task_dir, ()) if d not in claimed and _DATED.match(d.rsplit("/", 1)[1])]
        if len(free) == 1 and len(indexes) == 1:
            out[indexes[0]] = out[indexes[0]].model_copy(update={"folder": free[0]})
    return out


def _distinct(obligations: list[Obligation], fixed: set[str]) -> list[Obligation]:
    """No two obligations share a folder: one that kept its folder (`fixed` keys) wins, another gets
    " (mốc N)" after its period folder."""
    owner = {ob.folder: ob.key for ob in obligations if ob.key in fixed}
    out = []
    for ob in obligations:
        if ob.folder in owner and owner[ob.folder] != ob.key:
            ob = ob.model_copy(update={"folder": f"{ob.folder} (mốc {ob.milestone})"})
        out.append(ob)
    return out


def sync_folders(webdav: WebDAVClient, root: str, obligations: list[Obligation], entries: list[Entry],
                 *, extra: list[str] = (), dry_run: bool = False, parallel: int = 4,
                 today: date | None = None, ahead_days: int = 0) -> FolderReport:
    """Create the folders that are missing and wanted by `today` (see desired_folders); never delete or
    rename anything.

    A folder that cannot be made (423, 507, 403 ...) is one line in `failed`, the folders below it wait
    for a later run, and everything else is made; a 401 or an unreachable server raises.
    """
    report = FolderReport()
    existing = {e.path for e in entries if e.is_dir}
    if entries:  # the listing holds only what is below the root: a non-empty one proves the root and its ancestors
        parts = root.split("/")
        existing.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    wanted = desired_folders(root, obligations, extra, today=today, ahead_days=ahead_days)
    missing = [p for p in wanted if p not in existing]
    report.existing = len(wanted) - len(missing)
    # A file where a folder should be (someone uploaded "03 – Nhiệm vụ" as a file): MKCOL would answer
    # 405 and every folder below it 409; say it once.
    files = {e.path for e in entries if not e.is_dir}
    for path in [p for p in missing if p in files]:
        below = sum(1 for p in missing if p.startswith(path + "/"))
        report.failed.append(f"cannot create folder {path}: a file of that name is in the way"
                             + (f" ({below} folders below it not made)" if below else ""))
        missing = [p for p in missing if p != path and not p.startswith(path + "/")]
    if dry_run:
        report.planned = missing
        return report
    if missing:
        errors: dict = {}
        report.created = webdav.ensure_dirs(missing, existing, parallel=parallel, failed=errors)
        for path, exc in errors.items():
            below = sum(1 for p in missing if p.startswith(path + "/"))
            report.failed.append(str(exc) + (f" ({below} folders below it not made)" if below else ""))
    return report
