"""A dry run tells the admin exactly what the real run then does: the same totals, nothing written."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from connector.cli import main
from tests.helpers import free_port

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "mappings/plans/ke-hoach-21-kl-tw.txt"
UNIT = '[[units]]\nid = "{id}"\nname = "{name}"\ngroup = "{id}"\nkind = "chi bộ cơ sở"\n'


def sync_json(capsys, cfg: Path, *extra: str) -> dict:
    capsys.readouterr()
    assert main(["sync", "--config", str(cfg), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_dry_run_totals_equal_what_the_run_then_does(tmp_path, capsys):
    plan = tmp_path / "ke-hoach.txt"
    shutil.copy(SEED, plan)
    shutil.copy(SEED.with_suffix(".toml"), plan.with_suffix(".toml"))
    units = tmp_path / "units.toml"
    units.write_text(UNIT.format(id="cb-a", name="Chi bộ A") + UNIT.format(id="cb-b", name="Chi bộ B")
                     + UNIT.format(id="cb-c", name="Chi bộ C"), encoding="utf-8")
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text(f'[server]\nkind = "embedded"\ndata_dir = "data"\ncaldav_port = {free_port()}\n'
                   f'webdav_port = {free_port()}\n[plan]\ndocument = "{plan}"\nunits = "units.toml"\n'
                   '[state]\ndir = "state"\n', encoding="utf-8")

    # The first sync, then a new version of the plan (a deadline moved) and a unit gone, a unit renamed.
    for step in ("first", "changed"):
        if step == "changed":
            text = plan.read_text(encoding="utf-8")
            plan.write_text(text.replace("tháng 12/2022", "tháng 11/2022"), encoding="utf-8")
            units.write_text(UNIT.format(id="cb-a", name="Chi bộ A mới") + UNIT.format(id="cb-b", name="Chi bộ B"),
                             encoding="utf-8")
        planned = sync_json(capsys, cfg, "--dry-run", "--force")
        done = sync_json(capsys, cfg, "--force")
        totals = lambda r: (r["created"], r["updated"], r["deleted"])  # noqa: E731
        assert totals(planned) == totals(done), step
        assert sum(totals(done)) > 0
        assert totals(sync_json(capsys, cfg, "--dry-run")) == (0, 0, 0)  # and nothing is left to do
