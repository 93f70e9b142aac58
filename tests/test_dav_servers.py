"""The DAV clients against real servers: Radicale (CalDAV) and WsgiDAV (WebDAV) on 127.0.0.1."""
from __future__ import annotations

import pytest

from connector.dav.caldav import CalDAVClient
from connector.dav.http import HttpClient, make_session
from connector.dav.webdav import WebDAVClient
from connector.errors import AuthError, PreconditionFailed, ServerError

pytestmark = pytest.mark.server

TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//plan-connector//VI
BEGIN:VTODO
UID:{uid}
DTSTAMP:20241120T010000Z
SUMMARY:{summary}
DUE;VALUE=DATE:20241210
END:VTODO
END:VCALENDAR
"""


@pytest.fixture
def http(embedded):
    return HttpClient(make_session(embedded.user, embedded.password), backoff=0)


@pytest.fixture
def cal(http, embedded):
    client = CalDAVClient(http, embedded.calendar_home)
    return client, client.create_calendar("ke-hoach-21", "Kế hoạch 21-KL/TW", description="Nhiệm vụ")


def test_calendar_is_created_once_and_listed(cal):
    client, href = cal
    assert client.create_calendar("ke-hoach-21", "Kế hoạch 21-KL/TW") == href  # again: no error
    info = client.calendars()["ke-hoach-21"]
    assert info.href == href and info.displayname == "Kế hoạch 21-KL/TW"
    assert {"VEVENT", "VTODO"} <= info.components
    assert info.sync_token


def test_items_round_trip_with_etags_and_sync_tokens(cal):
    client, href = cal
    a, b = client.item_href(href, "todo-a"), client.item_href(href, "todo-b")
    etag_a = client.put(a, TODO.format(uid="todo-a", summary="Nộp báo cáo"), create=True)
    client.put(b, TODO.format(uid="todo-b", summary="Họp chi bộ"), create=True)
    full = client.list_items(href)
    assert full.full and set(full.items) == {a, b}
    assert etag_a and full.items[a] == etag_a  # same normalized form from PUT and from the listing

    with pytest.raises(PreconditionFailed):
        client.put(a, TODO.format(uid="todo-a", summary="x"), create=True)
    with pytest.raises(PreconditionFailed):
        client.put(a, TODO.format(uid="todo-a", summary="x"), etag="not-the-etag")
    client.put(a, TODO.format(uid="todo-a", summary="Nộp báo cáo (sửa)"), etag=full.items[a])
    client.delete(b, etag=full.items[b])

    changes = client.list_items(href, sync_token=full.sync_token)
    assert not changes.full
    assert set(changes.items) == {a} and changes.deleted == {b}
    assert changes.items[a] != full.items[a]

    got = client.fetch(href, [a, b])
    assert set(got) == {a} and "Nộp báo cáo (sửa)" in got[a][1] and got[a][0] == changes.items[a]
    client.delete(b)  # already gone: fine


def test_unknown_sync_token_falls_back_to_the_full_listing(cal):
    client, href = cal
    a = client.item_href(href, "todo-a")
    client.put(a, TODO.format(uid="todo-a", summary="x"), create=True)
    listing = client.list_items(href, sync_token="http://radicale.org/ns/sync/" + "0" * 64)
    assert listing.full and set(listing.items) == {a}


def test_wrong_password_is_one_request_and_an_auth_error(embedded):
    http = HttpClient(make_session(embedded.user, "wrong-password"), backoff=0)
    with pytest.raises(AuthError) as err:
        CalDAVClient(http, embedded.calendar_home).calendars()
    assert http.count == 1 and "wrong-password" not in str(err.value)


def test_report_folders_uploads_and_listing(http, embedded):
    dav = WebDAVClient(http, embedded.files_root)
    folder = "Báo cáo/21-KL-TW/Chi bộ A"
    existing: set[str] = set()
    assert dav.ensure_dirs([folder + "/Tháng 02-2022", folder], existing) == [
        "Báo cáo", "Báo cáo/21-KL-TW", folder, folder + "/Tháng 02-2022"]
    assert dav.mkcol(folder) is False
    with pytest.raises(ServerError, match=r"conflict \(409\) during MKCOL"):
        dav.mkcol("Không có/con")

    name = folder + "/Báo cáo tháng 2.txt"
    etag = dav.put(name, "Báo cáo".encode(), create_only=True, content_type="text/plain")
    with pytest.raises(PreconditionFailed):
        dav.put(name, b"again", create_only=True)
    tree = {e.path: e for e in dav.list_tree("Báo cáo")}
    assert set(tree) == {"Báo cáo/21-KL-TW", folder, folder + "/Tháng 02-2022", name}
    f = tree[name]
    assert not f.is_dir and f.size == len("Báo cáo".encode()) and f.last_modified.tzinfo is not None
    assert etag and f.etag == etag  # WsgiDAV: unquoted in PROPFIND, quoted in the header
    assert tree[folder].is_dir
    assert dav.get(name) == ("Báo cáo".encode(), f.etag)
    assert dav.exists(name) and not dav.exists("Không có")

    dav.delete(name)
    dav.delete(name)  # already gone: fine
    assert dav.list_tree("Không có") == []
    assert name not in {e.path for e in dav.list_tree("Báo cáo", depth="1")}


def test_folders_are_made_level_by_level_several_at_a_time(http, embedded):
    webdav = WebDAVClient(http, embedded.files_root)
    wanted = [f"Báo cáo/KH/Đơn vị {u}/0{t} – Nhiệm vụ/Năm 2022" for u in "ABCD" for t in range(1, 4)]
    existing: set[str] = set()
    created = webdav.ensure_dirs(wanted, existing, parallel=4)
    assert len(created) == 2 + 4 + 12 + 12  # root, KH, units, tasks, periods: each made exactly once
    listed = {e.path for e in webdav.list_tree("Báo cáo") if e.is_dir}
    assert set(wanted) <= listed
    assert webdav.ensure_dirs(wanted, set(), parallel=4) == []  # all there: 405s, nothing created
