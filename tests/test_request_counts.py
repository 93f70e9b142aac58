"""HTTP requests of the runs that happen most, counted (not timed), so a regression in requests fails here.

An admin's cron runs `plan-connector run` every day; on almost every day nothing has changed. Those runs
should cost a handful of requests whatever the plan's size (issue 12's targets, at 200 units: a no-op
re-sync in at most 10 requests, a collect of an unchanged tree in at most 3; scripts/bench.py measures
them at scale). Here: 3 units (2 on Nextcloud), the seed plan, the CLI's own count ("requests" in
`sync --json`, the "N HTTP requests" line of `collect`).

Bounds are today's measured values (an improvement passes; one request more fails): when the count goes
down, lower the bound with it.
"""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import requests
import tomli_w
from helpers import free_port
from helpers import run_cli as cli

ROOT = Path(__file__).resolve().parents[1]
SEED_PLAN = ROOT / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"

# Measured on 26/11/2026 (seed plan; 3 units on the embedded servers, 2 on Nextcloud 34):
# - no-op sync: 2 on the embedded servers (PROPFIND Depth 1 of the report root: its ETag says nothing changed
#   beneath, the last listing is reused; PROPFIND of the calendar home), 4 on Nextcloud 34 (the same two + the
#   two OCS share listings); no PROPFIND Depth infinity;
# - collect of an unchanged tree: 2 on both (the root's ETag; the calendar home's tokens for the reflect step;
#   the register is not uploaded again); 3 when the run before uploaded the register (its folder's ETag
#   moved: that folder is listed again, not the whole tree).
# The run after one that wrote folders lists what it wrote (the root's ETag moved): no bound here.
# Issue 12's request targets (<= 10 for a no-op sync at 200 units, <= 3 for collect of an unchanged tree)
# are met: the counts do not grow with the units (scripts/bench.py).
NOOP_SYNC = {"embedded": 2, "nextcloud": 4}
NOOP_COLLECT = {"embedded": 2, "nextcloud": 2}
COLLECT_AFTER_UPLOAD = {"embedded": 3, "nextcloud": 3}


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str | None]]:
    """Every request the connector sends in this test: (method, Depth header)."""
    seen: list[tuple[str, str | None]] = []
    send = requests.Session.request

    def spy(self, method, url, *args, **kwargs):
        seen.append((method.upper(), (kwargs.get("headers") or {}).get("Depth")))
        return send(self, method, url, *args, **kwargs)
    monkeypatch.setattr(requests.Session, "request", spy)
    return seen


def sync_requests(cfg: Path) -> dict:
    code, out, err = cli("sync", "-c", cfg, "--json")
    assert code == 0, err
    return json.loads(out)


def collect_requests(cfg: Path) -> int:
    code, out, err = cli("collect", "-c", cfg)
    assert code == 0, err
    found = re.findall(r"^(\d+) HTTP requests$", out, re.MULTILINE)
    assert found, out
    return int(found[-1])


def assert_counts(cfg: Path, server: str, sent: list) -> None:
    first = sync_requests(cfg)
    assert first["created"] > 100 and first["failed"] == []
    sync_requests(cfg)  # lists what the first sync made
    sent.clear()
    again = sync_requests(cfg)
    assert (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)
    assert again["requests"] <= NOOP_SYNC[server], (
        f"a sync with nothing to do sent {again['requests']} requests on {server} "
        f"(measured {NOOP_SYNC[server]}: PROPFIND root + PROPFIND home{' + 2 share listings' if server == 'nextcloud' else ''})")
    assert ("PROPFIND", "infinity") not in sent, "a sync with nothing to do listed the whole report tree"
    collect_requests(cfg)  # the first collect writes the register
    after_upload = collect_requests(cfg)
    assert after_upload <= COLLECT_AFTER_UPLOAD[server], (
        f"the collect after the register's upload sent {after_upload} requests on {server} "
        f"(measured {COLLECT_AFTER_UPLOAD[server]})")
    sent.clear()
    written = register_files(cfg)
    noop = collect_requests(cfg)
    assert noop <= NOOP_COLLECT[server], (
        f"a collect of an unchanged tree sent {noop} requests on {server} (measured {NOOP_COLLECT[server]})")
    assert ("PROPFIND", "infinity") not in sent, "a collect of an unchanged tree listed the whole report tree"
    assert register_files(cfg) == written, "a collect of an unchanged tree wrote the register files again"


def register_files(cfg: Path) -> dict[str, int]:
    """The local register files (register.json, .csv, .xlsx, .html) and their modification times."""
    state = Path(tomllib.loads(cfg.read_text(encoding="utf-8"))["state"]["dir"])
    found = {p.name: p.stat().st_mtime_ns for p in (state / "register").rglob("register.*")}
    assert len(found) == 4, found
    return found


@pytest.mark.server
def test_a_run_with_nothing_to_do_costs_two_requests_on_the_embedded_servers(tmp_path, sent):
    units = tmp_path / "units.toml"
    units.write_text(tomli_w.dumps({"units": [
        {"id": f"cb-{i:03d}", "name": f"Chi bộ cơ sở số {i}", "group": f"chi-bo-{i:03d}", "kind": "chi bộ cơ sở"}
        for i in (1, 2, 3)]}), encoding="utf-8")
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text(tomli_w.dumps({  # the embedded servers, started by each run on the same ports (links stay)
        "server": {"kind": "embedded", "data_dir": str(tmp_path / "data"),
                   "caldav_port": free_port(), "webdav_port": free_port()},
        "plan": {"document": str(SEED_PLAN), "units": str(units)},
        "state": {"dir": str(tmp_path / "state")}}), encoding="utf-8")
    assert_counts(cfg, "embedded", sent)


@pytest.mark.nextcloud
@pytest.mark.slow
def test_a_run_with_nothing_to_do_costs_four_requests_on_nextcloud(nc_case, sent):
    nc_case.units(2, members=0)  # 2, not 3: each unit adds ~60 folders, ~10 s, to the first sync
    assert_counts(nc_case.config(), "nextcloud", sent)
