"""The status register: which unit filed what, and when, against each obligation (pure).

`compute_register` matches the files found under a plan's root folder to the obligations'
upload folders (longest folder prefix wins, names compared NFC), decides each obligation's
status as of a date, and carries forward from the previous register every file that has
since disappeared, so a submission is never forgotten silently.

Files at the top of a unit's folder (where its upload-only link puts them) or of a task folder
are credited by the naming rule the link's note explains (`DROP_RULE_VI`): the task number in the
file name ("NV03 - …", "BCHN - …" for the yearly report), the period by time (see `credit_loose`).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from connector.models import STATUS_LABELS_VI, MilestoneKind, Obligation, Plan, RemoteFile, Status, Unit, obligation_key
from connector.render.names import full_title, period_label, short_title, task_number
from connector.text import nfc, slug

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ANNUAL_REPORT_TITLE = "Báo cáo hằng năm"
STATUS_ORDER = (Status.OVERDUE, Status.DUE_SOON, Status.SUBMITTED_LATE, Status.SUBMITTED_ON_TIME, Status.IN_PROGRESS,
                Status.NOT_DUE)
TITLE_MAX = 80  # a row's task title: the task's full title shortened as events and to-dos shorten it
SUBMITTED = {Status.SUBMITTED_ON_TIME, Status.SUBMITTED_LATE}

_IGNORED_NAMES = {".ds_store": "tệp hệ thống macOS", "thumbs.db": "tệp hệ thống Windows",
                  "desktop.ini": "tệp hệ thống Windows"}

# The naming rule for reports filed at the top of a unit's folder, as the upload-only link's note says it.
DROP_RULE_VI = ("Đặt tên tệp bắt đầu bằng số nhiệm vụ, ví dụ «NV03 - Báo cáo.docx» (báo cáo hằng năm: "
                "«BCHN - Báo cáo năm 2025.docx»). Tệp được tính cho kỳ sớm nhất của nhiệm vụ mà đơn vị chưa nộp; "
                "để nộp cho một năm cụ thể, ghi thêm năm: «NV08 - 2024 - Báo cáo.docx».")
_TASK_IN_NAME = re.compile(r"(?:^|-)(?:nv|nhiem-vu)-?0*(\d{1,3})(?=-|$)")
_REPORT_IN_NAME = re.compile(r"(?:^|-)(?:bchn|bao-cao-hang-nam)(?=-|$)")
_YEAR_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


def drop_note(note: str) -> str:
    """The note of a unit's folder share and upload-only link: the configured text, then the naming rule."""
    note = nfc(note).strip()
    if DROP_RULE_VI in note:
        return note
    return f"{note.rstrip('.')}. {DROP_RULE_VI}" if note else DROP_RULE_VI


class RegisterFile(BaseModel):
    name: str
    path: str  # relative to the plan's root folder
    size: int
    uploaded_at: datetime | None
    href: str = ""  # the server's path of the file
    url: str = ""  # the link people open ("" while unknown, and for removed files)
    removed: bool = False  # no longer listed; kept with its last-seen data
    note: str = ""  # for people: why it was removed, where it went
    credited_by: str = ""  # "name" / "task_folder": placed by the naming rule, not by its folder


class UnassignedFile(RegisterFile):
    """A file beside rather than inside an obligation folder; unit guessed from the first segment."""

    unit: str | None = None
    reason: str = ""  # for people: why it could not be credited


class IgnoredFile(BaseModel):
    path: str
    reason: str  # Vietnamese, for people


class RegisterRow(BaseModel):
    unit: str
    unit_name: str
    task: int
    task_title: str
    milestone: int
    period: str
    due: date | None
    folder: str
    url: str = ""  # link to the upload folder ("" while unknown)
    status: Status
    submitted_at: datetime | None = None
    files: list[RegisterFile] = Field(default_factory=list)
    removed: bool = False  # every file filed for it has disappeared since
    ident: int = 0  # the task's identity across plan versions (Obligation.ident); 0 = its number

    @property
    def key(self) -> str:
        """The obligation's key (Obligation.key): a row of an earlier register matches the same obligation
        after its one-off date moved or its task was renumbered."""
        return obligation_key(self.unit, self.ident or self.task, self.milestone, self.period)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS_VI[self.status]


def _zero_counts() -> dict[Status, int]:
    return {s: 0 for s in Status}


class Register(BaseModel):
    as_of: date
    generated_at: datetime
    plan_title: str = ""
    plan_code: str = ""
    rows: list[RegisterRow] = Field(default_factory=list)
    unassigned: list[UnassignedFile] = Field(default_factory=list)
    ignored: list[IgnoredFile] = Field(default_factory=list)
    # File ids of the folders holding the files listed (path relative to the plan's root -> id): the next
    # register tells by them a report deleted on its own from one lost with its folder, deleted or made anew.
    folder_ids: dict[str, str] = Field(default_factory=dict)
    tasks: dict[int, str] = Field(default_factory=dict)  # task number -> its full title (rows carry it shortened)

    def counts(self) -> dict[Status, int]:
        """Number of rows per status; every status is a key."""
        counts = _zero_counts()
        for row in self.rows:
            counts[row.status] += 1
        return counts

    def completions(self) -> dict[str, datetime]:
        """Obligation key -> submission time, for submitted rows only."""
        return {r.key: r.submitted_at for r in self.rows if r.status in SUBMITTED and r.submitted_at}

    def summary_by_unit(self) -> dict[str, dict[Status, int]]:
        """Unit id -> counts per status (every status a key), in row order."""
        out: dict[str, dict[Status, int]] = {}
        for row in self.rows:
            out.setdefault(row.unit, _zero_counts())[row.status] += 1
        return out

    def summary_by_task(self) -> dict[int, dict[Status, int]]:
        """Task number -> counts per status (every status a key), by task number."""
        out: dict[int, dict[Status, int]] = {}
        for row in sorted(self.rows, key=lambda r: r.task):
            out.setdefault(row.task, _zero_counts())[row.status] += 1
        return out

    def unit_names(self) -> dict[str, str]:
        """Unit id -> name, as the rows give them."""
        return {r.unit: r.unit_name for r in self.rows}

    def _index(self) -> dict:
        """Per-register lookups, made once per rows list (the exports ask them for every row)."""
        key = (id(self.rows), len(self.rows))
        cached = self.__dict__.get("_index_cache")
        if cached is None or cached[0] != key:
            reports: dict[str, list[RegisterRow]] = {}
            for r in self.rows:
                if r.task == 0 and r.due:
                    reports.setdefault(r.unit, []).append(r)
            for found in reports.values():
                found.sort(key=lambda r: r.due)
            cached = (key, {"titles": {r.task: r.task_title for r in self.rows}, "reports": reports})
            self.__dict__["_index_cache"] = cached
        return cached[1]

    def task_titles(self) -> dict[int, str]:
        """Task number -> title, as the rows give them."""
        return dict(self._index()["titles"])

    def full_title(self, task: int) -> str:
        """A task's full title (the rows' title where the register has none)."""
        return self.tasks.get(task) or self._index()["titles"].get(task, "")

    def judging_report(self, row: RegisterRow) -> RegisterRow | None:
        """The yearly report an ongoing row is judged by: the unit's first one not yet past as of the register's
        day, else its last."""
        reports = self._index()["reports"].get(row.unit, [])
        return next((r for r in reports if r.due >= self.as_of), reports[-1] if reports else None)


# --- helpers -----------------------------------------------------------------------------------

def _norm_path(path: str) -> str:
    path = nfc(path)
    if path.startswith("/") or path.endswith("/") or "//" in path:
        path = "/".join(p for p in path.split("/") if p)
    return path


def _after(moment: datetime | None, limit: datetime) -> bool:
    """moment is later than limit (an aware local time); None is never later."""
    if moment is None:
        return False
    return (moment.replace(tzinfo=TZ) if moment.tzinfo is None else moment) > limit


def to_local(moment: datetime) -> datetime:
    """An aware datetime in Asia/Ho_Chi_Minh; a naive one is taken as local time already."""
    return moment.replace(tzinfo=TZ) if moment.tzinfo is None else moment.astimezone(TZ)


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), TZ)


def ignore_reason(name: str, size: int) -> str | None:
    """Why a file is not a report (partial upload, editor lock, system file, empty), or None."""
    lower = name.lower()
    if lower.endswith(".part"):
        return "tệp đang tải lên dở (.part)"
    if name.startswith("~$"):
        return "tệp tạm của Microsoft Office (~$)"
    if name.startswith(".~lock.") and name.endswith("#"):
        return "tệp khoá của LibreOffice (.~lock)"
    if name.startswith("._"):
        return "tệp phụ của macOS (._)"
    if lower in _IGNORED_NAMES:
        return _IGNORED_NAMES[lower]
    if size == 0:
        return "tệp rỗng (0 byte)"
    return None


def period_label_vi(period: str, due: date | None = None) -> str:
    """The period's label, the same the folders (with "-" for "/") and to-dos show: see
    connector.render.names.period_label ('2022-01-31' -> 'Tháng 01/2022', '2022-02-15' -> 'Hạn 15/02/2022')."""
    return period_label(period, due)


def status_of(due: date | None, submitted_at: datetime | None, as_of: date, due_soon_days: int = 7) -> Status:
    """An obligation's status as of a day; due at the end of the due day, Asia/Ho_Chi_Minh."""
    if submitted_at is not None:
        if due is None or to_local(submitted_at).date() <= due:
            return Status.SUBMITTED_ON_TIME
        return Status.SUBMITTED_LATE
    if due is None:
        return Status.NOT_DUE
    if as_of > due:
        return Status.OVERDUE
    if (due - as_of).days <= due_soon_days:
        return Status.DUE_SOON
    return Status.NOT_DUE


def _task_titles(plan: Plan) -> dict[int, str]:
    titles = {t.number: short_title(t, TITLE_MAX) for t in plan.tasks}
    titles.setdefault(0, ANNUAL_REPORT_TITLE)
    return titles


def judge_ongoing(row: RegisterRow, start: date | None, reports: list[RegisterRow], as_of: date) -> RegisterRow:
    """An ongoing ("thường xuyên") task has no deadline of its own: the yearly report tells how it went. Before
    its start it is not due; while the plan runs it is in progress (files filed for it are kept as evidence);
    once the unit's last yearly report is due, it takes that report's status and submission time."""
    if start is not None and as_of < start:
        return row.model_copy(update={"status": Status.NOT_DUE})
    dated = [r for r in reports if r.due]
    last = max(dated, key=lambda r: r.due) if dated else None
    if last is not None and as_of > last.due:
        return row.model_copy(update={"status": last.status, "submitted_at": last.submitted_at})
    return row.model_copy(update={"status": Status.IN_PROGRESS})


# --- computation -------------------------------------------------------------------------------

def compute_register(
    obligations: list[Obligation],
    files: list[RemoteFile],
    units: list[Unit],
    plan: Plan,
    as_of: date,
    now: datetime,
    due_soon_days: int = 7,
    previous: Register | None = None,
    unit_folders: dict[str, str] | None = None,
    ignored_dirs: Iterable[str] = (),
    links: Callable[[str], str | None] | None = None,
    folders: Mapping[str, str | None] | None = None,
    trash_owner: str = "",
) -> Register:
    """The register as of a day: one row per obligation with its status and files.

    A file counts for the obligation whose folder is the longest prefix of its path; a file at the
    top of a unit or task folder is credited by the naming rule (`credit_loose`); files uploaded
    after the end of `as_of` (local) are left out. Files in `ignored_dirs` (folders that are not
    unit folders, such as the register's own) are skipped without a note.

    `links(path)` gives the link people open for a folder or file (paths relative to the plan's
    root); `folders` maps the folders listed now to their file ids (None where the server has
    none): with it, a file that disappeared with its folder says so.
    """
    as_of_end = end_of_day(as_of)
    unit_index = {u.id: i for i, u in enumerate(units)}
    unit_name = {u.id: nfc(u.name) for u in units}
    titles = _task_titles(plan)
    skip_dirs = {_norm_path(d) for d in ignored_dirs}
    nested_skips = [d for d in skip_dirs if "/" in d]
    folder_ids = {_norm_path(k): v for k, v in folders.items()} if folders is not None else None

    folder_to_unit: dict[str, str] = {}
    for ob in obligations:  # the unit folder is the first segment of its obligation folders
        folder_to_unit.setdefault(_norm_path(ob.folder).split("/")[0], ob.unit)
    for uid, folder in (unit_folders or {}).items():
        folder_to_unit[_norm_path(folder)] = uid

    by_folder: dict[str, Obligation] = {_norm_path(ob.folder): ob for ob in obligations}
    # A task folder's task: the obligations' own (a renumbered task keeps its "03 – …" folder), else its number.
    task_of_folder: dict[str, int] = {}
    for folder, ob in by_folder.items():
        if folder.count("/") >= 2 and ob.task:
            task_of_folder.setdefault("/".join(folder.split("/")[:2]), ob.task)
    by_loose: dict[tuple[str, str, str], Obligation | None] = {}
    for folder, ob in by_folder.items():
        key = _loose_key(folder)
        if key is not None:
            by_loose[key] = None if key in by_loose else ob  # ambiguous keys match nothing
    filed: dict[str, list[RegisterFile]] = {}
    unassigned: list[UnassignedFile] = []
    ignored: list[IgnoredFile] = []
    listed: set[str] = set()
    loose: list[tuple[RegisterFile, str, int | None]] = []  # (file, unit, task of its task folder)

    def register_file(f: RemoteFile, path: str) -> RegisterFile:
        uploaded_at = to_local(f.uploaded_at) if f.uploaded_at else None  # aware, so times compare
        return RegisterFile(name=nfc(f.name), path=path, size=f.size, uploaded_at=uploaded_at, href=f.href,
                            url=(links(path) or "") if links else "")

    for f in files:
        path = _norm_path(f.path)
        listed.add(path)
        cut = path.rfind("/")
        top = path[:path.find("/")] if cut >= 0 else None
        if top in skip_dirs or any(path.startswith(d + "/") for d in nested_skips):
            continue
        reason = ignore_reason(path[cut + 1:], f.size)
        if reason:
            ignored.append(IgnoredFile(path=path, reason=reason))
            continue
        if _after(f.uploaded_at, as_of_end):
            continue  # not arrived yet as of that day
        owner = None
        while cut > 0 and owner is None:  # deepest enclosing folder first
            owner = by_folder.get(path[:cut])
            cut = path.rfind("/", 0, cut)
        if owner is None:
            # A task folder renamed by a later version of the plan ("03 – <new title>") still
            # holds that task's reports: match on unit folder, task number and period folder.
            key = _loose_key(path[:path.rfind("/")])
            owner = by_loose.get(key) if key is not None else None
        if owner is not None:
            filed.setdefault(owner.key, []).append(register_file(f, path))
            continue
        parts = path.split("/")
        unit = folder_to_unit.get(top)
        if unit is not None and len(parts) == 2:
            loose.append((register_file(f, path), unit, None))
        elif unit is not None and len(parts) == 3 and (
                n := task_of_folder.get(f"{parts[0]}/{parts[1]}", task_number(parts[1]))) is not None:
            loose.append((register_file(f, path), unit, n))
        else:
            why = ("Nằm ngoài thư mục của các đơn vị" if unit is None
                   else "Không nằm trong thư mục nộp của nhiệm vụ nào")
            unassigned.append(UnassignedFile(**register_file(f, path).model_dump(), unit=unit, reason=why))

    previous_rows = {r.key: r for r in previous.rows} if previous else {}
    old_ids = previous.folder_ids if previous else {}

    def vanished(old: Iterable[RegisterFile]) -> list[dict]:
        """Files of the previous register that are no longer listed and had arrived as of this day."""
        return [
            old_f.model_dump() | {"removed": True, "url": "", "uploaded_at": old_f.uploaded_at and to_local(old_f.uploaded_at),
                                  "note": old_f.note or _removal_note(old_f.path, old_ids, folder_ids, trash_owner)}
            for old_f in old
            if _norm_path(old_f.path) not in listed
            and not _after(old_f.uploaded_at, as_of_end)
        ]

    gone: dict[str, list[RegisterFile]] = {}
    for key, old in previous_rows.items():
        if carried := vanished(old.files):
            gone[key] = [RegisterFile(**d) for d in carried]

    unassigned += credit_loose(loose, obligations, filed, gone, as_of_end)

    rows: list[RegisterRow] = []
    ongoing: list[tuple[int, date | None]] = []  # (index in rows, start) of ongoing obligations
    for ob in obligations:
        key = ob.key
        if ob.kind == MilestoneKind.ONGOING:
            ongoing.append((len(rows), ob.start))
        row_files = sorted(filed.get(key, ()), key=lambda x: x.path) + gone.get(key, [])
        old = previous_rows.get(key)
        submitted_at = None
        if row_files:
            submitted_at = to_local(min(x.uploaded_at or as_of_end for x in row_files))
        if old is not None and old.submitted_at is not None and not _after(old.submitted_at, as_of_end):
            first = to_local(old.submitted_at)  # the first submission stands
            submitted_at = min(submitted_at, first) if submitted_at else first
        folder = _norm_path(ob.folder)
        rows.append(RegisterRow(
            unit=ob.unit,
            unit_name=unit_name.get(ob.unit, ob.unit),
            task=ob.task,
            task_title=titles.get(ob.task, f"Nhiệm vụ {ob.task}"),
            milestone=ob.milestone,
            period=ob.period,
            due=ob.due,
            folder=folder,
            url=(links(folder) or "") if links else "",
            status=status_of(ob.due, submitted_at, as_of, due_soon_days),
            submitted_at=submitted_at,
            files=row_files,
            removed=bool(submitted_at) and all(x.removed for x in row_files),
            ident=ob.ident,
        ))
    reports: dict[str, list[RegisterRow]] = {}
    for row in rows:
        if row.task == 0:
            reports.setdefault(row.unit, []).append(row)
    for i, start in ongoing:
        rows[i] = judge_ongoing(rows[i], start, reports.get(rows[i].unit, []), as_of)
    rows.sort(key=lambda r: (unit_index.get(r.unit, len(unit_index)), r.unit, r.task, r.milestone,
                             r.due or date.max, r.period))

    if previous is not None:
        unassigned += [UnassignedFile(**d) for d in vanished(previous.unassigned)]
    unassigned.sort(key=lambda x: (x.removed, x.path))
    ignored.sort(key=lambda x: x.path)

    held: dict[str, str] = {}
    if folder_ids:
        for f in [*(f for r in rows for f in r.files), *unassigned]:
            if not f.removed and "/" in f.path:
                held.update((a, i) for a in _ancestors(f.path.rsplit("/", 1)[0]) if (i := folder_ids.get(a)))
    return Register(as_of=as_of, generated_at=now, plan_title=nfc(plan.title), plan_code=plan.code,
                    rows=rows, unassigned=unassigned, ignored=ignored, folder_ids=dict(sorted(held.items())),
                    tasks={t.number: full_title(t) for t in sorted(plan.tasks, key=lambda t: t.number)})


def _removal_note(path: str, old_ids: Mapping[str, str], folder_ids: Mapping[str, str | None] | None,
                  owner: str) -> str:
    """Why a file is no longer listed: gone with a folder (missing now, or made anew with another id; then
    it is in the owner's trash bin), or deleted or moved on its own."""
    path = _norm_path(path)
    deleted = None
    if folder_ids is not None and "/" in path:
        for a in _ancestors(path.rsplit("/", 1)[0]):  # the highest folder that went
            if a not in folder_ids or (old_ids.get(a) and folder_ids[a] and folder_ids[a] != old_ids[a]):
                deleted = a
                break
    if deleted is None:
        return "Tệp đã bị xoá hoặc chuyển khỏi thư mục"
    where = f"; tệp nằm trong thùng rác (Tệp đã xoá) của tài khoản «{owner}»" if owner else ""
    return f"Thư mục «{deleted}» đã bị xoá cùng tệp này{where}"


def _ancestors(path: str) -> list[str]:
    """'a/b/c' -> ['a', 'a/b', 'a/b/c']."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def task_in_name(name: str) -> tuple[set[int], set[str]]:
    """Task numbers ("NV03", "NV 3", "Nhiệm vụ 3"; "BCHN" is the yearly report, 0) and years a file name names."""
    text = slug(name.rsplit(".", 1)[0] if "." in name else name)
    tasks = {int(n) for n in _TASK_IN_NAME.findall(text)}
    if _REPORT_IN_NAME.search(text):
        tasks.add(0)
    return tasks, set(_YEAR_IN_NAME.findall(name))


def credit_loose(loose: list[tuple[RegisterFile, str, int | None]], obligations: list[Obligation],
                 filed: dict[str, list[RegisterFile]], gone: Mapping[str, list[RegisterFile]],
                 as_of_end: datetime) -> list[UnassignedFile]:
    """Credit files at the top of a unit folder (by the task number in their name) or of a task folder.

    Files go in upload order. Among the unit's obligations of that task (those of a year the name
    gives, if any), a file counts for the first, by due date, that is still open on its upload day:
    nothing filed for it on an earlier day, or its due date not passed yet (a correction or an annex
    filed before the deadline joins the same report). When none is open, the last one. `filed` is
    updated; what cannot be credited is returned as unassigned, with the reason.
    """
    by_unit_task: dict[tuple[str, int], list[Obligation]] = {}
    for ob in obligations:
        by_unit_task.setdefault((ob.unit, ob.task), []).append(ob)
    for obs in by_unit_task.values():
        obs.sort(key=lambda o: (o.due or date.max, o.milestone, o.period))

    def first_day(ob: Obligation) -> date | None:
        times = [to_local(x.uploaded_at or as_of_end).date() for x in (*filed.get(ob.key, ()), *gone.get(ob.key, ()))]
        return min(times) if times else None

    out: list[UnassignedFile] = []
    for f, unit, folder_task in sorted(loose, key=lambda x: (x[0].uploaded_at or as_of_end, x[0].path)):
        tasks, years = task_in_name(f.name)
        if folder_task is not None:
            tasks, how = {folder_task}, "task_folder"
        else:
            how = "name"
        if not tasks:
            out.append(UnassignedFile(**f.model_dump(), unit=unit,
                                      reason="Tên tệp không có số nhiệm vụ (ví dụ «NV03 - Báo cáo.docx»): "
                                             "chưa biết nộp cho nhiệm vụ nào"))
            continue
        if len(tasks) > 1:
            named = ", ".join("BCHN" if n == 0 else f"NV{n:02d}" for n in sorted(tasks))
            out.append(UnassignedFile(**f.model_dump(), unit=unit, reason=f"Tên tệp nêu nhiều nhiệm vụ ({named})"))
            continue
        (task,) = tasks
        candidates = by_unit_task.get((unit, task), [])
        if not candidates:
            what = "báo cáo hằng năm" if task == 0 else f"nhiệm vụ {task}"
            out.append(UnassignedFile(**f.model_dump(), unit=unit, reason=f"Đơn vị không có {what} trong kế hoạch"))
            continue
        in_years = [ob for ob in candidates if ob.period[:4] in years]
        candidates = in_years or candidates
        day = to_local(f.uploaded_at or as_of_end).date()
        chosen = next((ob for ob in candidates
                       if (first := first_day(ob)) is None or first >= day or ob.due is None or day <= ob.due),
                      candidates[-1])
        filed.setdefault(chosen.key, []).append(f.model_copy(update={"credited_by": how}))
    return out


def _loose_key(folder: str) -> tuple[str, str, str] | None:
    """(unit folder, task number or task folder, period folder) of a folder three levels deep or more."""
    parts = folder.split("/")
    if len(parts) < 3:
        return None
    n = task_number(parts[1])
    return parts[0], (str(n) if n is not None else parts[1]), parts[2]


# --- register.json -----------------------------------------------------------------------------

def _iso(moment: datetime | None) -> str | None:
    return to_local(moment).isoformat() if moment else None


def _file_json(f: RegisterFile) -> dict:
    out = {"name": f.name, "path": f.path, "size": f.size, "uploaded_at": _iso(f.uploaded_at), "href": f.href,
           "url": f.url}
    for key in ("removed", "note", "credited_by"):
        if value := getattr(f, key):
            out[key] = value
    return out


def register_to_json(reg: Register) -> dict:
    """register.json: the public form (issue 4) plus task titles, Vietnamese labels, history flags."""
    return {
        "as_of": reg.as_of.isoformat(),
        "generated_at": _iso(reg.generated_at),
        "plan": {"title": reg.plan_title, "code": reg.plan_code},
        "rows": [
            {
                "unit": r.unit,
                "unit_name": r.unit_name,
                "task": r.task,
                "task_title": r.task_title,
                "milestone": r.milestone,
                "period": r.period,
                "due": r.due.isoformat() if r.due else None,
                "folder": r.folder,
                "url": r.url,
                "status": r.status.value,
                "status_label": r.status_label,
                "submitted_at": _iso(r.submitted_at),
                "removed": r.removed,
                "files": [_file_json(f) for f in r.files],
                **({"task_ident": r.ident} if r.ident else {}),
            }
            for r in reg.rows
        ],
        "unassigned": [_file_json(f) | {"unit": f.unit, "reason": f.reason} for f in reg.unassigned],
        "ignored": [{"path": i.path, "reason": i.reason} for i in reg.ignored],
        "folder_ids": reg.folder_ids,
        "tasks": {str(n): title for n, title in reg.tasks.items()},
    }


def register_from_json(data: dict) -> Register:
    """The Register a register.json describes (the inverse of register_to_json)."""
    def file_fields(f: dict, folder: str = "") -> dict:
        path = f.get("path") or "/".join(p for p in (folder, f["name"]) if p)
        return {"name": f["name"], "path": path, "size": f.get("size", 0), "uploaded_at": f.get("uploaded_at"),
                "href": f.get("href", ""), "url": f.get("url", ""),
                "removed": f.get("removed", False), "note": f.get("note", ""), "credited_by": f.get("credited_by", "")}

    plan = data.get("plan") or {}
    return Register(
        as_of=data["as_of"],
        generated_at=data["generated_at"],
        plan_title=plan.get("title", ""),
        plan_code=plan.get("code", ""),
        rows=[
            RegisterRow(
                unit=r["unit"], unit_name=r.get("unit_name", r["unit"]), task=r["task"],
                task_title=r.get("task_title", ""), milestone=r["milestone"], period=r["period"],
                due=r.get("due"), folder=r.get("folder", ""), url=r.get("url", ""), status=r["status"],
                submitted_at=r.get("submitted_at"), removed=r.get("removed", False), ident=r.get("task_ident", 0),
                files=[RegisterFile(**file_fields(f, r.get("folder", ""))) for f in r.get("files", [])],
            )
            for r in data.get("rows", [])
        ],
        unassigned=[UnassignedFile(**file_fields(f), unit=f.get("unit"), reason=f.get("reason", ""))
                    for f in data.get("unassigned", [])],
        ignored=[IgnoredFile(**i) for i in data.get("ignored", [])],
        folder_ids=data.get("folder_ids") or {},
        tasks=data.get("tasks") or {},
    )


def load_register(path: str | Path) -> Register:
    """Read a register.json written by `write_json` (for history)."""
    return register_from_json(json.loads(Path(path).read_text(encoding="utf-8")))
