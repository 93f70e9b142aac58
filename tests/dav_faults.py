"""Fault injection for the real servers: a WSGI middleware around the embedded Radicale and WsgiDAV apps
(EmbeddedServers(middleware=faults.wrap)) or around a proxy to another server (`proxy_app`).

    faults = Faults()
    servers = EmbeddedServers(data, middleware=faults.wrap).start()
    faults.add(Rule(503, every=4, limit=3))           # every 4th write answered 503, three times
    faults.add(Rule("drop_after", methods={"PUT"}))    # the PUT is applied, then the connection is cut

Faults: an int status (the server is not asked; `body`/`headers` answered instead); "drop" (the connection
is cut before the server sees the request); "drop_after" (the server applies it, the answer is lost);
"stall" (held `seconds`, then passed on: the client has given up by then, the server still applies it);
"strip_etag" (passed on, the ETag header removed from the answer). Every request is logged.
"""
from __future__ import annotations

import socket
import sys
import threading
import time
from dataclasses import dataclass, field

WRITES = frozenset({"PUT", "DELETE", "MKCOL", "MKCALENDAR", "PROPPATCH", "MOVE"})
_REASONS = {401: "Unauthorized", 423: "Locked", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable", 507: "Insufficient Storage"}


@dataclass
class Rule:
    fault: int | str
    methods: frozenset[str] | set[str] = WRITES
    server: str | None = None  # "caldav" or "webdav"; None: both
    every: int = 1  # the n-th, 2n-th ... matching request
    after: int = 0  # the first `after` matching requests pass untouched
    limit: int | None = None  # at most this many faults
    path_contains: str | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # "stall"
    seen: int = 0
    fired: int = 0

    def matches(self, server: str, method: str, path: str) -> bool:
        if self.server not in (None, server) or method not in self.methods:
            return False
        if self.path_contains is not None and self.path_contains not in path:
            return False
        if self.limit is not None and self.fired >= self.limit:
            return False
        self.seen += 1
        if self.seen <= self.after or (self.seen - self.after) % self.every:
            return False
        self.fired += 1
        return True


@dataclass
class Seen:
    server: str
    method: str
    path: str
    headers: dict[str, str]
    fault: int | str | None
    status: int | None = None


class Faults:
    """The schedule of faults (rules, first match wins) and the log of every request."""

    def __init__(self):
        self.rules: list[Rule] = []
        self.log: list[Seen] = []
        self.on_request = None  # called with (index, Seen) before the request is handled (e.g. to kill a run)
        self._lock = threading.Lock()

    def add(self, *rules: Rule) -> None:
        with self._lock:
            self.rules.extend(rules)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    @property
    def fired(self) -> int:
        return sum(r.fired for r in self.rules)

    def seen(self, method: str | None = None, server: str | None = None) -> list[Seen]:
        return [s for s in self.log if (method is None or s.method == method) and (server in (None, s.server))]

    def wrap(self, server: str, app):
        def middleware(environ, start_response):
            method = environ["REQUEST_METHOD"].upper()
            path = environ.get("PATH_INFO", "")
            headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
            with self._lock:
                rule = next((r for r in self.rules if r.matches(server, method, path)), None)
                entry = Seen(server, method, path, headers, rule.fault if rule else None)
                self.log.append(entry)
                index = len(self.log)
            if self.on_request is not None:
                self.on_request(index, entry)
            fault = rule.fault if rule else None
            if isinstance(fault, int):
                _drain(environ)
                entry.status = fault
                start_response(f"{fault} {_REASONS.get(fault, 'Error')}",
                               [("Content-Type", "text/plain"), ("Content-Length", str(len(rule.body))),
                                *rule.headers.items()])
                return [rule.body]
            if fault == "drop":
                _drain(environ)
                _cut()
            if fault == "stall":
                time.sleep(rule.seconds)
            status_line: list = []

            def capture(status, response_headers, exc_info=None):
                status_line[:] = [status, response_headers]
                if fault == "strip_etag":
                    response_headers = [(k, v) for k, v in response_headers if k.lower() != "etag"]
                return start_response(status, response_headers, exc_info) if fault != "drop_after" else (lambda b: None)

            result = app(environ, capture)
            if fault == "drop_after":
                try:
                    for _chunk in result:  # let the server finish its work, then lose the answer
                        pass
                finally:
                    getattr(result, "close", lambda: None)()
                _cut()
            entry.status = int(status_line[0].split()[0]) if status_line else None
            return result
        return middleware


def _drain(environ) -> None:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)


class Dropped(Exception):
    """Raised after the connection is cut, so the server abandons the request."""


def _cut() -> None:
    """Cut the connection of the request this (cheroot worker) thread is serving, without an answer."""
    conn = getattr(threading.current_thread(), "conn", None)
    if conn is not None:
        try:
            conn.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise Dropped("connection cut by fault injection")


def quiet_cuts(server) -> None:
    """Keep a cheroot server from logging a traceback for each connection cut on purpose."""
    error_log = server.error_log

    def log(msg="", level=20, traceback=False):
        if "fault injection" not in f"{sys.exc_info()[1] or ''}{msg}":
            error_log(msg, level, traceback)
    server.error_log = log


def proxy_app(target: str):
    """A WSGI app passing every request on to `target` (scheme://host:port), answers unchanged."""
    import requests

    from http.cookiejar import DefaultCookiePolicy

    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # cookies are the client's business
    hop = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "host", "set-cookie"}

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        headers.pop("Host", None)
        url = target.rstrip("/") + environ["REQUEST_URI"]  # as sent: still percent-encoded
        resp = session.request(environ["REQUEST_METHOD"], url, headers=headers, data=body,
                               allow_redirects=False, timeout=60)
        out = [(k, v) for k, v in resp.headers.items() if k.lower() not in hop]
        out += [("Set-Cookie", v) for v in resp.raw.headers.getlist("Set-Cookie")]  # one header each
        out.append(("Content-Length", str(len(resp.content))))
        start_response(f"{resp.status_code} {resp.reason or ''}".strip(), out)
        return [resp.content]
    return app


class WsgiServer:
    """One WSGI app on 127.0.0.1 (a free port unless given), in a daemon thread; a context manager."""

    def __init__(self, app, port: int = 0):
        from cheroot import wsgi

        self.server = wsgi.Server(("127.0.0.1", port), app, numthreads=10, shutdown_timeout=1)
        self.server.expiration_interval = 0.05
        quiet_cuts(self.server)
        self.server.prepare()
        self.url = f"http://127.0.0.1:{self.server.bind_addr[1]}"
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()

    def __enter__(self) -> WsgiServer:
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()
        self.thread.join(timeout=5)
