"""The README's admin walkthrough, followed on a fresh directory against the live Nextcloud: install as a
service (scripts/install), first config, app password, `check`, `sync --dry-run`, `run` with a log file,
a second run that writes nothing, `purge --dry-run`, `purge --yes` — all as the service user."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.nextcloud, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def system_python() -> str | None:
    """A Python 3.11+ the service user can run (not one under /root, such as pyenv's)."""
    for candidate in ("/usr/bin/python3.13", "/usr/bin/python3.12", "/usr/bin/python3.11", "/usr/bin/python3"):
        if Path(candidate).exists() and subprocess.run(
                [candidate, "-c", "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"],
                capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.fixture
def fresh_dir():
    """A directory the service user can reach (pytest's own tmp dirs are private to root)."""
    d = Path(tempfile.mkdtemp(prefix="pc-admin-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_an_admin_follows_the_readme_from_install_to_purge(nc_case, fresh_dir):
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("the walkthrough installs a service user: run as root (CI does)")
    python = system_python()
    if python is None:
        pytest.skip("no system Python 3.11+ with venv for the service user")
    prefix, etc = fresh_dir / "opt", fresh_dir / "etc"
    install = subprocess.run([str(ROOT / "scripts/install"), "--prefix", str(prefix), "--etc", str(etc), "--no-systemd"],
                             env={**os.environ, "PYTHON": python}, capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    assert "installed in" in install.stdout and (prefix / ".venv/bin/plan-connector").exists()
    command = str(prefix / ".venv/bin/plan-connector")

    # First config, as the README says: the app password, the server, the units, state and logs.
    units = nc_case.units(2, members=1)
    gid, _ = nc_case.coordinator()
    (etc / "app-password").write_text(nc_case.bot.app_password + "\n")
    shutil.copy(nc_case.tmp / "units.toml", etc / "units.toml")
    state, logs = fresh_dir / "state", fresh_dir / "log"
    text = (etc / "plan-connector.toml").read_text(encoding="utf-8")
    text = text.replace('url = "https://cloud.example.org"', f'url = "{nc_case.url}"')
    text = text.replace('user = "plan-bot"', f'user = "{nc_case.bot.user}"')
    text = re.sub(r'coordinator_groups = \[[^]]*\]', f'coordinator_groups = ["{gid}"]', text)
    text = text.replace('dir = "/var/lib/plan-connector"', f'dir = "{state}"')
    (etc / "plan-connector.toml").write_text(text, encoding="utf-8")
    for d in (state, logs):
        d.mkdir()
        shutil.chown(d, "plan-connector", "plan-connector")
    for f in etc.iterdir():
        shutil.chown(f, group="plan-connector")
        f.chmod(0o640)

    def as_service(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "plan-connector", "--", command, *args, "-c", str(etc / "plan-connector.toml")],
                              capture_output=True, text=True, timeout=600, cwd="/")

    checked = as_service("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok       authentication" in checked.stdout and nc_case.bot.app_password not in checked.stdout

    dry = as_service("sync", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["created"] > 100

    log = logs / "run.log"
    ran = as_service("run", "--log-file", str(log), "--log-format", "json")
    assert ran.returncode == 0, ran.stderr + log.read_text()
    assert ran.stdout == ""  # quiet under cron when all is well
    again = as_service("run", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["writes"] == 0

    member = units[0].members[0].session(app=False)
    home = member.request("PROPFIND", f"{nc_case.url}/remote.php/dav/calendars/{units[0].members[0].user}/",
                          headers={"Depth": "1"})
    assert "pc-21-kl-tw-han" in home.text

    listed = as_service("purge", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["dry_run"] is True
    purged = as_service("purge", "--yes", "--json")
    assert purged.returncode == 0, purged.stderr
    assert not json.loads(purged.stdout)["failed"]
    home = member.request("PROPFIND", f"{nc_case.url}/remote.php/dav/calendars/{units[0].members[0].user}/",
                          headers={"Depth": "1"})
    assert "pc-21-kl-tw-han" not in home.text  # gone for the member too
    assert nc_case.bot.app_password not in ran.stderr + again.stdout + purged.stdout + log.read_text()
