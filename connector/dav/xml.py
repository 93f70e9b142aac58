"""Parse WebDAV multistatus answers (with defusedxml) into plain responses."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree as ET
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as DET

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"
OC = "http://owncloud.org/ns"
NC = "http://nextcloud.org/ns"
APPLE = "http://apple.com/ns/ical/"

NAMESPACES = {"d": DAV, "c": CALDAV, "cs": CS, "oc": OC, "nc": NC, "a": APPLE}


def clark(prefixed: str) -> str:
    """"d:getetag" -> "{DAV:}getetag"."""
    prefix, local = prefixed.split(":", 1)
    return f"{{{NAMESPACES[prefix]}}}{local}"


@dataclass
class Response:
    """One <d:response>: its href (decoded path, NFC), status and the properties found or missing."""

    href: str
    status: int
    props: dict[str, Element] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)

    def text(self, name: str) -> str | None:
        """Text of a property (Clark or "d:name" form), or None when absent."""
        el = self.props.get(name if name.startswith("{") else clark(name))
        return None if el is None else (el.text or "")

    def has(self, name: str) -> bool:
        return (name if name.startswith("{") else clark(name)) in self.props


@dataclass
class Multistatus:
    responses: list[Response]
    sync_token: str | None = None


@lru_cache(maxsize=64)
def _status_code(text: str | None) -> int:
    m = re.search(r"\s(\d{3})(\s|$)", f" {text or ''} ")
    return int(m.group(1)) if m else 200


@lru_cache(maxsize=65536)
def _segment(raw: str) -> str:
    return unicodedata.normalize("NFC", unquote(raw))


def href_path(href: str) -> str:
    """A href (path or absolute URL, percent-encoded any case) as a decoded NFC path."""
    href = href.strip()
    if not href.startswith("/") or href.startswith("//") or "?" in href or "#" in href:
        href = urlsplit(href).path
    # Segment by segment: the hrefs of one listing repeat their folders' names, decoded once.
    return "/".join(map(_segment, href.split("/")))


_UTF8_DECLARATION = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']\s*(utf-?8|us-ascii)\s*[\"']|<\?xml(?![^>]*encoding)", re.I)


def _plain(body: bytes | str) -> bool:
    """A body without any markup declaration (no DTD, hence no entities) in UTF-8: safe for the C parser,
    twice as fast on a large listing as defusedxml's, which guards the rest."""
    if isinstance(body, str):
        return "<!" not in body
    if not body.startswith(b"<") or body[1:2] in (b"", b"\0") or b"<!" in body:
        return False
    return not body.startswith(b"<?") or _UTF8_DECLARATION.match(body) is not None


def parse_multistatus(body: bytes | str) -> Multistatus:
    """Parse a 207 body. propstat blocks with a non-2xx status go to `missing`."""
    root = ET.fromstring(body) if _plain(body) else DET.fromstring(body)
    if root.tag != f"{{{DAV}}}multistatus":
        raise ValueError(f"expected a DAV multistatus, got {root.tag}")
    out: list[Response] = []
    for r in root.findall(f"{{{DAV}}}response"):
        href_el = r.find(f"{{{DAV}}}href")
        if href_el is None or not (href_el.text or "").strip():
            continue
        resp = Response(href=href_path(href_el.text), status=_status_code(r.findtext(f"{{{DAV}}}status")))
        for ps in r.findall(f"{{{DAV}}}propstat"):
            ok = 200 <= _status_code(ps.findtext(f"{{{DAV}}}status")) < 300
            prop = ps.find(f"{{{DAV}}}prop")
            for el in (list(prop) if prop is not None else []):
                if ok:
                    resp.props[el.tag] = el
                else:
                    resp.missing.add(el.tag)
        out.append(resp)
    return Multistatus(out, root.findtext(f"{{{DAV}}}sync-token"))

