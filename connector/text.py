"""Text helpers every stage shares: NFC normalization and ASCII slugs."""
from __future__ import annotations

import re
import unicodedata

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def nfc(text: str) -> str:
    """The text in Unicode NFC form (returned as is when it already is)."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def slug(text: str) -> str:
    """ASCII slug: diacritics stripped, đ → d, lower case, runs of other characters → "-"."""
    text = nfc(text).replace("đ", "d").replace("Đ", "D")
    ascii_text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
