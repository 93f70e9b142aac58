"""register.html: one self-contained page a committee secretary reads on a laptop, a phone or on paper.

Inline CSS only: no script, no external asset, so it reads the same opened from disk and under Nextcloud's
content security policy (which blocks inline scripts, not inline styles).

- The counts per status, labelled in words: they are the legend too.
- The grid: units are rows (those with the most overdue work first), tasks are columns ("BC" = the yearly
  report, "NV3" = task 3, explained in a key above the grid and named in full below it). A cell holds the status
  most in need of attention among that unit's periods of the task, with how many periods are in it, and leads
  to the unit's details. One column per task keeps a plan of ~20 tasks within a 1366 px screen; on a phone the
  grid scrolls sideways inside its box while the unit names stay.
- The tasks in full (details/summary), the overdue work, each unit's details (every period: due date, status,
  submission, a link to its folder), reports gone, files nobody could place.
- Filters by unit, task and status: <select>s that CSS reads with :has(), so they need no script (a browser
  without :has() hides them and shows everything); "Bỏ lọc" is the form's reset button.
- @media print: A4 landscape, the grid whole with its heading on every page, no controls.

Links to folders and files are absolute (the page is also opened from disk); links within the page are anchors.
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from datetime import date

from connector.models import STATUS_LABELS_VI, Status
from connector.register.status import STATUS_ORDER, Register, RegisterRow, period_label_vi, to_local
from connector.render.names import shorten

SYMBOLS = {
    Status.SUBMITTED_ON_TIME: "✓",
    Status.SUBMITTED_LATE: "✓!",
    Status.OVERDUE: "✗",
    Status.DUE_SOON: "!",
    Status.IN_PROGRESS: "↻",
    Status.NOT_DUE: "·",
}
_UNCOUNTED = {Status.NOT_DUE, Status.IN_PROGRESS}  # a grid cell counts the periods of other statuses only
CSV_FORMAT_NOTE = ("register.csv: mã UTF-8, các cột phân cách bằng dấu phẩy (,), ngày viết dd/mm/yyyy, giờ Việt Nam; "
                   "register.xlsx: cùng nội dung, cột «Hạn» là ngày thật, việc thường xuyên đánh dấu ở cột riêng")

_CSS = """
:root{--on:#1b5e20;--on-bg:#c8e6c9;--late:#8a3c00;--late-bg:#ffd8a8;--over:#b71c1c;--over-bg:#ffcdd2;
--soon:#6b5200;--soon-bg:#fff1a8;--prog:#1f5fa8;--prog-bg:#e7effa;--not:#546e7a;--not-bg:#eceff1;
--line:#dfe3e8;--ink:#1f2933;--muted:#56606e;--brand:#8b1a1a}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;
color:var(--ink);background:#f6f7f9}
header{background:var(--brand);color:#fff;padding:16px 24px 14px}
header .kicker{font-size:12px;letter-spacing:.08em;text-transform:uppercase;opacity:.85}
header h1{margin:2px 0 6px;font-size:21px;line-height:1.3;font-weight:650}
header .meta{font-size:13px;opacity:.92}
main{padding:16px 24px 32px;max-width:1600px}
a{color:#0b57a4}
.badges{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px;margin:0 0 14px;padding:0;
list-style:none}
.badges li{display:flex;align-items:center;gap:8px;padding:7px 12px;border-radius:10px;background:#fff;
border:1px solid var(--line);font-size:13px;line-height:1.25}
.badges b{font-size:21px;font-variant-numeric:tabular-nums;white-space:nowrap}
.badges .sym{font-weight:700;min-width:1.4em;text-align:center;white-space:nowrap}
section{background:#fff;border:1px solid var(--line);border-radius:12px;padding:12px 16px;margin:0 0 16px;
min-width:0}
section h2{font-size:16px;margin:0 0 8px}
.key{display:flex;flex-wrap:wrap;gap:6px 16px;margin:0 0 8px;padding:0;list-style:none;font-size:13px}
.key li{display:flex;align-items:center;gap:6px}
.sw{display:inline-block;min-width:26px;height:20px;padding:0 3px;border-radius:4px;text-align:center;
font-weight:700;line-height:20px;font-size:12px}
.how{font-size:13px;color:var(--muted);margin:0 0 10px}
.how b{color:var(--ink)}
.filters{display:flex;flex-wrap:wrap;align-items:end;gap:8px 14px;margin:0 0 14px;padding:8px 12px;
background:#fff;border:1px solid var(--line);border-radius:10px}
.filters .what{font-weight:650;align-self:center}
.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:2px;min-width:0}
.filters select{font:inherit;font-size:14px;color:var(--ink);padding:4px 6px;max-width:260px;border:1px solid #b9c0ca;
border-radius:6px;background:#fff}
.filters button{font:inherit;font-size:13px;padding:5px 12px;border:1px solid #b9c0ca;border-radius:6px;
background:#fff;cursor:pointer}
.scroll{overflow:auto;max-height:78vh;border:1px solid var(--line);border-radius:8px}
table{border-collapse:separate;border-spacing:0}
table.grid{width:100%}
table.grid th,table.grid td{border-bottom:1px solid var(--line);border-right:1px solid var(--line)}
table.grid thead th{position:sticky;top:0;background:#fff;z-index:2;font-size:12px;font-weight:650;
padding:6px 2px;text-align:center;white-space:nowrap}
table.grid thead th a{color:var(--ink);text-decoration:none}
table.grid th.unit{position:sticky;left:0;z-index:1;background:#fff;text-align:left;padding:4px 8px;
font-weight:500;min-width:150px;width:290px;max-width:320px;line-height:1.25;overflow-wrap:anywhere}
table.grid th.unit a{color:var(--ink);text-decoration:none}
table.grid thead th.unit{z-index:3;color:var(--muted)}
.od{float:right;margin-left:6px;padding:0 6px;border-radius:8px;font-size:11px;background:var(--over-bg);
color:var(--over);font-weight:700;white-space:nowrap;line-height:18px;margin-top:1px}
td.cell{min-width:36px;height:30px;text-align:center;font-weight:700;font-size:13px;padding:0}
td.cell a{display:block;color:inherit;text-decoration:none;line-height:30px;white-space:nowrap}
td.cell small{font-size:10px;font-weight:600;margin-left:1px}
td.none{min-width:36px;background:repeating-linear-gradient(45deg,#fff,#fff 4px,#eef0f3 4px,#eef0f3 8px)}
td.removed{box-shadow:inset 0 0 0 2px rgba(0,0,0,.4)}
.st-submitted_on_time{background:var(--on-bg);color:var(--on)}
.st-submitted_late{background:var(--late-bg);color:var(--late)}
.st-overdue{background:var(--over-bg);color:var(--over)}
.st-due_soon{background:var(--soon-bg);color:var(--soon)}
.st-in_progress{background:var(--prog-bg);color:var(--prog)}
.st-not_due{background:var(--not-bg);color:var(--not)}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.chips{display:inline-flex;flex-wrap:wrap;gap:4px;margin-left:6px;vertical-align:middle}
.chips .pill{padding:0 6px}
details>summary{cursor:pointer}
.tasks details,.units details{border-bottom:1px solid var(--line);padding:6px 2px}
.tasks summary,.units summary{line-height:1.6}
.tasks .full{margin:6px 0 2px 22px}
.tasks .periods{margin:2px 0 4px 22px;color:var(--muted);font-size:13px}
.units details[open]{padding-bottom:10px}
.units details>table{margin-top:6px}
table.list{width:100%;font-size:13px}
table.list th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:5px 8px}
table.list td{border-bottom:1px solid var(--line);padding:5px 8px;vertical-align:top;overflow-wrap:anywhere}
table.list td.num{text-align:right;font-variant-numeric:tabular-nums}
.empty-note{color:var(--muted);margin:0}
.muted{color:var(--muted)}
footer{color:var(--muted);font-size:12px;padding:0 24px 24px;max-width:1600px}
footer p{margin:4px 0}
@supports not selector(:has(*)){.filters{display:none}}
@media (min-width:701px){.filters{position:sticky;top:0;z-index:5;box-shadow:0 2px 6px rgba(0,0,0,.06)}}
@media (max-width:700px){
header{padding:12px 14px}
header h1{font-size:17px}
main{padding:10px 10px 24px}
section{padding:10px 10px;border-radius:10px}
.badges{grid-template-columns:repeat(2,minmax(0,1fr))}
.badges li{padding:5px 8px;gap:6px;font-size:12px}
.badges b{font-size:18px}
.filters{display:grid;grid-template-columns:1fr 1fr;gap:6px 8px;padding:8px}
.filters label:first-of-type{grid-column:1/3}
.filters select{width:100%;max-width:none;font-size:13px}
.filters .what{display:none}
.filters button{grid-column:1/3;justify-self:start}
.od{margin-top:0}
.od .long{display:none}
table.grid th.unit{min-width:132px;width:132px;max-width:132px;font-size:12px;padding:3px 6px}
td.cell,td.none{min-width:34px}
.scroll{max-height:70vh}
table.list thead{display:none}
table.list tr{display:block;border-bottom:1px solid var(--line);padding:4px 0}
table.list td{display:block;border:none;padding:1px 6px}
table.list td.num{text-align:left}
table.list td[data-l]::before{content:attr(data-l) ": ";color:var(--muted)}
table.list td:empty{display:none}
table.list td[data-l="Kỳ"],table.list td[data-l="Hạn"],.units td:nth-child(2),.units td:nth-child(3){display:inline-block}
.units td:nth-child(1)::before{content:"Nhiệm vụ: ";color:var(--muted)}
.units td:nth-child(2)::before{content:"Kỳ: ";color:var(--muted)}
.units td:nth-child(3)::before{content:"Hạn: ";color:var(--muted)}
.units td:nth-child(4)::before{content:"Tình trạng: ";color:var(--muted)}
.units td:nth-child(5)::before{content:"Nộp lúc: ";color:var(--muted)}
.units td:nth-child(6)::before{content:"Thư mục: ";color:var(--muted)}
footer{padding:0 12px 20px}
}
@page{size:A4 landscape;margin:10mm}
@media print{
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{background:#fff;font-size:10px}
header{background:none;color:#000;padding:0 0 4px;border-bottom:2px solid var(--brand)}
header h1{font-size:15px}
main{padding:6px 0 0;max-width:none}
.key{font-size:9px;gap:2px 10px;margin-bottom:2px}
.sw{min-width:18px;height:13px;line-height:13px;font-size:9px}
.how{font-size:9px;margin-bottom:4px}
.od{font-size:8px;line-height:12px;padding:0 4px}
.filters,.how .screen{display:none}
.badges{grid-template-columns:repeat(7,1fr);gap:4px;margin-bottom:6px}
.badges li{padding:3px 6px;font-size:10px}
.badges b{font-size:13px}
section{border:none;border-radius:0;padding:0;margin:0 0 8px}
section h2{font-size:12px;margin:4px 0}
.scroll{max-height:none;overflow:visible;border:none}
table.grid thead{display:table-header-group}
table.grid thead th,table.grid th.unit{position:static}
table.grid th.unit{width:auto;min-width:0;font-size:9px;padding:1px 4px}
table.grid thead th{font-size:9px;padding:2px 1px}
td.cell,td.none{min-width:0;height:auto;font-size:9px}
td.cell a{line-height:15px}
tr{break-inside:avoid}
a{color:inherit;text-decoration:none}
.units details:not([open]),.tasks details summary .chips{display:none}
.tasks details{padding:1px 0;font-size:9px}
table.list{font-size:9px}
footer{padding:6px 0 0}
}
"""


def _natural(name: str) -> list:
    """Sort key reading numbers as numbers: "Chi bộ số 9" before "Chi bộ số 10"."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name.casefold())]


def _e(text: object) -> str:
    return html.escape(unicodedata.normalize("NFC", str(text)), quote=True)


def _dmy(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "—"


def _when(moment) -> str:
    return to_local(moment).strftime("%d/%m/%Y %H:%M") if moment else ""


def _task_short(task: int) -> str:
    return "BC" if task == 0 else f"NV{task}"


def _link(url: str | None, text: str) -> str:
    """A link only where it is absolute: the page is also opened from disk, where a server path leads nowhere."""
    return f'<a href="{_e(url)}">{text}</a>' if url and url.startswith(("https://", "http://")) else text


def _row_url(r: RegisterRow, folder_url: Callable[[str], str | None] | None) -> str | None:
    return r.url or (folder_url(r.folder) if folder_url else None)


def _pill(status: Status, text: str | None = None) -> str:
    label = STATUS_LABELS_VI[status] if text is None else text
    return f'<span class="pill st-{status.value}">{SYMBOLS[status]} {_e(label)}</span>'


def _chips(rows: list[RegisterRow]) -> str:
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUS_ORDER}
    return ('<span class="chips">' + "".join(
        f'<span class="pill st-{s.value}" title="{_e(STATUS_LABELS_VI[s])}">{SYMBOLS[s]} {n}</span>'
        for s, n in counts.items() if n) + "</span>")


def _present(rows: list[RegisterRow]) -> str:
    """Class names saying which statuses a set of rows holds: "hs h-overdue …" (the status filter hides an element
    of class hs without the chosen one)."""
    return " ".join(["hs", *(f"h-{s.value}" for s in STATUS_ORDER if any(r.status == s for r in rows))])


class _Page:
    """The register arranged for the page: units in grid order, tasks in plan order, ids for anchors."""

    def __init__(self, reg: Register, folder_url: Callable[[str], str | None] | None):
        self.reg, self.folder_url = reg, folder_url
        self.names = reg.unit_names()
        self.ids = {u: f"u{i}" for i, u in enumerate(dict.fromkeys(r.unit for r in reg.rows))}
        self.tasks = sorted({r.task for r in reg.rows})
        self.titles = reg.task_titles()
        self.cells: dict[tuple[str, int], list[RegisterRow]] = {}
        for r in reg.rows:
            self.cells.setdefault((r.unit, r.task), []).append(r)
        self.by_unit: dict[str, list[RegisterRow]] = {}
        for r in reg.rows:
            self.by_unit.setdefault(r.unit, []).append(r)
        overdue = {u: sum(1 for r in rows if r.status == Status.OVERDUE) for u, rows in self.by_unit.items()}
        self.overdue = overdue
        self.units = sorted(self.by_unit, key=lambda u: (-overdue[u], _natural(self.names[u]), u))
        self._shorts: dict[tuple[int, int], str] = {}

    def task_name(self, task: int) -> str:
        return self.titles.get(0, "Báo cáo hằng năm") if task == 0 else f"Nhiệm vụ {task}: {self.titles.get(task, '')}"

    # -- the grid ---------------------------------------------------------------------------------
    def grid(self) -> str:
        head = "".join(f'<th scope="col" data-t="t{t}"><a href="#nv-{t}">{_task_short(t)}</a></th>' for t in self.tasks)
        body = []
        for u in self.units:
            uid, name = self.ids[u], self.names[u]
            od = (f' <span class="od">{self.overdue[u]}<span class="long"> quá hạn</span></span>'
                  if self.overdue[u] else "")
            cells = [f'<th class="unit" scope="row"><a href="#dv-{uid}">{_e(name)}</a>{od}</th>']
            for t in self.tasks:
                rows = self.cells.get((u, t))
                cells.append(self._cell(uid, name, t, rows) if rows else
                             f'<td class="none" data-t="t{t}" title="Không phải thực hiện"></td>')
            body.append(f'<tr data-u="{uid}" class="{_present(self.by_unit[u])}">{"".join(cells)}</tr>')
        return (f'<div class="scroll"><table class="grid"><thead><tr><th class="unit" scope="col">Đơn vị</th>{head}'
                f'</tr></thead><tbody>{"".join(body)}</tbody></table></div>')

    def _cell(self, uid: str, name: str, task: int, rows: list[RegisterRow]) -> str:
        counts = {s: sum(1 for r in rows if r.status == s) for s in STATUS_ORDER}
        worst = next(s for s in STATUS_ORDER if counts[s])
        many = f"<small>{counts[worst]}</small>" if counts[worst] > 1 and worst not in _UNCOUNTED else ""
        said = "; ".join(f"{STATUS_LABELS_VI[s].lower()}: {n} kỳ" if len(rows) > 1 else STATUS_LABELS_VI[s].lower()
                         for s, n in counts.items() if n)
        text = f"{name} – {_task_short(task)}: {said}"
        if any(r.removed for r in rows):
            text += " (có tệp đã nộp nay bị xoá)"
        classes = f"cell st-{worst.value} {_present(rows)[3:]}" + (" removed" if any(r.removed for r in rows) else "")
        return (f'<td class="{classes}" data-t="t{task}" data-status="{worst.value}">'
                f'<a href="#dv-{uid}" title="{_e(text)}">{SYMBOLS[worst]}{many}</a></td>')

    def key(self) -> str:
        items = "".join(f'<li><span class="sw st-{s.value}">{SYMBOLS[s]}</span>{_e(STATUS_LABELS_VI[s])}</li>'
                        for s in STATUS_ORDER)
        items += ('<li><span class="sw" style="background:repeating-linear-gradient(45deg,#fff,#fff 4px,#dde1e6 4px,'
                  '#dde1e6 8px);border:1px solid var(--line)"></span>Không phải thực hiện</li>'
                  '<li><span class="sw st-not_due" style="box-shadow:inset 0 0 0 2px rgba(0,0,0,.4)"></span>'
                  'Có tệp đã nộp nay bị xoá</li>')
        last = max((t for t in self.tasks if t), default=0)
        tasks = f"<b>NV1</b> … <b>NV{last}</b>: nhiệm vụ 1 … {last} của kế hoạch" if last else ""
        return (f'<ul class="key" aria-label="Chú thích">{items}</ul>'
                f'<p class="how">Mỗi ô là một nhiệm vụ của một đơn vị và ghi tình trạng cần chú ý nhất trong các kỳ '
                f'của nhiệm vụ đó; số nhỏ cạnh dấu là số kỳ ở tình trạng ấy (ví dụ ✗2: hai kỳ quá hạn). <b>BC</b>: báo cáo hằng năm; {tasks} '
                f'(tên đầy đủ ở mục «Các nhiệm vụ»). <span class="screen">Bấm vào một ô hoặc tên đơn vị để xem '
                f'từng kỳ, hạn và thư mục nộp.</span></p>')

    def filters(self) -> str:
        units = "".join(f'<option value="{self.ids[u]}">{_e(self.names[u])}</option>'
                        for u in sorted(self.units, key=lambda u: _natural(self.names[u])))
        tasks = "".join(f'<option value="t{t}">{_task_short(t)} – {_e(self._short(t, 50))}</option>' for t in self.tasks)
        counts = self.reg.counts()
        statuses = "".join(f'<option value="{s.value}">{_e(STATUS_LABELS_VI[s])} ({counts[s]})</option>'
                           for s in STATUS_ORDER if counts[s])
        return ('<form class="filters" aria-label="Lọc sổ theo dõi"><span class="what">Lọc</span>'
                f'<label>Đơn vị<select id="f-unit"><option value="" selected>Tất cả đơn vị ({len(self.units)})</option>'
                f'{units}</select></label>'
                f'<label>Nhiệm vụ<select id="f-task"><option value="" selected>Tất cả nhiệm vụ</option>{tasks}</select></label>'
                f'<label>Tình trạng<select id="f-status"><option value="" selected>Mọi tình trạng</option>{statuses}'
                '</select></label><button type="reset">Bỏ lọc</button></form>')

    def filter_css(self) -> str:
        """One rule per choice: what a chosen unit, task or status hides in the sections after the form.

        The form is the :has() subject and the sections its later siblings: with `body:has(…)` a browser
        re-matches the whole page on every change (printing 40 units took Chromium 26 s instead of 2)."""
        def chosen(select: str, value: str) -> str:
            return f'.filters:has(#{select} option[value="{value}"]:checked)~*'

        rules = [f'{chosen("f-unit", i)} [data-u]:not([data-u="{i}"])' for i in self.ids.values()]
        rules += [f'{chosen("f-task", f"t{t}")} [data-t]:not([data-t="t{t}"])' for t in self.tasks]
        out = [",\n".join(rules) + "{display:none}"] if rules else []
        for s in STATUS_ORDER:
            on = chosen("f-status", s.value)
            out.append(f'{on} .hs:not(.h-{s.value}),{on} [data-s]:not([data-s="{s.value}"]){{display:none}}')
            out.append(f"{on} td.cell:not(.h-{s.value}){{opacity:.2}}")
        return "@supports selector(:has(*)){\n" + "\n".join(out) + "\n}"

    def _short(self, task: int, limit: int) -> str:
        key = (task, limit)
        if key not in self._shorts:
            self._shorts[key] = shorten(self.titles.get(task, "") if task else "Báo cáo hằng năm", limit)
        return self._shorts[key]

    # -- the lists --------------------------------------------------------------------------------
    def task_list(self) -> str:
        out = []
        for t in self.tasks:
            rows = [r for r in self.reg.rows if r.task == t]
            periods = list(dict.fromkeys((period_label_vi(r.period, r.due), r.due) for r in
                                         sorted(rows, key=lambda r: (r.milestone, r.due or date.max))))
            listed = [f"{label} (hạn {_dmy(due)})" if due else label for label, due in periods]
            if len(listed) > 6:
                listed = [*listed[:3], f"… {len(listed) - 5} kỳ khác …", *listed[-2:]]
            full = self.reg.full_title(t) if t else "Báo cáo kết quả thực hiện kế hoạch hằng năm của các đơn vị, " \
                                                    "gồm cả các nhiệm vụ thực hiện thường xuyên"
            units = len({r.unit for r in rows})
            out.append(f'<details id="nv-{t}" data-t="t{t}" class="{_present(rows)}"><summary><b>{_task_short(t)}</b> '
                       f'{_e(self.titles.get(t, "") if t else "Báo cáo hằng năm")}{_chips(rows)}</summary>'
                       f'<p class="full">{_e(full)}</p>'
                       f'<p class="periods">{units} đơn vị · Kỳ: {_e("; ".join(listed))}</p></details>')
        return f'<div class="tasks">{"".join(out)}</div>'

    def _row_cells(self, r: RegisterRow, *, unit: bool, days: bool = False, labels: bool = True) -> str:
        """A row of a list: its cells carry their column's name for the phone layout (`labels`; the units'
        details, 1 000+ rows, name theirs in CSS instead)."""
        def td(label: str, content: str, cls: str = "") -> str:
            attrs = (f' class="{cls}"' if cls else "") + (f' data-l="{label}"' if labels else "")
            return f"<td{attrs}>{content}</td>"

        cells = [td("Đơn vị", _e(r.unit_name))] if unit else []
        cells.append(td("Nhiệm vụ", f"<b>{_task_short(r.task)}</b> {_e(self._short(r.task, 60))}"))
        cells.append(td("Kỳ", _e(period_label_vi(r.period, r.due))))
        cells.append(td("Hạn", _dmy(self.due(r) if days else r.due)))
        if days:
            due = self.due(r)
            cells.append(td("Số ngày quá hạn", str((self.reg.as_of - due).days) if due else "", "num"))
        else:
            note = ""
            if r.period == "ongoing" and (rep := self.reg.judging_report(r)) is not None:
                note = f'<br><span class="muted">theo báo cáo hằng năm {_e(rep.period)}</span>'
            removed = '<br><span class="muted">tệp đã nộp nay bị xoá</span>' if r.removed else ""
            cells.append(td("Tình trạng", f"{_pill(r.status)}{note}{removed}"))
            cells.append(td("Nộp lúc", _when(r.submitted_at)))
        url = _row_url(r, self.folder_url)
        folder = _link(url, "Mở thư mục") if url and url.startswith(("https://", "http://")) else _e(r.folder)
        cells.append(td("Thư mục", folder))
        return "".join(cells)

    def due(self, r: RegisterRow) -> date | None:
        """A row's due date; an ongoing task's is that of the yearly report it is judged by."""
        if r.due is None and r.period == "ongoing" and (report := self.reg.judging_report(r)) is not None:
            return report.due
        return r.due

    def overdue_table(self) -> str:
        rows = sorted((r for r in self.reg.rows if r.status == Status.OVERDUE),
                      key=lambda r: (self.due(r) or date.max, _natural(self.names[r.unit]), r.task))
        if not rows:
            return '<p class="empty-note">Không có việc nào quá hạn.</p>'
        body = "".join(f'<tr data-u="{self.ids[r.unit]}" data-t="t{r.task}" data-s="{r.status.value}">'
                       f'{self._row_cells(r, unit=True, days=True)}</tr>' for r in rows)
        return ('<table class="list"><thead><tr><th>Đơn vị</th><th>Nhiệm vụ</th><th>Kỳ</th><th>Hạn</th>'
                f"<th>Số ngày quá hạn</th><th>Thư mục nộp</th></tr></thead><tbody>{body}</tbody></table>")

    def unit_details(self) -> str:
        out = []
        for u in self.units:
            rows = sorted(self.by_unit[u], key=lambda r: (r.task, r.milestone, r.due or date.max, r.period))
            uid = self.ids[u]
            body = "".join(f'<tr data-t="t{r.task}" data-s="{r.status.value}">{self._row_cells(r, unit=False, labels=False)}'
                           "</tr>" for r in rows)
            folder = rows[0].folder.split("/", 1)[0] if rows else ""
            url = self.folder_url(folder) if self.folder_url and folder else None
            where = f' · {_link(url, "Thư mục của đơn vị")}' if url and url.startswith(("https://", "http://")) else ""
            out.append(f'<details id="dv-{uid}" data-u="{uid}" class="{_present(rows)}"><summary><b>{_e(self.names[u])}</b>'
                       f'{_chips(rows)}</summary><p class="muted">{len(rows)} việc{where}</p>'
                       '<table class="list"><thead><tr><th>Nhiệm vụ</th><th>Kỳ</th><th>Hạn</th><th>Tình trạng</th>'
                       f'<th>Nộp lúc</th><th>Thư mục nộp</th></tr></thead><tbody>{body}</tbody></table></details>')
        return f'<div class="units">{"".join(out)}</div>'

    def unassigned_table(self) -> str:
        reg = self.reg
        if not reg.unassigned:
            return '<p class="empty-note">Mọi tệp đều nằm đúng thư mục.</p>'
        body = "".join(
            f'<tr><td data-l="Đơn vị (đoán)">{_e(self.names.get(f.unit, f.unit) if f.unit else "—")}</td>'
            f'<td data-l="Tệp">{_link(f.url, _e(f.path))}{" <em>(đã bị xoá)</em>" if f.removed else ""}</td>'
            f'<td class="num" data-l="Kích thước (byte)">{f"{f.size:,}".replace(",", ".")}</td>'
            f'<td data-l="Tải lên lúc">{_when(f.uploaded_at)}</td>'
            f'<td data-l="Lý do">{_e(f.note if f.removed and f.note else f.reason)}</td></tr>'
            for f in reg.unassigned)
        return ('<table class="list"><thead><tr><th>Đơn vị (đoán)</th><th>Tệp</th><th>Kích thước (byte)</th>'
                f"<th>Tải lên lúc</th><th>Lý do</th></tr></thead><tbody>{body}</tbody></table>")

    def removed_section(self) -> str:
        """Reports filed once and no longer there (deleted, or gone with their folder): the submission stands."""
        gone = [(r, f) for r in self.reg.rows for f in r.files if f.removed]
        if not gone:
            return ""
        body = "".join(
            f'<tr data-u="{self.ids[r.unit]}" data-t="t{r.task}"><td data-l="Đơn vị">{_e(r.unit_name)}</td>'
            f'<td data-l="Nhiệm vụ"><b>{_task_short(r.task)}</b> {_e(self.titles.get(r.task, ""))}</td>'
            f'<td data-l="Kỳ">{_e(period_label_vi(r.period, r.due))}</td><td data-l="Tệp">{_e(f.path)}</td>'
            f'<td data-l="Tải lên lúc">{_when(f.uploaded_at)}</td><td data-l="Ghi chú">{_e(f.note)}</td></tr>'
            for r, f in gone)
        return (f"<section><h2>Báo cáo đã nộp nay không còn ({len(gone)})</h2>"
                '<table class="list"><thead><tr><th>Đơn vị</th><th>Nhiệm vụ</th><th>Kỳ</th><th>Tệp</th><th>Tải lên lúc</th>'
                f"<th>Ghi chú</th></tr></thead><tbody>{body}</tbody></table></section>")


def render_html(reg: Register, folder_url: Callable[[str], str | None] | None = None) -> str:
    """The register as one HTML page; folder_url(folder) gives the link of a folder, or None."""
    page = _Page(reg, folder_url)
    counts = reg.counts()
    badges = "".join(
        f'<li class="st-{s.value}" data-status="{s.value}"><span class="sym">{SYMBOLS[s]}</span><b>{counts[s]}</b>'
        f'{_e(STATUS_LABELS_VI[s])}</li>' for s in STATUS_ORDER)
    badges += f'<li class="total"><span class="sym"></span><b>{len(reg.rows)}</b>Tổng số việc</li>'
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
<style>{_CSS}
{page.filter_css()}</style>
</head>
<body>
<header>
<div class="kicker">Sổ theo dõi thực hiện kế hoạch</div>
<h1>{_e(plan)}</h1>
<div class="meta">Tình hình đến hết ngày <b>{reg.as_of.strftime("%d/%m/%Y")}</b> · Cập nhật lúc {generated}</div>
</header>
<main>
<ul class="badges" aria-label="Số việc theo tình trạng">{badges}</ul>
{page.filters()}
<section id="luoi"><h2>Tình hình theo đơn vị</h2>
{page.key()}
{page.grid()}
</section>
<section id="nhiem-vu"><h2>Các nhiệm vụ</h2>{page.task_list()}</section>
<section id="qua-han"><h2>Việc quá hạn chưa hoàn thành ({counts[Status.OVERDUE]})</h2>{page.overdue_table()}</section>
<section id="don-vi"><h2>Chi tiết theo đơn vị</h2>{page.unit_details()}</section>
<section id="chua-xep"><h2>Tệp chưa xếp đúng thư mục ({len(reg.unassigned)})</h2>{page.unassigned_table()}</section>
{page.removed_section()}
{ignored}
</main>
<footer>
<p>Tạo tự động bởi plan-connector. Một tệp được tính khi nằm trong thư mục nộp của nhiệm vụ, hoặc ở thư mục của đơn vị với tên bắt đầu bằng số nhiệm vụ («NV03 - …»); hạn nộp là hết ngày (giờ Việt Nam). Việc thực hiện thường xuyên không có hạn riêng: «Đang thực hiện» trong thời gian kế hoạch, được đánh giá qua báo cáo hằng năm; sau báo cáo hằng năm cuối cùng, theo kết quả báo cáo đó.</p>
<p>Cùng thư mục: {_e(CSV_FORMAT_NOTE)}.</p>
</footer>
</body>
</html>
"""
