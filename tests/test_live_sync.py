"""The whole job on a live Nextcloud 34, as a small organisation installs it (SQLite, default limits)."""
from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.nextcloud, pytest.mark.slow]


def test_first_sync_of_three_units_completes_in_one_run_and_the_second_writes_nothing(nc_case):
    nc_case.units(3, members=1)
    cfg = nc_case.config()
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["created"] > 100 and first["failed"] == []
    code, out, err = nc_case.run("sync", "-c", cfg, "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)
