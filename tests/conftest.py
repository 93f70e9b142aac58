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
