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
def test_check_prints_one_line_per_check(version, caps, reminders, code, line, tmp_path, rsps, capsys):
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


def test_check_as_json(tmp_path, rsps, capsys):
    register(rsps, exchange("nextcloud-34", "a1"))
    register(rsps, exchange("nextcloud-34", "a2"))
    assert run_checks(config("nextcloud-34", tmp_path, reminders=True), as_json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {d["check"]: d["ok"] for d in doc}["notifications app"] is True
    assert all(set(d) == {"check", "ok", "detail"} for d in doc)


def test_a_server_in_maintenance_mode_fails_the_check(tmp_path, rsps, capsys):
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
