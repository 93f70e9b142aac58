"""Plan document → Plan model. `parse_text` is pure; `parse_plan` only adds reading the file."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from connector.errors import PlanError
from connector.models import Plan, Task
from connector.plan import structure as st
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
    r"(?:\s+(?:thực\s+hiện|tham\s+mưu))?|trách\s+nhiệm\s+thực\s+hiện)\s*:\s*",
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
    tasks_at, purpose_at, org_at = _choose_sections(layout.sections)
    if tasks_at is None:
        body = layout.header[after_title:] if not layout.sections else []
    else:
        body = layout.sections[tasks_at].paragraphs
    raw_tasks = _group_tasks(body)
    if not raw_tasks:
        raise PlanError("no numbered tasks found; is this a plan (Kế hoạch)?", path=source)

    drafts = [_draft(raw, vocabulary) for raw in raw_tasks]
    issued = st.issue_date(layout.header) or st.issue_date([st.Paragraph(p, [(0, n)]) for n, p in layout.closing])
    years = [y for d in drafts for f in d.found for y in stated_years(f.phrase, vocabulary)]
    year = issued.year if issued else (min(years) if years else None)
    term = st.term(text)
    context = Context(year=year, term=term, issued=issued)
    tasks = [d.task(vocabulary, context) for d in drafts]

    plain_title = title or _fallback_title(layout, source)
    organization = [p.plain for p in layout.sections[org_at].paragraphs] if org_at is not None else []
    return Plan(
        title=plain_title,
        code=st.plan_code(plain_title, layout.header, Path(source).stem if source != "<text>" else ""),
        issuer=st.issuer(layout.header, title_start, after_title),
        signer=st.signer([p for _, p in layout.closing] or [p.plain for p in layout.header]),
        issued=issued,
        year=year,
        term=term,
        horizon=default_horizon(year, term),
        purpose=[p.plain for p in layout.sections[purpose_at].paragraphs] if purpose_at is not None else [],
        organization=organization,
        annual_report_due=st.annual_report_day(organization) or Plan.model_fields["annual_report_due"].default,
        tasks=tasks,
        source=source,
    )


def default_horizon(year: int | None, term: tuple[int, int] | None) -> int | None:
    """Last year recurring milestones run to: the term's end when known and not past, else year + 4."""
    if year is None:
        return term[1] if term else None
    return term[1] if term and term[1] >= year else year + 4


# --------------------------------------------------------------------------------- sections

def _choose_sections(sections: list[st.Section]) -> tuple[int | None, int | None, int | None]:
    """(tasks, purpose, organization) section indexes."""
    def has(i: int, words: tuple[str, ...]) -> bool:
        return any(w in sections[i].title.upper() for w in words)

    with_items = [i for i, s in enumerate(sections) if _group_tasks(s.paragraphs)]
    purpose = next((i for i in range(len(sections)) if has(i, _PURPOSE_WORDS)), None)
    org = next((i for i in range(len(sections)) if has(i, _ORG_WORDS) and i != purpose), None)
    tasks = next((i for i in with_items if has(i, _TASK_WORDS) and i not in (purpose, org)), None)
    if tasks is None:
        tasks = next((i for i in with_items if i not in (purpose, org)), None)
    if tasks is None and len(sections) >= 2 and 1 in with_items:
        tasks = 1
    if tasks is not None:
        if purpose is None and tasks > 0:
            purpose = tasks - 1
        if org is None and tasks + 1 < len(sections):
            org = tasks + 1
    return tasks, purpose, org


@dataclass
class _RawTask:
    number: int
    line: int
    paragraphs: list[st.Paragraph] = field(default_factory=list)


def _is_meta(plain: str) -> bool:
    return bool(_DEADLINE_LINE.match(plain) or _ROLE_LABEL.match(plain))


def _group_tasks(paragraphs: list[st.Paragraph]) -> list[_RawTask]:
    """Numbered items of the task style (that of the first numbered item) with what follows each."""
    numbered = [st.item_number(p.plain) for p in paragraphs]
    style = next((n[0] for n in numbered if n and n[0] in ("arabic", "named", "letter")), None)
    tasks: list[_RawTask] = []
    for p, num in zip(paragraphs, numbered):
        if style is None:  # no numbers at all: each bullet is a task
            opens = bool(re.match(r"^[-–+•]\s", p.plain)) and not _is_meta(p.plain)
            number = len(tasks) + 1
        else:
            opens = bool(num and num[0] == style and (not tasks or num[1] > tasks[-1].number))
            number = num[1] if num else 0
        if opens:
            first = st.Paragraph(st.strip_item_marker(re.sub(r"^[-–+•]\s*", "", p.text) if style is None else p.text),
                                 p.lines)
            tasks.append(_RawTask(number, p.line, [first]))
        elif tasks:
            tasks[-1].paragraphs.append(p)
    return tasks


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

    def task(self, vocabulary: Vocabulary, context: Context) -> Task:
        milestones = []
        previous = 0
        for f in self.found:
            clause = _clause(self.stream.text[previous:f.start])
            previous = f.end
            if not clause and any(normalize_phrase(m.phrase) == normalize_phrase(f.phrase) for m in milestones):
                continue  # "(*tháng 7/2025*)" repeated by "Thời gian thực hiện: tháng 7/2025" is one deadline
            milestones += read_milestones(f.phrase, vocabulary, context, clause=clause, line=self.stream.line_at(f.start))
        lead = leading_phrase(self.text, vocabulary)
        title_text = self.text
        if lead:  # "Quý III/2024: kiểm tra …" is titled "Kiểm tra …"
            rest = self.text[lead.end:].lstrip()
            title_text = rest[:1].upper() + rest[1:]
        return Task(number=self.raw.number, title=short_title(title_text), text=self.text, lead=self.lead,
                    cooperating=self.cooperating, milestones=milestones, line=self.raw.line)


def _draft(raw: _RawTask, vocabulary: Vocabulary) -> _Draft:
    stream: st.Paragraph | None = None
    text: list[str] = []
    lead: list[str] = []
    cooperating: list[str] = []
    for p in raw.paragraphs:
        plain = p.plain
        roles = responsibilities(plain)
        if roles is not None:
            lead += [u for u in roles[0] if u not in lead]
            cooperating += [u for u in roles[1] if u not in cooperating]
            continue
        if not _DEADLINE_LINE.match(plain):
            text.append(plain)
        if stream is None:
            stream = st.Paragraph(p.text, list(p.lines))
        else:
            base = len(stream.text) + 1
            stream.text += "\n" + p.text
            stream.lines += [(base + offset, line) for offset, line in p.lines]
    stream = stream or st.Paragraph("", [(0, raw.line)])
    return _Draft(raw, stream, "\n".join(text), lead, cooperating, find_phrases(stream.text, vocabulary))


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
        target = cooperating if "phối" in m.group("label").lower() else lead
        target += split_units(value)
    return lead, cooperating


def split_units(value: str) -> list[str]:
    """Unit names split on , ; and " và " — a lower-case part belongs to the name before it
    ("các cơ quan và doanh nghiệp tỉnh", "các đảng ủy, chi bộ cơ sở")."""
    units: list[str] = []
    for chunk in re.split(r"\s*;\s*", value):
        parts = re.split(r"(\s*,\s*|\s+và\s+)", chunk)
        current = parts[0]
        for sep, part in zip(parts[1::2], parts[2::2]):
            if part[:1].isupper():
                units.append(current)
                current = part
            else:
                current += sep + part
        units.append(current)
    cleaned = [u.strip(" .;,:") for u in units]
    return [u[:1].upper() + u[1:] for u in cleaned if u]


def _fallback_title(layout: st.Layout, source: str) -> str:
    for p in layout.header:
        if len(p.plain) <= 200 and not p.plain.isupper():
            return p.plain
    return Path(source).stem if source != "<text>" else "Kế hoạch"
