"""The admin's command line: exit codes per failure class, secrets never printed, overlapping runs,
dry runs, and `serve` giving calendar apps the deadlines.
"""
from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connector.cli import main
from connector.lock import RunLock
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "mappings/plans/ke-hoach-21-kl-tw.txt"
SECRET = "Sup3r-Secret-App-Pass"

UNITS = """
[[units]]
id = "cb-a"
name = "Chi bộ A"
group = "chi-bo-a"
kind = "chi bộ cơ sở"
[[units]]
id = "cb-b"
name = "Chi bộ B"
group = "chi-bo-b"
kind = "chi bộ cơ sở"
[[units]]
id = "ban-tc"
name = "Ban Tổ chức"
group = "ban-to-chuc"
kind = "ban"
"""


def write_config(tmp_path: Path, server: str) -> Path:
    (tmp_path / "units.toml").write_text(UNITS, encoding="utf-8")
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text(f"""{server}
[plan]
document = "{SEED}"
units = "units.toml"
[state]
dir = "state"
""", encoding="utf-8")
    return cfg


def dav_config(tmp_path: Path, embedded, password: str) -> Path:
    (tmp_path / "pw").write_text(password + "\n")
    (tmp_path / "pw").chmod(0o600)  # as the README says: one readable by others is warned about on every run
    return write_config(tmp_path, f"""[server]
kind = "dav"
caldav_home = "{embedded.calendar_home}"
files_root = "{embedded.files_root}"
user = "{embedded.user}"
password_file = "pw"
""")


def test_a_missing_config_file_is_exit_2_naming_it(tmp_path, capsys):
    assert main(["sync", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert "nope.toml" in err and "Traceback" not in err and err.count("\n") == 1


def test_an_unreachable_server_is_exit_3(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAN_CONNECTOR_PASSWORD", SECRET)
    cfg = write_config(tmp_path, f"""[server]
kind = "nextcloud"
url = "http://127.0.0.1:{free_port()}"
user = "plan-bot"
connect_timeout = 2
""")
    assert main(["sync", "--config", str(cfg)]) == 3
    err = capsys.readouterr().err
    assert "cannot reach 127.0.0.1" in err and SECRET not in err


@pytest.mark.server
def test_a_failed_login_is_exit_3_suggests_an_app_password_and_never_shows_it(tmp_path, embedded, capsys):
    cfg = dav_config(tmp_path, embedded, SECRET)  # not the server's password
    log_file = tmp_path / "run.log"
    code = main(["run", "--config", str(cfg), "-vv", "--log-file", str(log_file)])
    out, err = capsys.readouterr()
    assert code == 3
    assert "app password" in err and "authentication failed" in err
    logged = log_file.read_text(encoding="utf-8")
    for text in (out, err, logged):
        assert SECRET not in text
    # Exactly one failed login: never retried (Nextcloud throttles repeated failures).
    assert logged.count("401") <= 1


@pytest.mark.server
def test_log_lines_never_contain_the_password(tmp_path, embedded, caplog):
    cfg = dav_config(tmp_path, embedded, SECRET)
    logging.getLogger("plan-connector").error("login as admin with %s failed", SECRET)  # even if code slipped
    with caplog.at_level(logging.DEBUG):
        main(["sync", "--config", str(cfg), "-vv", "--log-file", str(tmp_path / "l.log"), "--log-format", "json"])
    text = (tmp_path / "l.log").read_text(encoding="utf-8")
    assert SECRET not in text
    for line in text.splitlines():
        json.loads(line)  # JSON lines


@pytest.mark.server
def test_sync_then_rerun_writes_nothing_and_dry_run_changes_nothing(tmp_path, embedded, capsys):
    cfg = dav_config(tmp_path, embedded, embedded.password)
    assert main(["sync", "--config", str(cfg), "--dry-run", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert planned["created"] > 0 and any(p.startswith("create ") for p in planned["planned"])
    assert main(["sync", "--config", str(cfg), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["created"] == planned["created"] and first["failed"] == []  # the dry run said what would be done
    assert set(first) >= {"created", "updated", "deleted", "unchanged", "requests", "calendars", "publish_url"}
    assert main(["sync", "--config", str(cfg), "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["created"], second["updated"], second["deleted"]) == (0, 0, 0)
    assert second["requests"] <= 3  # calendar home + report tree, whatever the number of items
    assert main(["sync", "--config", str(cfg)]) == 0
    human = capsys.readouterr().out
    assert human.count("Nextcloud-only steps (groups, sharing, publishing) skipped") == 1


@pytest.mark.server
def test_some_items_failing_is_exit_1_and_the_rest_is_done(tmp_path, embedded, capsys, monkeypatch):
    from connector.dav.caldav import CalDAVClient
    from connector.errors import ServerError

    real_put = CalDAVClient.put

    def put(self, href, ics, **kw):
        if "-t02-" in href:
            raise ServerError("insufficient storage on the server (507) during PUT " + href, status=507)
        return real_put(self, href, ics, **kw)

    monkeypatch.setattr(CalDAVClient, "put", put)
    cfg = dav_config(tmp_path, embedded, embedded.password)
    assert main(["sync", "--config", str(cfg)]) == 1
    out, err = capsys.readouterr()
    assert "507" in err and "created" in out
    monkeypatch.setattr(CalDAVClient, "put", real_put)
    assert main(["sync", "--config", str(cfg), "--json"]) == 0  # the rerun picks up the rest
    assert json.loads(capsys.readouterr().out)["created"] > 0


def test_a_second_run_while_one_holds_the_lock_exits_4(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAN_CONNECTOR_PASSWORD", SECRET)
    cfg = write_config(tmp_path, '[server]\nkind = "nextcloud"\nurl = "http://127.0.0.1:9"\nuser = "bot"\n')
    with RunLock(tmp_path / "state"):
        assert main(["run", "--config", str(cfg)]) == 4
    assert "another plan-connector run" in capsys.readouterr().err


@pytest.mark.server
def test_serve_lets_a_calendar_app_read_the_deadlines(tmp_path, capsys):
    caldav = pytest.importorskip("caldav", reason="caldav (test-only client) is in the test extras")
    data = tmp_path / "data"
    port, wport = free_port(), free_port()
    cfg = write_config(tmp_path, f"""[server]
kind = "embedded"
data_dir = "{data}"
caldav_port = {port}
webdav_port = {wport}
""")
    assert main(["sync", "--config", str(cfg)]) == 0
    out_file = tmp_path / "serve.out"
    with open(out_file, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "connector", "serve", "--data-dir", str(data),
                                 "--caldav-port", str(port), "--webdav-port", str(wport)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while "Hạn nhiệm vụ" not in out_file.read_text(encoding="utf-8") and time.monotonic() < deadline:
            assert proc.poll() is None, out_file.read_text(encoding="utf-8")
            time.sleep(0.1)
        printed = out_file.read_text(encoding="utf-8")
        assert f"http://127.0.0.1:{port}/admin/" in printed
        password = (data / "credentials.toml").read_text().split('password = "')[1].split('"')[0]
        assert password not in printed
        with caldav.DAVClient(url=f"http://127.0.0.1:{port}/admin/", username="admin", password=password) as client:
            cals = {c.get_display_name(): c for c in client.principal().calendars()}
            deadlines = next(c for name, c in cals.items() if name.startswith("Hạn nhiệm vụ"))
            summaries = [str(e.icalendar_component["SUMMARY"]) for e in deadlines.events()]
        assert any("NV 2" in s for s in summaries) and any("báo cáo hằng năm" in s.lower() for s in summaries)

        # While `serve` holds the ports, a sync uses its servers (same links) instead of moving to free
        # ports and rewriting every item.
        capsys.readouterr()
        assert main(["sync", "--config", str(cfg), "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert (result["created"], result["updated"], result["deleted"]) == (0, 0, 0)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


@pytest.mark.server
def test_check_on_a_generic_dav_server_says_what_is_skipped(tmp_path, embedded, capsys):
    cfg = dav_config(tmp_path, embedded, embedded.password)
    assert main(["check", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "ok       CalDAV" in out and "ok       WebDAV" in out
    assert "missing  sharing: not a Nextcloud server" in out


def test_a_nextcloud_job_addresses_the_users_dav_trees(tmp_path, monkeypatch):
    from connector.commands import Job
    from connector.config import load_config

    monkeypatch.setenv("PLAN_CONNECTOR_PASSWORD", SECRET)
    cfg = load_config(str(write_config(tmp_path, '[server]\nkind = "nextcloud"\nurl = "https://cloud.example.org/"\n'
                                                 'user = "plan bot"\n')))
    with Job(cfg) as job:
        assert job.caldav.home_url == "https://cloud.example.org/remote.php/dav/calendars/plan%20bot/"
        assert job.files_root == "https://cloud.example.org/remote.php/dav/files/plan%20bot/"
        assert job.root == "Báo cáo/21-KL-TW"
        # A folder's link names its file id (it opens for every member who sees the folder): none until known.
        assert job.folder_url("Chi bộ A/03 – Xây dựng/Tháng 02-2022") is None
        job.links.learn_ids({"Báo cáo/21-KL-TW/Chi bộ A/03 – Xây dựng/Tháng 02-2022": "4711"})
        assert job.folder_url("Chi bộ A/03 – Xây dựng/Tháng 02-2022") == "https://cloud.example.org/index.php/f/4711"
        assert job.ocs is not None and job.requests == 0  # nothing is sent until a job runs


def test_an_unknown_unit_in_the_plan_mapping_is_exit_2_naming_the_mapping(tmp_path, capsys):
    mapping = tmp_path / "plan.toml"
    text = (ROOT / "mappings/plans/ke-hoach-21-kl-tw.toml").read_text(encoding="utf-8")
    mapping.write_text(text.replace("[overrides.tasks.1.milestones.1]",
                                    '[overrides.tasks.2.milestones.1]\nunits = ["chi-bo-ma"]\n\n'
                                    "[overrides.tasks.1.milestones.1]", 1), encoding="utf-8")
    cfg = write_config(tmp_path, '[server]\nkind = "embedded"\n')
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(f'document = "{SEED}"', f'mapping = "{mapping}"'),
                   encoding="utf-8")
    assert main(["sync", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "plan.toml" in err and "unknown unit 'chi-bo-ma'" in err and "task 2" in err


@pytest.mark.server
def test_run_under_cron_is_quiet_when_all_is_well(tmp_path, embedded, capsys):
    cfg = dav_config(tmp_path, embedded, embedded.password)
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""  # stdout is not a terminal here, as under cron
    assert (tmp_path / "out" / "register.html").is_file()
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "out"), "-v"]) == 0
    assert "writes: 0" in capsys.readouterr().out


def test_version_and_failures_reach_the_log_file_as_json(tmp_path, capsys):
    from connector.cli import main

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("plan-connector ")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sever]\n", encoding="utf-8")
    log = tmp_path / "run.log"
    assert main(["check", "-c", str(bad), "--log-file", str(log), "--log-format", "json"]) == 2
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 1 and records[0]["level"] == "error" and "unknown section [sever]" in records[0]["message"]
    assert "unknown section [sever]" in capsys.readouterr().err  # cron mails stderr
