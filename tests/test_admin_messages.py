"""Messages that name the real cause: `check` shows what the config resolved to (secrets masked), and a
`kind = "nextcloud"` config pointed at another DAV server says so instead of "forbidden"."""
from __future__ import annotations

from pathlib import Path

import pytest

from connector.cli import main

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "mappings/plans/ke-hoach-21-kl-tw.txt"
UNITS = '[[units]]\nid = "cb-a"\nname = "Chi bộ A"\ngroup = "chi-bo-a"\nkind = "chi bộ cơ sở"\n'


def config(tmp_path: Path, server: str) -> Path:
    (tmp_path / "units.toml").write_text(UNITS, encoding="utf-8")
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text(f'{server}\n[plan]\ndocument = "{SEED}"\nunits = "units.toml"\n[state]\ndir = "state"\n',
                   encoding="utf-8")
    return cfg


def test_a_nextcloud_config_pointed_at_another_dav_server_says_it_is_no_nextcloud(tmp_path, embedded, capsys):
    (tmp_path / "pw").write_text(embedded.password)
    cfg = config(tmp_path, f'[server]\nkind = "nextcloud"\nurl = "{embedded.caldav_url}"\nuser = "{embedded.user}"\n'
                           'password_file = "pw"')
    for command in ("sync", "check"):
        assert main([command, "--config", str(cfg)]) == 2, command
        err = capsys.readouterr().err
        assert "is not a Nextcloud server (GET /status.php answered" in err and 'use kind = "dav"' in err
        assert "forbidden" not in err and embedded.password not in err


def test_check_shows_the_resolved_configuration_with_secrets_masked(tmp_path, embedded, capsys):
    (tmp_path / "pw").write_text(embedded.password)
    cfg = config(tmp_path, f'[server]\nkind = "dav"\ncaldav_home = "{embedded.calendar_home}"\n'
                           f'files_root = "{embedded.files_root}"\nuser = "{embedded.user}"\npassword_file = "pw"')
    assert main(["check", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert f"password: <redacted> (from {tmp_path / 'pw'})" in out
    assert f"units: {tmp_path / 'units.toml'}" in out and f"state: {tmp_path / 'state'}" in out
    assert embedded.password not in out
