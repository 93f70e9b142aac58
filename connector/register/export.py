"""Writing the register: register.json, register.csv, register.xlsx and register.html.

Every file is written atomically (a temporary file in the same folder, fsync, os.replace), so a
reader or a WebDAV upload never sees half a register.

register.csv: UTF-8 with a BOM, comma-separated, fields quoted where needed, CRLF line ends; dates
dd/mm/yyyy and times dd/mm/yyyy hh:mm (Vietnam time), as its headings say (the page's footer says it too:
connector.register.html.CSV_FORMAT_NOTE).
register.xlsx holds real dates; an ongoing task has no due date and says so in its own column.
"""
from __future__ import annotations

import csv
import gc
import io
import json
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

from connector.models import STATUS_LABELS_VI, Status
from connector.register.html import CSV_FORMAT_NOTE, render_html  # noqa: F401 (re-exported)
from connector.register.status import (STATUS_ORDER, Register, RegisterRow, period_label_vi, register_to_json,
                                       to_local)
from connector.state import atomic_write

JSON_NAME, CSV_NAME, XLSX_NAME, HTML_NAME = "register.json", "register.csv", "register.xlsx", "register.html"
EXPORT_NAMES = {"json": JSON_NAME, "csv": CSV_NAME, "xlsx": XLSX_NAME, "html": HTML_NAME}  # what write_all writes

XLSX_HEADINGS = ["Đơn vị", "Mã đơn vị", "Nhiệm vụ", "Tên nhiệm vụ", "Mốc", "Kỳ", "Hạn", "Thường xuyên", "Tình trạng",
                 "Thời điểm nộp", "Số tệp", "Thư mục", "Liên kết", "Ghi chú"]
# The CSV's headings say how its dates are written.
CSV_HEADINGS = [{"Hạn": "Hạn (dd/mm/yyyy)", "Thời điểm nộp": "Thời điểm nộp (dd/mm/yyyy hh:mm)"}.get(h, h)
                for h in XLSX_HEADINGS]
ONGOING_VI = "Thường xuyên"
ONGOING_MARK = "Có"  # the "Thường xuyên" column of an ongoing task

# Fill colours per status (Excel's familiar good/neutral/bad palette).
STATUS_FILLS = {
    Status.SUBMITTED_ON_TIME: "C6EFCE",
    Status.SUBMITTED_LATE: "FFD8A8",
    Status.OVERDUE: "FFC7CE",
    Status.DUE_SOON: "FFF3A0",
    Status.NOT_DUE: "E7E6E6",
    Status.IN_PROGRESS: "DDEBF7",
}


# A cell a spreadsheet would run: a formula (=, +, -, @) or one hidden behind a tab or line start. Names of units,
# tasks and uploaded files reach the register as they are: "=HYPERLINK(...)" must show as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell that would start a formula gets a leading apostrophe (OWASP's CSV injection advice);
    numbers, dates and other text stay as they are."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value


class _SafeWriter:
    """csv.writer whose rows pass through spreadsheet_safe."""

    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row) -> None:
        self._writer.writerow([spreadsheet_safe(v) for v in row])


def _present_files(row: RegisterRow) -> int:
    return sum(1 for f in row.files if not f.removed)


def ongoing_note(reg: Register, row: RegisterRow) -> str:
    """For an ongoing task: which yearly report it is judged by ("" for other rows)."""
    if row.period != "ongoing":
        return ""
    report = reg.judging_report(row)
    if report is None:
        return "Thực hiện thường xuyên"
    return (f"Thực hiện thường xuyên, đánh giá qua báo cáo hằng năm {report.period} "
            f"(hạn {report.due.strftime('%d/%m/%Y')}: {report.status_label.lower()})")


def _row_note(row: RegisterRow, reg: Register | None = None) -> str:
    """What people should know beyond the status: how an ongoing task is judged, files credited by their name,
    files gone (and where)."""
    notes = [note] if reg is not None and (note := ongoing_note(reg, row)) else []
    credited = [f.name for f in row.files if f.credited_by and not f.removed]
    if credited:
        notes.append("Tính theo tên tệp ở thư mục đơn vị: " + ", ".join(credited))
    for f in row.files:
        if f.removed:
            notes.append(f"Đã bị xoá: {f.name}" + (f" ({f.note})" if f.note else ""))
    return "; ".join(notes)


def _dmy(row: RegisterRow) -> str:
    return row.due.strftime("%d/%m/%Y") if row.due else ""


def _ongoing(row: RegisterRow) -> str:
    return ONGOING_MARK if row.period == "ongoing" else ""


def _local_naive(moment: datetime | None) -> datetime | None:
    """Excel has no time zones: local wall time."""
    return to_local(moment).replace(tzinfo=None) if moment else None


def write_json(reg: Register, directory: str | Path) -> Path:
    """register.json (UTF-8, Vietnamese unescaped)."""
    return atomic_write(Path(directory) / JSON_NAME, json_by_line(register_to_json(reg)).encode("utf-8"))


def json_by_line(doc: dict) -> str:
    """JSON with a line per top-level key and per item of a list: as readable and diffable as an indented
    file, and written by json's C encoder (an indent makes json fall back to pure Python, 4× slower)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value:
            parts.append(f"  {encode(key)}: [\n" + ",\n".join("    " + encode(v) for v in value) + "\n  ]")
        else:
            parts.append(f"  {encode(key)}: {encode(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_csv(reg: Register, directory: str | Path) -> Path:
    """register.csv: UTF-8 with BOM (so Excel shows Vietnamese), one row per obligation."""
    buf = io.StringIO()
    writer = _SafeWriter(csv.writer(buf, lineterminator="\r\n"))
    writer.writerow(CSV_HEADINGS)
    for r in reg.rows:
        submitted = to_local(r.submitted_at).strftime("%d/%m/%Y %H:%M") if r.submitted_at else ""
        writer.writerow([r.unit_name, r.unit, r.task, reg.full_title(r.task), r.milestone,
                         period_label_vi(r.period, r.due), _dmy(r), _ongoing(r), r.status_label, submitted,
                         _present_files(r), r.folder, r.url, _row_note(r, reg)])
    return atomic_write(Path(directory) / CSV_NAME, buf.getvalue().encode("utf-8-sig"))


# --- XLSX --------------------------------------------------------------------------------------

_HEAD = {"bold": True, "valign": "vcenter", "text_wrap": True}
_HEAD_DARK = {**_HEAD, "font_color": "#FFFFFF", "bg_color": "#8B1A1A"}
# Excel's own limits: hyperlinks per worksheet, characters of a link; beyond them a link is plain text.
_MAX_LINKS, _MAX_URL = 65_530, 2_079


class _Sheet:
    """One worksheet written row by row. Text is always text, never a formula, number or link by its look;
    a format is made once per look."""

    def __init__(self, wb, title: str, headings: list[str], widths: list[int], heading_fills: dict[int, str] | None = None):
        self.wb, self.ws, self.row, self.links = wb, wb.add_worksheet(title), 0, 0
        self._formats: dict[str, object] = {}
        for col, width in enumerate(widths):
            self.ws.set_column(col, col, width)
        self.ws.freeze_panes(1, 0)
        self.columns = len(headings)
        fills = heading_fills or {}
        self.append([(h, f"head-{fills.get(i)}", {**_HEAD, "bg_color": f"#{fills[i]}"} if i in fills else _HEAD_DARK)
                     for i, h in enumerate(headings, start=1)])

    def look(self, name: str, **props):
        if (fmt := self._formats.get(name)) is None:
            fmt = self._formats[name] = self.wb.add_format(props)
        return fmt

    def append(self, values: list) -> None:
        """One row: plain values, or (value, look name, format properties) for a formatted cell."""
        ws, row = self.ws, self.row
        for col, value in enumerate(values):
            fmt = None
            if type(value) is tuple:
                value, name, props = value
                fmt = self.look(name, **props)
            if value is None or value == "":
                if fmt is not None:
                    ws.write_blank(row, col, None, fmt)
            elif type(value) is _Link:
                ws.write_url(row, col, value, string=value)  # in Excel's "Hyperlink" style
            elif isinstance(value, str):
                ws.write_string(row, col, value, fmt)
            elif isinstance(value, (date, datetime)):
                ws.write_datetime(row, col, value, fmt)
            else:
                ws.write_number(row, col, value, fmt)
        self.row += 1

    def link(self, url: str | None):
        """A clickable link for an absolute URL (within Excel's limits); other text as it is."""
        if not url or not url.startswith(("https://", "http://")) or len(url) > _MAX_URL or self.links >= _MAX_LINKS:
            return url
        self.links += 1
        return _Link(url)

    def finish(self) -> None:
        self.ws.autofilter(0, 0, max(self.row - 1, 0), self.columns - 1)


class _Link(str):
    """A URL _Sheet.append writes as a hyperlink."""


def _summary_rows(names: list[tuple[object, str]], summary: dict) -> list[list]:
    out = []
    for key, name in names:
        counts = summary[key]
        out.append([key, name, *(counts[s] for s in STATUS_ORDER), sum(counts.values())])
    return out


def write_xlsx(reg: Register, directory: str | Path) -> Path:
    """register.xlsx: the register sheet (coloured by status), summaries per unit and task, unassigned files."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    date_look = ("date", {"num_format": "dd/mm/yyyy"})
    time_look = ("time", {"num_format": "dd/mm/yyyy hh:mm"})
    ws = _Sheet(wb, "Sổ theo dõi", XLSX_HEADINGS, [30, 14, 10, 60, 6, 20, 13, 12, 26, 17, 8, 60, 40, 50])
    for r in reg.rows:
        status = (r.status_label, f"{r.status}{'-removed' if r.removed else ''}",
                  {"bg_color": f"#{STATUS_FILLS[r.status]}", **({"italic": True} if r.removed else {})})
        ws.append([r.unit_name, r.unit, r.task, reg.full_title(r.task), r.milestone,
                   period_label_vi(r.period, r.due), (r.due, *date_look) if r.due else None,
                   _ongoing(r), status, (_local_naive(r.submitted_at), *time_look) if r.submitted_at else None,
                   _present_files(r), r.folder, ws.link(r.url), _row_note(r, reg)])
    ws.finish()

    status_heads = [STATUS_LABELS_VI[s] for s in STATUS_ORDER]
    fills = {col: STATUS_FILLS[status] for col, status in enumerate(STATUS_ORDER, start=3)}
    names = reg.unit_names()
    for title, first, second, widths, summary, name_of in (
            ("Theo đơn vị", "Mã đơn vị", "Đơn vị", [14, 34, 16, 14, 16, 18, 16, 14, 8], reg.summary_by_unit(),
             lambda u: names[u]),
            ("Theo nhiệm vụ", "Nhiệm vụ", "Tên nhiệm vụ", [10, 56, 16, 14, 16, 18, 16, 14, 8],
             reg.summary_by_task(), reg.full_title)):
        sheet = _Sheet(wb, title, [first, second, *status_heads, "Tổng"], widths, fills)
        for values in _summary_rows([(k, name_of(k)) for k in summary], summary):
            sheet.append(values)
        sheet.finish()

    headings = ["Đơn vị (đoán)", "Đường dẫn", "Tên tệp", "Kích thước (byte)", "Thời điểm tải lên", "Ghi chú",
                "Lý do", "Liên kết"]
    loose = _Sheet(wb, "Chưa xếp chỗ", headings, [30, 70, 30, 14, 18, 30, 50, 40])
    for f in reg.unassigned:
        loose.append([names.get(f.unit, f.unit) if f.unit else "", f.path, f.name, f.size,
                      (_local_naive(f.uploaded_at), *time_look) if f.uploaded_at else None,
                      ("Đã bị xoá" + (f": {f.note}" if f.note else "")) if f.removed else "", f.reason,
                      loose.link(f.url)])
    loose.finish()
    wb.close()
    return atomic_write(Path(directory) / XLSX_NAME, buf.getvalue())


def write_html(reg: Register, directory: str | Path, folder_url: Callable[[str], str | None] | None = None) -> Path:
    """register.html: a self-contained page with the status grid (see connector.register.html)."""
    return atomic_write(Path(directory) / HTML_NAME, render_html(reg, folder_url).encode("utf-8"))


def write_all(reg: Register, directory: str | Path,
              folder_url: Callable[[str], str | None] | None = None) -> dict[str, Path]:
    """All four exports into directory (created if missing); keys json, csv, xlsx, html."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    with _collector_paused():
        return {
            "json": write_json(reg, directory),
            "csv": write_csv(reg, directory),
            "xlsx": write_xlsx(reg, directory),
            "html": write_html(reg, directory, folder_url),
        }


@contextmanager
def _collector_paused():
    """The exports make a few hundred thousand short-lived objects and no reference cycles; meanwhile the
    cyclic garbage collector would walk the whole job's heap (plan, items, state) again and again for
    nothing: 0.1-0.15 s of a 0.9 s export at 200 units."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
