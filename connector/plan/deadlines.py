"""Find a task's time phrases and read them into milestones (pure).

Where a phrase may stand: in parentheses with italics `(*tháng 01/2022*)` (always a deadline,
"unknown" if the vocabulary does not know it), in plain parentheses or bare italics at the end
of a clause (only when the vocabulary knows it), or after a label such as
"Thời gian thực hiện:" / "Thời gian hoàn thành:" / "Thời hạn:" (always a deadline).
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from connector.models import Milestone, MilestoneKind
from connector.plan.vocabulary import PhraseMatch, Vocabulary

_ITALIC_PAREN = re.compile(r"\(\s*\*{1,2}([^*()]+?)\*{1,2}\s*\)|\*{1,2}\(\s*([^*()]+?)\s*\)\*{1,2}")
_LABEL = re.compile(
    r"(?<![^\s(.;:\-–+•*])\**(?:thời\s+gian(?:\s+(?:thực\s+hiện|hoàn\s+thành|báo\s+cáo))?|thời\s+hạn"
    r"(?:\s+(?:hoàn\s+thành|thực\s+hiện|báo\s+cáo|ban\s+hành|trình))?|tiến\s+độ(?:\s+(?:thực\s+hiện|hoàn\s+thành))?|hạn\s+hoàn\s+thành)"
    r"\**\s*:\**\s*(.+?)\s*(?=;|\.\s|\.?\s*$)",
    re.IGNORECASE | re.MULTILINE,
)
_PAREN = re.compile(r"\(([^()\n]+)\)")
_PERIOD_WORD = re.compile(r"((?:6|sáu)\s+tháng|tổng\s+kết\s+năm|h[ằà]ng\s+tháng|h[ằà]ng\s+quý|h[ằà]ng\s+năm"
                          r"|h[ằà]ng\s+ngày|\d{1,2}\s+lần\s*/\s*ngày)\s*$", re.IGNORECASE)
# A full date after "trước ngày"/"chậm nhất ngày" is a deadline wherever it stands in the sentence.
_EXPLICIT = re.compile(r"(?:trước|chậm\s+nhất(?:\s+là)?|muộn\s+nhất)\s+ngày\s+\d{1,2}(?:\s*/\s*\d{1,2}\s*/\s*\d{4}"
                       r"|\s+tháng\s+\d{1,2}\s+năm\s+\d{4})", re.IGNORECASE)
_ITALIC = re.compile(r"(?<!\*)\*([^*\n]+)\*(?!\*)")
_CLAUSE_END = re.compile(r"\s*\**\s*(?:[.;,:!?)]|$)")
_SPLIT = re.compile(r"\s*(?:;|,|\bvà\b|\bsau đó\b)\s*")
# A clause of running text: what lies between sentence or clause breaks, outside parentheses.
_RUNNING_CLAUSE = re.compile(r"[^.;\n()]+")
_WORD = re.compile(r"\S+")
# Words that open a time phrase written inline, without brackets ("..., hoàn thành trước ngày 30/6/2023.").
_INLINE_OPENER = re.compile(
    r"(?:hoàn\s+thành|trước\s+ngày|chậm\s+nhất|muộn\s+nhất|định\s+kỳ|h[ằà]ng\s+(?:năm|quý|tháng)|thường\s+xuyên"
    r"|trong\s+(?:tháng|quý|năm)|từ\s+năm|(?:6|sáu)\s+tháng|h[ằà]ng\s+ngày|\d{1,2}\s+lần\s*/\s*ngày)\b"
    r"|(?:trước|vào|lúc)\s+\d{1,2}\s*(?:h|giờ)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Found:
    """A time phrase found in a task: where it stands in the task's marked text."""

    start: int
    end: int
    phrase: str
    certain: bool  # explicitly marked as a deadline (italics in parentheses, or a label)


def find_phrases(text: str, vocabulary: Vocabulary) -> list[Found]:
    """Every time phrase in a task's marked text, in reading order, never overlapping."""
    found: list[Found] = []

    def free(start: int, end: int) -> bool:
        return all(end <= f.start or start >= f.end for f in found)

    for m in _ITALIC_PAREN.finditer(text):
        found.append(Found(m.start(), m.end(), _clean(m.group(1) or m.group(2)), True))
    lead = leading_phrase(text, vocabulary)
    if lead is not None:
        found.append(lead)
    for m in _LABEL.finditer(text):
        if free(m.start(), m.end()):
            found.append(Found(m.start(), m.end(), _clean(m.group(1)), True))
    for regex in (_PAREN, _ITALIC):
        for m in regex.finditer(text):
            phrase = _clean(m.group(1))
            period = _PERIOD_WORD.search(text, 0, m.start()) if regex is _PAREN else None
            if period and readable(f"{period.group(1)} {phrase}", vocabulary):
                phrase = f"{period.group(1)} {phrase}"  # "6 tháng (trước ngày 16/6)" is a yearly report on 16/6
            if free(m.start(), m.end()) and _CLAUSE_END.match(text, m.end()) and readable(phrase, vocabulary):
                found.append(Found(m.start(), m.end(), phrase, False))
    for start, end, phrase in _inline_phrases(text, vocabulary):
        if free(start, end):
            found.append(Found(start, end, phrase, False))
    for m in _EXPLICIT.finditer(text):
        phrase = _clean(m.group(0))
        if free(m.start(), m.end()) and readable(phrase, vocabulary):
            found.append(Found(m.start(), m.end(), phrase, False))
    return sorted(found, key=lambda f: f.start)


_LEADING = re.compile(r"^\s*(?:\**\s*\d{1,2}(?:\.\d{1,2})?\s*[.)]\**\s*|[-–+•]\s*)?(?P<phrase>[^:\n()]{3,60}?)\s*:\s")


def leading_phrase(text: str, vocabulary: Vocabulary) -> Found | None:
    """A deadline written first, as a label of the task: "2. Quý III/2024: kiểm tra …"."""
    m = _LEADING.match(text)
    if m and readable(_clean(m.group("phrase")), vocabulary):
        return Found(m.start("phrase"), m.end(), _clean(m.group("phrase")), True)
    return None


def _inline_phrases(text: str, vocabulary: Vocabulary):
    """Time phrases that close a clause of running text without brackets or italics.

    Only the longest tail of a clause that the vocabulary reads whole and that opens with a time
    word ("hoàn thành", "trước ngày", "định kỳ", "hằng năm" …) or follows a comma counts, so
    "kế hoạch năm 2023" in the middle of a sentence is left alone.
    """
    for clause in _RUNNING_CLAUSE.finditer(text):
        end = clause.end()
        before_bracket = end < len(text) and text[end] == "("
        body = clause.group().rstrip(" *")
        end = clause.start() + len(body)
        for word in _WORD.finditer(body):
            start = clause.start() + word.start()
            before = text[clause.start():start].rstrip(" *")
            candidate = _clean(text[start:end])
            if not candidate or not (before.endswith(",") or before.endswith(":") or _INLINE_OPENER.match(candidate)):
                continue
            if before_bracket and not (before.endswith(":") or _INLINE_OPENER.match(candidate)):
                continue  # the clause goes on in brackets: not its end, unless a time word opens it
            if readable(candidate, vocabulary):
                paren = _PAREN.match(text, clause.end()) if before_bracket else None
                if paren and _is_daily(f"{candidate} ({paren.group(1)})", vocabulary):
                    # "02 lần/ngày (trước 9h00 và 16h00)": the hours in brackets belong to the daily report
                    yield start, paren.end(), f"{candidate} ({_clean(paren.group(1))})"
                    break
                yield start, end, candidate
                break


def _is_daily(phrase: str, vocabulary: Vocabulary) -> bool:
    found = vocabulary.match(phrase)
    return bool(found and found.entry.due == "daily")


def readable(phrase: str, vocabulary: Vocabulary) -> bool:
    """True when the vocabulary reads the phrase whole, or every part of it."""
    return bool(match_parts(phrase, vocabulary))


def match_parts(phrase: str, vocabulary: Vocabulary) -> list[tuple[str, PhraseMatch]]:
    """[(part, match)]: the whole phrase, or its parts split on ; , và when each part matches; else []."""
    whole = vocabulary.match(phrase)
    if whole:
        return [(phrase, whole)]
    parts = [p for p in _SPLIT.split(phrase) if p.strip()]
    if len(parts) < 2:
        return []
    matches = [(p.strip(), vocabulary.match(p)) for p in parts]
    return matches if all(m for _, m in matches) else []  # type: ignore[misc]


def stated_years(phrase: str, vocabulary: Vocabulary) -> list[int]:
    """The calendar years a phrase names (for the plan's year when it has no issue date)."""
    return [y for _, m in match_parts(phrase, vocabulary)
            for key in ("year", "start_year", "from_year") if (y := m.values.get(key))]


_EVENT = re.compile(r"^\s*(?:sau khi|khi|ngay sau khi|theo (?:kế hoạch|tiến độ|lộ trình|yêu cầu|chỉ đạo)|tùy|căn cứ)\b",
                    re.IGNORECASE)
_DAILY = re.compile(r"h[ằà]ng ngày|mỗi ngày|lần\s*/\s*ngày|\d+\s*h\s*\d*", re.IGNORECASE)


@dataclass(frozen=True)
class Context:
    """What a phrase needs from its plan: the plan's year, its term and its issue date."""

    year: int | None = None
    term: tuple[int, int] | None = None
    issued: date | None = None


def read_milestones(phrase: str, vocabulary: Vocabulary, context: Context, *,
                    clause: str = "", line: int | None = None) -> list[Milestone]:
    """The milestone(s) one phrase means; an unreadable phrase is one flagged `unknown` milestone."""
    parts = match_parts(phrase, vocabulary)
    if not parts:
        reason = "phrase not in the deadline vocabulary; set kind and due in the plan mapping"
        if _EVENT.match(phrase):
            reason = "due on an event, not a date; set due in the plan mapping when it is known"
        elif _DAILY.search(phrase):
            reason = "a daily (or several times a day) report: not scheduled; track it outside the calendar"
        return [Milestone(phrase=phrase, kind=MilestoneKind.UNKNOWN, clause=clause, line=line, needs_review=True,
                          flags=[reason])]
    return [resolve(part, match, context, clause=clause, line=line) for part, match in parts]


def resolve(phrase: str, match: PhraseMatch, context: Context, *, clause: str = "", line: int | None = None) -> Milestone:
    """One milestone from a vocabulary match and the plan's context."""
    entry, v = match.entry, match.values
    m = Milestone(phrase=phrase, kind=entry.kind, clause=clause, line=line)
    try:
        if entry.kind == MilestoneKind.ONCE:
            _once(m, entry.due, v, context)
        elif entry.kind == MilestoneKind.ONGOING and entry.due == "daily":
            # a daily report: owed as an ongoing duty from the plan's date, no date of its own (see schedule)
            hours = sorted({h for h in (v.get("hour"), v.get("hour_b")) if h is not None and 0 <= h <= 23})
            m.rrule = "FREQ=DAILY" + (f";BYHOUR={','.join(map(str, hours))}" if hours else "")
            m.start = context.issued
        elif entry.kind == MilestoneKind.ONGOING:
            year = v.get("start_year") or v.get("year") or v.get("from_year")
            m.start = date(year, v.get("from_month") or 1, v.get("from_day") or 1) if year else None
        elif entry.kind == MilestoneKind.TERM:
            _term(m, entry.due, v, context)
        else:
            _recurring(m, entry.due, v, context)
    except ValueError as exc:  # e.g. "ngày 31/2/2023", "tháng 13/2022"
        return Milestone(phrase=phrase, kind=MilestoneKind.UNKNOWN, clause=clause, line=line, needs_review=True,
                         flags=[f"not a valid date ({exc}); set kind and due in the plan mapping"])
    if entry.review:
        _flag(m, entry.note or f"vocabulary entry {entry.name!r} asks for review")
    return m


def _flag(m: Milestone, reason: str) -> None:
    m.needs_review = True
    if reason not in m.flags:
        m.flags.append(reason)


def _end_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _once(m: Milestone, rule: str, v: dict[str, int], ctx: Context) -> None:
    year = v.get("year")
    if year is None and ctx.issued is not None and "month" in v:
        # "trước ngày 05/6": the next such day from the plan's date line
        year = ctx.issued.year
        try:
            if date(year, v["month"], min(v.get("day", 28), 28)) < ctx.issued.replace(day=1) and v["month"] != ctx.issued.month:
                year += 1
        except ValueError:
            pass
    if year is None:
        if ctx.year is None:
            _flag(m, "no year in the phrase and the plan's year is unknown; set due in the plan mapping")
            return
        year = ctx.year
        _flag(m, f"no year in the phrase; read as {year}, the plan's year")
    if rule == "end_of_month":
        m.due = _end_of_month(year, _need(v, "month"))
    elif rule == "end_of_quarter":
        quarter = _need(v, "quarter")
        if not 1 <= quarter <= 4:
            raise ValueError(f"quarter {quarter}")
        m.due = _end_of_month(year, quarter * 3)
    elif rule == "end_of_half":
        m.due = date(year, 6, 30) if v.get("half", 2) == 1 else date(year, 12, 31)
    elif rule in ("end_of_year", "dec31"):
        m.due = date(year, 12, 31)
    elif rule == "jun30":
        m.due = date(year, 6, 30)
    else:  # date
        m.due = date(year, _need(v, "month"), _need(v, "day"))
    if any(k in v for k in ("from_day", "from_month", "from_year")):
        from_year = v.get("from_year") or (year - 1 if v.get("from_month", 1) > (m.due.month if m.due else 12) else year)
        m.start = date(from_year, v.get("from_month") or 1, v.get("from_day") or 1)


def _need(v: dict[str, int], key: str) -> int:
    if key not in v:
        raise ValueError(f"no {key} in the phrase")
    return v[key]


_MONTHS = {MilestoneKind.HALF_YEARLY: 6, MilestoneKind.QUARTERLY: 3, MilestoneKind.MONTHLY: 1}


def _recurring(m: Milestone, rule: str, v: dict[str, int], ctx: Context) -> None:
    stated = v.get("start_year") or v.get("year")
    first_year = stated or ctx.year
    if m.kind == MilestoneKind.YEARLY:
        month, day = {"dec31": (12, 31), "jun30": (6, 30)}.get(rule) or (_need(v, "month"), _need(v, "day"))
        date(2000, month, day)  # validates day/month (2000 is a leap year: 29/2 allowed)
        m.rrule = f"FREQ=YEARLY;BYMONTH={month};BYMONTHDAY={day}"
        if first_year is None:
            _flag(m, "no start year and the plan's year is unknown; set the plan's year in the mapping")
            return
        due = date(first_year, month, min(day, calendar.monthrange(first_year, month)[1]))
        if not stated and ctx.issued and due < ctx.issued:
            first_year += 1
            due = due.replace(year=first_year)
        m.start, m.due = date(first_year, 1, 1), due
        return
    step = _MONTHS[m.kind]
    day = _need(v, "day") if rule == "day_of_month" else None  # "trước ngày 10 hằng tháng"
    if day is not None and not 1 <= day <= 31:
        raise ValueError(f"day {day} of the month")
    m.rrule = (f"FREQ=MONTHLY;BYMONTHDAY={day}" if day and step == 1 else
               f"FREQ=MONTHLY;INTERVAL={step};BYMONTHDAY={day}" if day else
               "FREQ=MONTHLY;BYMONTHDAY=-1" if step == 1 else f"FREQ=MONTHLY;INTERVAL={step};BYMONTHDAY=-1")
    if first_year is None:
        _flag(m, "no start year and the plan's year is unknown; set the plan's year in the mapping")
        return
    first_month = 1
    if not stated and ctx.issued and ctx.issued.year == first_year:
        first_month = ((ctx.issued.month - 1) // step) * step + 1  # the period the plan was issued in
    m.start = date(first_year, first_month, 1)
    m.due = _end_of_month(first_year, first_month + step - 1)
    if day:
        m.due = m.due.replace(day=min(day, m.due.day))


def term_years(rule: str, v: dict[str, int], term: tuple[int, int]) -> list[int]:
    """Default reading of a term-based phrase: "năm thứ N" = term start + N - 1."""
    begin, end = term
    if rule == "term_mid":
        return [(begin + end + 1) // 2]
    if rule == "term_end":
        return [end]
    return sorted({begin + n - 1 for n in (v.get("n"), v.get("m")) if n})


def _term(m: Milestone, rule: str, v: dict[str, int], ctx: Context) -> None:
    m.needs_review = True
    if ctx.term is None:
        _flag(m, "term-based, but the plan names no term; set term (and years) in the plan mapping")
        return
    m.years = term_years(rule, v, ctx.term)
    if m.years:
        m.due = date(m.years[0], 12, 31)
    shown = ", ".join(map(str, m.years))
    _flag(m, f"term-based: read as {shown} of term {ctx.term[0]}-{ctx.term[1]}; confirm the years in the plan mapping")
    if ctx.year and any(y < ctx.year for y in m.years):
        _flag(m, f"a year falls before the plan's year {ctx.year}")


def _clean(phrase: str) -> str:
    phrase = re.sub(r"\s+", " ", phrase.replace("*", "")).strip(" .,;:")
    if phrase.endswith(")") and phrase.count(")") > phrase.count("("):
        phrase = phrase[:-1].rstrip(" .,;:")  # "(thời gian: tháng 8/2024)": the bracket is not the phrase's
    return phrase
