"""register.html: one self-contained page (inline CSS, no external assets) showing the register.

Units are rows, obligations (task × period) are columns, each cell coloured by status; units with
the most overdue obligations come first. Below the grid: a legend, the overdue obligations and the
files nobody could place.
"""
from __future__ import annotations

import html
import unicodedata
from collections.abc import Callable
from datetime import date

from connector.models import STATUS_LABELS_VI, Status
from connector.register.status import STATUS_ORDER, Register, RegisterRow, period_label_vi, to_local

SYMBOLS = {
    Status.SUBMITTED_ON_TIME: "✓",
    Status.SUBMITTED_LATE: "✓!",
    Status.OVERDUE: "✗",
    Status.DUE_SOON: "!",
    Status.NOT_DUE: "·",
}

_CSS = """
:root{--on:#2e7d32;--on-bg:#c8e6c9;--late:#b45309;--late-bg:#ffd8a8;--over:#b71c1c;--over-bg:#ffcdd2;
--soon:#7a5d00;--soon-bg:#fff3a0;--not:#616161;--not-bg:#eceff1;--line:#dfe3e8;--ink:#1f2933;--muted:#5f6b7a}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;
color:var(--ink);background:#f6f7f9}
header{background:#8b1a1a;color:#fff;padding:18px 28px 16px}
header .kicker{font-size:12px;letter-spacing:.08em;text-transform:uppercase;opacity:.8}
header h1{margin:2px 0 6px;font-size:22px;font-weight:650}
header .meta{font-size:13px;opacity:.9}
main{padding:18px 28px 40px}
.badges{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 18px}
.badge{display:flex;align-items:baseline;gap:8px;padding:8px 14px;border-radius:10px;border:1px solid transparent;
background:#fff}
.badge b{font-size:22px;font-variant-numeric:tabular-nums}
.badge.total{border-color:var(--line)}
section{background:#fff;border:1px solid var(--line);border-radius:12px;padding:14px 16px;margin:0 0 18px}
section h2{font-size:16px;margin:0 0 10px}
.scroll{overflow:auto;max-height:70vh}
table{border-collapse:separate;border-spacing:0}
table.grid th,table.grid td{border-bottom:1px solid var(--line);border-right:1px solid var(--line)}
table.grid thead th{position:sticky;top:0;background:#fff;z-index:2;font-size:11px;font-weight:600;
color:var(--muted);padding:4px 3px;text-align:center;white-space:nowrap}
table.grid thead tr.periods th{top:24px}
table.grid th.unit{position:sticky;left:0;z-index:1;background:#fff;text-align:left;padding:4px 10px;
font-weight:500;white-space:nowrap;min-width:180px;max-width:260px;overflow:hidden;text-overflow:ellipsis}
table.grid thead th.unit{z-index:3}
table.grid th.unit .od{display:inline-block;margin-left:6px;padding:0 6px;border-radius:8px;font-size:11px;
background:var(--over-bg);color:var(--over);font-weight:700}
td.cell{width:40px;min-width:40px;height:30px;text-align:center;font-weight:700;font-size:13px;padding:0}
td.cell a{display:block;color:inherit;text-decoration:none;line-height:30px}
td.cell a:hover{outline:2px solid var(--ink);outline-offset:-2px}
td.none{background:repeating-linear-gradient(45deg,#fff,#fff 4px,#f3f4f6 4px,#f3f4f6 8px)}
td.removed{box-shadow:inset 0 0 0 2px rgba(0,0,0,.35)}
.st-submitted_on_time{background:var(--on-bg);color:var(--on)}
.st-submitted_late{background:var(--late-bg);color:var(--late)}
.st-overdue{background:var(--over-bg);color:var(--over)}
.st-due_soon{background:var(--soon-bg);color:var(--soon)}
.st-not_due{background:var(--not-bg);color:var(--not)}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin-top:12px;font-size:13px;color:var(--muted)}
.legend span.sw{display:inline-block;width:26px;height:20px;border-radius:4px;text-align:center;font-weight:700;
margin-right:6px;line-height:20px}
table.list{width:100%;font-size:13px}
table.list th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:6px 8px}
table.list td{border-bottom:1px solid var(--line);padding:6px 8px;vertical-align:top}
table.list td.num{text-align:right;font-variant-numeric:tabular-nums}
.empty-note{color:var(--muted);margin:0}
details summary{cursor:pointer;color:var(--muted)}
footer{color:var(--muted);font-size:12px;padding:0 28px 24px}
"""


def _e(text: object) -> str:
    return html.escape(unicodedata.normalize("NFC", str(text)), quote=True)


def _dmy(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "Thường xuyên"


def _task_short(task: int) -> str:
    return "BC" if task == 0 else f"NV{task}"


def _task_name(task: int, titles: dict[int, str]) -> str:
    return f"Nhiệm vụ {task}: {titles.get(task, '')}" if task else titles.get(0, "Báo cáo hằng năm")


def _link(url: str | None, text: str) -> str:
    """A link only where it is absolute: the page is also opened from disk, where a server path leads nowhere."""
    return f'<a href="{_e(url)}">{text}</a>' if url and url.startswith(("https://", "http://")) else text


def _row_url(r: RegisterRow, folder_url: Callable[[str], str | None] | None) -> str | None:
    return r.url or (folder_url(r.folder) if folder_url else None)


def _grid(reg: Register, folder_url: Callable[[str], str | None] | None) -> str:
    columns = sorted({(r.task, r.milestone, r.period, r.due) for r in reg.rows},
                     key=lambda c: (c[0], c[1], c[3] or date.max, c[2]))
    titles = reg.task_titles()
    by_unit: dict[str, dict[tuple, RegisterRow]] = {}
    for r in reg.rows:
        by_unit.setdefault(r.unit, {})[(r.task, r.milestone, r.period, r.due)] = r
    names = reg.unit_names()
    overdue = {u: sum(1 for r in cells.values() if r.status == Status.OVERDUE) for u, cells in by_unit.items()}
    units = sorted(by_unit, key=lambda u: (-overdue[u], names[u].casefold(), u))

    groups: list[tuple[int, int]] = []  # (task, number of columns)
    for task, *_ in columns:
        if groups and groups[-1][0] == task:
            groups[-1] = (task, groups[-1][1] + 1)
        else:
            groups.append((task, 1))
    head1 = "".join(f'<th colspan="{n}" title="{_e(_task_name(t, titles))}">{_task_short(t)}</th>'
                    for t, n in groups)
    head2 = "".join(
        f'<th title="{_e(_task_name(t, titles) + " — " + period_label_vi(p) + " — hạn " + _dmy(d))}">'
        f'{_e(_period_short(p))}</th>'
        for t, m, p, d in columns)

    body = []
    for u in units:
        od = f'<span class="od" title="Số việc quá hạn">{overdue[u]}</span>' if overdue[u] else ""
        cells = [f'<th class="unit" scope="row" title="{_e(names[u])}">{_e(names[u])}{od}</th>']
        for col in columns:
            r = by_unit[u].get(col)
            if r is None:
                cells.append('<td class="none"></td>')
                continue
            tip = (f"{r.unit_name} — Nhiệm vụ {r.task}: {r.task_title} — {period_label_vi(r.period)} — "
                   f"hạn {_dmy(r.due)}: {r.status_label}")
            if r.submitted_at:
                tip += f" ({to_local(r.submitted_at).strftime('%d/%m/%Y %H:%M')})"
            if r.removed:
                tip += " — tệp đã bị xoá"
            if any(f.credited_by and not f.removed for f in r.files):
                tip += " — tính theo tên tệp nộp ở thư mục đơn vị"
            extra = " removed" if r.removed else ""
            url = _row_url(r, folder_url)
            cells.append(f'<td class="cell st-{r.status.value}{extra}" data-status="{r.status.value}" '
                         f'title="{_e(tip)}">{_link(url, SYMBOLS[r.status])}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="grid"><thead><tr><th class="unit" rowspan="2">Đơn vị</th>{head1}</tr>'
            f'<tr class="periods">{head2}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _period_short(period: str) -> str:
    """A compact column label: '2022', 'H1/22', 'Q1/22', '02/22', '28/02', '∞'."""
    parts = period.split("-")
    if period == "ongoing":
        return "TX"
    if len(parts) == 2:
        return f"{parts[1]}/{parts[0][2:]}"
    if len(parts) == 3:
        return f"{parts[2]}/{parts[1]}"
    return period


def _overdue_table(reg: Register, folder_url: Callable[[str], str | None] | None) -> str:
    rows = sorted((r for r in reg.rows if r.status == Status.OVERDUE), key=lambda r: (r.due, r.unit_name, r.task))
    if not rows:
        return '<p class="empty-note">Không có việc nào quá hạn.</p>'
    body = "".join(
        f"<tr><td>{_e(r.unit_name)}</td><td>{_e(_task_name(r.task, {r.task: r.task_title}))}</td><td>{_e(period_label_vi(r.period))}</td>"
        f'<td>{_dmy(r.due)}</td><td class="num">{(reg.as_of - r.due).days}</td>'
        f"<td>{_link(_row_url(r, folder_url), _e(r.folder))}</td></tr>"
        for r in rows)
    return ('<table class="list"><thead><tr><th>Đơn vị</th><th>Nhiệm vụ</th><th>Kỳ</th><th>Hạn</th>'
            f"<th>Số ngày quá hạn</th><th>Thư mục nộp</th></tr></thead><tbody>{body}</tbody></table>")


def _unassigned_table(reg: Register) -> str:
    if not reg.unassigned:
        return '<p class="empty-note">Mọi tệp đều nằm đúng thư mục.</p>'
    names = reg.unit_names()
    body = "".join(
        f"<tr><td>{_e(names.get(f.unit, f.unit) if f.unit else '—')}</td>"
        f"<td>{_link(f.url, _e(f.path))}{' <em>(đã bị xoá)</em>' if f.removed else ''}</td>"
        f'<td class="num">{f"{f.size:,}".replace(",", ".")}</td>'
        f"<td>{to_local(f.uploaded_at).strftime('%d/%m/%Y %H:%M') if f.uploaded_at else ''}</td>"
        f"<td>{_e(f.note if f.removed and f.note else f.reason)}</td></tr>"
        for f in reg.unassigned)
    return ('<table class="list"><thead><tr><th>Đơn vị (đoán)</th><th>Tệp</th><th>Kích thước (byte)</th>'
            f"<th>Tải lên lúc</th><th>Lý do</th></tr></thead><tbody>{body}</tbody></table>")


def _removed_section(reg: Register) -> str:
    """Reports filed once and no longer there (deleted, or gone with their folder): the submission stands."""
    gone = [(r, f) for r in reg.rows for f in r.files if f.removed]
    if not gone:
        return ""
    body = "".join(
        f"<tr><td>{_e(r.unit_name)}</td><td>{_e(_task_name(r.task, {r.task: r.task_title}))}</td>"
        f"<td>{_e(period_label_vi(r.period))}</td><td>{_e(f.path)}</td>"
        f"<td>{to_local(f.uploaded_at).strftime('%d/%m/%Y %H:%M') if f.uploaded_at else ''}</td>"
        f"<td>{_e(f.note)}</td></tr>"
        for r, f in gone)
    return (f"<section><h2>Báo cáo đã nộp nay không còn ({len(gone)})</h2>"
            '<table class="list"><thead><tr><th>Đơn vị</th><th>Nhiệm vụ</th><th>Kỳ</th><th>Tệp</th><th>Tải lên lúc</th>'
            f"<th>Ghi chú</th></tr></thead><tbody>{body}</tbody></table></section>")


def render_html(reg: Register, folder_url: Callable[[str], str | None] | None = None) -> str:
    """The register as one HTML page; folder_url(folder) gives the link for a cell, or None."""
    counts = reg.counts()
    badges = "".join(
        f'<div class="badge st-{s.value}" data-status="{s.value}"><b>{counts[s]}</b>{_e(STATUS_LABELS_VI[s])}</div>'
        for s in STATUS_ORDER)
    badges += f'<div class="badge total"><b>{len(reg.rows)}</b>Tổng số việc</div>'
    legend = "".join(
        f'<span><span class="sw st-{s.value}">{SYMBOLS[s]}</span>{_e(STATUS_LABELS_VI[s])}</span>' for s in STATUS_ORDER)
    legend += ('<span><span class="sw none" style="background:repeating-linear-gradient(45deg,#fff,#fff 4px,#e5e7eb 4px,'
               '#e5e7eb 8px)"></span>Đơn vị không phải thực hiện</span>'
               '<span><span class="sw removed st-not_due" style="box-shadow:inset 0 0 0 2px rgba(0,0,0,.35)"></span>'
               'Tệp đã nộp nay bị xoá</span>')
    ignored = ""
    if reg.ignored:
        items = "".join(f"<li>{_e(i.path)} — {_e(i.reason)}</li>" for i in reg.ignored)
        ignored = (f"<section><details><summary>{len(reg.ignored)} tệp tạm hoặc tệp rỗng không được tính"
                   f"</summary><ul>{items}</ul></details></section>")
    plan = reg.plan_title or "Kế hoạch"
    generated = to_local(reg.generated_at).strftime("%H:%M ngày %d/%m/%Y")
    return f"""<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(f"Sổ theo dõi — {plan}")}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<div class="kicker">Sổ theo dõi thực hiện kế hoạch</div>
<h1>{_e(plan)}</h1>
<div class="meta">Tình hình đến hết ngày <b>{reg.as_of.strftime("%d/%m/%Y")}</b> · Cập nhật lúc {generated}</div>
</header>
<main>
<div class="badges">{badges}</div>
<section><h2>Tình hình theo đơn vị</h2>{_grid(reg, folder_url)}<div class="legend">{legend}</div></section>
<section><h2>Việc quá hạn chưa hoàn thành ({counts[Status.OVERDUE]})</h2>{_overdue_table(reg, folder_url)}</section>
<section><h2>Tệp chưa xếp đúng thư mục ({len(reg.unassigned)})</h2>{_unassigned_table(reg)}</section>
{_removed_section(reg)}
{ignored}
</main>
<footer>Tạo tự động bởi plan-connector. Một tệp được tính khi nằm trong thư mục nộp của nhiệm vụ, hoặc ở thư mục của đơn vị với tên bắt đầu bằng số nhiệm vụ («NV03 - …»); hạn nộp là hết ngày (giờ Việt Nam).</footer>
</body>
</html>
"""
