"""Config and units files: defaults, env overrides, password handling, clear errors."""
from pathlib import Path

import pytest

from connector.config import load_config, load_units
from connector.errors import ConfigError
from connector.log import redact


def write(p, text):
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_no_config_means_the_embedded_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(None, env={})
    assert cfg.server.kind == "embedded"
    assert cfg.plan.document.endswith("mappings/plans/ke-hoach-21-kl-tw.txt")


def test_nextcloud_config_reads_password_file_and_env_overrides(tmp_path):
    pw = tmp_path / "app-password"
    pw.write_text("s3cret-app-pass\n")
    cfg_path = write(tmp_path / "plan-connector.toml", """
[server]
kind = "nextcloud"
url = "https://cloud.example.org"
user = "plan-bot"
password_file = "app-password"
[plan]
document = "plan.txt"
units = "units.toml"
""")
    cfg = load_config(cfg_path, env={"PLAN_CONNECTOR_USER": "other-bot"})
    assert cfg.server.password == "s3cret-app-pass"
    assert cfg.server.user == "other-bot"
    assert cfg.plan.document == str(tmp_path / "plan.txt")
    assert "s3cret-app-pass" not in repr(cfg) and "s3cret-app-pass" not in cfg.model_dump_json()
    assert redact("login with s3cret-app-pass failed") == "login with <redacted> failed"
    cfg = load_config(cfg_path, env={"PLAN_CONNECTOR_PASSWORD": "from-env-pass"})
    assert cfg.server.password == "from-env-pass"


def test_missing_password_is_a_config_error_naming_the_file(tmp_path):
    cfg_path = write(tmp_path / "c.toml", '[server]\nkind = "nextcloud"\nurl = "https://x"\nuser = "u"\n')
    with pytest.raises(ConfigError) as exc:
        load_config(cfg_path, env={})
    assert "c.toml" in str(exc.value) and "app password" in str(exc.value)
    assert exc.value.exit_code == 2


def test_bad_toml_and_bad_values_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="bad.toml.*not valid TOML"):
        load_config(write(tmp_path / "bad.toml", "[server\nkind="), env={})
    with pytest.raises(ConfigError, match="server.kind"):
        load_config(write(tmp_path / "k.toml", '[server]\nkind = "owncloud"\n'), env={})
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "missing.toml"), env={})


def test_units_file_is_checked(tmp_path):
    units = load_units("mappings/units.example.toml")
    assert len(units) == 8 and len({u.group for u in units}) == 8
    with pytest.raises(ConfigError, match="duplicate id 'a'"):
        load_units(write(tmp_path / "u.toml", '[[units]]\nid="a"\nname="A"\ngroup="g"\n[[units]]\nid="a"\nname="B"\ngroup="h"\n'))
    with pytest.raises(ConfigError, match=r"unit #1 \(x\): group"):
        load_units(write(tmp_path / "v.toml", '[[units]]\nid="x"\nname="X"\n'))


@pytest.mark.parametrize("text, expected", [
    ("[sever]\nurl = 'https://cloud.example.org'\n", "x.toml:1: unknown section [sever] (did you mean [server]?)"),
    ("[server]\nkind = 'embedded'\n\n[plan]\nalarm_dys = [1]\n", "x.toml:5: unknown key 'alarm_dys' in [plan] (did you mean 'alarm_days'?)"),
    ("[server]\nkind = 'embedded'\n[plan]\ncoordinater_groups = ['a']\n", "did you mean 'coordinator_groups'?"),
    ("[server]\nkind = 'nextcloud'\npassword = 'hunter22'\n", "x.toml:3: [server] password: never put the password in the config file"),
    ("[plan]\nunits = 'u.toml'\n", "x.toml: no server.kind"),
])
def test_a_typo_in_the_config_is_an_error_that_names_the_line_and_the_right_name(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path / "x.toml", text), env={})
    assert expected in str(err.value)
    assert "hunter22" not in str(err.value)


def test_a_server_config_names_its_plan_and_units_and_the_etc_layout_resolves_beside_it(tmp_path):
    """The README's /etc/plan-connector layout: paths relative to the config's folder; no silent sample data."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "app-password").write_text("pw-123\n")
    server = '[server]\nkind = "nextcloud"\nurl = "https://x"\nuser = "bot"\npassword_file = "app-password"\n'
    with pytest.raises(ConfigError, match="names no plan"):
        load_config(write(etc / "a.toml", server), env={})
    with pytest.raises(ConfigError, match="names no units file"):
        load_config(write(etc / "b.toml", server + '[plan]\ndocument = "ke-hoach.txt"\n'), env={})
    cfg = load_config(write(etc / "c.toml", server + '[plan]\ndocument = "ke-hoach.txt"\nunits = "units.toml"\n'), env={})
    assert (cfg.plan.document, cfg.plan.units) == (str(etc / "ke-hoach.txt"), str(etc / "units.toml"))
    # Only the embedded default falls back to the bundled sample plan and units, wherever it runs from.
    cfg = load_config(write(etc / "d.toml", '[server]\nkind = "embedded"\n'), env={})
    assert cfg.plan.document.endswith("mappings/plans/ke-hoach-21-kl-tw.txt") and Path(cfg.plan.document).is_file()
    assert Path(cfg.plan.units).is_file()
