"""`plan-connector demo`: the whole job on the embedded servers with the bundled sample plan.

Imports the sample plan, syncs calendars, task lists and report folders, files sample reports
through WebDAV as units would (on time, late, one in the wrong place, one temporary file), gives
them a simulated upload history, collects as of a fixed date so that every status appears, and
prints the register and one summary of what the run wrote, step by step. Running it again writes
nothing.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from connector.config import Config, PlanConfig, ServerConfig
from connector.errors import PreconditionFailed
from connector.models import STATUS_LABELS_VI
from connector.register.status import STATUS_ORDER

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AS_OF = date(2022, 3, 25)  # mid-plan: some deadlines passed, one due within a week, most ahead


def _repo_file(rel: str) -> str:
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (base / rel).is_file():
            return str(base / rel)
    raise FileNotFoundError(rel)


def sample_uploads(job) -> list[tuple[str, bytes, datetime, str]]:
    """(path relative to the plan root, content, simulated upload time, what it shows)."""
    by = {(o.unit, o.task, o.milestone, o.period): o for o in job.obligations}
    units = [u.id for u in job.units]
    t = lambda *a: datetime(*a, tzinfo=TZ)  # noqa: E731
    out = []

    def folder(unit, task, milestone, period):
        return by[(unit, task, milestone, period)].folder

    u0, u1, u2, u3 = units[0], units[1], units[2], units[3]
    # Task 3 (plan of each unit, due 28/02/2022): two on time, one late.
    out.append((f"{folder(u0, 3, 1, '2022-02-28')}/Ke-hoach-trien-khai-KL21.pdf", b"%PDF-1.4 sample\n", t(2022, 2, 20, 9, 30), "on time"))
    out.append((f"{folder(u1, 3, 1, '2022-02-28')}/Kế hoạch số 12-KH.docx", b"sample docx bytes\n", t(2022, 2, 28, 23, 10), "on time, last evening"))
    out.append((f"{folder(u2, 3, 1, '2022-02-28')}/ke-hoach.pdf", b"%PDF-1.4 sample\n", t(2022, 3, 4, 8, 0), "late"))
    # Task 1, second milestone (due 28/02/2022): one late.
    out.append((f"{folder(u0, 1, 2, '2022-02-28')}/Bao-cao-quan-triet.pdf", b"%PDF-1.4 sample\n", t(2022, 3, 2, 14, 0), "late"))
    # Task 2 (due 31/03/2022): one early.
    out.append((f"{folder(u3, 2, 1, '2022-03-31')}/Bao-cao-sinh-hoat-chinh-tri.pdf", b"%PDF-1.4 sample\n", t(2022, 3, 18, 10, 0), "on time"))
    # Beside rather than inside an obligation folder: listed as unassigned, never dropped.
    unit_dir = folder(u1, 3, 1, "2022-02-28").split("/")[0]
    out.append((f"{unit_dir}/bao-cao-nop-nham-cho.pdf", b"%PDF-1.4 sample\n", t(2022, 3, 10, 16, 45), "wrong place"))
    # A temporary file left by an office program: ignored with a note.
    out.append((f"{folder(u2, 1, 2, '2022-02-28')}/~$bao-cao.docx", b"lock", t(2022, 3, 1, 7, 0), "temporary file"))
    return out


def run(args) -> int:
    from connector.commands import Job

    data_dir = Path(args.data_dir).resolve()
    cfg = Config(
        server=ServerConfig(kind="embedded", data_dir=str(data_dir)),
        plan=PlanConfig(document=_repo_file("mappings/plans/ke-hoach-21-kl-tw.txt"),
                        units=_repo_file("mappings/units.example.toml"),
                        coordinator_groups=["ban-to-chuc-duk"]),
    )
    cfg.state_dir = str(data_dir / "state")
    out_dir = Path(args.out) if args.out else data_dir / "register"
    with Job(cfg) as job:
        # The job `run` does, one step at a time, so that one summary can say what each step wrote.
        prev = job.last_register()
        before = prev.completions() if prev else {}
        synced = job.sync(completions=before)  # calendars, task lists and the report folders
        filed = []
        for rel, content, when, what in sample_uploads(job):
            path = f"{job.root}/{rel}"
            try:
                job.webdav.put(path, content, create_only=True)
                filed.append((rel, when, what))
            except PreconditionFailed:
                pass  # filed by an earlier demo run
            job.embedded.set_file_time(path, when)
        collected = job.collect(AS_OF, out_dir=out_dir)  # reads the tree again: the reports just filed
        reg = collected["register"]
        after = reg.completions()
        reflected = job.sync_calendars(after) if after != before else None  # to-dos of reports received
        summary = DemoSummary(
            created=synced["items"]["created"], updated=synced["items"]["updated"], deleted=synced["items"]["deleted"],
            folders=synced["folders_created"], reports=len(filed), register=len(collected["upload"].uploaded),
            todos=(reflected.created + reflected.updated + reflected.deleted) if reflected else 0,
            requests=job.requests)
        failed = synced["failed"] + collected["upload"].failed + (reflected.failed if reflected else [])
        if args.json:
            print(json.dumps({**summary.as_dict(), "failed": failed, "counts": {k.value: v for k, v in reg.counts().items()},
                              "paths": collected["paths"], "caldav": job.embedded.calendar_home,
                              "webdav": job.embedded.files_root}, ensure_ascii=False, indent=2, default=str))
            return 1 if failed else 0
        print("plan-connector demo — embedded servers, sample plan Kế hoạch thực hiện Kết luận số 21-KL/TW")
        print(f"  CalDAV: {job.embedded.calendar_home}")
        print(f"  WebDAV: {job.embedded.files_root}")
        print(f"  plan: {len(job.plan.tasks)} tasks, {sum(len(t.milestones) for t in job.plan.tasks)} milestones; "
              f"{len(job.units)} units; {len(job.obligations)} obligations")
        if filed:
            print("sample reports filed through WebDAV (simulated history: their times in the embedded storage "
                  "are set to the dates shown):")
            for rel, when, what in filed:
                print(f"  {when.strftime('%d/%m/%Y %H:%M')}  {what:<22} {rel}")
        else:
            print("sample reports: already filed by an earlier demo run (simulated history kept)")
        print(f"collected as of {AS_OF.strftime('%d/%m/%Y')} (fixed, so that every status appears)")
        print(register_table(reg))
        for kind, path in collected["paths"].items():
            print(f"register.{kind}: {path}")
        for line in summary.lines():
            print(line)
        for failure in failed:
            print(f"failed: {failure}", file=sys.stderr)
    return 1 if failed else 0


@dataclass
class DemoSummary:
    """What one demo run wrote, step by step; `writes` is their sum."""

    created: int  # calendar items (events, to-dos) created
    updated: int
    deleted: int
    folders: int  # report folders made
    reports: int  # sample reports filed
    register: int  # register files uploaded
    todos: int  # to-dos changed because reports came in
    requests: int

    @property
    def writes(self) -> int:
        return (self.created + self.updated + self.deleted + self.folders + self.reports + self.register
                + self.todos)

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted,
                "folders_created": self.folders, "reports_filed": self.reports, "register_uploaded": self.register,
                "todos_reflected": self.todos, "writes": self.writes, "requests": self.requests}

    def lines(self) -> list[str]:
        if not self.writes:
            return ["this run: nothing to write, everything was already in place",
                    f"total writes this run: 0; HTTP requests: {self.requests}"]
        parts = [f"{self.created} calendar items created", f"{self.updated} updated", f"{self.deleted} deleted",
                 f"{self.folders} folders created", f"{self.reports} sample reports filed",
                 f"{self.register} register files uploaded", f"{self.todos} to-dos updated from the reports"]
        return [f"this run: {', '.join(parts)}",
                f"total writes this run: {self.writes}; HTTP requests: {self.requests}"]


def register_table(reg) -> str:
    """The register's counts per status, as the page shows them."""
    counts = reg.counts()
    width = max(len(STATUS_LABELS_VI[s]) for s in STATUS_ORDER) + 2
    lines = [f"Sổ theo dõi – {reg.plan_title}", f"Tình hình đến hết ngày {reg.as_of.strftime('%d/%m/%Y')}"]
    lines += [f"  {STATUS_LABELS_VI[s]:<{width}}{counts[s]:>5}" for s in STATUS_ORDER]
    lines.append(f"  {'Tổng số việc':<{width}}{len(reg.rows):>5}")
    if reg.unassigned:
        lines.append(f"  {'Tệp chưa xếp đúng thư mục':<{width}}{len(reg.unassigned):>5}")
    return "\n".join(lines)
