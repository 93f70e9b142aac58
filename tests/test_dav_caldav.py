"""CalDAV against recorded Nextcloud 29 and 34 answers."""
from __future__ import annotations

from pathlib import Path

import defusedxml.ElementTree as ET
import pytest

from connector.dav.caldav import CalDAVClient, normalize_etag
from connector.dav.http import HttpClient, make_session
from connector.dav.xml import parse_multistatus
from connector.errors import PreconditionFailed, RateLimited, ServerError
from ncfixtures import exchange, register

HOME = "/remote.php/dav/calendars/admin/"
CAL = "/remote.php/dav/calendars/admin/lich-chi-bo-a/"
EV = CAL + "ev-21kltw-0001.ics"
TODO = CAL + "todo-21kltw-0001.ics"


def client(version: str, user: str = "admin") -> tuple[CalDAVClient, str]:
    base = exchange(version, "e1").base
    http = HttpClient(make_session(user, "app-password"), backoff=0)
    return CalDAVClient(http, base + f"/remote.php/dav/calendars/{user}/"), base


def test_etags_compare_equal_whatever_the_quoting():
    assert normalize_etag('"abc"') == normalize_etag("abc") == normalize_etag('W/"abc"') == "abc"
    assert normalize_etag(None) is None


def test_create_calendar_sends_name_timezone_and_components(version, rsps):
    cal, base = client(version)
    ex = exchange(version, "e1")
    register(rsps, ex)
    href = cal.create_calendar("lich-chi-bo-a", "Lịch Chi bộ A", description="Lịch sinh hoạt Chi bộ A",
                               color="#0082C9FF")
    assert href == base + CAL
    sent = rsps.calls[0].request
    assert sent.method == "MKCALENDAR"
    body = sent.body.decode()
    for piece in ("<d:displayname>Lịch Chi bộ A</d:displayname>", "TZID:Asia/Ho_Chi_Minh", "TZOFFSETTO:+0700",
                  '<c:comp name="VEVENT"/><c:comp name="VTODO"/>', "#0082C9FF", "Lịch sinh hoạt Chi bộ A"):
        assert piece in body
    assert ET.fromstring(sent.body).tag == "{urn:ietf:params:xml:ns:caldav}mkcalendar"


def test_create_calendar_that_exists_is_fine(rsps):
    cal, base = client("nextcloud-29")
    rsps.add("MKCALENDAR", base + CAL, status=405, body="<d:error xmlns:d='DAV:'/>")
    assert cal.create_calendar("lich-chi-bo-a", "Lịch Chi bộ A") == base + CAL


def test_create_calendar_conflict_is_fine_only_when_the_calendar_is_there(rsps):
    """Radicale answers 409 for an existing calendar; 409 may also mean a missing home."""
    cal, base = client("nextcloud-29")
    rsps.add("MKCALENDAR", base + CAL, status=409)
    register(rsps, exchange("nextcloud-29", "e2"))  # PROPFIND Depth 0: it is a calendar
    assert cal.create_calendar("lich-chi-bo-a", "Lịch Chi bộ A") == base + CAL
    rsps.replace("PROPFIND", base + CAL, status=404)
    with pytest.raises(ServerError, match=r"conflict \(409\) during MKCALENDAR"):
        cal.create_calendar("lich-chi-bo-a", "Lịch Chi bộ A")


def test_calendars_of_a_home_with_a_shared_calendar(version, rsps):
    """e21: unit_a's home lists inbox/outbox/trashbin too; only calendars come back."""
    cal, base = client(version, user="unit_a")
    register(rsps, exchange(version, "e21"))
    cals = cal.calendars()
    assert "lich-chi-bo-a_shared_by_admin" in cals
    assert all(name not in cals for name in ("inbox", "outbox", "trashbin"))
    info = cals["lich-chi-bo-a_shared_by_admin"]
    assert info.href == base + "/remote.php/dav/calendars/unit_a/lich-chi-bo-a_shared_by_admin/"
    assert info.displayname == "Lịch Chi bộ A (admin)"
    assert info.components == frozenset({"VEVENT", "VTODO"})
    assert info.sync_token and info.sync_token.startswith("http://sabre.io/ns/sync/")
    assert rsps.calls[0].request.headers["Depth"] == "1"


def test_calendar_properties_publish_url_and_group_invites(rsps):
    """e26 (NC 29): after sharing with chi-bo-a and publishing."""
    cal, base = client("nextcloud-29")
    register(rsps, exchange("nextcloud-29", "e26"), url=base + HOME)
    info = cal.calendars()["lich-chi-bo-a"]
    assert info.href == base + CAL
    assert info.ctag == "http://sabre.io/ns/sync/5" and info.sync_token == "http://sabre.io/ns/sync/5"
    assert info.publish_url == base + "/remote.php/dav/public-calendars/FS7nfRAYWp5jSDma"
    assert ("principal:principals/groups/chi-bo-a", "read") in info.invites
    assert ("principal:principals/users/admin", "read-write") in info.invites
    body = rsps.calls[0].request.body.decode()
    for prop in ("sync-token", "supported-calendar-component-set", "publish-url", "invite"):
        assert prop in body
    assert "getctag" not in body and len(rsps.calls) == 1  # a sync-token for each: no ctag asked for


def test_a_server_naming_no_sync_token_is_asked_for_ctags(rsps):
    """e26 with its sync-token taken out: a second PROPFIND asks for the ctags."""
    import re

    cal, base = client("nextcloud-29")
    ex = exchange("nextcloud-29", "e26")
    recorded = register(rsps, ex, url=base + HOME)
    recorded.body = re.sub(rb"<d:sync-token>[^<]*</d:sync-token>", b"", recorded.body)
    info = cal.calendars()["lich-chi-bo-a"]
    assert info.sync_token is None and info.ctag == "http://sabre.io/ns/sync/5"
    assert [("getctag" in c.request.body.decode()) for c in rsps.calls] == [False, True]


def test_unpublished_unshared_calendar(rsps):
    """e2: publish-url in a 404 propstat, empty invite."""
    cal, base = client("nextcloud-29")
    register(rsps, exchange("nextcloud-29", "e2"), url=base + HOME)
    info = cal.calendars()["lich-chi-bo-a"]
    assert info.publish_url is None and info.invites == []


def test_initial_sync_lists_every_item_with_its_etag(version, rsps):
    cal, base = client(version)
    ex = exchange(version, "e6")
    register(rsps, ex)
    listing = cal.list_items(base + CAL)
    assert listing.full is True
    assert set(listing.items) == {base + EV, base + TODO}
    assert all('"' not in etag for etag in listing.items.values())
    assert listing.sync_token == parse_multistatus(ex.response_body).sync_token
    assert b"<d:sync-token/>" in rsps.calls[0].request.body


def test_incremental_sync_returns_only_the_change(version, rsps):
    cal, base = client(version)
    ex = exchange(version, "e10")
    token = ex.request_body.decode().split("<d:sync-token>")[1].split("<")[0]
    register(rsps, ex)
    listing = cal.list_items(base + CAL, sync_token=token)
    assert listing.full is False
    assert list(listing.items) == [base + TODO] and listing.deleted == set()
    assert f"<d:sync-token>{token}</d:sync-token>".encode() in rsps.calls[0].request.body


def test_deleted_item_comes_back_as_deleted(version, rsps):
    cal, base = client(version)
    ex = exchange(version, "e15")
    register(rsps, ex)
    listing = cal.list_items(base + CAL, sync_token="http://sabre.io/ns/sync/4")
    assert listing.deleted == {base + EV} and listing.items == {}


@pytest.mark.parametrize("version_, key", [("nextcloud-29", "e32"), ("nextcloud-34", "e32"),
                                           ("nextcloud-29", "e16"), ("nextcloud-34", "e16")])
def test_invalid_sync_token_falls_back_to_a_full_listing(version_, key, rsps):
    """e32: garbage token -> 403 valid-sync-token; e16: unknown (future) token -> 207 with nothing, new token."""
    cal, base = client(version_)
    bad = exchange(version_, key)
    full = exchange(version_, "e6")
    register(rsps, bad)
    register(rsps, full)
    token = bad.request_body.decode().split("<d:sync-token>")[1].split("<")[0]
    listing = cal.list_items(base + CAL, sync_token=token)
    assert listing.full is True
    assert set(listing.items) == {base + EV, base + TODO}
    assert len(rsps.calls) == 2 and b"<d:sync-token/>" in rsps.calls[1].request.body


@pytest.mark.parametrize("status, body", [(412, b""), (418, b""),
                                          (409, b"<d:error xmlns:d='DAV:'><d:valid-sync-token/></d:error>")])
def test_other_servers_ways_of_rejecting_a_token_also_fall_back(status, body, rsps):
    cal, base = client("nextcloud-29")
    rsps.add("REPORT", base + CAL, status=status, body=body)
    register(rsps, exchange("nextcloud-29", "e6"))
    assert cal.list_items(base + CAL, sync_token="old").full is True


@pytest.mark.parametrize("status", [501, 405, 403])
def test_server_without_sync_collection_is_listed_with_propfind(status, rsps):
    cal, base = client("nextcloud-29")
    rsps.add("REPORT", base + CAL, status=status, body=b"<d:error xmlns:d='DAV:'/>")
    rsps.add("PROPFIND", base + CAL, status=207, body=(
        '<d:multistatus xmlns:d="DAV:">'
        f'<d:response><d:href>{CAL}</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype>'
        '<d:getetag>"c"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>'
        f'<d:response><d:href>{CAL}x%40y.ics</d:href><d:propstat><d:prop><d:resourcetype/>'
        '<d:getetag>"e1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>'
        "</d:multistatus>"))
    listing = cal.list_items(base + CAL)
    assert listing.full is True and listing.sync_token is None
    assert listing.items == {cal.item_href(base + CAL, "x@y"): "e1"}


def test_multiget_returns_data_and_silently_omits_missing(version, rsps):
    cal, base = client(version)
    register(rsps, exchange(version, "e13"))
    got = cal.fetch(base + CAL, [base + EV, base + TODO, base + CAL + "missing.ics"])
    assert set(got) == {base + EV, base + TODO}
    etag, ics = got[base + TODO]
    assert "UID:todo-21kltw-0001" in ics and '"' not in etag
    assert rsps.calls[0].request.body.decode().count("<d:href>") == 3


def test_multiget_batches(rsps):
    cal, base = client("nextcloud-29")
    register(rsps, exchange("nextcloud-29", "e13"))
    cal.fetch(base + CAL, [base + CAL + f"{i}.ics" for i in range(5)], batch=2)
    assert len(rsps.calls) == 3


def test_create_put_sends_if_none_match_and_returns_the_etag_the_listing_will_show(version, rsps):
    cal, base = client(version)
    put = exchange(version, "e3")
    register(rsps, put)
    register(rsps, exchange(version, "e6"))
    etag = cal.put(cal.item_href(base + CAL, "ev-21kltw-0001"), put.request_body.decode(), create=True)
    sent = rsps.calls[0].request
    assert sent.headers["If-None-Match"] == "*" and "If-Match" not in sent.headers
    assert sent.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert etag == cal.list_items(base + CAL).items[base + EV]


def test_creating_an_existing_item_is_a_precondition_failure(version, rsps):
    cal, base = client(version)
    ex = exchange(version, "e5")
    register(rsps, ex)
    with pytest.raises(PreconditionFailed):
        cal.put(base + TODO, ex.request_body.decode(), create=True)


def test_stale_etag_is_a_precondition_failure(version, rsps):
    cal, base = client(version)
    ex = exchange(version, "e7")
    register(rsps, ex)
    with pytest.raises(PreconditionFailed) as err:
        cal.put(base + TODO, ex.request_body.decode(), etag="deadbeef")
    assert rsps.calls[0].request.headers["If-Match"] == '"deadbeef"'
    assert err.value.status == 412


def test_update_with_the_current_etag_returns_the_new_one(version, rsps):
    cal, base = client(version)
    ex = exchange(version, "e8")
    register(rsps, ex)
    old = ex.request_headers["If-Match"]
    new = cal.put(base + TODO, ex.request_body.decode(), etag=normalize_etag(old))
    assert rsps.calls[0].request.headers["If-Match"] == old
    assert new == normalize_etag(ex.header("ETag")) and new != normalize_etag(old)


def test_delete_with_etag(version, rsps):
    cal, base = client(version)
    ex = exchange(version, "e14")
    register(rsps, ex)
    cal.delete(base + EV, etag=normalize_etag(ex.request_headers["If-Match"]))
    assert rsps.calls[0].request.headers["If-Match"] == ex.request_headers["If-Match"]


def test_deleting_what_is_already_gone_is_not_an_error(version, rsps):
    cal, base = client(version)
    register(rsps, exchange(version, "e17"), method="DELETE")
    cal.delete(base + EV)
    assert len(rsps.calls) == 1


def test_writing_into_a_read_only_shared_calendar_fails_clearly(version, rsps):
    """e23: Nextcloud hides the item with 404 for a read-only sharee."""
    cal, base = client(version, user="unit_a")
    ex = exchange(version, "e23")
    register(rsps, ex)
    with pytest.raises(ServerError, match=r"not found \(404\) during PUT /remote.php/dav/calendars/unit_a/"):
        cal.put(ex.url, ex.request_body.decode(), create=True)


def test_item_href_is_calendar_plus_uid_dot_ics():
    cal, base = client("nextcloud-29")
    assert cal.item_href(base + CAL, "todo-21kltw-0001") == base + TODO
    assert cal.item_href(base + CAL.rstrip("/"), "a b") == base + CAL + "a%20b.ics"


# -- Nextcloud's trash bin and calendar limits (answers recorded on a live Nextcloud 34.0.1) --------------

HOME_WITH_TRASH = (Path(__file__).parent / "data" / "nextcloud-34" / "calendar-home-with-trash.xml").read_bytes()
TOO_MANY = b"""<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:o="http://owncloud.org/ns">
  <s:exception>OCA\\DAV\\Connector\\Sabre\\Exception\\TooManyRequests</s:exception>
  <s:message>Too many calendars created</s:message>
  <o:hint xmlns:o="o:">too many requests</o:hint>
</d:error>
"""
LIMIT_REACHED = b"""<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">
  <s:exception>Sabre\\DAV\\Exception\\Forbidden</s:exception>
  <s:message>Calendar limit reached</s:message>
</d:error>
"""


def bot_client() -> tuple[CalDAVClient, str]:
    base = "http://127.0.0.1:8473"
    return CalDAVClient(HttpClient(make_session("bot", "app-password"), backoff=0),
                        base + "/remote.php/dav/calendars/bot/"), base


def test_a_calendar_in_the_trash_bin_is_listed_apart_from_the_live_ones(rsps):
    cal, base = bot_client()
    rsps.add("PROPFIND", base + "/remote.php/dav/calendars/bot/", body=HOME_WITH_TRASH, status=207)
    home = cal.calendars()
    assert "pc-21-kl-tw-cb-a" not in home  # not usable: writes into it succeed and nobody sees them
    trashed = home.deleted["pc-21-kl-tw-cb-a"]
    assert trashed.deleted_at == "2026-11-26T13:43:55+00:00"
    assert trashed.href == base + "/remote.php/dav/calendars/bot/pc-21-kl-tw-cb-a/"
    assert set(home) == {"personal", "contact_birthdays", "pc-21-kl-tw-han", "scal_shared_by_admin"}
    assert home["scal_shared_by_admin"].owner == "principals/users/admin"
    assert home["pc-21-kl-tw-han"].owner == cal.principal == "principals/users/bot"
    assert home.subscriptions == 1 and "ngay-le" not in home
    # What Nextcloud counts against the limit: own calendars (trash bin too, no birthdays) + subscriptions.
    assert home.owned_count(cal.principal) == 4
    assert b"deleted-at" in rsps.calls[0].request.body and b"owner-principal" in rsps.calls[0].request.body


def test_restoring_a_calendar_moves_it_to_the_trash_bins_restore_collection(rsps):
    cal, base = bot_client()
    rsps.add("MOVE", base + "/remote.php/dav/calendars/bot/pc-21-kl-tw-han/", status=201)
    assert cal.restore_calendar("pc-21-kl-tw-han") == base + "/remote.php/dav/calendars/bot/pc-21-kl-tw-han/"
    assert (rsps.calls[0].request.headers["Destination"]
            == base + "/remote.php/dav/calendars/bot/trashbin/restore/pc-21-kl-tw-han")


def test_a_calendar_is_removed_for_good_only_when_asked(rsps):
    cal, base = bot_client()
    href = base + "/remote.php/dav/calendars/bot/pc-21-kl-tw-cb-a/"
    rsps.add("DELETE", href, status=204)
    rsps.add("DELETE", href, status=404)  # already gone: fine
    cal.delete_calendar(href)
    cal.delete_calendar(href, permanently=True)
    assert "X-NC-CalDAV-No-Trashbin" not in rsps.calls[0].request.headers
    assert rsps.calls[1].request.headers["X-NC-CalDAV-No-Trashbin"] == "1"


def test_renaming_a_calendar_is_one_proppatch(rsps):
    cal, base = bot_client()
    href = base + "/remote.php/dav/calendars/bot/pc-21-kl-tw-cb-a/"
    rsps.add("PROPPATCH", href, status=207, body=b'<d:multistatus xmlns:d="DAV:"/>')
    cal.set_displayname(href, "Nhiệm vụ – Chi bộ <Mới>")
    body = rsps.calls[0].request.body.decode()
    assert "<d:displayname>Nhiệm vụ – Chi bộ &lt;Mới&gt;</d:displayname>" in body


@pytest.mark.parametrize("status, body, message", [
    (429, TOO_MANY, "Too many calendars created"),
    (403, LIMIT_REACHED, "Calendar limit reached"),
])
def test_nextclouds_calendar_limits_are_rate_limited_errors(status, body, message, rsps):
    cal, base = bot_client()
    rsps.add("MKCALENDAR", base + "/remote.php/dav/calendars/bot/pc-21-kl-tw-cb-b/", status=status, body=body,
             content_type="application/xml; charset=utf-8")
    with pytest.raises(RateLimited) as err:
        cal.create_calendar("pc-21-kl-tw-cb-b", "Nhiệm vụ – Chi bộ B")
    assert err.value.status == status and err.value.retry_after is None
    assert message in str(err.value) and "MKCALENDAR" in str(err.value)
    assert len(rsps.calls) == 1  # not retried: the limit holds for an hour


# -- one spelling of every URL; no unconditional writes ---------------------------------------------

def test_a_home_with_an_at_sign_is_spelled_one_way_whatever_the_config_says():
    from connector.dav.caldav import item_key

    http = HttpClient(make_session("bot@example.org", "pw"), backoff=0)
    raw = CalDAVClient(http, "https://dav.example.vn/bot@example.org")
    encoded = CalDAVClient(http, "https://dav.example.vn/bot%40example.org/")
    assert raw.home_url == encoded.home_url == "https://dav.example.vn/bot%40example.org/"
    # The key is the decoded NFC path, whatever the spelling (or the host and port).
    assert (item_key("https://dav.example.vn/bot%40example.org/c/x.ics") == item_key("/bot@example.org/c/x.ics")
            == item_key("http://127.0.0.1:8080/bot%40example.org/c/x.ics") == "/bot@example.org/c/x.ics")
    assert item_key("/b%C3%A1o/x.ics") == item_key("/ba%CC%81o/x.ics") == "/b\u00e1o/x.ics"  # NFC, NFD alike
    # A key (decoded path) or any spelling of a URL gives the same canonical URL.
    assert raw.url("/bot@example.org/c/x.ics") == raw.url("https://dav.example.vn/bot@example.org/c/x.ics") \
        == "https://dav.example.vn/bot%40example.org/c/x.ics"


def test_an_update_without_an_etag_is_refused_before_anything_is_sent(rsps):
    cal, base = client("nextcloud-34")
    with pytest.raises(ValueError, match="unconditional update"):
        cal.put(base + EV, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    assert len(rsps.calls) == 0
