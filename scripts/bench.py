#!/usr/bin/env python3
"""Speed, memory and HTTP requests of plan-connector, each beside a baseline measured in the same run.

    .venv/bin/python scripts/bench.py [--units 8,50,200] [--sync-units 8,50] [--parallel-units 8] [--quick] [--json]

1. pure core on the real seed plan (mappings/plans/ke-hoach-21-kl-tw.txt): parse_plan (baseline: the
   same Plan read back from its TOML mapping); expand + build_desired time and peak memory for N
   units (baseline: the same unit VTODOs rendered with the icalendar library);
2. compute_register for N units with a few files per unit (baseline: a naive obligations x files
   prefix scan written here);
3. sync against the embedded Radicale + WsgiDAV servers through `Job`: first sync, no-op re-sync and
   re-sync after losing the state (baseline: a naive client without tokens, ETags or hashes that lists
   every calendar, fetches every item and PUTs every item unconditionally); first sync with
   parallel=4 (the default) vs parallel=1;
4. a full `run_job` (sync + collect + reflect) no-op rerun (baseline: the naive re-sync, the folder
   listing, the register computed and its files PUT unconditionally).

Ratios are baseline / connector: above 1 means the connector takes less time, memory or requests.
Figures are from single runs (best of a few for the sub-second pure measures): read them as orders
of magnitude, not to the last digit. The servers run in this process, so their work shares the CPU
(and the GIL) with the client's.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import logging
import os
import platform
import socket
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import icalendar  # noqa: E402
import tomli_w  # noqa: E402

from connector.commands import Job, run_job  # noqa: E402
from connector.config import Config, PlanConfig, ServerConfig  # noqa: E402
from connector.models import RemoteFile  # noqa: E402
from connector.plan import parse_plan  # noqa: E402
from connector.plan.mapping import load_plan  # noqa: E402
from connector.register.status import compute_register, end_of_day, nfc, status_of  # noqa: E402
from connector.render import names  # noqa: E402
from connector.render.ical import PLAN_PROPERTY, PRODID, RenderOptions, build_desired, read_marker  # noqa: E402
from connector.schedule import expand  # noqa: E402
from plan_samples import sample_units  # noqa: E402

SEED = ROOT / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"
SEED_MAPPING = SEED.with_suffix(".toml")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AS_OF = date(2023, 6, 30)  # mid-plan: past, near and future deadlines
FILES_PER_UNIT = 3  # in obligation folders; plus one beside them (unassigned)
PARALLEL = 4  # the connector's default (SyncConfig.parallel)


# --- results --------------------------------------------------------------------------------

@dataclass
class Row:
    section: str
    measure: str
    n: int | None
    unit: str  # "s", "B" (bytes), "req", "writes"
    connector: float | None
    baseline: float | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.connector is None or self.baseline is None or self.connector == 0:
            return None
        return self.baseline / self.connector


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "B":
        return f"{value / 1e6:.1f} MB" if value >= 1e5 else f"{value / 1e3:.0f} kB"
    return f"{int(value)} {unit}"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:.0f}x" if r >= 100 else f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def best_of(fn, *, budget: float = 0.3, most: int = 5):
    """(best time, last result): repeat a fast call a few times, a slow one once."""
    times, result = [], None
    while True:
        gc.collect()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        if len(times) >= most or sum(times) > budget:
            return min(times), result


def peak_memory(fn) -> int:
    """Peak bytes allocated (tracemalloc) while fn runs, its result included."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    finally:
        tracemalloc.stop()
    return peak


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- 1. pure core ---------------------------------------------------------------------------

def seed_plan():
    return load_plan(document=str(SEED), mapping=str(SEED_MAPPING))


def folder_url(root_url: str):
    from urllib.parse import quote

    return lambda folder: root_url + "/".join(quote(p, safe="") for p in f"Báo cáo/21-KL-TW/{folder}".split("/"))


def connector_render(plan, units, options):
    obs = expand(plan, units)
    return build_desired(plan, units, obs, options)


def icalendar_unit_todos(plan, units, options) -> list[tuple[str, str, str]]:
    """The connector's unit VTODOs (same fields and texts) rendered with icalendar: (uid, ics, sha256)."""
    obs = expand(plan, units)
    tasks = {t.number: t for t in plan.tasks}
    label = names.plan_label(plan)
    code = names.plan_code(plan)
    stamp = datetime(2020, 1, 1, tzinfo=timezone.utc)
    out = []
    for ob in obs:
        if ob.task == 0:
            title = names.REPORT_FOLDER
            text = f"Báo cáo kết quả thực hiện {label} trong năm, gồm cả các nhiệm vụ thực hiện thường xuyên."
            phrase = (f"Thời hạn: định kỳ hằng năm (ngày {plan.annual_report_due[1]:02d}/"
                      f"{plan.annual_report_due[0]:02d})")
        else:
            task = tasks[ob.task]
            title = f"NV {task.number} – {names.short_title(task, 80)}"
            text = names.nfc(task.text)
            phrase = f"Thời hạn: {task.milestones[ob.milestone - 1].phrase}"
        description = [text, "", phrase]
        if ob.due:
            description.append(f"Hạn nộp: {ob.due.strftime('%d/%m/%Y')}")
        description.append(f"Thư mục nộp báo cáo: {ob.folder}")
        url = options.folder_url(ob.folder) if options.folder_url else None
        if url:
            description.append(f"Liên kết: {url}")
        uid = names.todo_uid(plan, ob)
        todo = icalendar.Todo.new(
            uid=uid, stamp=stamp, summary=names.nfc(f"{title} ({ob.folder.rsplit('/', 1)[-1]})"),
            description=names.nfc("\n".join(description)), categories=[names.nfc(label)], status="NEEDS-ACTION",
            start=ob.start if ob.start and (ob.due is None or ob.start <= ob.due) else None)
        if ob.due:
            todo.add("DUE", ob.due)
        todo.add(PLAN_PROPERTY, code)
        cal = icalendar.Calendar.new(prodid=PRODID, calscale="GREGORIAN", subcomponents=[todo])
        ics = cal.to_ical()
        out.append((uid, ics.decode("utf-8"), hashlib.sha256(ics).hexdigest()))
    return out


def check_same_todos(plan, units, options) -> str:
    """Do both renderings carry the same SUMMARY, DESCRIPTION, DTSTART and DUE? (parsed back with icalendar)"""
    _, items = connector_render(plan, units, options)
    ours = {it.uid: it.ics for it in items if "-td-" in it.uid}
    theirs = {uid: ics for uid, ics, _ in icalendar_unit_todos(plan, units, options)}

    def fields(ics):
        todo = icalendar.Calendar.from_ical(ics).walk("VTODO")[0]
        return tuple(str(todo.get(k)) if k in ("SUMMARY", "DESCRIPTION") else
                     (todo.decoded(k) if k in todo else None) for k in ("SUMMARY", "DESCRIPTION", "DTSTART", "DUE"))

    if ours.keys() != theirs.keys():
        return f"MISMATCH: {len(ours)} connector VTODOs vs {len(theirs)} icalendar VTODOs"
    bad = [u for u in ours if fields(ours[u]) != fields(theirs[u])]
    if bad:
        return f"MISMATCH in {len(bad)} of {len(ours)} VTODOs, e.g. {bad[0]}"
    return f"same SUMMARY/DESCRIPTION/DTSTART/DUE in all {len(ours)} unit VTODOs (N={len(units)})"


def bench_core(rows: list[Row], ns: list[int], notes: list[str]) -> None:
    sec = "1. pure core (seed plan)"
    t_parse, plan_doc = best_of(lambda: parse_plan(str(SEED)))
    t_map, _ = best_of(lambda: load_plan(mapping=str(SEED_MAPPING)))
    rows.append(Row(sec, "parse_plan (vs Plan from its TOML mapping)", None, "s", t_parse, t_map,
                    f"{len(plan_doc.tasks)} tasks"))
    plan = seed_plan()
    options = RenderOptions(folder_url=folder_url("http://127.0.0.1:5233/"))
    notes.append("render check: " + check_same_todos(plan, sample_units(min(ns)), options))
    for n in ns:
        units = sample_units(n)
        t_conn, (cals, items) = best_of(lambda: connector_render(plan, units, options))
        n_todos = sum(1 for it in items if "-td-" in it.uid)
        del cals, items
        t_ical, _ = best_of(lambda: icalendar_unit_todos(plan, units, options), budget=0.1, most=3)
        m_conn = peak_memory(lambda: connector_render(plan, units, options))
        m_ical = peak_memory(lambda: icalendar_unit_todos(plan, units, options))
        note = f"{n_todos} unit VTODOs"
        rows.append(Row(sec, "expand+build_desired time (vs icalendar)", n, "s", t_conn, t_ical, note))
        rows.append(Row(sec, "expand+build_desired peak mem (vs icalendar)", n, "B", m_conn, m_ical, note))


# --- 2. register ----------------------------------------------------------------------------

def sample_files(obligations, units) -> list[RemoteFile]:
    """FILES_PER_UNIT reports per unit in its obligation folders (early, on the day, late) + one misplaced."""
    by_unit: dict[str, list] = {}
    for ob in obligations:
        by_unit.setdefault(ob.unit, []).append(ob)
    files = []
    for u in units:
        obs = [o for o in by_unit.get(u.id, []) if o.due]
        for i in range(FILES_PER_UNIT):
            ob = obs[(i * len(obs)) // FILES_PER_UNIT]
            when = datetime.combine(ob.due, datetime.min.time(), TZ) + timedelta(days=(-5, 0, 9)[i % 3], hours=10)
            name = f"bao-cao-{i + 1}.pdf"
            files.append(RemoteFile(path=f"{ob.folder}/{name}", name=name, size=20_000, uploaded_at=when))
        unit_dir = by_unit[u.id][0].folder.split("/")[0]
        files.append(RemoteFile(path=f"{unit_dir}/nop-nham-cho.pdf", name="nop-nham-cho.pdf", size=1000,
                                uploaded_at=datetime(2022, 3, 1, 9, tzinfo=TZ)))
    return files


def naive_register(obligations, files, as_of: date) -> Counter:
    """Every file against every obligation folder (longest prefix wins); then each obligation's status."""
    limit = end_of_day(as_of)
    prefixes = [(nfc(ob.folder) + "/", ob) for ob in obligations]
    filed: dict[str, list[datetime]] = {}
    unassigned = 0
    for f in files:
        path = nfc(f.path)
        if f.uploaded_at and f.uploaded_at > limit:
            continue
        best = None
        for prefix, ob in prefixes:
            if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, ob)
        if best is None:
            unassigned += 1
        else:
            filed.setdefault(best[1].key, []).append(f.uploaded_at)
    counts: Counter = Counter()
    for ob in obligations:
        times = filed.get(ob.key)
        counts[status_of(ob.due, min(times) if times else None, as_of)] += 1
    return counts


def bench_register(rows: list[Row], ns: list[int], notes: list[str]) -> None:
    sec = "2. register"
    plan = seed_plan()
    now = datetime(2023, 6, 30, 17, tzinfo=TZ)
    mismatches = []
    for n in ns:
        units = sample_units(n)
        obs = expand(plan, units)
        files = sample_files(obs, units)
        folders = {u.id: names.unit_folder(u) for u in units}
        t_conn, reg = best_of(lambda: compute_register(obs, files, units, plan, AS_OF, now, unit_folders=folders,
                                                       ignored_dirs={"_Tổng hợp"}), most=3)
        t_naive, counts = best_of(lambda: naive_register(obs, files, AS_OF), budget=0.1, most=3)
        if Counter({k: v for k, v in reg.counts().items() if v}) != counts:
            mismatches.append(n)
        rows.append(Row(sec, "compute_register (vs naive prefix scan)", n, "s", t_conn, t_naive,
                        f"{len(obs)} obligations x {len(files)} files"))
    notes.append("register check: " + (f"status counts DIFFER for N={mismatches}" if mismatches
                                       else "naive scan gives the same status counts at every N"))


# --- 3./4. sync against the embedded servers -------------------------------------------------

class Site:
    """One embedded data directory (fixed ports, like a real installation) and the configs to run on it."""

    def __init__(self, tmp: Path, name: str, n: int, parallel: int = PARALLEL):
        self.dir = tmp / name
        self.dir.mkdir(parents=True)
        units = self.dir / "units.toml"
        units.write_text(tomli_w.dumps({"units": [u.model_dump() for u in sample_units(n)]}), encoding="utf-8")
        self.cfg = Config(server=ServerConfig(kind="embedded", data_dir=str(self.dir / "data"),
                                              caldav_port=free_port(), webdav_port=free_port()),
                          plan=PlanConfig(document=str(SEED), units=str(units)))
        self.cfg.sync.parallel = parallel
        self.cfg.state_dir = str(self.dir / "state")
        self.out = self.dir / "register"

    def job(self, state_dir: Path | None = None) -> Job:
        return Job(self.cfg, state_dir=str(state_dir) if state_dir else None)


def timed(job: Job, fn):
    """(seconds, HTTP requests, result) of fn() on an open job."""
    before = job.requests
    gc.collect()
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, job.requests - before, result


def sync_writes(result: dict) -> int:
    return sum(result["items"].values()) + result["folders_created"]


def desired(job: Job):
    prev = job.last_register()
    cfg = job.cfg.plan
    options = RenderOptions(alarm_days=cfg.alarm_days, folder_url=job.folder_url)
    return build_desired(job.plan, job.units, job.obligations, options,
                         completions=prev.completions() if prev else {},
                         coordinator_groups=cfg.coordinator_groups, publish=cfg.publish)


def naive_resync(job: Job) -> int:
    """A client without sync tokens, ETags or content hashes: list every calendar, fetch every item, PUT
    every desired item unconditionally (PUTs PARALLEL at a time, like the connector), delete our items
    that are no longer desired; then the same folder step. Returns the writes."""
    from connector.sync.folders import sync_folders

    calendars, items = desired(job)
    caldav = job.caldav
    home = caldav.calendars()
    by_cal: dict[str, list] = {c.slug: [] for c in calendars}
    for it in items:
        by_cal[it.calendar].append(it)
    puts, deletes = [], []
    for cal in calendars:
        info = home.get(cal.slug)
        href = info.href if info else caldav.create_calendar(cal.slug, cal.displayname, description=cal.description,
                                                              components=tuple(cal.components), color=cal.color)
        listing = caldav.list_items(href)
        fetched = caldav.fetch(href, list(listing.items)) if listing.items else {}
        wanted = {caldav.item_href(href, it.uid): it for it in by_cal[cal.slug]}
        deletes += [h for h, (_etag, ics) in fetched.items()
                    if h not in wanted and read_marker(ics)[0] == job.code]
        puts += [(h, it.ics) for h, it in wanted.items()]
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        for fut in [pool.submit(caldav.put, h, ics) for h, ics in puts]:
            fut.result()
        for fut in [pool.submit(caldav.delete, h) for h in deletes]:
            fut.result()
    entries = job.list_report_tree()
    folders = sync_folders(job.webdav, job.root, job.obligations, entries, extra=[job.cfg.plan.register_folder])
    return len(puts) + len(deletes) + len(folders.created)


def naive_collect(job: Job, out_dir: Path) -> list[str]:
    """List the tree, compute and write the register, PUT its files unconditionally. Returns their paths."""
    from connector.collect import remote_files
    from connector.register.export import write_all

    entries = job.list_report_tree()
    reg = compute_register(job.obligations, remote_files(entries, job.root), job.units, job.plan,
                           as_of=AS_OF, now=datetime.now(TZ), unit_folders=job.unit_folders(),
                           ignored_dirs={job.cfg.plan.register_folder})
    paths = write_all(reg, out_dir, folder_url=job.folder_url)
    folder = f"{job.root}/{job.cfg.plan.register_folder}"
    remote = [f"{folder}/naive-{p.name}" for p in paths.values()]
    for path, p in zip(remote, paths.values()):
        job.webdav.put(path, p.read_bytes())
    return remote


def upload_reports(job: Job, units: int) -> None:
    """One report each from the first few units, as they would file it, dated before its deadline."""
    seen = set()
    for ob in job.obligations:
        if ob.unit in seen or not ob.due or len(seen) >= units:
            continue
        seen.add(ob.unit)
        path = f"{job.root}/{ob.folder}/bao-cao.pdf"
        job.webdav.put(path, b"%PDF-1.4 report\n", create_only=True)
        job.embedded.set_file_time(path, datetime.combine(ob.due, datetime.min.time()) - timedelta(days=2))


def check_failures(label: str, result: dict, notes: list[str]) -> None:
    failed = result.get("failed") or []
    if failed:
        notes.append(f"{label}: {len(failed)} failed, e.g. {failed[0]}")


def bench_sync(rows: list[Row], ns: list[int], tmp: Path, notes: list[str], parallel_ns: list[int]) -> None:
    sec = "3. sync (embedded Radicale + WsgiDAV)"
    sec4 = "4. run_job (sync + collect + reflect)"
    # Warm-up: the first requests in a process pay for lazy imports on both sides.
    warm = Site(tmp, "warm-up", 1)
    with warm.job() as job:
        job.sync()
    for n in ns:
        site = Site(tmp, f"n{n}", n)
        with site.job() as job:
            t1, r1, first = timed(job, job.sync)
        check_failures(f"first sync N={n}", first, notes)
        w1 = sync_writes(first)
        items = sum(first["items"].values())
        with site.job() as job:
            t_noop, r_noop, noop = timed(job, job.sync)
        check_failures(f"no-op sync N={n}", noop, notes)
        with site.job(site.dir / "lost-state") as job:
            t_lost, r_lost, lost = timed(job, job.sync)
        check_failures(f"sync after losing the state N={n}", lost, notes)
        # The naive client: its re-sync (no state, so the same whether or not ours was lost), then a
        # naive collect; together the baseline of a run.
        with site.job() as job:
            t_nsync, r_nsync, w_nsync = timed(job, lambda: naive_resync(job))
            t_ncol, r_ncol, remote = timed(job, lambda: naive_collect(job, site.dir / "naive-register"))
            for path in remote:  # not part of the plan's state: remove before the connector's runs
                job.webdav.delete(path)
        # Reports filed by a few units, then a run that collects them and reflects them into the
        # to-dos; the run after it is the no-op rerun measured.
        with site.job() as job:
            upload_reports(job, min(n, 4))
            run_job(job, AS_OF, site.out)
        with site.job() as job:
            t_run, r_run, run = timed(job, lambda: run_job(job, AS_OF, site.out))
        if run["failed"]:
            notes.append(f"run_job rerun N={n}: {len(run['failed'])} failed, e.g. {run['failed'][0]}")
        t_p1 = r_p1 = None
        if n in parallel_ns:
            p1 = Site(tmp, f"n{n}-parallel-1", n, parallel=1)
            with p1.job() as job:
                t_p1, r_p1, first_p1 = timed(job, job.sync)
            check_failures(f"first sync parallel=1 N={n}", first_p1, notes)
        rows += [
            Row(sec, f"first sync: time, parallel={PARALLEL} (vs 1)", n, "s", t1, t_p1,
                f"{items} items, {first['folders_created']} folders"),
            Row(sec, f"first sync: requests, parallel={PARALLEL} (vs 1)", n, "req", r1, r_p1, f"{w1} writes"),
            Row(sec, "no-op re-sync: requests (vs naive)", n, "req", r_noop, r_nsync,
                f"writes {sync_writes(noop)} vs {w_nsync}"),
            Row(sec, "no-op re-sync: time (vs naive)", n, "s", t_noop, t_nsync),
            Row(sec, "re-sync, state lost: requests (vs naive)", n, "req", r_lost, r_nsync,
                f"writes {sync_writes(lost)} vs {w_nsync}"),
            Row(sec, "re-sync, state lost: time (vs naive)", n, "s", t_lost, t_nsync),
            Row(sec4, "no-op rerun: requests (vs naive run)", n, "req", r_run, r_nsync + r_ncol,
                f"writes {run['writes']} vs {w_nsync + len(remote)}"),
            Row(sec4, "no-op rerun: time (vs naive run)", n, "s", t_run, t_nsync + t_ncol),
        ]


# --- table ----------------------------------------------------------------------------------

BASELINES = {
    "1. pure core (seed plan)": "Plan from the TOML mapping; icalendar {v} Todo.new + Calendar.to_ical + sha256 of "
                                "the same unit VTODOs (connector side: all items, events and overview included)",
    "2. register": f"naive scan of every file against every obligation folder ({FILES_PER_UNIT} reports + 1 "
                   "misplaced file per unit), statuses by the same rule",
    "3. sync (embedded Radicale + WsgiDAV)": "naive client: PROPFIND home, full listing + multiget of every "
                                             f"calendar, unconditional PUT of every item ({PARALLEL} at a time), "
                                             "same folder step; first sync: the same sync with parallel=1",
    "4. run_job (sync + collect + reflect)": "naive re-sync + tree listing + register computed and its 4 files "
                                             "PUT unconditionally",
}


def render_table(rows: list[Row], meta: dict) -> str:
    rows = sorted(rows, key=lambda r: r.section)  # stable: N order kept within a section
    w = [max(len(r.measure) for r in rows) + 2, 6, 12, 12, 9]
    head = f"{'measure':<{w[0]}}{'N':>{w[1]}}  {'connector':>{w[2]}}  {'baseline':>{w[3]}}  {'ratio':>{w[4]}}  note"
    lines = [f"plan-connector bench — python {meta['python']}, {meta['cpus']} CPUs, {meta['machine']}, "
             f"load average at start {meta['load_average']}",
             f"command: {meta['command']}",
             "ratio = baseline / connector (above 1: the connector uses less)"]
    section = None
    for r in rows:
        if r.section != section:
            section = r.section
            lines += ["", f"== {section}", f"   baseline: {BASELINES[section].format(v=icalendar.__version__)}",
                      head, "-" * (len(head) + 30)]
        lines.append(f"{r.measure:<{w[0]}}{'' if r.n is None else r.n:>{w[1]}}  {fmt(r.connector, r.unit):>{w[2]}}  "
                     f"{fmt(r.baseline, r.unit):>{w[3]}}  {fmt_ratio(r.ratio):>{w[4]}}  {r.note}")
    lines.append("")
    lines += meta["notes"]
    lines.append(f"total bench time: {meta['total_seconds']:.1f} s ("
                 + ", ".join(f"{k} {v:.1f} s" for k, v in meta["section_seconds"].items()) + ")")
    return "\n".join(lines)


def int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("unit counts must be 1 or more")
    return values


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int_list, help="unit counts for the pure core and the register "
                    "(default 8,50,200; --quick 8,25)")
    ap.add_argument("--sync-units", type=int_list, help="unit counts for the server runs (default 8,50; --quick 8)")
    ap.add_argument("--parallel-units", type=int_list, help="unit counts at which the first sync is repeated with "
                    "parallel=1 (default: the smallest of --sync-units)")
    ap.add_argument("--quick", action="store_true", help="small sizes only (under ~20 s)")
    ap.add_argument("--no-server", action="store_true", help="skip sections 3 and 4")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    units = args.units or ([8, 25] if args.quick else [8, 50, 200])
    sync_units = [] if args.no_server else (args.sync_units or ([8] if args.quick else [8, 50]))

    logging.disable(logging.WARNING)  # the plan warns that units of kind "ban" are missing at small N
    start = time.perf_counter()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    rows: list[Row] = []
    notes: list[str] = []
    sections: dict[str, float] = {}

    def section(name, fn, *a):
        t = time.perf_counter()
        fn(*a)
        sections[name] = time.perf_counter() - t

    section("core", bench_core, rows, units, notes)
    section("register", bench_register, rows, units, notes)
    if sync_units:
        with tempfile.TemporaryDirectory(prefix="plan-connector-bench-") as tmp:
            parallel_ns = args.parallel_units or [min(sync_units)]
            section("servers", bench_sync, rows, sync_units, Path(tmp), notes, parallel_ns)
    meta = {"command": " ".join(["scripts/bench.py", *(sys.argv[1:] if argv is None else argv)]),
            "python": platform.python_version(), "load_average": load, "cpus": os.cpu_count(),
            "machine": f"{platform.system()} {platform.machine()}", "icalendar": icalendar.__version__,
            "notes": notes, "section_seconds": sections, "total_seconds": time.perf_counter() - start}
    if args.json:
        doc = {**meta, "ratio": "baseline / connector",
               "baselines": {k: v.format(v=icalendar.__version__) for k, v in BASELINES.items()},
               "rows": [{**asdict(r), "ratio": r.ratio} for r in sorted(rows, key=lambda r: r.section)]}
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        print(render_table(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
