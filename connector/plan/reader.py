"""Read a plan document into marked-up text: one paragraph per line, italics as `*...*`.

.txt/.md are decoded, .docx read with python-docx (Word numbering rendered), .pdf through its text layer
(connector/plan/pdf.py: reading order, joined lines, no page furniture; a scanned PDF is refused).

This is the only part of plan import that touches the file system.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from pathlib import Path

from connector.errors import PlanError

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text", ""}
DOCX_SUFFIXES = {".docx"}
PDF_SUFFIXES = {".pdf"}
# A plan is a few hundred KB of text (a .docx or .pdf with its pictures a few MB): beyond these it is the wrong file,
# and reading it would only keep the run busy for minutes.
MAX_PLAN_BYTES = 20 * 1024 * 1024
MAX_PLAN_CHARS = 2_000_000


def read_document(path: str | Path) -> str:
    """The document's text, NFC, with italic spans marked `*...*` (as the .txt/.md seed is).

    Raises PlanError naming the file (and line where it applies) for anything unreadable.
    """
    p = Path(path)
    where = str(path)
    suffix = p.suffix.lower()
    if suffix not in TEXT_SUFFIXES | DOCX_SUFFIXES | PDF_SUFFIXES:
        raise PlanError(f"unsupported file type {p.suffix!r}; use .txt, .md, .docx or .pdf", path=where)
    if p.is_dir():
        raise PlanError("is a directory, not a plan document", path=where)
    try:
        size = p.stat().st_size
        if size > MAX_PLAN_BYTES:
            raise PlanError(f"file too large for a plan ({size / 1024 / 1024:.1f} MB; at most "
                            f"{MAX_PLAN_BYTES // 1024 // 1024} MB): is this the right file?", path=where)
        data = p.read_bytes()
    except FileNotFoundError:
        raise PlanError("file not found", path=where) from None
    except OSError as exc:
        raise PlanError(f"cannot read file ({exc.strerror or exc})", path=where) from None
    if not data.strip():
        raise PlanError("empty file", path=where)
    if suffix in DOCX_SUFFIXES:
        text = _read_docx(data, where)
    elif suffix in PDF_SUFFIXES:
        if not data.startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
            raise PlanError("not a PDF file (no %PDF header)", path=where)
        from connector.plan.pdf import read_pdf

        text = read_pdf(data, where)
    else:
        text = _decode(data, where)
    if len(text) > MAX_PLAN_CHARS:
        raise PlanError(f"text too long for a plan ({len(text):,} characters; at most {MAX_PLAN_CHARS:,}): "
                        "is this the right file?", path=where)
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise PlanError("empty document: no text found", path=where)
    return text


def _decode(data: bytes, where: str) -> str:
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "utf-16", data
    else:
        if data.startswith(b"PK\x03\x04"):
            raise PlanError("this is a zip/.docx file, not text; name it .docx", path=where)
        if data.startswith(b"%PDF-"):
            raise PlanError("this is a PDF file, not text; name it .pdf", path=where)
        nul = data.find(b"\x00")
        if nul >= 0 and (utf16 := _utf16_without_bom(data)):
            encoding, body = utf16, data
        elif nul >= 0:
            raise PlanError("binary file (NUL byte), not a text plan", path=where, line=data.count(b"\n", 0, nul) + 1)
        else:
            encoding, body = "utf-8", data
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1 if encoding == "utf-8" else None
        raise PlanError(f"cannot decode as {encoding.upper()} (byte 0x{body[exc.start]:02x}); save the plan as UTF-8",
                        path=where, line=line) from None
    if encoding.startswith("utf-16") and text.startswith("\ufeff"):
        text = text[1:]
    bad = re.search(r"[\x00-\x08\x0e-\x1f]", text)
    if bad:
        raise PlanError("binary content (control characters), not a text plan", path=where,
                        line=text.count("\n", 0, bad.start()) + 1)
    return text


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" for text saved as UTF-16 without a byte order mark (Notepad's "Unicode"
    without BOM): a NUL in (nearly) every other byte, on one side; else None."""
    sample = data[:4096]
    if len(sample) < 4 or len(data) % 2:
        return None
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    half = len(sample) // 2
    if odd >= 0.6 * half and even == 0:
        return "utf-16-le"
    if even >= 0.6 * half and odd == 0:
        return "utf-16-be"
    return None


# ------------------------------------------------------------------------------------------ .docx

def _read_docx(data: bytes, where: str) -> str:
    import io

    import docx  # python-docx; imported here so text plans do not pay for it
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
        return "\n".join(_docx_lines(document))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise PlanError(f"not a readable .docx file: corrupt or not a Word document ({type(exc).__name__})", path=where) from None
    except Exception as exc:  # noqa: BLE001 - lxml and zip errors of a corrupt package take many forms
        raise PlanError(f"corrupt .docx file ({type(exc).__name__})", path=where) from None


def _docx_lines(document) -> list[str]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    numbering = _Numbering(document)
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(_paragraph_text(Paragraph(child, document), numbering))
        elif tag == "tbl":
            table = Table(child, document)
            rows = [[_cell_text(cell, numbering) for cell in row.cells] for row in table.rows]
            if _looks_like_task_table(rows):  # one pipe row per table row, merged cells repeated
                lines.extend("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in row) + " |" for row in rows)
                lines.append("")
                continue
            seen = set()
            for row in table.rows:
                for cell in row.cells:
                    if id(cell._tc) in seen:  # a merged cell appears once per grid column
                        continue
                    seen.add(id(cell._tc))
                    lines.extend(_paragraph_text(p, numbering) for p in cell.paragraphs)
    return lines


def _cell_text(cell, numbering: "_Numbering") -> str:
    return " ".join(t for p in cell.paragraphs if (t := _paragraph_text(p, numbering).strip()))


_COLUMNS = {
    "number": re.compile(r"^(?:s\.?\s*)?tt\.?$|^số\s+tt$|^stt$"),
    "content": re.compile(r"nội dung|nhiệm vụ|công việc|tên (?:nhiệm vụ|công việc|đề án)"),
    "time": re.compile(r"thời gian|thời hạn|tiến độ"),
    "cooperating": re.compile(r"phối hợp"),
    "lead": re.compile(r"chủ trì|cơ quan thực hiện|đơn vị thực hiện|^thực hiện$|phụ trách"),
}
_ROMAN_OR_LETTER = re.compile(r"^(?:[IVX]{1,5}|[A-Z])\.?$")


def _looks_like_task_table(rows: list[list[str]]) -> bool:
    for row in rows[:3]:
        header = [re.sub(r"\s+", " ", c.strip().lower().replace("*", "")) for c in row]
        if any(_COLUMNS["content"].search(h) for h in header) and any(
                _COLUMNS["time"].search(h) or _COLUMNS["lead"].search(h) for h in header):
            return True
    return False


def task_table_lines(rows: list[list[str]]) -> list[str] | None:
    """A table of tasks (columns: TT, Nội dung, Chủ trì, Phối hợp, Thời gian) as the lines a plan
    would write them in: "1. <task>", "- Cơ quan chủ trì: …; cơ quan phối hợp: …",
    "- Thời gian thực hiện: …". None when the table is not such a table."""
    if len(rows) < 2:
        return None
    header = [re.sub(r"\s+", " ", c.strip().lower().replace("*", "")) for c in rows[0]]
    cols: dict[str, int] = {}
    for i, name in enumerate(header):
        for key, regex in _COLUMNS.items():
            if key not in cols and regex.search(name) and not (key == "content" and "thời" in name):
                cols[key] = i
                break
    if "content" not in cols or "time" not in cols:
        return None
    lines: list[str] = []
    count = 0
    for row in rows[1:]:
        def cell(key: str, row=row) -> str:
            return row[cols[key]].strip() if key in cols and cols[key] < len(row) else ""

        content = cell("content")
        if not content or len(set(c.strip() for c in row)) == 1:
            continue  # empty, or a group row spanning the table ("I. CÔNG TÁC TUYÊN TRUYỀN")
        number = cell("number")
        if _ROMAN_OR_LETTER.match(number):
            continue
        count += 1
        n = int(number.rstrip(".")) if number.rstrip(".").isdigit() else count
        lines.append(f"{n}. {content}")
        lead, coop = cell("lead"), cell("cooperating")
        if lead or coop:
            lines.append("- Cơ quan chủ trì: " + (lead or "—") + (f"; cơ quan phối hợp: {coop}" if coop else ""))
        if cell("time"):
            lines.append(f"- Thời gian thực hiện: {cell('time').rstrip('.')}.")
    return lines or None


def _is_italic(run, paragraph) -> bool:
    if run.italic is not None:
        return bool(run.italic)
    style = run.style if run.style is not None and run.style.font.italic is not None else paragraph.style
    return bool(style is not None and style.font.italic)


def _mark_italic(text: str) -> str:
    core = text.strip()
    if not core:
        return text
    return f"{text[: len(text) - len(text.lstrip())]}*{core}*{text[len(text.rstrip()):]}"


def _paragraph_text(paragraph, numbering: "_Numbering") -> str:
    groups: list[list] = []  # [italic, text]
    for run in paragraph.runs:
        italic = _is_italic(run, paragraph)
        if groups and groups[-1][0] == italic:
            groups[-1][1] += run.text
        else:
            groups.append([italic, run.text])
    out = []
    for italic, text in groups:
        if italic:  # mark each line of the span: a soft line break stays a line break
            text = "\n".join(_mark_italic(piece) for piece in text.split("\n"))
        out.append(text)
    text = "".join(out)
    label = numbering.label(paragraph)
    return f"{label} {text}" if label else text


class _Numbering:
    """Renders Word's automatic list numbers ("1.", "a)") that are not part of the text."""

    _FORMATS = {
        "decimal": str,
        "lowerLetter": lambda n: chr(ord("a") + (n - 1) % 26),
        "upperLetter": lambda n: chr(ord("A") + (n - 1) % 26),
        "upperRoman": lambda n: ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"][(n - 1) % 10],
        "lowerRoman": lambda n: ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"][(n - 1) % 10],
    }

    def __init__(self, document):
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        try:
            root = document.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            return
        w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
        abstract = {}
        for a in root.iter(f"{w}abstractNum"):
            lvls = {}
            for lvl in a.iter(f"{w}lvl"):
                fmt = lvl.find(f"{w}numFmt")
                text = lvl.find(f"{w}lvlText")
                start = lvl.find(f"{w}start")
                lvls[int(lvl.get(f"{w}ilvl", "0"))] = (
                    fmt.get(f"{w}val") if fmt is not None else "decimal",
                    text.get(f"{w}val") if text is not None else "%1.",
                    int(start.get(f"{w}val")) if start is not None else 1,
                )
            abstract[a.get(f"{w}abstractNumId")] = lvls
        for num in root.iter(f"{w}num"):
            ref = num.find(f"{w}abstractNumId")
            if ref is not None:
                for ilvl, spec in abstract.get(ref.get(f"{w}val"), {}).items():
                    self.levels[(num.get(f"{w}numId"), ilvl)] = spec

    @staticmethod
    def _num_pr(paragraph):
        """The paragraph's list numbering: its own w:numPr, else its style's (or a base style's)."""
        ppr = paragraph._p.pPr
        if ppr is not None and ppr.numPr is not None and ppr.numPr.numId is not None:
            return ppr.numPr
        style, seen = paragraph.style, 0
        while style is not None and seen < 10:
            sppr = style.element.pPr
            if sppr is not None and sppr.numPr is not None and sppr.numPr.numId is not None:
                return sppr.numPr
            style, seen = style.base_style, seen + 1
        return None

    def label(self, paragraph) -> str:
        num_pr = self._num_pr(paragraph)
        if num_pr is None:
            return ""
        num_id = str(num_pr.numId.val)
        if num_id == "0":
            return ""  # numbering switched off on this paragraph
        ilvl = int(num_pr.ilvl.val) if num_pr.ilvl is not None else 0
        spec = self.levels.get((num_id, ilvl))
        if spec is None:
            return ""
        fmt, template, start = spec
        counters = self.counters.setdefault(num_id, {})
        counters[ilvl] = counters.get(ilvl, start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        if fmt == "bullet":
            return "-"
        render = self._FORMATS.get(fmt, str)
        label = template
        for level in range(ilvl + 1):
            value = counters.get(level, self.levels.get((num_id, level), ("decimal", "", 1))[2])
            label = label.replace(f"%{level + 1}", render(value))
        return label.strip()
