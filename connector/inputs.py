"""The plan and units a run works from, read again only when a file they come from changes.

Reading the plan (its document, its mapping, the deadline vocabulary) and checking the units against it takes
about 0.1 s, and expanding the obligations a little more: most of a run with nothing to do. What they gave is
kept as JSON beside the state, under a digest of every file they were read from and of the code that reads
them (connector/ and its data files); a run whose digest matches validates that JSON instead, about 5× faster.
What the reading said in the log is kept too and said again, so a warning about the plan shows on every run.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import sys
from pathlib import Path

from pydantic import BaseModel, ValidationError

from connector.config import Config
from connector.models import Obligation, Plan, Unit

log = logging.getLogger("plan-connector.inputs")

KEPT_VERSION = 1


class _Kept(BaseModel):
    key: str
    plan: Plan
    units: list[Unit]
    obligations: dict[str, list[Obligation]] = {}  # by the name rules they were expanded with
    said: list[tuple[str, int, str]] = []  # (logger, level, message) of the reading


def input_files(cfg: Config) -> list[Path]:
    """Every file the plan and units are read from, besides the connector's own code and data."""
    from connector.commands import _plan_mapping_beside
    from connector.plan.vocabulary import ADMIN_PATH

    mapping = cfg.plan.mapping or _plan_mapping_beside(cfg.plan.document)
    return [Path(p) for p in (cfg.plan.document, mapping, cfg.plan.units) if p] + [ADMIN_PATH]


@functools.cache
def code_digest(*patterns: str) -> str:
    """A digest of the connector's own files matching `patterns` (globs under connector/), read once per
    process: what was made from that code is made again when the code changed, whatever the version says."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted({p for pattern in patterns for p in here.glob(pattern) if p.is_file()}):
        h.update(str(path.relative_to(here)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def inputs_digest(cfg: Config) -> str | None:
    """A digest of the inputs' contents and of the code; None when one cannot be read (the full reading
    then says why)."""
    import pydantic

    # Every source and data file (the vocabulary, the gazetteer) reads the plan; the JSON is pydantic's.
    h = hashlib.sha256(f"{KEPT_VERSION} {sys.version} {pydantic.VERSION} {code_digest('**/*.py', '**/*.toml')}".encode())
    for path in input_files(cfg):
        h.update(str(path.resolve()).encode() + b"\0")
        try:
            h.update(path.read_bytes() if path.is_file() else b"(absent)")
        except OSError:
            return None
        h.update(b"\0")
    return h.hexdigest()


class _Said(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


class Inputs:
    """The plan, the units and (per name rules) the obligations of one configuration."""

    def __init__(self, cfg: Config, state_dir: Path):
        named = "\0".join(str(path.resolve()) for path in input_files(cfg))  # one file per plan and units
        self._path = state_dir / f"inputs-{hashlib.sha256(named.encode()).hexdigest()[:12]}.json"
        self._key = inputs_digest(cfg)
        self._changed = False
        kept = self._read_kept()
        if kept is not None:
            for name, level, message in kept.said:
                logging.getLogger(name).log(level, "%s", message)
            self._kept = kept
            return
        from connector.commands import load_plan_and_units

        said = _Said()
        top = logging.getLogger("plan-connector")
        top.addHandler(said)
        try:
            plan, units = load_plan_and_units(cfg)
        finally:
            top.removeHandler(said)
        self._kept = _Kept(key=self._key or "", plan=plan, units=units, said=said.records)
        self._changed = True

    @property
    def plan(self) -> Plan:
        return self._kept.plan

    @property
    def units(self) -> list[Unit]:
        return self._kept.units

    def obligations(self, rules=None) -> list[Obligation]:
        """The plan's obligations for these units, folder names made under `rules` (NameRules)."""
        from connector.render.names import DEFAULT_RULES
        from connector.schedule import expand

        rules = rules or DEFAULT_RULES
        name = repr(sorted(rules.to_json().items()))
        found = self._kept.obligations.get(name)
        if found is None:
            found = expand(self.plan, self.units, rules)
            # A run expands with the default rules, then (on Nextcloud) with the server's: keep both.
            self._kept.obligations = {**dict(list(self._kept.obligations.items())[-1:]), name: found}
            self._changed = True
        return found

    def save(self) -> None:
        """Keep what was read for the next run (not when an input could not be read, nor unchanged)."""
        if not self._changed or self._key is None:
            return
        from connector.state import atomic_write

        try:
            atomic_write(self._path, self._kept.model_dump_json().encode("utf-8"), 0o600)
            self._changed = False
        except OSError as exc:  # only speed is lost
            log.info("cannot keep the plan read in %s (%s)", self._path, exc)

    def _read_kept(self) -> _Kept | None:
        if self._key is None:
            return None
        try:
            data = self._path.read_bytes()
        except OSError:
            return None
        if f'"key":"{self._key}"'.encode() not in data[:200]:
            return None
        try:
            kept = _Kept.model_validate_json(data)
        except ValidationError:
            return None
        return kept if kept.key == self._key else None
