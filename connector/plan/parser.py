"""Plan document → Plan model. `parse_text` is pure; `parse_plan` only adds reading the file."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from connector.errors import PlanError
from connector.models import MilestoneKind, Note, Plan, Task
from connector.plan import outline as ol
from connector.plan import structure as st
from connector.plan import units as un
from connector.text import slug
from connector.plan.deadlines import Context, find_phrases, leading_phrase, read_milestones, stated_years
from connector.plan.reader import read_document
from connector.plan.vocabulary import Vocabulary, load_vocabulary, normalize_phrase

TITLE_MAX = 60
_TASK_WORDS = ("NHIỆM VỤ", "NỘI DUNG", "GIẢI PHÁP", "CÔNG VIỆC", "CHƯƠNG TRÌNH", "HOẠT ĐỘNG")
_PURPOSE_WORDS = ("MỤC ĐÍCH", "YÊU CẦU", "MỤC TIÊU")
_ORG_WORDS = ("TỔ CHỨC THỰC HIỆN", "TRÁCH NHIỆM", "PHÂN CÔNG")
_DEADLINE_LINE = re.compile(r"^(?:[-–+•]\s*)?(?:thời\s+gian|thời\s+hạn|tiến\s+độ|hạn\s+hoàn\s+thành)\b[^:]{0,25}:", re.IGNORECASE)
_ROLE_LABEL = re.compile(
    r"(?:^|(?<=[;.]))\s*(?:[-–+•]\s*)?(?P<label>(?:(?:cơ\s+quan|đơn\s+vị|bộ\s+phận)\s+)?(?:chủ\s+trì|phối\s+hợp|thực\s+hiện|tham\s+mưu)"
    r"(?:\s+(?:tham\s+mưu\s+)?(?:thực\s+hiện|tham\s+mưu))?|trách\s+nhiệm\s+thực\s+hiện)\s*:\s*",
    re.IGNORECASE)


def parse_plan(path: str | Path, vocabulary: Vocabulary | None = None) -> Plan:
    """Read a .txt/.md/.docx plan; PlanError (naming the file) when it cannot be read as a plan."""
    text = read_document(path)
    return parse_text(text, source=str(path), vocabulary=vocabulary)


def parse_text(text: str, *, source: str = "<text>", vocabulary: Vocabulary | None = None) -> Plan:
    """The Plan a document's marked text (italics as `*...*`) describes. Pure."""
    vocabulary = vocabulary or load_vocabulary()
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise PlanError("empty document", path=source)
    layout = st.build_layout(text)
    title, title_start, after_title = st.title_block(layout.header)
    roles = [section_role(s.title) for s in layout.sections]
    found, organizational = _candidates(layout, roles, after_title)
    if not found and not organizational:
        raise PlanError("no numbered tasks found; is this a plan (Kế hoạch)?",
                        path=source)

    issued = st.issue_date(layout.header) or st.issue_date([st.Paragraph(p, [(0, n)]) for n, p in layout.closing])
    drafts = [_draft(_RawTask(0, c.line, c.paragraphs, c), vocabulary) for c in found]
    org_drafts = [_draft(_RawTask(0, c.line, c.paragraphs, c), vocabulary) for c in organizational]
    years = [y for d in drafts for f in d.found for y in stated_years(f.phrase, vocabulary)]
    year = issued.year if issued else (min(years) if years else None)
    term = st.term(text)
    context = Context(year=year, term=term, issued=issued)
    tasks = [d.task(vocabulary, context) for d in drafts]
    tasks += [t for d in org_drafts if _is_duty(t := d.task(vocabulary, context))]
    if not tasks:
        raise PlanError("no numbered tasks found; is this a plan (Kế hoạch)?",
                        path=source)
    tasks.sort(key=lambda t: t.line or 0)
    for number, task in enumerate(tasks, 1):
        task.number = number

    plain_title = title or _fallback_title(layout, source)
    purpose_at = next((i for i, r in enumerate(roles) if r == "purpose"), None)
    org_at = next((i for i, r in enumerate(roles) if r == "org"), None)
    organization = [p.plain for p in layout.sections[org_at].paragraphs if p.rows is None] if org_at is not None else []
    reports = [p.plain for i, s in enumerate(layout.sections) if roles[i] == "org" for p in s.paragraphs if p.rows is None]
    number = st.plan_number(layout.header)
    plan_period = st.period(plain_title, year)
    return Plan(
        title=plain_title,
        code=slug(number) if number else st.plan_code(plain_title, layout.header,
                                                      Path(source).stem if source != "<text>" else ""),
        number=number,
        issuer=_issuer(layout, title_start, after_title),
        signer=st.signer([p for _, p in layout.closing] or [p.plain for p in layout.header]),
        issued=issued,
        year=year,
        term=term,
        period=plan_period,
        horizon=default_horizon(year, term, plan_period),
        purpose=[p.plain for p in layout.sections[purpose_at].paragraphs] if purpose_at is not None else [],
        organization=organization,
        annual_report_due=st.annual_report_day(reports) or Plan.model_fields["annual_report_due"].default,
        tasks=tasks,
        source=source,
        notes=_notes(tasks),
    )


def _issuer(layout: st.Layout, title_start: int, after_title: int) -> str | None:
    """The body that issues the plan: its letterhead, unless the preamble names it more fully
    ("Ban Thường vụ Đảng ủy Khối … ban hành Kế hoạch")."""
    printed = st.letterhead(layout.header[:title_start])
    stated = st.issuer(layout.header, title_start, after_title)
    if printed and stated and un.is_unit_name(stated) and len(stated) > len(printed):
        return stated
    return printed or stated


def default_horizon(year: int | None, term: tuple[int, int] | None, period: tuple[int, int] | None = None) -> int | None:
    """Last year recurring milestones run to: the plan's period end when its title names one, else the term's end
    when known and not past, else year + 4."""
    if period is not None and (year is None or period[1] >= year):
        return period[1]
    if year is None:
        return term[1] if term else None
    return term[1] if term and term[1] >= year else year + 4


def _notes(tasks: list[Task]) -> list[Note]:
    """What a person must look at: phrases the vocabulary could not read, with their lines."""
    notes = []
    for task in tasks:
        for m in task.milestones:
            if m.kind == MilestoneKind.UNKNOWN:
                notes.append(Note(line=m.line, text=m.phrase, reason=f"task {task.number}: " + "; ".join(m.flags)))
    first: dict[str, Task] = {}
    for task in tasks:  # two tasks under one number ("2." twice): both kept, numbered in order; say so
        if task.label and task.label in first:
            was = first[task.label]
            notes.append(Note(line=task.line, text=task.title, reason=f"numbered {task.label} like task {was.number} "
                                                                       f"(line {was.line}): read as task {task.number}"))
        first.setdefault(task.label, task)
    return notes


def _is_duty(task: Task) -> bool:
    """A paragraph of "Tổ chức thực hiện" is a task when it carries a dated or sub-yearly deadline; a yearly
    report there is the plan's periodic report, not a task."""
    return any((m.kind == MilestoneKind.ONCE and m.due) or (
        m.kind in (MilestoneKind.MONTHLY, MilestoneKind.QUARTERLY) and re.search(r"BYMONTHDAY=\d", m.rrule or ""))
        for m in task.milestones)


# --------------------------------------------------------------------------------- sections

_SKIP_WORDS = ("MỤC ĐÍCH", "YÊU CẦU", "MỤC TIÊU", "CHỈ TIÊU", "QUAN ĐIỂM", "KINH PHÍ", "NGUỒN", "ĐÁNH GIÁ",
               "THỰC TRẠNG", "TÌNH HÌNH", "PHẠM VI", "ĐỐI TƯỢNG", "CĂN CỨ", "SỰ CẦN THIẾT", "KẾT QUẢ")
_PRIMARY_WORDS = ("NHIỆM VỤ", "NỘI DUNG", "CÔNG VIỆC", "HOẠT ĐỘNG", "PHÂN CÔNG", "TIẾN ĐỘ", "LỘ TRÌNH",
                  "CHƯƠNG TRÌNH", "PHỤ LỤC", "DANH MỤC")
_ORG_SECTION = ("TỔ CHỨC THỰC HIỆN", "TRÁCH NHIỆM", "BÁO CÁO", "THEO DÕI", "KIỂM TRA, GIÁM SÁT", "ĐIỀU KHOẢN")


def section_role(title: str) -> str:
    """purpose | targets | task | secondary | org | other: what a section holds, by its title."""
    upper = title.upper()
    if any(w in upper for w in _ORG_SECTION) and not any(w in upper for w in ("NHIỆM VỤ", "NỘI DUNG", "PHÂN CÔNG")):
        return "org"
    if any(w in upper for w in _PRIMARY_WORDS):
        return "task"
    if "GIẢI PHÁP" in upper:
        return "secondary"
    if "MỤC ĐÍCH" in upper or "YÊU CẦU" in upper:
        return "purpose"
    if any(w in upper for w in _SKIP_WORDS):
        return "skip"
    return "other"


def _candidates(layout: st.Layout, roles: list[str], after_title: int) -> tuple[list[ol.Candidate], list[ol.Candidate]]:
    """(tasks, duties to test): table rows when the plan has a task table, else the items of its task sections;
    and the items of its "Tổ chức thực hiện"/reporting sections (tasks only when they carry a deadline)."""
    def of(i: int) -> list[ol.Candidate]:
        section = layout.sections[i]
        return ol.candidates(ol.build_tree(section.paragraphs), section.roman)

    tables: list[ol.Candidate] = []
    for i, section in enumerate(layout.sections):
        for p in section.paragraphs:
            if p.rows is not None:
                tables += table_candidates(p.rows, section.roman)
    for p in layout.header:
        if p.rows is not None:
            tables += table_candidates(p.rows, "")
    organizational = []
    for i, r in enumerate(roles):
        if r == "org":
            tree = ol.build_tree(layout.sections[i].paragraphs)
            organizational += ol.candidates(tree, layout.sections[i].roman) + ol.prose_candidates(
                tree, layout.sections[i].roman)
    if tables:
        return tables, organizational
    for wanted in ("task", "secondary", "other"):
        found = [c for i, r in enumerate(roles) if r == wanted for c in of(i)]
        if found:
            return found, organizational
    if not layout.sections:
        return ol.candidates(ol.build_tree(layout.header[after_title:])), []
    return [], organizational


_COLUMNS = {
    "number": re.compile(r"^(?:s\.?\s*)?tt\.?$|^số\s+(?:tt|thứ\s+tự)$|^stt$|^thứ\s+tự$"),
    "content": re.compile(r"nội dung|nhiệm vụ|công việc|tên (?:nhiệm vụ|công việc|đề án|hoạt động)|hoạt động|giải pháp"),
    "time": re.compile(r"thời gian|thời hạn|tiến độ|hạn hoàn thành|thời điểm"),
    "cooperating": re.compile(r"phối hợp"),
    "lead": re.compile(r"chủ trì|cơ quan thực hiện|đơn vị thực hiện|^thực hiện$|phụ trách|trách nhiệm|người thực hiện"),
    "result": re.compile(r"sản phẩm|kết quả|hình thức văn bản"),
}
_GROUP_NUMBER = re.compile(r"^(?:[IVX]{1,5}|[A-Z])\.?$")


def table_candidates(rows: list[tuple[int, list[str]]], prefix: str) -> list[ol.Candidate]:
    """The tasks of a task table (columns TT, Nội dung, Chủ trì, Phối hợp, Thời gian, Sản phẩm in any spelling);
    Roman or lettered rows, and rows whose cells repeat one text (merged across), are group headings."""
    if len(rows) < 2:
        return []
    header_at = 0
    cols: dict[str, int] = {}
    for h, (_, cells) in enumerate(rows[:3]):
        names = [re.sub(r"\s+", " ", c.strip().lower().replace("*", "")) for c in cells]
        found: dict[str, int] = {}
        for i, name in enumerate(names):
            for key, regex in _COLUMNS.items():
                if key not in found and i not in found.values() and regex.search(name) \
                        and not (key == "content" and ("thời" in name or "chủ trì" in name or "phối hợp" in name)):
                    found[key] = i
                    break
        if "content" in found and ("time" in found or "lead" in found):
            header_at, cols = h, found
            break
    if not cols:
        return []
    out: list[ol.Candidate] = []
    group: list[str] = []
    group_number = ""
    for line, cells in rows[header_at + 1:]:
        def cell(key: str, cells=cells) -> str:
            return cells[cols[key]].strip() if key in cols and cols[key] < len(cells) else ""

        content, number = cell("content"), cell("number").rstrip(".")
        distinct = {c.strip() for c in cells if c.strip()}
        if not content or all(re.fullmatch(r"\(?\d+\)?", c.strip()) for c in cells if c.strip()):
            continue  # empty, or the "(1) (2) (3)" row under a header
        if _GROUP_NUMBER.match(number) or len(distinct) == 1 or (
                content.upper() == content and not any(cell(k) for k in ("lead", "cooperating", "time"))):
            group = [content]
            group_number = number if _GROUP_NUMBER.match(number) else ""
            continue
        paragraphs = [st.Paragraph(content, [(0, line)])]
        lead, coop, time, result = cell("lead"), cell("cooperating"), cell("time"), cell("result")
        if lead:
            paragraphs.append(st.Paragraph(f"- Cơ quan chủ trì: {lead}", [(0, line)]))
        if coop:
            paragraphs.append(st.Paragraph(f"- Cơ quan phối hợp: {coop}", [(0, line)]))
        if time:
            paragraphs.append(st.Paragraph(f"- Thời gian thực hiện: {time.rstrip('.')}.", [(0, line)]))
        if result:
            paragraphs.append(st.Paragraph(f"- Sản phẩm: {result}", [(0, line)]))
        label = ".".join(x for x in (prefix, group_number, number) if x)
        out.append(ol.Candidate(paragraphs, label, list(group), [], line, content))
    return out


@dataclass
class _RawTask:
    number: int
    line: int
    paragraphs: list[st.Paragraph] = field(default_factory=list)
    candidate: ol.Candidate | None = None


# --------------------------------------------------------------------------------- tasks

@dataclass
class _Draft:
    """A task whose phrases are found but not yet read (that needs the plan's year)."""

    raw: _RawTask
    stream: st.Paragraph
    text: str
    lead: list[str]
    cooperating: list[str]
    found: list
    result: str = ""
    title_text: str = ""

    def task(self, vocabulary: Vocabulary, context: Context) -> Task:
        milestones = []
        previous = 0
        for f in self.found:
            clause = _clause(self.stream.text[previous:f.start])
            previous = f.end
            if not clause and any(normalize_phrase(m.phrase) == normalize_phrase(f.phrase) for m in milestones):
                continue  # "(*tháng 7/2025*)" repeated by "Thời gian thực hiện: tháng 7/2025" is one deadline
            milestones += read_milestones(f.phrase, vocabulary, context, clause=clause, line=self.stream.line_at(f.start))
        title_text = self.title_text or self.text
        lead = leading_phrase(title_text, vocabulary)
        if lead:  # "Quý III/2024: kiểm tra …" is titled "Kiểm tra …"
            rest = title_text[lead.end:].lstrip()
            title_text = rest[:1].upper() + rest[1:]
        c = self.raw.candidate
        leads = self.lead or (c.lead if c else [])
        return Task(number=self.raw.number, title=short_title(title_text), text=self.text, lead=leads,
                    cooperating=self.cooperating, milestones=milestones, line=self.raw.line,
                    label=c.label if c else "", group=" / ".join(c.group) if c else "", result=self.result)


_CONTENT_LABEL = re.compile(r"^(?:[-–+•]\s*)?nội\s+dung(?:\s+(?:thực\s+hiện|công\s+việc))?\s*:\s*", re.IGNORECASE)
_RESULT_LABEL = re.compile(r"^(?:[-–+•]\s*)?(?:sản\s+phẩm|kết\s+quả)(?:\s+(?:dự\s+kiến|đầu\s+ra|cần\s+đạt))?\s*:\s*",
                           re.IGNORECASE)
_HEAD_LABEL = re.compile(r"^(?:nhiệm vụ|hoạt động|nội dung|công việc)\s+(?:thứ\s+)?\d{1,2}\s*[:.]?$", re.IGNORECASE)


def _draft(raw: _RawTask, vocabulary: Vocabulary) -> _Draft:
    stream: st.Paragraph | None = None
    text: list[str] = []
    lead: list[str] = []
    cooperating: list[str] = []
    result: list[str] = []
    title_text = ""
    for index, p in enumerate(raw.paragraphs):
        plain = p.plain
        if index == 0 and raw.candidate is not None:
            found = ol.marker(plain)
            if found:  # the item's own number or bullet is not its text
                raw_text = p.text.lstrip()
                m = re.match(r"^[*#\s]*", raw_text)
                rest = raw_text[m.end():]
                opener = ol.marker(rest)
                text_rest = rest[len(rest) - len(opener[2]):] if opener else rest
                p = st.Paragraph(text_rest.lstrip("* ").lstrip(), p.lines)
                plain = p.plain
        roles = responsibilities(plain)
        if roles is not None:
            lead += [u for u in roles[0] if u not in lead]
            cooperating += [u for u in roles[1] if u not in cooperating]
            continue
        if _RESULT_LABEL.match(plain):
            result.append(_RESULT_LABEL.sub("", plain))
            continue
        if _CONTENT_LABEL.match(plain):
            plain = _CONTENT_LABEL.sub("", plain)
            if not title_text and plain:
                title_text = plain[:1].upper() + plain[1:]
        if not _DEADLINE_LINE.match(plain) and plain:
            text.append(plain)
        if stream is None:
            stream = st.Paragraph(p.text, list(p.lines))
        else:
            base = len(stream.text) + 1
            stream.text += "\n" + p.text
            stream.lines += [(base + offset, line) for offset, line in p.lines]
    stream = stream or st.Paragraph("", [(0, raw.line)])
    c = raw.candidate
    if c is not None and not title_text:
        own = c.title_text.strip()
        if own and not _HEAD_LABEL.match(own):
            title_text = st.strip_marks(own)
            m = re.match(r"^(?:đề\s+nghị\s+)?(?P<unit>[^:]{3,120}):\s*(?P<rest>\S.*)$", title_text, re.IGNORECASE)
            if m and un.is_unit_name(re.sub(r"^đề\s+nghị\s+", "", m.group("unit"), flags=re.IGNORECASE)):
                title_text = m.group("rest")  # "12. Đề nghị Công ty Điện lực: Khẩn trương …": the unit leads
                if not lead:
                    lead = un.split_units(m.group("unit"))
            title_text = title_text[:1].upper() + title_text[1:]
    if not lead and (c is None or not c.lead) and text and un.is_unit_name(text[0]):
        head = re.split(r"[:;.]", text[0], maxsplit=1)[0]
        named = un.assignment(head) if re.search(r"chủ\s+trì", head) else (un.split_units(un.cut_clause(head)), [])
        if named[0] and len(" ".join(named[0])) < len(head):  # "Sở Công Thương tổng hợp báo cáo …"
            lead, cooperating = named[0], cooperating or named[1]
    draft = _Draft(raw, stream, "\n".join(text), lead, cooperating, find_phrases(stream.text, vocabulary))
    draft.result = "; ".join(result)
    draft.title_text = title_text
    return draft


def _clause(segment: str) -> str:
    pieces = [p for p in segment.replace("*", "").split("\n") if p.strip(" -–+•.;,:")]
    if len(pieces) > 1 and (st.item_number(pieces[-1].strip()) or re.match(r"^\s*[-–+•]\s", pieces[-1])):
        pieces = pieces[-1:]  # a sub-item closed by its own deadline is its own clause
    plain = re.sub(r"\s+", " ", " ".join(pieces))
    plain = st.strip_item_marker(plain.strip(" .;,:)-–+•"))
    plain = re.sub(r"^[\s.;,:)\-–+•]+", "", plain)
    plain = re.sub(r"(?:[-–+•]\s*)?$", "", plain)
    return plain.strip(" .;,:(").strip()


def short_title(text: str, limit: int = TITLE_MAX) -> str:
    """The task's first clause, cut at a word boundary to about `limit` characters."""
    first = re.split(r"\s*(?:[(;:\n]|\.\s|\.$)", text.strip(), maxsplit=1)[0]
    first = re.sub(r"^[-–+•]\s*", "", first).strip()
    if len(first) > limit:
        cut = first[: limit + 1]
        comma = cut.rfind(", ")
        # prefer ending at a comma when that keeps most of the room: "..., chi bộ" reads cut off
        first = cut[:comma] if comma >= limit * 2 // 3 else (cut[: cut.rfind(" ")] if " " in cut else first[:limit])
    return unicodedata.normalize("NFC", first.rstrip(" ,.;:-–"))


def responsibilities(plain: str) -> tuple[list[str], list[str]] | None:
    """(lead, cooperating) from a line like "- Cơ quan chủ trì: A; cơ quan phối hợp: B, C", else None."""
    labels = list(_ROLE_LABEL.finditer(plain))
    if not labels or labels[0].start() != 0 or not plain.strip():
        return None
    lead: list[str] = []
    cooperating: list[str] = []
    for i, m in enumerate(labels):
        value = plain[m.end(): labels[i + 1].start() if i + 1 < len(labels) else len(plain)]
        label = m.group("label").lower()
        if "phối" in label:
            cooperating += split_units(value)
        else:
            first, others = un.assignment(value) if "chủ" not in label else (split_units(value), [])
            lead += first
            cooperating += others
    return lead, cooperating


def split_units(value: str) -> list[str]:
    """Whole unit names from a responsibility value (see `connector.plan.units`)."""
    return un.split_units(value)


def _fallback_title(layout: st.Layout, source: str) -> str:
    for p in layout.header:
        if len(p.plain) <= 200 and not p.plain.isupper():
            return p.plain
    return Path(source).stem if source != "<text>" else "Kế hoạch"
