"""Reminders (nhắc hạn): Nextcloud notifications to a unit's members when an obligation becomes
due soon and when it becomes overdue, once per obligation and stage.

What was sent is remembered in the state, so reruns never repeat a notice.
"""
from __future__ import annotations

import logging

from connector.errors import AuthError, ServerError, UnreachableError
from connector.models import Status

log = logging.getLogger("plan-connector.reminders")

STAGES = {Status.DUE_SOON: "Sắp đến hạn", Status.OVERDUE: "Quá hạn chưa hoàn thành"}


def pending_reminders(register, sent: dict) -> list[tuple[str, str, object]]:
    """(reminder key, stage label, row) for every row that reached a stage not yet notified."""
    out = []
    for row in register.rows:
        if row.status in STAGES:
            key = f"{row.key}:{row.status.value}"
            if key not in sent:
                out.append((key, STAGES[row.status], row))
    return out


def message(row, stage: str, plan_title: str) -> tuple[str, str]:
    due = row.due.strftime("%d/%m/%Y") if row.due else "không có hạn"
    short = f"{stage}: NV {row.task} – {row.task_title} (hạn {due})" if row.task else f"{stage}: báo cáo hằng năm {row.period} (hạn {due})"
    long = (f"{plan_title}\nĐơn vị: {row.unit_name}\nKỳ: {row.period}\nHạn: {due}\n"
            f"Nộp báo cáo vào thư mục: {row.folder}")
    return short[:255], long[:4000]


def send_reminders(job, register, *, dry_run: bool | None = None) -> list[str]:
    """Notify group members; returns the reminder keys handled (sent, or listed in a dry run)."""
    dry_run = job.dry_run if dry_run is None else dry_run
    if job.ocs is None:
        log.warning("reminders need the Nextcloud notifications app; server kind %r has none", job.cfg.server.kind)
        return []
    sent: dict = job.state.section("reminders")
    # key -> members already notified for a reminder not yet complete (a run cut short, a member refused):
    # the next run notifies only the others, so nobody gets the same notice twice.
    partial: dict = job.state.section("reminders_partial")
    todo = pending_reminders(register, sent)
    groups = {u.id: u.group for u in job.units}
    members: dict[str, list[str]] = {}
    handled = []
    try:
        for key, stage, row in todo:
            short, long = message(row, stage, register.plan_title)
            gid = groups.get(row.unit)
            if gid is None:
                continue
            if dry_run:
                print(f"would notify group {gid}: {short}")
                handled.append(key)
                continue
            try:
                if gid not in members:
                    members[gid] = job.ocs.group_members(gid)
            except (AuthError, UnreachableError):
                raise
            except ServerError as exc:
                log.warning("reminder %s not sent: %s", key, exc)
                continue
            complete = True
            for uid in members[gid]:
                if uid in partial.get(key, []):
                    continue
                try:
                    job.ocs.notify(uid, short, long)
                except (AuthError, UnreachableError):
                    raise
                except ServerError as exc:
                    log.warning("reminder %s not sent to %s: %s", key, uid, exc)
                    complete = False
                    continue
                partial.setdefault(key, []).append(uid)
            if not complete:
                continue
            sent[key] = register.generated_at.isoformat()
            partial.pop(key, None)
            handled.append(key)
    finally:
        if not dry_run:  # also when cut short: what went out is remembered
            job.state.save()
    return handled
