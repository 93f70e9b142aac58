"""A PDF plan's text layer as the importer's text: one paragraph per line, a blank line between.

pypdf lays each page out in reading order (rows top to bottom, text left to right, by position, whatever
order the producer wrote it in); this module turns the rows into paragraphs the way the plan was typed:

- Page furniture goes: page numbers ("2", "- 2 -", "Trang 2/5") and running headers/footers (the same top or
  bottom row on several pages, numbers aside).
- The letterhead block (issuer on the left, national motto on the right, "Số: …" under the issuer and the
  place and date under the motto) becomes the two lines a cleaned plan opens with: the issuer on one line,
  then "Số: …    <place>, ngày …". The "Nơi nhận" / signature block is read left column, then right column.
- Wrapped lines join into their paragraph. A row opens a new paragraph when it is indented (a first-line
  indent, a centred title line), when the row above stopped short (its break was typed, not wrapped), or
  when it opens an item ("1.", "a)", "-", "+") after a row that ends a sentence or clause.
- De-hyphenation for Vietnamese: words are syllables apart and never hyphenated at a line end, so a hyphen
  or slash ending a row belongs to a compound token that the next row finishes ("21-" + "KL/TW",
  "2026-" + "2031", "85/" + "2015/QH13"): the rows are glued and the hyphen kept. A soft hyphen is dropped.
  A dash after a space ("2026 -" + "2030") is a dash: the rows join with a space.

Tables are read row by row as text (a task table reads well from .docx or Markdown, not from PDF).
"""
from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass

from connector.errors import PlanError
from connector.plan import structure as st

_SEGMENT = re.compile(r"\S+(?: {1,5}\S+)*")  # columns of a two-column block (letterhead, signature) lie further apart
_PAGE_NUMBER = re.compile(r"^(?:[-–—]\s*)?(?:trang\s+)?\d{1,3}(?:\s*(?:/|của|trên)\s*\d{1,3})?(?:\s*[-–—])?$",
                          re.IGNORECASE)
_MOTTO = re.compile(r"^(?:CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM|CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM|ĐẢNG CỘNG SẢN VIỆT NAM"
                    r"|Độc lập\s*[-–]\s*Tự do\s*[-–]\s*Hạnh phúc)$", re.IGNORECASE)
_NUMBER = re.compile(r"^Số\s*:?\s*\S*\d")
_PLACE_DATE = re.compile(r"^[^\W\d_][^\d,;:]{1,40},\s*ngày\s+\d{1,2}", re.IGNORECASE)
_TITLE = re.compile(r"^(?:KẾ HOẠCH|QUYẾT ĐỊNH|CHƯƠNG TRÌNH|HƯỚNG DẪN|PHỤ LỤC|CHỈ THỊ|NGHỊ QUYẾT|THÔNG BÁO)\b")
_NARROW = set(".,:;'!|()[]ijltfrIJ\"“”-ìíỉĩịÌÍỈĨỊ")
_ENDS_CLAUSE = ".;:!?…)”\"»"
_FOOTNOTE = re.compile(r"^\[\d{1,2}\]\s")
_SOFT_HYPHEN = "\u00ad"
_TENTH = 0.1
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\u00a0": " ", "\t": " ", "\u2002": " ",
                            "\u2003": " ", "\u2009": " ", "\u200b": ""})


@dataclass
class Row:
    """One printed line: its text, where it starts and ends (in character cells from the page's margin)."""

    page: int
    indent: int
    text: str
    end: float
    gap: int = 0  # distance from the row above on its page, in tenths of the font's height (0: first row)
    spaced: bool = False  # more space above than between the rows of a paragraph

    @property
    def segments(self) -> list[tuple[int, str]]:
        """(start cell, text) of each column of the row: runs of text six or more cells apart."""
        return [(self.indent + m.start(), m.group()) for m in _SEGMENT.finditer(self.text)]


def read_pdf(data: bytes, where: str) -> str:
    """The text of a PDF plan with a text layer; PlanError naming the file otherwise."""
    import pypdf  # imported here so text plans do not pay for it
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    quiet = logging.getLogger("pypdf")  # its warnings about a damaged file are not the user's business
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise PlanError("encrypted PDF: save it again without a password", path=where)
        # layout mode writes one blank line per tenth of a font height between rows: their spacing, recovered
        pages = [page.extract_text(extraction_mode="layout", layout_mode_space_vertically=True,
                                   layout_mode_font_height_weight=_TENTH) for page in reader.pages]
    except PlanError:
        raise
    except FileNotDecryptedError:
        raise PlanError("encrypted PDF: save it again without a password", path=where) from None
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise PlanError(f"not a readable PDF file: corrupt or not a PDF ({type(exc).__name__})", path=where) from None
    except Exception as exc:  # noqa: BLE001 - a damaged PDF fails in many ways inside pypdf
        raise PlanError(f"corrupt PDF file ({type(exc).__name__})", path=where) from None
    finally:
        quiet.setLevel(level)
    text = "".join(pages).translate(_LIGATURES)
    letters = sum(c.isalpha() for c in text)
    if letters < 20:
        raise PlanError(f"no text layer: scanned PDF; OCR it first ({len(reader.pages)} page(s), no text)", path=where)
    odd = sum(1 for c in text if "\ue000" <= c <= "\uf8ff" or c == "\ufffd" or (c < " " and c not in "\n\r"))
    if odd > letters / 10:
        raise PlanError("the PDF's text layer is not readable text (fonts without a Unicode map); "
                        "OCR it, or export the PDF again from the word processor", path=where)
    return pdf_text([p.translate(_LIGATURES) for p in pages])


def pdf_text(pages: list[str]) -> str:
    """The plan text from pypdf's layout-mode text of each page (pure)."""
    rows = _rows(pages)
    rows = _without_furniture(rows, len(pages))
    _mark_spacing(rows)
    header, rows = _letterhead(rows)
    out = header + _paragraphs(rows)
    return "\n".join(out).strip("\n") + "\n"


def _rows(pages: list[str]) -> list[Row]:
    rows = []
    for number, page in enumerate(pages):
        lines, gaps, blanks = [], [], 0
        for line in page.splitlines():
            if not line.strip():
                blanks += 1
                continue
            gaps.append(blanks + 1 if lines else 0)
            lines.append(line.rstrip())
            blanks = 0
        if not lines:
            continue
        starts = Counter(len(line) - len(line.lstrip()) for line in lines)
        # the page's body margin: the leftmost start that many rows share (a letterhead may stand further left)
        margin = min((s for s, n in starts.items() if n >= max(2, len(lines) * 0.15)), default=min(starts))
        for line, gap in zip(lines, gaps):
            indent = len(line) - len(line.lstrip())
            rows.append(Row(number, indent - margin, line.strip(), indent - margin + _cells(line.strip()), gap))
    return rows


def _mark_spacing(rows: list[Row]) -> None:
    """Mark the rows with more space above them than a paragraph's rows have (the usual row pitch)."""
    pitches = Counter(r.gap for r in rows if r.gap)
    if not pitches:
        return
    pitch = pitches.most_common(1)[0][0]
    first_on_page = set()
    for i, row in enumerate(rows):
        if i == 0 or rows[i - 1].page != row.page:
            first_on_page.add(i)
    for i, row in enumerate(rows):
        row.spaced = i not in first_on_page and row.gap >= pitch + max(2, pitch // 4)


def _cells(text: str) -> float:
    """The width of a text in average-character cells. pypdf places each row where the page puts it but
    then writes one cell per character, so a row of capitals looks short and one of "i"s long: weigh them."""
    return sum(0.6 if c == " " or c in _NARROW else 1.35 if c.isupper() or c in "mwMW" else 1.0 for c in text)


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.lower()))


def _without_furniture(rows: list[Row], pages: int) -> list[Row]:
    """Rows without page numbers and running headers/footers (the same text at a page's edge on ≥2 pages)."""
    by_page: dict[int, list[Row]] = {}
    for row in rows:
        by_page.setdefault(row.page, []).append(row)
    edge = Counter()
    for page_rows in by_page.values():
        for row in {id(r): r for r in page_rows[:2] + page_rows[-2:]}.values():
            edge[_key(row.text)] += 1
    repeated = {k for k, n in edge.items() if n >= 2 and n >= pages / 2 and pages >= 2}
    drop: set[int] = set()
    for page_rows in by_page.values():
        for ordered in (page_rows, page_rows[::-1]):
            for row in ordered[:3]:
                if _PAGE_NUMBER.match(row.text) or _key(row.text) in repeated:
                    drop.add(id(row))
                else:
                    break
    return [r for r in rows if id(r) not in drop]


def _letterhead(rows: list[Row]) -> tuple[list[str], list[Row]]:
    """The two-column block atop page 1 as "<issuer>" and "Số: …    <place>, ngày …"; the rows after it."""
    first = [r for r in rows[:12] if r.page == rows[0].page] if rows else []
    end = 0
    for i, row in enumerate(first):
        if _TITLE.match(row.text) and len(row.segments) == 1:
            break
        if len(row.segments) > 1 or _NUMBER.match(row.text) or _PLACE_DATE.match(row.segments[-1][1]):
            end = i + 1
    if not end:
        return [], rows
    block = rows[:end]
    width = max(r.end for r in rows if r.page == rows[0].page)
    left, right = _columns(block, width)
    left = [t for t in left if any(c.isalnum() for c in t)]
    right = [t for t in right if any(c.isalnum() for c in t) and not _MOTTO.match(t)]
    number = next((t for t in left if _NUMBER.match(t)), None)
    place = next((t for t in right if _PLACE_DATE.match(t)), None)
    issuer: list[str] = []
    rest: list[str] = []
    for t in left:
        if t is number:
            continue
        if t.upper() == t and not rest:
            issuer.append(t)
        else:
            rest.append(t)
    out = [" ".join(issuer)] if issuer else []
    if number and place:
        out.append(f"{number}    {place}")
    else:
        out += [t for t in (number, place) if t]
    out += rest + [t for t in right if t is not place]
    return out + [""], rows[end:]


def _columns(block: list[Row], width: int) -> tuple[list[str], list[str]]:
    """The texts of a two-column block: left column top to bottom, then right column."""
    middle = width * 0.42
    left, right = [], []
    for row in block:
        segments = row.segments
        if len(segments) > 1:  # the gap tells the columns apart (its width in cells may not be its width)
            left.append(segments[0][1])
            right.extend(text for _, text in segments[1:])
        else:
            (right if segments[0][0] >= middle else left).append(segments[0][1])
    return left, right


def _paragraphs(rows: list[Row]) -> list[str]:
    out: list[str] = []
    widths = sorted(r.end for r in rows if r.indent <= 1) or [r.end for r in rows] or [0]
    full = widths[int(len(widths) * 0.9)]  # a full (justified) body row ends about here
    indents = Counter(r.indent for r in rows if r.indent > 1).most_common(1)
    # the usual first-line indent, where paragraphs have one
    indent = indents[0][0] if indents and indents[0][1] >= 0.1 * len(rows) else -9
    current: str | None = None
    prev: Row | None = None
    hanging = False  # the previous row went on under its item's text
    i = 0
    while i < len(rows):
        row = rows[i]
        if st._RECIPIENTS.match(row.text):  # "Nơi nhận" beside the signature: one column, then the other
            j = i
            while j < len(rows) and not (j > i and (_TITLE.match(rows[j].text) and len(rows[j].segments) == 1
                                                    or _FOOTNOTE.match(rows[j].text))):
                j += 1
            if current is not None:
                out += [current, ""]
                current = None
            left, right = _columns(rows[i:j], full)
            out += left + [""] + right + [""]
            prev, i = None, j
            continue
        if current is not None and prev is not None and _continues(prev, row, full, indent, hanging):
            current = _join(current, row.text)
            hanging = row.indent > 1
        else:
            hanging = False
            if current is not None:
                out += [current, ""]
            current = row.text
        prev = row
        i += 1
    if current is not None:
        out.append(current)
    return [re.sub(r"(?<=\S) {2,}", " ", line) for line in out]


def _continues(prev: Row, row: Row, full: float, indent: int, hanging: bool = False) -> bool:
    """True when the row goes on with the paragraph the previous row belongs to.

    `full`: where a full body row ends; `indent`: the usual first-line indent (-9: none). Cells count characters,
    not widths, so a full justified row ends anywhere from about 80% of `full` to beyond it: "short"
    means clearly short."""
    glued = prev.text.endswith((_SOFT_HYPHEN, "-", "/")) and not prev.text.endswith((" -", " /"))
    if row.spaced:
        return False  # space above the row: a new paragraph
    item = bool(st.item_number(row.text) or st._BULLET.match(row.text))
    prev_full = prev.end >= 0.8 * full
    if row.indent > 1:  # a first-line indent or a centred line; a hanging indent goes on under its item's text
        under = abs(_text_start(prev) - row.indent) <= 1 or (hanging and row.indent == prev.indent)
        # a long centred line (a title) wraps onto the next centred row
        title = (prev.indent > 2 and abs(row.indent - indent) > 0.5 and prev.end - prev.indent >= 0.6 * full
                 and _caps(prev.text) == _caps(row.text) and not row.text.startswith("(")
                 and not prev.text.endswith((".", ";", ":")) and not st.item_number(row.text))
        return glued or title or (prev_full and not item and under)
    if glued:
        return True
    if prev.indent > 1 and not prev_full:
        return False  # a centred title line, or a short indented one-liner
    ends_clause = prev.text.endswith(tuple(_ENDS_CLAUSE))
    if item and ends_clause:
        return False
    word = row.text.split(" ", 1)[0]
    if prev.end + 0.6 + _cells(word) < 0.8 * full or (ends_clause and not prev_full):
        return False  # the next word would have fitted on the previous row: its break was typed
    return True


def _caps(text: str) -> bool:
    return not any(c.islower() for c in text)


def _text_start(row: Row) -> float:
    """Where the text of an item starts after its marker ("1.  Text" → the cell of "Text")."""
    m = re.match(r"^(?:\d{1,2}(?:\.\d{1,2})*[.)]|[a-zđ][.)]|[-–+•])\s+", row.text)
    return row.indent + _cells(m.group()) if m else -9


def _join(text: str, more: str) -> str:
    """Two rows of one paragraph, de-hyphenated the Vietnamese way (see the module docstring)."""
    if text.endswith(_SOFT_HYPHEN):
        return text[:-1] + more
    if re.search(r"\S[-/]$", text):
        return text + more
    return f"{text} {more}"
