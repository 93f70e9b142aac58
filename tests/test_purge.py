"""`purge` removes exactly what the connector made for a plan, never a report; a dry run first."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.cli import main
from connector.commands import Job
from connector.config import load_config
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "mappings/plans/ke-hoach-21-kl-tw.txt"
UNITS = ('[[units]]\nid = "cb-a"\nname = "Chi bộ A"\ngroup = "chi-bo-a"\nkind = "chi bộ cơ sở"\n'
         '[[units]]\nid = "cb-b"\nname = "Chi bộ B"\ngroup = "chi-bo-b"\nkind = "chi bộ cơ sở"\n')
PERSONAL = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//person//VI\r\nBEGIN:VEVENT\r\nUID:hop-chi-bo-1\r\n"
            "DTSTAMP:20220101T000000Z\r\nDTSTART;VALUE=DATE:20220210\r\nSUMMARY:Họp chi bộ\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n")


def purge_json(capsys, cfg: Path, *flags: str) -> dict:
    capsys.readouterr()
    assert main(["purge", "--config", str(cfg), "--json", *flags]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.server
def test_purge_removes_what_the_connector_made_and_keeps_every_report(tmp_path, capsys):
    (tmp_path / "units.toml").write_text(UNITS, encoding="utf-8")
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text(f'[server]\nkind = "embedded"\ndata_dir = "data"\ncaldav_port = {free_port()}\n'
                   f'webdav_port = {free_port()}\n[plan]\ndocument = "{SEED}"\nunits = "units.toml"\n'
                   '[state]\ndir = "state"\n', encoding="utf-8")
    assert main(["run", "--config", str(cfg), "--as-of", "2022-03-25"]) == 0
    with Job(load_config(str(cfg))) as job:
        ob = next(o for o in job.obligations if o.unit == "cb-a" and o.task == 3)
        report = f"{job.root}/{ob.folder}/ke-hoach.pdf"
        job.webdav.put(report, b"%PDF-1.4 report\n", create_only=True)
        deadlines = job.caldav.calendars()[f"pc-{job.code}-han"]
        job.caldav.put(job.caldav.item_href(deadlines.href, "hop-chi-bo-1"), PERSONAL, create=True)
        state_file = job.state.path
    assert main(["run", "--config", str(cfg), "--as-of", "2022-03-25"]) == 0

    planned = purge_json(capsys, cfg)  # without --yes: a dry run
    assert planned["dry_run"] and planned["failed"] == []
    assert any(r.startswith("calendar pc-21-kl-tw-cb-a ") for r in planned["removed"])
    with Job(load_config(str(cfg))) as job:
        assert len(job.caldav.calendars()) == 4 and job.webdav.exists(report)

    done = purge_json(capsys, cfg, "--yes")
    assert not done["dry_run"] and done["failed"] == []
    assert sorted(done["removed"]) == sorted(planned["removed"])
    with Job(load_config(str(cfg))) as job:
        home = job.caldav.calendars()
        # The deadline calendar stays for the person's own event; the connector's events are gone.
        assert list(home) == [f"pc-{job.code}-han"]
        items = job.caldav.fetch(home[f"pc-{job.code}-han"].href, list(job.caldav.list_items(home[f"pc-{job.code}-han"].href).items))
        assert ["UID:hop-chi-bo-1" in ics and "Họp chi bộ" in ics for _etag, ics in items.values()] == [True]
        # The report and the folders holding it stay; empty folders and the register files are gone.
        tree = [e.path.removeprefix(job.root + "/") for e in job.webdav.list_tree(job.root)]
        assert sorted(tree) == sorted([ob.folder.split("/")[0], "/".join(ob.folder.split("/")[:2]), ob.folder,
                                       f"{ob.folder}/ke-hoach.pdf"])
    assert not state_file.exists()
    # A later sync makes everything again, once.
    assert main(["sync", "--config", str(cfg)]) == 0
