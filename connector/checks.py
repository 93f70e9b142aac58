"""`plan-connector check`: config, connectivity, authentication and capabilities, one line each.

Authentication is tried exactly once: a failed login is never retried (Nextcloud's brute-force
protection slows every later login from this address).
"""
from __future__ import annotations

import json
import os

from connector.commands import Job
from connector.config import Config
from connector.nextcloud.status import nextcloud_status
from connector.log import MASK


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


def _major(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


def sharing_limit_lines(job, version: str) -> list[tuple[str, bool | None, str, bool]]:
    """(name, ok, detail, needed) for Nextcloud's per-account sharing limits and what this job needs of them;
    ok None (a note) where a first sync needs more than one period allows.

    Nextcloud 30 and later (measured on 34) let an account create 20 shares per 10 minutes through OCS and
    send 20 calendar share requests per hour, of at most 10 groups each; 29 had no such limits. None of
    them stops the job: a sync shares what the limits allow and later runs finish (exit 1 until then).
    """
    import math

    from connector.nextcloud.limits import period_text
    from connector.render.ical import desired_calendars
    from connector.sync import shares

    major = _major(version)
    if major and major < 30:
        return [("sharing limits", True, f"none on Nextcloud {major} (later versions limit shares per account)", False)]
    cfg = job.cfg.plan
    folder_need = len(cfg.coordinator_groups) + len(job.units) + sum(1 for u in job.units if u.file_drop)
    calendars = desired_calendars(job.plan, job.units, coordinator_groups=cfg.coordinator_groups, publish=cfg.publish,
                                  task_lists=job.cfg.sync.task_lists)
    cal_need = sum(math.ceil(len(c.share_groups) / shares.nccal.MAX_SHARE_ELEMENTS) for c in calendars)
    folder_runs = math.ceil(folder_need / 20)
    lines = [("folder share limit", True if folder_need <= 20 else None,
              f"Nextcloud lets one account create 20 shares per 10 minutes (by default); a first sync needs "
              f"{folder_need}" + (f", done in {folder_runs} runs at least 10 minutes apart" if folder_runs > 1 else "")
              + "; to raise it, in config.php: 'ratelimit_overwrite' => ['files_sharing.shareapi.createshare' => "
              f"['user' => ['limit' => {max(100, math.ceil(folder_need / 50) * 50)}, 'period' => 600]]]", False)]
    read = job.ocs.app_value("dav", "rateLimitShareAddressbookOrCalendar")  # None: not an admin
    limit = int(read) if read and read.isdigit() else shares.CALENDAR_SHARE_LIMIT
    period_read = job.ocs.app_value("dav", "rateLimitPeriodShareAddressbookOrCalendar") if read is not None else None
    period = int(period_read) if period_read and period_read.isdigit() else shares.CALENDAR_SHARE_PERIOD
    source = "" if read else " by default" if read is not None else " by default (only an admin can read the setting)"
    periods = math.ceil(cal_need / limit) if limit > 0 else 1
    lines.append(("calendar share limit", True if cal_need <= limit else None,
                  f"Nextcloud lets one account send {limit} calendar share requests per {period_text(period)}{source}, "
                  f"{shares.nccal.MAX_SHARE_ELEMENTS} groups each; a first sync needs {cal_need}"
                  + (f", done over {periods} periods" if periods > 1 else "")
                  + f"; to raise it: occ config:app:set dav rateLimitShareAddressbookOrCalendar "
                    f"--value={max(100, cal_need)}", False))
    return lines


def group_creation_lines(job) -> list[tuple[str, bool, str, bool]]:
    """(name, ok, detail, needed) for the groups the job shares with: do they exist, and can the account
    create the missing ones? Nextcloud 34 asks for password confirmation to create groups, which an app
    password cannot give; the probe (a group with an empty name, refused) has no side effects."""
    from connector.errors import AuthError
    from connector.sync import shares

    cfg = job.cfg.plan
    wanted = sorted({u.group for u in job.units} | set(cfg.coordinator_groups))
    have = set(job.ocs.groups())
    missing = [g for g in wanted if g not in have]
    if not cfg.create_groups and not missing:
        return [("groups", True, f"all {len(wanted)} exist", True)]
    found = job.ocs.probe_group_creation()
    admin_password = job.cfg.server.admin_password
    if found == "confirm" and admin_password:
        try:
            found = job.ocs.with_login_password(admin_password).probe_group_creation()
        except AuthError:
            return [("group creation", False, "the login password in [server] admin_password_file is refused; "
                     "correct it" + (f", or run on the server: {shares.occ_group_add_lines(missing)}" if missing else ""),
                     bool(missing))]
        via = "with the login password of admin_password_file (Nextcloud asks for password confirmation)"
    else:
        via = "with the app password"
    if not missing:
        detail = f"all {len(wanted)} groups exist"
        if found == "confirm":
            detail += ("; to create new ones Nextcloud asks for password confirmation, which an app password "
                       "cannot give: set [server] admin_password_file, or create them with occ group:add")
        return [("group creation", True, detail, False)]
    gone = f"{len(missing)} of {len(wanted)} groups do not exist"
    if found == "ok" and cfg.create_groups:
        return [("group creation", True, f"{gone}; the sync creates them {via}", True)]
    if found == "ok":
        return [("groups", False, f"{gone}: set [plan] create_groups = true, or run on the server: "
                 f"{shares.occ_group_add_lines(missing)}", True)]
    if found == "confirm":
        return [("group creation", False, f"{gone} and Nextcloud asks for password confirmation to create them, "
                 f"which an app password cannot give; {shares.confirmation_advice(missing)}", True)]
    return [("group creation", False, f"{gone} and the account may not create groups (not an admin); run on the "
             f"server: {shares.occ_group_add_lines(missing)}", True)]


def calendar_limit_lines(job) -> list[tuple[str, bool | None, str, bool]]:
    """(name, ok, detail, needed) for Nextcloud's calendar limits per account and what this job needs of
    them; ok None marks a note (the `occ` lines that raise a limit, the other layout). One PROPFIND of the
    calendar home, three reads of the dav settings (an admin's; the defaults are assumed otherwise)."""
    from connector.nextcloud import limits as lim
    from connector.render.ical import desired_calendars

    cfg, layout = job.cfg.plan, job.cfg.sync.task_lists
    wanted = desired_calendars(job.plan, job.units, coordinator_groups=cfg.coordinator_groups,
                               publish=cfg.publish, task_lists=layout)
    home = job.caldav.calendars()
    limits = lim.read_calendar_limits(job.ocs)
    have = home.owned_count(job.caldav.principal)
    exist = sum(1 for c in wanted if c.slug in home)
    trashed = sum(1 for c in wanted if c.slug not in home and c.slug in home.deleted)
    to_create = len(wanted) - exist - trashed
    lines: list[tuple[str, bool | None, str, bool]] = [
        ("calendar limits", True, f"Nextcloud allows this account {limits.per_period_text()} and "
         f"{limits.maximum_text()} (calendars + subscriptions, those in the trash bin too); {limits.source_text()}",
         False)]
    lists = f"{len(job.units)} unit task lists" if layout == "per_unit" else "one task list shared by the units"
    detail = (f"the job needs {len(wanted)} (deadlines, overview, {lists}; [sync] task_lists = \"{layout}\"); "
              f"{exist or 'none'} exist{'s' if exist == 1 else ''}"
              + (f", {trashed} in the trash bin (sync restores them)" if trashed else "")
              + f"; the account has {have}" + (f" of {limits.maximum}" if limits.maximum >= 0 else ""))
    free = to_create if limits.maximum < 0 else max(0, limits.maximum - have)
    never = max(0, to_create - free)
    fits = min(to_create, free)
    runs = limits.runs_to_create(fits)
    if to_create == 0:
        detail += ": nothing to create"
    else:
        detail += f"; {to_create} to create" + (f", {never} of them never fit" if never else "")
        if runs > 1:
            every = lim.period_text(limits.period)
            detail += (f"; {'the ' + str(fits) + ' that fit' if never else 'they'} take {runs} sync runs at least "
                       f"{'an hour' if every == 'hour' else every} apart ({limits.per_period} per {every})")
    lines.append(("calendars", not never, detail, True))
    fixes = []
    if never:
        fixes.append(lim.occ_line(lim.MAXIMUM, have + to_create))
    if to_create > limits.per_period:
        fixes.append(lim.occ_line(lim.PER_PERIOD, to_create))
    for fix in fixes:
        lines.append(("to raise the limits", None, fix, False))
    if fixes and layout == "per_unit":
        lines.append(("or", None, "set [sync] task_lists = \"shared\" (one task list for all units): the job then "
                                  f"needs {len(wanted) - len(job.units) + 1} calendars", False))
    return lines


def sharing_checks(job, version: str) -> list[tuple[str, bool, str, bool]]:
    """The Nextcloud sharing findings of `check`: groups and password confirmation, then sharing limits."""
    return group_creation_lines(job) + sharing_limit_lines(job, version)


def resolved_config(cfg: Config, state_dir) -> list[tuple[str, str]]:
    """What the config resolved to (paths made absolute, defaults filled in); secrets shown by source only."""
    s, p = cfg.server, cfg.plan
    if s.kind == "embedded":
        server = [("server", f"embedded, data in {s.data_dir}, ports {s.caldav_port}/{s.webdav_port}")]
    else:
        where = s.url if s.kind == "nextcloud" else f"CalDAV {s.caldav_home}, WebDAV {s.files_root}"
        password = ("from PLAN_CONNECTOR_PASSWORD" if os.environ.get("PLAN_CONNECTOR_PASSWORD")
                    else f"from {s.password_file}" if s.password_file else "none")
        server = [("server", f"{s.kind} {where} as {s.user}"), ("password", f"{MASK} ({password})")]
        if s.admin_password_file:
            server.append(("admin password", f"{MASK} (from {s.admin_password_file}, for creating groups only)"))
        if not s.verify_tls:
            server.append(("TLS", "certificate verification OFF"))
    return [*server,
            ("plan", p.mapping or p.document or ""),
            ("units", p.units),
            ("state", str(state_dir)),
            ("sync", f"parallel {cfg.sync.parallel}, task_lists {cfg.sync.task_lists}, "
                     f"refuse deleting over {cfg.sync.max_delete_fraction:.0%}, "
                     f"folders {cfg.sync.folders_ahead_days} days ahead"),
            ("reminders", "on" if cfg.reminders.enabled else "off")]


def run_checks(cfg: Config, *, state_dir: str | None = None, as_json: bool = False) -> int:
    """Print one ok/missing line per check; exit 0 when everything needed is there, 1 otherwise."""
    lines: list[tuple[str, bool, str]] = []
    needed_ok = True
    job = Job(cfg, state_dir=state_dir)
    lines.append(("config", True, cfg.path or "embedded default (no plan-connector.toml)"))
    lines += [(f"  {k}", None, v) for k, v in resolved_config(cfg, job.state_dir)]
    lines.append(("plan", True, f"{len(job.plan.tasks)} tasks, "
                                f"{sum(len(t.milestones) for t in job.plan.tasks)} milestones, {len(job.units)} units"))
    with job:
        s = cfg.server
        if s.kind == "nextcloud":
            status = nextcloud_status(job)
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
            for name, ok, detail, needed in (sharing_checks(job, status.get("version") or status.get("versionstring", ""))
                                             + calendar_limit_lines(job)):
                lines.append((name, ok, detail))
                needed_ok = needed_ok and (ok or not needed)
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
            if name.startswith("  "):  # the resolved configuration, under the "config" line
                print(f"{'':9}{name}: {detail}")
                continue
            print(f"{'note   ' if ok is None else 'ok     ' if ok else 'missing'}  {name}: {detail}")
    return 0 if needed_ok else 1
