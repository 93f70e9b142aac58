"""The README's first command on a fresh clone: no venv, no state, nothing but Python and PyPI.

It must exit 0, write the four register files with every status present, and a second run must
write nothing.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from connector.models import Status

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.server]


def fresh_clone(dest: Path) -> Path:
    if (ROOT / ".git").exists():
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True)
    else:
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".venv", "plan-connector-data", "__pycache__"))
    return dest


def test_demo_runs_on_a_fresh_clone_and_a_second_run_writes_nothing(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    assert not (clone / ".venv").exists() and not (clone / "plan-connector-data").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    first = subprocess.run([str(clone / "scripts" / "demo")], cwd=clone, env=env, capture_output=True,
                           text=True, timeout=900)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    register = clone / "plan-connector-data" / "register"
    for ext in ("json", "csv", "xlsx", "html"):
        assert (register / f"register.{ext}").stat().st_size > 0
        assert f"register.{ext}" in first.stdout
    rows = json.loads((register / "register.json").read_text(encoding="utf-8"))["rows"]
    assert {r["status"] for r in rows} == {s.value for s in Status}
    assert "simulated history" in first.stdout

    second = subprocess.run([str(clone / "scripts" / "demo")], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "total writes this run: 0" in second.stdout
