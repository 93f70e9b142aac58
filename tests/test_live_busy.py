"""A busy live Nextcloud (SQLite, as small organisations run it): parallel writes meet "database is locked",
and a folder that cannot be made; the run still does everything it can, in one go."""
from __future__ import annotations

import json
import re

import pytest

pytestmark = [pytest.mark.nextcloud, pytest.mark.slow]


def test_a_first_sync_with_eight_writers_completes_in_one_run_and_the_second_writes_nothing(nc_case):
    nc_case.units(2, members=1)
    cfg = nc_case.config(sync={"parallel": 8})
    log_file = nc_case.tmp / "run.log"
    code, out, err = nc_case.run("sync", "-c", cfg, "--json", "-v", "--log-file", log_file)
    assert code == 0, err
    first = json.loads(out)
    assert first["failed"] == [] and first["created"] > 100
    logged = log_file.read_text(encoding="utf-8")
    if nc_case.nc.server_dir is not None:  # our own SQLite server: eight writers did meet its lock
        retried = [line for line in logged.splitlines() if "retrying in" in line]
        assert retried and any("database is locked" in line for line in retried)
        assert all(re.search(r" during [A-Z]+ /(remote|ocs)\S*", line) for line in retried)  # method and path
    assert nc_case.bot.app_password not in logged and nc_case.bot.app_password not in err

    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)


def test_a_folder_that_cannot_be_made_is_one_failure_and_the_run_does_everything_else(nc_case):
    """A file named like the report root's parent: no report folder can exist. The calendars, to-dos,
    calendar shares and the register are still done; the run exits 1 naming what failed, once."""
    units = nc_case.units(2, members=1)
    cfg = nc_case.config()
    dav = nc_case.bot.session()
    files = f"{nc_case.url}/remote.php/dav/files/{nc_case.bot.user}/"
    assert dav.put(files + "B%C3%A1o%20c%C3%A1o", data=b"not a folder", timeout=60).status_code == 201

    code, out, err = nc_case.run("run", "-c", cfg, "--json")
    assert code == 1, err
    mkcol = [line for line in err.splitlines() if "during MKCOL" in line]
    assert len(mkcol) == 1 and "conflict (409)" in mkcol[0] and "folders below it not made" in mkcol[0]
    assert "Traceback" not in err
    # Everything else: the member sees the deadline calendar and their unit's task list with its to-dos.
    member = units[0].members[0]
    home = f"{nc_case.url}/remote.php/dav/calendars/{member.user}/"
    listing = member.session(app=False).request("PROPFIND", home, headers={"Depth": "1"}, timeout=60)
    assert listing.status_code == 207
    assert listing.text.count("pc-21-kl-tw-") >= 2
