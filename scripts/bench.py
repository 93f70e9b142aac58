#!/usr/bin/env python3
"""plan-connector beside the tools people would use instead, on the same server in the same run.

    .venv/bin/python scripts/bench.py --units 50,200 [--server embedded|nextcloud|both] [--runs N]
                                      [--quick] [--json] [--no-core] [--out FILE]

For each server and unit count, on fresh servers (a new data directory, or new accounts on a fresh
Nextcloud), with a units file of that size ("Chi bộ cơ sở số N" after the eight example units) and a copy
of the seed plan with its years moved so that it starts in --plan-year (default: this year, a plan being
carried out now; its report folders come with their periods, [sync] folders_ahead_days):

- connector: first sync (wall, requests by method, objects created, its calendar step), no-op re-sync
  (twice: right after the first sync, which lists the new tree whole once, and again, as on most days),
  one-change re-sync (task 18's deadline moved a month in the plan copy), collect with 5 files filed per
  unit and the collect after it (unchanged tree), the register build alone (compute + export), peak RSS;
- peers, writing the very objects the connector rendered (its build_desired output) into calendars of
  their own account: (a) a bare sequential loop of PUTs with requests (run twice: its "re-sync" rewrites
  all); (b) the `caldav` library (add_event/add_todo, then the same again as its re-sync); (c) vdirsyncer
  syncing a local folder of .ics files to the server (discover + sync, then a no-op sync).

Every client runs in a subprocess of its own: wall time is the whole command (interpreter start
included, as a user waits for it), peak RSS comes from wait4(), requests are counted inside the process
(requests.Session, caldav's DAVClient, aiohttp). Ratios are peer / connector: above 1 the connector takes
less. Medians of --runs runs. The embedded servers run in this process (idle while a client runs), as
`plan-connector serve` runs them; the connector is configured as an admin would (server kind "embedded").

Nextcloud: ../shared/nextcloud/nc-server started in a temporary directory on a free port, calendar limits
raised for the run (occ: dav maximumCalendarsSubscriptions -1, rateLimitCalendarCreation and
rateLimitShareAddressbookOrCalendar high; config.php ratelimit_overwrite for OCS createShare). The
connector's account is an admin with an app password; each peer has an account of its own.

Also measured in this process (pure core, seed plan): parse_plan; expand + build_desired (every item's
model and hash); serializing every item with icalendar (what a first sync adds); compute_register with 5
files per unit.

Results: a table on stdout (or --json) and scripts/bench-results/latest.json (entries per server and unit
count are replaced, others kept; --quick writes nothing unless --out is given).
Peers that are not installed are skipped with the reason (pip install -e '.[bench]').
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"
EXAMPLE_UNITS = ROOT / "mappings" / "units.example.toml"
RESULTS = ROOT / "scripts" / "bench-results" / "latest.json"
# One deadline moved: task 18 ("tháng 12/<first year>") a month earlier, in the plan copy.
MOVED = ("(*tháng 12/{year}*)", "(*tháng 11/{year}*)")
SEED_FIRST_YEAR = 2022
FILES_PER_UNIT = 5
WRITE_METHODS = {"PUT", "DELETE", "MKCOL", "MKCALENDAR", "PROPPATCH", "POST", "MOVE", "COPY", "PATCH"}
PEERS = {"loop": "bare PUT loop", "caldav": "caldav lib", "vdirsyncer": "vdirsyncer"}
VDIRSYNCER_TRIES = 12  # its first sync is repeated while it reports errors (SQLite locks on Nextcloud)

# The code measured: a snapshot of the last commit (see snapshot_code) named by this variable, else this tree.
CODE_ENV = "PLAN_CONNECTOR_BENCH_CODE"
for _p in (ROOT / "tests", Path(os.environ.get(CODE_ENV) or ROOT)):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


# ============================================================================================
# Children: one measured client per process. Each writes its result as JSON to a file.
# ============================================================================================

def _counter():
    import threading

    counts: Counter = Counter()
    lock = threading.Lock()

    def note(method: str) -> None:
        with lock:
            counts[str(method).upper()] += 1
    return counts, note


def _wrap(owner, name: str, before=None, after=None, timer: dict | None = None, label: str | None = None):
    """Replace owner.name by a wrapper that times it (cumulative, in timer[label]) and/or sees its result."""
    orig = getattr(owner, name, None)
    if orig is None:
        return

    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            result = orig(*args, **kwargs)
        finally:
            if timer is not None:
                timer[label or name] = timer.get(label or name, 0.0) + time.perf_counter() - t
        if after is not None:
            after(result)
        return result
    setattr(owner, name, wrapper)


def child_connector(spec: dict) -> dict:
    """The connector's CLI in this process, its HTTP requests counted by method and its steps timed."""
    import contextlib
    import io

    import requests

    counts, note = _counter()
    orig_request = requests.Session.request

    def counting(self, method, url, *args, **kwargs):
        note(method)
        return orig_request(self, method, url, *args, **kwargs)
    requests.Session.request = counting

    import connector.commands as commands
    import connector.register.export as export
    import connector.register.status as status
    import connector.render.ical as ical
    import connector.sync.shares as shares

    steps: dict[str, float] = {}
    captured: dict = {}
    for owner, name, label in ((commands.Job, "list_report_tree", "list tree"),
                               (commands.Job, "make_folders", "folders"),
                               (commands.Job, "sync_calendars", "calendars"),
                               (shares, "ensure_groups", "groups"),
                               (shares, "sync_folder_shares", "folder shares"),
                               (status, "compute_register", "register compute"),
                               (export, "write_all", "register export")):
        _wrap(owner, name, timer=steps, label=label)
    _wrap(commands.Job, "sync", after=lambda r: captured.__setitem__("sync", r))
    for owner in (ical, commands):
        _wrap(owner, "build_desired", after=lambda r: captured.__setitem__("desired", r))

    from connector.cli import main

    out = io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(out):
        try:
            code = main(spec["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    job_seconds = time.perf_counter() - t
    # The peak of the run itself: what follows (the dump of every object for the peers) is the bench's.
    result = {"exit": code, "job_seconds": job_seconds, "by_method": dict(counts), "steps": steps, "rss": peak_rss_self(),
              "code": str(Path(commands.__file__).parents[1]),
              "stdout_tail": out.getvalue()[-2000:]}
    sync = captured.get("sync")
    if sync:
        result["sync"] = {k: (len(v) if isinstance(v, (list, dict)) and k != "items" else v)
                          for k, v in sync.items() if not k.startswith("_") and k != "notices"}
    if spec.get("dump") and captured.get("desired"):
        calendars, items = captured["desired"]
        Path(spec["dump"]).write_text(json.dumps({
            "calendars": [{"slug": c.slug, "displayname": c.displayname, "components": list(c.components)}
                          for c in calendars],
            "items": [{"calendar": it.calendar, "uid": it.uid, "ics": it.ics} for it in items]},
            ensure_ascii=False), encoding="utf-8")
    return result


def _objects(spec: dict) -> dict:
    return json.loads(Path(spec["objects"]).read_text(encoding="utf-8"))


def _mkcalendar_body(displayname: str, components: list[str]) -> bytes:
    from xml.sax.saxutils import escape

    comps = "".join(f'<C:comp name="{c}"/>' for c in components)
    return ('<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
            f"<D:displayname>{escape(displayname)}</D:displayname>"
            f"<C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set>"
            "</D:prop></D:set></C:mkcalendar>").encode("utf-8")


def child_loop(spec: dict) -> dict:
    """(a) The floor of a one-at-a-time client: MKCALENDAR each calendar (first run), PUT every object."""
    import requests

    acc, objects = spec["account"], _objects(spec)
    counts: Counter = Counter()
    failed: Counter = Counter()
    home = acc["calendar_home"]
    with requests.Session() as s:
        s.trust_env = False
        s.auth = (acc["user"], Path(acc["password_file"]).read_text().strip())
        if spec["create"]:
            for cal in objects["calendars"]:
                counts["MKCALENDAR"] += 1
                r = s.request("MKCALENDAR", f"{home}{quote(cal['slug'])}/",
                              data=_mkcalendar_body(cal["displayname"], cal["components"]),
                              headers={"Content-Type": "application/xml; charset=utf-8"})
                if r.status_code not in (201, 405):
                    failed[f"MKCALENDAR {r.status_code}"] += 1
        for it in objects["items"]:
            counts["PUT"] += 1
            r = s.put(f"{home}{quote(it['calendar'])}/{quote(it['uid'])}.ics", data=it["ics"].encode("utf-8"),
                      headers={"Content-Type": "text/calendar; charset=utf-8"})
            if r.status_code not in (200, 201, 204):
                failed[f"PUT {r.status_code}"] += 1
    return {"exit": 0, "by_method": dict(counts), "written": counts["PUT"] - sum(v for k, v in failed.items()
                                                                                  if k.startswith("PUT")),
            "failed": dict(failed)}


def child_caldav(spec: dict) -> dict:
    """(b) The caldav library as its documentation shows: make_calendar, then add_event/add_todo per object
    (stored verbatim: increase_seqno=False where caldav has it). Its "re-sync" saves everything again."""
    import caldav
    from caldav.davclient import DAVClient

    counts, note = _counter()
    # caldav 2 and later send through _sync_request, caldav 1 through request; both take (url, method, ...).
    sender = "_sync_request" if hasattr(DAVClient, "_sync_request") else "request"
    orig = getattr(DAVClient, sender)

    def counting(self, url, method="GET", *args, **kwargs):
        note(method)
        return orig(self, url, method, *args, **kwargs)
    setattr(DAVClient, sender, counting)
    # caldav 1 takes no increase_seqno (it would become a property of the item) and adds no SEQUENCE.
    verbatim = {} if sender == "request" else {"increase_seqno": False}

    acc, objects = spec["account"], _objects(spec)
    failed: Counter = Counter()
    written = 0
    client = caldav.DAVClient(url=acc["dav_root"], username=acc["user"],
                              password=Path(acc["password_file"]).read_text().strip())
    principal = client.principal()
    cals = {}
    for cal in objects["calendars"]:
        if spec["create"]:
            cals[cal["slug"]] = principal.make_calendar(name=cal["displayname"], cal_id=cal["slug"],
                                                        supported_calendar_component_set=cal["components"])
        else:
            cals[cal["slug"]] = principal.calendar(cal_id=cal["slug"])
    for it in objects["items"]:
        cal = cals[it["calendar"]]
        add = cal.add_todo if "BEGIN:VTODO" in it["ics"] else cal.add_event
        try:
            add(it["ics"], **verbatim)
            written += 1
        except Exception as exc:  # noqa: BLE001 - a peer's failure is a figure, not a crash
            failed[type(exc).__name__] += 1
    return {"exit": 0, "by_method": dict(counts), "written": written, "failed": dict(failed),
            "version": getattr(caldav, "__version__", "?")}


def child_vdirsyncer(spec: dict) -> dict:
    """(c) vdirsyncer's own CLI (`vdirsyncer -c CONFIG discover|sync`) with its aiohttp requests counted."""
    import aiohttp

    counts, note = _counter()
    orig = aiohttp.ClientSession._request

    async def counting(self, method, *args, **kwargs):
        note(method)
        return await orig(self, method, *args, **kwargs)
    aiohttp.ClientSession._request = counting

    from vdirsyncer.cli import app

    try:
        app.main(args=spec["argv"], prog_name="vdirsyncer", standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # noqa: BLE001
        print(f"vdirsyncer: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    return {"exit": code, "by_method": dict(counts)}


def peak_rss_self() -> int | None:
    """This process's peak resident memory in bytes (VmHWM: of this program only; ru_maxrss would also
    count the parent's memory at the fork, as Linux carries the high-water mark across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


CHILDREN = {"connector": child_connector, "loop": child_loop, "caldav": child_caldav,
            "vdirsyncer": child_vdirsyncer}


def child_main(argv: list[str]) -> int:
    kind, spec_path, out_path = argv
    result = CHILDREN[kind](json.loads(Path(spec_path).read_text(encoding="utf-8")))
    result.setdefault("rss", peak_rss_self())
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


# ============================================================================================
# Parent: servers, accounts, steps
# ============================================================================================

CHILD_SCRIPT = str(Path(__file__).resolve())  # main() points it at a copy: this file may change meanwhile


@dataclass
class Step:
    wall: float
    rss: int  # bytes
    exit: int
    result: dict
    log: Path

    @property
    def requests(self) -> int:
        return sum(self.result.get("by_method", {}).values())

    @property
    def writes(self) -> int:
        return sum(v for k, v in self.result.get("by_method", {}).items() if k in WRITE_METHODS)


def spawn(kind: str, spec: dict, work: Path, label: str) -> Step:
    """Run one child; wall time of the whole process, its own peak RSS (VmHWM, else wait4's)."""
    spec_path, out, log = work / f"{label}.spec.json", work / f"{label}.result.json", work / f"{label}.log"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    out.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    with open(log, "wb") as fh:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, CHILD_SCRIPT, "--child", kind, str(spec_path),
                                 str(out)], stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=work, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    result = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {"exit": code, "by_method": {}}
    if code and not result.get("exit"):
        result["exit"] = code
    return Step(wall, result.get("rss") or usage.ru_maxrss * 1024, int(result.get("exit") or 0), result, log)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_secret(path: Path, secret: str) -> str:
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return str(path)


def units_doc(n: int, group_prefix: str = "") -> list[dict]:
    """n units: the eight example units (kinds ban, đoàn thể, ...), then "Chi bộ cơ sở số N"."""
    example = tomllib.loads(EXAMPLE_UNITS.read_text(encoding="utf-8"))["units"]
    out = []
    for i in range(n):
        if i < len(example):
            u = {k: example[i][k] for k in ("id", "name", "group", "kind")}
        else:
            u = {"id": f"cb-{i + 1:03d}", "name": f"Chi bộ cơ sở số {i + 1}", "group": f"chi-bo-co-so-{i + 1:03d}",
                 "kind": "chi bộ cơ sở"}
        u["group"] = f"{group_prefix}{u['group']}"
        out.append(u)
    return out


def peer_availability() -> dict[str, str | None]:
    """peer -> None when it can run here, else why not."""
    import importlib.util

    why = {"loop": None}
    why["caldav"] = None if importlib.util.find_spec("caldav") else "caldav is not installed (pip install caldav)"
    why["vdirsyncer"] = (None if importlib.util.find_spec("vdirsyncer") and importlib.util.find_spec("aiohttp")
                         else "vdirsyncer is not installed (pip install vdirsyncer)")
    return why


@dataclass
class Account:
    user: str
    password_file: str
    calendar_home: str  # URL ending in "/"
    dav_root: str  # where discovery starts (caldav lib, vdirsyncer)

    def spec(self) -> dict:
        return {"user": self.user, "password_file": self.password_file, "calendar_home": self.calendar_home,
                "dav_root": self.dav_root}


@dataclass
class Actors:
    connector_server: dict  # the [server] table of plan-connector.toml
    connector: Account
    files_root: str
    coordinator_groups: list[str]
    units: list[dict]
    peers: dict[str, Account] = field(default_factory=dict)


class EmbeddedSite:
    """Radicale + WsgiDAV in this process; a fresh data directory per run; one account per client."""

    name = "embedded"

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.servers = None

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.end_run()

    def versions(self) -> dict:
        import radicale
        import wsgidav

        return {"radicale": radicale.VERSION, "wsgidav": wsgidav.__version__}

    def begin_run(self, n: int, work: Path) -> Actors:
        import secrets

        from connector.embedded import EmbeddedServers

        passwords = {name: secrets.token_urlsafe(12) for name in PEERS}
        self.servers = s = EmbeddedServers(work / "data", extra_users=passwords).start()
        # As `plan-connector serve` does: the connector's runs (server kind "embedded", as an admin sets it up)
        # use these servers rather than start their own.
        s._write_serving_file()
        passwords["admin"] = s.password
        acc = {name: Account(name, write_secret(work / f"{name}.password", pw), f"{s.caldav_url}{name}/", s.caldav_url)
               for name, pw in passwords.items()}
        server = {"kind": "embedded", "data_dir": str(work / "data")}
        return Actors(server, acc["admin"], s.files_root, [], units_doc(n), {p: acc[p] for p in PEERS})

    def end_run(self) -> None:
        if self.servers is not None:
            self.servers._remove_serving_file()
            self.servers.stop()
            self.servers = None


class NextcloudSite:
    """../shared/nextcloud started once in a temporary directory; fresh accounts (and unit groups) per run."""

    name = "nextcloud"

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.dir = tmp / "nextcloud"
        self.nc = None

    def start(self) -> None:
        import live_nextcloud as ln

        reason = ln.local_unavailable_reason()
        if reason:
            raise SystemExit(f"bench: cannot start Nextcloud: {reason}")
        self.dir.mkdir(parents=True, exist_ok=True)
        info = ln.start_local(self.dir, free_port())
        self.nc = ln.LiveNextcloud(info["NC_URL"], info["NC_ADMIN_USER"],
                                   Path(info["NC_ADMIN_PASSWORD_FILE"]).read_text().strip(), server_dir=self.dir)
        # Limits raised for the run (a bench creates hundreds of calendars and shares in minutes).
        for key, value in (("maximumCalendarsSubscriptions", "-1"), ("rateLimitCalendarCreation", "1000000"),
                           ("rateLimitShareAddressbookOrCalendar", "1000000")):
            self.nc.occ("config:app:set", "dav", key, f"--value={value}")
        for key, value in (("limit", "1000000"), ("period", "600")):
            self.nc.occ("config:system:set", "ratelimit_overwrite", "files_sharing.shareapi.createshare", "user",
                        key, f"--value={value}", "--type=integer")

    def stop(self) -> None:
        import live_nextcloud as ln

        if self.nc is not None:
            ln.stop_local(self.dir)
            self.nc = None

    def versions(self) -> dict:
        php = subprocess.run(["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True).stdout.strip()
        return {"nextcloud": self.nc.version if self.nc else "?", "php": php, "database": "sqlite",
                "workers": os.environ.get("NC_WORKERS", "4")}

    def begin_run(self, n: int, work: Path) -> Actors:
        nc = self.nc
        prefix = nc.prefix()
        units = units_doc(n, group_prefix=f"{prefix}-")
        for u in units:
            nc.create_group(u["group"])
        coordinators = nc.create_group(f"{prefix}-dieu-phoi")
        dav = f"{nc.url}/remote.php/dav/"

        def account(who: str, admin: bool) -> Account:
            a = nc.bot(prefix) if admin else nc.create_user(f"{prefix}-{who}", app_password=True)
            return Account(a.user, write_secret(work / f"{who}.password", a.app_password),
                           f"{dav}calendars/{quote(a.user, safe='')}/", dav)
        bot = account("connector", True)
        server = {"kind": "nextcloud", "url": nc.url, "user": bot.user, "password_file": bot.password_file}
        return Actors(server, bot, f"{dav}files/{quote(bot.user, safe='')}/", [coordinators], units,
                      {p: account(p, False) for p in PEERS})

    def end_run(self) -> None:
        pass


def write_setup(actors: Actors, work: Path, plan_year: int) -> tuple[Path, Path]:
    """The plan copy (document + mapping, its years moved to start in plan_year), units.toml and
    plan-connector.toml of one run."""
    import re

    import tomli_w

    plan = work / SEED.name
    shift = plan_year - SEED_FIRST_YEAR
    for src, dst in ((SEED, plan), (SEED.with_suffix(".toml"), plan.with_suffix(".toml"))):
        text = src.read_text(encoding="utf-8")
        dst.write_text(re.sub(r"\b(20[0-9]{2})\b", lambda m: str(int(m.group(1)) + shift), text), encoding="utf-8")
    units = work / "units.toml"
    units.write_text(tomli_w.dumps({"units": actors.units}), encoding="utf-8")
    cfg = work / "plan-connector.toml"
    cfg.write_text(tomli_w.dumps({
        "server": actors.connector_server,
        "plan": {"document": str(plan), "units": str(units), "coordinator_groups": actors.coordinator_groups},
        "state": {"dir": str(work / "state")}}), encoding="utf-8")
    return cfg, plan


def move_deadline(plan: Path, plan_year: int) -> None:
    text = plan.read_text(encoding="utf-8")
    old, new = (m.format(year=plan_year) for m in MOVED)
    if text.count(old) != 1:
        raise SystemExit(f"bench: the seed plan no longer has one {old!r}; pick another deadline to move")
    plan.write_text(text.replace(old, new), encoding="utf-8")


def file_reports(cfg: Path, actors: Actors) -> int:
    """FILES_PER_UNIT reports per unit into the folders of obligations due by today (as units would file them)."""
    import requests

    from connector.commands import Job
    from connector.config import load_config

    import logging

    logging.disable(logging.WARNING)  # the plan's warnings were the connector's to print
    try:
        job = Job(load_config(str(cfg)))  # not entered: plan, units, obligations and root only
    finally:
        logging.disable(logging.NOTSET)
    by_unit: dict[str, list] = {}
    for ob in job.obligations:
        if ob.due and ob.due <= date.today():  # periods due by now: their folders exist
            by_unit.setdefault(ob.unit, []).append(ob)
    n = 0
    with requests.Session() as s:
        s.trust_env = False
        s.auth = (actors.connector.user, Path(actors.connector.password_file).read_text().strip())
        for obs in by_unit.values():
            for i in range(FILES_PER_UNIT):
                ob = obs[(i * len(obs)) // FILES_PER_UNIT]
                path = "/".join(quote(p, safe="") for p in f"{job.root}/{ob.folder}/bao-cao-{i + 1}.pdf".split("/"))
                r = s.put(actors.files_root + path, data=b"%PDF-1.4 bao cao\n")
                r.raise_for_status()
                n += 1
    return n


def write_vdir(objects: dict, vdir: Path) -> None:
    for cal in objects["calendars"]:
        (vdir / cal["slug"]).mkdir(parents=True, exist_ok=True)
    for it in objects["items"]:
        (vdir / it["calendar"] / f"{it['uid']}.ics").write_bytes(it["ics"].encode("utf-8"))


def vdirsyncer_config(acc: Account, vdir: Path, work: Path) -> Path:
    cfg = work / "vdirsyncer.conf"
    cfg.write_text(f"""[general]
status_path = "{work / 'vdirsyncer-status'}/"

[pair bench]
a = "bench_local"
b = "bench_remote"
collections = ["from a"]
conflict_resolution = "a wins"
implicit = "create"

[storage bench_local]
type = "filesystem"
path = "{vdir}/"
fileext = ".ics"

[storage bench_remote]
type = "caldav"
url = "{acc.dav_root}"
username = "{acc.user}"
password.fetch = ["command", "cat", "{acc.password_file}"]
""", encoding="utf-8")
    return cfg


def step_figures(step: Step) -> dict:
    return {"wall": step.wall, "requests": step.requests, "writes": step.writes, "rss": step.rss,
            "by_method": step.result.get("by_method", {}), "exit": step.exit}


def one_run(site, n: int, work: Path, peers: dict[str, str | None], notes: list[str], plan_year: int) -> dict:
    """Every measure of one run on fresh servers; returns a nested dict of figures."""
    actors = site.begin_run(n, work)
    try:
        cfg, plan = write_setup(actors, work, plan_year)
        dump = work / "objects.json"
        conn = {}

        def connector(label: str, *argv: str, dump_to: Path | None = None) -> dict:
            step = spawn("connector", {"argv": [*argv, "-c", str(cfg)], "dump": str(dump_to) if dump_to else None},
                         work, label)
            if step.exit:
                notes.append(f"{site.name} N={n} connector {label}: exit {step.exit} (see {step.log}): "
                             f"{step.result.get('stdout_tail', '')[-300:]}")
            fig = step_figures(step)
            fig.update(job=step.result.get("job_seconds"), steps=step.result.get("steps", {}),
                       sync=step.result.get("sync", {}))
            return fig

        conn["first"] = connector("first-sync", "sync", "--json", dump_to=dump)
        first = conn["first"]
        by = first["by_method"]
        items = first["sync"].get("items", {}).get("created", 0) if first["sync"] else 0
        first["objects"] = {"items": items, "calendars": by.get("MKCALENDAR", 0),
                            "folders": first["sync"].get("folders_created", 0),
                            "shares": max(0, first["sync"].get("created", 0) - items
                                          - first["sync"].get("folders_created", 0))}
        first["objects_created"] = sum(first["objects"].values())
        conn["noop"] = connector("noop-sync", "sync", "--json")  # lists the tree the first sync filled
        conn["noop_settled"] = connector("noop-settled", "sync", "--json")  # a day like most: nothing moved
        move_deadline(plan, plan_year)
        conn["change"] = connector("change-sync", "sync", "--json")
        conn["files_filed"] = file_reports(cfg, actors)
        conn["collect"] = connector("collect", "collect")
        conn["collect_noop"] = connector("collect-noop", "collect")
        conn["register_build"] = sum(conn["collect"]["steps"].get(k, 0.0)
                                     for k in ("register compute", "register export"))
        conn["rss"] = max(conn[k]["rss"] for k in ("first", "noop", "noop_settled", "change", "collect",
                                                   "collect_noop"))
        out = {"connector": conn}

        objects = json.loads(dump.read_text(encoding="utf-8")) if dump.is_file() else None
        if objects is None:
            notes.append(f"{site.name} N={n}: the connector's objects were not captured; peers skipped")
            return out
        out["objects"] = {"calendars": len(objects["calendars"]), "items": len(objects["items"])}
        for peer, why in peers.items():
            if why:
                continue
            acc = actors.peers[peer]
            if peer in ("loop", "caldav"):
                spec = {"account": acc.spec(), "objects": str(dump)}
                a = spawn(peer, {**spec, "create": True}, work, f"{peer}-first")
                b = spawn(peer, {**spec, "create": False}, work, f"{peer}-again")
                fa, fb = step_figures(a), step_figures(b)
                for f, s in ((fa, a), (fb, b)):
                    f["written"] = s.result.get("written")
                    if s.result.get("failed"):
                        notes.append(f"{site.name} N={n} {peer}: failed {s.result['failed']}")
                    if s.exit:
                        notes.append(f"{site.name} N={n} {peer}: exit {s.exit} (see {s.log})")
                out[peer] = {"first": fa, "noop": fb, "rss": max(a.rss, b.rss)}
            else:
                vdir = work / "vdir"
                write_vdir(objects, vdir)
                vcfg = vdirsyncer_config(acc, vdir, work)
                disc = spawn(peer, {"argv": ["-c", str(vcfg), "discover"]}, work, "vdirsyncer-discover")
                runs, total = [disc], step_figures(disc)
                total["by_method"] = Counter(total["by_method"])
                for i in range(VDIRSYNCER_TRIES):
                    s = spawn(peer, {"argv": ["-c", str(vcfg), "sync"]}, work, f"vdirsyncer-sync-{i + 1}")
                    runs.append(s)
                    total["wall"] += s.wall
                    total["requests"] += s.requests
                    total["writes"] += s.writes
                    total["by_method"].update(s.result.get("by_method", {}))
                    if s.exit == 0:
                        break
                total["by_method"] = dict(total["by_method"])
                total["sync_runs"] = len(runs) - 1
                total["exit"] = runs[-1].exit
                if runs[-1].exit:
                    notes.append(f"{site.name} N={n} vdirsyncer: still failing after {len(runs) - 1} syncs "
                                 f"(see {runs[-1].log})")
                noop = spawn(peer, {"argv": ["-c", str(vcfg), "sync"]}, work, "vdirsyncer-noop")
                out[peer] = {"first": total, "noop": step_figures(noop),
                             "rss": max(s.rss for s in [*runs, noop])}
        return out
    finally:
        site.end_run()


# ============================================================================================
# Pure core (in this process): parse, render (beside icalendar), register
# ============================================================================================

def best_of(fn, *, budget: float = 0.3, most: int = 5):
    import gc

    times, result = [], None
    while True:
        gc.collect()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        if len(times) >= most or sum(times) > budget:
            return min(times), result


def peak_memory(fn) -> int:
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    finally:
        tracemalloc.stop()
    return peak


def bench_core(ns: list[int], notes: list[str]) -> list[dict]:
    """Pure-core figures per unit count (seconds and bytes), in this process."""
    import logging
    from zoneinfo import ZoneInfo

    import icalendar

    from connector.models import RemoteFile
    from connector.plan import parse_plan
    from connector.plan.mapping import load_plan
    from connector.render import names
    from connector.render.ical import RenderOptions, build_desired, serialize
    from connector.register.export import write_all
    from connector.register.status import compute_register
    from connector.schedule import expand
    from connector.config import load_units

    logging.disable(logging.WARNING)  # small unit sets lack the "ban" kind some milestones name
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    rows = []
    t_parse, _ = best_of(lambda: parse_plan(str(SEED)))
    rows.append({"measure": "parse_plan (seed plan)", "n": None, "seconds": t_parse})
    plan = load_plan(document=str(SEED), mapping=str(SEED.with_suffix(".toml")))
    options = RenderOptions(folder_url=lambda f: "http://127.0.0.1:5233/" + quote(f))
    import tomli_w

    with tempfile.TemporaryDirectory(prefix="plan-connector-core-") as tmp:
        for n in ns:
            path = Path(tmp) / f"units-{n}.toml"
            path.write_text(tomli_w.dumps({"units": units_doc(n)}), encoding="utf-8")
            units = load_units(str(path))
            t_render, (cals, items) = best_of(lambda: build_desired(plan, units, expand(plan, units), options))
            mem = peak_memory(lambda: build_desired(plan, units, expand(plan, units), options))
            obs = expand(plan, units)
            t_ical, _ = best_of(lambda: [serialize(it.model, it.hash) for it in items], budget=0.1, most=3)
            by_unit: dict[str, list] = {}
            for ob in obs:
                if ob.due:
                    by_unit.setdefault(ob.unit, []).append(ob)
            files = []
            for uobs in by_unit.values():
                for i in range(FILES_PER_UNIT):
                    ob = uobs[(i * len(uobs)) // FILES_PER_UNIT]
                    when = datetime.combine(ob.due, datetime.min.time(), tz) + timedelta(days=(-5, 0, 9)[i % 3])
                    files.append(RemoteFile(path=f"{ob.folder}/bao-cao-{i + 1}.pdf", name=f"bao-cao-{i + 1}.pdf",
                                            size=20_000, uploaded_at=when))
            folders = {u.id: names.unit_folder(u) for u in units}
            now = datetime(2024, 6, 30, 17, tzinfo=tz)
            t_reg, reg = best_of(lambda: compute_register(obs, files, units, plan, date(2024, 6, 30), now,
                                                          unit_folders=folders, ignored_dirs={"_Tổng hợp"}), most=3)
            t_exp, _ = best_of(lambda: write_all(reg, Path(tmp) / f"reg-{n}"), budget=0.1, most=3)
            rows += [
                {"measure": "expand + build_desired", "n": n, "seconds": t_render, "peak_bytes": mem,
                 "items": len(items), "calendars": len(cals)},
                {"measure": f"serialize every item (icalendar {icalendar.__version__})", "n": n, "seconds": t_ical,
                 "items": len(items)},
                {"measure": "compute_register", "n": n, "seconds": t_reg, "obligations": len(obs), "files": len(files)},
                {"measure": "register export (json, csv, xlsx, html)", "n": n, "seconds": t_exp},
            ]
    logging.disable(logging.NOTSET)
    return rows


# ============================================================================================
# Medians, table, JSON
# ============================================================================================

def median_tree(runs: list):
    """The median of every number at the same place in each run's nested dict (first value otherwise)."""
    first = runs[0]
    if isinstance(first, dict):
        keys = []
        for r in runs:
            keys += [k for k in r if k not in keys]
        return {k: median_tree([r[k] for r in runs if isinstance(r, dict) and k in r]) for k in keys}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        values = [v for v in runs if isinstance(v, (int, float))]
        m = statistics.median(values)
        return int(m) if all(isinstance(v, int) for v in values) and m == int(m) else m
    return first


def fmt(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "B":
        return f"{value / 2**20:.1f} MiB"
    return f"{value:g}"


def ratio(peer, conn) -> str:
    if peer is None or conn in (None, 0):
        return ""
    r = peer / conn
    return f" ({r:.0f}×)" if r >= 100 else f" ({r:.1f}×)" if r >= 10 else f" ({r:.2f}×)"


def methods(by: dict) -> str:
    return " ".join(f"{k} {v}" for k, v in sorted(by.items(), key=lambda kv: -kv[1]))


def table(server: str, n: int, m: dict, runs: int) -> list[str]:
    """One Markdown table: rows are measures, columns the connector and each peer (ratio peer / connector)."""
    c = m["connector"]
    peers = [p for p in PEERS if p in m]
    objs = m.get("objects", {})
    head = (f"| {server}, {n} units ({objs.get('items', '?')} calendar objects in {objs.get('calendars', '?')} "
            f"calendars), median of {runs} | " + " | ".join(["connector", *(PEERS[p] for p in peers)]) + " |")
    lines = [head, "|---|---|" + "---|" * len(peers)]

    def row(label, conn_value, unit, peer_value=None, note="", peer_note=None):
        cells = [fmt(conn_value, unit) + note]
        for p in peers:
            v = peer_value(m[p]) if peer_value else None
            extra = (peer_note(p, m[p]) or "") if peer_note else ""
            cells.append(fmt(v, unit) + ratio(v, conn_value) + extra if v is not None else "—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def runs_note(p, fig):
        k = fig["first"].get("sync_runs")
        return f", discover + {k} syncs" if k and k > 1 else ""

    first = c["first"]
    cal_step = first["steps"].get("calendars")
    row("first sync: wall, whole job", first["wall"], "s", lambda p: p["first"]["wall"], peer_note=runs_note)
    row("first sync: wall, calendar objects only (connector: its calendar step)", cal_step, "s",
        lambda p: p["first"]["wall"])
    row("first sync: requests", first["requests"], "req", lambda p: p["first"]["requests"],
        f" ({methods(first['by_method'])})")
    o = first.get("objects", {})
    row("first sync: objects created", first.get("objects_created"), "n",
        lambda p: p["first"].get("written", p["first"]["by_method"].get("PUT")),
        f" ({o.get('items', 0)} items, {o.get('calendars', 0)} calendars, {o.get('folders', 0)} folders, "
        f"{o.get('shares', 0)} shares)")
    row("re-sync, nothing changed, right after the first (tree listed whole once): wall (peers: their re-sync)",
        c["noop"]["wall"], "s", lambda p: p["noop"]["wall"])
    settled = c.get("noop_settled")
    if settled:
        row("re-sync, nothing changed, any later day: wall (peers: their re-sync)", settled["wall"], "s",
            lambda p: p["noop"]["wall"])
        row("re-sync, nothing changed, any later day: requests", settled["requests"], "req",
            lambda p: p["noop"]["requests"], f" ({methods(settled['by_method'])})")
    row("re-sync, nothing changed: requests", c["noop"]["requests"], "req", lambda p: p["noop"]["requests"],
        f" ({methods(c['noop']['by_method'])})")
    row("re-sync, nothing changed: writes", c["noop"]["writes"], "n", lambda p: p["noop"]["writes"])
    row("re-sync, one deadline moved: wall", c["change"]["wall"], "s")
    row("re-sync, one deadline moved: requests / writes", c["change"]["requests"], "req", None,
        f" / {c['change']['writes']} ({methods(c['change']['by_method'])})")
    row(f"collect, {FILES_PER_UNIT} files per unit: wall", c["collect"]["wall"], "s")
    row(f"collect, {FILES_PER_UNIT} files per unit: requests / writes", c["collect"]["requests"], "req", None,
        f" / {c['collect']['writes']} ({methods(c['collect']['by_method'])})")
    row("collect again, tree unchanged: requests / writes", c["collect_noop"]["requests"], "req", None,
        f" / {c['collect_noop']['writes']} ({methods(c['collect_noop']['by_method'])})")
    row("register build alone (compute + export)", c.get("register_build"), "s",
        note=f" (compute {fmt(c['collect']['steps'].get('register compute'), 's')})"
        if c["collect"].get("steps", {}).get("register compute") is not None else "")
    row("collect again, tree unchanged: wall (nothing written)", c["collect_noop"]["wall"], "s")
    row("peak RSS (largest step)", c["rss"], "B", lambda p: p["rss"])
    return lines


def core_table(rows: list[dict]) -> list[str]:
    lines = ["| pure core, seed plan | N | time | note |", "|---|---|---|---|"]
    for r in rows:
        note = ", ".join(f"{k} {v / 2**20:.1f} MiB" if k == "peak_bytes" else f"{k} {v}"
                         for k, v in r.items() if k not in ("measure", "n", "seconds"))
        lines.append(f"| {r['measure']} | {r['n'] or ''} | {fmt(r['seconds'], 's')} | {note} |")
    return lines


def machine() -> dict:
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {"cores": os.cpu_count(), "ram_bytes": mem, "python": platform.python_version(),
            "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def peer_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("requests", "urllib3", "urllib3-future", "caldav", "niquests", "vdirsyncer", "aiohttp", "icalendar"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    if out["urllib3-future"]:
        out["urllib3"] = None  # its files replaced urllib3's; only urllib3's metadata is left
    return out


def http_stack_note(versions: dict) -> str | None:
    """caldav 2 and later bring niquests, whose urllib3-future replaces urllib3 for every package in the
    environment: the connector and the bare loop then run on it, not on the urllib3 users install."""
    if not versions.get("urllib3-future"):
        return None
    return (f"requests ran on urllib3-future {versions['urllib3-future']} (installed with caldav's niquests; it "
            "replaces urllib3 in this environment), for the connector and the bare loop alike: about 0.1 ms more "
            "client CPU per request than urllib3 2.8 (540 vs 430 us per PUT on this machine), under 1 % of a "
            "Nextcloud write")


def snapshot_code(tmp: Path, tree: bool) -> str:
    """Measure one consistent version: connector/ of HEAD extracted into tmp (this process and every child
    import it from there), unless `tree` (the working tree, uncommitted edits included). Returns its name."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "connector"))
    except (OSError, subprocess.SubprocessError):
        return "? (not a git checkout: this tree)"
    if tree or not head:
        return f"{head or '?'}{' + uncommitted changes in connector/' if dirty else ''} (working tree)"
    import io
    import tarfile

    src = tmp / "code"
    src.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD", "connector"], cwd=ROOT, capture_output=True, check=True,
                             timeout=60).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(src, filter="data")
    os.environ[CODE_ENV] = str(src)
    sys.path.insert(0, str(src))
    global CHILD_SCRIPT
    CHILD_SCRIPT = str(shutil.copy(Path(__file__).resolve(), src / "bench.py"))
    return f"{head} (committed; uncommitted edits in connector/ not measured)" if dirty else head


def int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("unit counts must be 1 or more")
    return values


def save(doc: dict, path: Path) -> None:
    """Merge into path: entries of the same server and unit count are replaced, the others kept."""
    old = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
    results = {(r["server"], r["units"]): r for r in old.get("results", [])}
    for r in doc["results"]:
        results[(r["server"], r["units"])] = r
    core = {(r["measure"], r["n"]): r for r in old.get("core", [])}
    for r in doc.get("core", []):
        core[(r["measure"], r["n"])] = r
    notes = [x for x in old.get("notes", []) if x not in doc["notes"]] + doc["notes"]
    merged = {**doc, "servers": {**old.get("servers", {}), **doc["servers"]}, "notes": notes,
              "results": sorted(results.values(), key=lambda r: (r["server"], r["units"])),
              "core": list(core.values())}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int_list, help="unit counts (default 50,200; --quick 2)")
    ap.add_argument("--server", choices=["embedded", "nextcloud", "both"], default="embedded")
    ap.add_argument("--runs", type=int, default=1, help="runs per unit count, fresh servers each (medians)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one run: a smoke test in seconds")
    ap.add_argument("--no-core", action="store_true", help="skip the pure-core measures")
    ap.add_argument("--core-units", type=int_list, help="unit counts of the pure-core measures (default: --units)")
    ap.add_argument("--no-peers", action="store_true", help="the connector only")
    ap.add_argument("--plan-year", type=int, default=date.today().year,
                    help=f"the seed plan's years moved so that it starts in this year (default: this year; "
                         f"{SEED_FIRST_YEAR}: as written)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    ap.add_argument("--out", help=f"results file (default {RESULTS.relative_to(ROOT)}; --quick: none)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs of every step)")
    ap.add_argument("--note", action="append", default=[], help="a note kept with the results (repeatable)")
    ap.add_argument("--tree", action="store_true", help="measure the working tree's connector/ (default: HEAD's)")
    ap.add_argument("--show", nargs="?", const=str(RESULTS), metavar="FILE",
                    help="print the tables of a results file (default: the latest) and exit")
    args = ap.parse_args(argv)
    if args.show:
        print(render(json.loads(Path(args.show).read_text(encoding="utf-8")), None))
        return 0
    ns = args.units or ([2] if args.quick else [50, 200])
    servers = ["embedded", "nextcloud"] if args.server == "both" else [args.server]
    peers = peer_availability()
    if args.no_peers:
        peers = {p: "--no-peers" for p in peers}
    notes = [*args.note, *(f"{PEERS[p]} skipped: {why}" for p, why in peers.items() if why)]
    versions = peer_versions()
    if stack := http_stack_note(versions):
        notes.append(stack)
    for line in notes:
        print(f"bench: {line}", file=sys.stderr)
    started = datetime.now(timezone.utc)
    tmp = Path(tempfile.mkdtemp(prefix="plan-connector-bench-"))
    meta = {"command": " ".join(["scripts/bench.py", *argv]), "date": started.isoformat(timespec="seconds"),
            "plan_year": args.plan_year,
            "connector": snapshot_code(tmp, args.tree),
            "machine": machine(), "versions": versions, "servers": {},
            "ratio": "peer / connector (above 1: the connector takes less)", "notes": notes}
    t0 = time.perf_counter()
    core: list[dict] = []
    results: list[dict] = []
    out = Path(args.out) if args.out else (None if args.quick else RESULTS)

    def document() -> dict:
        return {**meta, "total_seconds": time.perf_counter() - t0, "core": core, "results": results}
    try:
        if not args.no_core:
            core = bench_core(args.core_units or ns, notes)
        for name in servers:
            site = (EmbeddedSite if name == "embedded" else NextcloudSite)(tmp / name)
            site.start()
            try:
                meta["servers"][name] = site.versions()
                for n in ns:
                    runs = []
                    for i in range(1 if args.quick else args.runs):
                        work = tmp / name / f"n{n}-run{i + 1}"
                        work.mkdir(parents=True)
                        t = time.perf_counter()
                        try:
                            runs.append(one_run(site, n, work, peers, notes, args.plan_year))
                        except Exception as exc:  # noqa: BLE001 - one broken run must not lose the others
                            notes.append(f"{name} N={n} run {i + 1} failed: {type(exc).__name__}: {exc}")
                            print(f"bench: {notes[-1]}", file=sys.stderr)
                            continue
                        print(f"bench: {name} N={n} run {i + 1}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
                    if runs:
                        results.append({"server": name, "units": n, "runs": len(runs), "date": meta["date"],
                                        "plan_year": args.plan_year,
                                        "command": meta["command"], "machine": meta["machine"],
                                        "connector": meta["connector"], "server_versions": meta["servers"][name],
                                        "median": median_tree(runs), "each_run": runs})
                        if out is not None:  # saved as it goes: a long bench keeps what it measured
                            save(document(), out)
            finally:
                site.stop()
    finally:
        if args.keep:
            print(f"bench: logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    doc = document()
    meta["total_seconds"] = doc["total_seconds"]
    if out is not None:
        save(doc, out)
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=1, default=str))
        return 0 if results else 1
    print(render(doc, out))
    return 0 if results else 1


def render(doc: dict, out: Path | None) -> str:
    """The report: machine and versions, a table per server and unit count, the pure core, notes."""
    meta, results, core = doc, doc["results"], doc.get("core", [])
    m = meta["machine"]
    lines = [f"plan-connector bench: {m['cores']} cores, {(m['ram_bytes'] or 0) / 2**30:.0f} GiB, Python {m['python']}",
             "servers: " + "; ".join(f"{k} " + ", ".join(f"{a} {b}" for a, b in v.items())
                                    for k, v in meta["servers"].items()),
             "peers: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v),
             f"ratios: {meta['ratio']}", ""]
    for r in results:
        load = r.get("machine", {}).get("load_average_at_start", "?")
        lines += [f"{r['server']}, {r['units']} units: {r.get('date', '?')}, connector {r.get('connector', '?')}, "
                  f"seed plan starting in {r.get('plan_year', SEED_FIRST_YEAR)}, load average at start {load}; "
                  f"`{r.get('command', '?')}`", ""]
        lines += table(r["server"], r["units"], r["median"], r["runs"]) + [""]
    if core:
        lines += core_table(core) + [""]
    lines += [f"note: {x}" for x in meta.get("notes", [])]
    lines.append(f"total {meta['total_seconds']:.0f} s" + (f"; results in {out}" if out else ""))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
