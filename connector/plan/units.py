"""Unit names in a plan's responsibility lines (pure): whole names, never clauses.

A list such as "Sở Giáo dục và Đào tạo, Sở Văn hóa, Thể thao và Du lịch và các cơ quan liên quan" is split on
"," ";" "và" only where the next part opens a new name: a head word of a Vietnamese body ("Sở", "Ban", "Ủy ban" …)
or a lower-case collective ("các sở, ban, ngành") after a proper name. Known names that contain "," or "và"
themselves come from `connector/data/units-gazetteer.toml`. A name that runs on into a clause ("Bộ Công an tiến
hành rà soát …") is cut before its verb.
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import lru_cache
from pathlib import Path

GAZETTEER_PATH = Path(__file__).resolve().parent.parent / "data" / "units-gazetteer.toml"

# Words that turn a name into a clause: the name ends before them.
_VERBS = re.compile(
    r"\s+(?:chủ\s+trì|phối\s+hợp|tiến\s+hành|thực\s+hiện|tổ\s+chức\s+(?:thực|triển|rà|các|tuyên)|rà\s+soát|gửi|báo\s+cáo|"
    r"tham\s+mưu|có\s+trách\s+nhiệm|chịu\s+trách\s+nhiệm|hướng\s+dẫn|theo\s+dõi|xây\s+dựng|triển\s+khai|tổng\s+hợp|"
    r"là\s+cơ\s+quan|căn\s+cứ|trong\s+phạm\s+vi|theo\s+chức\s+năng|được\s+giao|bố\s+trí|cung\s+cấp|đăng\s+tải)\b.*$")
# (case-sensitive: "Sở Xây dựng" is a name, "… xây dựng kế hoạch" a clause)
_MAX_WORDS = 20
_SEP = re.compile(r"(\s*,\s*|\s+và\s+|\s*;\s*)")
_COMMA, _AND = "\u241f", "\u241e"  # placeholders that protect separators inside a known name


@lru_cache(maxsize=4)
def gazetteer(path: str = str(GAZETTEER_PATH)) -> dict:
    """The packaged gazetteer: heads (longest first), collective words and known names."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    nfc = lambda s: unicodedata.normalize("NFC", s)  # noqa: E731
    return {
        "heads": sorted({nfc(h) for h in data.get("heads", [])}, key=len, reverse=True),
        "collective": sorted({nfc(c) for c in data.get("collective", [])}, key=len, reverse=True),
        "names": sorted({nfc(n) for n in data.get("names", [])}, key=len, reverse=True),
    }


def _starts_with(text: str, words: list[str], *, case: bool) -> bool:
    for w in words:
        if (text.startswith(w) if case else text.lower().startswith(w.lower())) and (
                len(text) == len(w) or not text[len(w)].isalnum()):
            return True
    return False


_NOT_NAMES = re.compile(r"^(?:Hội\s+(?:nghị|thảo|thi|diễn)|Tổ\s+chức|Ban\s+hành|Đoàn\s+kết|Bộ\s+máy|Trường\s+hợp|"
                        r"Báo\s+cáo|Cục\s+bộ|Phòng\s+(?:chống|ngừa)|Đơn\s+vị\s+hành\s+chính|Cơ\s+quan\s+(?:chức|liên))\b")


def is_unit_name(text: str) -> bool:
    """True when the text opens with the head of a body's name ("Sở Tài chính", "Ủy ban nhân dân xã")."""
    text = text.strip().removeprefix("Đề nghị ").strip()
    if _NOT_NAMES.match(text):
        return False
    text = re.sub(r"^(?:Các|các|Thủ trưởng các|Thủ trưởng)\s+(?=\w)", "", text)
    if text[:1].islower():
        text = text[:1].upper() + text[1:]
    return _starts_with(text, gazetteer()["heads"], case=True) or _starts_with(text, ["UBND", "BCH", "MTTQ"], case=True)


def _protect(value: str) -> str:
    for name in gazetteer()["names"]:
        for m in reversed(list(re.finditer(re.escape(name), value, re.IGNORECASE))):
            inner = m.group(0).replace(",", _COMMA).replace(" và ", f" {_AND} ")
            value = value[:m.start()] + inner + value[m.end():]
    return value


def _restore(value: str) -> str:
    return value.replace(_COMMA, ",").replace(f" {_AND} ", " và ")


def cut_clause(name: str) -> str:
    """A name without the clause it runs on into; "" when nothing of a name is left."""
    name = _VERBS.sub("", name).strip(" .;,:-–")
    name = re.sub(r"\s*\((?:b/c|để biết|nếu có)\)$", "", name, flags=re.IGNORECASE)
    if len(name.split()) > _MAX_WORDS:
        return ""
    return name


def split_units(value: str) -> list[str]:
    """Whole unit names from a responsibility value; a clause never becomes a unit."""
    g = gazetteer()
    value = re.sub(r"\s+", " ", value).strip(" .;:")
    value = re.sub(r"^(?:đề nghị|giao)\s+", "", value, flags=re.IGNORECASE)
    protected = _protect(value)
    units: list[str] = []
    for chunk in re.split(r"\s*;\s*", protected):
        parts = _SEP.split(chunk)
        current = parts[0]
        for sep, part in zip(parts[1::2], parts[2::2]):
            part_s = part.strip()
            new = (part_s[:1].isupper() and part_s not in g["heads"]
                   and (_starts_with(_restore(part_s), g["heads"], case=True)
                                             or any(_restore(part_s).startswith(n) for n in g["names"])))
            new = new or (part_s[:1].islower() and current.strip()[:1].isupper()
                          and _starts_with(part_s, g["collective"], case=False))
            if new and ";" not in sep:
                units.append(current)
                current = part
            else:
                current += sep + part
        units.append(current)
    out: list[str] = []
    for u in units:
        u = cut_clause(_restore(u).strip(" .;,:-–"))
        u = u.strip(" .;,:-–")
        if u and u[:1].upper() + u[1:] not in out:
            out.append(u[:1].upper() + u[1:])
    return out


_ASSIGN = re.compile(
    r"^(?P<lead>.+?)\s+(?:chủ\s+trì|là\s+cơ\s+quan\s+(?:đầu\s+mối|thường\s+trực|chủ\s+trì))"
    r"(?:[^,;]*?[,;]?\s*(?:và\s+)?phối\s+hợp(?:\s+với)?\s+(?P<coop>.+?))?(?=$|\s+(?:để|nhằm|trong|tổ\s+chức|thực\s+hiện"
    r"|triển\s+khai|rà\s+soát|xây\s+dựng|tham\s+mưu|hướng\s+dẫn)\b|[.;])",
    re.IGNORECASE)


def assignment(value: str) -> tuple[list[str], list[str]]:
    """(lead, cooperating) from "X chủ trì, phối hợp với Y …" or a plain list of names."""
    m = _ASSIGN.match(value.strip())
    if m:
        return split_units(m.group("lead")), split_units(m.group("coop") or "")
    return split_units(value), []


def _key(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().replace("uỷ", "ủy").replace("hoá", "hóa")
    return re.sub(r"\s+", " ", text).strip(" .")


def match_units(names: list[str], units) -> list[str]:
    """Ids of the units (from units.toml) that the plan's names designate: the same name (or id), a name that
    goes on past the unit's name ("Sở Tài chính tỉnh Bình An" → the unit "Sở Tài chính"), or a name of two or
    more words that the unit's name goes on from ("Ban Tổ chức" → "Ban Tổ chức Đảng ủy Khối")."""
    ids: list[str] = []
    for name in names:
        key = _key(name)
        for unit in units:
            unit_key = _key(unit.name)
            if not unit_key or unit.id in ids:
                continue
            if (key in (unit_key, _key(unit.id)) or key.startswith(unit_key + " ")
                    or (len(key.split()) >= 2 and unit_key.startswith(key + " "))):
                ids.append(unit.id)
    return ids


def match_leads(plan, units) -> None:
    """Each task's lead_units and cooperating_units: the ids of the units its lead and cooperating names designate."""
    for task in plan.tasks:
        task.lead_units = match_units(task.lead, units)
        task.cooperating_units = match_units(task.cooperating, units)


def narrow_to_leads(plan, units) -> int:
    """A task whose lead names match units is owed by those units only: each of its milestones that the mapping
    does not give `units` or `unit_kinds` (the mapping wins) is narrowed to them. Where no lead name matches a
    unit, every unit owes it as before. Returns how many milestones were narrowed."""
    match_leads(plan, units)
    narrowed = 0
    for task in plan.tasks:
        if not task.lead_units:
            continue
        for m in task.milestones:
            if not m.units and not m.unit_kinds:
                m.units = list(task.lead_units)
                narrowed += 1
    return narrowed
