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


def short_title(task: Task, limit: int = 60) -> str:
    """The task's title (else text), cut at a word boundary to at most `limit` characters."""
    title = _SPACES.sub(" ", nfc(task.title or task.text)).strip()
    if len(title) > limit:
        cut = title[:limit + 1].rsplit(" ", 1)[0] if " " in title[:limit + 1] else title[:limit]
        title = cut[:limit]
    return title.rstrip(" ,;:.–-")


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


def period_folder(kind: str, period: str, due: date | None) -> str:
    """Folder for one period, e.g. "Tháng 02-2022", "Năm 2022", "Quý I-2022", "Thường xuyên".

    `kind` is a MilestoneKind value or "report" (the plan's yearly report).
    """
    kind = str(kind)
    if kind == "once":
        if due is None:
            return "Chưa rõ hạn"
        return f"Tháng {due.month:02d}-{due.year}" if _is_month_end(due) else f"Hạn {_dmy(due)}"
    if kind in ("yearly", "term", "report"):
        return f"Năm {period[:4]}"
    if kind == "half_yearly":
        half = "đầu" if period.endswith("H1") else "cuối"
        return f"6 tháng {half} năm {period[:4]}"
    if kind == "quarterly":
        return f"Quý {_ROMAN[int(period[-1])]}-{period[:4]}"
    if kind == "monthly":
        return f"Tháng {period[5:7]}-{period[:4]}"
    if kind == "ongoing":
        return "Thường xuyên"
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
