"""Sharing and publishing calendars on Nextcloud, against recorded 29 and 34 answers."""
from __future__ import annotations

import defusedxml.ElementTree as ET
import pytest

from connector.dav.caldav import CalDAVClient
from connector.dav.http import HttpClient, make_session
from connector.errors import RateLimited, ServerError
from connector.nextcloud.calendars import (publish_calendar, share_batches, share_calendar, shared_groups,
                                         unshare_calendar, update_shares)
from ncfixtures import exchange, register

CAL = "/remote.php/dav/calendars/admin/lich-chi-bo-a/"
OC = "{http://owncloud.org/ns}"
D = "{DAV:}"


def http() -> HttpClient:
    return HttpClient(make_session("admin", "app-password"), backoff=0)


def test_share_with_a_group_uses_the_owncloud_form_nextcloud_accepts(version, rsps):
    ex = exchange(version, "e19")
    register(rsps, ex)
    share_calendar(http(), ex.url, ["chi-bo-a"], summary="Lịch Chi bộ A")
    sent = ET.fromstring(rsps.calls[0].request.body)
    recorded = ET.fromstring(ex.request_body)
    assert sent.tag == recorded.tag == OC + "share"
    assert [s.findtext(D + "href") for s in sent.findall(OC + "set")] == ["principal:principals/groups/chi-bo-a"]
    assert sent.find(f"{OC}set/{OC}read-write") is None  # read-only, as in the recording
    assert sent.findtext(f"{OC}set/{OC}summary") == "Lịch Chi bộ A"
    assert b"calendarserver.org" not in rsps.calls[0].request.body


def test_the_calendarserver_form_is_what_nextcloud_refuses(version):
    """e18: why we never send <cs:share>: Nextcloud answers 501."""
    ex = exchange(version, "e18")
    assert ex.status == 501 and b"cs:share" in ex.request_body


def test_several_groups_read_write_in_one_request(rsps):
    url = exchange("nextcloud-29", "e19").url
    rsps.add("POST", url, status=200)
    share_calendar(http(), url, ["chi-bo-a", "chi-bo-b"], read_write=True)
    sent = ET.fromstring(rsps.calls[0].request.body)
    sets = sent.findall(OC + "set")
    assert [s.findtext(D + "href") for s in sets] == ["principal:principals/groups/chi-bo-a",
                                                      "principal:principals/groups/chi-bo-b"]
    assert all(s.find(OC + "read-write") is not None for s in sets)
    assert len(rsps.calls) == 1


def test_unshare_removes_groups(rsps):
    url = exchange("nextcloud-29", "e19").url
    rsps.add("POST", url, status=200)
    unshare_calendar(http(), url, ["chi-bo-a"])
    sent = ET.fromstring(rsps.calls[0].request.body)
    assert sent.tag == OC + "share"
    assert sent.findtext(f"{OC}remove/{D}href") == "principal:principals/groups/chi-bo-a"


def test_a_refused_share_is_a_clear_error(rsps):
    ex = exchange("nextcloud-29", "e18")
    register(rsps, ex)
    with pytest.raises(ServerError, match=r"not implemented \(501\) during POST /remote.php/dav/calendars/admin/lich-chi-bo-a/"):
        share_calendar(http(), ex.url, ["chi-bo-a"])


def test_publish(version, rsps):
    ex = exchange(version, "e25")
    register(rsps, ex)
    publish_calendar(http(), ex.url)
    assert ET.fromstring(rsps.calls[0].request.body).tag == "{http://calendarserver.org/ns/}publish-calendar"


@pytest.mark.parametrize("version_, key", [("nextcloud-29", "e20"), ("nextcloud-34", "e20"), ("nextcloud-29", "e26")])
def test_shared_groups_read_from_the_calendar_listing(version_, key, rsps):
    """e20: after sharing with chi-bo-a (read-only); e26 also lists the owner itself."""
    ex = exchange(version_, key)
    register(rsps, ex, url=ex.base + "/remote.php/dav/calendars/admin/")
    info = CalDAVClient(http(), ex.base + "/remote.php/dav/calendars/admin/").calendars()["lich-chi-bo-a"]
    assert shared_groups(info) == {"chi-bo-a": "read"}  # the owner's own entry is not a group


# -- Nextcloud 34's sharing limits (answers as the live 34.0.1 of ../shared/nextcloud gave them) ---------

TOO_MANY_ELEMENTS = b"""<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">
  <s:exception>Sabre\\DAV\\Exception\\BadRequest</s:exception>
  <s:message>{http://owncloud.org/ns}share is limited to 10 set or remove elements</s:message>
</d:error>
"""
TOO_MANY_REQUESTS = b"""<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:o="http://owncloud.org/ns">
  <s:exception>OCA\\DAV\\Connector\\Sabre\\Exception\\TooManyRequests</s:exception>
  <s:message>Too many addressbook or calendar share requests</s:message>
  <o:hint xmlns:o="o:">too many requests</o:hint>
</d:error>
"""


def sent_groups(request) -> tuple[list[str], list[str]]:
    body = ET.fromstring(request.body)
    return ([s.findtext(D + "href").rsplit("/", 1)[1] for s in body.findall(OC + "set")],
            [r.findtext(D + "href").rsplit("/", 1)[1] for r in body.findall(OC + "remove")])


def test_twenty_three_groups_go_out_ten_at_a_time(rsps):
    """Nextcloud 34 refuses a share request with more than 10 elements; 23 unit groups take 3 requests."""
    url = exchange("nextcloud-34", "e19").url
    rsps.add("POST", url, status=200)
    groups = [f"chi-bo-{i:02d}" for i in range(1, 24)]
    share_calendar(http(), url, groups, summary="Lịch")
    batches = [sent_groups(c.request)[0] for c in rsps.calls]
    assert [len(b) for b in batches] == [10, 10, 3]
    assert sum(batches, []) == groups


def test_what_nextcloud_34_says_to_eleven_groups_is_why_we_batch(rsps):
    url = exchange("nextcloud-34", "e19").url
    rsps.add("POST", url, status=400, body=TOO_MANY_ELEMENTS, content_type="application/xml; charset=utf-8")
    with pytest.raises(ServerError, match="limited to 10 set or remove elements"):
        # One request by hand, the way the connector sent it before batching.
        http().request("POST", url, data=b"<oc:share/>", expect=(200,))


def test_withdrawals_and_additions_share_the_batches_removals_first(rsps):
    url = exchange("nextcloud-34", "e19").url
    rsps.add("POST", url, status=200)
    seen = []
    update_shares(http(), url, add=[f"new-{i}" for i in range(8)], remove=[f"old-{i}" for i in range(4)],
                  on_batch=lambda added, removed: seen.append((len(added), len(removed))))
    assert [tuple(map(len, sent_groups(c.request))) for c in rsps.calls] == [(6, 4), (2, 0)]
    assert seen == [(6, 4), (2, 0)]
    assert share_batches(["a"], []) == [(["a"], [])] and share_batches() == []


def test_the_share_request_limit_stops_the_batches_and_says_what_went_through(rsps):
    url = exchange("nextcloud-34", "e19").url
    rsps.add("POST", url, status=200)
    rsps.add("POST", url, status=429, body=TOO_MANY_REQUESTS, content_type="application/xml; charset=utf-8")
    went = []
    with pytest.raises(ServerError) as err:
        update_shares(http(), url, add=[f"g{i}" for i in range(25)], on_batch=lambda a, r: went.extend(a))
    assert err.value.status == 429 and isinstance(err.value, RateLimited)
    assert "Too many addressbook or calendar share requests" in str(err.value)
    assert went == [f"g{i}" for i in range(10)] and len(rsps.calls) == 2  # the third batch is never sent
