"""A run reads the plan again only when a file it comes from changed (connector.inputs).

Cron runs the sync every day with the same plan and units; reading the plan is most of such a run, so what
the reading gave is kept beside the state. These stories check that the kept plan is the plan: every
input's change is seen, the warnings are still said, and no file the reading opens is left out of the key.
"""
from __future__ import annotations

import builtins
import io
import logging
import shutil
from pathlib import Path

import pytest
import tomli_w

import connector.commands
from connector.config import Config, PlanConfig
from connector.inputs import Inputs, input_files
from connector.render.names import NameRules
from connector.schedule import expand

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"
UNITS = [{"id": f"cb-{i}", "name": f"Chi bộ cơ sở số {i}", "group": f"cb-{i}", "kind": "chi bộ cơ sở"} for i in (1, 2)]


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """The seed plan with its mapping, two units, and an admin vocabulary in ./mappings (the working folder)."""
    monkeypatch.chdir(tmp_path)
    plan = tmp_path / "plan" / SEED.name
    plan.parent.mkdir()
    shutil.copy(SEED, plan)
    shutil.copy(SEED.with_suffix(".toml"), plan.with_suffix(".toml"))
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "vocabulary.toml").write_text("", encoding="utf-8")
    units = tmp_path / "units.toml"
    units.write_text(tomli_w.dumps({"units": UNITS}), encoding="utf-8")
    cfg = Config(plan=PlanConfig(document=str(plan), units=str(units)))
    return cfg, tmp_path / "state"


def read(cfg, state: Path) -> Inputs:
    inputs = Inputs(cfg, state)
    inputs.obligations()
    inputs.save()
    return inputs


def parses(monkeypatch) -> list[int]:
    """Counts the full readings of the plan and units."""
    count: list[int] = []
    real = connector.commands.load_plan_and_units

    def counting(cfg):
        count.append(1)
        return real(cfg)
    monkeypatch.setattr(connector.commands, "load_plan_and_units", counting)
    return count


def test_an_unchanged_plan_is_not_read_again_and_gives_the_same_tasks_and_obligations(setup, monkeypatch):
    cfg, state = setup
    first = read(cfg, state)
    count = parses(monkeypatch)
    again = read(cfg, state)
    assert count == []
    assert again.plan == first.plan and again.units == first.units
    assert again.obligations() == first.obligations() and len(again.obligations()) > 50


@pytest.mark.parametrize("change", ["document", "mapping", "units", "vocabulary"])
def test_a_change_to_any_input_file_reads_the_plan_again(setup, monkeypatch, change):
    cfg, state = setup
    read(cfg, state)
    count = parses(monkeypatch)
    path = {"document": Path(cfg.plan.document), "mapping": Path(cfg.plan.document).with_suffix(".toml"),
            "units": Path(cfg.plan.units), "vocabulary": Path("mappings") / "vocabulary.toml"}[change]
    path.write_text(path.read_text(encoding="utf-8") + "\n# sửa\n", encoding="utf-8")
    read(cfg, state)
    assert count == [1]


def test_a_new_unit_is_in_the_obligations_of_the_next_run(setup):
    cfg, state = setup
    before = read(cfg, state)
    Path(cfg.plan.units).write_text(tomli_w.dumps({"units": UNITS + [
        {"id": "cb-3", "name": "Chi bộ cơ sở số 3", "group": "cb-3", "kind": "chi bộ cơ sở"}]}), encoding="utf-8")
    after = read(cfg, state)
    assert "cb-3" not in {ob.unit for ob in before.obligations()}
    assert "cb-3" in {ob.unit for ob in after.obligations()}


def test_obligations_follow_the_server_s_name_rules(setup, monkeypatch):
    cfg, state = setup
    read(cfg, state)
    strict = NameRules(characters=frozenset("ộ"))  # as if the server refused it in file names
    kept = Inputs(cfg, state)
    plain, narrowed = kept.obligations(), kept.obligations(strict)
    assert narrowed == expand(kept.plan, kept.units, strict) and narrowed != plain
    kept.save()
    count = parses(monkeypatch)
    expanded = []
    monkeypatch.setattr("connector.schedule.expand", lambda *a: expanded.append(a))
    again = Inputs(cfg, state)  # a Nextcloud run asks for both: neither is expanded again
    assert again.obligations() == plain and again.obligations(strict) == narrowed and not expanded and not count


def test_what_the_reading_warned_is_said_again_when_the_plan_is_kept(setup, caplog):
    cfg, state = setup
    # a unit kind the plan names (the seed's "ban" milestones) that no unit has: a warning
    with caplog.at_level(logging.WARNING, logger="plan-connector"):
        read(cfg, state)
    first = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert first, "the seed plan names unit kinds these two units lack"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="plan-connector"):
        read(cfg, state)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == first


def test_a_damaged_kept_copy_is_read_past(setup, monkeypatch):
    cfg, state = setup
    first = read(cfg, state)
    for kept in state.glob("inputs-*.json"):
        kept.write_bytes(kept.read_bytes()[:500])
    count = parses(monkeypatch)
    assert read(cfg, state).obligations() == first.obligations() and count == [1]


def test_every_file_the_reading_opens_is_in_the_key(setup, monkeypatch):
    """A file read while parsing the plan but left out of input_files would let a stale plan through."""
    cfg, _ = setup
    opened: list[Path] = []
    real_open = io.open

    def spying(file, *args, **kwargs):
        if isinstance(file, (str, Path)):
            opened.append(Path(file).resolve())
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr(io, "open", spying)
    monkeypatch.setattr(builtins, "open", spying)
    connector.commands.load_plan_and_units(cfg)
    package = Path(connector.commands.__file__).resolve().parent
    known = {p.resolve() for p in input_files(cfg)}
    strays = [p for p in opened if p not in known and package not in p.parents]
    assert opened and not strays, f"read while parsing but not in connector.inputs.input_files: {strays}"
