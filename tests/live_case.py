"""One test's story on the live Nextcloud: its bot account, its units (groups with members), its config.

    case = nc_case                                   # fixture
    units = case.units(3, members=1)                 # groups + one member each, units.toml written
    cfg = case.config(reminders=True)                # plan-connector.toml for the bot (app password file)
    case.run("sync", cfg)                            # the CLI, in-process; returns (exit code, stdout, stderr)
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from helpers import run_cli
from live_nextcloud import Account, LiveNextcloud

ROOT = Path(__file__).resolve().parents[1]
SEED_PLAN = ROOT / "mappings" / "plans" / "ke-hoach-21-kl-tw.txt"
EXAMPLE_UNITS = tomllib.loads((ROOT / "mappings" / "units.example.toml").read_text(encoding="utf-8"))["units"]


@dataclass
class LiveUnit:
    id: str
    name: str
    group: str
    kind: str
    members: list[Account] = field(default_factory=list)
    file_drop: bool = False


class LiveCase:
    """A bot account of its own (admin, app password) and helpers to make units and configs for it."""

    def __init__(self, nc: LiveNextcloud, tmp: Path):
        self.nc = nc
        self.tmp = tmp
        self.prefix = nc.prefix()
        self.bot = nc.bot(self.prefix)
        self.password_file = tmp / "app-password"
        self.password_file.write_text(self.bot.app_password + "\n")
        self.password_file.chmod(0o600)
        self.unit_list: list[LiveUnit] = []
        self.coordinator_group: str | None = None

    @property
    def url(self) -> str:
        return self.nc.url

    def units(self, n: int, *, members: int = 1, file_drop: bool | set[int] = False,
              create_groups: bool = True) -> list[LiveUnit]:
        """n units: the example units first (real names, kinds), then numbered chi bộ; groups and members
        created on the server (unless create_groups=False: then the connector must make the groups)."""
        out = []
        for i in range(n):
            if i < len(EXAMPLE_UNITS):
                ex = EXAMPLE_UNITS[i]
                uid, name, kind = ex["id"], ex["name"], ex["kind"]
            else:
                uid, name, kind = f"cb-{i + 1:03d}", f"Chi bộ cơ sở số {i + 1}", "chi bộ cơ sở"
            unit = LiveUnit(uid, name, f"{self.prefix}-{uid}", kind,
                            file_drop=file_drop if isinstance(file_drop, bool) else i in file_drop)
            if create_groups:
                self.nc.create_group(unit.group)
                for m in range(members):
                    unit.members.append(self.nc.create_user(f"{self.prefix}-{uid}-{m + 1}", groups=(unit.group,)))
            out.append(unit)
        self.unit_list = out
        self.write_units()
        return out

    def write_units(self) -> Path:
        path = self.tmp / "units.toml"
        doc = {"units": [{"id": u.id, "name": u.name, "group": u.group, "kind": u.kind, "file_drop": u.file_drop}
                         for u in self.unit_list]}
        path.write_text(tomli_w.dumps(doc), encoding="utf-8")
        return path

    def coordinator(self, *, members: int = 1) -> tuple[str, list[Account]]:
        gid = self.nc.create_group(f"{self.prefix}-dieu-phoi")
        accounts = [self.nc.create_user(f"{self.prefix}-dp-{m + 1}", groups=(gid,)) for m in range(members)]
        self.coordinator_group = gid
        return gid, accounts

    def config(self, *, plan: Path = SEED_PLAN, sync: dict | None = None, plan_extra: dict | None = None,
               reminders: bool = False, server_extra: dict | None = None, name: str = "plan-connector.toml") -> Path:
        """A plan-connector.toml for the bot; state and register in tmp."""
        doc = {
            "server": {"kind": "nextcloud", "url": self.url, "user": self.bot.user,
                       "password_file": str(self.password_file), **(server_extra or {})},
            "plan": {"document": str(plan), "units": str(self.tmp / "units.toml"),
                     "coordinator_groups": [self.coordinator_group] if self.coordinator_group else [],
                     **(plan_extra or {})},
            "reminders": {"enabled": reminders},
            "state": {"dir": str(self.tmp / "state")},
        }
        if sync:
            doc["sync"] = sync
        path = self.tmp / name
        path.write_text(tomli_w.dumps(doc), encoding="utf-8")
        return path

    def shifted_plan(self, years: int) -> Path:
        """The seed plan (and its mapping) with every year moved forward, so its deadlines meet today's
        uploads (Nextcloud stamps uploads with the real time)."""
        out = self.tmp / f"ke-hoach-21-kl-tw-plus{years}.txt"
        for src, dst in ((SEED_PLAN, out), (SEED_PLAN.with_suffix(".toml"), out.with_suffix(".toml"))):
            text = src.read_text(encoding="utf-8")
            dst.write_text(re.sub(r"\b(20[0-9]{2})\b", lambda m: str(int(m.group(1)) + years), text), encoding="utf-8")
        return out

    def run(self, *argv: str | Path) -> tuple[int, str, str]:
        """The CLI in this process: (exit code, stdout, stderr)."""
        return run_cli(*argv)
