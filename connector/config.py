"""plan-connector.toml and mappings/units.toml: read, check, resolve relative paths.

Passwords come from `PLAN_CONNECTOR_PASSWORD` or `server.password_file`, never from the command line.
"""
from __future__ import annotations

import base64
import difflib
import logging
import os
import re
import stat
import tomllib
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, PrivateAttr, ValidationError

from connector.errors import ConfigError
from connector.log import register_secret
from connector.models import Unit

log = logging.getLogger("plan-connector.config")

DEFAULT_CONFIG = "plan-connector.toml"
DEFAULT_PLAN_DOCUMENT = "mappings/plans/ke-hoach-21-kl-tw.txt"
DEFAULT_UNITS = "mappings/units.example.toml"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ServerConfig(BaseModel):
    kind: Literal["nextcloud", "dav", "embedded"] = "embedded"
    url: str = ""
    user: str = ""
    password_file: str | None = None
    password: str | None = Field(default=None, exclude=True, repr=False)
    # Nextcloud 34 asks for password confirmation to create groups, which an app password cannot give:
    # a file holding the account's login password, used only for that (never for DAV). Optional.
    admin_password_file: str | None = None
    _admin_password: str | None = PrivateAttr(default=None)
    caldav_home: str = ""  # kind = "dav": URL of the user's calendar home
    files_root: str = ""  # kind = "dav": URL of the WebDAV folder the plan's tree lives under
    web_url: str = ""  # optional: base of links people click (Nextcloud: <url>/apps/files/?dir=)
    ca_bundle: str | None = None
    verify_tls: bool = True
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    data_dir: str = "plan-connector-data"  # kind = "embedded"
    # Fixed ports keep the links written into events and to-dos stable from run to run.
    caldav_port: int = 5232
    webdav_port: int = 5233

    @property
    def admin_password(self) -> str | None:
        """The login password from admin_password_file (for provisioning calls only), or None."""
        return self._admin_password


class PlanConfig(BaseModel):
    document: str | None = None
    mapping: str | None = None
    units: str = DEFAULT_UNITS
    root_folder: str = ""  # default: "Báo cáo/<plan label>"
    register_folder: str = "_Tổng hợp"  # inside the root, shared with the coordinating groups only
    coordinator_groups: list[str] = Field(default_factory=list)
    create_groups: bool = False
    publish: bool = False
    alarm_days: list[int] = Field(default_factory=lambda: [7, 1])
    due_soon_days: int = 7
    file_drop_expire: date | None = None
    file_drop_note: str = "Nộp báo cáo thực hiện kế hoạch vào đây"


class SyncConfig(BaseModel):
    parallel: int = 4
    max_delete_fraction: float = 0.5
    # "per_unit": a task list per unit, seen by its group only (a Nextcloud account may own 30 calendars
    # by default); "shared": one task list for every unit, each to-do tagged with its unit.
    task_lists: Literal["per_unit", "shared"] = "per_unit"
    # A period's report folder is made once the period has started or starts within this many days
    # (past periods always, for late reports); 0: on the period's first day.
    folders_ahead_days: int = Field(default=31, ge=0)


class RemindersConfig(BaseModel):
    enabled: bool = False


class Config(BaseModel):
    server: ServerConfig = Field(default_factory=ServerConfig)
    plan: PlanConfig = Field(default_factory=PlanConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    reminders: RemindersConfig = Field(default_factory=RemindersConfig)
    state_dir: str | None = None
    path: str | None = Field(default=None, exclude=True)  # where it was read from


_SECTIONS = {"server": ServerConfig, "plan": PlanConfig, "sync": SyncConfig, "reminders": RemindersConfig}
_NOT_IN_FILE = {"password"}  # secrets never live in the config file


def _line_of(text: str, pattern: str, start: int = 0) -> int | None:
    """1-based number of the first line at or after `start` (0-based) matching `pattern`."""
    rx = re.compile(pattern)
    for i, line in enumerate(text.splitlines()[start:], start + 1):
        if rx.match(line):
            return i
    return None


def _did_you_mean(name: str, choices, fmt: str = "{}") -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {fmt.format(close[0])}?)" if close else ""


def check_keys(data: dict, text: str, path: str) -> None:
    """Refuse unknown sections and keys, naming the line and the nearest valid name.

    A typo such as `[sever]` or `alarm_dys` would otherwise fall back to a default without a word.
    """
    sections = {**_SECTIONS, "state": None}
    for name, value in data.items():
        if name not in sections:
            line = _line_of(text, rf"^\s*\[\s*{re.escape(name)}\s*[\].]") or _line_of(text, rf"^\s*{re.escape(name)}\s*=")
            raise ConfigError(f"unknown section [{name}]" + _did_you_mean(name, sections, "[{}]"), path=path, line=line)
        start = (_line_of(text, rf"^\s*\[\s*{re.escape(name)}\s*\]") or 1) - 1
        if not isinstance(value, dict):
            raise ConfigError(f"[{name}] must be a table of settings", path=path, line=start + 1)
        allowed = {"dir"} if name == "state" else set(sections[name].model_fields) - _NOT_IN_FILE - {"path"}
        for key in value:
            if key in allowed:
                continue
            line = _line_of(text, rf"^\s*{re.escape(key)}\s*=", start)
            if key in _NOT_IN_FILE:
                raise ConfigError(f"[{name}] {key}: never put the password in the config file; use "
                                  "password_file (mode 0600) or PLAN_CONNECTOR_PASSWORD", path=path, line=line)
            raise ConfigError(f"unknown key {key!r} in [{name}]" + _did_you_mean(key, allowed, "'{}'"),
                              path=path, line=line)


def _resolve(base: Path, value: str | None) -> str | None:
    if not value:
        return value
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p))


def load_config(path: str | None = None, *, env: dict[str, str] | None = None) -> Config:
    """Read the config (or fall back to the embedded default when none exists) and apply env overrides."""
    env = os.environ if env is None else env
    data: dict = {}
    base = Path.cwd()
    cfg_path = Path(path) if path else Path(DEFAULT_CONFIG)
    if path and not cfg_path.is_file():
        raise ConfigError("config file not found", path=str(cfg_path))
    if cfg_path.is_file():
        try:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"not valid TOML: {exc}", path=str(cfg_path)) from None
        check_keys(data, cfg_path.read_text(encoding="utf-8"), str(cfg_path))
        base = cfg_path.resolve().parent
    state_dir = data.pop("state", {}).get("dir") if isinstance(data.get("state"), dict) else None
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: {first['msg']}", path=str(cfg_path)) from None
    cfg.path = str(cfg_path) if cfg_path.is_file() else None
    if cfg.path and "kind" not in data.get("server", {}) and not env.get("PLAN_CONNECTOR_URL"):
        # Only running with no config at all uses the embedded servers; a config must say where to sync.
        raise ConfigError('no server.kind: add [server] with kind = "nextcloud" (and url, user, password_file), '
                          '"dav", or "embedded" for the local test servers', path=cfg.path,
                          line=_line_of(cfg_path.read_text(encoding="utf-8"), r"^\s*\[\s*server\s*\]"))
    cfg.state_dir = _resolve(base, state_dir)
    s = cfg.server
    if env.get("PLAN_CONNECTOR_URL"):
        s.url = env["PLAN_CONNECTOR_URL"]
        if s.kind == "embedded" and not cfg.path:
            s.kind = "nextcloud"
    if env.get("PLAN_CONNECTOR_USER"):
        s.user = env["PLAN_CONNECTOR_USER"]
    s.password_file = _resolve(base, s.password_file)
    s.ca_bundle = _resolve(base, s.ca_bundle)
    s.data_dir = _resolve(base, s.data_dir) or s.data_dir
    p = cfg.plan
    p.document = _resolve(base, p.document)
    p.mapping = _resolve(base, p.mapping)
    given = data.get("plan", {})
    if s.kind != "embedded" and not (p.document or p.mapping):
        missing_plan = "[plan] names no plan: set document = \"…/ke-hoach.txt\" (or mapping = \"…/ke-hoach.toml\")"
    elif s.kind != "embedded" and "units" not in given:
        missing_plan = ("[plan] names no units file: set units = \"units.toml\" (start from "
                        "mappings/units.example.toml; its groups must exist on the server)")
    else:
        missing_plan = None
    # The sample plan and units (the embedded default's) live in the source tree, not beside a config.
    p.units = _resolve(base, p.units) if "units" in given else str(PROJECT_ROOT / DEFAULT_UNITS)
    if not p.document and not p.mapping:
        p.document = str(PROJECT_ROOT / DEFAULT_PLAN_DOCUMENT)
    if env.get("PLAN_CONNECTOR_PASSWORD"):
        s.password = env["PLAN_CONNECTOR_PASSWORD"]
    elif s.password_file:
        try:
            s.password = Path(s.password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the password file: {exc.strerror}", path=s.password_file) from None
        warn_if_readable_by_others(s.password_file)
    register_secret(s.password)
    if s.password and s.user:  # as a server echoing the Authorization header would show it
        register_secret(base64.b64encode(f"{s.user}:{s.password}".encode()).decode())
    s.admin_password_file = _resolve(base, s.admin_password_file)
    if s.admin_password_file:
        try:
            s._admin_password = Path(s.admin_password_file).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ConfigError(f"cannot read the admin password file: {exc.strerror}", path=s.admin_password_file) from None
        register_secret(s._admin_password)
        warn_if_readable_by_others(s.admin_password_file)
    for key in ("url", "caldav_home", "files_root", "web_url"):
        parts = urlsplit(getattr(s, key) or "")
        if parts.username is not None or parts.password is not None:
            raise ConfigError(f"server.{key} holds a user name or password before the host: set server.user and "
                              "password_file (or PLAN_CONNECTOR_PASSWORD) instead; links in events and the register "
                              "would show it", path=cfg.path)
    if s.kind != "embedded" and not s.verify_tls and not s.ca_bundle:
        log.warning("TLS certificates are not verified (server.verify_tls = false): anyone on the network path can "
                    "read the password and the reports; give the server's CA in server.ca_bundle instead")
    if s.kind != "embedded":
        if not s.url and s.kind == "nextcloud":
            raise ConfigError("server.url is required for kind = \"nextcloud\" (or set PLAN_CONNECTOR_URL)", path=cfg.path)
        if s.kind == "dav" and not (s.caldav_home and s.files_root):
            raise ConfigError("kind = \"dav\" needs server.caldav_home and server.files_root", path=cfg.path)
        if not s.user:
            raise ConfigError("server.user is required (or set PLAN_CONNECTOR_USER)", path=cfg.path)
        if not s.password:
            raise ConfigError("no password: set server.password_file or PLAN_CONNECTOR_PASSWORD "
                              "(use a Nextcloud app password, never the account password)", path=cfg.path)
    if missing_plan:
        raise ConfigError(missing_plan, path=cfg.path)
    return cfg


def warn_if_readable_by_others(path: str) -> None:
    """A password file every user of the machine can read (or write) is said on every run: chmod 600 it (or
    0640 with the service's own group, as scripts/install does)."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return
    if mode & stat.S_IRWXO:
        log.warning("%s can be read by other users of this machine (mode %s): run chmod 600 %s",
                    path, oct(mode & 0o777)[2:].rjust(3, "0"), path)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def load_units(path: str) -> list[Unit]:
    """Read `[[units]]` tables (id, name, group, kind, file_drop).

    Refused, naming the unit: unknown keys, a missing id, name or group, control characters, an id or group
    with spaces at its ends, ids or groups that differ only in Unicode form, and two units whose folders
    would be one (names alike up to case, Unicode form or the characters a folder name cannot hold).
    Names are read NFC with their outer spaces dropped; what a folder name cannot hold is replaced there.
    """
    from connector.render.names import unit_folder
    from connector.text import nfc

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read units file: {exc.strerror}", path=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 (byte 0x{exc.object[exc.start]:02x}); save the units file as UTF-8",
                          path=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from None
    raw = data.get("units")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("no [[units]] tables found", path=path)
    allowed = set(Unit.model_fields)
    headers = [n for n, ln in enumerate(text.splitlines(), 1) if re.match(r"^\s*\[\[\s*units\s*\]\]", ln)]
    units: list[Unit] = []
    seen: dict[str, int] = {}
    groups: dict[str, str] = {}
    folders: dict[str, tuple[int, str]] = {}
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise ConfigError(f"unit #{i}: expected a [[units]] table", path=path)
        label = f"unit #{i} ({item.get('id', '?')})"
        line = headers[i - 1] if i <= len(headers) else None
        for key in item:
            if key not in allowed:
                raise ConfigError(f"{label}: unknown key {key!r}" + _did_you_mean(key, allowed, "'{}'")
                                  + f" (allowed: {', '.join(sorted(allowed))})", path=path, line=line)
        try:
            unit = Unit.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(x) for x in first["loc"])
            raise ConfigError(f"{label}: {field}: {first['msg']}", path=path, line=line) from None
        for field in ("id", "name", "group", "kind"):
            value = getattr(unit, field)
            if bad := _CONTROL.search(value):
                raise ConfigError(f"{label}: {field} holds a control character (U+{ord(bad.group()):04X})",
                                  path=path, line=line)
            if field in ("id", "group") and value != value.strip():
                raise ConfigError(f"{label}: {field} {value!r} has spaces at its start or end", path=path, line=line)
            if field in ("id", "name", "group") and not value.strip():
                raise ConfigError(f"{label}: {field} is empty", path=path, line=line)
        unit = unit.model_copy(update={"id": nfc(unit.id), "name": nfc(unit.name).strip(), "group": nfc(unit.group),
                                       "kind": nfc(unit.kind).strip()})
        if unit.id in seen:
            raise ConfigError(f"unit #{i}: duplicate id {unit.id!r} (unit #{seen[unit.id]} has it"
                              + (", written in another Unicode form" if item["id"] != unit.id or
                                 raw[seen[unit.id] - 1].get("id") != unit.id else "") + ")", path=path, line=line)
        seen[unit.id] = i
        if unit.group.casefold() in groups and groups[unit.group.casefold()] != unit.group:
            raise ConfigError(f"{label}: group {unit.group!r} differs from {groups[unit.group.casefold()]!r} only in "
                              "case or Unicode form: write it the same way", path=path, line=line)
        groups[unit.group.casefold()] = unit.group
        folder = unit_folder(unit)
        if folder.casefold() in folders:
            j, other = folders[folder.casefold()]
            raise ConfigError(f"{label}: its folder would be {folder!r}, the folder of unit #{j} ({other}): names alike "
                              "up to case, Unicode form or the characters a folder name cannot hold; tell them apart",
                              path=path, line=line)
        folders[folder.casefold()] = (i, unit.id)
        units.append(unit)
    return units
