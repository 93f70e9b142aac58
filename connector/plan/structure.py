"""The layout of a plan document (pure): paragraphs, Roman-numeral sections, numbered items,
the title block, issuing body, signer, issue date and term.

Works on the marked text `reader.read_document` returns: one paragraph (or wrapped line) per
line, italics as `*...*`, markdown `#`/`**` tolerated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from connector.text import slug

_HEADING = re.compile(r"^(?:(?:PHẦN|Phần|MỤC|Mục)\s+)?(?P<roman>[IVX]{1,5})\s*[.)/:–-]\s*(?P<title>\S.*)$")
# Plans without Roman sections number them "1. MỤC ĐÍCH, YÊU CẦU", "2. NHIỆM VỤ", and their tasks "2.1.", "2.2."
_ARABIC_SECTION = re.compile(r"^(?P<num>[1-9])\s*[.)/]\s*(?P<title>\S.*)$")
_SECTION_WORDS = re.compile(r"MỤC ĐÍCH|YÊU CẦU|NHIỆM VỤ|NỘI DUNG|GIẢI PHÁP|TỔ CHỨC THỰC HIỆN|ĐỐI TƯỢNG|PHẠM VI|"
                            r"KINH PHÍ|PHÂN CÔNG|TIẾN ĐỘ|THỜI GIAN")
_ROMANS = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
_ARABIC = re.compile(r"^\**\s*(?P<num>\d{1,2})\s*[.)]\**\s+(?!\d)")
_DOTTED = re.compile(r"^\**\s*\d{1,2}\.\d{1,2}(?:\.\d{1,2})?\.?\**\s+")
_LETTER = re.compile(r"^\**\s*(?P<num>[a-zđ])\s*\)\**\s+|^\**\s*(?P<num2>[a-zđ])\.\**\s+(?=\S)")
_NAMED = re.compile(r"^\**\s*(?:nhiệm vụ|nội dung|công việc)\s+(?:thứ\s+)?(?P<num>\d{1,2})\s*[:.)–-]\**\s*", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-–—+•●▪◦]|\*(?=\s))\s*")
_LABELLED = re.compile(r"^[^\s:]{1,25}(?:\s+[^\s:]+){0,4}\s*:\s")
_RULE = re.compile(r"^[\s\-_*=~.·]+$")
_ROLE = re.compile(r"^(?:T/M|TM\.?|K/T|KT\.?|T/L|TL\.?|Q\.|TUQ\.?)\s*\S")
_RECIPIENTS = re.compile(r"^\**\s*nơi\s+nhận\s*:?", re.IGNORECASE)
_TERMINAL = ".;:!?…)”\"»"
# After the signature: the plan a decision issues ("KẾ HOẠCH"), or an appendix ("PHỤ LỤC") with the task table.
_RESUME = re.compile(r"^(?:KẾ HOẠCH|PHỤ LỤC|Phụ lục)(?:\s+(?:[IVX]+|\d+|số\s+\d+)\b.*)?$")
_LETTERS = "abcdđefghijklmnopqrstuvwxyz"


def strip_marks(text: str) -> str:
    """Plain text: markdown heading hashes and `*`/`**` marks removed, spaces collapsed."""
    text = re.sub(r"^\s*#+\s*", "", text)
    text = re.sub(r"^\*\s+", "- ", text).replace("*", "")
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class Paragraph:
    """One logical paragraph: its marked text and the source lines it spans."""

    text: str
    lines: list[tuple[int, int]] = field(default_factory=list)  # (offset in text, 1-based line)
    rows: list[tuple[int, list[str]]] | None = None  # a pipe table: (line, cells) per row, header first

    @property
    def plain(self) -> str:
        return strip_marks(self.text)

    @property
    def line(self) -> int:
        return self.lines[0][1]

    def line_at(self, offset: int) -> int:
        found = self.lines[0][1]
        for start, line in self.lines:
            if start <= offset:
                found = line
        return found

    def append(self, text: str, line: int, sep: str = " ") -> None:
        self.text += sep
        self.lines.append((len(self.text), line))
        self.text += text


@dataclass
class Section:
    roman: str
    title: str  # plain, as written
    line: int
    paragraphs: list[Paragraph] = field(default_factory=list)


@dataclass
class Layout:
    """The document cut into its parts."""

    header: list[Paragraph]  # everything before the first Roman heading
    sections: list[Section]
    closing: list[tuple[int, str]]  # (line, plain) from "Nơi nhận:" on


def item_number(plain: str) -> tuple[str, int] | None:
    """(style, number) when a paragraph opens a numbered item: "1." "1)" → arabic, "a)" → letter,
    "Nhiệm vụ 1:" → named, "1.1." → dotted (never a task of its own)."""
    if _DOTTED.match(plain):
        return ("dotted", 0)
    m = _NAMED.match(plain)
    if m:
        return ("named", int(m.group("num")))
    m = _ARABIC.match(plain)
    if m:
        return ("arabic", int(m.group("num")))
    m = _LETTER.match(plain)
    if m:
        letter = (m.group("num") or m.group("num2")).lower()
        return ("letter", _LETTERS.index(letter) + 1)
    return None


def strip_item_marker(text: str) -> str:
    """The marked text of an item without its "1." / "a)" / "Nhiệm vụ 1:" opener."""
    for regex in (_NAMED, _DOTTED, _ARABIC, _LETTER):
        m = regex.match(text.lstrip())
        if m:
            return text.lstrip()[m.end():].lstrip()
    return text


def heading(plain: str, marked: str, markdown_heading: bool = False) -> tuple[str, str] | None:
    """(roman, title) when the line is a section heading such as "II. NHIỆM VỤ TRỌNG TÂM"."""
    m = _HEADING.match(plain)
    if not m or re.match(r"^V\s*/\s*V\b", plain, re.IGNORECASE):  # "V/V …" (về việc) is a subject line
        return None
    title = m.group("title").strip()
    if not any(c.isalpha() for c in title) or len(title) > 150:
        return None
    markdown = markdown_heading or (marked.startswith("**") and marked.endswith("**"))
    bare = re.sub(r"\s*\([^()]*\)\s*$", "", title)  # "NHIỆM VỤ (chi tiết Phụ lục đính kèm)"
    if bare.upper() != bare and not markdown:
        return None
    return m.group("roman"), title


def starts_paragraph(plain: str) -> bool:
    """Lines that always open a paragraph: numbered items, bullets, labelled lines."""
    if item_number(plain) or _BULLET.match(plain):
        return True
    labelled = _LABELLED.match(plain)  # "Thời gian thực hiện: ...", "Cơ quan chủ trì: ..."
    return bool(labelled and labelled.group(0)[:1].isupper())


def _ends_sentence(plain: str) -> bool:
    return not plain or plain[-1] in _TERMINAL


def arabic_heading(plain: str) -> tuple[int, str] | None:
    """(number, title) for an upper-case "2. NHIỆM VỤ VÀ GIẢI PHÁP" that names a plan section."""
    m = _ARABIC_SECTION.match(plain)
    if not m:
        return None
    title = m.group("title").strip(" *")
    if len(title) > 100 or title.upper() != title or not _SECTION_WORDS.search(title):
        return None
    return int(m.group("num")), title


def _arabic_sections(lines: list[str]) -> bool:
    """True when the plan numbers its sections 1., 2., 3. (and has no Roman ones)."""
    plains = [strip_marks(line) for line in lines]
    if any(heading(p, line.strip()) for p, line in zip(plains, lines)):
        return False
    return sum(1 for p in plains if arabic_heading(p)) >= 2


def build_layout(text: str) -> Layout:
    """Cut the text into header, Roman sections and closing, joining wrapped and page-split lines.

    A line continues the previous paragraph when it starts lower-case or the previous one ends
    mid-sentence (no . ; : ! ? or closing bracket), unless it opens a heading or an item.
    Above the first heading (letterhead, title) only a lower-case line continues.
    """
    header: list[Paragraph] = []
    sections: list[Section] = []
    closing: list[tuple[int, str]] = []
    current: list[Paragraph] = header
    last: Paragraph | None = None
    blank_before = False
    lines = text.splitlines()
    arabic = _arabic_sections(lines)
    section_number = 0
    in_closing = False
    for number, raw in enumerate(lines, 1):
        marked = raw.strip()
        hashes = marked.startswith("#")
        marked = re.sub(r"^#+\s*", "", marked)
        if marked.startswith("* "):  # a markdown bullet, not an italic mark
            marked = "- " + marked[2:]
        plain = strip_marks(marked)
        if in_closing and _RESUME.match(plain):
            in_closing = False
            if plain.startswith(("PHỤ LỤC", "Phụ lục")) or sections:
                sections.append(Section("PL", plain, number))
                current, last = sections[-1].paragraphs, None
                continue
            current, last = header, None  # a decision (Quyết định) whose plan follows its signature
        elif in_closing or _RECIPIENTS.match(plain):
            in_closing = True
            closing.append((number, plain))
            continue
        if marked.startswith("|"):
            cells = [c.strip() for c in marked.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue
            if last is not None and last.rows is not None:
                last.rows.append((number, cells))
                last.lines.append((0, number))
            else:
                last = Paragraph("", [(0, number)], rows=[(number, cells)])
                current.append(last)
            continue
        if last is not None and last.rows is not None:
            last = None
        if not plain or _RULE.match(plain):
            blank_before = True
            continue
        after_blank, blank_before = blank_before, False
        head = heading(plain, marked, hashes)
        if arabic and not head and (numbered := arabic_heading(plain)):
            section_number = numbered[0]
            head = (_ROMANS[section_number], numbered[1])
        elif arabic and section_number:
            # "2.3. Thi tìm hiểu ..." inside section 2 is its task 3
            sub = re.match(rf"^(\**\s*){section_number}\.(\d{{1,2}})\.?(\**)\s+", marked)
            if sub:
                marked = f"{sub.group(1)}{int(sub.group(2))}.{sub.group(3)} " + marked[sub.end():]
                plain = strip_marks(marked)
        if head:
            sections.append(Section(head[0], head[1], number))
            current, last = sections[-1].paragraphs, None
            continue
        if last is not None and not starts_paragraph(plain):
            if current is header:  # title and letterhead lines stand alone; only a lower-case line continues
                joins = plain[0].islower() and last.plain.upper() != last.plain
            elif after_blank:  # a blank line ends a paragraph unless the next one goes on lower-case (page break)
                joins = plain[0].islower()
            else:
                joins = plain[0].islower() or not _ends_sentence(last.plain)
            if joins:
                last.append(marked, number)
                continue
        last = Paragraph(marked, [(0, number)])
        current.append(last)
    return Layout(header, sections, closing)


# ------------------------------------------------------------------------- header facts

_TITLE = re.compile(r"^(?:KẾ HOẠCH|Kế hoạch|CHƯƠNG TRÌNH|Chương trình)\b")
_PLACE_DATE = re.compile(
    r"^[^\W\d_][^\d,;:]{1,40},\s*ngày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})\.?$"
    r"|^[^\W\d_][^\d,;:]{1,40},\s*ngày\s+(?P<d2>\d{1,2})\s*/\s*(?P<m2>\d{1,2})\s*/\s*(?P<y2>\d{4})\.?$")
_NUMBER_LINE = re.compile(r"^Số\s*:?\s*(?P<num>\d+[\w/.\-]*)", re.IGNORECASE)
_DOC_REF = re.compile(r"(?:Kết luận|Nghị quyết|Chỉ thị|Quy định|Quyết định|Kế hoạch|Thông báo|Hướng dẫn|Chương trình|"
                      r"Công văn|Thông tri)\s+số\s+(?P<num>\d+[\w/.\-]*\w)", re.IGNORECASE)
_ISSUES = re.compile(r"([^,;:()]+?)\s+(?:ban hành|xây dựng)\s+(?:kế hoạch|chương trình)", re.IGNORECASE)
_TERM = re.compile(r"nhiệm kỳ\s+(?P<a>\d{4})\s*[-–—]\s*(?P<b>\d{4})", re.IGNORECASE)


def title_block(header: list[Paragraph]) -> tuple[str | None, int, int]:
    """The title ("Kế hoạch thực hiện ...") and the header indexes where it starts and ends."""
    for i, p in enumerate(header):
        plain = p.plain
        if _TITLE.match(plain) and not plain.endswith(":") and len(plain) < 300:
            parts = [plain]
            j = i + 1
            bare = plain.rstrip(" .").upper() in ("KẾ HOẠCH", "CHƯƠNG TRÌNH")
            while j < len(header) and j - i <= 4:
                nxt = header[j].plain
                subtitle = bare and j == i + 1 and not _PLACE_DATE.match(nxt) and not _NUMBER_LINE.match(nxt)
                if len(nxt) > 250 or _RULE.match(nxt) or not (subtitle or nxt[0].islower() or nxt.upper() == nxt):
                    break
                parts.append(nxt)
                j += 1
            first = parts[0]
            parts[1:] = [sentence_case(x) if x.upper() == x and any(c.isalpha() for c in x) else x for x in parts[1:]]
            if len(parts) > 1 and bare and not parts[1][0].islower():
                parts[1] = parts[1][0].lower() + parts[1][1:]  # "KẾ HOẠCH" / "Học tập ..." reads "Kế hoạch học tập ..."
            if first.upper() == first and len(parts) > 1 and parts[1][0].islower():
                first = first.capitalize()  # "KẾ HOẠCH" above a lower-case subtitle reads "Kế hoạch ..."
            return " ".join([first, *parts[1:]]), i, j
    return None, 0, 0


_KEEP_UPPER = re.compile(r"^(?:[^\W\d_]*\d[\w/.\-]*|[A-ZĐ]{1,3}-?[A-ZĐ]*/[\w/\-]+|[IVX]+|[BCDĐGHKLMNPQRSTVX]{2,}|UBND|HĐND|MTTQ|TW|TƯ|ASEAN)$")
_PROPER = ("Việt Nam", "Hồ Chí Minh", "Quốc hội", "Chính phủ", "Thủ tướng", "Trung ương", "Đảng", "Nhà nước", "Ban Thường trực", "Ban Thường vụ")
_PLACE_WORDS = re.compile(r"\b(tỉnh|thành phố|xã|phường|huyện|quận|thị xã|đặc khu)\s+((?:[^\W\d_]+\s*){1,3}?)"
                          r"(?=$|[,.;:)(]|\s+(?:đối|giai|về|và|trong|trên|đến|năm|theo|của|nhằm|thuộc|tại|ban|khóa|nhiệm)\b)",
                          re.IGNORECASE)


def sentence_case(text: str) -> str:
    """An all-caps line as a sentence: "THỰC HIỆN QUYẾT ĐỊNH SỐ 1899/QĐ-TTG … TỈNH ĐỒNG NAI" →
    "thực hiện Quyết định số 1899/QĐ-TTG … tỉnh Đồng Nai"; document numbers and acronyms keep their case."""
    words = []
    for w in text.split():
        core = w.strip("“”\"'(),.;:")
        words.append(w if _KEEP_UPPER.match(core) else w.lower())
    out = " ".join(words)
    out = re.sub(r"^v\s*/\s*v\b", "về việc", out, flags=re.IGNORECASE)
    for name in _PROPER:
        out = re.sub(rf"\b{name.lower()}\b", name, out)
    out = re.sub(r"\b(nghị quyết|quyết định|kết luận|chỉ thị|luật|nghị định|kế hoạch|chương trình|thông tư)(\s+(?:số|\d))",
                 lambda m: m.group(1).capitalize() + m.group(2), out)
    out = _PLACE_WORDS.sub(lambda m: m.group(1) + " " + " ".join(x.capitalize() for x in m.group(2).split())
                           + (" " if m.group(2).endswith(" ") else ""), out)
    return out


def plan_number(header: list[Paragraph]) -> str | None:
    """The plan's own number as printed ("980/KH-UBND"), from the "Số:" line of its header block."""
    for p in header:
        m = _NUMBER_LINE.match(p.plain)
        if m and any(c.isdigit() for c in m.group("num")):
            return m.group("num").rstrip(".,;")
    return None


def letterhead(header: list[Paragraph]) -> str | None:
    """The issuing body printed above the number line ("ỦY BAN NHÂN DÂN TỈNH NGHỆ AN"), in sentence case."""
    lines = []
    for p in header:
        plain = p.plain
        if _NUMBER_LINE.match(plain) or _PLACE_DATE.match(plain) or _TITLE.match(plain):
            break
        if plain.upper() == plain and any(c.isalpha() for c in plain) and "CỘNG HÒA" not in plain \
                and "CỘNG SẢN VIỆT NAM" not in plain and "ĐỘC LẬP" not in plain and len(plain) < 120:
            lines.append(plain)
    if not lines:
        return None
    text = sentence_case(lines[-1])
    return text[:1].upper() + text[1:]


_PERIOD = re.compile(r"(?:giai đoạn|thời kỳ)\s+(?P<a>\d{4})\s*[-–—]\s*(?P<b>\d{4})|đến năm\s+(?P<c>\d{4})"
                     r"|(?:cuối\s+|trong\s+)?năm\s+(?P<d>\d{4})", re.IGNORECASE)


def period(title: str, year: int | None) -> tuple[int, int] | None:
    """The years the plan covers, from its title: "giai đoạn 2026 - 2030", "đến năm 2035", "năm 2025"."""
    m = _PERIOD.search(title)
    if not m:
        return None
    if m.group("a"):
        a, b = int(m.group("a")), int(m.group("b"))
        return (a, b) if a <= b <= a + 15 else None
    if m.group("c"):
        b = int(m.group("c"))
        return (min(year or b, b), b)
    d = int(m.group("d"))
    return (d, d)


def plan_code(title: str, header: list[Paragraph], stem: str) -> str:
    """A slug: the number of the document the plan implements, else the plan's own number, else the file stem."""
    m = _DOC_REF.search(title)
    if m:
        return slug(m.group("num"))
    for p in header:
        m = _NUMBER_LINE.match(p.plain)
        if m:
            return slug(m.group("num"))
    return slug(stem) or "plan"


def issue_date(paragraphs: list[Paragraph]) -> date | None:
    """The plan's own date line ("Hà Nội, ngày 15 tháng 02 năm 2022"); dates quoted in text do not count."""
    for p in paragraphs:
        plain = p.plain
        if _NUMBER_LINE.match(plain):  # "Số: 980/KH-UBND    Nghệ An, ngày 18 tháng 11 năm 2025" on one line
            plain = re.sub(r"^Số\s*:?\s*\S+\s+", "", plain)
        m = _PLACE_DATE.match(plain)
        if m:
            d, mo, y = (m.group("d") or m.group("d2")), (m.group("m") or m.group("m2")), (m.group("y") or m.group("y2"))
            try:
                return date(int(y), int(mo), int(d))
            except ValueError:
                return None
    return None


def issuer(header: list[Paragraph], title_start: int, title_end: int) -> str | None:
    """The issuing body: "<X> ban hành Kế hoạch" in the preamble, else the last upper-case line above the title."""
    for p in header[title_end:]:
        m = _ISSUES.search(p.plain)
        if m:
            name = m.group(1).strip()
            name = re.sub(r"^(?:nay|vì vậy|do đó|theo đó)\s+", "", name, flags=re.IGNORECASE)
            return name[:1].upper() + name[1:]
    above = [p.plain for p in header[:title_start]]
    bodies = [s for s in above if s.upper() == s and any(c.isalpha() for c in s) and not _NUMBER_LINE.match(s)
              and "CỘNG SẢN VIỆT NAM" not in s and "CỘNG HÒA" not in s and "ĐỘC LẬP" not in s]
    return bodies[-1] if bodies else None


def signer(lines: list[str]) -> str | None:
    """The name under the signing block ("T/M BAN THƯỜNG VỤ / BÍ THƯ / <name>")."""
    for i, line in enumerate(lines):
        if _ROLE.match(line):
            for nxt in lines[i + 1:i + 8]:
                nxt = nxt.strip()
                if not nxt or nxt.upper() == nxt or _RULE.match(nxt) or re.match(r"^\(?\s*đã\s+ký", nxt, re.IGNORECASE):
                    continue
                if re.fullmatch(r"[^\W\d_]+(?:\s+[^\W\d_]+){1,5}", nxt):
                    return nxt
                break
    return None


def term(text: str) -> tuple[int, int] | None:
    """The first "nhiệm kỳ YYYY-YYYY" the document names."""
    for m in _TERM.finditer(text):
        a, b = int(m.group("a")), int(m.group("b"))
        if a < b <= a + 10:
            return a, b
    return None


_REPORT_DAY = re.compile(r"báo cáo[^.]*?(?:trước|chậm nhất|vào)\s+ngày\s+(?P<d>\d{1,2})\s*/\s*(?P<m>\d{1,2})\s+h[ằà]ng\s+năm",
                         re.IGNORECASE)


def annual_report_day(paragraphs: list[str]) -> tuple[int, int] | None:
    """(month, day) of the yearly report where section III says "báo cáo ... trước ngày D/M hằng năm"."""
    for text in paragraphs:
        m = _REPORT_DAY.search(text)
        if m:
            day, month = int(m.group("d")), int(m.group("m"))
            if 1 <= month <= 12 and 1 <= day <= 31:
                return month, day
    return None
