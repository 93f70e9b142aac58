"""The same calendar sync on another real CalDAV server: Xandikos (kind = "dav").

Xandikos answers an unknown sync token with 412 (Radicale and Nextcloud with 403): the sync must
fall back to a full listing there too, and still write nothing twice.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from connector.dav.caldav import CalDAVClient
from connector.dav.http import HttpClient
from connector.render.ical import RenderOptions, build_desired
from connector.schedule import expand
from connector.sync.calendars import CalendarSync
from tests.helpers import free_port
from tests.plan_samples import sample_units, seed_like_plan

pytestmark = pytest.mark.server


@pytest.fixture
def xandikos(tmp_path):
    exe = shutil.which("xandikos") or str(Path(sys.executable).parent / "xandikos")
    if not Path(exe).exists():
        pytest.fail("xandikos is not installed: it is in the project's test extras (pip install -e .[test])")
    port = free_port()
    log = open(tmp_path / "xandikos.log", "w")  # never a PIPE nobody reads
    proc = subprocess.Popen([exe, "serve", "-d", str(tmp_path / "x"), "--defaults", "-l", "127.0.0.1", "-p", str(port),
                             "--state-dir", str(tmp_path / "xstate")], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert proc.poll() is None, (tmp_path / "xandikos.log").read_text()
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/user/calendars/"
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def test_sync_on_xandikos_converges_and_a_rerun_writes_nothing(xandikos):
    session = requests.Session()
    session.trust_env = False
    http = HttpClient(session)
    caldav = CalDAVClient(http, xandikos)
    plan, units = seed_like_plan(), sample_units(3)
    cals, items = build_desired(plan, units, expand(plan, units), RenderOptions())
    state: dict = {}

    first = CalendarSync(caldav, state, "21-kl-tw").run(cals, items)
    assert first.created == len(items) and first.failed == []

    before = http.count
    again = CalendarSync(caldav, state, "21-kl-tw").run(cals, items)
    assert again.writes == 0 and http.count - before == 1

    # A token the server does not know (Xandikos: 412) → one full listing, still nothing written.
    listing = caldav.list_items(state["pc-21-kl-tw-han"]["href"], "http://xandikos/ns/sync/unknown")
    assert listing.full and len(listing.items) > 0
    lost = CalendarSync(caldav, {}, "21-kl-tw").run(cals, items)
    assert lost.writes == 0 and lost.unchanged == len(items)
