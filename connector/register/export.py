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
import io
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from connector.models import STATUS_LABELS_VI, Status
from connector.register.html import CSV_FORMAT_NOTE, render_html  # noqa: F401 (re-exported)
from connector.register.status import (STATUS_ORDER, Register, RegisterRow, period_label_vi, register_to_json,
                                       to_local)
from connector.state import atomic_write

JSON_NAME, CSV_NAME, XLSX_NAME, HTML_NAME = "register.json", "register.csv", "register.xlsx", "register.html"

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


def _no_formulas(wb: Workbook) -> None:
    """Every cell is a value: openpyxl turns a text starting with "=" into a formula; keep it text."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


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
    text = json.dumps(register_to_json(reg), ensure_ascii=False, indent=2) + "\n"
    return atomic_write(Path(directory) / JSON_NAME, text.encode("utf-8"))


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

_HEAD_FONT = Font(bold=True, color="FFFFFF")
_HEAD_FILL = PatternFill("solid", fgColor="8B1A1A")


def _sheet_table(ws, headings: list[str], rows: list[list], widths: list[int]) -> None:
    ws.append(headings)
    for cell in ws[1]:
        cell.font, cell.fill = _HEAD_FONT, _HEAD_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for values in rows:
        ws.append(values)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headings))}{max(ws.max_row, 1)}"


def _summary_rows(names: list[tuple[object, str]], summary: dict) -> list[list]:
    out = []
    for key, name in names:
        counts = summary[key]
        out.append([key, name, *(counts[s] for s in STATUS_ORDER), sum(counts.values())])
    return out


def write_xlsx(reg: Register, directory: str | Path) -> Path:
    """register.xlsx: the register sheet (coloured by status), summaries per unit and task, unassigned files."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sổ theo dõi"
    _sheet_table(ws, XLSX_HEADINGS, [], [30, 14, 10, 60, 6, 20, 13, 12, 26, 17, 8, 60, 40, 50])
    col = {h: i for i, h in enumerate(XLSX_HEADINGS, start=1)}
    n = 1  # counted here: openpyxl's ws.max_row scans every cell, which made this loop quadratic
    for r in reg.rows:
        ws.append([r.unit_name, r.unit, r.task, reg.full_title(r.task), r.milestone, period_label_vi(r.period, r.due),
                   r.due, _ongoing(r) or None, r.status_label, _local_naive(r.submitted_at),
                   _present_files(r), r.folder, r.url or None, _row_note(r, reg) or None])
        n += 1
        _hyperlink(ws.cell(n, col["Liên kết"]))
        ws.cell(n, col["Hạn"]).number_format = "dd/mm/yyyy"
        ws.cell(n, col["Thời điểm nộp"]).number_format = "dd/mm/yyyy hh:mm"
        status = ws.cell(n, col["Tình trạng"])
        status.fill = PatternFill("solid", fgColor=STATUS_FILLS[r.status])
        if r.removed:
            status.font = Font(italic=True)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(XLSX_HEADINGS))}{n}"

    status_heads = [STATUS_LABELS_VI[s] for s in STATUS_ORDER]
    by_unit = wb.create_sheet("Theo đơn vị")
    names = reg.unit_names()
    _sheet_table(by_unit, ["Mã đơn vị", "Đơn vị", *status_heads, "Tổng"],
                 _summary_rows([(u, names[u]) for u in reg.summary_by_unit()], reg.summary_by_unit()),
                 [14, 34, 16, 14, 16, 18, 16, 14, 8])
    by_task = wb.create_sheet("Theo nhiệm vụ")
    _sheet_table(by_task, ["Nhiệm vụ", "Tên nhiệm vụ", *status_heads, "Tổng"],
                 _summary_rows([(t, reg.full_title(t)) for t in reg.summary_by_task()], reg.summary_by_task()),
                 [10, 56, 16, 14, 16, 18, 16, 14, 8])
    for sheet in (by_unit, by_task):
        for col, status in enumerate(STATUS_ORDER, start=3):
            sheet.cell(1, col).fill = PatternFill("solid", fgColor=STATUS_FILLS[status])
            sheet.cell(1, col).font = Font(bold=True)

    loose = wb.create_sheet("Chưa xếp chỗ")
    _sheet_table(loose, ["Đơn vị (đoán)", "Đường dẫn", "Tên tệp", "Kích thước (byte)", "Thời điểm tải lên", "Ghi chú",
                         "Lý do", "Liên kết"],
                 [[names.get(f.unit, f.unit) if f.unit else "", f.path, f.name, f.size, _local_naive(f.uploaded_at),
                   ("Đã bị xoá" + (f": {f.note}" if f.note else "")) if f.removed else "", f.reason, f.url or None]
                  for f in reg.unassigned],
                 [30, 70, 30, 14, 18, 30, 50, 40])
    for row in loose.iter_rows(min_row=2, min_col=5, max_col=8):
        row[0].number_format = "dd/mm/yyyy hh:mm"
        _hyperlink(row[3])

    _no_formulas(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return atomic_write(Path(directory) / XLSX_NAME, buf.getvalue())


def _hyperlink(cell) -> None:
    """Make a cell holding an absolute URL a clickable link."""
    if isinstance(cell.value, str) and cell.value.startswith(("https://", "http://")):
        cell.hyperlink = cell.value
        cell.style = "Hyperlink"


def write_html(reg: Register, directory: str | Path, folder_url: Callable[[str], str | None] | None = None) -> Path:
    """register.html: a self-contained page with the status grid (see connector.register.html)."""
    return atomic_write(Path(directory) / HTML_NAME, render_html(reg, folder_url).encode("utf-8"))


def write_all(reg: Register, directory: str | Path,
              folder_url: Callable[[str], str | None] | None = None) -> dict[str, Path]:
    """All four exports into directory (created if missing); keys json, csv, xlsx, html."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    return {
        "json": write_json(reg, directory),
        "csv": write_csv(reg, directory),
        "xlsx": write_xlsx(reg, directory),
        "html": write_html(reg, directory, folder_url),
    }
