"""One requests.Session for every server call, with timeouts, a request counter, retries and clear errors.

Every failure becomes one line naming the HTTP method and path (never credentials):
401 -> AuthError (never retried; later requests of the same client are refused without sending),
412 -> PreconditionFailed, 429 -> RateLimited, other failures -> ServerError,
connection problems and timeouts -> UnreachableError.

Retries (RetryPolicy): only requests that may be sent twice (idempotent methods, conditional PUTs,
MKCOL/MKCALENDAR whose repeat answers 405) and only when the server was busy: a dropped connection,
500 "database is locked" (or another transient database error), 502/503/504, 429 with a short
Retry-After. Exponential backoff with jitter, Retry-After honoured, bounded attempts and total wait.
"""
from __future__ import annotations

import logging
import random
import re
import socket
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from connector.errors import AuthError, PreconditionFailed, RateLimited, ServerError, UnreachableError

log = logging.getLogger(__name__)

# Methods that may be sent twice without changing the outcome; PUT only with If-Match/If-None-Match.
# A repeated MKCOL/MKCALENDAR answers 405 (exists), which their callers accept; PROPPATCH sets values.
_IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT", "SEARCH", "DELETE", "PROPPATCH",
               "MKCOL", "MKCALENDAR"}
_BUSY_STATUSES = {502, 503, 504}
# A 500 that only says the database was busy (SQLite's lock; MySQL/MariaDB and PostgreSQL deadlocks and
# serialization failures): the request had no effect and may be sent again.
_TRANSIENT_DB = re.compile(r"database is locked|database table is locked|deadlock|serialization failure|"
                           r"could not serialize access|lock wait timeout exceeded|SQLSTATE\[40001\]|"
                           r"SQLSTATE\[40P01\]", re.IGNORECASE)


@dataclass(frozen=True)
class RetryPolicy:
    """How a request that met a busy server is tried again (see the module docstring for which)."""

    attempts: int = 5  # tries in all, the first included
    max_wait: float = 30.0  # seconds slept in all for one request
    max_retry_after: float = 30.0  # a 429 asking for longer is not waited for: RateLimited
    cap: float = 8.0  # longest single backoff (Retry-After may ask for more, up to max_retry_after)
    multiplier: float = 3.0  # each backoff this many times the last: quick first retry, then room to drain
    lock_factor: float = 0.2  # a database lock clears in milliseconds: its backoff starts at backoff x this

_STATUS_TEXT = {
    403: "forbidden (403) during {m} {p}: the account may not do this here",
    429: "too many requests (429) during {m} {p}: the server allows no more of this for now",
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


def retry_after_seconds(resp: requests.Response) -> float | None:
    """The wait a Retry-After header asks for (seconds or an HTTP date), None when absent or unreadable."""
    value = (resp.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def is_busy_answer(resp: requests.Response) -> bool:
    """Did the server refuse only because it was busy (a later identical request may succeed)?"""
    status = resp.status_code
    if status in _BUSY_STATUSES or status == 429:
        return True
    return status == 500 and bool(resp.content) and bool(_TRANSIENT_DB.search(resp.text[:4000]))


def is_busy_error(exc: BaseException | None) -> bool:
    """Was this error raised only because the server was busy (see is_busy_answer)?"""
    if isinstance(exc, RateLimited):
        return True
    if not isinstance(exc, ServerError) or isinstance(exc, (AuthError, UnreachableError)):
        return False
    return exc.status in _BUSY_STATUSES or (exc.status == 500 and bool(_TRANSIENT_DB.search(str(exc))))


def _cannot_connect(exc: requests.ConnectionError) -> bool:
    """Refused or unknown host (nothing listening): unlike a dropped connection, no quick recovery."""
    seen, todo = set(), [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if type(e).__name__ in ("NewConnectionError", "NameResolutionError", "ConnectionRefusedError"):
            return True
        todo.extend([getattr(e, "reason", None), e.__cause__, e.__context__,
                     *[a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]])
    return "refused" in str(exc).lower()


def _server_message(resp: requests.Response) -> str:
    """The short reason a Sabre/Nextcloud server gives in its error body, if any."""
    text = resp.text[:2000] if resp.content else ""
    m = re.search(r"<(?:\w+:)?message>([^<]{1,200})</", text)
    if m:
        return " ".join(m.group(1).split())
    return ""


class HttpClient:
    """Sends requests through one Session; counts them (thread-safe), retries what a busy server refused
    (see RetryPolicy) and maps failures to connector errors.

    `backoff` is the first retry's delay in seconds (doubled each time, with jitter); tests pass 0, and
    `sleep` to record waits instead of sleeping.
    """

    def __init__(self, session: requests.Session, *, timeout: tuple[float, float] = (5, 60),
                 backoff: float = 0.5, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, jitter: Callable[[], float] = random.random):
        self.session = session
        self.timeout = timeout
        self.backoff = backoff
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.jitter = jitter
        self.count = 0  # requests sent
        self.retries = 0  # of them, repeats of a request the server refused while busy
        self.busy = 0  # busy answers seen (retried or not)
        self._auth_failed: AuthError | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def user(self) -> str:
        auth = self.session.auth
        if isinstance(auth, tuple) and auth:
            return str(auth[0])
        return getattr(auth, "username", None) or "<unknown user>"

    def busy_seen(self) -> int:
        """Busy answers this thread has met so far (an adaptive pool compares it before and after a write)."""
        return getattr(self._local, "busy", 0)

    @staticmethod
    def retryable(method: str, headers: dict | None = None) -> bool:
        """May this request be sent again without changing the outcome?"""
        method = method.upper()
        return method in _IDEMPOTENT or (
            method == "PUT" and any(h.lower() in ("if-match", "if-none-match") for h in (headers or {})))

    def _backoff(self, attempt: int, factor: float = 1.0) -> float:
        """The wait before try `attempt + 1`: exponential, capped, with jitter (half fixed, half random)."""
        base = min(self.retry.cap, self.backoff * factor * self.retry.multiplier ** (attempt - 1))
        return base / 2 + base / 2 * self.jitter()

    def _note_busy(self) -> None:
        self._local.busy = self.busy_seen() + 1
        with self._lock:
            self.busy += 1

    def _wait(self, delay: float, why: str, method: str, url: str, attempt: int) -> None:
        log.info("%s during %s %s; retrying in %.1f s (attempt %d of %d)",
                 why, method, url_path(url), delay, attempt + 1, self.retry.attempts)
        with self._lock:
            self.retries += 1
        self.sleep(delay)

    def request(self, method: str, url: str, *, headers: dict | None = None, data=None,
                expect: Iterable[int] = (200, 201, 204, 207)) -> requests.Response:
        """Send one request; return the response when its status is in `expect`, else raise.

        401 always raises AuthError, and after one the client sends nothing more (each failed login
        slows the organisation's logins). A request that may be repeated is retried while the server
        is busy (RetryPolicy); a 429 that asks for no wait, or a long one, raises RateLimited.
        """
        method = method.upper()
        expect = set(expect)
        headers = dict(headers or {})
        # A body that is a stream could not be sent twice.
        retryable = self.retryable(method, headers) and (data is None or isinstance(data, (bytes, str, dict)))
        policy = self.retry
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            if self._auth_failed is not None:
                raise AuthError(str(self._auth_failed), status=401, method=method, url=_strip_userinfo(url))
            with self._lock:
                self.count += 1
            try:
                resp = self.session.request(method, url, headers=headers, data=data,
                                            timeout=self.timeout, verify=self.session.verify,
                                            allow_redirects=False)
            except requests.Timeout as exc:  # a timeout already cost its seconds: not repeated
                raise self._unreachable(method, url, exc) from None
            except requests.ConnectionError as exc:
                error = self._unreachable(method, url, exc)
                limit = 2 if _cannot_connect(exc) else policy.attempts
                delay = self._backoff(attempt)
                if (not retryable or isinstance(exc, requests.exceptions.SSLError) or attempt >= limit
                        or waited + delay > policy.max_wait):
                    raise _tried(error, attempt, waited) from None
                self._wait(delay, "connection refused or dropped", method, url, attempt)
                waited += delay
                continue
            status = resp.status_code
            if status in expect and status != 401:
                return resp
            error = self.error_for(resp, method, url)
            if status == 401:
                self._auth_failed = error
                raise error
            if not is_busy_answer(resp):
                raise error
            self._note_busy()
            after = retry_after_seconds(resp) if status in (429, 503) else None
            if not retryable or attempt >= policy.attempts:
                raise _tried(error, attempt, waited)
            if after is not None and after > policy.max_retry_after:
                raise _tried(error, attempt, waited)  # a long wait (429: a quota; 503: maintenance): a later run
            if status == 429 and after is None:
                raise _tried(error, attempt, waited)  # Nextcloud's hourly quotas name no time: callers defer
            factor = self.retry.lock_factor if status == 500 else 1.0  # 500 here: a transient database error
            delay = max(after or 0.0, self._backoff(attempt, factor))
            if waited + delay > policy.max_wait:
                raise _tried(error, attempt, waited)
            why = f"server busy ({status}{': ' + detail if (detail := _server_message(resp)) else ''})"
            self._wait(delay, why, method, url, attempt)
            waited += delay

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
        if status == 429:
            after = retry_after_seconds(resp)
            msg += f"; it asks to wait {after:.0f} s" if after is not None else "; it names no time to wait"
            return RateLimited(msg, retry_after=after, **kw)
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
            why = _connection_cause(exc)
        return UnreachableError(f"cannot reach {_host(url)}: {why} during {method} {path}",
                                method=method, url=_strip_userinfo(url))


def _connection_cause(exc: BaseException) -> str:
    """What went wrong under a requests ConnectionError, in words an admin can act on."""
    seen, text = set(), ""
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:  # the chain: requests -> urllib3 -> socket
        seen.add(id(cur))
        text += f" {type(cur).__name__} {cur}"
        if isinstance(cur, socket.gaierror) or type(cur).__name__ == "NameResolutionError":
            return "the host name does not resolve (DNS): check server.url"
        if isinstance(cur, ConnectionRefusedError):
            return "connection refused: nothing listens on that port (is the server up, the port right?)"
        cur = cur.__cause__ or cur.__context__ or (cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else None)
        if cur is None and getattr(exc, "args", None):
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            cur = reason if isinstance(reason, BaseException) and id(reason) not in seen else None
    if "Name or service not known" in text or "nodename nor servname" in text or "Failed to resolve" in text:
        return "the host name does not resolve (DNS): check server.url"
    if "Connection refused" in text:
        return "connection refused: nothing listens on that port (is the server up, the port right?)"
    return "connection dropped"


def _tried(error: ServerError, attempts: int, waited: float) -> ServerError:
    """The error, saying how often it was tried when that was more than once."""
    if attempts > 1:
        error.args = (f"{error.args[0]}; tried {attempts} times over {waited:.1f} s",)
    return error


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    return url
