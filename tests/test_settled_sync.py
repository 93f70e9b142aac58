"""A rerun with nothing changed builds no item at all; anything that changed makes it decide item by item.

The admin's cron runs the sync every day and on most days nothing changed: the connector then knows from
its inputs (plan, units, settings, folder links, completions: Job.desired_fingerprint) and the calendar
home's sync-tokens that the server holds what the last complete run left, and renders nothing.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomli_w
from helpers import run_cli

import connector.render.ical as ical

pytestmark = pytest.mark.server

SEED_PLAN = Path(__file__).resolve().parents[1] / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"


def units_doc(names: list[str]) -> str:
    return tomli_w.dumps({"units": [{"id": f"cb-{i}", "name": name, "group": f"chi-bo-{i}", "kind": "chi bộ cơ sở"}
                                    for i, name in enumerate(names, 1)]})


@pytest.fixture
def setup(embedded, tmp_path):
    units = tmp_path / "units.toml"
    units.write_text(units_doc(["Chi bộ Sở Tư pháp", "Chi bộ Ban Dân tộc tỉnh"]), encoding="utf-8")
    password = tmp_path / "password"
    password.write_text(embedded.password + "\n")
    password.chmod(0o600)
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text(tomli_w.dumps({
        "server": {"kind": "dav", "user": embedded.user, "password_file": str(password),
                   "caldav_home": embedded.calendar_home, "files_root": embedded.files_root},
        "plan": {"document": str(SEED_PLAN), "units": str(units)},
        "state": {"dir": str(tmp_path / "state")}}), encoding="utf-8")
    return cfg, units


def sync(cfg: Path) -> dict:
    code, out, err = run_cli("sync", "-c", cfg, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def building(monkeypatch):
    """How many times the desired items were built (render.ical.build_desired called)."""
    calls = []
    real = ical.build_desired

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ical, "build_desired", counting)
    return calls


def test_a_rerun_with_nothing_changed_builds_no_item_and_writes_nothing(setup, building):
    cfg, _units = setup
    first = sync(cfg)
    assert first["created"] > 50 and building == [1]
    again = sync(cfg)
    assert (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)
    assert again["unchanged"] == first["items"]["created"]
    assert building == [1], "nothing changed, yet the items were built again"


def test_a_to_do_someone_deleted_is_made_again(setup, building, embedded, dav_session):
    cfg, _units = setup
    sync(cfg)
    # Chi bộ Sở Tư pháp deletes one of its to-dos in its calendar app.
    todo = f"{embedded.calendar_home}pc-21-kl-tw-cb-1/pc-21-kl-tw-td-cb-1-t02-m1-once.ics"
    assert dav_session.delete(todo).status_code in (200, 204)
    again = sync(cfg)
    assert again["items"] == {"created": 1, "updated": 0, "deleted": 0}
    assert building == [1, 1]  # the calendar's sync-token moved: decided item by item


def test_a_unit_renamed_in_the_units_file_updates_its_items(setup, building):
    cfg, units = setup
    sync(cfg)
    units.write_text(units_doc(["Chi bộ Sở Tư pháp tỉnh", "Chi bộ Ban Dân tộc tỉnh"]), encoding="utf-8")
    again = sync(cfg)
    assert again["items"]["updated"] > 0 and again["items"]["created"] == again["items"]["deleted"] == 0
    assert building == [1, 1]
    assert sync(cfg)["updated"] == 0 and building == [1, 1]  # settled again
