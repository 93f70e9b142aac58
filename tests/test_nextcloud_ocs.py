"""OCS through nextcloud-api-wrapper routed over our Session, against recorded Nextcloud 29/34 answers.

Also pins down the wrapper's known defects, so an upgrade that fixes (or changes) them is noticed.
"""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from nextcloud.requester import OCSRequester, Requester, WebDAVRequester

from connector.dav.http import HttpClient, make_session
from connector.dav.webdav import WebDAVClient
from connector.errors import AuthError, PasswordConfirmationRequired, RateLimited, ServerError
from connector.nextcloud.ocs import OCSClient, Share, base_url_of
from ncfixtures import VERSIONS, exchange, has, register

PASSWORD = "app-Passw0rd-xyz"
FOLDER = "Báo cáo/21-KL-TW/Chi bộ A"


@pytest.fixture(autouse=True)
def fresh_header_cache(monkeypatch):
    # The wrapper caches headers in ONE class-level dict; give each test its own and restore it after.
    monkeypatch.setattr(Requester, "headers", {})


def make(version: str) -> tuple[OCSClient, HttpClient, str]:
    base = exchange(version, "a2").base
    http = HttpClient(make_session("admin", PASSWORD), backoff=0)
    return OCSClient(http, base), http, base


def form(request) -> dict[str, list[str]]:
    body = request.body
    return parse_qs(body if isinstance(body, str) else body.decode())


def test_every_ocs_request_carries_the_ocs_header(version, rsps):
    ocs, _, _ = make(version)
    register(rsps, exchange(version, "a2"))
    register(rsps, exchange(version, "b1"))
    ocs.capabilities()
    ocs.create_group("chi-bo-a")
    for call in rsps.calls:
        assert call.request.headers["OCS-APIRequest"] == "true"
        assert call.request.headers["Accept"] == "application/json"


def test_capabilities(version, rsps):
    ocs, _, _ = make(version)
    register(rsps, exchange(version, "a2"))
    caps = ocs.capabilities()
    assert caps["version"]["major"] == int(version.split("-")[1])
    assert "files_sharing" in caps["capabilities"]
    assert urlsplit(rsps.calls[0].request.url).path == "/ocs/v2.php/cloud/capabilities"


def test_without_the_header_nextcloud_says_csrf_and_we_always_send_it(version, rsps):
    """b9: the same GET without OCS-APIRequest gets 412 "CSRF check failed"."""
    ocs, _, base = make(version)
    missing = exchange(version, "b9")
    ok = exchange("nextcloud-29", "b3")

    def answer(request):
        if request.headers.get("OCS-APIRequest") != "true":
            return missing.status, {}, missing.response_body
        return 200, {"Content-Type": "application/json"}, ok.response_body

    rsps.add_callback("GET", base + "/ocs/v2.php/cloud/groups", callback=answer)
    assert ocs.groups() == ["admin", "chi-bo-a"]


def test_csrf_failure_is_reported_as_a_missing_header(rsps):
    ex = exchange("nextcloud-29", "b9")
    ocs, _, base = make("nextcloud-29")
    register(rsps, ex, url=base + "/ocs/v2.php/cloud/groups")
    with pytest.raises(ServerError, match=r"CSRF check failed \(412\) during GET /ocs/v2.php/cloud/groups"):
        ocs.groups()


def test_ocs_header_survives_a_webdav_call_on_the_same_session(rsps):
    """The wrapper's shared header cache: a WebDAV PUT first primes 'put' without the OCS header."""
    ocs, http, base = make("nextcloud-29")
    WebDAVRequester.get_headers("put")  # what the wrapper's own WebDAV upload does first
    assert "OCS-APIRequest" not in OCSRequester.get_headers("put")  # the defect, still present in 0.2.3
    dav = WebDAVClient(http, base + "/remote.php/dav/files/admin/")
    register(rsps, exchange("nextcloud-29", "c6"))
    register(rsps, exchange("nextcloud-29", "d3"))
    WebDAVRequester.get_headers("delete")
    rsps.add("DELETE", base + "/ocs/v2.php/apps/files_sharing/api/v1/shares/4",
             json={"ocs": {"meta": {"status": "ok", "statuscode": 200, "message": "OK"}, "data": []}})
    dav.put(FOLDER + "/Báo cáo tháng 11.txt", b"x")
    ocs.update_share("4", permissions=4)
    ocs.delete_share(4)  # through the wrapper's requester, after its cache was primed by WebDAV
    assert "OCS-APIRequest" not in rsps.calls[0].request.headers  # plain WebDAV
    assert rsps.calls[1].request.headers["OCS-APIRequest"] == "true"
    assert rsps.calls[2].request.headers["OCS-APIRequest"] == "true"
    assert http.count == 3


def test_list_groups(rsps):
    ocs, _, _ = make("nextcloud-29")
    register(rsps, exchange("nextcloud-29", "b3"))
    assert ocs.groups() == ["admin", "chi-bo-a"]


def test_group_members(version, rsps):
    ocs, _, _ = make(version)
    register(rsps, exchange(version, "b6"))
    assert ocs.group_members("chi-bo-a") == ["unit_a"]


def test_group_ids_are_escaped_in_urls(rsps):
    """The wrapper pastes ids into URLs unescaped; we quote them."""
    ocs, _, base = make("nextcloud-29")
    rsps.add("GET", base + "/ocs/v2.php/cloud/groups/Chi%20b%E1%BB%99%20A%2F2/users",
             json={"ocs": {"meta": {"status": "ok", "statuscode": 200}, "data": {"users": []}}})
    assert ocs.group_members("Chi bộ A/2") == []


def test_create_group_then_again(version, rsps):
    ocs, _, _ = make(version)
    register(rsps, exchange(version, "b1"))
    register(rsps, exchange(version, "b7"))
    assert ocs.create_group("chi-bo-a") is True
    assert ocs.create_group("chi-bo-a") is False
    assert form(rsps.calls[0].request)["groupid"] == ["chi-bo-a"]


def test_other_ocs_failures_carry_http_and_ocs_status(rsps):
    ocs, _, base = make("nextcloud-29")
    rsps.add("POST", base + "/ocs/v2.php/cloud/groups", status=403,
             json={"ocs": {"meta": {"status": "failure", "statuscode": 403, "message": "Logged in account must be an admin"},
                           "data": []}})
    with pytest.raises(ServerError) as err:
        ocs.create_group("x")
    assert err.value.status == 403 and err.value.ocs_status == 403
    assert "during POST /ocs/v2.php/cloud/groups" in str(err.value) and "admin" in str(err.value)


def test_share_folder_with_group_sends_note_in_the_same_request(version, rsps):
    ocs, _, _ = make(version)
    ex = exchange(version, "d1")
    register(rsps, ex)
    share = ocs.create_group_share(FOLDER, "chi-bo-a", 5, note="Nộp báo cáo vào đây")
    sent = form(rsps.calls[0].request)
    assert sent == {"path": ["/" + FOLDER], "shareType": ["1"], "shareWith": ["chi-bo-a"],
                    "permissions": ["5"], "note": ["Nộp báo cáo vào đây"]}
    assert share.share_type == 1 and share.share_with == "chi-bo-a" and share.permissions == 5
    assert share.path == "/" + FOLDER and share.note == "Nộp báo cáo vào đây" and share.id


def test_link_share_on_29_is_created_as_21_then_updated_to_file_drop(rsps):
    ocs, _, _ = make("nextcloud-29")
    register(rsps, exchange("nextcloud-29", "d2"))
    register(rsps, exchange("nextcloud-29", "d3"))
    share = ocs.create_link_share(FOLDER, permissions=4, expire_date=date(2027, 12, 31), note="Upload only",
                                  label="Hộp nộp báo cáo")
    created = form(rsps.calls[0].request)
    assert created["expireDate"] == ["2027-12-31"] and created["label"] == ["Hộp nộp báo cáo"]
    assert created["note"] == ["Upload only"] and created["shareType"] == ["3"]
    assert form(rsps.calls[1].request) == {"permissions": ["4"]}  # and nothing else: no empty expireDate
    assert rsps.calls[1].request.method == "PUT" and rsps.calls[1].request.url.endswith("/shares/4")
    assert share.permissions == 4 and share.token == "BgHkmMT9ExCtxis"
    assert share.expiration == date(2027, 12, 31)
    assert share.url.endswith("/s/BgHkmMT9ExCtxis")


@pytest.mark.parametrize("key", ["d2", "d2b"])
def test_link_share_on_34_is_a_file_drop_at_once(key, rsps):
    ocs, _, _ = make("nextcloud-34")
    ex = exchange("nextcloud-34", key)
    register(rsps, ex)
    sent = parse_qs(ex.request_body.decode())
    share = ocs.create_link_share(FOLDER, permissions=4,
                                  expire_date=date(2027, 12, 31) if "expireDate" in sent else None,
                                  note=sent.get("note", [None])[0], label=sent.get("label", [None])[0])
    assert len(rsps.calls) == 1 and share.permissions == 4
    assert form(rsps.calls[0].request) == sent
    if key == "d2b":
        assert share.expiration == date(2027, 12, 31)  # from "2027-12-31 23:59:59"
        assert share.label == "Hộp nộp báo cáo"


def test_link_share_that_stays_wrong_is_an_error(rsps):
    ocs, _, _ = make("nextcloud-29")
    d2 = exchange("nextcloud-29", "d2")
    register(rsps, d2)
    register(rsps, d2, method="PUT", url=d2.base + "/ocs/v2.php/apps/files_sharing/api/v1/shares/4")
    with pytest.raises(ServerError, match="kept permissions 21 instead of 4"):
        ocs.create_link_share(FOLDER)


def test_update_expiry_and_note_in_one_request(rsps):
    ocs, _, _ = make("nextcloud-34")
    ex = exchange("nextcloud-34", "d3b")
    register(rsps, ex)
    share = ocs.update_share(3, expire_date=date(2027, 12, 31), note="Upload only")  # an int id is fine
    assert form(rsps.calls[0].request) == parse_qs(ex.request_body.decode())
    assert share.expiration == date(2027, 12, 31) and share.note == "Upload only"


def test_shares_of_a_path(version, rsps):
    ocs, _, _ = make(version)
    ex = exchange(version, "d4")
    register(rsps, ex)
    shares = ocs.shares(FOLDER)
    assert {s.share_type for s in shares} >= {1, 3}
    group = next(s for s in shares if s.share_type == 1)
    assert group.share_with == "chi-bo-a" and group.label == ""  # null label -> ""
    query = parse_qs(urlsplit(rsps.calls[0].request.url).query)
    assert query["path"] == ["/" + FOLDER] and query["reshares"] == ["true"]


def test_delete_share(rsps):
    ocs, _, base = make("nextcloud-29")
    rsps.add("DELETE", base + "/ocs/v2.php/apps/files_sharing/api/v1/shares/4",
             json={"ocs": {"meta": {"status": "ok", "statuscode": 200, "message": "OK"}, "data": []}})
    ocs.delete_share(4)
    assert len(rsps.calls) == 1


def test_admin_notification(rsps):
    ocs, _, _ = make("nextcloud-29")
    ex = exchange("nextcloud-29", "f1")
    register(rsps, ex)
    sent = parse_qs(ex.request_body.decode())
    ocs.notify("unit_a", sent["shortMessage"][0], sent["longMessage"][0])
    assert form(rsps.calls[0].request) == sent
    assert rsps.calls[0].request.headers["OCS-APIRequest"] == "true"


def test_wrong_password_on_ocs_is_an_auth_error_after_one_request(rsps):
    ocs, http, base = make("nextcloud-29")
    rsps.add("GET", base + "/ocs/v2.php/cloud/capabilities", status=401,
             json={"ocs": {"meta": {"status": "failure", "statuscode": 997, "message": "Current user is not logged in"},
                           "data": []}})
    with pytest.raises(AuthError) as err:
        ocs.capabilities()
    assert http.count == 1 and PASSWORD not in str(err.value) and "app password" in str(err.value)


def test_ocs_calls_use_our_timeout(rsps):
    """The wrapper sets no timeout of its own; every call goes through HttpClient's."""
    ocs, _, _ = make("nextcloud-29")
    register(rsps, exchange("nextcloud-29", "b6"))
    ocs.group_members("chi-bo-a")
    assert rsps.calls[0].request.req_kwargs["timeout"] == (5, 60)


def test_a_prefix_written_onto_the_wrapper_classes_does_not_leak_into_our_client(monkeypatch, rsps):
    """NextCloud(endpoint='http://h/nc') rewrites every wrapper CLASS's API_URL for the whole process."""
    from nextcloud import NextCloud
    from nextcloud.api_wrappers.share import Share as ShareWrapper
    from nextcloud.base import API_WRAPPER_CLASSES
    for cls in API_WRAPPER_CLASSES:
        monkeypatch.setattr(cls, "API_URL", cls.API_URL)
        monkeypatch.setattr(cls, "_ORIG_API_URL", getattr(cls, "_ORIG_API_URL", cls.API_URL), raising=False)
    NextCloud(endpoint="http://other.example/cloud", user="x", password="y")
    assert ShareWrapper.API_URL.startswith("/cloud/")  # the defect
    http = HttpClient(make_session("admin", PASSWORD), backoff=0)
    ocs = OCSClient(http, "https://nc.example/nextcloud")
    rsps.add("GET", "https://nc.example/nextcloud/ocs/v2.php/apps/files_sharing/api/v1/shares",
             json={"ocs": {"meta": {"status": "ok", "statuscode": 200}, "data": []}})
    assert ocs.shares("x") == []


def test_share_model_accepts_both_expiration_forms_and_integer_ids():
    a = Share.model_validate({"id": 7, "share_type": 3, "permissions": 4, "path": "/x",
                              "expiration": "2027-12-31 00:00:00", "note": None, "label": None})
    b = Share.model_validate({"id": "7", "share_type": 3, "permissions": 4, "path": "/x",
                              "expiration": "2027-12-31 23:59:59"})
    assert a.id == b.id == "7" and a.expiration == b.expiration == date(2027, 12, 31)
    assert a.note == "" and a.label == ""


def test_base_url_from_a_dav_url():
    assert base_url_of("https://h/nextcloud/remote.php/dav/files/admin/") == "https://h/nextcloud"
    assert base_url_of("http://127.0.0.1:8080/remote.php/dav/") == "http://127.0.0.1:8080"


def test_fixtures_needed_here_exist():
    for v in VERSIONS:
        for key in ("a2", "b1", "b6", "b7", "b9", "d1", "d2", "d3", "d4"):
            assert has(v, key), (v, key)


# -- what Nextcloud 34 adds: password confirmation and the share-creation limit ---------------------
# (answers as the live 34.0.1 of ../shared/nextcloud gave them; no recording has them)

NOT_CONFIRMED = {"ocs": {"meta": {"status": "failure", "statuscode": 403, "message": "Password confirmation is required"},
                         "data": []}}
NOT_ADMIN = {"ocs": {"meta": {"status": "failure", "statuscode": 403, "message":
                              "Logged in account must be an admin, a sub admin or gotten special right to access this setting"},
                     "data": []}}
INVALID_NAME = {"ocs": {"meta": {"status": "failure", "statuscode": 101, "message": "Invalid group name"}, "data": []}}


def test_group_creation_with_an_app_password_on_34_asks_for_password_confirmation(rsps):
    ocs, _, base = make("nextcloud-34")
    rsps.add("POST", base + "/ocs/v2.php/cloud/groups", status=403, json=NOT_CONFIRMED)
    with pytest.raises(PasswordConfirmationRequired) as err:
        ocs.create_group("chi-bo-b")
    assert err.value.status == 403 and err.value.ocs_status == 403
    assert "password confirmation" in str(err.value) and "app password" in str(err.value)
    assert PASSWORD not in str(err.value)


@pytest.mark.parametrize("status, answer, found", [(400, INVALID_NAME, "ok"), (403, NOT_CONFIRMED, "confirm"),
                                                   (403, NOT_ADMIN, "forbidden")])
def test_probing_group_creation_asks_for_a_group_nextcloud_refuses_to_make(status, answer, found, rsps):
    """The probe names no group (an empty id, refused as invalid once the caller may ask): no side effects."""
    ocs, _, base = make("nextcloud-34")
    rsps.add("POST", base + "/ocs/v2.php/cloud/groups", status=status, json=answer)
    assert ocs.probe_group_creation() == found
    body = rsps.calls[0].request.body
    assert (body if isinstance(body, str) else body.decode()) == "groupid="


def test_the_login_password_client_is_the_same_account_on_a_session_of_its_own(rsps):
    ocs, http, base = make("nextcloud-34")
    register(rsps, exchange("nextcloud-34", "b1"), url=base + "/ocs/v2.php/cloud/groups")
    admin = ocs.with_login_password("login-Passw0rd")
    assert admin.create_group("chi-bo-b") is True
    sent = rsps.calls[0].request
    assert sent.headers["Authorization"] == "Basic " + __import__("base64").b64encode(b"admin:login-Passw0rd").decode()
    assert sent.headers["OCS-APIRequest"] == "true"
    assert http.session.auth == ("admin", PASSWORD) and http.count == 0  # the app-password session is untouched


def test_share_creation_over_the_limit_is_rate_limited_after_one_request(rsps):
    """Nextcloud 34: `429` with an empty body and no Retry-After on the 21st share in 10 minutes."""
    ocs, http, base = make("nextcloud-34")
    rsps.add("POST", base + "/ocs/v2.php/apps/files_sharing/api/v1/shares", status=429, body=b"",
             content_type="text/html; charset=UTF-8")
    with pytest.raises(RateLimited) as err:
        ocs.create_group_share("/" + FOLDER, "chi-bo-a", 5)
    assert err.value.status == 429 and err.value.retry_after is None
    assert http.count == 1  # a POST is never repeated


def test_app_values_are_read_by_admins_and_default_to_empty(rsps):
    ocs, _, base = make("nextcloud-34")
    url = base + "/ocs/v2.php/apps/provisioning_api/api/v1/config/apps/dav/rateLimitShareAddressbookOrCalendar"
    rsps.add("GET", url, json={"ocs": {"meta": {"status": "ok", "statuscode": 200, "message": "OK"},
                                       "data": {"data": ""}}})
    rsps.add("GET", url, status=403, json={"ocs": {"meta": {"status": "failure", "statuscode": 403,
                                                            "message": "Logged in account must be an admin"}, "data": []}})
    assert ocs.app_value("dav", "rateLimitShareAddressbookOrCalendar") == ""  # the default
    assert ocs.app_value("dav", "rateLimitShareAddressbookOrCalendar") is None  # not an admin
