"""The command line's side of the jobs: sync, collect, run, purge and check as `plan-connector` runs them.

Each handler loads the config, takes the lock, runs the job (connector.commands wires it, prints nothing)
and presents the result: text or JSON on stdout, one line per failure on stderr and in the log.
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from connector.commands import Job, run_job, summary_table
from connector.config import Config, load_config
from connector.errors import ConfigError, ServerError
from connector.lock import RunLock
from connector.log import report_failure
from connector.state import default_state_dir


def _print_sync(result: dict, requests: int, as_json: bool) -> None:
    if as_json:
        doc = {k: result[k] for k in ("created", "updated", "deleted", "unchanged", "calendars", "publish_url",
                                      "items", "folders_created")}  # items: calendar items alone
        doc["requests"] = requests
        doc["failed"] = result["failed"]
        doc["waiting"] = result.get("waiting", [])
        if "planned" in result:
            doc["planned"] = result["planned"]
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    for n in result["notices"]:
        print(f"note: {n}")
    for p in result.get("planned", []):
        print(f"would {p}")
    print(f"sync: {result['created']} created, {result['updated']} updated, {result['deleted']} deleted, "
          f"{result['unchanged']} unchanged, {len(result['failed'])} failed; {requests} HTTP requests")
    if result.get("publish_url"):
        print(f"public subscription link: {result['publish_url']}")
    for unit, url in result.get("file_drops", {}).items():
        print(f"upload-only link for {unit}: {url}")
    for f in result["failed"]:
        report_failure(f"failed: {f}")
    for w in result.get("waiting", []):
        report_failure(f"waiting: {w}")


def _print_collect(result: dict, requests: int, as_json: bool) -> None:
    from connector.register.status import register_to_json

    if as_json:
        print(json.dumps(register_to_json(result["register"]), ensure_ascii=False, indent=2, default=str))
        return
    print(summary_table(result["register"]))
    for kind, path in result["paths"].items():
        print(f"register.{kind}: {path}")
    up = result["upload"]
    if up.uploaded:
        print(f"uploaded {len(up.uploaded)} register files")
    for s in up.skipped:
        print(f"note: {s}")
    for f in up.failed:
        report_failure(f"failed: {f}")
    print(f"{requests} HTTP requests")


def _parse_as_of(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--as-of {value!r}: expected YYYY-MM-DD") from None


def _lock(cfg: Config, state_dir: str | None) -> RunLock:
    return RunLock(Path(state_dir or cfg.state_dir or default_state_dir()))


@contextmanager
def _explained(job: Job):
    """A refusal from a `kind = "nextcloud"` server that is no Nextcloud says so (see nextcloud.status)."""
    try:
        yield
    except ServerError as exc:
        from connector.nextcloud.status import explain_refusal

        explain_refusal(job, exc)
        raise


def sync(args) -> int:
    cfg = load_config(args.config)
    with _lock(cfg, args.state_dir), Job(cfg, state_dir=args.state_dir, dry_run=args.dry_run, force=args.force) as job:
        with _explained(job):
            result = job.sync()
        _print_sync(result, job.requests, args.json)
        return 1 if result["failed"] else 0


def collect(args) -> int:
    cfg = load_config(args.config)
    as_of = _parse_as_of(args.as_of)
    with _lock(cfg, args.state_dir), Job(cfg, state_dir=args.state_dir, dry_run=args.dry_run) as job:
        with _explained(job):
            result = job.collect(as_of, out_dir=Path(args.out) if args.out else None)
        if not args.dry_run:
            # Reflect back: completed obligations complete their to-dos.
            job.sync_calendars(result["register"].completions())
        _print_collect(result, job.requests, args.json)
        return 1 if result["upload"].failed else 0


def run(args) -> int:
    """sync, then collect, then reminders: what cron runs."""
    cfg = load_config(args.config)
    as_of = _parse_as_of(args.as_of)
    with _lock(cfg, args.state_dir), Job(cfg, state_dir=args.state_dir, dry_run=args.dry_run, force=args.force) as job:
        with _explained(job):
            summary = run_job(job, as_of, Path(args.out) if args.out else None)
        if args.json:
            print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        elif sys.stdout.isatty() or args.verbose or args.dry_run:
            print(summary["text"])
        # Under cron or a timer a good run says nothing; what failed always goes to stderr.
        for failure in summary["failed"]:
            report_failure(f"failed: {failure}")
        # Waiting for a server's rate limit is pacing, not failure: later runs finish by themselves.
        for waiting in summary["waiting"]:
            report_failure(f"waiting: {waiting}")
        return 1 if summary["failed"] else 0


def purge(args) -> int:
    """Remove what the connector made for the plan (never a report); a dry run unless --yes."""
    from connector.purge import purge as purge_plan
    from connector.render import names
    from connector.render.ical import shared_tasks_slug

    cfg = load_config(args.config)
    dry_run = args.dry_run or not args.yes
    with _lock(cfg, args.state_dir), Job(cfg, state_dir=args.state_dir, dry_run=dry_run) as job:
        # Every calendar name the plan uses in either task-list layout.
        slugs = {names.calendar_slug(job.plan, "deadlines"), names.calendar_slug(job.plan, "overview"),
                 shared_tasks_slug(job.plan), *(names.calendar_slug(job.plan, "unit", u) for u in job.units)}
        with _explained(job):
            report = purge_plan(job, slugs, dry_run=dry_run)
    if args.json:
        print(json.dumps({"dry_run": dry_run, "removed": report.removed, "kept": report.kept,
                          "failed": report.failed}, ensure_ascii=False, indent=2))
    else:
        verb = "would remove" if dry_run else "removed"
        for line in report.removed:
            print(f"{verb}: {line}")
        for line in report.kept:
            print(f"kept: {line}")
        if dry_run and not args.dry_run:
            print("nothing was removed: rerun with --yes to remove the above")
    for f in report.failed:
        report_failure(f"failed: {f}")
    return 1 if report.failed else 0


def check(args) -> int:
    """Config, connectivity, authentication and capabilities, one line each."""
    from connector.checks import run_checks

    cfg = load_config(args.config)
    return run_checks(cfg, state_dir=args.state_dir, as_json=args.json)
