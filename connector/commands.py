"""The job's wiring: what runs in which order (sync, collect, run = sync + collect + reminders); prints nothing.

A `Job` wires the pure core to the edges for one config: it loads the plan and units, expands the
obligations, opens one HTTP session (starting the embedded servers when the config says so) and
keeps the state. The same code runs on Nextcloud, any CalDAV/WebDAV server and the embedded default.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from connector.config import Config, load_units
from connector.errors import AuthError, ConfigError, ServerError, UnreachableError
from connector.models import Obligation, Plan, Unit
from connector.register.status import drop_note
from connector.state import State, atomic_write, default_state_dir
from connector.text import nfc

log = logging.getLogger("plan-connector")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _plan_mapping_beside(document: str | None) -> str | None:
    if not document:
        return None
    candidate = Path(document).with_suffix(".toml")
    return str(candidate) if candidate.is_file() else None


def load_plan_and_units(cfg: Config) -> tuple[Plan, list[Unit]]:
    """The plan (document + its mapping's overrides) and the units, checked against each other."""
    from connector.plan.mapping import load_plan

    mapping = cfg.plan.mapping or _plan_mapping_beside(cfg.plan.document)
    plan = load_plan(document=cfg.plan.document, mapping=mapping)
    units = load_units(cfg.plan.units)
    ids = {u.id for u in units}
    kinds = {u.kind for u in units}
    for task in plan.tasks:
        for i, m in enumerate(task.milestones, 1):
            for uid in m.units:
                if uid not in ids:
                    raise ConfigError(f"task {task.number} milestone {i}: unknown unit {uid!r} "
                                      f"(not in {cfg.plan.units})", path=mapping)
            for kind in m.unit_kinds:
                if kind not in kinds:
                    log.warning("task %s milestone %s: no unit of kind %r in %s", task.number, i, kind, cfg.plan.units)
    from connector.plan.units import narrow_to_leads

    if narrowed := narrow_to_leads(plan, units):  # a task's lead units owe it, unless the mapping says who
        log.info("%d milestone(s) owed by their tasks' lead units only (names matched in %s)", narrowed, cfg.plan.units)
    return plan, units


def start_embedded(data_dir: Path, caldav_port: int, webdav_port: int):
    """The embedded servers: those a running `serve` keeps up for this data directory, else started on
    their usual ports, or on free ones when those are taken."""
    from connector.embedded import EmbeddedServers

    running = EmbeddedServers.attach(data_dir)
    if running is not None:  # `serve` keeps them up: use those, on their ports
        log.info("using the embedded servers `serve` runs: %s, %s", running.calendar_home, running.files_root)
        return running
    try:
        return EmbeddedServers(data_dir, caldav_port=caldav_port, webdav_port=webdav_port).start()
    except ConfigError as exc:
        log.warning("%s; using free ports instead (links in events change with the ports)", exc)
        return EmbeddedServers(data_dir).start()


def local_today() -> date:
    """Today in Asia/Ho_Chi_Minh: the day report folders are made for (tests move it)."""
    return datetime.now(TZ).date()


class Job:
    """One run against one server: clients, state, plan, units and obligations."""

    def __init__(self, cfg: Config, *, state_dir: str | None = None, dry_run: bool = False, force: bool = False):
        from connector.inputs import Inputs
        from connector.render.names import plan_code

        self.cfg = cfg
        self.dry_run = dry_run
        self.force = force
        self.state_dir = Path(state_dir or cfg.state_dir or default_state_dir())
        self.inputs = Inputs(cfg, self.state_dir)
        self.plan, self.units = self.inputs.plan, self.inputs.units
        self.code = plan_code(self.plan)  # the slug used in UIDs, calendar names and ownership markers
        self.obligations: list[Obligation] = self.inputs.obligations()
        self.root = (cfg.plan.root_folder or f"Báo cáo/{self.code.upper()}").strip("/")
        self.embedded = None
        self.http = None
        self._last_register = None
        self._adopted_from = None

    # -- connection ---------------------------------------------------------------------------
    def __enter__(self) -> "Job":
        from connector.dav.caldav import CalDAVClient
        from connector.dav.http import HttpClient, make_session
        from connector.dav.webdav import WebDAVClient

        s = self.cfg.server
        if s.kind == "embedded":
            self.embedded = start_embedded(Path(s.data_dir), s.caldav_port, s.webdav_port)
            user, password = self.embedded.user, self.embedded.password
            home, files_root, server_id = self.embedded.calendar_home, self.embedded.files_root, f"embedded:{Path(s.data_dir).resolve()}"
            verify: bool | str = True
        else:
            user, password = s.user, s.password
            base = s.url.rstrip("/")
            if s.kind == "nextcloud":
                home = f"{base}/remote.php/dav/calendars/{quote(user, safe='')}/"
                files_root = f"{base}/remote.php/dav/files/{quote(user, safe='')}/"
            else:
                home, files_root = s.caldav_home, s.files_root
            server_id = f"{s.kind}:{base or home}:{user}"
            verify = s.ca_bundle or s.verify_tls
        session = make_session(user, password, verify=verify)
        self.http = HttpClient(session, timeout=(s.connect_timeout, s.read_timeout))
        self.caldav = CalDAVClient(self.http, home)
        self.webdav = WebDAVClient(self.http, files_root)
        self.files_root = files_root
        from connector.links import Links

        self.links = Links(nextcloud=(s.web_url or s.url) if s.kind == "nextcloud" else None,
                           web_base=s.web_url or files_root)
        self.ocs = None
        if s.kind == "nextcloud":
            from connector.nextcloud.ocs import OCSClient

            self.ocs = OCSClient(self.http, s.url.rstrip("/"))
        self.state = State.open(self.state_dir, server_id, self.code)
        self.apply_name_rules(fetch=False)
        return self

    def apply_name_rules(self, *, fetch: bool) -> None:
        """Folder names avoid what the server forbids: Nextcloud's capabilities (read once, on the first sync,
        and kept in the state), else a safe default (connector.render.names.NameRules)."""
        from connector.render.names import DEFAULT_RULES, NameRules

        if self.ocs is None:
            return
        saved = self.state.section("name_rules")
        if not saved and fetch and not self.dry_run:
            try:
                saved.update(NameRules.from_capabilities(self.ocs.capabilities()).to_json())
            except (AuthError, UnreachableError):
                raise
            except ServerError as exc:
                log.warning("cannot read the server's forbidden file name characters (%s); using a safe default", exc)
                return
        rules = NameRules.from_json(saved) if saved else DEFAULT_RULES
        if rules != getattr(self, "name_rules", DEFAULT_RULES):
            self.name_rules = rules
            self.obligations = self.inputs.obligations(rules)
            self._adopted_from = None

    def __exit__(self, *exc) -> None:
        if not self.dry_run:
            self.inputs.save()  # the plan as read: the next run reads it again only if a file changed
        if self.embedded is not None:
            self.embedded.stop()

    @property
    def requests(self) -> int:
        return self.http.count if self.http else 0

    # -- helpers ------------------------------------------------------------------------------
    def folder_url(self, folder: str) -> str | None:
        """The link people open for a folder relative to the plan's root (see connector.links), None while
        unknown; on Nextcloud none for the root itself, which the units' members cannot open. A folder not
        made yet (its period is ahead, see make_folders) gives the link of the nearest one made: its task
        folder, else its unit's."""
        parts = [p for p in folder.split("/") if p]
        while parts and not self.links.exists("/".join([self.root, *parts])):
            parts.pop()
        if self.ocs is not None and not parts:
            return None
        return self.links.url("/".join([self.root, *parts]))

    def unit_folders(self) -> dict[str, str]:
        """unit id -> its folder under the plan's root (the one in use, see adopt_folders)."""
        from connector.render.names import unit_folder

        folders = {u.id: unit_folder(u) for u in self.units}
        for ob in self.obligations:
            folders[ob.unit] = ob.folder.split("/", 1)[0]
        return folders

    def list_report_tree(self):
        """Everything under the plan's report root ([] before the first sync); the file ids it gives are learnt
        for links. One PROPFIND Depth infinity, or (see _report_tree) one Depth 1 when nothing changed."""
        entries = self._report_tree()
        self.links.learn(entries)
        root = nfc(self.root).strip("/")
        return [e for e in entries if e.path != root]

    def _report_tree(self):
        """The report tree with its root. On Nextcloud and the embedded server, whose folder ETags change when
        anything beneath changes, the last listing (kept beside the state) brought up to date through those
        ETags (WebDAVClient.refresh_tree); elsewhere, where they may not, listed whole every time. What this run
        writes afterwards moves the root's ETag: the next run lists those parts again."""
        if self.cfg.server.kind not in ("nextcloud", "embedded"):
            return self.webdav.list_tree(self.root, include_self=True)
        from connector.state import TreeCache

        cache = TreeCache(self.state, {"files_root": self.files_root, "root": nfc(self.root).strip("/")})
        known = None
        if (rows := cache.load()) is not None:
            try:
                known = self.webdav.load_entries(rows)
            except ValueError as exc:
                log.info("the last listing of the report tree is unreadable (%s); listing it again", exc)
                cache.drop()
        entries = self.webdav.refresh_tree(self.root, known)
        if entries is not known and not self.dry_run:
            if entries:
                cache.save(self.webdav.dump_entries(entries))
            else:
                cache.drop()
        return entries

    def make_folders(self, entries):
        """Create the missing report folders (a FolderReport): those of periods begun or beginning within
        `[sync] folders_ahead_days` of today, and each unit's (see sync.folders.desired_folders). Learn their
        ids for links: from the MKCOL answers, else (a server that names none, on Nextcloud only) from one
        more listing. A folder not made has no id: links point at the nearest one made (folder_url)."""
        from connector.sync.folders import sync_folders

        report = sync_folders(self.webdav, self.root, self.obligations, entries,
                              extra=[self.cfg.plan.register_folder], dry_run=self.dry_run,
                              parallel=self.cfg.sync.parallel, today=local_today(),
                              ahead_days=self.cfg.sync.folders_ahead_days)
        self.links.made(report.planned if self.dry_run else report.created)  # a dry run links as the run will
        self.links.learn_ids(self.webdav.created_ids)
        if (self.ocs is not None and not self.dry_run
                and any(self.links.file_id(path) is None for ob in self.obligations
                        if self.links.exists(path := f"{self.root}/{ob.folder}"))):
            self.links.learn(self.webdav.list_tree(self.root, include_self=True))
        return report

    def adopt_folders(self, entries) -> None:
        """Point the obligations at the folders units already use (see sync.folders.adopt_existing_folders)
        and remember each unit's folder for the next run."""
        from connector.sync.folders import adopt_existing_folders

        if entries is self._adopted_from:  # `run` hands the same listing to sync and collect
            return
        self._adopted_from = entries

        remembered = self.state.section("unit_folders")
        prev = self.last_register()  # each obligation's folder, by its stable key (a moved date, a renumbered task)
        known = {row.key: row.folder for row in prev.rows} if prev is not None else None
        self.obligations = adopt_existing_folders(self.obligations, entries, self.root, dict(remembered), known)
        if not self.dry_run:
            remembered.clear()
            remembered.update(self.unit_folders())

    def last_register(self):
        """The register of the last collection (kept in the state directory), or None."""
        from connector.register.status import load_register

        if self._last_register is None:
            path = self.state_dir / f"{self.code}-register.json"
            if path.is_file():
                try:
                    self._last_register = load_register(path)
                except Exception as exc:  # noqa: BLE001 - a damaged copy only loses history, say so
                    log.warning("cannot read the last register %s (%s); history starts afresh", path, exc)
        return self._last_register

    # -- the jobs -----------------------------------------------------------------------------
    def _calendar_limits_reader(self):
        """Nextcloud: how to read the account's calendar limits (asked only when calendars are missing,
        at most once per job)."""
        from connector.nextcloud.limits import read_calendar_limits

        if self.ocs is None:
            return None

        def read():
            if getattr(self, "_calendar_limits", None) is None:
                self._calendar_limits = read_calendar_limits(self.ocs)
            return self._calendar_limits
        return read

    def desired_fingerprint(self, completions: dict) -> str:
        """A digest of everything the desired calendar items are made from: the plan, units and obligations,
        the render settings, the folder links, the completions, and the rendering code itself. Equal
        digests, equal items: a run that finds the one its last complete run left renders nothing."""
        import hashlib

        from pydantic import TypeAdapter

        from connector import __version__
        from connector.render import ical

        from connector.inputs import code_digest

        h = hashlib.sha256(code_digest("render/*.py", "schedule.py").encode())
        cfg = self.cfg.plan
        below = nfc(self.root).strip("/") + "/"  # the folders links can name (a first run also made the root's parents)
        present = self.links.present
        h.update(repr((__version__, ical.MODEL_VERSION, self.code, self.root, self.ocs is None, cfg.alarm_days,
                       cfg.coordinator_groups, cfg.publish, self.cfg.sync.task_lists,
                       self.links.nextcloud, self.links.web_base,
                       sorted(i for i in self.links.ids.items()  # folders' ids: an upload changes no link
                              if i[0].startswith(below) and (present is None or i[0] in present)),
                       sorted(p for p in present if p.startswith(below)) if present is not None else None,
                       sorted((k, v.isoformat()) for k, v in completions.items()))).encode())
        h.update(self.plan.model_dump_json().encode())
        h.update(TypeAdapter(list[Unit]).dump_json(self.units))
        h.update(TypeAdapter(list[Obligation]).dump_json(self.obligations))
        return h.hexdigest()

    def sync_calendars(self, completions: dict | None = None):
        """Calendars and task lists (and, on Nextcloud, their sharing); returns the SyncReport.

        When nothing they are made from changed since the last complete run (desired_fingerprint) and the
        server's calendars are as it left them, no item is built at all."""
        from connector.render.ical import RenderOptions, build_desired, desired_calendars
        from connector.sync.calendars import CalendarSync
        from connector.sync.shares import CalendarSharing

        if completions is None:
            prev = self.last_register()
            completions = prev.completions() if prev else {}
        cfg = self.cfg.plan
        sharing = CalendarSharing(self.http, self.caldav, self.state.section("calendar_shares"), dry_run=self.dry_run,
                                  limits=self.state.section("share_limits"), ocs=self.ocs,
                                  absent_groups=getattr(self, "absent_groups", ())) if self.ocs is not None else None
        cal_sync = CalendarSync(self.caldav, self.state.section("calendars"), self.code,
                                parallel=self.cfg.sync.parallel, dry_run=self.dry_run, force=self.force,
                                max_delete_fraction=self.cfg.sync.max_delete_fraction, sharing=sharing,
                                limits_state=self.state.section("calendar_limits"),
                                read_limits=self._calendar_limits_reader())
        layout = {"coordinator_groups": cfg.coordinator_groups, "publish": cfg.publish,
                  "task_lists": self.cfg.sync.task_lists}
        fingerprint = None if self.dry_run else self.desired_fingerprint(completions)
        settled = self.state.section("settled_calendars")
        try:
            report = home = None
            if fingerprint is not None and settled.get("fingerprint") == fingerprint and not self.force:
                home = self.caldav.calendars()
                report = cal_sync.run_settled(desired_calendars(self.plan, self.units, **layout), home)
            if report is None:
                options = RenderOptions(alarm_days=cfg.alarm_days, folder_url=self.folder_url,
                                        folder_made=lambda f: self.links.exists(f"{self.root}/{f}"))
                calendars, items = build_desired(self.plan, self.units, self.obligations, options,
                                                 completions=completions, **layout)
                settled.clear()
                report = cal_sync.run(calendars, items, home)
            if fingerprint is not None and not (report.failed or report.waiting or report.paced):
                settled["fingerprint"] = fingerprint
        finally:
            if not self.dry_run:
                self.state.save()
        # `run` syncs twice when reports came in: what waits for the server's limits is said once.
        said = self._waiting_said = getattr(self, "_waiting_said", set())
        if report.waiting_line in said:
            report.failed.remove(report.waiting_line)
        elif report.waiting_line:
            said.add(report.waiting_line)
        report.paced = [w for w in report.paced if w not in said]
        said.update(report.paced)
        return report

    def sync(self, completions: dict | None = None, entries=None) -> dict:
        """Calendars, task lists, report folders and (on Nextcloud) groups and shares."""
        from connector.sync import shares

        cfg = self.cfg.plan
        nextcloud = self.ocs is not None
        if entries is None:
            entries = self.list_report_tree()
        self.apply_name_rules(fetch=True)
        self.adopt_folders(entries)
        result: dict = {"notices": []}
        if not nextcloud:
            result["notices"].append(f"server kind {self.cfg.server.kind!r}: Nextcloud-only steps "
                                     "(groups, sharing, publishing) skipped")
        share_report = shares.ShareReport()
        if nextcloud and cfg.create_groups:
            self.absent_groups = shares.ensure_groups(
                self.ocs, sorted({u.group for u in self.units} | set(cfg.coordinator_groups)), dry_run=self.dry_run,
                report=share_report, admin_password=self.cfg.server.admin_password)
        folders = self.make_folders(entries)  # first: events and to-dos link the folders by their ids
        cal = self.sync_calendars(completions)
        if nextcloud:
            try:  # the shares made (to withdraw later) and the limits met are remembered in the state
                shares.sync_folder_shares(self.ocs, self.root, self.units, self.unit_folders(), cfg.coordinator_groups,
                                          file_drop_expire=cfg.file_drop_expire, file_drop_note=drop_note(cfg.file_drop_note),
                                          dry_run=self.dry_run, report=share_report,
                                          made=self.state.section("folder_shares"),
                                          limits=self.state.section("share_limits"),
                                          absent_groups=getattr(self, "absent_groups", ()))
            finally:
                if not self.dry_run:
                    self.state.save()
        result.update({
            "created": cal.created + len(folders.created) + len(share_report.created),
            "updated": cal.updated + len(share_report.updated),
            "deleted": cal.deleted + len(share_report.removed),
            "unchanged": cal.unchanged,
            "failed": cal.failed + folders.failed + share_report.failed,
            "waiting": cal.paced + share_report.paced,  # paced by rate limits: said, not failed
            "calendars": cal.calendars,
            "publish_url": cal.publish_url,
            "folders_created": len(folders.created),
            "file_drops": share_report.file_drops,
            "items": {"created": cal.created, "updated": cal.updated, "deleted": cal.deleted},
        })
        result["notices"] += cal.notices
        if self.dry_run:
            result["planned"] = ([f"{c.action} {c.href}" for c in cal.planned]
                                 + [f"mkcol {p}" for p in folders.planned] + share_report.planned)
            # The totals a dry run prints are the ones the real run then reports.
            actions = [c.action.value for c in cal.planned]
            result["created"] = (actions.count("create") + len(folders.planned)
                                 + sum(p.startswith(("share ", "create group ")) for p in share_report.planned))
            result["updated"] = (actions.count("update") + sum(n.startswith("would rename calendar") for n in cal.notices)
                                 + sum(p.startswith("set permissions") for p in share_report.planned))
            result["deleted"] = actions.count("delete") + sum(p.startswith("withdraw share") for p in share_report.planned)
        result["_entries"] = entries
        return result

    def collect(self, as_of: date | None = None, entries=None, out_dir: Path | None = None) -> dict:
        """Read the report tree, compute the register, write it locally and upload it."""
        from connector.collect import register_digest, remote_files, remote_folders, upload_register
        from connector.register.export import EXPORT_NAMES, write_all
        from connector.register.status import compute_register

        now = datetime.now(TZ)
        as_of = as_of or now.date()
        if entries is None:
            entries = self.list_report_tree()
        self.adopt_folders(entries)
        files = remote_files(entries, self.root)
        previous = self.last_register()
        reg = compute_register(self.obligations, files, self.units, self.plan, as_of=as_of, now=now,
                               due_soon_days=self.cfg.plan.due_soon_days, previous=previous,
                               unit_folders=self.unit_folders(), ignored_dirs={self.cfg.plan.register_folder},
                               links=self.folder_url, folders=remote_folders(entries, self.root),
                               trash_owner=self.cfg.server.user if self.ocs is not None else "")
        out_dir = Path(out_dir or (self.state_dir / "register" / self.code))
        from connector.inputs import code_digest

        digest = f"{register_digest(reg)} {code_digest('register/*.py')}"
        written = self.state.section("register_written")
        paths = {kind: out_dir / name for kind, name in EXPORT_NAMES.items()}
        kept = self.state_dir / f"{self.code}-register.json"
        where = str(out_dir.resolve())
        if (written.get("digest") != digest or written.get("dir") != where
                or not all(p.is_file() for p in [*paths.values(), kept])):
            # A register that says what the last one said keeps the files written then (and their time).
            paths = write_all(reg, out_dir, folder_url=self.folder_url)
            if not self.dry_run:
                # The state keeps the last register: history (removed files) and completions for the next sync.
                atomic_write(kept, paths["json"].read_bytes())
                written.update({"digest": digest, "dir": where})
        if not self.dry_run:
            self._last_register = reg
        upload = upload_register(self.webdav, f"{self.root}/{self.cfg.plan.register_folder}", paths, entries,
                                 self.state.section("register"), digest, dry_run=self.dry_run)
        if not self.dry_run:
            self.state.save()
        return {"register": reg, "paths": {k: str(v) for k, v in paths.items()}, "upload": upload}


def summary_table(reg) -> str:
    from connector.models import STATUS_LABELS_VI, Status

    counts = reg.counts()
    lines = [f"Sổ theo dõi tình hình thực hiện – {reg.plan_title}",
             f"Tính đến ngày {reg.as_of.strftime('%d/%m/%Y')}"]
    width = max(len(v) for v in STATUS_LABELS_VI.values())
    for st in Status:
        lines.append(f"  {STATUS_LABELS_VI[st]:<{width}}  {counts.get(st, 0):>5}")
    lines.append(f"  {'Tổng số nghĩa vụ':<{width}}  {len(reg.rows):>5}")
    if reg.unassigned:
        lines.append(f"  {'Tệp chưa xếp đúng thư mục':<{width}}  {len(reg.unassigned):>5}")
    return "\n".join(lines)


def run_job(job: Job, as_of: date | None, out_dir: Path | None) -> dict:
    """The whole job on an open Job; returns a summary dict (also used by the demo)."""
    prev = job.last_register()
    before = prev.completions() if prev else {}
    synced = job.sync(completions=before)
    collected = job.collect(as_of, entries=synced["_entries"], out_dir=out_dir)
    reg = collected["register"]
    after = reg.completions()
    reflected = {"created": 0, "updated": 0, "deleted": 0}
    if after != before and not job.dry_run:
        r = job.sync_calendars(after)
        reflected = {"created": r.created, "updated": r.updated, "deleted": r.deleted}
        failed_reflect = r.failed
        waiting_reflect = r.paced
    else:
        failed_reflect, waiting_reflect = [], []
    sent = []
    if job.cfg.reminders.enabled:
        from connector.reminders import send_reminders

        sent = send_reminders(job, reg)
    failed = synced["failed"] + collected["upload"].failed + failed_reflect
    writes = (synced["items"]["created"] + synced["items"]["updated"] + synced["items"]["deleted"]
              + synced["folders_created"] + reflected["created"] + reflected["updated"] + reflected["deleted"]
              + len(collected["upload"].uploaded))
    text = "\n".join([
        f"sync: {synced['created']} created, {synced['updated']} updated, {synced['deleted']} deleted, "
        f"{synced['unchanged']} unchanged",
        f"reflected into task lists: {reflected['updated']} to-dos updated",
        summary_table(reg),
        *[f"register.{k}: {v}" for k, v in collected["paths"].items()],
        *([f"reminders sent: {len(sent)}"] if job.cfg.reminders.enabled else []),
        f"writes: {writes}; HTTP requests: {job.requests}",
    ])
    return {"writes": writes, "requests": job.requests, "failed": failed,
            "waiting": synced.get("waiting", []) + waiting_reflect, "paths": collected["paths"],
            "counts": {k.value: v for k, v in reg.counts().items()}, "reminders": sent,
            "publish_url": synced.get("publish_url"), "text": text}
