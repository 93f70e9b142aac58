"""The HTTP edge: one Session, counted requests, one clear line per failure, never a password."""
from __future__ import annotations

import threading

import pytest
import requests
import responses

from connector.dav.http import HttpClient, RetryPolicy, join_url, make_session
from connector.errors import AuthError, PreconditionFailed, RateLimited, ServerError, UnreachableError
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
def test_idempotent_request_is_retried_on_503(http):
    responses.add("PROPFIND", FILE_URL, status=503)
    responses.add("PROPFIND", FILE_URL, status=207, body="<d:multistatus xmlns:d='DAV:'/>")
    assert http.request("PROPFIND", FILE_URL).status_code == 207
    assert http.count == 2 and http.retries == 1


@responses.activate
def test_a_server_that_stays_busy_is_given_up_after_five_attempts(http):
    responses.add("GET", FILE_URL, status=503)
    with pytest.raises(ServerError, match=r"server error \(503\) during GET"):
        http.request("GET", FILE_URL)
    assert len(responses.calls) == 5


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
    with pytest.raises(UnreachableError, match=r"cannot reach 127.0.0.1:8080: connection dropped during GET"):
        http.request("GET", FILE_URL)
    assert len(responses.calls) == 2


def test_unreachable_names_the_real_cause_dns_or_refused():
    """A typo in the host name reads as DNS, a server that is down as refused: not one vague line for both."""
    client = HttpClient(make_session("u", "p"), backoff=0)
    with pytest.raises(UnreachableError, match=r"no-such-host\.invalid: the host name does not resolve \(DNS\)"):
        client.request("GET", "http://no-such-host.invalid/status.php")
    with pytest.raises(UnreachableError, match=r"connection refused: nothing listens on that port"):
        client.request("GET", "http://127.0.0.1:9/status.php")


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


# --- a busy server: retries, backoff, Retry-After, rate limits ---------------------------------

# What Nextcloud 34 on SQLite answered to one of four concurrent calendar PUTs (captured live, nc-server).
LOCKED_HEADERS = {"Content-Type": "application/xml; charset=utf-8", "X-Powered-By": "PHP/8.2.36"}
LOCKED_BODY = """<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">
  <s:exception>OC\\DB\\Exceptions\\DbalException</s:exception>
  <s:message>An exception occurred while executing a query: SQLSTATE[HY000]: General error: 5 database is locked</s:message>
</d:error>
"""
# Nextcloud 34's answer to one new calendar too many in an hour (captured live): no Retry-After.
TOO_MANY_BODY = """<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:o="http://owncloud.org/ns">
  <s:exception>OCA\\DAV\\Connector\\Sabre\\Exception\\TooManyRequests</s:exception>
  <s:message>Too many calendars created</s:message>
  <o:hint xmlns:o="o:">too many requests</o:hint>
</d:error>
"""
ITEM_URL = BASE + "/remote.php/dav/calendars/admin/pc-21-kl-tw-han/pc-21-kl-tw-t01-m1.ics"


@pytest.fixture
def waits():
    """The client's sleeps, recorded instead of slept."""
    return []


@pytest.fixture
def patient(waits):
    """A client with the default backoff (0.5 s) whose sleeps are recorded, jitter fixed at its middle."""
    return HttpClient(make_session("admin", PASSWORD), sleep=waits.append, jitter=lambda: 0.5)


@responses.activate
def test_a_write_refused_because_the_database_was_locked_is_retried_and_succeeds(patient, waits, caplog):
    responses.add("PUT", ITEM_URL, status=500, body=LOCKED_BODY, headers=LOCKED_HEADERS)
    responses.add("PUT", ITEM_URL, status=500, body=LOCKED_BODY, headers=LOCKED_HEADERS)
    responses.add("PUT", ITEM_URL, status=201, headers={"ETag": '"e1"'})
    with caplog.at_level("INFO", logger="connector.dav.http"):
        resp = patient.request("PUT", ITEM_URL, headers={"If-None-Match": "*"}, data=b"BEGIN:VCALENDAR")
    assert resp.status_code == 201 and len(responses.calls) == 3
    assert (patient.count, patient.retries, patient.busy) == (3, 2, 2)
    # A lock clears fast: 0.5 s x 0.2, then x 3 each time; 3/4 of each step with the jitter at its middle.
    assert waits == pytest.approx([0.075, 0.225])
    retried = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retried) == 2
    assert "PUT /remote.php/dav/calendars/admin/pc-21-kl-tw-han/pc-21-kl-tw-t01-m1.ics" in retried[0]
    assert "database is locked" in retried[0]
    assert all(PASSWORD not in m and "Authorization" not in m for m in retried)


@responses.activate
def test_a_lock_that_never_clears_is_one_failure_after_five_tries_within_the_wait_bound(patient, waits):
    responses.add("DELETE", ITEM_URL, status=500, body=LOCKED_BODY, headers=LOCKED_HEADERS)
    with pytest.raises(ServerError) as err:
        patient.request("DELETE", ITEM_URL, headers={"If-Match": '"e1"'})
    assert len(responses.calls) == 5 and len(waits) == 4
    assert sum(waits) <= patient.retry.max_wait
    assert err.value.status == 500 and "database is locked" in str(err.value)
    assert str(err.value).endswith(f"; tried 5 times over {sum(waits):.1f} s") and "\n" not in str(err.value)


@responses.activate
def test_an_ordinary_server_error_is_not_retried(patient):
    responses.add("PUT", ITEM_URL, status=500, body=LOCKED_BODY.replace("database is locked", "disk I/O error"),
                  headers=LOCKED_HEADERS)
    with pytest.raises(ServerError):
        patient.request("PUT", ITEM_URL, headers={"If-Match": '"e1"'}, data=b"x")
    assert len(responses.calls) == 1


@pytest.mark.parametrize("body", [
    "SQLSTATE[40001]: Serialization failure: 1213 Deadlock found when trying to get lock; try restarting transaction",
    "SQLSTATE[40P01]: Deadlock detected",
    "SQLSTATE[HY000]: General error: 1205 Lock wait timeout exceeded; try restarting transaction",
])
@responses.activate
def test_mysql_and_postgresql_deadlocks_count_as_busy_too(patient, body):
    responses.add("PROPFIND", FILE_URL, status=500, body=LOCKED_BODY.replace(
        "SQLSTATE[HY000]: General error: 5 database is locked", body))
    responses.add("PROPFIND", FILE_URL, status=207, body="<d:multistatus xmlns:d='DAV:'/>")
    assert patient.request("PROPFIND", FILE_URL).status_code == 207


@responses.activate
def test_a_429_with_a_short_retry_after_is_waited_for_as_asked(patient, waits):
    responses.add("REPORT", ITEM_URL, status=429, headers={"Retry-After": "7"})
    responses.add("REPORT", ITEM_URL, status=207, body="<d:multistatus xmlns:d='DAV:'/>")
    assert patient.request("REPORT", ITEM_URL).status_code == 207
    assert waits == [7.0] and len(responses.calls) == 2


@responses.activate
def test_a_retry_after_given_as_a_date_is_honoured(patient, waits):
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=12), usegmt=True)
    responses.add("GET", FILE_URL, status=503, headers={"Retry-After": when})
    responses.add("GET", FILE_URL, status=200, body="x")
    assert patient.request("GET", FILE_URL).status_code == 200
    assert len(waits) == 1 and 9 <= waits[0] <= 12


@responses.activate
def test_a_429_without_retry_after_is_rate_limited_at_once_for_the_caller_to_defer(patient, waits):
    """Nextcloud's hourly quotas (new calendars, shares) name no time: waiting here would hold the run."""
    url = BASE + "/remote.php/dav/calendars/admin/pc-21-kl-tw-cb-011/"
    responses.add("MKCALENDAR", url, status=429, body=TOO_MANY_BODY, headers=LOCKED_HEADERS)
    with pytest.raises(RateLimited) as err:
        patient.request("MKCALENDAR", url, expect=(201, 405))
    assert len(responses.calls) == 1 and waits == []
    assert err.value.retry_after is None and err.value.status == 429
    assert "too many requests (429) during MKCALENDAR" in str(err.value)
    assert "Too many calendars created" in str(err.value) and "\n" not in str(err.value)


@responses.activate
def test_a_429_asking_for_a_long_wait_is_rate_limited_with_that_wait(patient, waits):
    responses.add("PROPFIND", FILE_URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as err:
        patient.request("PROPFIND", FILE_URL)
    assert err.value.retry_after == 3600 and len(responses.calls) == 1 and waits == []


@responses.activate
def test_a_429_on_a_post_is_never_retried_even_with_a_short_retry_after(patient, waits):
    url = BASE + "/ocs/v2.php/apps/files_sharing/api/v1/shares"
    responses.add("POST", url, status=429, headers={"Retry-After": "2"})
    with pytest.raises(RateLimited) as err:
        patient.request("POST", url, data={"path": "/Báo cáo"})
    assert err.value.retry_after == 2 and len(responses.calls) == 1 and waits == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_a_post_is_never_retried_however_busy_the_server(patient, waits, status):
    """An OCS POST that failed may still have created the share: look before creating again."""
    url = BASE + "/ocs/v2.php/cloud/groups"
    responses.add("POST", url, status=status, body=LOCKED_BODY)
    with pytest.raises(ServerError):
        patient.request("POST", url, data={"groupid": "chi-bo-a"})
    assert len(responses.calls) == 1 and waits == []


@responses.activate
def test_a_401_is_never_retried_and_the_client_sends_nothing_more(patient, waits):
    """After a failed login every further request would be another one (brute-force delays for everyone)."""
    responses.add("PUT", ITEM_URL, status=401)
    with pytest.raises(AuthError):
        patient.request("PUT", ITEM_URL, headers={"If-Match": '"e1"'}, data=b"x")
    with pytest.raises(AuthError, match="app password"):
        patient.request("PROPFIND", FILE_URL)
    assert len(responses.calls) == 1 and patient.count == 1 and waits == []


@responses.activate
def test_a_403_is_never_retried(patient, waits):
    responses.add("PUT", ITEM_URL, status=403, body=LOCKED_BODY.replace("database is locked", "deadlock"))
    with pytest.raises(ServerError, match="forbidden"):
        patient.request("PUT", ITEM_URL, headers={"If-Match": '"e1"'}, data=b"x")
    assert len(responses.calls) == 1 and waits == []


@responses.activate
def test_a_mkcol_is_retried_and_a_repeat_that_finds_the_folder_is_fine(patient):
    url = BASE + "/remote.php/dav/files/admin/B%C3%A1o%20c%C3%A1o/"
    responses.add("MKCOL", url, status=503)
    responses.add("MKCOL", url, status=405)
    assert patient.request("MKCOL", url, expect=(201, 405)).status_code == 405


@responses.activate
def test_tls_failures_are_not_retried(patient):
    responses.add("GET", FILE_URL, body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(UnreachableError, match="TLS certificate verification failed"):
        patient.request("GET", FILE_URL)
    assert len(responses.calls) == 1


@responses.activate
def test_dropped_connections_are_retried_with_backoff(patient, waits):
    for _ in range(3):
        responses.add("PROPFIND", FILE_URL, body=requests.ConnectionError("Connection aborted: RemoteDisconnected"))
    responses.add("PROPFIND", FILE_URL, status=207, body="<d:multistatus xmlns:d='DAV:'/>")
    assert patient.request("PROPFIND", FILE_URL).status_code == 207
    assert waits == pytest.approx([0.375, 1.125, 3.375])


def test_backoff_has_jitter_and_a_cap():
    http = HttpClient(make_session("admin", PASSWORD), retry=RetryPolicy(cap=4.0), jitter=lambda: 1.0)
    assert [http._backoff(n) for n in range(1, 6)] == pytest.approx([0.5, 1.5, 4.0, 4.0, 4.0])
    low = HttpClient(make_session("admin", PASSWORD), jitter=lambda: 0.0)
    assert low._backoff(2) == pytest.approx(0.75)  # half the step at least: a herd of writers spreads out
