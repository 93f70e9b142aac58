"""The deadline vocabulary: data (TOML) that says how a plan's time phrases read.

The packaged default is `connector/data/vocabulary.toml`; an admin extends it in
`mappings/vocabulary.toml` (same format: entries with a new `name` are added and tried first,
an entry with an existing `name` replaces that one).
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from connector.errors import ConfigError
from connector.models import MilestoneKind

PACKAGED_PATH = Path(__file__).resolve().parent.parent / "data" / "vocabulary.toml"
ADMIN_PATH = Path("mappings") / "vocabulary.toml"

# Which `due` rules make sense for which kind.
DUE_RULES: dict[MilestoneKind, set[str]] = {
    MilestoneKind.ONCE: {"end_of_month", "end_of_quarter", "end_of_half", "end_of_year", "dec31", "jun30", "date"},
    MilestoneKind.YEARLY: {"dec31", "jun30", "date"},
    MilestoneKind.HALF_YEARLY: {"period_end"},
    MilestoneKind.QUARTERLY: {"period_end", "day_of_month"},
    MilestoneKind.MONTHLY: {"period_end", "day_of_month"},
    MilestoneKind.ONGOING: {"none", "daily"},  # daily: a daily report, owed as an ongoing duty
    MilestoneKind.TERM: {"term_years", "term_mid", "term_end"},
}
FIELDS = ("day", "month", "year", "quarter", "half", "n", "m", "start_year", "from_day", "from_month", "from_year",
          "hour", "hour_b")
_KEYS = {"name", "regex", "kind", "due", "review", "note", "day", "month", "quarter", "half", "n", "m"}

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_WORDS = {"nhất": 1, "một": 1, "hai": 2, "ba": 3, "tư": 4, "bốn": 4, "năm": 5, "sáu": 6}


@dataclass(frozen=True)
class Entry:
    """One phrasing: a regex over the normalized phrase, the kind it means and its due rule."""

    name: str
    regex: re.Pattern
    kind: MilestoneKind
    due: str
    defaults: dict[str, int] = field(default_factory=dict)
    review: bool = False
    note: str = ""


@dataclass(frozen=True)
class PhraseMatch:
    """An entry that matched a whole phrase, with the numbers its groups captured."""

    entry: Entry
    values: dict[str, int]


@dataclass(frozen=True)
class Vocabulary:
    entries: tuple[Entry, ...]
    sources: tuple[str, ...] = ()

    def match(self, phrase: str) -> PhraseMatch | None:
        """The first entry whose regex matches the whole (normalized) phrase, else None."""
        text = normalize_phrase(phrase)
        for candidate in dict.fromkeys((text, simplify_phrase(text))):
            for entry in self.entries:
                found = entry.regex.fullmatch(candidate)
                if found:
                    return PhraseMatch(entry, _values(entry, found))
        return None


def normalize_phrase(phrase: str) -> str:
    """The form regexes see: NFC, lower case, one space, common spelling variants unified."""
    text = unicodedata.normalize("NFC", phrase).lower()
    text = text.replace("*", "").replace("–", "-").replace("—", "-").replace("qúy", "quý")
    text = re.sub(r"\bhàng(?=\s+(?:năm|quý|tháng|tuần|ngày)\b)", "hằng", text)
    text = re.sub(r"\s+", " ", text)
    return text.strip(" .,;:()[]\"'“”")


_HEDGES = re.compile(r"^(?:dự kiến|khoảng|dự kiến trong)\s+|^ngày\s+(?=tháng\b)")
_TAILS = re.compile(r"\s*(?:\([^()]*\)?|,?\s*hoặc (?:khi có yêu cầu|đột xuất|theo yêu cầu)[^,;]*|,?\s*theo (?:yêu cầu|quy định))$")


def simplify_phrase(text: str) -> str:
    """A normalized phrase without hedges and asides: "dự kiến tháng 11/2025 (sau khi …)" → "tháng 11/2025"."""
    previous = None
    while previous != text:
        previous = text
        text = _HEDGES.sub("", text).strip()
        text = _TAILS.sub("", text).strip(" .,;:")
    return text


def _number(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    return _ROMAN.get(text) or _WORDS.get(text)


def _values(entry: Entry, found: re.Match) -> dict[str, int]:
    values = dict(entry.defaults)
    for group, text in found.groupdict().items():
        if text is None:
            continue
        name = group.rstrip("0123456789")  # "year2" fills "year": re forbids repeating a group name
        number = _number(text)
        if name in FIELDS and number is not None:
            values[name] = number
    return values


def _entry(raw: dict, path: Path, index: int) -> Entry:
    name = raw.get("name")
    where = f"pattern {name!r}" if name else f"pattern #{index}"
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: missing 'name'", path=str(path))
    unknown = set(raw) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}", path=str(path))
    try:
        kind = MilestoneKind(raw.get("kind", ""))
    except ValueError:
        raise ConfigError(f"{where}: kind must be one of {', '.join(k.value for k in DUE_RULES)}", path=str(path)) from None
    due = raw.get("due", "")
    if due not in DUE_RULES[kind]:
        raise ConfigError(f"{where}: due {due!r} does not fit kind {kind.value!r} (use {', '.join(sorted(DUE_RULES[kind]))})",
                          path=str(path))
    try:
        regex = re.compile(str(raw.get("regex", "")), re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"{where}: bad regex: {exc}", path=str(path)) from None
    if not regex.pattern:
        raise ConfigError(f"{where}: missing 'regex'", path=str(path))
    defaults = {k: int(raw[k]) for k in ("day", "month", "quarter", "half", "n", "m") if k in raw}
    return Entry(name=name, regex=regex, kind=kind, due=due, defaults=defaults,
                 review=bool(raw.get("review", False)), note=str(raw.get("note", "")))


def read_entries(path: Path) -> list[Entry]:
    """The entries of one vocabulary file, validated; ConfigError names the file and entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError("vocabulary file not found", path=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not a valid TOML vocabulary: {exc}", path=str(path)) from None
    patterns = data.get("pattern", [])
    if not isinstance(patterns, list) or not all(isinstance(p, dict) for p in patterns):
        raise ConfigError("expected [[pattern]] entries", path=str(path))
    entries = [_entry(raw, path, i) for i, raw in enumerate(patterns, 1)]
    seen: set[str] = set()
    for e in entries:
        if e.name in seen:
            raise ConfigError(f"pattern {e.name!r} defined twice", path=str(path))
        seen.add(e.name)
    return entries


def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """The packaged vocabulary extended by `path`, else by ./mappings/vocabulary.toml if present.

    The extension only adds entries (tried before the packaged ones) or replaces one by name.
    """
    entries = read_entries(PACKAGED_PATH)
    sources = [str(PACKAGED_PATH)]
    extension = Path(path) if path else (ADMIN_PATH if ADMIN_PATH.is_file() else None)
    if extension is not None and extension.resolve() != PACKAGED_PATH:
        extra = read_entries(extension)
        by_name = {e.name: e for e in extra}
        replaced = [by_name.pop(e.name, e) for e in entries]
        entries = [e for e in extra if e.name in by_name] + replaced
        sources.append(str(extension))
    return Vocabulary(tuple(entries), tuple(sources))
