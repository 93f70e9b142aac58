"""Smoke run of scripts/bench.py at tiny sizes: it runs and prints its table (no timing is checked)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "scripts" / "bench.py"

pytestmark = pytest.mark.slow


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.server
def test_bench_prints_its_table():
    proc = run("--units", "2", "--sync-units", "2")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for heading in ("== 1. pure core", "== 2. register", "== 3. sync", "== 4. run_job", "total bench time"):
        assert heading in out
    for measure in ("expand+build_desired time", "compute_register", "no-op re-sync: requests",
                    "re-sync, state lost: requests", "first sync: time, parallel=4 (vs 1)", "no-op rerun: requests"):
        assert measure in out
    assert "MISMATCH" not in out and "DIFFER" not in out


def test_bench_json_without_servers():
    proc = run("--units", "2", "--no-server", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["rows"] and {"measure", "n", "connector", "baseline", "ratio"} <= set(doc["rows"][0])
    assert doc["cpus"] and doc["python"]
