"""The embedded default servers: a real Radicale and a real WsgiDAV on 127.0.0.1, as the demo,
`plan-connector serve` and every server test use them."""
from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import tomllib
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from defusedxml import ElementTree

from connector.embedded import CalendarInfo, EmbeddedServers, list_calendars
from connector.errors import ConfigError, InputError

pytestmark = pytest.mark.server

PROJECT_ROOT = Path(__file__).parent.parent
DAV = "{DAV:}"

EVENT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//plan-connector//tests//EN\r
BEGIN:VEVENT\r
UID:21-kl-tw-task-3-report\r
DTSTAMP:20240101T000000Z\r
DTSTART;VALUE=DATE:20241215\r
SUMMARY:Báo cáo kết quả thực hiện Kết luận 21-KL/TW\r
END:VEVENT\r
END:VCALENDAR\r
"""


def mkcalendar(session: requests.Session, url: str, display_name: str, components=()) -> requests.Response:
    comps = "".join(f'<c:comp name="{c}"/>' for c in components)
    component_set = f"<c:supported-calendar-component-set>{comps}</c:supported-calendar-component-set>" if comps else ""
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:set><d:prop><d:displayname>{display_name}</d:displayname>{component_set}</d:prop></d:set>
</c:mkcalendar>"""
    return session.request("MKCALENDAR", url, data=body.encode(), headers={"Content-Type": "application/xml"})


def propfind(session: requests.Session, url: str, depth: str) -> dict[str, dict[str, str]]:
    """href -> {local prop name: text} for every response of a PROPFIND."""
    resp = session.request("PROPFIND", url, headers={"Depth": depth})
    assert resp.status_code == 207, resp.text
    result = {}
    for response in ElementTree.fromstring(resp.content).iter(f"{DAV}response"):
        props = {el.tag.split("}")[1]: (el.text or "") for el in response.iterfind(f".//{DAV}prop/*")}
        result[response.findtext(f"{DAV}href")] = props
    return result


def fresh_session(user: str, password: str) -> requests.Session:
    session = requests.Session()
    session.auth = (user, password)
    session.trust_env = False
    return session


def test_servers_stop_cleanly_and_a_restart_reuses_the_ports_and_data(tmp_path):
    data_dir = tmp_path / "data"
    first = EmbeddedServers(data_dir, password="pw").start()
    ports = (int(first.caldav_url.rsplit(":", 1)[1].strip("/")), int(first.files_root.rsplit(":", 1)[1].strip("/")))
    with fresh_session("admin", "pw") as session:
        assert mkcalendar(session, first.calendar_home + "plan/", "Kế hoạch").status_code == 201
    first.stop()

    with EmbeddedServers(data_dir, password="pw", caldav_port=ports[0], webdav_port=ports[1]) as second:
        assert second.caldav_url == first.caldav_url and second.files_root == first.files_root
        with fresh_session("admin", "pw") as session:
            assert session.request("PROPFIND", second.calendar_home + "plan/", headers={"Depth": "0"}).status_code == 207


def test_the_calendar_home_is_ready_for_mkcalendar_and_an_event_comes_back_from_a_calendar_query(embedded, dav_session):
    assert embedded.calendar_home == embedded.caldav_url + "admin/"
    calendar = embedded.calendar_home + "21-kl-tw/"
    assert mkcalendar(dav_session, calendar, "Kế hoạch 21-KL/TW").status_code == 201
    put = dav_session.put(calendar + "21-kl-tw-task-3-report.ics", data=EVENT.encode(),
                          headers={"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
    assert put.status_code == 201

    query = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="20241201T000000Z" end="20250101T000000Z"/>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""
    report = dav_session.request("REPORT", calendar, data=query.encode(),
                                 headers={"Depth": "1", "Content-Type": "application/xml"})
    assert report.status_code == 207
    assert "Báo cáo kết quả thực hiện Kết luận 21-KL/TW" in report.content.decode()
    tasks = embedded.calendar_home + "21-kl-tw-tasks/"
    mkcol_tasks = mkcalendar(dav_session, tasks, "Nhiệm vụ", components=("VTODO",))
    assert mkcol_tasks.status_code == 201
    assert list_calendars(embedded) == [
        CalendarInfo("Kế hoạch 21-KL/TW", calendar, ("VEVENT", "VJOURNAL", "VTODO")),  # Radicale's default set
        CalendarInfo("Nhiệm vụ", tasks, ("VTODO",)),
    ]


def test_report_folders_are_made_one_level_at_a_time_and_uploads_report_their_file_time(embedded, dav_session):
    unit = embedded.files_root + quote("Chi bộ A") + "/"
    period = unit + quote("Tháng 02-2022") + "/"
    assert dav_session.request("MKCOL", period).status_code == 409  # parent missing
    assert dav_session.request("MKCOL", unit).status_code == 201
    assert dav_session.request("MKCOL", unit).status_code == 405  # exists
    assert dav_session.request("MKCOL", period).status_code == 201
    assert dav_session.put(period + quote("Báo cáo.docx"), data=b"report").status_code == 201
    assert (embedded.files_dir / "Chi bộ A" / "Tháng 02-2022" / "Báo cáo.docx").read_bytes() == b"report"

    embedded.set_file_time("Chi bộ A/Tháng 02-2022/Báo cáo.docx", datetime(2022, 2, 25, 9, 30, tzinfo=timezone.utc))
    tree = propfind(dav_session, embedded.files_root, "infinity")
    report = tree[f"/{quote('Chi bộ A')}/{quote('Tháng 02-2022')}/{quote('Báo cáo.docx')}"]
    assert parsedate_to_datetime(report["getlastmodified"]) == datetime(2022, 2, 25, 9, 30, tzinfo=timezone.utc)
    assert report["getcontentlength"] == "6"
    # the same logged-in session also talks to the CalDAV server
    assert dav_session.request("PROPFIND", embedded.calendar_home, headers={"Depth": "0"}).status_code == 207


def test_set_file_time_only_touches_files_under_the_webdav_root(embedded):
    with pytest.raises(InputError, match="not under the WebDAV root"):
        embedded.set_file_time("../credentials.toml", datetime(2022, 1, 1))
    with pytest.raises(InputError, match="no such file"):
        embedded.set_file_time("missing.docx", datetime(2022, 1, 1))


def test_a_wrong_password_is_refused_at_once_by_both_servers(embedded):
    with fresh_session(embedded.user, "wrong") as session:
        for url in (embedded.calendar_home, embedded.files_root):
            resp = session.request("PROPFIND", url, headers={"Depth": "0"})
            assert resp.status_code == 401, url
        assert "Basic" in session.request("PROPFIND", embedded.files_root).headers["WWW-Authenticate"]
    # Refused at once: Radicale's default one-second delay after a failed login is switched off.
    from connector.embedded import _radicale_app

    (embedded.files_dir.parent / "check").mkdir()
    app = _radicale_app(embedded.files_dir.parent / "check", {"x": "y"})
    assert app.configuration.get("auth", "delay") == 0 and app.configuration.get("server", "delay_on_error") == 0


def test_a_unit_account_uploads_reports_but_cannot_read_the_committee_calendars(embedded):
    (embedded.files_dir / "Chi bộ A").mkdir()
    with fresh_session("unit_a", "unit-a-pass") as unit:
        put = unit.put(embedded.files_root + quote("Chi bộ A/Báo cáo quý 1.pdf"), data=b"%PDF-1.4")
        assert put.status_code == 201
        assert unit.request("PROPFIND", embedded.calendar_home, headers={"Depth": "0"}).status_code in (403, 404)
        own_home = embedded.caldav_url + "unit_a/"
        assert unit.request("PROPFIND", own_home, headers={"Depth": "0"}).status_code == 207
    assert (embedded.files_dir / "Chi bộ A" / "Báo cáo quý 1.pdf").read_bytes() == b"%PDF-1.4"


def test_a_real_caldav_client_finds_the_calendar_and_reads_the_event(embedded, dav_session):
    import caldav  # test-only dependency (uses niquests, fine against a real server)

    calendar_url = embedded.calendar_home + "21-kl-tw/"
    assert mkcalendar(dav_session, calendar_url, "Kế hoạch 21-KL/TW").status_code == 201
    assert dav_session.put(calendar_url + "ev.ics", data=EVENT.encode(),
                           headers={"Content-Type": "text/calendar"}).status_code == 201

    with caldav.DAVClient(url=embedded.calendar_home, username=embedded.user, password=embedded.password) as client:
        calendars = client.principal().calendars()
        assert [c.get_display_name() for c in calendars] == ["Kế hoạch 21-KL/TW"]
        events = calendars[0].events()
    assert [str(e.icalendar_component["summary"]) for e in events] == ["Báo cáo kết quả thực hiện Kết luận 21-KL/TW"]


def test_the_generated_password_is_stored_privately_and_reused(tmp_path):
    data_dir = tmp_path / "data"
    with EmbeddedServers(data_dir) as first:
        password = first.password
    credentials = data_dir / "credentials.toml"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / "htpasswd").stat().st_mode) == 0o600
    assert tomllib.loads(credentials.read_text()) == {"user": "admin", "password": password}
    assert len(password) >= 16

    with EmbeddedServers(data_dir) as second:
        assert second.password == password
        with fresh_session("admin", password) as session:
            assert session.request("PROPFIND", second.files_root, headers={"Depth": "0"}).status_code == 207


def test_a_busy_port_is_a_config_error_and_leaves_nothing_running(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        servers = EmbeddedServers(tmp_path / "data", password="pw", webdav_port=port)
        with pytest.raises(ConfigError, match=f"cannot serve WebDAV on 127.0.0.1:{port}"):
            servers.start()
    assert servers._servers == [] and servers._threads == []


def _wait_for(path: Path, text: str, proc: subprocess.Popen, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = path.read_text(encoding="utf-8") if path.exists() else ""
        if text in out:
            return out
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"serve did not print {text!r} (exit code {proc.poll()}): {out!r}")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_prints_where_to_subscribe_without_the_password_and_stops_cleanly(tmp_path, stop_signal):
    data_dir = tmp_path / "data"
    with EmbeddedServers(data_dir) as earlier:  # a previous run that made a calendar
        with fresh_session("admin", earlier.password) as session:
            assert mkcalendar(session, earlier.calendar_home + "21-kl-tw/", "Kế hoạch 21-KL/TW").status_code == 201
    password = tomllib.loads((data_dir / "credentials.toml").read_text())["password"]

    out_file, err_file = tmp_path / "serve.out", tmp_path / "serve.err"
    with open(out_file, "wb") as out, open(err_file, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector", "serve", "--data-dir", str(data_dir),
             "--caldav-port", "0", "--webdav-port", "0"],
            cwd=PROJECT_ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        try:
            printed = _wait_for(out_file, "Subscribe", proc)
            calendar_home = re.search(r"Calendar home:\s+(\S+)", printed).group(1)
            files_root = re.search(r"WebDAV \(files\):\s+(\S+)", printed).group(1)
            calendar = re.search(r"Kế hoạch 21-KL/TW \(events, tasks\): (\S+)", printed).group(1)
            with fresh_session("admin", password) as session:  # the URLs work with the stored password
                assert session.request("PROPFIND", calendar, headers={"Depth": "0"}).status_code == 207
                assert session.request("PROPFIND", files_root, headers={"Depth": "0"}).status_code == 207
            assert calendar == calendar_home + "21-kl-tw/"
            assert f"see {data_dir / 'credentials.toml'}" in printed
            for client in ("Thunderbird", "DAVx5", "iOS"):
                assert client in printed
            proc.send_signal(stop_signal)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    everything = out_file.read_text(encoding="utf-8") + err_file.read_text(encoding="utf-8")
    assert password not in everything
    assert "Traceback" not in everything


def _home_tokens(session: requests.Session, home: str) -> dict[str, str]:
    body = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/></d:prop></d:propfind>'
    resp = session.request("PROPFIND", home, data=body, headers={"Depth": "1", "Content-Type": "application/xml"})
    assert resp.status_code == 207, resp.text
    return {r.findtext(f"{DAV}href"): r.findtext(f".//{DAV}sync-token")
            for r in ElementTree.fromstring(resp.content).iter(f"{DAV}response") if r.findtext(f".//{DAV}sync-token")}


def _sync_collection(session: requests.Session, url: str, token: str) -> list[str]:
    body = (f'<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
            '<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>').encode()
    resp = session.request("REPORT", url, data=body, headers={"Content-Type": "application/xml"})
    assert resp.status_code == 207, resp.text
    return sorted(r.findtext(f"{DAV}href").rsplit("/", 1)[1] for r in ElementTree.fromstring(resp.content).iter(f"{DAV}response"))


def _put_event(session: requests.Session, calendar: str, name: str, summary: str) -> None:
    ics = EVENT.replace("21-kl-tw-task-3-report", name).replace("Báo cáo kết quả thực hiện Kết luận 21-KL/TW", summary)
    assert session.put(f"{calendar}{name}.ics", data=ics.encode(),
                       headers={"Content-Type": "text/calendar; charset=utf-8"}).status_code in (201, 204)


def _age_folder(embedded, calendar_name: str, seconds: int = 10) -> Path:
    folder = embedded.data_dir / "caldav" / "collection-root" / "admin" / calendar_name
    st = folder.stat()
    os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 1_000_000_000))
    return folder


def test_a_calendar_s_sync_token_is_kept_while_it_is_unchanged_and_moves_with_every_write(embedded, dav_session):
    calendar = embedded.calendar_home + "tokens/"
    assert mkcalendar(dav_session, calendar, "Hạn").status_code == 201
    _put_event(dav_session, calendar, "a", "Một")
    folder = _age_folder(embedded, "tokens")  # settled: its tokens are kept from now on
    first = _home_tokens(dav_session, embedded.calendar_home)["/admin/tokens/"]
    assert (folder / ".Radicale.cache" / "plan-connector-tokens.json").is_file()
    assert _home_tokens(dav_session, embedded.calendar_home)["/admin/tokens/"] == first

    _put_event(dav_session, calendar, "b", "Hai")  # a new item
    second = _home_tokens(dav_session, embedded.calendar_home)["/admin/tokens/"]
    assert second != first
    assert _sync_collection(dav_session, calendar, first) == ["b.ics"]
    assert _sync_collection(dav_session, calendar, "") == ["a.ics", "b.ics"]  # no token: everything

    _age_folder(embedded, "tokens")
    settled = _home_tokens(dav_session, embedded.calendar_home)["/admin/tokens/"]
    _put_event(dav_session, calendar, "a", "Một (sửa lại)")  # an item rewritten
    rewritten = _home_tokens(dav_session, embedded.calendar_home)["/admin/tokens/"]
    assert rewritten != settled
    _age_folder(embedded, "tokens")
    _home_tokens(dav_session, embedded.calendar_home)
    assert dav_session.delete(calendar + "b.ics").status_code in (200, 204)  # an item deleted
    assert _home_tokens(dav_session, embedded.calendar_home)["/admin/tokens/"] not in (first, second, rewritten)


def test_a_token_read_just_after_a_write_is_not_kept_so_a_write_in_the_same_clock_tick_still_moves_it(embedded, dav_session):
    calendar = embedded.calendar_home + "racy/"
    assert mkcalendar(dav_session, calendar, "Hạn").status_code == 201
    _put_event(dav_session, calendar, "a", "Một")
    folder = embedded.data_dir / "caldav" / "collection-root" / "admin" / "racy"
    written = folder.stat()
    before = _home_tokens(dav_session, embedded.calendar_home)["/admin/racy/"]
    _put_event(dav_session, calendar, "b", "Hai")
    os.utime(folder, ns=(written.st_atime_ns, written.st_mtime_ns))  # as if both writes fell in one tick
    assert _home_tokens(dav_session, embedded.calendar_home)["/admin/racy/"] != before
