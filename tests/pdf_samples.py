"""Plan PDFs for tests, typeset the way a secretary's Word file prints (Nghị định 30/2020 layout).

`typeset(text)` lays a plan's cleaned text (.txt: two header lines, one paragraph per line) on A4 pages:
letterhead and national motto in two columns, the number under the issuer and the place/date under the motto,
a centred title, justified body paragraphs with a first-line indent wrapped at the right margin, the page
number at the top centre from page 2 and a running footer. `pdf_bytes(pages)` writes the pages as a small
PDF with a Unicode (Identity-H) font and its ToUnicode map, so pypdf reads the text back. No font is
embedded: the tests read the text layer, they do not look at the pages.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
LEFT, RIGHT, TOP, BOTTOM = 85.0, 57.0, 57.0, 57.0  # 3 cm binding margin, 2 cm elsewhere
SIZE = 13.0
LEADING = 1.25 * SIZE
PARA_GAP = 6.0
INDENT = 36.0


def width(ch: str) -> int:
    """Advance width of a character in 1/1000 em (a Times-like proportional font)."""
    base = ch
    if ch == " ":
        return 250
    if ch in ".,:;'!|()[]/\"“”-–":
        return 300 if ch not in "–/" else 450
    if ch.isdigit():
        return 500
    plain = base.lower()
    if plain in "ijlft" or plain == "ì" or plain == "í":
        return 280
    if ch.isupper():
        return 700 if ch not in "MW" else 880
    return 750 if plain in "mw" else 500


def text_width(text: str, size: float = SIZE) -> float:
    return sum(width(c) for c in text) * size / 1000


@dataclass
class Run:
    """A piece of text placed at (x, y); `justify` spreads its words over that width."""

    x: float
    y: float
    text: str
    size: float = SIZE
    justify: float | None = None


@dataclass
class Page:
    runs: list[Run] = field(default_factory=list)


def _hex(text: str) -> str:
    return "<" + "".join(f"{ord(c):04X}" for c in text) + ">"


def _show(run: Run) -> str:
    if run.justify is None or " " not in run.text.strip():
        return f"{_hex(run.text)} Tj"
    words = run.text.split(" ")
    gaps = len(words) - 1
    extra = (run.justify - text_width(run.text, run.size)) / gaps  # points per gap
    adjust = -extra * 1000 / run.size
    parts = []
    for i, word in enumerate(words):
        parts.append(_hex(word + (" " if i < gaps else "")))
        if i < gaps:
            parts.append(f"{adjust:.1f}")
    return "[" + " ".join(parts) + "] TJ"


def pdf_bytes(pages: list[Page], *, order: str = "natural") -> bytes:
    """A PDF of the pages. order="shuffled" writes each page's rows bottom-up, footer first, as some
    producers do, so only a reader that sorts by position gets the reading order right."""
    used = sorted({c for p in pages for r in p.runs for c in r.text} | {" "})
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_id = add(b"")
    widths = " ".join(f"{ord(c)} [{width(c)}]" for c in used)
    descriptor = add(b"<< /Type /FontDescriptor /FontName /PlanSerif /Flags 34 /FontBBox [0 -250 1000 900] "
                     b"/ItalicAngle 0 /Ascent 900 /Descent -250 /CapHeight 700 /StemV 80 >>")
    cid = add(f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /PlanSerif /CIDSystemInfo << /Registry (Adobe) "
              f"/Ordering (Identity) /Supplement 0 >> /FontDescriptor {descriptor} 0 R /DW 500 /W [{widths}] "
              f"/CIDToGIDMap /Identity >>".encode())
    chunks = [used[i:i + 100] for i in range(0, len(used), 100)]
    cmap = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
            "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
    for chunk in chunks:
        cmap.append(f"{len(chunk)} beginbfchar")
        cmap += [f"<{ord(c):04X}> <{ord(c):04X}>" for c in chunk]
        cmap.append("endbfchar")
    cmap += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    to_unicode = add(_stream("\n".join(cmap).encode()))
    font = add(f"<< /Type /Font /Subtype /Type0 /BaseFont /PlanSerif /Encoding /Identity-H "
               f"/DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>".encode())
    kids = []
    for page in pages:
        runs = page.runs if order == "natural" else sorted(page.runs, key=lambda r: (r.y, r.x))
        ops = []
        for n, r in enumerate(runs):  # runs on one row share a BT/ET block, each placed by Tm
            opens = n == 0 or runs[n - 1].y != r.y
            closes = n == len(runs) - 1 or runs[n + 1].y != r.y
            ops.append(("BT " if opens else "") + f"/F1 {r.size:g} Tf 1 0 0 1 {r.x:.2f} {r.y:.2f} Tm {_show(r)}"
                       + (" ET" if closes else ""))
        content = add(_stream("\n".join(ops).encode(), compress=True))
        kids.append(add(f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {PAGE_W:g} {PAGE_H:g}] "
                        f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {content} 0 R >>".encode()))
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode()
    objects[pages_id - 1] = (f"<< /Type /Pages /Count {len(kids)} /Kids [" + " ".join(f"{k} 0 R" for k in kids)
                             + "] >>").encode()
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _stream(data: bytes, compress: bool = False) -> bytes:
    if compress:
        data = zlib.compress(data)
        return f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream"
    return f"<< /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"


# ------------------------------------------------------------------------------------ typesetting

def _wrap(text: str, first: float, rest: float, *, break_words: bool = True) -> list[str]:
    """Greedy line breaking; a token too long for a line is broken after a hyphen or slash inside it."""
    lines: list[str] = []
    line = ""
    limit = first
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if text_width(candidate) <= limit:
            line = candidate
            continue
        if break_words and ("-" in word or "/" in word) and line:
            head, _, tail = _split_token(word, limit - text_width(line + " "))
            if head:
                lines.append(f"{line} {head}")
                line, limit = tail, rest
                continue
        if line:
            lines.append(line)
        line, limit = word, rest
    if line:
        lines.append(line)
    return lines


def _split_token(word: str, room: float) -> tuple[str, str, str]:
    """The longest head of the word up to a hyphen or slash (kept on the first line) that fits the room."""
    best = ("", "", word)
    for m in re.finditer(r"[-/]", word):
        head = word[:m.end()]
        if text_width(head) <= room:
            best = (head, "", word[m.end():])
    return best


class _Pages:
    def __init__(self, footer: str | None):
        self.pages: list[Page] = []
        self.footer = footer
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        page = Page()
        self.pages.append(page)
        number = len(self.pages)
        if number > 1:  # Nghị định 30/2020: the page number at the top centre, from page 2
            label = str(number)
            page.runs.append(Run((PAGE_W - text_width(label, 12)) / 2, PAGE_H - 35, label, 12))
        if self.footer:
            page.runs.append(Run(LEFT, 30, self.footer, 9))
        self.y = PAGE_H - TOP - SIZE

    def line(self, x: float, text: str, justify: float | None = None, size: float = SIZE) -> None:
        if self.y < BOTTOM:
            self.new_page()
        self.pages[-1].runs.append(Run(x, self.y, text, size, justify))
        self.y -= LEADING

    def gap(self, points: float) -> None:
        self.y -= points


def typeset(text: str, *, footer: str | None = None, words_apart: bool = False, indent: float = INDENT,
            para_gap: float = PARA_GAP) -> list[Page]:
    """A cleaned plan text laid out as printed pages (see the module docstring).

    words_apart=True writes every word of a row without a stretch (a paragraph's last) as its own positioned
    run, as some PDF producers do; indent=0 with a para_gap sets paragraphs apart by space alone."""
    lines = text.splitlines()
    pages = _Pages(footer)
    body_w = PAGE_W - LEFT - RIGHT
    i = 0
    if len(lines) > 1 and lines[0].strip() and re.match(r"^Số\s*:", lines[1]):
        issuer, number_line = lines[0].strip(), lines[1].strip()
        number, _, place_date = re.split(r"(\s{2,})", number_line, maxsplit=1) if re.search(r"\s{2,}", number_line) \
            else (number_line, "", "")
        left = _wrap(issuer, 200, 200, break_words=False) + ["", number]
        right = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "", place_date.strip()]
        col_left, col_right = LEFT - 30, 300.0
        for row in range(max(len(left), len(right))):
            for x0, cells in ((col_left, left), (col_right, right)):
                if row < len(cells) and cells[row]:
                    w = text_width(cells[row])
                    x = x0 + (240 - w) / 2 if row < len(cells) - 1 else x0 + (240 - w) / 2
                    pages.pages[-1].runs.append(Run(x, pages.y, cells[row]))
            pages.y -= LEADING
        pages.gap(LEADING)
        i = 2
    in_title = False
    rest = lines[i:]
    k = 0
    while k < len(rest):
        para = rest[k].strip()
        k += 1
        if re.match(r"^Nơi nhận", para):  # recipients on the left, the signature on the right, side by side
            block = [para]
            while k < len(rest) and not re.match(r"^(?:KẾ HOẠCH|PHỤ LỤC|\[\d+\])", rest[k].strip()):
                block.append(rest[k].strip())
                k += 1
            role = next((n for n, t in enumerate(block) if re.match(r"^(?:TM\.|T/M|KT\.|K/T|TL\.)", t)), len(block))
            left, right = [t for t in block[:role] if t], [t for t in block[role:] if t]
            top = pages.y
            for t in left:
                pages.line(LEFT, t, size=10)
            pages.y = top
            for t in right:
                pages.line(330 + (200 - text_width(t)) / 2, t)
            pages.y = min(pages.y, top - LEADING * len(left))
            if k < len(rest):
                pages.new_page()
            continue
        if not para:
            pages.gap(para_gap)
            in_title = False  # the title block ends at the first blank line
            continue
        in_title = in_title or para in ("KẾ HOẠCH", "QUYẾT ĐỊNH", "CHƯƠNG TRÌNH")
        if in_title or (para.upper() == para and len(para) < 90 and not re.match(r"^[IVX]+\.", para)):
            for piece in _wrap(para, body_w - 60, body_w - 60, break_words=False):
                pages.line(LEFT + (body_w - text_width(piece)) / 2, piece)
            continue
        wrapped = _wrap(para, body_w - indent, body_w)
        for n, piece in enumerate(wrapped):
            x = LEFT + (indent if n == 0 else 0)
            last = n == len(wrapped) - 1
            justify = None if last else (body_w - (indent if n == 0 else 0))
            if words_apart and not justify:
                xw = x
                for word in piece.split(" "):
                    if pages.y < BOTTOM:
                        pages.new_page()
                    pages.pages[-1].runs.append(Run(xw, pages.y, word))
                    xw += text_width(word + " ")
                pages.y -= LEADING
            else:
                pages.line(x, piece, justify)
        pages.gap(para_gap)
    return pages.pages
