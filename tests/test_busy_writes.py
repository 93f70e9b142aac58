"""Writes against a busy or failing server: fewer writers when it is busy, per-item failures, and a fatal
error that stops the queue before another request goes out (counted with `responses`)."""
from __future__ import annotations

import random
import re
import threading
import time

import pytest
import requests
import responses

from connector.dav.caldav import CalDAVClient
from connector.dav.http import HttpClient, make_session
from connector.dav.pool import AdaptiveLimit, run_adaptive
from connector.dav.webdav import WebDAVClient
from connector.errors import AuthError, ServerError, UnreachableError
from connector.sync.calendars import CalendarSync, SyncReport
from connector.sync.folders import sync_folders
from connector.sync.reconcile import Action, Change
from test_dav_http import LOCKED_BODY, LOCKED_HEADERS

BASE = "http://127.0.0.1:8080"
HOME = BASE + "/remote.php/dav/calendars/bot/"
CAL = HOME + "pc-21-kl-tw-han/"
FILES = BASE + "/remote.php/dav/files/bot/"
ITEM = re.compile(re.escape(CAL) + r"pc-21-kl-tw-.*\.ics")


def http(waits: list | None = None) -> HttpClient:
    return HttpClient(make_session("bot", "app-password"), backoff=0,
                      sleep=(waits.append if waits is not None else lambda s: None))


def creates(n: int) -> list[tuple[Change, str, dict]]:
    view: dict = {}
    out = []
    for i in range(n):
        uid = f"pc-21-kl-tw-t{i:02d}-m1"
        body = f"BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:{uid}\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
        out.append((Change(Action.CREATE, "pc-21-kl-tw-han", f"/remote.php/dav/calendars/bot/pc-21-kl-tw-han/{uid}.ics",
                           uid, None, body, f"h{i}"), CAL, view))
    return out


def calendar_sync(client: HttpClient, parallel: int) -> CalendarSync:
    return CalendarSync(CalDAVClient(client, HOME), {}, "21-kl-tw", parallel=parallel)


# --- the adaptive limit ---------------------------------------------------------------------

def test_the_limit_halves_once_per_round_of_busy_answers_and_grows_back_ever_more_patiently():
    limit = AdaptiveLimit(8, grow_after=2)
    limit.busy(started_in=limit.round)
    assert (limit.value, limit.patience) == (4, 4)
    limit.busy(started_in=0)  # a write started before the cut: its news is already counted
    assert limit.value == 4
    for _ in range(3):
        limit.busy(started_in=limit.round)
    assert (limit.value, limit.lowest, limit.patience) == (1, 1, 16)  # never below one writer
    for _ in range(15):
        limit.ok()
    assert limit.value == 1
    limit.ok()
    assert limit.value == 2  # 16 clean writes at one writer
    for _ in range(31):
        limit.ok()
    assert limit.value == 2
    limit.ok()
    assert limit.value == 3  # 16 x 2 clean writes at two


def test_a_server_that_bears_one_writer_gets_about_one_and_every_write_is_done():
    """A toy SQLite: a write that overlaps another is refused as busy and retried after a jittered wait,
    as the HTTP layer does."""
    active, peak, lock = [0], [0], threading.Lock()
    busy = threading.local()
    refused = [0]

    def write(item):
        for _attempt in range(5):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
                clash = active[0] > 1
            time.sleep(0.002)
            with lock:
                active[0] -= 1
            if not clash:
                return
            busy.n = getattr(busy, "n", 0) + 1
            refused[0] += 1
            time.sleep(random.uniform(0.001, 0.004) * 3 ** _attempt)
        raise ServerError("server error (500) during PUT x (database is locked)", status=500)

    result = run_adaptive(range(200), write, parallel=4, pressure=lambda: getattr(busy, "n", 0))
    assert result.done + len(result.failed) == 200
    assert len(result.failed) <= 2 and result.lowest == 1
    assert refused[0] < 80  # four writers throughout would clash on most of the 200 writes


def test_a_server_that_copes_keeps_every_writer():
    seen, lock, active = [0], threading.Lock(), [0]

    def write(item):
        with lock:
            active[0] += 1
            seen[0] = max(seen[0], active[0])
        time.sleep(0.003)
        with lock:
            active[0] -= 1

    result = run_adaptive(range(40), write, parallel=4, pressure=lambda: 0)
    assert result.done == 40 and result.lowest == 4 and seen[0] == 4


def test_a_write_that_stayed_busy_through_its_retries_gets_one_more_turn_at_the_end_of_the_queue():
    tries: dict[int, int] = {}

    def write(item):
        tries[item] = tries.get(item, 0) + 1
        if item == 0 and tries[item] == 1:  # the first write of a burst: locked through all its retries
            raise ServerError("server error (500) during PUT x (database is locked); tried 5 times", status=500)

    result = run_adaptive(range(6), write, parallel=4, pressure=lambda: 0)
    assert result.done == 6 and result.failed == [] and tries[0] == 2


def test_other_failures_and_quotas_get_no_second_turn():
    from connector.errors import RateLimited

    tries: dict[int, int] = {}

    def write(item):
        tries[item] = tries.get(item, 0) + 1
        if item == 0:
            raise ServerError("server error (500) during PUT x (disk I/O error)", status=500)
        if item == 1:
            raise RateLimited("too many requests (429) during MKCALENDAR x", status=429)
        if item == 2:
            raise ServerError("server error (503) during PUT x; tried 5 times", status=503)

    result = run_adaptive(range(4), write, parallel=1)
    assert tries == {0: 1, 1: 1, 2: 2, 3: 1}
    assert [item for item, _exc in result.failed] == [0, 1, 2]


# --- calendar writes --------------------------------------------------------------------------

@responses.activate
def test_calendar_writes_refused_while_the_database_was_locked_are_retried_and_all_succeed():
    client = http()
    answers = iter([500, 201, 500, 500, 201] + [201] * 100)
    lock = threading.Lock()

    def put(request):
        with lock:
            status = next(answers)
        if status == 500:
            return 500, LOCKED_HEADERS, LOCKED_BODY
        return 201, {"ETag": '"e"'}, ""

    responses.add_callback("PUT", ITEM, callback=put)
    report = SyncReport()
    calendar_sync(client, 4)._run_changes(creates(12), report)
    assert report.failed == [] and report.created == 12
    assert client.count == 15 and client.retries == 3


@pytest.mark.parametrize("parallel", [1, 4])
@responses.activate
def test_a_401_stops_every_queued_write_no_further_login_attempt(parallel):
    client = http()
    responses.add("PUT", ITEM, status=401)
    with pytest.raises(AuthError):
        calendar_sync(client, parallel)._run_changes(creates(30), SyncReport())
    assert len(responses.calls) == 1 if parallel == 1 else len(responses.calls) <= parallel
    assert client.count == len(responses.calls)


@responses.activate
def test_an_unreachable_server_stops_the_queue():
    client = http()
    responses.add("PUT", ITEM, body=requests.ConnectionError("[Errno 111] Connection refused"))
    with pytest.raises(UnreachableError):
        calendar_sync(client, 1)._run_changes(creates(30), SyncReport())
    assert len(responses.calls) == 2  # the write and its one retry; the 29 queued ones never go out


@pytest.mark.parametrize("status, words", [(423, "locked (423)"), (507, "insufficient storage")])
@responses.activate
def test_locked_and_full_are_reported_per_item_and_the_rest_is_written(status, words):
    client = http()
    bad = creates(10)[3][0].href

    def put(request):
        if request.url.endswith(bad):
            return status, {}, ""
        return 201, {"ETag": '"e"'}, ""

    responses.add_callback("PUT", ITEM, callback=put)
    report = SyncReport()
    calendar_sync(client, 4)._run_changes(creates(10), report)
    assert report.created == 9 and len(report.failed) == 1
    assert words in report.failed[0] and bad in report.failed[0]
    assert client.count == 10  # neither is retried


# --- folders ------------------------------------------------------------------------------------

def mkcol_callback(fail: dict[str, int]):
    made: set[str] = set()

    def answer(request):
        path = requests.utils.unquote(request.url[len(FILES):]).rstrip("/")
        if path in fail:
            return fail[path], {}, ""
        if path in made:
            return 405, {}, ""
        made.add(path)
        return 201, {}, ""
    return answer


@responses.activate
def test_a_folder_that_cannot_be_made_is_reported_and_every_other_folder_is_made():
    responses.add_callback("MKCOL", re.compile(re.escape(FILES) + ".*"),
                           callback=mkcol_callback({"Báo cáo/KH/Chi bộ B": 507}))
    webdav = WebDAVClient(http(), FILES)
    wanted = [f"Báo cáo/KH/Chi bộ {u}/0{t} – Nhiệm vụ" for u in "ABC" for t in (1, 2)]
    failed: dict = {}
    created = webdav.ensure_dirs(wanted, set(), parallel=4, failed=failed)
    assert list(failed) == ["Báo cáo/KH/Chi bộ B"] and failed["Báo cáo/KH/Chi bộ B"].status == 507
    assert "Báo cáo/KH/Chi bộ C/02 – Nhiệm vụ" in created and len(created) == 2 + 2 + 4
    assert not any("Chi bộ B/" in c.request.url for c in responses.calls if "B/" in c.request.url)
    assert len(responses.calls) == 2 + 3 + 4  # nothing tried below the folder that failed


def wanting(monkeypatch, folders: list[str]) -> None:
    """The plan's folders, as sync_folders will want them (relative to its root)."""
    from connector.sync import folders as folders_mod

    orig = folders_mod.desired_folders
    monkeypatch.setattr(folders_mod, "desired_folders",
                        lambda root, obligations, extra=(), **_: orig(root, [], folders))


@responses.activate
def test_sync_folders_reports_one_line_per_failed_folder_with_what_waits_below_it(monkeypatch):
    responses.add_callback("MKCOL", re.compile(re.escape(FILES) + ".*"),
                           callback=mkcol_callback({"Báo cáo/KH/Chi bộ A": 423}))
    wanting(monkeypatch, [f"Báo cáo/KH/Chi bộ {u}/0{t} – Nhiệm vụ" for u in "AB" for t in (1, 2, 3)])
    report = sync_folders(WebDAVClient(http(), FILES), "", [], [], parallel=4)
    assert len(report.failed) == 1
    assert report.failed[0].startswith("locked (423) during MKCOL /remote.php/dav/files/bot/Báo cáo/KH/Chi bộ A")
    assert report.failed[0].endswith("(3 folders below it not made)")
    assert sum(1 for p in report.created if "Chi bộ B" in p) == 4


@responses.activate
def test_a_401_during_folders_raises_before_any_other_folder_is_tried():
    responses.add("MKCOL", re.compile(re.escape(FILES) + ".*"), status=401)
    webdav = WebDAVClient(http(), FILES)
    with pytest.raises(AuthError):
        webdav.ensure_dirs([f"Báo cáo/Chi bộ {u}" for u in "ABCDEFGH"], {"Báo cáo"}, parallel=1, failed={})
    assert len(responses.calls) == 1


def test_without_a_failed_dict_the_first_error_is_raised_after_the_rest_is_made():
    with responses.RequestsMock() as r:
        r.add_callback("MKCOL", re.compile(re.escape(FILES) + ".*"),
                       callback=mkcol_callback({"Báo cáo/Chi bộ A": 507}))
        with pytest.raises(ServerError, match="507"):
            WebDAVClient(http(), FILES).ensure_dirs(["Báo cáo/Chi bộ A", "Báo cáo/Chi bộ B"], set())
        assert len(r.calls) == 3


def test_a_file_where_a_unit_folder_should_be_is_one_failure_and_no_request(monkeypatch):
    from connector.dav.webdav import Entry

    def entry(path, is_dir):
        return Entry(href="/" + path, path=path, is_dir=is_dir, size=None, etag=None, last_modified=None,
                     upload_time=None, file_id=None, owner_id=None, permissions=None)

    listing = [entry("Báo cáo/KH", True), entry("Báo cáo/KH/Chi bộ A", False)]
    with responses.RequestsMock() as r:
        r.add_callback("MKCOL", re.compile(re.escape(FILES) + ".*"), callback=mkcol_callback({}))
        wanting(monkeypatch, [f"Chi bộ {u}/0{t} – Nhiệm vụ" for u in "AB" for t in (1, 2)])
        report = sync_folders(WebDAVClient(http(), FILES), "Báo cáo/KH", [], listing, parallel=4)
        assert report.failed == ["cannot create folder Báo cáo/KH/Chi bộ A: a file of that name is in the way "
                                 "(2 folders below it not made)"]
        assert sorted(report.created) == ["Báo cáo/KH/Chi bộ B", "Báo cáo/KH/Chi bộ B/01 – Nhiệm vụ",
                                          "Báo cáo/KH/Chi bộ B/02 – Nhiệm vụ"]
        assert not any("Chi%20b%E1%BB%99%20A" in c.request.url for c in r.calls)
