"""Faults survived: `plan-connector run` against real servers that fail on a schedule, or killed mid-way.

The story of every case: the connector has run for a while (2 units, reports filed and collected). The
units file changes (one unit leaves, one arrives: a calendar made and one removed, to-dos created and
deleted, events and the overview updated, folders made) and a unit files one more report. The next run
meets a fault: connections dropped before or after the server acted, a stall past the read timeout,
500/503/429/423/507 answers, a 401, a failed MKCOL, or a SIGKILL at a random request. Then the run
after it, with the servers well again, must leave exactly what a clean run leaves (the calendars and
their items file by file, the folders, the reports, the register), with no UID twice, nothing of ours
orphaned, no report changed or lost, and a register that only gained the new report.

Embedded Radicale and WsgiDAV are wrapped in tests/dav_faults.Faults; the live Nextcloud (two cases)
sits behind a proxy with the same middleware.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
import tomli_w
from icalendar import Calendar

from connector.embedded import EmbeddedServers
from tests.dav_faults import Faults, Rule, WsgiServer, proxy_app, quiet_cuts
from tests.helpers import free_port, run_cli as cli

pytestmark = [pytest.mark.server, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"
CODE = "21-kl-tw"
PLAN_ROOT = "Báo cáo/21-KL-TW"
READ_TIMEOUT = 1.0


def _units(*ids: int) -> list[dict]:
    return [{"id": f"cb-{i}", "name": f"Chi bộ {i}", "group": f"chi-bo-{i}", "kind": "chi bộ cơ sở"} for i in ids]


BEFORE, AFTER = _units(1, 2), _units(1, 3)  # cb-2 leaves, cb-3 arrives


class Site:
    """One organisation's connector and servers, in a directory: data (server side), state, units, config."""

    def __init__(self, where: Path, ports: tuple[int, int], faults: Faults | None = None):
        self.dir = where
        self.ports = ports
        self.faults = faults or Faults()
        self.servers: EmbeddedServers | None = None

    def start(self) -> Site:
        self.servers = EmbeddedServers(self.dir / "data", caldav_port=self.ports[0], webdav_port=self.ports[1],
                                       password="fault-pass", middleware=self.faults.wrap).start()
        for server in self.servers._servers:  # a cut connection is the point here, not worth a traceback
            quiet_cuts(server)
        secret = self.dir / "password"
        secret.write_text("fault-pass\n")
        secret.chmod(0o600)
        self.config.write_text(tomli_w.dumps({
            "server": {"kind": "dav", "user": "admin", "password_file": str(secret),
                       "caldav_home": self.servers.calendar_home, "files_root": self.servers.files_root,
                       "read_timeout": READ_TIMEOUT},
            "plan": {"document": str(SEED), "units": str(self.dir / "units.toml")},
            "state": {"dir": str(self.dir / "state")}}), encoding="utf-8")
        return self

    def stop(self) -> None:
        if self.servers is not None:
            self.servers.stop()
            self.servers = None

    @property
    def config(self) -> Path:
        return self.dir / "plan-connector.toml"

    @property
    def files(self) -> Path:
        return self.dir / "data" / "files"

    @property
    def register_file(self) -> Path:
        """The register the last collection wrote locally (where this version keeps it in the state directory)."""
        state = self.dir / "state"
        found = [*state.glob(f"{CODE}-register.json"), *state.rglob("register.json")]
        return max(found, key=lambda p: p.stat().st_mtime)

    def set_units(self, units: list[dict]) -> None:
        (self.dir / "units.toml").write_text(tomli_w.dumps({"units": units}), encoding="utf-8")

    def run(self, *extra: str) -> tuple[int, str, str]:
        return cli("run", "-c", self.config, *extra)

    def file_report(self, unit: str, nth: int, name: str, when: datetime) -> str:
        """A unit uploads a report into its nth period folder (in name order); returns its path."""
        folders = sorted(p for p in (self.files / PLAN_ROOT / f"Chi bộ {unit}").rglob("*") if p.is_dir()
                         and not any(c.is_dir() for c in p.iterdir()))
        target = folders[nth] / name
        target.write_bytes(f"Báo cáo {unit} {nth} {name}".encode())
        stamp = when.timestamp()
        os.utime(target, (stamp, stamp))
        return str(target.relative_to(self.files))

    # -- what a run leaves ----------------------------------------------------------------------
    def snapshot(self) -> dict:
        """Calendars (name, props, every item file), folders, report files, register rows: as the disk holds them."""
        home = self.dir / "data" / "caldav" / "collection-root" / "admin"
        calendars = {}
        for cal in sorted(p for p in home.iterdir() if p.is_dir() and not p.name.startswith(".")):
            props = json.loads((cal / ".Radicale.props").read_text(encoding="utf-8"))
            items = {f.name: f.read_text(encoding="utf-8") for f in sorted(cal.iterdir()) if f.is_file()
                     and not f.name.startswith(".")}
            calendars[cal.name] = {"displayname": props.get("D:displayname"), "items": items}
        register_dir = self.files / PLAN_ROOT / "_Tổng hợp"
        folders = sorted(str(p.relative_to(self.files)) for p in self.files.rglob("*") if p.is_dir())
        reports = {str(p.relative_to(self.files)): hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in self.files.rglob("*") if p.is_file() and register_dir not in p.parents}
        register = json.loads(self.register_file.read_text(encoding="utf-8"))
        rows = [{k: v for k, v in row.items()} for row in register["rows"]]
        return {"calendars": calendars, "folders": folders, "reports": reports, "register": rows,
                "unassigned": register.get("unassigned"), "uploaded_register": sorted(
                    p.name for p in register_dir.iterdir()) if register_dir.is_dir() else []}


def uids(snapshot: dict) -> list[str]:
    out = []
    for cal in snapshot["calendars"].values():
        for text in cal["items"].values():
            out += [str(c["UID"]) for c in Calendar.from_ical(text).walk() if c.name in ("VEVENT", "VTODO")]
    return out


@pytest.fixture(scope="module")
def ports():
    return free_port(), free_port()


ON_TIME = datetime(2022, 2, 10, 9, 0)


@pytest.fixture(scope="module")
def base(tmp_path_factory, ports):
    """The connector after a while: 2 units, their reports filed and collected (servers stopped)."""
    where = tmp_path_factory.mktemp("base")
    site = Site(where, ports).start()
    try:
        site.set_units(BEFORE)
        code, _, err = site.run()
        assert code == 0, err
        site.file_report("1", 0, "bao-cao-cb1.pdf", ON_TIME)
        site.file_report("2", 1, "bao-cao-cb2.docx", ON_TIME)
        code, _, err = site.run()
        assert code == 0, err
        before = site.snapshot()
    finally:
        site.stop()
    assert sum(r["status"] != "overdue" and r["files"] != [] for r in before["register"]) == 2
    return where, before


def fresh_site(base, tmp_path: Path, ports, faults: Faults | None = None) -> Site:
    """A copy of the base site, servers started; the units change and one more report is filed."""
    where = tmp_path / "site"
    shutil.copytree(base[0], where)
    site = Site(where, ports, faults).start()
    site.set_units(AFTER)
    site.file_report("1", 2, "bao-cao-moi.pdf", ON_TIME)
    return site


@pytest.fixture(scope="module")
def clean(base, tmp_path_factory, ports):
    """What a clean run leaves after the change (the reference every faulty case is compared with)."""
    site = fresh_site(base, tmp_path_factory.mktemp("clean"), ports)
    try:
        code, out, err = site.run()
        assert code == 0, err + out
        return site.snapshot()
    finally:
        site.stop()


def assert_converged(site: Site, clean: dict, before: dict) -> None:
    after = site.snapshot()
    got = uids(after)
    assert len(got) == len(set(got)), "a UID twice"
    assert after["calendars"].keys() == clean["calendars"].keys()
    for slug, cal in clean["calendars"].items():
        assert after["calendars"][slug]["displayname"] == cal["displayname"]
        assert after["calendars"][slug]["items"].keys() == cal["items"].keys(), f"{slug}: items differ"
        differ = [n for n, text in cal["items"].items() if after["calendars"][slug]["items"][n] != text]
        assert differ == [], f"{slug}: content differs"
    assert after["folders"] == clean["folders"]
    assert after["reports"] == clean["reports"]
    # Every report filed before is still there, unchanged; the register only gained the new one.
    assert before["reports"].items() <= after["reports"].items()
    assert after["register"] == clean["register"]
    new = [r for r in after["register"] if r not in before["register"]]
    assert all(r["unit"] in ("cb-1", "cb-3") for r in new)
    assert [r for r in before["register"] if r["unit"] == "cb-1" and r not in after["register"]] == \
        [r for r in before["register"] if r["unit"] == "cb-1" and r not in clean["register"]]
    assert after["uploaded_register"] == clean["uploaded_register"]
    code, out, err = cli("sync", "-c", site.config, "--json")
    assert code == 0 and json.loads(out)["created"] == json.loads(out)["updated"] == json.loads(out)["deleted"] == 0


DB_LOCKED = (b'<?xml version="1.0" encoding="utf-8"?><d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">'
             b"<s:exception>PDOException</s:exception><s:message>SQLSTATE[HY000]: General error: 5 database is "
             b"locked</s:message></d:error>")

# fault class -> (rules, exit codes the faulty run may end with)
CASES = {
    "dropped before the server acts": ([Rule("drop", every=7, limit=4)], {0, 1}),
    "dropped after the server acted": ([Rule("drop_after", every=5, limit=4)], {0, 1}),
    "stall past the read timeout": ([Rule("stall", methods={"PUT"}, every=20, limit=1, seconds=READ_TIMEOUT + 0.5)],
                                    {3}),
    "server stops answering": ([Rule("stall", methods={"PUT"}, after=10, seconds=READ_TIMEOUT + 0.3)], {3}),
    "500 server error": ([Rule(500, every=9, limit=5)], {1}),
    "500 database is locked": ([Rule(500, body=DB_LOCKED, every=6, limit=5)], {0}),
    "503 with Retry-After": ([Rule(503, headers={"Retry-After": "0"}, every=6, limit=5)], {0}),
    "429 without Retry-After": ([Rule(429, methods={"PUT", "DELETE"}, every=10, limit=3)], {0, 1}),
    "423 locked": ([Rule(423, every=8, limit=4)], {1}),
    "507 insufficient storage": ([Rule(507, every=8, limit=4)], {1}),
    "401 mid-run": ([Rule(401, methods={"PUT"}, every=15, limit=1)], {3}),
    "MKCOL refused": ([Rule(507, methods={"MKCOL"}, server="webdav", every=3, limit=3)], {1}),
    "MKCALENDAR refused (429)": ([Rule(429, methods={"MKCALENDAR"}, limit=1)], {1}),
    "REPORT and PROPFIND refused": ([Rule(500, methods={"REPORT"}, every=2, limit=2)], {1, 0}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_after_a_fault_the_next_run_leaves_what_a_clean_run_leaves(case, base, clean, tmp_path, ports):
    rules, codes = CASES[case]
    site = fresh_site(base, tmp_path, ports)
    try:
        site.faults.add(*rules)
        started = datetime.now().timestamp()
        code, out, err = site.run()
        assert site.faults.fired > 0, "the fault never happened"
        assert code in codes, f"{case}: exit {code}\n{err}"
        assert "Traceback" not in err
        if case == "server stops answering":  # the writes under way time out; none queued is started
            assert site.faults.fired <= 4, f"{site.faults.fired} writes each waited for the timeout"
        if case == "401 mid-run":
            after = site.faults.log[[s.status for s in site.faults.log].index(401) + 1:]
            assert [s for s in after if s.server == "caldav"] == [], "requests sent after a 401"
        if case == "MKCOL refused":  # a folder's failure does not end the run: calendars written, register made
            assert any(s.method == "PUT" and s.server == "caldav" for s in site.faults.log)
            assert site.register_file.stat().st_mtime >= started
        site.faults.clear()
        code, out, err = site.run()
        assert code == 0, f"{case}: the run after the fault failed\n{err}{out}"
        assert_converged(site, clean, base[1])
    finally:
        site.stop()


def _kill_points(n: int, seed: int = 20261126) -> list[int]:
    return sorted(random.Random(seed).sample(range(1, 140), n))


@pytest.mark.parametrize("at", _kill_points(4))
def test_a_run_killed_at_a_random_request_is_finished_by_the_next(at, base, clean, tmp_path, ports):
    site = fresh_site(base, tmp_path, ports)
    proc: subprocess.Popen | None = None
    killed = threading.Event()

    def kill_at(index, seen):
        if index >= at and proc is not None and not killed.is_set():
            killed.set()
            os.kill(proc.pid, signal.SIGKILL)

    try:
        site.faults.on_request = kill_at
        log = (tmp_path / "killed.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "connector", "run", "-c", str(site.config)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.wait(timeout=60) == -signal.SIGKILL and killed.is_set(), "the run ended before it was killed"
        log.close()
        site.faults.on_request = None
        code, out, err = site.run()
        assert code == 0, err + out
        assert_converged(site, clean, base[1])
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        site.stop()


def test_the_clean_run_did_the_change_the_cases_are_about(base, clean):
    before = base[1]
    assert "pc-21-kl-tw-cb-2" in before["calendars"] and "pc-21-kl-tw-cb-2" not in clean["calendars"]
    assert "pc-21-kl-tw-cb-3" in clean["calendars"]
    changed = [n for n, t in clean["calendars"]["pc-21-kl-tw-han"]["items"].items()
               if before["calendars"]["pc-21-kl-tw-han"]["items"].get(n) != t]
    assert changed  # events updated (the units owing them changed)
    assert any(f.startswith(f"{PLAN_ROOT}/Chi bộ 3/") for f in clean["folders"])
    assert len(clean["reports"]) == len(before["reports"]) + 1


# -- the live Nextcloud ------------------------------------------------------------------------------

def _nc_snapshot(case) -> tuple[list[str], dict[str, str]]:
    """(every UID in the bot's calendars, in order found; calendar slug -> sorted UIDs joined)."""
    import requests

    from connector.dav.caldav import CalDAVClient
    from connector.dav.http import HttpClient

    session = requests.Session()
    session.trust_env = False
    session.auth = (case.bot.user, case.bot.app_password)
    caldav = CalDAVClient(HttpClient(session), f"{case.url}/remote.php/dav/calendars/{case.bot.user}/")
    every, per_cal = [], {}
    for slug, info in caldav.calendars().items():
        if not slug.startswith("pc-"):
            continue
        listing = caldav.list_items(info.href)
        found = []
        for _etag, ics in caldav.fetch(info.href, list(listing.items)).values():
            found += [str(c["UID"]) for c in Calendar.from_ical(ics).walk() if c.name in ("VEVENT", "VTODO")]
        every += found
        per_cal[slug] = ",".join(sorted(found))
    return every, per_cal


@pytest.mark.nextcloud
def test_live_nextcloud_behind_a_failing_proxy_then_killed_converges(nc_case):
    """Nextcloud behind a proxy answering 503 to every 4th write and cutting every 6th after it acted;
    then a run killed mid-way; the next clean run leaves each UID once and a rerun writes nothing."""
    units = nc_case.units(2, members=0)
    nc_case.unit_list = units[:1]  # one unit first; the second comes with the run that is killed
    nc_case.write_units()
    faults = Faults()
    with WsgiServer(faults.wrap("nextcloud", proxy_app(nc_case.url))) as proxy:
        cfg = nc_case.config(server_extra={"url": proxy.url}, name="via-proxy.toml")
        faults.add(Rule(503, headers={"Retry-After": "0"}, every=4, limit=6),
                   Rule("drop_after", methods={"PUT", "MKCOL"}, every=6, limit=3))
        code, out, err = nc_case.run("sync", "-c", cfg)
        assert faults.fired > 0 and code in (0, 1) and "Traceback" not in err, err

        faults.clear()
        killed = threading.Event()
        nc_case.unit_list = units
        nc_case.write_units()
        proc = subprocess.Popen([sys.executable, "-m", "connector", "sync", "-c", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})

        def kill_after_some_writes(index, seen):
            if seen.method == "PUT" and not killed.is_set() and sum(s.method == "PUT" for s in faults.log) >= 10:
                killed.set()
                os.kill(proc.pid, signal.SIGKILL)

        faults.on_request = kill_after_some_writes
        try:
            assert proc.wait(timeout=120) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
        faults.on_request = None
        code, out, err = nc_case.run("sync", "-c", cfg)
        assert code == 0, err + out
        code, out, err = nc_case.run("sync", "-c", cfg, "--json")
        result = json.loads(out)
        assert code == 0 and (result["created"], result["updated"], result["deleted"]) == (0, 0, 0), err
    every, _ = _nc_snapshot(nc_case)
    assert len(every) == len(set(every)) > 50
