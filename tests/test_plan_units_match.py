"""Issue 9: a task lands on the units that really exist. Lead names are matched to units.toml; a task whose
lead names match units is owed by those units only, unless the mapping says who owes it; a lead that matches
nothing leaves the task to every unit, as before."""
from __future__ import annotations

import tomllib
from collections import defaultdict
from pathlib import Path

from connector.cli import main
from connector.commands import load_plan_and_units
from connector.config import Config, PlanConfig
from connector.plan.mapping import load_plan
from connector.schedule import expand

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"

PLAN = """UBND TỈNH BÌNH AN
Số: 45/KH-UBND    Bình An, ngày 05 tháng 3 năm 2026

KẾ HOẠCH
TRIỂN KHAI CHUYỂN ĐỔI SỐ NĂM 2026

I. NHIỆM VỤ

1. Rà soát, bố trí kinh phí chuyển đổi số.
- Cơ quan chủ trì: Sở Tài chính tỉnh Bình An.
- Cơ quan phối hợp: Sở Nội vụ.
- Thời gian thực hiện: tháng 6/2026.

2. Số hóa hồ sơ sức khỏe điện tử.
- Cơ quan chủ trì: Ban Quản lý dự án.
- Thời gian thực hiện: quý III/2026.

3. Tổ chức hội nghị sơ kết.
- Cơ quan chủ trì: Sở Ngoại vụ.
- Thời gian thực hiện: tháng 12/2026.
"""

UNITS = """
[[units]]
id = "so-tai-chinh"
name = "Sở Tài chính"
group = "so-tai-chinh"

[[units]]
id = "bql-du-an"
name = "Ban Quản lý dự án đầu tư xây dựng tỉnh"
group = "bql-du-an"

[[units]]
id = "so-noi-vu"
name = "Sở Nội vụ"
group = "so-noi-vu"

[[units]]
id = "xa-an-binh"
name = "UBND xã An Bình"
group = "xa-an-binh"
"""


def _files(tmp_path: Path) -> tuple[Path, Path]:
    plan, units = tmp_path / "ke-hoach.txt", tmp_path / "units.toml"
    plan.write_text(PLAN, encoding="utf-8")
    units.write_text(UNITS, encoding="utf-8")
    return plan, units


def _owed(plan, units) -> dict[int, list[str]]:
    owed: dict[int, list[str]] = defaultdict(list)
    for ob in expand(plan, units):
        if ob.task and ob.unit not in owed[ob.task]:
            owed[ob.task].append(ob.unit)
    return dict(owed)


def test_tasks_whose_leads_match_units_are_owed_by_those_units_only(tmp_path):
    document, units_file = _files(tmp_path)
    plan, units = load_plan_and_units(Config(plan=PlanConfig(document=str(document), units=str(units_file))))
    assert [t.lead_units for t in plan.tasks] == [["so-tai-chinh"], ["bql-du-an"], []]  # 2 of 3 leads match
    assert plan.tasks[0].cooperating_units == ["so-noi-vu"]
    assert _owed(plan, units) == {1: ["so-tai-chinh"], 2: ["bql-du-an"],
                                  3: ["so-tai-chinh", "bql-du-an", "so-noi-vu", "xa-an-binh"]}  # Sở Ngoại vụ: nobody


def test_the_mapping_still_says_who_owes_a_milestone(tmp_path):
    document, units_file = _files(tmp_path)
    mapping = tmp_path / "ke-hoach.toml"  # beside the document: read with it
    mapping.write_text('[overrides.tasks.1.milestones.1]\nunits = ["xa-an-binh"]\n\n'
                       '[overrides.tasks.2]\nlead = ["Sở Nội vụ"]\n', encoding="utf-8")
    plan, units = load_plan_and_units(Config(plan=PlanConfig(document=str(document), units=str(units_file))))
    owed = _owed(plan, units)
    assert owed[1] == ["xa-an-binh"]  # explicit units win over the lead
    assert owed[2] == ["so-noi-vu"]  # a lead named in the overrides is matched too


def test_the_seed_plan_names_no_lead_and_is_owed_as_before():
    cfg = Config(plan=PlanConfig(document=str(SEED), units=str(ROOT / "mappings" / "units.example.toml")))
    plan, units = load_plan_and_units(cfg)
    before = load_plan(document=SEED, mapping=SEED.with_suffix(".toml"))
    assert not any(t.lead_units for t in plan.tasks)
    assert [ob.key for ob in expand(plan, units)] == [ob.key for ob in expand(before, units)]


def test_import_shows_the_matches_and_writes_them_into_the_mapping(tmp_path, capsys):
    document, units_file = _files(tmp_path)
    target = tmp_path / "out" / "ke-hoach.toml"
    assert main(["import", str(document), "--units", str(units_file), "-o", str(target)]) == 0
    out = capsys.readouterr().out
    assert "task 1 (owed by so-tai-chinh): lead Sở Tài chính tỉnh Bình An → so-tai-chinh; " \
           "cooperating Sở Nội vụ → so-noi-vu" in out
    assert "task 3 (owed by every unit): lead Sở Ngoại vụ → —" in out
    assert "3 of 4 names match a unit" in out
    tasks = tomllib.loads(target.read_text(encoding="utf-8"))["tasks"]
    assert [t["lead_units"] for t in tasks] == [["so-tai-chinh"], ["bql-du-an"], []]
