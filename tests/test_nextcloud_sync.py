"""The Nextcloud-only steps of a sync: groups, report-folder shares, file drops, calendar sharing and
publishing, replayed against the recorded answers of real Nextcloud 29 and 34 servers.

The story: the coordinator syncs the plan "21-KL-TW"; unit "Chi bộ A" (group chi-bo-a) gets its report
folder shared read + create, and (having no accounts for everyone) an upload-only link; the deadline
calendar is shared read-only with the unit groups and published. A second run changes nothing.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from datetime import date
from urllib.parse import parse_qs, urlsplit

import defusedxml.ElementTree as ET
from responses import matchers

from connector.dav.caldav import CalDAVClient
from connector.dav.http import HttpClient, make_session
from connector.models import Unit
from connector.nextcloud.ocs import OCSClient
from connector.render.ical import DesiredCalendar
from connector.sync import shares
from connector.sync.calendars import SyncReport
from ncfixtures import Exchange, as_response, exchange, register

ROOT = "Báo cáo/21-KL-TW"
UNIT_FOLDER = "Chi bộ A"
SHARES = "/ocs/v2.php/apps/files_sharing/api/v1/shares"
NOTE = "Nộp báo cáo vào đây"  # the note the recordings' group share (d1) carries
EXPIRE = date(2027, 12, 31)
HOME = "/remote.php/dav/calendars/admin/"
CAL = HOME + "lich-chi-bo-a/"
OC = "{http://owncloud.org/ns}"
D = "{DAV:}"

# The link fixture that creates the file drop: 29 records it with all parameters in d2 (answering 21),
# 34 in d2b (answering 4 at once).
LINK_CREATE = {"nextcloud-29": "d2", "nextcloud-34": "d2b"}


def base_of(version: str) -> str:
    return exchange(version, "d1").base


def ocs_client(version: str) -> tuple[OCSClient, HttpClient]:
    http = HttpClient(make_session("admin", "test-app-pass"), backoff=0)
    return OCSClient(http, base_of(version)), http


def unit_a(file_drop: bool = True) -> Unit:
    return Unit(id="cb-a", name="Chi bộ A", group="chi-bo-a", kind="chi bộ cơ sở", file_drop=file_drop)


def form(request) -> dict[str, list[str]]:
    body = request.body
    return parse_qs(body if isinstance(body, str) else body.decode())


def with_data(ex: Exchange, data) -> Exchange:
    """The recorded answer of `ex` with its OCS `data` replaced (status line and headers as recorded)."""
    doc = json.loads(ex.response_body)
    doc["ocs"]["data"] = data
    return replace(ex, response_body=json.dumps(doc).encode())


def listing(rsps, ex: Exchange, path: str, *, subfiles: bool) -> None:
    """Answer the shares listing of `path` (with or without subfiles=true) with ex's recorded answer.

    The recordings list the shares of the unit folder itself (d4); the sync asks once for the shares
    *inside* the plan's root (subfiles=true, which Nextcloud answers with the children's shares, the
    same share objects) and once for the root's own shares.
    """
    params = {"format": "json", "path": "/" + path, "reshares": "true"}
    if subfiles:
        params["subfiles"] = "true"
    resp = as_response(ex, url=ex.base + SHARES)
    resp.match = (matchers.query_param_matcher(params),)
    rsps.add(resp)


def empty_listing(version: str) -> Exchange:
    # Derived from d4 (a real listing answer of this version) with no shares in it.
    return with_data(exchange(version, "d4"), [])


def run_folder_shares(version: str, units, *, coordinators=(), dry_run=False, root=ROOT):
    ocs, http = ocs_client(version)
    report = shares.ShareReport()
    shares.sync_folder_shares(ocs, root, units, {u.id: UNIT_FOLDER for u in units}, list(coordinators),
                              file_drop_expire=EXPIRE, file_drop_note=NOTE, dry_run=dry_run, report=report)
    return report, http


# -- report folders -------------------------------------------------------------------------------

def test_first_sync_shares_the_unit_folder_read_create_and_opens_a_file_drop(version, rsps):
    base = base_of(version)
    listing(rsps, empty_listing(version), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    d1 = exchange(version, "d1")
    link = exchange(version, LINK_CREATE[version])
    register(rsps, d1)
    register(rsps, link)
    if version == "nextcloud-29":
        register(rsps, exchange(version, "d3"))  # 29 made it 21: the follow-up update to 4

    report, http = run_folder_shares(version, [unit_a()])

    posts = [c.request for c in rsps.calls if c.request.method == "POST"]
    assert len(posts) == 2
    # The group share: exactly the form the recording sent (form-decoded: 29 and 34 encode "/" differently).
    assert form(posts[0]) == parse_qs(d1.request_body.decode())
    assert form(posts[0])["permissions"] == ["5"] and form(posts[0])["shareWith"] == ["chi-bo-a"]
    assert form(posts[0])["path"] == ["/Báo cáo/21-KL-TW/Chi bộ A"]
    # The link: asked for 4 (upload only) with expiry, note and label in the create request itself.
    sent_link = form(posts[1])
    recorded_link = parse_qs(link.request_body.decode())
    assert sent_link["shareType"] == ["3"] and sent_link["permissions"] == ["4"]
    assert sent_link["expireDate"] == ["2027-12-31"] and sent_link["note"] == [NOTE]
    assert {k: v for k, v in sent_link.items() if k != "note"} == {k: v for k, v in recorded_link.items() if k != "note"}
    puts = [c.request for c in rsps.calls if c.request.method == "PUT"]
    if version == "nextcloud-29":
        assert len(puts) == 1 and puts[0].url == base + SHARES + "/4" and form(puts[0]) == {"permissions": ["4"]}
    else:
        assert puts == []  # 34 answered 4 straight away
    assert report.created == ["Chi bộ A → chi-bo-a", "cb-a"] and report.failed == [] and report.updated == []
    token = json.loads(link.response_body)["ocs"]["data"]["token"]
    assert report.file_drops == {"cb-a": f"{base}/index.php/s/{token}"}
    assert http.count == len(rsps.calls) == (5 if version == "nextcloud-29" else 4)
    for call in rsps.calls:
        assert call.request.headers["OCS-APIRequest"] == "true"


def test_rerun_with_the_shares_already_there_creates_nothing(version, rsps):
    listing(rsps, exchange(version, "d4"), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    report, http = run_folder_shares(version, [unit_a()])
    assert [c.request.method for c in rsps.calls] == ["GET", "GET"]  # two listings, no writes
    assert report.created == report.updated == report.failed == report.planned == []
    assert list(report.file_drops) == ["cb-a"] and "/index.php/s/" in report.file_drops["cb-a"]
    assert all(c.request.headers["OCS-APIRequest"] == "true" for c in rsps.calls)


def test_a_root_folder_written_in_nfd_still_matches_the_listed_shares(version, rsps):
    """A config typed on macOS may hold decomposed Vietnamese; the server lists NFC paths."""
    nfd_root = unicodedata.normalize("NFD", ROOT)
    assert nfd_root != ROOT
    listing(rsps, exchange(version, "d4"), ROOT, subfiles=True)  # we send NFC (OCS client normalizes)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    report, _ = run_folder_shares(version, [unit_a()], root=nfd_root)
    assert [c.request.method for c in rsps.calls] == ["GET", "GET"]
    assert report.created == report.failed == []


def test_shares_with_wrong_permissions_are_updated_not_duplicated(version, rsps):
    """Someone widened the unit's share to 31 (all) and the link is still 21 (29's create answer)."""
    base = base_of(version)
    d4 = exchange(version, "d4")
    listed = json.loads(d4.response_body)["ocs"]["data"]
    group = next(s for s in listed if s["share_type"] == 1)
    link = next(s for s in listed if s["share_type"] == 3)
    group["permissions"] = 31
    link.update(permissions=21, label="Hộp nộp báo cáo")
    # Derived from d4: the group share and the first link (34 lists a second one, left out), with the
    # permissions changed as described above; the link carries the label the connector gives its links.
    listing(rsps, with_data(d4, [group, link]), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    # The answer to "set the group share to 5" is d1's recorded share (id 1, permissions 5).
    register(rsps, exchange(version, "d1"), method="PUT", url=f"{base}{SHARES}/{group['id']}")
    d3 = exchange(version, "d3")  # the recorded update of this version's first link share to 4
    assert d3.target.endswith("/" + link["id"])
    register(rsps, d3)

    report, _ = run_folder_shares(version, [unit_a()])

    puts = [c.request for c in rsps.calls if c.request.method == "PUT"]
    assert [urlsplit(p.url).path for p in puts] == [f"{SHARES}/{group['id']}", f"{SHARES}/{link['id']}"]
    assert [form(p) for p in puts] == [{"permissions": ["5"]}, {"permissions": ["4"]}]
    assert not any(c.request.method == "POST" for c in rsps.calls)
    assert report.updated == ["Chi bộ A → chi-bo-a", "cb-a"] and report.created == []


def test_a_persons_download_link_is_left_alone_and_a_file_drop_added(version, rsps):
    """A member made a read-only public link on the unit folder; it must not become upload-only."""
    d4 = exchange(version, "d4")
    listed = json.loads(d4.response_body)["ocs"]["data"]
    group = next(s for s in listed if s["share_type"] == 1)
    theirs = next(s for s in listed if s["share_type"] == 3)
    theirs.update(id="9", permissions=1, label="", note="", token="PersonLink12345",
                  url=theirs["url"].replace(theirs["token"], "PersonLink12345"))
    # Derived from d4: the group share plus one link turned into a person's read-only link (id 9).
    listing(rsps, with_data(d4, [group, theirs]), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    register(rsps, exchange(version, LINK_CREATE[version]))
    if version == "nextcloud-29":
        register(rsps, exchange(version, "d3"))
    report, _ = run_folder_shares(version, [unit_a()])
    assert not any(c.request.url.endswith("/shares/9") for c in rsps.calls)
    post = next(c.request for c in rsps.calls if c.request.method == "POST")
    assert form(post)["shareType"] == ["3"] and form(post)["permissions"] == ["4"]
    assert report.created == ["cb-a"] and report.updated == []
    assert not report.file_drops["cb-a"].endswith(theirs["token"])


def test_dry_run_before_the_first_sync_when_the_root_does_not_exist_yet(version, rsps):
    """Nextcloud answers a shares listing of a missing path with OCS 404 ("Wrong path ...").

    No recording has that answer: it is built from d4 (this version's listing answer) with the
    status line and meta Nextcloud's OCS v2 API uses for OCSNotFoundException.
    """
    d4 = exchange(version, "d4")
    doc = json.loads(d4.response_body)
    doc["ocs"]["meta"] = {"status": "failure", "statuscode": 404, "message": "Wrong path, file/folder does not exist"}
    doc["ocs"]["data"] = []
    missing = replace(d4, status=404, reason="Not Found", response_body=json.dumps(doc).encode())
    listing(rsps, missing, ROOT, subfiles=True)
    report, _ = run_folder_shares(version, [unit_a()], dry_run=True)
    assert len(rsps.calls) == 1
    assert report.planned == ["share Chi bộ A → chi-bo-a", "share cb-a"] and report.failed == []


def test_dry_run_lists_the_shares_and_writes_nothing(version, rsps):
    listing(rsps, empty_listing(version), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    report, _ = run_folder_shares(version, [unit_a()], coordinators=["ban-thuong-vu"], dry_run=True)
    assert [c.request.method for c in rsps.calls] == ["GET", "GET"]
    assert report.planned == [f"share {ROOT} → ban-thuong-vu", "share Chi bộ A → chi-bo-a", "share cb-a"]
    assert report.created == []


def test_coordinators_get_the_root_read_only(version, rsps):
    base = base_of(version)
    listing(rsps, exchange(version, "d4"), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    d1 = exchange(version, "d1")
    share = json.loads(d1.response_body)["ocs"]["data"]
    share.update(id="7", permissions=1, path="/" + ROOT, share_with="ban-thuong-vu", note="")
    # Derived from d1 (a group share answer of this version) for the root and a read-only permission.
    register(rsps, with_data(d1, share))
    report, _ = run_folder_shares(version, [unit_a()], coordinators=["ban-thuong-vu"])
    post = next(c.request for c in rsps.calls if c.request.method == "POST")
    assert post.url == base + SHARES
    assert form(post) == {"path": ["/" + ROOT], "shareType": ["1"], "shareWith": ["ban-thuong-vu"], "permissions": ["1"]}
    assert report.created == [f"{ROOT} → ban-thuong-vu"]


def test_a_refused_share_is_named_and_the_other_units_go_on(version, rsps):
    """b7-style OCS failure on one unit: recorded as failed, the next unit is still shared."""
    listing(rsps, empty_listing(version), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    # A recorded OCS failure answer of this version (b7: HTTP 400, OCS 102) stands in for the refusal.
    register(rsps, exchange(version, "b7"), method="POST", url=base_of(version) + SHARES)
    register(rsps, exchange(version, "d1"))
    ocs, _ = ocs_client(version)
    report = shares.ShareReport()
    b = Unit(id="cb-b", name="Chi bộ B", group="chi-bo-a")
    shares.sync_folder_shares(ocs, ROOT, [unit_a(file_drop=False), b], {"cb-a": UNIT_FOLDER, "cb-b": UNIT_FOLDER}, [],
                              file_drop_expire=None, file_drop_note=NOTE, dry_run=False, report=report)
    assert len(report.failed) == 1 and "OCS error 102" in report.failed[0] and "Chi bộ A" in report.failed[0]
    assert report.created == ["Chi bộ B → chi-bo-a"]


# -- groups ---------------------------------------------------------------------------------------

def test_missing_groups_are_created_existing_ones_left(rsps):
    version = "nextcloud-29"
    register(rsps, exchange(version, "b3"))  # lists admin, chi-bo-a
    register(rsps, exchange(version, "b1"), url=base_of(version) + "/ocs/v2.php/cloud/groups")
    ocs, _ = ocs_client(version)
    report = shares.ShareReport()
    shares.ensure_groups(ocs, ["chi-bo-a", "chi-bo-b"], dry_run=False, report=report)
    post = next(c.request for c in rsps.calls if c.request.method == "POST")
    assert form(post) == {"groupid": ["chi-bo-b"]}
    assert report.created == ["group chi-bo-b"]
    assert all(c.request.headers["OCS-APIRequest"] == "true" for c in rsps.calls)


def test_dry_run_does_not_create_groups(rsps):
    register(rsps, exchange("nextcloud-29", "b3"))
    ocs, _ = ocs_client("nextcloud-29")
    report = shares.ShareReport()
    shares.ensure_groups(ocs, ["chi-bo-a", "chi-bo-b"], dry_run=True, report=report)
    assert len(rsps.calls) == 1 and report.planned == ["create group chi-bo-b"] and report.created == []


# -- calendars ------------------------------------------------------------------------------------

def calendar(groups, publish=False) -> DesiredCalendar:
    return DesiredCalendar(slug="lich-chi-bo-a", displayname="Lịch Chi bộ A", description="", components=["VEVENT"],
                           share_groups=list(groups), publish=publish)


def home_listing(rsps, ex: Exchange) -> None:
    # The recordings PROPFIND the calendar itself (Depth 0); the sync lists the calendar home (Depth 1),
    # whose answer holds the same <d:response> for this calendar.
    register(rsps, ex, url=ex.base + HOME)


def apply_sharing(version, state, calendars, *, dry_run=False):
    http = HttpClient(make_session("admin", "test-app-pass"), backoff=0)
    caldav = CalDAVClient(http, base_of(version) + HOME)
    home = caldav.calendars()
    report = SyncReport()
    shares.CalendarSharing(http, caldav, state, dry_run=dry_run).apply(home, calendars, report)
    return report


def test_calendar_is_shared_read_only_with_all_missing_groups_in_one_request(version, rsps):
    home_listing(rsps, exchange(version, "e2"))  # not shared yet: empty <oc:invite/>
    e19 = exchange(version, "e19")
    register(rsps, e19)
    state: dict = {}
    report = apply_sharing(version, state, [calendar(["chi-bo-a", "chi-bo-b"])])
    posts = [c.request for c in rsps.calls if c.request.method == "POST"]
    assert len(posts) == 1 and posts[0].url == e19.url
    body = ET.fromstring(posts[0].body)
    assert body.tag == OC + "share"  # never <cs:share>: Nextcloud answers that with 501 (e18)
    assert b"calendarserver.org" not in posts[0].body
    assert [s.findtext(D + "href") for s in body.findall(OC + "set")] == [
        "principal:principals/groups/chi-bo-a", "principal:principals/groups/chi-bo-b"]
    assert body.find(f"{OC}set/{OC}read-write") is None  # read-only
    assert state["lich-chi-bo-a"]["groups"] == ["chi-bo-a", "chi-bo-b"]
    assert report.failed == []


def test_the_refused_calendarserver_form_is_what_we_avoid(version):
    e18 = exchange(version, "e18")
    assert e18.status == 501 and b"<cs:share" in e18.request_body


def test_nothing_is_sent_when_the_invites_already_hold_the_groups(version, rsps):
    home_listing(rsps, exchange(version, "e20"))  # <oc:invite> lists chi-bo-a, read
    state: dict = {}
    report = apply_sharing(version, state, [calendar(["chi-bo-a"])])
    assert [c.request.method for c in rsps.calls] == ["PROPFIND"]
    assert report.failed == [] and report.publish_url is None


def test_a_group_no_longer_wanted_is_unshared(version, rsps):
    home_listing(rsps, exchange(version, "e20"))
    e19 = exchange(version, "e19")
    register(rsps, e19)  # no recording of a removal: the share POST's answer (200) stands in
    state = {"lich-chi-bo-a": {"groups": ["chi-bo-a"]}}
    apply_sharing(version, state, [calendar([])])
    post = next(c.request for c in rsps.calls if c.request.method == "POST")
    body = ET.fromstring(post.body)
    assert body.tag == OC + "share" and body.find(OC + "set") is None
    assert body.findtext(f"{OC}remove/{D}href") == "principal:principals/groups/chi-bo-a"
    assert state["lich-chi-bo-a"]["groups"] == []


def test_a_group_shared_by_a_person_is_not_unshared(version, rsps):
    home_listing(rsps, exchange(version, "e20"))  # chi-bo-a is shared, but not by the connector
    report = apply_sharing(version, {}, [calendar([])])
    assert [c.request.method for c in rsps.calls] == ["PROPFIND"] and report.failed == []


def publish_listing(version: str) -> Exchange:
    """The calendar with its publish URL, as the home listing after publishing shows it."""
    if version == "nextcloud-29":
        return exchange(version, "e26")  # full property set, incl. cs:publish-url and oc:invite
    # 34's e26 asked for cs:publish-url only; insert that recorded element into 34's full e20 answer.
    e20, e26 = exchange(version, "e20"), exchange(version, "e26")
    text = e26.response_body.decode()
    publish = text[text.index("<cs:publish-url>"):text.index("</cs:publish-url>") + len("</cs:publish-url>")]
    body = e20.response_body.decode().replace("<cs:publish-url/>", "").replace(
        "<cs:allowed-sharing-modes>", publish + "<cs:allowed-sharing-modes>")
    return replace(e20, response_body=body.encode())


def test_publishing_posts_publish_calendar_then_reports_the_public_url(version, rsps):
    home_listing(rsps, exchange(version, "e20"))  # shared, not yet published
    e25 = exchange(version, "e25")
    register(rsps, e25)  # 202 Accepted
    after = publish_listing(version)
    home_listing(rsps, after)
    report = apply_sharing(version, {}, [calendar(["chi-bo-a"], publish=True)])
    methods = [c.request.method for c in rsps.calls]
    assert methods == ["PROPFIND", "POST", "PROPFIND"]
    post = rsps.calls[1].request
    assert post.url == e25.url
    assert ET.fromstring(post.body).tag == "{http://calendarserver.org/ns/}publish-calendar"
    expected = ET.fromstring(after.response_body).find(
        ".//{http://calendarserver.org/ns/}publish-url/{DAV:}href").text
    assert report.publish_url == expected and "/remote.php/dav/public-calendars/" in expected


def test_an_already_published_calendar_is_only_reported(rsps):
    home_listing(rsps, exchange("nextcloud-29", "e26"))
    report = apply_sharing("nextcloud-29", {}, [calendar(["chi-bo-a"], publish=True)])
    assert [c.request.method for c in rsps.calls] == ["PROPFIND"]
    assert report.publish_url == "http://127.0.0.1:8080/remote.php/dav/public-calendars/FS7nfRAYWp5jSDma"


def test_dry_run_says_what_it_would_share_and_publish_and_sends_nothing(version, rsps):
    home_listing(rsps, exchange(version, "e2"))
    state: dict = {}
    report = apply_sharing(version, state, [calendar(["chi-bo-a"], publish=True)], dry_run=True)
    assert [c.request.method for c in rsps.calls] == ["PROPFIND"]
    assert "would share lich-chi-bo-a with chi-bo-a" in report.notices
    assert "would publish lich-chi-bo-a" in report.notices
    assert state.get("lich-chi-bo-a", {}).get("groups") is None


def test_a_refused_calendar_share_is_a_named_failure(version, rsps):
    home_listing(rsps, exchange(version, "e2"))
    e18 = exchange(version, "e18")
    register(rsps, e18)  # the server's 501 answer, as if it refused our request too
    state: dict = {}
    report = apply_sharing(version, state, [calendar(["chi-bo-a"])])
    assert len(report.failed) == 1 and report.failed[0].startswith("sharing lich-chi-bo-a: not implemented (501)")
    assert "groups" not in state.get("lich-chi-bo-a", {})  # not remembered as shared


def test_dry_run_says_what_it_would_unshare(version, rsps):
    home_listing(rsps, exchange(version, "e20"))
    state = {"lich-chi-bo-a": {"groups": ["chi-bo-a"]}}
    report = apply_sharing(version, state, [calendar([])], dry_run=True)
    assert [c.request.method for c in rsps.calls] == ["PROPFIND"]
    assert report.notices == ["would unshare lich-chi-bo-a from chi-bo-a"]
    assert state["lich-chi-bo-a"]["groups"] == ["chi-bo-a"]  # still remembered: nothing was done


# -- Nextcloud 34's share-creation limit: 20 per account per 10 minutes (429, empty body, no Retry-After) --

OK_EMPTY = {"ocs": {"meta": {"status": "ok", "statuscode": 200, "message": "OK"}, "data": []}}


def group_share(version: str, sid: str, path: str, gid: str, permissions: int = 5, note: str = NOTE, owner="admin") -> dict:
    """A group share as this version lists it (d1's recorded answer with id, path, group and owner changed)."""
    share = json.loads(exchange(version, "d1").response_body)["ocs"]["data"]
    share.update(id=sid, path="/" + path, share_with=gid, permissions=permissions, note=note, uid_owner=owner)
    return share


def our_link(version: str, sid: str, path: str, label: str = "Hộp nộp báo cáo", permissions: int = 4) -> dict:
    share = json.loads(exchange(version, "d4").response_body)["ocs"]["data"]
    link = next(s for s in share if s["share_type"] == 3)
    link.update(id=sid, path="/" + path, label=label, permissions=permissions, token=f"Tok{sid}xxxxxxxxxx")
    return link


def answer_creates(rsps, version: str, shares_in_order: list[dict], *, then_429: bool = False) -> None:
    """Answer the share POSTs in order (each with d1's recorded envelope); optionally a 429 after them."""
    d1 = exchange(version, "d1")
    for share in shares_in_order:
        register(rsps, with_data(d1, share))
    if then_429:
        rsps.add("POST", d1.base + SHARES, status=429, body=b"", content_type="text/html; charset=UTF-8")


def units_abc(file_drop: bool = False) -> list[Unit]:
    return [Unit(id=f"cb-{x}", name=f"Chi bộ {x.upper()}", group=f"chi-bo-{x}", kind="chi bộ cơ sở", file_drop=file_drop)
            for x in "abc"]


def folders_of(units) -> dict[str, str]:
    return {u.id: u.name for u in units}


def sync_shares(version, units, *, made, limits, coordinators=(), dry_run=False, absent=()):
    ocs, http = ocs_client(version)
    report = shares.ShareReport()
    shares.sync_folder_shares(ocs, ROOT, units, folders_of(units), list(coordinators), file_drop_expire=EXPIRE,
                              file_drop_note=NOTE, dry_run=dry_run, report=report, made=made, limits=limits,
                              absent_groups=absent)
    return report


def test_the_share_limit_stops_folder_shares_for_this_run_and_one_line_says_what_waits(rsps, monkeypatch):
    version = "nextcloud-34"
    units = units_abc(file_drop=True)
    clock = [1_800_000_000.0]
    monkeypatch.setattr(shares, "_now", lambda: clock[0])
    listing(rsps, empty_listing(version), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    answer_creates(rsps, version, [group_share(version, "11", f"{ROOT}/Chi bộ A", "chi-bo-a"),
                                   group_share(version, "12", f"{ROOT}/Chi bộ B", "chi-bo-b")], then_429=True)
    made, limits = {}, {}
    report = sync_shares(version, units, made=made, limits=limits)

    posts = [form(c.request) for c in rsps.calls if c.request.method == "POST"]
    # Group shares first (units without accounts are the exception); nothing is sent after the 429.
    assert [p["shareType"][0] + ":" + p.get("shareWith", ["link"])[0] for p in posts] == [
        "1:chi-bo-a", "1:chi-bo-b", "1:chi-bo-c"]
    assert report.created == ["Chi bộ A → chi-bo-a", "Chi bộ B → chi-bo-b"]
    assert report.failed == [] and len(report.paced) == 1  # pacing, not a failure: the run exits 0
    line = report.paced[0]
    assert line.startswith("folder shares wait: 1 unit folder and 3 upload-only links not shared yet")
    assert "the next run after" in line and "'ratelimit_overwrite' => ['files_sharing.shareapi.createshare'" in line
    assert limits["folder shares"]["until"] == clock[0] + 600
    assert set(made) == {"11", "12"} and made["11"] == {"path": f"/{ROOT}/Chi bộ A", "type": 1, "with": "chi-bo-a"}


def test_before_the_period_has_passed_no_share_is_asked_for_and_after_it_the_rest_is_done(rsps, monkeypatch):
    version = "nextcloud-34"
    units = units_abc()
    clock = [1_800_000_000.0]
    monkeypatch.setattr(shares, "_now", lambda: clock[0])
    listed = [group_share(version, "11", f"{ROOT}/Chi bộ A", "chi-bo-a")]
    made = {"11": {"path": f"/{ROOT}/Chi bộ A", "type": 1, "with": "chi-bo-a"}}
    limits = {"folder shares": {"met_at": clock[0] - 60, "until": clock[0] + 540, "period": 600}}
    listing(rsps, with_data(exchange(version, "d4"), listed), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    report = sync_shares(version, units, made=made, limits=limits)
    assert [c.request.method for c in rsps.calls] == ["GET", "GET"]  # no 429 storm: nothing asked at all
    assert report.failed == [] and len(report.paced) == 1
    assert report.paced[0].startswith("folder shares wait: 2 unit folders")

    clock[0] += 541  # the period has passed
    rsps.reset()
    listing(rsps, with_data(exchange(version, "d4"), listed), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    answer_creates(rsps, version, [group_share(version, "12", f"{ROOT}/Chi bộ B", "chi-bo-b"),
                                   group_share(version, "13", f"{ROOT}/Chi bộ C", "chi-bo-c")])
    report = sync_shares(version, units, made=made, limits=limits)
    assert report.created == ["Chi bộ B → chi-bo-b", "Chi bộ C → chi-bo-c"] and report.failed == report.paced == []
    assert limits == {} and set(made) == {"11", "12", "13"}


# -- access follows the units file -----------------------------------------------------------------

def test_a_removed_unit_loses_its_folder_share_and_link_but_a_persons_link_stays(version, rsps):
    units = units_abc()
    removed = Unit(id="cb-d", name="Chi bộ D", group="chi-bo-d", kind="chi bộ cơ sở")
    listed = [group_share(version, str(11 + i), f"{ROOT}/{u.name}", u.group) for i, u in enumerate(units)]
    listed += [group_share(version, "14", f"{ROOT}/Chi bộ D", "chi-bo-d"),
               our_link(version, "15", f"{ROOT}/Chi bộ D"),
               our_link(version, "16", f"{ROOT}/Chi bộ D", label="Ảnh hội nghị", permissions=1)]  # a person's link
    made = {"14": {"path": f"/{ROOT}/Chi bộ D", "type": 1, "with": "chi-bo-d"}}
    listing(rsps, with_data(exchange(version, "d4"), listed), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    for sid in ("14", "15"):
        rsps.add("DELETE", f"{base_of(version)}{SHARES}/{sid}", json=OK_EMPTY)

    report = sync_shares(version, units, made=made, limits={})

    deleted = [urlsplit(c.request.url).path.rsplit("/", 1)[1] for c in rsps.calls if c.request.method == "DELETE"]
    assert deleted == ["14", "15"]  # remembered; and the link bearing the connector's label
    assert report.removed == [f"/{ROOT}/Chi bộ D → chi-bo-d", f"upload-only link on /{ROOT}/Chi bộ D"]
    assert not any(c.request.method == "POST" for c in rsps.calls) and report.failed == []
    assert "14" not in made and set(made) == {"11", "12", "13"}  # the kept ones are remembered as ours now


def test_a_unit_moved_to_another_group_follows_it(version, rsps):
    unit = Unit(id="cb-a", name="Chi bộ A", group="chi-bo-a2", kind="chi bộ cơ sở")
    listed = [group_share(version, "11", f"{ROOT}/Chi bộ A", "chi-bo-a")]
    made = {"11": {"path": f"/{ROOT}/Chi bộ A", "type": 1, "with": "chi-bo-a"}}
    listing(rsps, with_data(exchange(version, "d4"), listed), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    answer_creates(rsps, version, [group_share(version, "21", f"{ROOT}/Chi bộ A", "chi-bo-a2")])
    rsps.add("DELETE", f"{base_of(version)}{SHARES}/11", json=OK_EMPTY)
    report = sync_shares(version, [unit], made=made, limits={})
    assert [c.request.method for c in rsps.calls] == ["GET", "GET", "POST", "DELETE"]
    assert form(rsps.calls[2].request)["shareWith"] == ["chi-bo-a2"]
    assert report.created == ["Chi bộ A → chi-bo-a2"] and report.removed == [f"/{ROOT}/Chi bộ A → chi-bo-a"]
    assert set(made) == {"21"}


def test_a_dropped_coordinator_group_loses_the_root_but_a_group_a_person_shared_with_keeps_it(version, rsps):
    unit = unit_a(file_drop=True)  # d4 lists its group share and its upload-only link
    listed_root = [group_share(version, "30", ROOT, "ban-cu", permissions=1, note=""),
                   group_share(version, "31", ROOT, "van-phong", permissions=1, note="")]  # shared by a person
    made = {"30": {"path": f"/{ROOT}", "type": 1, "with": "ban-cu"}}
    listing(rsps, exchange(version, "d4"), ROOT, subfiles=True)
    listing(rsps, with_data(exchange(version, "d4"), listed_root), ROOT, subfiles=False)
    rsps.add("DELETE", f"{base_of(version)}{SHARES}/30", json=OK_EMPTY)
    report = sync_shares(version, [unit], made=made, limits={}, coordinators=[])
    assert [c.request.method for c in rsps.calls] == ["GET", "GET", "DELETE"]
    assert report.removed == [f"/{ROOT} → ban-cu"]


def test_a_share_someone_else_deleted_is_forgotten_and_a_dry_run_only_says_what_it_would_withdraw(version, rsps):
    made = {"40": {"path": f"/{ROOT}/Chi bộ Z", "type": 1, "with": "chi-bo-z"},
            "14": {"path": f"/{ROOT}/Chi bộ D", "type": 1, "with": "chi-bo-d"}}
    listed = [group_share(version, "14", f"{ROOT}/Chi bộ D", "chi-bo-d")]
    listing(rsps, with_data(exchange(version, "d4"), listed), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    report = sync_shares(version, [], made=made, limits={}, dry_run=True)
    assert [c.request.method for c in rsps.calls] == ["GET", "GET"]
    assert report.planned == [f"withdraw share /{ROOT}/Chi bộ D → chi-bo-d"]
    assert set(made) == {"40", "14"}  # a dry run changes nothing, not even the memory


def test_groups_that_do_not_exist_are_skipped_without_asking(version, rsps):
    listing(rsps, empty_listing(version), ROOT, subfiles=True)
    listing(rsps, empty_listing(version), ROOT, subfiles=False)
    answer_creates(rsps, version, [group_share(version, "12", f"{ROOT}/Chi bộ B", "chi-bo-b")])
    units = units_abc()[:2]
    report = sync_shares(version, units, made={}, limits={}, absent={"chi-bo-a"})
    assert [form(c.request)["shareWith"] for c in rsps.calls if c.request.method == "POST"] == [["chi-bo-b"]]
    assert report.failed == []  # ensure_groups already said why, in its one line


# -- groups on Nextcloud 34: password confirmation ----------------------------------------------

NOT_CONFIRMED = {"ocs": {"meta": {"status": "failure", "statuscode": 403, "message": "Password confirmation is required"},
                         "data": []}}


def test_with_an_app_password_34_creates_no_group_and_one_line_offers_both_ways_out(rsps):
    version = "nextcloud-34"
    groups = with_data(exchange(version, "b1"), {"groups": ["admin", "chi-bo-a"]})  # derived from b1: a groups listing
    register(rsps, groups, method="GET", url=base_of(version) + "/ocs/v2.php/cloud/groups")
    rsps.add("POST", base_of(version) + "/ocs/v2.php/cloud/groups", status=403, json=NOT_CONFIRMED)
    ocs, _ = ocs_client(version)
    report = shares.ShareReport()
    absent = shares.ensure_groups(ocs, ["chi-bo-a", "chi-bo-b", "Chi bộ C"], dry_run=False, report=report)
    assert absent == {"chi-bo-b", "Chi bộ C"}
    assert sum(c.request.method == "POST" for c in rsps.calls) == 1  # the first refusal ends the attempts
    assert len(report.failed) == 1
    line = report.failed[0]
    assert line.startswith("2 groups not created (Chi bộ C, chi-bo-b): Nextcloud asks for password confirmation")
    assert "[server] admin_password_file" in line
    assert "occ group:add 'Chi bộ C'; occ group:add chi-bo-b" in line
    assert report.created == []


def test_where_34_asks_for_confirmation_the_login_password_creates_the_groups_on_a_session_of_its_own(rsps):
    version = "nextcloud-34"
    groups = with_data(exchange(version, "b1"), {"groups": ["admin"]})  # derived from b1: a groups listing
    register(rsps, groups, method="GET", url=base_of(version) + "/ocs/v2.php/cloud/groups")
    rsps.add("POST", base_of(version) + "/ocs/v2.php/cloud/groups", status=403, json=NOT_CONFIRMED)
    register(rsps, exchange(version, "b1"))
    ocs, http = ocs_client(version)
    report = shares.ShareReport()
    absent = shares.ensure_groups(ocs, ["chi-bo-a", "chi-bo-b"], dry_run=False, report=report,
                                  admin_password="login-Pass-1")
    assert absent == set() and report.created == ["group chi-bo-a", "group chi-bo-b"] and report.failed == []
    auth = [c.request.headers["Authorization"] for c in rsps.calls]
    # The app password lists and tries; only when Nextcloud asks for confirmation does the login password
    # step in, on a session of its own, for the group creations alone.
    assert [c.request.method for c in rsps.calls] == ["GET", "POST", "POST", "POST"]
    assert auth[0] == auth[1] != auth[2] == auth[3]
    assert http.count == 2


# -- calendars: batches of 10 and the share-request limit (20 per hour) ------------------------------

def many_groups(n: int) -> list[str]:
    return [f"chi-bo-{i:02d}" for i in range(1, n + 1)]


TOO_MANY_REQUESTS = (b'<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">\n'
                     b"  <s:exception>OCA\\DAV\\Connector\\Sabre\\Exception\\TooManyRequests</s:exception>\n"
                     b"  <s:message>Too many addressbook or calendar share requests</s:message>\n</d:error>\n")


def test_a_calendar_for_twelve_units_is_shared_in_two_requests(version, rsps):
    home_listing(rsps, exchange(version, "e2"))
    e19 = exchange(version, "e19")
    register(rsps, e19)
    state: dict = {}
    report = apply_sharing(version, state, [calendar(many_groups(12))])
    posts = [ET.fromstring(c.request.body) for c in rsps.calls if c.request.method == "POST"]
    assert [len(p.findall(OC + "set")) for p in posts] == [10, 2]
    assert state["lich-chi-bo-a"]["groups"] == many_groups(12) and report.failed == []


def test_the_share_request_limit_leaves_the_rest_for_a_later_run_without_asking_again(rsps, monkeypatch):
    version = "nextcloud-34"
    clock = [1_800_000_000.0]
    monkeypatch.setattr(shares, "_now", lambda: clock[0])
    e19 = exchange(version, "e19")
    home_listing(rsps, exchange(version, "e2"))
    register(rsps, e19)
    rsps.add("POST", e19.url, status=429, body=TOO_MANY_REQUESTS, content_type="application/xml; charset=utf-8")
    state: dict = {}
    limits: dict = {}
    http = HttpClient(make_session("admin", "test-app-pass"), backoff=0)
    caldav = CalDAVClient(http, base_of(version) + HOME)
    report = SyncReport()
    shares.CalendarSharing(http, caldav, state, limits=limits).apply(caldav.calendars(), [calendar(many_groups(25))], report)
    assert state["lich-chi-bo-a"]["groups"] == many_groups(10)  # the first batch went through
    assert limits["calendar shares"]["until"] == clock[0] + 3600
    assert report.failed == [] and len(report.paced) == 1
    assert report.paced[0].startswith("calendar shares wait: 1 calendar not shared yet with 15 groups")
    assert "20 calendar share requests per hour" in report.paced[0]
    assert "occ config:app:set dav rateLimitShareAddressbookOrCalendar" in report.paced[0]

    # A later run within the hour: nothing is sent.
    rsps.reset()
    home_listing(rsps, exchange(version, "e2"))
    report = SyncReport()
    shares.CalendarSharing(http, caldav, state, limits=limits).apply(caldav.calendars(), [calendar(many_groups(25))], report)
    assert [c.request.method for c in rsps.calls] == ["PROPFIND"]
    assert "not shared yet with 25 groups" in report.paced[0]  # e2 lists no invites: all 25 are missing there


def shared_with(version: str, groups: list[str]) -> Exchange:
    """e20 (the calendar after sharing with chi-bo-a) with its one recorded <oc:user> invite repeated for `groups`."""
    e20 = exchange(version, "e20")
    text = e20.response_body.decode()
    start, end = text.index("<oc:user>"), text.index("</oc:user>") + len("</oc:user>")
    one = text[start:end]
    users = "".join(one.replace("groups/chi-bo-a", f"groups/{g}") for g in groups)
    return replace(e20, response_body=(text[:start] + users + text[end:]).encode())


def test_a_calendar_shared_with_twelve_groups_no_longer_wanted_is_withdrawn_in_two_requests(version, rsps):
    groups = many_groups(12)
    home_listing(rsps, shared_with(version, groups))
    register(rsps, exchange(version, "e19"))  # no recording of a removal: the share POST's answer (200) stands in
    state = {"lich-chi-bo-a": {"groups": groups}}
    report = apply_sharing(version, state, [calendar(groups[:1])])
    posts = [ET.fromstring(c.request.body) for c in rsps.calls if c.request.method == "POST"]
    assert [(len(p.findall(OC + "remove")), len(p.findall(OC + "set"))) for p in posts] == [(10, 0), (1, 0)]
    assert sorted(h.text.rsplit("/", 1)[1] for p in posts for h in p.iter(D + "href")) == groups[1:]
    assert state["lich-chi-bo-a"]["groups"] == groups[:1] and report.failed == []


def test_groups_no_longer_among_the_invites_need_no_withdrawal(version, rsps):
    home_listing(rsps, exchange(version, "e20"))  # shared with chi-bo-a
    register(rsps, exchange(version, "e19"))
    state = {"lich-chi-bo-a": {"groups": ["chi-bo-a", *many_groups(12)]}}
    report = apply_sharing(version, state, [calendar([])])
    posts = [ET.fromstring(c.request.body) for c in rsps.calls if c.request.method == "POST"]
    # Only chi-bo-a is among the invites: the others are not shared any more, nothing to withdraw there.
    assert [len(p.findall(OC + "remove")) for p in posts] == [1] and report.failed == []
    assert state["lich-chi-bo-a"]["groups"] == []


# -- `check` before any sync: groups, password confirmation and the sharing limits ----------------

CLOUD = "http://cloud.test"
GROUPS_API = CLOUD + "/ocs/v2.php/cloud/groups"
REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


def ocs_ok(data) -> dict:
    return {"ocs": {"meta": {"status": "ok", "statuscode": 200, "message": "OK"}, "data": data}}


def check_job(tmp_path, *, units: int, create_groups: bool = True, admin_password: str | None = None,
              task_lists: str = "per_unit"):
    from connector.commands import Job
    from connector.config import Config, PlanConfig, ServerConfig, SyncConfig

    path = tmp_path / "units.toml"
    path.write_text("".join(f'[[units]]\nid = "cb-{i:03d}"\nname = "Chi bộ {i}"\ngroup = "chi-bo-{i:03d}"\n\n'
                            for i in range(1, units + 1)), encoding="utf-8")
    server = ServerConfig(kind="nextcloud", url=CLOUD, user="bot", password="app-Pass-123")
    server._admin_password = admin_password
    cfg = Config(server=server, plan=PlanConfig(document=str(REPO / "mappings/plans/ke-hoach-21-kl-tw.txt"),
                                                units=str(path), create_groups=create_groups),
                 sync=SyncConfig(task_lists=task_lists), state_dir=str(tmp_path / "state"))
    return Job(cfg)


def test_check_on_34_says_before_any_sync_that_groups_need_the_login_password_or_occ(tmp_path, rsps):
    from connector.checks import group_creation_lines

    rsps.add("GET", GROUPS_API, json=ocs_ok({"groups": ["admin", "chi-bo-001"]}))
    rsps.add("POST", GROUPS_API, status=403, json=NOT_CONFIRMED)  # the probe: no group named, nothing made
    with check_job(tmp_path, units=3) as job:
        (name, ok, detail, needed), = group_creation_lines(job)
    assert (name, ok, needed) == ("group creation", False, True)
    assert detail.startswith("2 of 3 groups do not exist and Nextcloud asks for password confirmation")
    assert "[server] admin_password_file" in detail and "occ group:add chi-bo-002; occ group:add chi-bo-003" in detail
    probe = rsps.calls[1].request.body
    assert (probe if isinstance(probe, str) else probe.decode()) == "groupid="  # an empty name: refused, harmless


def test_check_with_the_login_password_file_finds_the_way_open(tmp_path, rsps):
    from connector.checks import group_creation_lines

    rsps.add("GET", GROUPS_API, json=ocs_ok({"groups": ["admin"]}))
    rsps.add("POST", GROUPS_API, status=403, json=NOT_CONFIRMED)  # with the app password
    rsps.add("POST", GROUPS_API, status=400, json={"ocs": {"meta": {"status": "failure", "statuscode": 101,
                                                                    "message": "Invalid group name"}, "data": []}})
    with check_job(tmp_path, units=2, admin_password="login-Secret-9") as job:
        (name, ok, detail, _), = group_creation_lines(job)
    assert (name, ok) == ("group creation", True)
    assert detail == ("2 of 2 groups do not exist; the sync creates them with the login password of "
                      "admin_password_file (Nextcloud asks for password confirmation)")
    assert rsps.calls[1].request.headers["Authorization"] != rsps.calls[2].request.headers["Authorization"]
    assert "login-Secret-9" not in detail


def test_check_names_the_sharing_limits_forty_units_meet_on_34(tmp_path, rsps):
    from connector.checks import sharing_limit_lines

    setting = CLOUD + "/ocs/v2.php/apps/provisioning_api/api/v1/config/apps/dav/"
    for key in ("rateLimitShareAddressbookOrCalendar", "rateLimitPeriodShareAddressbookOrCalendar"):
        rsps.add("GET", setting + key, json=ocs_ok({"data": ""}))  # an admin reads the defaults
    with check_job(tmp_path, units=40) as job:
        lines = sharing_limit_lines(job, "34.0.1.2")
    (folder, f_ok, f_detail, f_needed), (cal, c_ok, c_detail, c_needed) = lines
    assert (folder, f_ok, f_needed) == ("folder share limit", None, False)  # a note: it waits, it does not fail
    assert f_detail.startswith("Nextcloud lets one account create 20 shares per 10 minutes (by default); a first sync "
                               "needs 40, done in 2 runs at least 10 minutes apart")
    assert "'ratelimit_overwrite' => ['files_sharing.shareapi.createshare' => ['user' => ['limit' => 100" in f_detail
    assert (cal, c_ok, c_needed) == ("calendar share limit", None, False)
    # deadlines: 40 groups in 4 requests; 40 task lists: one each; the overview has no coordinators here.
    assert c_detail.startswith("Nextcloud lets one account send 20 calendar share requests per hour by default, 10 "
                               "groups each; a first sync needs 44, done over 3 periods")
    assert c_detail.endswith("occ config:app:set dav rateLimitShareAddressbookOrCalendar --value=100")


def test_check_on_29_knows_no_sharing_limits(tmp_path):
    from connector.checks import sharing_limit_lines

    with check_job(tmp_path, units=40) as job:
        assert sharing_limit_lines(job, "29.0.6.1") == [
            ("sharing limits", True, "none on Nextcloud 29 (later versions limit shares per account)", False)]
