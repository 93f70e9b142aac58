"""One requests.Session for every server call, with timeouts, a request counter and clear errors.

Every failure becomes one line naming the HTTP method and path (never credentials):
401 -> AuthError (never retried), 412 -> PreconditionFailed, other failures -> ServerError,
connection problems and timeouts -> UnreachableError.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from connector.errors import AuthError, PreconditionFailed, ServerError, UnreachableError

log = logging.getLogger(__name__)

# Methods that may be sent twice without changing the outcome; PUT only with If-Match/If-None-Match.
_IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT", "SEARCH", "DELETE"}
_RETRY_STATUSES = {502, 503, 504}

_STATUS_TEXT = {
    403: "forbidden (403) during {m} {p}: the account may not do this here",
    404: "not found (404) during {m} {p}",
    405: "method not allowed (405) during {m} {p}",
    409: "conflict (409) during {m} {p}: parent folder missing or the resource is in a conflicting state",
    412: "precondition failed (412) during {m} {p}: the item changed on the server (or already exists)",
    423: "locked (423) during {m} {p}: another client holds a lock on it",
    501: "not implemented (501) during {m} {p}: the server does not support this request",
    507: "insufficient storage on the server (507) during {m} {p}",
}


def make_session(user: str, password: str, *, verify: bool | str = True,
                 user_agent: str = "plan-connector/0.1") -> requests.Session:
    """A keep-alive Session with basic auth, shared by every client of one server.

    `verify` is also passed per request by HttpClient, because REQUESTS_CA_BUNDLE in the
    environment would otherwise override `Session.verify`.
    """
    session = requests.Session()
    session.auth = (user, password)
    session.verify = verify
    session.headers["User-Agent"] = user_agent
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def join_url(base: str, *segments: str) -> str:
    """base + each path segment NFC-normalized and percent-encoded ("/" inside a segment separates levels).

    A trailing "/" on the last segment is kept, so collections can be addressed as such.
    """
    parts: list[str] = []
    for seg in segments:
        for part in unicodedata.normalize("NFC", str(seg)).split("/"):
            if part:
                parts.append(quote(part, safe=""))
    url = base.rstrip("/")
    if parts:
        url += "/" + "/".join(parts)
        if str(segments[-1]).endswith("/"):
            url += "/"
    elif base.endswith("/"):
        url += "/"
    return url


def url_path(url: str) -> str:
    """The decoded, NFC path of a URL, for messages and comparisons."""
    return unicodedata.normalize("NFC", unquote(urlsplit(url).path))


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else url


def _server_message(resp: requests.Response) -> str:
    """The short reason a Sabre/Nextcloud server gives in its error body, if any."""
    text = resp.text[:2000] if resp.content else ""
    m = re.search(r"<(?:\w+:)?message>([^<]{1,200})</", text)
    if m:
        return " ".join(m.group(1).split())
    return ""


class HttpClient:
    """Sends requests through one Session; counts them (thread-safe) and maps failures to connector errors."""

    def __init__(self, session: requests.Session, *, timeout: tuple[float, float] = (5, 60),
                 backoff: float = 0.5):
        self.session = session
        self.timeout = timeout
        self.backoff = backoff
        self.count = 0
        self._lock = threading.Lock()

    @property
    def user(self) -> str:
        auth = self.session.auth
        if isinstance(auth, tuple) and auth:
            return str(auth[0])
        return getattr(auth, "username", None) or "<unknown user>"

    def request(self, method: str, url: str, *, headers: dict | None = None, data=None,
                expect: Iterable[int] = (200, 201, 204, 207)) -> requests.Response:
        """Send one request; return the response when its status is in `expect`, else raise.

        401 always raises AuthError. Idempotent requests are retried once on 502/503/504
        or a dropped connection.
        """
        method = method.upper()
        expect = set(expect)
        headers = dict(headers or {})
        retryable = method in _IDEMPOTENT or (
            method == "PUT" and any(h.lower() in ("if-match", "if-none-match") for h in headers))
        attempts = 2 if retryable else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            with self._lock:
                self.count += 1
            try:
                resp = self.session.request(method, url, headers=headers, data=data,
                                            timeout=self.timeout, verify=self.session.verify,
                                            allow_redirects=False)
            except requests.Timeout as exc:
                raise self._unreachable(method, url, exc) from None
            except requests.ConnectionError as exc:
                if not last and not isinstance(exc, requests.exceptions.SSLError):
                    log.info("connection dropped during %s %s, retrying once", method, url_path(url))
                    time.sleep(self.backoff)
                    continue
                raise self._unreachable(method, url, exc) from None
            if resp.status_code in expect and resp.status_code != 401:
                return resp
            if resp.status_code in _RETRY_STATUSES and not last:
                log.info("%s during %s %s, retrying once", resp.status_code, method, url_path(url))
                time.sleep(self.backoff)
                continue
            raise self.error_for(resp, method, url)
        raise AssertionError("unreachable")  # pragma: no cover

    def error_for(self, resp: requests.Response, method: str, url: str) -> ServerError:
        """The connector error for an unexpected answer (also used by callers that inspect statuses first)."""
        status = resp.status_code
        path = url_path(url)
        kw = {"status": status, "method": method, "url": _strip_userinfo(url)}
        if status == 401:
            return AuthError(
                f"authentication failed for {self.user} at {_host(url)}: use a Nextcloud app password "
                "(Settings → Security → Devices & sessions); not retrying, repeated failures trigger "
                "Nextcloud's brute-force delays", **kw)
        template = _STATUS_TEXT.get(status)
        if template:
            msg = template.format(m=method, p=path)
        elif status >= 500:
            msg = f"server error ({status}) during {method} {path}"
        elif 300 <= status < 400 and resp.headers.get("Location"):
            msg = (f"redirected ({status}) during {method} {path} to {_strip_userinfo(resp.headers['Location'])}: "
                   "set server.url to the address the server redirects to (https?)")
        else:
            msg = f"unexpected answer {status} {resp.reason or ''} during {method} {path}".replace("  ", " ")
        detail = _server_message(resp)
        if detail and status not in (404, 412):
            msg += f" ({detail})"
        if status == 412:
            return PreconditionFailed(msg, **kw)
        return ServerError(msg, **kw)

    def _unreachable(self, method: str, url: str, exc: Exception) -> UnreachableError:
        path = url_path(url)
        if isinstance(exc, requests.ConnectTimeout):
            why = f"connection timed out after {self.timeout[0]:g} s"
        elif isinstance(exc, requests.Timeout):
            why = f"timed out after {self.timeout[1]:g} s"
        elif isinstance(exc, requests.exceptions.SSLError):
            why = "TLS certificate verification failed"
        else:
            why = "connection refused or dropped"
        return UnreachableError(f"cannot reach {_host(url)}: {why} during {method} {path}",
                                method=method, url=_strip_userinfo(url))


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    return url
