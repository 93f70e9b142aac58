"""Shared fixtures: real embedded CalDAV/WebDAV servers on 127.0.0.1 and an HTTP session for them."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from connector.embedded import EmbeddedServers


@pytest.fixture
def embedded(tmp_path):
    """Radicale + WsgiDAV started on free ports, data in tmp_path/data.

    User `admin` / `test-pass`, plus `unit_a` / `unit-a-pass` (a unit's account).
    """
    servers = EmbeddedServers(tmp_path / "data", password="test-pass", extra_users={"unit_a": "unit-a-pass"})
    servers.start()
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture
def dav_session(embedded):
    """A requests.Session logged in as the embedded servers' main user, ignoring proxy/CA env vars."""
    with requests.Session() as session:
        session.auth = requests.auth.HTTPBasicAuth(embedded.user, embedded.password)
        session.trust_env = False
        yield session


@pytest.fixture
def artifacts_dir() -> Path:
    """test-artifacts/ at the project root, for screenshots and other files worth keeping."""
    path = Path(__file__).parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(params=["nextcloud-29", "nextcloud-34"])
def version(request):
    """Each recorded Nextcloud version in turn (../shared/fixtures/<version>/)."""
    return request.param


@pytest.fixture
def rsps():
    """A `responses` mock that fails the test when a registered answer is never asked for."""
    import responses

    with responses.RequestsMock() as r:
        yield r


# --- a live Nextcloud (tests marked `nextcloud`) ----------------------------------------------

@pytest.fixture(scope="session")
def live_nextcloud(tmp_path_factory):
    """The live Nextcloud of this test session: the one named by PLAN_CONNECTOR_TEST_NEXTCLOUD_URL, else the
    release in ../shared/nextcloud started in a temporary directory on a free port (stopped at the end).

    Skipped, with the reason, only where neither exists; under CI=true that is a failure instead.
    """
    import os

    import live_nextcloud as ln
    from helpers import free_port

    nc = ln.from_environment()
    if nc is not None:
        yield nc
        return
    reason = ln.local_unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"live Nextcloud tests cannot run in CI: {reason}")
        pytest.skip(f"no live Nextcloud: {reason}; or set {ln.ENV_URL}")
    server_dir = tmp_path_factory.mktemp("nextcloud")
    info = ln.start_local(server_dir, free_port())
    try:
        yield ln.LiveNextcloud(info["NC_URL"], info["NC_ADMIN_USER"],
                               Path(info["NC_ADMIN_PASSWORD_FILE"]).read_text().strip(), server_dir=server_dir)
    finally:
        ln.stop_local(server_dir)


@pytest.fixture
def nc_case(live_nextcloud, tmp_path):
    """One test's own corner of the live Nextcloud: a fresh bot account, groups and members (see LiveCase)."""
    from live_case import LiveCase

    return LiveCase(live_nextcloud, tmp_path)
