"""`plan-connector demo`: the whole job on the embedded servers with the bundled sample plan.

Imports the sample plan, syncs calendars, task lists and report folders, files sample reports
through WebDAV as units would (on time, late, one in the wrong place, one temporary file), gives
them a simulated upload history, collects as of a fixed date so that every status appears, and
prints the register. Running it again changes nothing on the servers.
"""
from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from connector.config import Config, PlanConfig, ServerConfig
from connector.errors import PreconditionFailed

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
    from connector.commands import Job, run_job

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
        first = job.sync()
        filed = []
        for rel, content, when, what in sample_uploads(job):
            path = f"{job.root}/{rel}"
            try:
                job.webdav.put(path, content, create_only=True)
                filed.append((rel, when, what))
            except PreconditionFailed:
                pass  # filed by an earlier demo run
            job.embedded.set_file_time(path, when)
        summary = run_job(job, AS_OF, out_dir)
        writes = first["items"]["created"] + first["items"]["updated"] + first["items"]["deleted"] \
            + first["folders_created"] + summary["writes"] + len(filed)
        if args.json:
            print(json.dumps({**{k: v for k, v in summary.items() if k != "text"}, "writes": writes,
                              "caldav": job.embedded.calendar_home, "webdav": job.embedded.files_root},
                             ensure_ascii=False, indent=2, default=str))
            return 0
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
        print(summary["text"])
        print(f"total writes this run: {writes}")
        for failure in summary["failed"]:
            print(f"failed: {failure}", file=sys.stderr)
    return 1 if summary["failed"] else 0
