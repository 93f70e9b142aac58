"""The JSON form and the editable plan mapping: what later steps read, and what the admin keeps."""
from __future__ import annotations

import json
import shutil
import tomllib
from datetime import date
from pathlib import Path

import pytest

from connector.cli import main
from connector.errors import ConfigError
from connector.models import MilestoneKind, Plan
from connector.plan import parse_plan
from connector.plan.mapping import MARKER, load_plan, write_mapping

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"


def test_json_form_round_trips(capsys):
    assert main(["import", str(SEED), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    plan = parse_plan(SEED)
    assert printed == plan.public_json()
    rebuilt = Plan.model_validate(printed)  # scripts can read it back into the models
    assert rebuilt.public_json() == printed
    assert printed["tasks"][1]["milestones"][0] == {"phrase": "hoàn thành trong quý I/2022", "kind": "once",
                                                    "due": "2022-03-31", "start": None, "rrule": None,
                                                    "needs_review": False, "dates": ["2022-03-31"],
                                                    "years": [], "flags": [], "line": 21}
    assert {"title", "tasks", "code", "number", "issuer", "issued", "period", "term", "review"} <= set(printed)
    assert printed["code"] == "21-kl-tw" and printed["term"] == [2020, 2025]
    assert printed["tasks"][10]["milestones"][0]["dates"] == ["2021-12-31", "2023-12-31"]  # every term year
    assert {"number", "title", "text", "lead", "cooperating", "milestones", "label", "line"} <= set(printed["tasks"][0])


def test_table_shows_tasks_phrases_kinds_dates_and_flags(capsys):
    assert main(["import", str(SEED)]) == 0
    out = capsys.readouterr().out
    assert "19 tasks, 21 milestones, 1 to review" in out
    assert "hoàn thành trong quý I/2022" in out and "31/03/2022" in out
    assert "task 11, milestone 1 (line 41): term-based" in out


def _with_override(path: Path, toml: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(MARKER, toml + "\n" + MARKER), encoding="utf-8")


def test_reimport_keeps_the_admins_overrides_and_comments(tmp_path):
    mapping = tmp_path / "plan.toml"
    write_mapping(parse_plan(SEED), mapping)
    _with_override(mapping, "# chosen at the meeting of 3/3\n[overrides.tasks.11.milestones.1]\nyears = [2022, 2024]\n")
    write_mapping(parse_plan(SEED), mapping)
    text = mapping.read_text(encoding="utf-8")
    assert "# chosen at the meeting of 3/3" in text
    assert tomllib.loads(text)["overrides"] == {"tasks": {"11": {"milestones": {"1": {"years": [2022, 2024]}}}}}
    assert text.count(MARKER) == 1


def test_overrides_written_elsewhere_in_the_file_survive_too(tmp_path):
    mapping = tmp_path / "plan.toml"
    write_mapping(parse_plan(SEED), mapping)
    mapping.write_text(mapping.read_text(encoding="utf-8") + "\n[overrides.plan]\nyear = 2023\n", encoding="utf-8")
    write_mapping(parse_plan(SEED), mapping)
    assert tomllib.loads(mapping.read_text(encoding="utf-8"))["overrides"] == {"plan": {"year": 2023}}


def test_mapping_alone_gives_the_plan_with_overrides_applied(tmp_path):
    mapping = tmp_path / "plan.toml"
    write_mapping(parse_plan(SEED), mapping)
    _with_override(mapping, '[overrides.tasks.11.milestones.1]\nyears = [2022, 2024]\n'
                            '[overrides.tasks.1.milestones.1]\nunit_kinds = ["ban"]\ntitle = "Hội nghị Khối"\n'
                            '[overrides.tasks.3]\nlead = ["Ban Tổ chức"]\n')
    plan = load_plan(mapping=mapping)
    term = plan.tasks[10].milestones[0]
    assert (term.years, term.due, term.needs_review, term.flags) == ([2022, 2024], date(2022, 12, 31), False, [])
    assert plan.tasks[0].milestones[0].unit_kinds == ["ban"] and plan.tasks[0].milestones[0].title == "Hội nghị Khối"
    assert plan.tasks[2].lead == ["Ban Tổ chức"]
    assert plan.public_json()["tasks"][4] == parse_plan(SEED).public_json()["tasks"][4]
    # the document plus the mapping gives the same plan
    assert load_plan(document=SEED, mapping=mapping).public_json() == plan.public_json()


def test_plan_year_and_term_overrides_reread_the_phrases(tmp_path):
    mapping = tmp_path / "plan.toml"
    write_mapping(parse_plan(SEED), mapping)
    _with_override(mapping, "[overrides.plan]\nyear = 2023\nterm = [2021, 2026]\n")
    plan = load_plan(mapping=mapping)
    assert plan.year == 2023 and plan.horizon == 2026
    assert plan.tasks[7].milestones[0].due == date(2023, 12, 31)  # "thực hiện hằng năm" starts with the plan's year
    assert plan.tasks[6].milestones[1].due == date(2022, 12, 31)  # "hằng năm từ năm 2022" keeps its stated year
    assert plan.tasks[10].milestones[0].years == [2022, 2024] and plan.tasks[10].milestones[0].needs_review


def test_an_unknown_milestone_is_settled_by_kind_and_due(tmp_path):
    doc = tmp_path / "plan.txt"
    doc.write_text("KẾ HOẠCH\nthử\n\nII. NHIỆM VỤ\n\n1. Thi đua (*khi có hướng dẫn*).\n", encoding="utf-8")
    mapping = tmp_path / "plan.toml"
    write_mapping(parse_plan(doc), mapping)
    _with_override(mapping, '[overrides.tasks.1.milestones.1]\nkind = "yearly"\ndue = 2024-06-30\n')
    m = load_plan(document=doc, mapping=mapping).tasks[0].milestones[0]
    assert (m.kind, m.due, m.rrule, m.needs_review) == (MilestoneKind.YEARLY, date(2024, 6, 30),
                                                        "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=30", False)


@pytest.mark.parametrize("toml,message", [
    ("[overrides.tasks.99]\ntitle = 'x'\n", "no task 99"),
    ("[overrides.tasks.1.milestones.3]\nyears = [2022]\n", "milestone"),
    ("[overrides.tasks.1.milestones.1]\ncolour = 'red'\n", "unknown key"),
    ("[overrides.tasks.1.milestones.1]\ndue = 'soon'\n", "not a date"),
    ("[overrides.plan]\nterm = 'long'\n", "overrides.plan.term"),
])
def test_a_wrong_override_is_a_config_error_naming_the_mapping(tmp_path, toml, message):
    mapping = tmp_path / "plan.toml"
    write_mapping(parse_plan(SEED), mapping)
    _with_override(mapping, toml)
    with pytest.raises(ConfigError) as err:
        load_plan(mapping=mapping)
    assert message in str(err.value) and str(mapping) in str(err.value) and err.value.exit_code == 2


def test_cli_writes_a_bare_name_under_mappings_plans_and_applies_its_overrides(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SEED, tmp_path / "seed.txt")
    assert main(["import", "seed.txt", "-o", "seed.toml", "--strict"]) == 1  # task 11 needs review
    mapping = tmp_path / "mappings" / "plans" / "seed.toml"
    assert mapping.is_file() and "wrote" in capsys.readouterr().err
    _with_override(mapping, "[overrides.tasks.11.milestones.1]\nyears = [2022, 2024]\n")
    assert main(["import", "seed.txt", "-o", "seed.toml", "--strict"]) == 0  # reviewed: nothing left to flag
    assert "years = [2022, 2024]" in mapping.read_text(encoding="utf-8")


def test_the_shipped_seed_mapping_is_current_and_narrows_task_1(monkeypatch):
    """The shipped mapping is what `import mappings/plans/ke-hoach-21-kl-tw.txt -o …` writes today: the plan
    it stores, overrides applied, is the seed read afresh with the same overrides, field for field."""
    monkeypatch.chdir(ROOT)  # the mapping records the document as the project-relative path it was imported from
    shipped = Path("mappings") / "plans" / "ke-hoach-21-kl-tw.toml"
    data = tomllib.loads(shipped.read_text(encoding="utf-8"))
    assert data["overrides"]["tasks"]["1"]["milestones"]["1"]["unit_kinds"] == ["ban"]
    plan = load_plan(mapping=shipped)
    fresh = load_plan(document=Path("mappings") / "plans" / "ke-hoach-21-kl-tw.txt", mapping=shipped)
    assert plan.model_dump() == fresh.model_dump()
    assert plan.tasks[0].milestones[0].unit_kinds == ["ban"]
    assert plan.tasks[10].milestones[0].years == [2022, 2024] and not plan.tasks[10].milestones[0].needs_review
    assert plan.code == "21-kl-tw" and plan.term == (2020, 2025) and len(plan.tasks) == 19
