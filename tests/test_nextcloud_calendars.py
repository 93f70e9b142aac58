"""Sharing and publishing calendars on Nextcloud, against recorded 29 and 34 answers."""
from __future__ import annotations

import defusedxml.ElementTree as ET
import pytest

from connector.dav.caldav import CalDAVClient
from connector.dav.http import HttpClient, make_session
from connector.errors import ServerError
from connector.nextcloud.calendars import publish_calendar, share_calendar, shared_groups, unshare_calendar
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
