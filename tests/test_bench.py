"""Smoke run of scripts/bench.py (`--quick`: 2 units, embedded servers): its JSON has every measure of the
connector and a column per installed peer, and its table shows them (no timing is checked)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "scripts" / "bench.py"
PEER_MODULES = {"loop": "requests", "caldav": "caldav", "vdirsyncer": "vdirsyncer"}

pytestmark = [pytest.mark.slow, pytest.mark.server]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick run: (its JSON document, the results file it wrote)."""
    out = tmp_path_factory.mktemp("bench") / "latest.json"
    proc = run("--quick", "--json", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), out


def test_quick_run_measures_every_step_of_the_connector(quick):
    doc, _ = quick
    assert doc["machine"]["cores"] and doc["machine"]["python"] and doc["date"]
    assert doc["servers"]["embedded"]["radicale"]
    [result] = doc["results"]
    assert (result["server"], result["units"], result["runs"]) == ("embedded", 2, 1)
    conn = result["median"]["connector"]
    for step in ("first", "noop", "noop_settled", "change", "collect", "collect_noop"):
        assert {"wall", "requests", "writes", "by_method", "rss"} <= set(conn[step]), step
        assert conn[step]["exit"] == 0, step
    assert conn["first"]["objects"]["items"] == result["median"]["objects"]["items"] > 100
    assert conn["first"]["requests"] >= conn["first"]["objects_created"]
    assert conn["noop"]["writes"] == 0 and 0 < conn["noop"]["requests"] < 10
    assert conn["noop_settled"]["writes"] == 0 and conn["noop_settled"]["requests"] <= conn["noop"]["requests"]
    assert conn["change"]["writes"] > 0  # the moved deadline is written
    assert conn["collect_noop"]["writes"] == 0
    assert conn["register_build"] > 0 and conn["rss"] > 10 * 2**20
    assert {r["measure"] for r in doc["core"]} >= {"parse_plan (seed plan)", "expand + build_desired",
                                                   "compute_register"}


@pytest.mark.parametrize("peer", list(PEER_MODULES))
def test_each_installed_peer_has_its_column(quick, peer):
    if importlib.util.find_spec(PEER_MODULES[peer]) is None:
        pytest.skip(f"{peer} is not installed (pip install -e '.[bench]'); the bench skips it and says so")
    doc, _ = quick
    median = doc["results"][0]["median"]
    fig = median[peer]
    assert fig["first"]["requests"] >= median["objects"]["items"]
    assert fig["first"]["exit"] == 0 and fig["rss"] > 0
    if peer == "vdirsyncer":
        assert fig["noop"]["writes"] == 0  # a real sync: nothing to write the second time
    else:
        assert fig["noop"]["writes"] >= median["objects"]["items"]  # no state: everything written again


def test_the_table_shows_the_connector_beside_the_peers(quick):
    _, out = quick
    proc = run("--show", str(out))
    assert proc.returncode == 0, proc.stderr
    header = next(line for line in proc.stdout.splitlines() if line.startswith("| embedded, 2 units"))
    assert "| connector |" in header
    for peer, title in (("loop", "bare PUT loop"), ("caldav", "caldav lib"), ("vdirsyncer", "vdirsyncer")):
        assert (title in header) == (importlib.util.find_spec(PEER_MODULES[peer]) is not None)
    for measure in ("first sync: requests", "re-sync, nothing changed: requests", "nothing changed, any later day",
                    "collect again, tree unchanged",
                    "register build alone", "peak RSS"):
        assert measure in proc.stdout
