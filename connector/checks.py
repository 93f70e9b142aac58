"""`plan-connector check`: config, connectivity, authentication and capabilities, one line each.

Authentication is tried exactly once: a failed login is never retried (Nextcloud's brute-force
protection slows every later login from this address).
"""
from __future__ import annotations

import json

from connector.config import Config


def capability_lines(caps: dict, *, reminders: bool) -> list[tuple[str, bool, str]]:
    """(name, ok, detail) for what the connector uses, from the OCS capabilities document."""
    c = caps.get("capabilities", caps)
    sharing = c.get("files_sharing", {})
    public = sharing.get("public", {})
    notif = c.get("notifications", {})
    return [
        ("sharing API", bool(sharing.get("api_enabled")), "files_sharing.api_enabled"),
        ("group sharing", bool(sharing.get("group_sharing")), "report folders and calendars are shared with unit groups"),
        ("public upload (file drop)", bool(public.get("enabled") and public.get("upload_files_drop", public.get("upload"))),
         "only needed for units with file_drop = true"),
        # Reminders POST to .../admin_notifications/<uid>, which the app offers as admin-notifications "ocs".
        ("notifications app", "ocs" in (notif.get("admin-notifications") or []),
         "needed for reminders" + ("" if reminders else " (reminders are off)")),
    ]


def run_checks(cfg: Config, *, state_dir: str | None = None, as_json: bool = False) -> int:
    """Print one ok/missing line per check; exit 0 when everything needed is there, 1 otherwise."""
    from connector.commands import Job

    lines: list[tuple[str, bool, str]] = []
    needed_ok = True
    job = Job(cfg, state_dir=state_dir)
    lines.append(("config", True, cfg.path or "embedded default (no plan-connector.toml)"))
    lines.append(("plan", True, f"{len(job.plan.tasks)} tasks, "
                                f"{sum(len(t.milestones) for t in job.plan.tasks)} milestones, {len(job.units)} units"))
    with job:
        s = cfg.server
        if s.kind == "nextcloud":
            status = job.http.request("GET", s.url.rstrip("/") + "/status.php", expect=(200,)).json()
            lines.append(("server reachable", True, f"Nextcloud {status.get('versionstring', '?')}"
                                                    + (" (maintenance mode!)" if status.get("maintenance") else "")))
            if status.get("maintenance"):
                needed_ok = False
            caps = job.ocs.capabilities()  # authenticated: a 401 raises AuthError here, once
            lines.append(("authentication", True, f"as {s.user}"))
            for name, ok, detail in capability_lines(caps, reminders=cfg.reminders.enabled):
                lines.append((name, ok, detail))
                if not ok and (name in ("sharing API", "group sharing")
                               or (name == "notifications app" and cfg.reminders.enabled)
                               or (name.startswith("public upload") and any(u.file_drop for u in job.units))):
                    needed_ok = False
        else:
            job.http.request("PROPFIND", job.caldav.home_url, headers={"Depth": "0"}, expect=(207,))
            lines.append(("CalDAV", True, job.caldav.home_url))
            job.http.request("PROPFIND", job.files_root, headers={"Depth": "0"}, expect=(207,))
            lines.append(("WebDAV", True, job.files_root))
            lines.append(("sharing", False, "not a Nextcloud server: groups, sharing and publishing are skipped"))
    if as_json:
        print(json.dumps([{"check": n, "ok": ok, "detail": d} for n, ok, d in lines], ensure_ascii=False, indent=2))
    else:
        for name, ok, detail in lines:
            print(f"{'ok     ' if ok else 'missing'}  {name}: {detail}")
    return 0 if needed_ok else 1
