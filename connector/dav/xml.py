"""Parse WebDAV multistatus answers (with defusedxml) into plain responses."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit
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


def _status_code(text: str | None) -> int:
    m = re.search(r"\s(\d{3})(\s|$)", f" {text or ''} ")
    return int(m.group(1)) if m else 200


def href_path(href: str) -> str:
    """A href (path or absolute URL, percent-encoded any case) as a decoded NFC path."""
    return unicodedata.normalize("NFC", unquote(urlsplit(href.strip()).path))


def parse_multistatus(body: bytes | str) -> Multistatus:
    """Parse a 207 body. propstat blocks with a non-2xx status go to `missing`."""
    root = DET.fromstring(body)
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

