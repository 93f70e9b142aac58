"""`plan-connector check` against recorded Nextcloud answers: one line per check, exit 0 when all that
is needed is there, 1 otherwise; a wrong password is reported once, never retried, never printed.
"""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from connector.checks import capability_lines, run_checks
from connector.config import Config, PlanConfig, RemindersConfig, ServerConfig
from connector.errors import AuthError
from ncfixtures import VERSIONS, exchange, register

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "test-app-pass"
CAPS = "/ocs/v2.php/cloud/capabilities"


def caps_of(version: str, key: str) -> dict:
    return json.loads(exchange(version, key).response_body)["ocs"]["data"]


def by_name(lines) -> dict[str, tuple[bool, str]]:
    return {name: (ok, detail) for name, ok, detail in lines}


# -- capability_lines on the recorded capabilities ------------------------------------------------

def test_nextcloud_29_without_the_notifications_app():
    lines = by_name(capability_lines(caps_of("nextcloud-29", "a2"), reminders=False))
    assert lines["notifications app"] == (False, "needed for reminders (reminders are off)")
    assert lines["sharing API"][0] and lines["group sharing"][0] and lines["public upload (file drop)"][0]


@pytest.mark.parametrize("version, key", [("nextcloud-29", "f3"), ("nextcloud-34", "a2")])
def test_servers_with_the_notifications_app(version, key):
    lines = by_name(capability_lines(caps_of(version, key), reminders=True))
    assert lines["notifications app"] == (True, "needed for reminders")
    assert all(ok for ok, _ in lines.values())


def test_the_notifications_app_without_admin_notifications_is_not_enough():
    """Reminders POST to admin_notifications; an app that does not offer it cannot send them."""
    caps = caps_of("nextcloud-29", "f3")
    del caps["capabilities"]["notifications"]["admin-notifications"]  # derived from f3
    assert by_name(capability_lines(caps, reminders=True))["notifications app"][0] is False


def test_anonymous_capabilities_show_sharing_missing():
    """g3: what Nextcloud tells a client that is not logged in: no sharing capabilities at all."""
    lines = by_name(capability_lines(caps_of("nextcloud-29", "g3"), reminders=False))
    assert not lines["sharing API"][0] and not lines["group sharing"][0]


# -- run_checks end to end ------------------------------------------------------------------------

@pytest.fixture
def capabilities_only(monkeypatch):
    """run_checks without the findings that read more of the server (groups, sharing and calendar limits),
    tested on their own."""
    import connector.checks as checks

    monkeypatch.setattr(checks, "sharing_checks", lambda job, version: [])
    monkeypatch.setattr(checks, "calendar_limit_lines", lambda job: [])


def config(version: str, tmp_path, *, reminders: bool) -> Config:
    return Config(
        server=ServerConfig(kind="nextcloud", url=exchange(version, "a1").base, user="admin", password=PASSWORD),
        plan=PlanConfig(document=str(ROOT / "mappings/plans/ke-hoach-21-kl-tw.txt"),
                        units=str(ROOT / "mappings/units.example.toml")),
        reminders=RemindersConfig(enabled=reminders),
        state_dir=str(tmp_path / "state"))


CASES = [  # version, capabilities fixture, reminders enabled, exit code, notifications line
    ("nextcloud-29", "a2", False, 0, "missing  notifications app: needed for reminders (reminders are off)"),
    ("nextcloud-29", "a2", True, 1, "missing  notifications app: needed for reminders"),
    ("nextcloud-29", "f3", True, 0, "ok       notifications app: needed for reminders"),
    ("nextcloud-34", "a2", True, 0, "ok       notifications app: needed for reminders"),
]


@pytest.mark.parametrize("version, caps, reminders, code, line", CASES)
def test_check_prints_one_line_per_check(version, caps, reminders, code, line, tmp_path, rsps, capsys,
                                          capabilities_only):
    register(rsps, exchange(version, "a1"))
    register(rsps, exchange(version, caps))
    assert run_checks(config(version, tmp_path, reminders=reminders)) == code
    out = capsys.readouterr().out.splitlines()
    assert line in out
    major = version.split("-")[1]
    assert any(s.startswith("ok       server reachable: Nextcloud " + major) for s in out)
    assert "ok       authentication: as admin" in out
    assert any(s.startswith("ok       plan: ") and "8 units" in s for s in out)
    assert "ok       group sharing: report folders and calendars are shared with unit groups" in out
    assert [urlsplit(c.request.url).path for c in rsps.calls] == ["/status.php", CAPS]
    assert rsps.calls[1].request.headers["OCS-APIRequest"] == "true"


def test_check_as_json(tmp_path, rsps, capsys, capabilities_only):
    register(rsps, exchange("nextcloud-34", "a1"))
    register(rsps, exchange("nextcloud-34", "a2"))
    assert run_checks(config("nextcloud-34", tmp_path, reminders=True), as_json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {d["check"]: d["ok"] for d in doc}["notifications app"] is True
    assert all(set(d) == {"check", "ok", "detail"} for d in doc)


def test_a_server_in_maintenance_mode_fails_the_check(tmp_path, rsps, capsys, capabilities_only):
    a1 = exchange("nextcloud-29", "a1")
    status = json.loads(a1.response_body)
    status["maintenance"] = True
    register(rsps, replace(a1, response_body=json.dumps(status).encode()))  # derived from a1
    register(rsps, exchange("nextcloud-29", "f3"))
    assert run_checks(config("nextcloud-29", tmp_path, reminders=False)) == 1
    assert "ok       server reachable: Nextcloud 29.0.6 (maintenance mode!)" in capsys.readouterr().out


@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_password_is_reported_once_never_retried_never_shown(version, tmp_path, rsps, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    register(rsps, exchange(version, "a1"))
    # Nextcloud's 401 for a wrong password (g2, recorded on a WebDAV PROPFIND of 29) given to the
    # capabilities request: the same server answers every authenticated endpoint that way.
    g2 = exchange("nextcloud-29", "g2_wrong_password_attempt_1")
    assert g2.status == 401
    register(rsps, g2, method="GET", url=exchange(version, "a2").url)
    with pytest.raises(AuthError) as err:
        run_checks(config(version, tmp_path, reminders=True))
    assert err.value.exit_code == 3
    assert "app password" in str(err.value) and "admin" in str(err.value)
    assert sum(urlsplit(c.request.url).path == CAPS for c in rsps.calls) == 1
    captured = capsys.readouterr()
    for text in (str(err.value), captured.out, captured.err, caplog.text,
                 *(r.getMessage() for r in caplog.records)):
        assert PASSWORD not in text
    assert "authentication" not in captured.out  # no "ok authentication" line was printed


# -- Nextcloud's calendar limits -------------------------------------------------------------------

HOME_WITH_TRASH = (ROOT / "tests/data/nextcloud-34/calendar-home-with-trash.xml").read_bytes()
"""The bot's calendar home on a live Nextcloud 34: Personal, the birthday calendar, pc-21-kl-tw-han, the task list
of cb-a in the trash bin, a calendar another account shares with it and one subscription (4 count)."""
DAV_SETTING = "http://cloud.test/ocs/v2.php/apps/provisioning_api/api/v1/config/apps/dav/"


def units_file(tmp_path, n: int) -> Path:
    ids = ["cb-a"] + [f"cb-{i:03d}" for i in range(2, n + 1)]
    path = tmp_path / "units.toml"
    path.write_text("".join(f'[[units]]\nid = "{uid}"\nname = "Chi bộ {uid}"\ngroup = "g-{uid}"\nkind = "chi bộ cơ sở"\n\n'
                            for uid in ids), encoding="utf-8")
    return path


def limit_job(tmp_path, rsps, *, units: int, task_lists: str = "per_unit", settings: dict | None = None,
              admin: bool = True):
    from connector.commands import Job
    from connector.config import SyncConfig

    cfg = Config(server=ServerConfig(kind="nextcloud", url="http://cloud.test", user="bot", password=PASSWORD),
                 plan=PlanConfig(document=str(ROOT / "mappings/plans/ke-hoach-21-kl-tw.txt"),
                                 units=str(units_file(tmp_path, units))),
                 sync=SyncConfig(task_lists=task_lists), state_dir=str(tmp_path / "state"))
    rsps.add("PROPFIND", "http://cloud.test/remote.php/dav/calendars/bot/", body=HOME_WITH_TRASH, status=207)
    for key in ("rateLimitCalendarCreation", "rateLimitPeriodCalendarCreation", "maximumCalendarsSubscriptions"):
        if admin:  # as recorded: an empty value is the default
            body = {"ocs": {"meta": {"status": "ok", "statuscode": 200, "message": "OK"},
                            "data": {"data": (settings or {}).get(key, "")}}}
            rsps.add("GET", DAV_SETTING + key, json=body)
        else:
            rsps.add("GET", DAV_SETTING + key, status=403, json={"ocs": {"meta": {
                "status": "failure", "statuscode": 403, "message": "Logged in account must be an admin"}, "data": []}})
            break  # the first refusal is enough
    return Job(cfg)


def test_forty_unit_task_lists_do_not_fit_and_check_says_how_to_raise_the_limits(tmp_path, rsps):
    from connector.checks import calendar_limit_lines

    with limit_job(tmp_path, rsps, units=40) as job:
        lines = calendar_limit_lines(job)
    assert lines[0] == ("calendar limits", True, "Nextcloud allows this account 10 new calendars per hour and 30 in "
                        "all (calendars + subscriptions, those in the trash bin too); read from the server's dav "
                        "settings", False)
    assert lines[1] == ("calendars", False, 'the job needs 42 (deadlines, overview, 40 unit task lists; [sync] '
                        'task_lists = "per_unit"); 1 exists, 1 in the trash bin (sync restores them); the account has '
                        "4 of 30; 40 to create, 14 of them never fit; the 26 that fit take 3 sync runs at least an "
                        "hour apart (10 per hour)", True)
    assert [(name, ok, detail) for name, ok, detail, _ in lines[2:]] == [
        ("to raise the limits", None, "occ config:app:set dav maximumCalendarsSubscriptions --value=44"),
        ("to raise the limits", None, "occ config:app:set dav rateLimitCalendarCreation --value=40"),
        ("or", None, 'set [sync] task_lists = "shared" (one task list for all units): the job then needs 3 calendars'),
    ]


def test_limits_raised_on_the_server_are_read_and_nothing_needs_raising(tmp_path, rsps):
    from connector.checks import calendar_limit_lines

    settings = {"rateLimitCalendarCreation": "50", "maximumCalendarsSubscriptions": "-1"}
    with limit_job(tmp_path, rsps, units=40, settings=settings) as job:
        lines = calendar_limit_lines(job)
    assert "50 new calendars per hour and no limit on calendars in all" in lines[0][2]
    assert lines[1][1] is True and lines[1][2].endswith("the account has 4; 40 to create")
    assert len(lines) == 2


def test_an_account_that_may_not_read_the_settings_assumes_the_defaults_and_says_so(tmp_path, rsps):
    from connector.checks import calendar_limit_lines

    with limit_job(tmp_path, rsps, units=3, admin=False) as job:
        lines = calendar_limit_lines(job)
    assert lines[0][2].endswith("Nextcloud's defaults, assumed: this account may not read the server's settings")
    assert lines[1][:2] == ("calendars", True) and "3 to create" in lines[1][2]


def test_the_shared_layout_needs_three_calendars(tmp_path, rsps):
    from connector.checks import calendar_limit_lines

    with limit_job(tmp_path, rsps, units=200, task_lists="shared") as job:
        lines = calendar_limit_lines(job)
    assert lines[1] == ("calendars", True, 'the job needs 3 (deadlines, overview, one task list shared by the units; '
                        '[sync] task_lists = "shared"); 1 exists; the account has 4 of 30; 2 to create', True)
    assert len(lines) == 2


def test_notes_print_as_notes_and_do_not_fail_the_check(tmp_path, rsps, capsys, monkeypatch, capabilities_only):
    import connector.checks as checks

    monkeypatch.setattr(checks, "calendar_limit_lines", lambda job: [
        ("calendars", True, "the job needs 3", True), ("to raise the limits", None, "occ config:app:set dav x --value=1", False)])
    register(rsps, exchange("nextcloud-34", "a1"))
    register(rsps, exchange("nextcloud-34", "a2"))
    assert run_checks(config("nextcloud-34", tmp_path, reminders=False)) == 0
    out = capsys.readouterr().out.splitlines()
    assert "note     to raise the limits: occ config:app:set dav x --value=1" in out
