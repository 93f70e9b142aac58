"""WebDAV report folders against recorded Nextcloud 29 and 34 answers."""
from __future__ import annotations

from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pytest
import responses

from connector.dav.http import HttpClient, make_session
from connector.dav.webdav import WebDAVClient
from connector.errors import PreconditionFailed, ServerError
from ncfixtures import exchange, register

FOLDER = "Báo cáo/21-KL-TW/Chi bộ A"
FILE = FOLDER + "/Báo cáo tháng 11.txt"


def client(version: str, user: str = "admin") -> WebDAVClient:
    base = exchange(version, "c1").base
    return WebDAVClient(HttpClient(make_session(user, "app-password"), backoff=0),
                        base + f"/remote.php/dav/files/{user}/")


def test_url_encodes_each_vietnamese_segment_like_nextcloud(version):
    dav = client(version)
    assert dav.url(FOLDER) == exchange(version, "c4").url
    assert dav.url(FILE) == exchange(version, "c6").url
    assert dav.url("") == dav.root_url


def test_nested_mkcol_without_parent_is_a_clear_conflict(version, rsps):
    register(rsps, exchange(version, "c1"))
    with pytest.raises(ServerError, match=r"conflict \(409\) during MKCOL .*Báo cáo/21-KL-TW/Chi bộ A"):
        client(version).mkcol(FOLDER)


def test_ensure_dirs_creates_one_level_at_a_time_parents_first(version, rsps):
    for key in ("c2", "c3", "c4"):
        register(rsps, exchange(version, key))
    dav = client(version)
    existing: set[str] = set()
    created = dav.ensure_dirs([FOLDER, "Báo cáo/21-KL-TW"], existing)
    assert created == ["Báo cáo", "Báo cáo/21-KL-TW", FOLDER]
    assert [c.request.url for c in rsps.calls] == [exchange(version, k).url for k in ("c2", "c3", "c4")]
    assert existing == set(created)


def test_ensure_dirs_skips_known_folders_and_accepts_existing_ones(version, rsps):
    register(rsps, exchange(version, "c5"))  # 405: already there
    existing = {"Báo cáo", "Báo cáo/21-KL-TW"}
    assert client(version).ensure_dirs([FOLDER], existing) == []
    assert len(rsps.calls) == 1 and FOLDER in existing


def test_put_returns_the_etag_that_the_listing_shows(version, rsps):
    put = exchange(version, "c6")
    register(rsps, put)
    register(rsps, exchange(version, "c10"))
    dav = client(version)
    etag = dav.put(FILE, put.request_body, create_only=True, content_type="text/plain; charset=utf-8")
    assert rsps.calls[0].request.headers["If-None-Match"] == "*"
    listed = {e.path: e for e in dav.list_tree(FOLDER, depth="1")}
    assert listed[FILE].etag == etag


@pytest.mark.parametrize("key, kwargs", [("c7", {"etag": "nope"}), ("c8", {"create_only": True})])
def test_conditional_put_on_changed_or_existing_file_fails(version, rsps, key, kwargs):
    register(rsps, exchange(version, key))
    with pytest.raises(PreconditionFailed):
        client(version).put(FILE, b"x", **kwargs)


def test_get_returns_content_and_etag(version, rsps):
    ex = exchange(version, "c9")
    register(rsps, ex)
    content, etag = client(version).get(FILE)
    assert content == ex.response_body and "Chi bộ A".encode() in content


def test_depth_one_listing_parses_lower_case_percent_encoded_hrefs(version, rsps):
    register(rsps, exchange(version, "c10"))
    entries = client(version).list_tree(FOLDER, depth="1")
    assert [e.path for e in entries] == [FILE]  # the folder itself is not listed
    f = entries[0]
    assert f.is_dir is False and f.size > 0 and f.file_id and f.owner_id == "admin"
    assert f.last_modified.tzinfo is not None
    assert f.upload_time is not None and f.upload_time.tzinfo is not None
    assert f.permissions and "W" in f.permissions
    assert rsps.calls[0].request.headers["Depth"] == "1"


def test_infinity_listing_gives_the_whole_tree_with_upload_times_on_files_only(version, rsps):
    register(rsps, exchange(version, "c11"))
    entries = client(version).list_tree("Báo cáo")
    by_path = {e.path: e for e in entries}
    assert set(by_path) == {"Báo cáo/21-KL-TW", FOLDER, FILE}
    assert by_path[FOLDER].is_dir and by_path[FOLDER].upload_time is None and by_path[FOLDER].size is not None
    assert by_path[FILE].upload_time == datetime.fromtimestamp(
        int(exchange(version, "c11").response_body.split(b"<nc:upload_time>")[1].split(b"<")[0]), UTC)
    assert rsps.calls[0].request.headers["Depth"] == "infinity"
    body = rsps.calls[0].request.body.decode()
    for prop in ("getlastmodified", "getetag", "getcontentlength", "resourcetype", "oc:fileid", "oc:owner-id",
                 "oc:permissions", "oc:size", "nc:upload_time"):
        assert prop in body


def test_admin_sees_a_units_upload_with_admin_as_owner_and_an_upload_time(version, rsps):
    """d12: the unit uploaded into the group-shared folder; which unit is known only from the folder."""
    register(rsps, exchange(version, "d12"))
    entries = {e.name: e for e in client(version).list_tree(FOLDER, depth="1")}
    upload = next(e for name, e in entries.items() if "đơn vị A" in name)
    assert upload.owner_id == "admin"
    assert upload.upload_time is not None
    assert any(e.is_dir for e in entries.values())


def test_missing_root_lists_as_empty(rsps):
    dav = client("nextcloud-29")
    rsps.add("PROPFIND", dav.url("Không có"), status=404)
    assert dav.list_tree("Không có") == []


@pytest.mark.parametrize("status, body", [(403, b"<d:error xmlns:d='DAV:'><d:propfind-finite-depth/></d:error>"),
                                          (400, b""), (501, b"")])
def test_server_refusing_infinity_is_walked_folder_by_folder(status, body, rsps):
    dav = client("nextcloud-29")
    rsps.add("PROPFIND", dav.url("Báo cáo"), status=status, body=body,
             match=[responses.matchers.header_matcher({"Depth": "infinity"})])

    def level(path, children):
        own = f"<d:response><d:href>{escape(dav.url(path).split(':8080')[1])}/</d:href><d:propstat><d:prop>" \
              "<d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
        kids = "".join(
            f"<d:response><d:href>{escape(dav.url(c).split(':8080')[1])}{'/' if d else ''}</d:href><d:propstat><d:prop>"
            f"<d:resourcetype>{'<d:collection/>' if d else ''}</d:resourcetype></d:prop>"
            "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>" for c, d in children)
        rsps.add("PROPFIND", dav.url(path), status=207, body=f'<d:multistatus xmlns:d="DAV:">{own}{kids}</d:multistatus>',
                 match=[responses.matchers.header_matcher({"Depth": "1"})])

    level("Báo cáo", [("Báo cáo/21-KL-TW", True)])
    level("Báo cáo/21-KL-TW", [(FOLDER, True)])
    level(FOLDER, [(FILE, False)])
    assert [e.path for e in dav.list_tree("Báo cáo")] == ["Báo cáo/21-KL-TW", FOLDER, FILE]
    assert len(rsps.calls) == 4


def test_exists(rsps):
    dav = client("nextcloud-29")
    register(rsps, exchange("nextcloud-29", "c10"))
    rsps.add("PROPFIND", dav.url("nope"), status=404)
    assert dav.exists(FOLDER) is True
    assert dav.exists("nope") is False


def test_unit_cannot_delete_in_a_read_create_share(version, rsps):
    """d10: 403 in a read+create share is an error the reconciler reports, with the path."""
    ex = exchange(version, "d10")
    register(rsps, ex)
    dav = client(version, user="unit_a")
    with pytest.raises(ServerError, match=r"forbidden \(403\) during DELETE /remote.php/dav/files/unit_a/Chi bộ A/"):
        dav.delete("Chi bộ A/Báo cáo đơn vị A.txt")


@pytest.mark.parametrize("version_, key", [("nextcloud-29", "c12"), ("nextcloud-34", "c12"),
                                           ("nextcloud-29", "c14"), ("nextcloud-34", "c14")])
def test_search_modified_since(version_, key, rsps):
    ex = exchange(version_, key)
    register(rsps, ex)
    dav = client(version_)
    literal = ex.request_body.decode().split("<d:literal>")[1].split("<")[0]
    since = datetime.strptime(literal, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    found = dav.search_modified_since(ex.base + "/remote.php/dav/", "admin", "Báo cáo", since)
    sent = rsps.calls[0].request.body.decode()
    assert "<d:href>/files/admin/Báo cáo</d:href>" in sent and f"<d:literal>{literal}</d:literal>" in sent
    paths = {e.path for e in found}
    assert "Báo cáo/21-KL-TW" in paths and FOLDER in paths
    files = [e for e in found if not e.is_dir]
    if files:
        # NC 29 reports nc:upload_time 0 in SEARCH (-> None); NC 34 the real time.
        expected_none = version_ == "nextcloud-29"
        assert (files[0].upload_time is None) is expected_none


def test_search_name_like_result_parses(rsps):
    ex = exchange("nextcloud-29", "c16")
    register(rsps, ex)
    found = client("nextcloud-29").search_modified_since(ex.base + "/remote.php/dav/", "admin", "",
                                                          datetime(2023, 1, 1, tzinfo=UTC))
    assert [e.path for e in found] == [FILE]
    assert "<d:href>/files/admin</d:href>" in rsps.calls[0].request.body.decode()
