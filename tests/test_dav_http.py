"""The HTTP edge: one Session, counted requests, one clear line per failure, never a password."""
from __future__ import annotations

import threading

import pytest
import requests
import responses

from connector.dav.http import HttpClient, join_url, make_session
from connector.errors import AuthError, PreconditionFailed, ServerError, UnreachableError
from ncfixtures import exchange, exchanges, register

PASSWORD = "Secr3t-Passw0rd"
BASE = "http://127.0.0.1:8080"
FILE_URL = BASE + "/remote.php/dav/files/admin/B%C3%A1o%20c%C3%A1o/a.txt"


@pytest.fixture
def http():
    return HttpClient(make_session("admin", PASSWORD), backoff=0)


def test_vietnamese_folder_names_are_encoded_as_nextcloud_expects():
    url = join_url(BASE + "/remote.php/dav/files/admin/", "Báo cáo/21-KL-TW/Chi bộ A")
    assert url == BASE + exchange("nextcloud-29", "c4").target


def test_decomposed_unicode_is_normalized_before_encoding():
    decomposed = "Chi bo\u0323\u0302 A"  # "bộ" typed as b + o + combining marks (macOS file names)
    assert join_url(BASE + "/", decomposed) == BASE + "/Chi%20b%E1%BB%99%20A"


def test_join_url_keeps_a_trailing_slash_for_collections_and_escapes_reserved_characters():
    assert join_url(BASE + "/cal/", "lich-chi-bo-a/") == BASE + "/cal/lich-chi-bo-a/"
    assert join_url(BASE, "a?b#c%d") == BASE + "/a%3Fb%23c%25d"


def test_session_uses_basic_auth_keep_alive_and_our_user_agent():
    s = make_session("admin", PASSWORD, user_agent="plan-connector/test")
    assert s.auth == ("admin", PASSWORD)
    assert s.headers["User-Agent"] == "plan-connector/test"
    assert s.get_adapter("https://x").poolmanager.connection_pool_kw["maxsize"] >= 8


@responses.activate
def test_explicit_verify_wins_over_requests_ca_bundle(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    responses.add("GET", BASE + "/status.php", body="{}")
    HttpClient(make_session("admin", PASSWORD, verify=False)).request("GET", BASE + "/status.php")
    assert responses.calls[0].request.req_kwargs["verify"] is False


@responses.activate
def test_every_request_has_a_timeout_and_is_counted(http):
    responses.add("GET", BASE + "/status.php", body="{}")
    http.request("GET", BASE + "/status.php")
    http.request("GET", BASE + "/status.php")
    assert http.count == 2
    assert responses.calls[0].request.req_kwargs["timeout"] == (5, 60)


@responses.activate
def test_counter_is_exact_under_parallel_requests(http):
    responses.add("GET", BASE + "/status.php", body="{}")
    threads = [threading.Thread(target=lambda: [http.request("GET", BASE + "/status.php") for _ in range(25)])
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert http.count == 200


@responses.activate
def test_wrong_password_stops_at_once_with_advice_and_no_secret():
    """g2: Nextcloud answers 401 and throttles every further attempt; we send exactly one."""
    ex = exchanges("nextcloud-29", "g2_wrong_password_attempt_1")[0]
    register(responses.mock, ex)
    http = HttpClient(make_session("admin", PASSWORD), backoff=0)
    with pytest.raises(AuthError) as err:
        http.request("PROPFIND", ex.url, headers={"Depth": "0"})
    msg = str(err.value)
    assert len(responses.calls) == 1 and http.count == 1
    assert "app password" in msg and "admin" in msg and "127.0.0.1:8080" in msg
    assert PASSWORD not in msg and "Authorization" not in msg and "\n" not in msg
    assert err.value.exit_code == 3


@pytest.mark.parametrize("status, words", [
    (403, "forbidden (403) during DELETE /remote.php/dav/files/admin/Báo cáo/a.txt"),
    (404, "not found (404) during DELETE /remote.php/dav/files/admin/Báo cáo/a.txt"),
    (409, "conflict (409) during DELETE"),
    (423, "locked (423) during DELETE /remote.php/dav/files/admin/Báo cáo/a.txt"),
    (507, "insufficient storage on the server (507) during DELETE /remote.php/dav/files/admin/Báo cáo/a.txt"),
    (500, "server error (500) during DELETE /remote.php/dav/files/admin/Báo cáo/a.txt"),
])
@responses.activate
def test_each_failure_is_one_clear_line_naming_method_and_path(http, status, words):
    responses.add("DELETE", FILE_URL, status=status)
    with pytest.raises(ServerError) as err:
        http.request("DELETE", FILE_URL)
    assert words in str(err.value)
    assert "\n" not in str(err.value) and PASSWORD not in str(err.value)
    assert err.value.status == status and err.value.method == "DELETE"


@responses.activate
def test_412_is_a_precondition_failure_not_retried(http):
    """c7: a wrong If-Match on an existing file."""
    ex = exchange("nextcloud-29", "c7")
    register(responses.mock, ex)
    with pytest.raises(PreconditionFailed):
        http.request("PUT", ex.url, headers={"If-Match": '"nope"'}, data=b"x")
    assert len(responses.calls) == 1


@responses.activate
def test_sabre_reason_is_appended_to_the_line(http):
    ex = exchange("nextcloud-29", "c1")  # MKCOL with a missing parent
    register(responses.mock, ex)
    with pytest.raises(ServerError) as err:
        http.request("MKCOL", ex.url, expect=(201,))
    assert "conflict (409) during MKCOL /remote.php/dav/files/admin/Báo cáo/21-KL-TW/Chi bộ A" in str(err.value)
    assert "Parent node does not exist" in str(err.value)


@responses.activate
def test_idempotent_request_is_retried_once_on_503(http):
    responses.add("PROPFIND", FILE_URL, status=503)
    responses.add("PROPFIND", FILE_URL, status=207, body="<d:multistatus xmlns:d='DAV:'/>")
    assert http.request("PROPFIND", FILE_URL).status_code == 207
    assert http.count == 2


@responses.activate
def test_second_503_gives_up_after_two_attempts(http):
    responses.add("GET", FILE_URL, status=503)
    with pytest.raises(ServerError, match=r"server error \(503\) during GET"):
        http.request("GET", FILE_URL)
    assert len(responses.calls) == 2


@responses.activate
def test_unconditional_put_and_post_are_never_retried(http):
    responses.add("PUT", FILE_URL, status=502)
    responses.add("POST", FILE_URL, status=502)
    with pytest.raises(ServerError):
        http.request("PUT", FILE_URL, data=b"x")
    with pytest.raises(ServerError):
        http.request("POST", FILE_URL, data=b"x")
    assert len(responses.calls) == 2


@responses.activate
def test_conditional_put_is_retried_after_a_connection_reset(http):
    responses.add("PUT", FILE_URL, body=requests.ConnectionError("Connection reset by peer"))
    responses.add("PUT", FILE_URL, status=201, headers={"ETag": '"abc"'})
    resp = http.request("PUT", FILE_URL, headers={"If-None-Match": "*"}, data=b"x")
    assert resp.status_code == 201 and len(responses.calls) == 2


@responses.activate
def test_timeout_is_unreachable_with_host_seconds_method_and_path(http):
    responses.add("PROPFIND", FILE_URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(UnreachableError) as err:
        http.request("PROPFIND", FILE_URL)
    assert str(err.value) == ("cannot reach 127.0.0.1:8080: timed out after 60 s during PROPFIND "
                              "/remote.php/dav/files/admin/Báo cáo/a.txt")
    assert len(responses.calls) == 1  # a timeout already cost a minute: not retried
    assert err.value.exit_code == 3


@responses.activate
def test_refused_connection_is_unreachable(http):
    responses.add("GET", FILE_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(UnreachableError, match=r"cannot reach 127.0.0.1:8080: connection refused or dropped during GET"):
        http.request("GET", FILE_URL)
    assert len(responses.calls) == 2


def test_real_unreachable_port_gives_one_line_without_credentials():
    s = make_session("admin", PASSWORD)
    http = HttpClient(s, timeout=(0.5, 0.5), backoff=0)
    with pytest.raises(UnreachableError) as err:
        http.request("GET", "http://127.0.0.1:9/remote.php/dav/")
    assert "127.0.0.1:9" in str(err.value) and PASSWORD not in str(err.value)


def test_a_redirect_says_which_address_to_configure():
    import responses as rsps_mod

    from connector.dav.http import HttpClient, make_session
    from connector.errors import ServerError

    with rsps_mod.RequestsMock() as r:
        r.add("PROPFIND", "http://cloud.example.org/remote.php/dav/files/bot/", status=301,
              headers={"Location": "https://cloud.example.org/remote.php/dav/files/bot/"})
        http = HttpClient(make_session("bot", "pw"))
        try:
            http.request("PROPFIND", "http://cloud.example.org/remote.php/dav/files/bot/", expect=(207,))
        except ServerError as exc:
            assert "https://cloud.example.org/remote.php/dav/files/bot/" in str(exc) and "server.url" in str(exc)
            assert exc.status == 301
        else:
            raise AssertionError("a redirect must not pass silently")
