"""Replay the recorded Nextcloud exchanges in ../shared/fixtures with `responses`.

A fixture file holds one or more exchanges: `### REQUEST`, the request line, headers, blank line,
body; then `### RESPONSE (N ms)`, the status line, headers, blank line, body.

    ex = exchange("nextcloud-29", "e6")         # the file e6_*.txt (first exchange)
    register(rsps, ex)                          # answer the recorded request with the recorded answer
    ex.request_body / ex.request_headers        # what the recording client sent
    ex.url                                      # http://127.0.0.1:8080/remote.php/...
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import responses

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
if not FIXTURES.is_dir():  # the checkout may live elsewhere; the shared folder is at /work/shared
    FIXTURES = Path("/work/shared/fixtures")

VERSIONS = ("nextcloud-29", "nextcloud-34")
# Headers that describe the recorded connection, not the answer.
_DROP = {"content-length", "connection", "set-cookie", "transfer-encoding", "date", "host"}


@dataclass
class Exchange:
    file: str
    method: str
    target: str  # request-target as recorded (percent-encoded path + query)
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    reason: str
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""

    @property
    def base(self) -> str:
        return "http://" + self.request_headers.get("Host", "127.0.0.1")

    @property
    def url(self) -> str:
        return self.base + self.target

    def header(self, name: str) -> str | None:
        """A response header (case-insensitive)."""
        for k, v in self.response_headers:
            if k.lower() == name.lower():
                return v
        return None


def _split_head(block: str) -> tuple[list[str], str]:
    head, _, body = block.partition("\n\n")
    return head.split("\n"), body


def _body(text: str, headers: dict[str, str]) -> bytes:
    # The recorder ends every body with a newline (if it lacks one) plus a blank line. Content-Length
    # trims the rest where it can; it can be larger than the text (CRLF stored as LF, redacted secrets).
    raw = text.encode("utf-8")
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    length = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
    if length is not None and length.isdigit() and int(length) <= len(raw):
        return raw[: int(length)]
    return raw


def parse(text: str, name: str = "") -> list[Exchange]:
    """All exchanges in one fixture text."""
    out = []
    for chunk in re.split(r"^### REQUEST\n", text, flags=re.M)[1:]:
        req, resp = re.split(r"^### RESPONSE[^\n]*\n", chunk, maxsplit=1, flags=re.M)
        req_lines, req_body = _split_head(req)
        method, target, _ = req_lines[0].split(" ", 2)
        req_headers = dict(line.split(": ", 1) for line in req_lines[1:] if ": " in line)
        resp_lines, resp_body = _split_head(resp)
        _, status, reason = (resp_lines[0].split(" ", 2) + [""])[:3]
        resp_headers = [tuple(line.split(": ", 1)) for line in resp_lines[1:] if ": " in line]
        out.append(Exchange(
            file=name, method=method, target=target, request_headers=req_headers,
            request_body=_body(req_body, req_headers), status=int(status), reason=reason,
            response_headers=resp_headers, response_body=_body(resp_body, dict(resp_headers))))
    return out


def _path(version: str, key: str) -> Path:
    folder = FIXTURES / version
    exact = folder / f"{key}.txt"
    if exact.exists():
        return exact
    matches = sorted(folder.glob(f"{key}_*.txt"))
    if not matches:
        raise FileNotFoundError(f"no fixture {key} in {folder}")
    if len(matches) > 1:
        raise LookupError(f"fixture key {key} is ambiguous in {version}: {[m.name for m in matches]}")
    return matches[0]


def exchanges(version: str, key: str) -> list[Exchange]:
    """Every exchange of the fixture file `key` ("e6" -> e6_*.txt, or a full file stem)."""
    path = _path(version, key)
    return parse(path.read_text(encoding="utf-8"), path.name)


def exchange(version: str, key: str) -> Exchange:
    """The first exchange of a fixture file."""
    return exchanges(version, key)[0]


def has(version: str, key: str) -> bool:
    try:
        _path(version, key)
    except FileNotFoundError:
        return False
    return True


def as_response(ex: Exchange, *, url: str | None = None, method: str | None = None) -> responses.Response:
    """A `responses` registration answering `ex`'s request (or another url/method) with its recorded answer."""
    headers = [(k, v) for k, v in ex.response_headers if k.lower() not in _DROP]
    return responses.Response(method=method or ex.method, url=url or ex.url, status=ex.status,
                              headers=headers, body=ex.response_body, content_type=None)


def register(rsps: responses.RequestsMock, ex: Exchange, *, url: str | None = None,
             method: str | None = None) -> responses.BaseResponse:
    """Register the recorded answer of `ex` on `rsps`."""
    return rsps.add(as_response(ex, url=url, method=method))
