"""The bad-input corpus (tests/data/bad/, issue 10): plans, units files and server answers that are wrong in
every way seen or feared. Each gives its expected exit code and one line of error (or is read as it should
be), never a traceback, never a hang. expected.toml says what each gives; the 50 MB plan is made here.
"""
from __future__ import annotations

import re
import socketserver
import threading
import time
import tomllib
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from connector.cli import main
from connector.config import load_units
from connector.plan import parse_plan
from connector.render.names import unit_folder
from tests.helpers import free_port

CORPUS = Path(__file__).parent / "data" / "bad"
EXPECTED = tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))
SEED = Path(__file__).resolve().parents[1] / "mappings/plans/ke-hoach-21-kl-tw.txt"
SECRET = "Pw-of-the-bot-9f3e"
HANG = 30  # seconds: a case that takes longer is a hang


def run_cli(argv: list[str], capsys) -> tuple[int, str, str, float]:
    """main(argv) in a thread that must finish within HANG seconds."""
    result: dict = {}

    def target():
        result["code"] = main(argv)

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), f"plan-connector {' '.join(argv[:1])} hangs (> {HANG} s)"
    out, err = capsys.readouterr()
    return result["code"], out, err, time.monotonic() - started


def assert_one_error_line(code: int, err: str, case: dict) -> str:
    assert code == case["exit"], err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plan-connector: "), err
    assert "Traceback" not in err and case["error"] in lines[0], lines[0]
    return lines[0]


# --- plans ---------------------------------------------------------------------------------------

def plan_file(name: str, tmp_path: Path) -> Path:
    if name == "huge.txt":  # 50 MB of plan-like text, made here rather than committed
        path = tmp_path / name
        line = "1. Tổ chức hội nghị quán triệt nghị quyết đến toàn thể cán bộ (tháng 3/2023).\n".encode()
        with path.open("wb") as f:
            f.write(line * (50 * 1024 * 1024 // len(line)))
            f.write(b"x" * (50 * 1024 * 1024 - f.tell()))
        return path
    return CORPUS / "plans" / name


@pytest.mark.parametrize("name", sorted(EXPECTED["plans"]))
def test_a_bad_plan_gives_its_one_line_or_reads_as_it_should(name, tmp_path, capsys):
    case = EXPECTED["plans"][name]
    path = plan_file(name, tmp_path)
    code, out, err, took = run_cli(["import", str(path)], capsys)
    if case["exit"]:
        line = assert_one_error_line(code, err, case)
        assert line.startswith(f"plan-connector: error: {path}") and out == ""
        assert took < 5, f"refusing {name} took {took:.1f} s"
        return
    assert code == 0 and err == "", err
    plan = parse_plan(path)
    assert [t.title for t in plan.tasks] == case["tasks"]
    assert [t.number for t in plan.tasks] == list(range(1, len(case["tasks"]) + 1))
    if "review" in case:
        assert case["review"] in out and any(case["review"] in n.reason for n in plan.notes)


def test_every_committed_plan_and_units_file_has_an_expectation():
    for kind in ("plans", "units"):
        on_disk = {p.name for p in (CORPUS / kind).iterdir()}
        assert on_disk == set(EXPECTED[kind]) - {"huge.txt"}, kind


# --- units files ---------------------------------------------------------------------------------

def write_config(tmp_path: Path, units: Path, server: str = "") -> Path:
    (tmp_path / "pw").write_text(SECRET + "\n", encoding="utf-8")
    (tmp_path / "pw").chmod(0o600)
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text((server or '[server]\nkind = "dav"\ncaldav_home = "http://127.0.0.1:9/cal/admin/"\n'
                              'files_root = "http://127.0.0.1:9/files/admin/"\nuser = "admin"\npassword_file = "pw"\n')
                   + f'[plan]\ndocument = "{SEED}"\nunits = "{units}"\n[state]\ndir = "{tmp_path / "state"}"\n',
                   encoding="utf-8")
    return cfg


@pytest.mark.parametrize("name", sorted(EXPECTED["units"]))
def test_a_bad_units_file_is_refused_in_one_line_or_gives_safe_folders(name, tmp_path, capsys):
    case = EXPECTED["units"][name]
    path = CORPUS / "units" / name
    if case["exit"]:
        # Refused before anything is sent: the server of this config does not even exist.
        code, out, err, _took = run_cli(["sync", "-c", str(write_config(tmp_path, path))], capsys)
        line = assert_one_error_line(code, err, case)
        assert line.startswith(f"plan-connector: error: {path}") and SECRET not in err + out
        return
    folders = [unit_folder(u) for u in load_units(str(path))]
    assert folders == case["folders"]
    for folder in folders:
        assert "/" not in folder and "\\" not in folder and folder not in ("", ".", "..")
        assert len(folder) <= 120 and not re.search(r"[\x00-\x1f\U00010000-\U0010ffff]", folder)


@pytest.mark.server
def test_units_with_odd_names_get_their_folders_inside_the_plan_root_on_a_real_server(tmp_path, embedded):
    units = tmp_path / "units.toml"
    units.write_text("\n".join((CORPUS / "units" / n).read_text(encoding="utf-8")
                               for n in ("slashes-and-dots.toml", "long-name.toml", "emoji.toml")), encoding="utf-8")
    server = (f'[server]\nkind = "dav"\ncaldav_home = "{embedded.calendar_home}"\n'
              f'files_root = "{embedded.files_root}"\nuser = "{embedded.user}"\npassword_file = "pw"\n')
    cfg = write_config(tmp_path, units, server)
    (tmp_path / "pw").write_text(embedded.password + "\n", encoding="utf-8")
    assert main(["sync", "-c", str(cfg)]) == 0
    root = embedded.files_dir / "Báo cáo" / "21-KL-TW"
    made = sorted(p.name for p in root.iterdir())
    assert made == sorted([*EXPECTED["units"]["slashes-and-dots.toml"]["folders"],
                           *EXPECTED["units"]["long-name.toml"]["folders"], "Chi bộ Văn phòng", "_Tổng hợp"])
    outside = [p for p in embedded.files_dir.rglob("*") if not str(p).startswith(str(embedded.files_dir / "Báo cáo"))]
    assert outside == []


# --- server answers ------------------------------------------------------------------------------

class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


MULTISTATUS = ('<?xml version="1.0" encoding="utf-8"?>\n<d:multistatus xmlns:d="DAV:" '
               'xmlns:cs="http://calendarserver.org/ns/" xmlns:c="urn:ietf:params:xml:ns:caldav">{}</d:multistatus>')


def response(href: str, props: str) -> str:
    return (f"<d:response><d:href>{href}</d:href><d:propstat><d:prop>{props}</d:prop>"
            "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>")


class FakeDav:
    """A tiny CalDAV/WebDAV server: what the case says for listings, 201 for writes; every request recorded."""

    def __init__(self, files_listing=None, calendars=None, answer=None):
        self.files_listing, self.calendars, self.answer = files_listing, calendars, answer
        self.calls: list[tuple[str, str]] = []
        self.server = make_server("127.0.0.1", 0, self.app, server_class=_ThreadingServer, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def app(self, environ, start):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"].encode("latin-1").decode("utf-8")
        self.calls.append((method, path))
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if self.answer is not None and method in ("PROPFIND", "REPORT"):
            status, headers, body = self.answer
            start(status, headers)
            return [body]
        xml = [("Content-Type", "application/xml; charset=utf-8")]
        if method == "PROPFIND" and path.startswith("/files/"):
            start("207 Multi-Status", xml)
            return [MULTISTATUS.format(self.files_listing(self.url) if self.files_listing else "").encode()]
        if method == "PROPFIND" and path.rstrip("/") == "/cal/admin":
            home = response("/cal/admin/", "<d:resourcetype><d:collection/></d:resourcetype>")
            start("207 Multi-Status", xml)
            return [MULTISTATUS.format(home + (self.calendars(self.url) if self.calendars else "")).encode()]
        if method in ("PROPFIND", "REPORT"):
            start("207 Multi-Status", xml)
            return [MULTISTATUS.format("<d:sync-token>http://x/sync/1</d:sync-token>").encode()]
        if method == "PUT":
            start("201 Created", [("ETag", '"1"'), ("Content-Length", "0")])
            return [b""]
        if method == "GET":
            start("404 Not Found", [("Content-Length", "0")])
            return [b""]
        if method == "PROPPATCH":
            start("207 Multi-Status", xml)
            return [MULTISTATUS.format(response(path, "<d:displayname/>")).encode()]
        start("204 No Content" if method == "DELETE" else "201 Created", [("Content-Length", "0")])
        return [b""]


def fake_config(tmp_path: Path, fake: FakeDav) -> Path:
    server = (f'[server]\nkind = "dav"\ncaldav_home = "{fake.url}/cal/admin/"\nfiles_root = "{fake.url}/files/admin/"\n'
              'user = "admin"\npassword_file = "pw"\nread_timeout = 5\nconnect_timeout = 2\n')
    return write_config(tmp_path, Path(__file__).resolve().parents[1] / "mappings/units.example.toml", server)


@pytest.mark.parametrize("name", sorted(EXPECTED["server"]))
def test_a_bad_server_answer_is_one_line_never_a_traceback_or_a_hang(name, tmp_path, capsys):
    case = EXPECTED["server"][name]
    body = (CORPUS / "server" / case["file"]).read_bytes() if "file" in case else case["body"].encode()
    headers = [("Content-Type", case["content_type"]), ("Content-Length", str(len(body)))]
    if "location" in case:
        headers.append(("Location", case["location"]))
    fake = FakeDav(answer=(case["status"], headers, body))
    try:
        code, out, err, took = run_cli(["sync", "-c", str(fake_config(tmp_path, fake))], capsys)
    finally:
        fake.close()
    assert_one_error_line(code, err, case)
    assert SECRET not in out + err and took < 10
    assert {m for m, _p in fake.calls} == {"PROPFIND"}  # nothing written after an answer it cannot read


def sync_and_collect(tmp_path: Path, fake: FakeDav, capsys) -> str:
    """`sync` then `collect --json` against the fake server (both must succeed); the register JSON."""
    try:
        cfg = str(fake_config(tmp_path, fake))
        code, out, err, _took = run_cli(["sync", "-c", cfg], capsys)
        assert code == 0, err
        code, out, err, _took = run_cli(["collect", "-c", cfg, "--json", "--as-of", "2022-03-01"], capsys)
        assert code == 0, err
    finally:
        fake.close()
    return out


def assert_only_own_paths_touched(fake: FakeDav) -> None:
    # MKCOL of the root's parent ("Báo cáo") is the connector making its own tree on an empty server.
    touched = [(m, p) for m, p in fake.calls if m not in ("PROPFIND", "REPORT")
               and (m, p) != ("MKCOL", "/files/admin/Báo cáo")]
    assert touched and all(p.startswith(("/files/admin/Báo cáo/21-KL-TW", "/cal/admin/")) for _m, p in touched), \
        [t for t in touched if not t[1].startswith(("/files/admin/Báo cáo/21-KL-TW", "/cal/admin/"))]
    assert not any(m == "DELETE" for m, _p in fake.calls)


ROOT_HREF = "/files/admin/B%C3%A1o%20c%C3%A1o/21-KL-TW"


def test_file_listings_with_hrefs_outside_the_plan_root_are_never_acted_on_or_listed(tmp_path, capsys):
    def files(url: str) -> str:
        return "".join([
            response(f"{ROOT_HREF}/", "<d:resourcetype><d:collection/></d:resourcetype>"),
            response("/files/other/bi-mat.pdf", "<d:resourcetype/><d:getcontentlength>9</d:getcontentlength>"),
            response(f"{ROOT_HREF}/../../../etc/passwd", "<d:resourcetype/><d:getcontentlength>9</d:getcontentlength>"),
            response(f"{ROOT_HREF}/Chi%20b%E1%BB%99%20A/../../x/", "<d:resourcetype><d:collection/></d:resourcetype>"),
            response("/files/admin/", "<d:resourcetype><d:collection/></d:resourcetype>"),
        ])

    fake = FakeDav(files_listing=files)
    out = sync_and_collect(tmp_path, fake, capsys)
    assert_only_own_paths_touched(fake)
    assert "passwd" not in out and "bi-mat" not in out  # collect lists nothing from outside the plan's root


def test_a_calendar_listed_outside_the_calendar_home_is_never_acted_on(tmp_path, capsys):
    def calendars(url: str) -> str:  # another account's calendar, named like the plan's own
        return response("/cal/other/pc-21-kl-tw-han/",
                        "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
                        "<d:displayname>Hạn nhiệm vụ</d:displayname><cs:getctag>1</cs:getctag>")

    fake = FakeDav(calendars=calendars)
    sync_and_collect(tmp_path, fake, capsys)
    assert_only_own_paths_touched(fake)


def test_listings_with_missing_properties_still_sync_and_collect(tmp_path, capsys):
    root = "/files/admin/B%C3%A1o%20c%C3%A1o/21-KL-TW"

    def files(url: str) -> str:  # no resourcetype, no etag, no size, no dates
        return "".join([response(f"{root}/", ""), response(f"{root}/Chi%20b%E1%BB%99%20A/", ""),
                        response(f"{root}/Chi%20b%E1%BB%99%20A/bao-cao.pdf", "")])

    def calendars(url: str) -> str:  # a calendar with no name, no ctag, no sync-token
        return response("/cal/admin/pc-21-kl-tw-han/", "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>")

    fake = FakeDav(files_listing=files, calendars=calendars)
    try:
        cfg = str(fake_config(tmp_path, fake))
        code, _out, err, _took = run_cli(["sync", "-c", cfg], capsys)
        assert code in (0, 1) and "Traceback" not in err and "unexpected error" not in err, err
        code, out, err, _took = run_cli(["collect", "-c", cfg, "--as-of", "2022-03-01"], capsys)
        assert code == 0 and "Traceback" not in err, err
    finally:
        fake.close()
