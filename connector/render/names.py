"""Folder names, collection names and UIDs (pure).

Human names are Vietnamese and NFC; collection slugs and UIDs are ASCII `[a-z0-9-]`.
UIDs depend on the plan code, task, milestone, unit *id* and period only, so they survive
re-runs and unit renames.
"""
from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import date

from connector.models import Obligation, Plan, Task, Unit
from connector.text import nfc, slug

REPORT_FOLDER = "Báo cáo hằng năm"
TASK_FOLDER_MAX = 70
SEGMENT_MAX = 120  # characters of one folder name (file systems allow 255 bytes; Vietnamese letters take 2-3)

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_UNSAFE_PATH_CHARS = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
_ASTRAL = re.compile(r"[\U00010000-\U0010ffff]")  # emoji and the like: 4 bytes in UTF-8
_SPACES = re.compile(r"\s+")
_DOC_NUMBER = re.compile(r"\b(\d+[-–][A-ZĐ]+/[A-ZĐ]+)\b")
# Slugs the connector's own calendars use; a unit id slugging to one of these gets a hash.
_RESERVED_UNIT_SLUGS = {"han", "tong-hop"}




@dataclass(frozen=True)
class NameRules:
    """What a folder name may not hold: a safe default (Windows' reserved characters and names, Nextcloud's
    defaults), joined by what a Nextcloud server forbids besides (capabilities, `from_capabilities`).

    Characters outside the Basic Multilingual Plane (emoji) are dropped as well: Nextcloud on MySQL without
    utf8mb4 refuses them.
    """

    characters: frozenset[str] = frozenset('/\\:*?"<>|')
    names: frozenset[str] = frozenset({".htaccess", "desktop.ini", "thumbs.db", ".ds_store"})
    basenames: frozenset[str] = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                                           *(f"lpt{i}" for i in range(10))})
    extensions: tuple[str, ...] = (".part", ".filepart")
    max_length: int = SEGMENT_MAX

    @classmethod
    def from_capabilities(cls, caps: dict) -> "NameRules":
        """The default plus the `files` capabilities' forbidden_filename_* lists (Nextcloud 30+;
        blacklisted_files before)."""
        files = (caps.get("capabilities", caps) or {}).get("files") or {}
        base = cls()

        def strings(key: str) -> list[str]:
            value = files.get(key) or []
            return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []

        return cls(
            characters=base.characters | {c for v in strings("forbidden_filename_characters") for c in v},
            names=base.names | {v.lower() for v in strings("forbidden_filenames") + strings("blacklisted_files")},
            basenames=base.basenames | {v.lower() for v in strings("forbidden_filename_basenames")},
            extensions=tuple(dict.fromkeys([*base.extensions, *(v.lower() for v in strings("forbidden_filename_extensions"))])),
        )

    def to_json(self) -> dict:
        return {"characters": "".join(sorted(self.characters)), "names": sorted(self.names),
                "basenames": sorted(self.basenames), "extensions": list(self.extensions)}

    @classmethod
    def from_json(cls, data: dict) -> "NameRules":
        """Rules saved with to_json (never less than the default)."""
        base = cls()
        return cls(characters=base.characters | set(data.get("characters", "")),
                   names=base.names | set(data.get("names", [])), basenames=base.basenames | set(data.get("basenames", [])),
                   extensions=tuple(dict.fromkeys([*base.extensions, *data.get("extensions", [])])))


DEFAULT_RULES = NameRules()


def safe_segment(text: str, rules: NameRules = DEFAULT_RULES) -> str:
    """Text made safe as one path segment on any server: no separators, reserved or control characters, no
    emoji, no edge dots or spaces (so no "." or ".."), no reserved name or extension, at most
    `rules.max_length` characters (cut at a word)."""
    text = _UNSAFE_PATH_CHARS.sub("-", nfc(text))
    if rules.characters != DEFAULT_RULES.characters:
        text = "".join("-" if c in rules.characters else c for c in text)
    text = _SPACES.sub(" ", _ASTRAL.sub("", text)).strip(" .")
    if len(text) > rules.max_length:
        cut = text[:rules.max_length + 1]
        text = (cut.rsplit(" ", 1)[0] if " " in cut[rules.max_length // 2:] else cut[:rules.max_length]).strip(" .")
    lower = text.lower()
    if lower in rules.names or lower.split(".", 1)[0] in rules.basenames:
        text = f"_{text}"
    if any(lower.endswith(ext) for ext in rules.extensions if ext.strip()):
        text = f"{text}_"
    return text


# --- titles ----------------------------------------------------------------------------------

ELLIPSIS = "…"
_CLAUSE_END = re.compile(r"\s*(?:[(;:\n]|\.\s|\.$)")
# Where a Vietnamese title may be cut: before punctuation, a linking word or a document's name. A word of
# several syllables ("triển khai", "sinh hoạt") is never split there, as it would be at any space.
_LINKS = ("gắn với", "đối với", "nhất là", "thông qua", "cũng như", "đồng thời", "trên cơ sở", "và", "để", "theo",
          "của", "về", "trong", "với", "nhằm", "cho", "tại", "bằng", "thuộc", "hoặc", "nhưng", "kể cả", "bao gồm")
_DOCUMENTS = ("Kết luận", "Nghị quyết", "Kế hoạch", "Chỉ thị", "Quy định", "Nghị định", "Quyết định", "Thông tư",
              "Luật", "Chương trình", "Hướng dẫn", "Đề án", "Công văn", "Thông báo", "Quy chế")
_BREAK = re.compile(r"\s*[,;:–]\s|\s(?=(?:" + "|".join(_LINKS) + r")\s)|\s(?=(?:năm|nhiệm kỳ|giai đoạn) \d)"
                    r"|(?P<doc>\s)(?=(?:" + "|".join(_DOCUMENTS) + r")\b)")
# "tiếp theo", "dành cho", "giao cho" ...: the word before makes one word with the linking word.
_BOUND_BEFORE = {"tiếp", "dành", "giao", "cùng", "kèm", "đi", "trở", "đối", "gắn", "không"}
_NO_DOCUMENT_AFTER = {w for w in _LINKS if " " not in w} | {"số", "các", "những"}  # "gắn với" | "Quy định …" is no cut


def full_title(task: Task) -> str:
    """The task's title in full. The importer keeps about 60 characters, cut at any space; when that title is
    the start of the task's text, the text's whole first clause (to ";", ":", "(" or the sentence's end)."""
    title = _SPACES.sub(" ", nfc(task.title or "")).strip().rstrip(ELLIPSIS).strip()
    text = _SPACES.sub(" ", nfc(task.text or "")).strip()
    if not title:
        return _CLAUSE_END.split(re.sub(r"^[-–+•]\s*", "", text), maxsplit=1)[0].strip(" ,.;:–-")
    at = text.casefold().find(title.casefold())
    if 0 <= at <= 40 and not _CLAUSE_END.match(rest := text[at + len(title):]):
        end = _CLAUSE_END.search(rest)
        title += rest[:end.start()] if end else rest
    return title.rstrip(" ,.;:–-")


def shorten(text: str, limit: int) -> str:
    """Text cut to at most `limit` characters at a phrase boundary (punctuation, a linking word such as "và",
    "để", "theo", before a year or a document's name) past a third of `limit`, else at a space; marked with "…"."""
    text = _SPACES.sub(" ", nfc(text)).strip()
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    cuts = []
    for m in _BREAK.finditer(text[:room + 40]):
        before = text[:m.start()].rsplit(" ", 1)[-1]
        if not limit // 3 <= m.start() <= room or before.casefold() in _BOUND_BEFORE:
            continue
        if m.group("doc") and (not before[-1:].islower() or before.casefold() in _NO_DOCUMENT_AFTER):
            continue  # "Ban Chấp hành" | "Trung ương", "gắn với" | "Quy định số …"
        cuts.append(m.start())
    cut = max(cuts) if cuts else text.rfind(" ", 0, room + 1)
    if cut < limit // 3:
        cut = room
    return text[:cut].rstrip(" ,;:.–-") + ELLIPSIS


def short_title(task: Task, limit: int = 60) -> str:
    """The task's full title (`full_title`, else its text) shortened to at most `limit` characters (`shorten`)."""
    return shorten(full_title(task) or task.text, limit)


# --- folders ---------------------------------------------------------------------------------

def unit_folder(unit: Unit, rules: NameRules = DEFAULT_RULES) -> str:
    """The unit's folder name: its name, path-safe (its id if nothing is left)."""
    return safe_segment(unit.name, rules) or safe_segment(unit.id, rules) or "don-vi"


def task_folder(task: Task, rules: NameRules = DEFAULT_RULES) -> str:
    """e.g. "03 – Xây dựng kế hoạch triển khai" (at most ~70 characters, path-safe)."""
    prefix = f"{task.number:02d} – "
    title = safe_segment(short_title(task, TASK_FOLDER_MAX - len(prefix)), rules)
    return f"{prefix}{title}" if title else f"{task.number:02d}"


def _dmy(d: date) -> str:
    return f"{d.day:02d}-{d.month:02d}-{d.year}"


def _is_month_end(d: date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


_PERIOD = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]|\d\d)(?:-(\d\d))?)?$")


def period_label(period: str, due: date | None = None) -> str:
    """The one label of an obligation's period, used by the register, the to-dos and (with "-" for "/") the
    folders: '2022' → "Năm 2022", '2022-H1' → "6 tháng đầu năm 2022", '2022-Q3' → "Quý III/2022",
    '2022-02' → "Tháng 02/2022", a one-off date → "Tháng 02/2022" on a month's last day, else "Hạn 15/02/2022",
    'ongoing' → "Thường xuyên"; any other period → "Hạn <due>" (or "Chưa rõ hạn")."""
    if period == "ongoing":
        return "Thường xuyên"
    m = _PERIOD.match(period)
    if m is None:
        return f"Hạn {due.strftime('%d/%m/%Y')}" if due else "Chưa rõ hạn"
    year, part, day = m.groups()
    if part is None:
        return f"Năm {year}"
    if part[0] == "H":
        return f"6 tháng {'đầu' if part == 'H1' else 'cuối'} năm {year}"
    if part[0] == "Q":
        return f"Quý {_ROMAN[int(part[1])]}/{year}"
    if day is not None:
        one = date(int(year), int(part), int(day))
        return f"Tháng {part}/{year}" if _is_month_end(one) else f"Hạn {one.strftime('%d/%m/%Y')}"
    return f"Tháng {part}/{year}"


def period_folder(kind: str, period: str, due: date | None) -> str:
    """Folder for one period: its `period_label` with "-" for "/", e.g. "Tháng 02-2022", "Hạn 15-02-2022",
    "Năm 2022", "Quý I-2022", "Thường xuyên".

    `kind` is a MilestoneKind value or "report" (the plan's yearly report).
    """
    kind = str(kind)
    if kind == "once":
        return period_label(due.isoformat(), due).replace("/", "-") if due else "Chưa rõ hạn"
    if kind in ("yearly", "term", "report"):
        return f"Năm {period[:4]}"
    if kind in ("half_yearly", "quarterly", "monthly", "ongoing"):
        return period_label(period, due).replace("/", "-")
    return f"Hạn {_dmy(due)}" if due else "Chưa rõ hạn"


def obligation_folder(unit: Unit, task: Task | None, period_folder_name: str) -> str:
    """ "<unit>/<task>/<period>" relative to the plan's root; task None is the yearly report."""
    middle = task_folder(task) if task is not None else REPORT_FOLDER
    return f"{unit_folder(unit)}/{middle}/{period_folder_name}"


# --- collections -----------------------------------------------------------------------------

def plan_code(plan: Plan) -> str:
    """The plan's code as a slug (from Plan.code, else the title)."""
    return slug(plan.code) or slug(plan.title)[:40].strip("-") or "plan"


def plan_label(plan: Plan) -> str:
    """Short human label, e.g. "KH 21-KL/TW" (document number in the title, else the code)."""
    m = _DOC_NUMBER.search(nfc(plan.title or ""))
    if m:
        return f"KH {m.group(1).replace('–', '-')}"
    parts = (plan.code or "").upper().split("-")
    if len(parts) >= 3 and parts[0].isdigit():
        return f"KH {parts[0]}-{parts[1]}/{'-'.join(parts[2:])}"
    if plan.code:
        return f"KH {plan.code.upper()}"
    return nfc(plan.title)[:40].strip()


def unit_slug(unit_id: str) -> str:
    """Slug of a unit id; ids that are not already a clean slug get a short hash of the id,

    so two ids that slug alike (or a reserved slug) never share a collection or UID, and the
    result does not depend on which other units exist.
    """
    s = slug(unit_id)
    if s == unit_id and s and s not in _RESERVED_UNIT_SLUGS:
        return s
    digest = hashlib.sha1(unit_id.encode("utf-8")).hexdigest()[:8]
    return f"{s}-{digest}" if s else digest


def calendar_slug(plan: Plan, which: str, unit: Unit | None = None) -> str:
    """Collection name: "pc-<code>-han", "pc-<code>-tong-hop" or "pc-<code>-<unit slug>"."""
    code = plan_code(plan)
    if which == "deadlines":
        return f"pc-{code}-han"
    if which == "overview":
        return f"pc-{code}-tong-hop"
    if which == "unit" and unit is not None:
        return f"pc-{code}-{unit_slug(unit.id)}"
    raise ValueError(f"unknown calendar kind {which!r} (unit={unit!r})")


def calendar_displayname(plan: Plan, which: str, unit: Unit | None = None) -> str:
    """e.g. "Hạn nhiệm vụ – KH 21-KL/TW", "Theo dõi thực hiện – KH 21-KL/TW", "Nhiệm vụ – Chi bộ A"."""
    if which == "deadlines":
        return nfc(f"Hạn nhiệm vụ – {plan_label(plan)}")
    if which == "overview":
        return nfc(f"Theo dõi thực hiện – {plan_label(plan)}")
    if which == "unit" and unit is not None:
        return nfc(f"Nhiệm vụ – {unit.name}")
    raise ValueError(f"unknown calendar kind {which!r} (unit={unit!r})")


# --- UIDs ------------------------------------------------------------------------------------

def event_uid(plan: Plan, task: int, milestone: int) -> str:
    """Deadline event of one milestone: "pc-<code>-ev-t07-m2" (t00-m0: the yearly report)."""
    return f"pc-{plan_code(plan)}-ev-t{task:02d}-m{milestone}"


def todo_uid(plan: Plan, obligation: Obligation) -> str:
    """A unit's to-do: "pc-<code>-td-<unit>-t07-m2-<period>".

    A one-off milestone has one period per unit, so its part is "once" rather than the due
    date: moving the date updates the same to-do instead of replacing it. The task part is the
    task's identity (Obligation.ident, else its number): a renumbered task keeps its to-do.
    """
    period = "once" if obligation.kind == "once" else slug(obligation.period)
    return (f"pc-{plan_code(plan)}-td-{unit_slug(obligation.unit)}"
            f"-t{obligation.ident or obligation.task:02d}-m{obligation.milestone}-{period}")


def overview_task_uid(plan: Plan, task: int) -> str:
    """Overview to-do of one task: "pc-<code>-ov-t07"."""
    return f"pc-{plan_code(plan)}-ov-t{task:02d}"


def overview_milestone_uid(plan: Plan, task: int, milestone: int) -> str:
    """Overview subtask of one milestone: "pc-<code>-ov-t07-m2"."""
    return f"pc-{plan_code(plan)}-ov-t{task:02d}-m{milestone}"


_TASK_FOLDER_NUMBER = re.compile(r"^(\d+)(?:\s*[–-]|$)")


def task_number(folder_name: str) -> int | None:
    """The task number a task folder name starts with ("03 – Xây dựng …" → 3), else None."""
    m = _TASK_FOLDER_NUMBER.match(folder_name)
    return int(m.group(1)) if m else None
