"""Reminders (nhắc hạn): Nextcloud notifications to a unit's members when an obligation becomes
due soon and when it becomes overdue, once per obligation and stage.

What was sent is remembered in the state, so reruns never repeat a notice.
"""
from __future__ import annotations

import logging
from datetime import date

from connector.errors import AuthError, ServerError, UnreachableError
from connector.models import Status

log = logging.getLogger("plan-connector.reminders")

DIGEST_OVER = 3  # more reminders than this for one member at one stage come as one notice
STAGES = {Status.DUE_SOON: "Sắp đến hạn", Status.OVERDUE: "Quá hạn chưa hoàn thành"}


def pending_reminders(register, sent: dict) -> list[tuple[str, str, object]]:
    """(reminder key, stage label, row) for every row that reached a stage not yet notified."""
    out = []
    for row in register.rows:
        if row.status in STAGES:
            key = f"{row.key}:{row.status.value}"
            # Sent before keys were stable (a one-off period was its date, "cb-a/3/1/2022-02-28"): not again.
            legacy = f"{row.unit}/{row.task}/{row.milestone}/{row.period}:{row.status.value}"
            if key not in sent and legacy not in sent:
                out.append((key, STAGES[row.status], row))
    return out


def message(row, stage: str, plan_title: str) -> tuple[str, str]:
    due = row.due.strftime("%d/%m/%Y") if row.due else "không có hạn"
    short = f"{stage}: NV {row.task} – {row.task_title} (hạn {due})" if row.task else f"{stage}: báo cáo hằng năm {row.period} (hạn {due})"
    long = (f"{plan_title}\nĐơn vị: {row.unit_name}\nKỳ: {row.period}\nHạn: {due}\n"
            f"Nộp báo cáo vào thư mục: {row.folder}")
    return short[:255], long[:4000]


def digest(rows, stage: str, plan_title: str) -> tuple[str, str]:
    """One notice for many obligations of one unit at the same stage."""
    unit = rows[0].unit_name
    short = f"{stage}: {len(rows)} nghĩa vụ của {unit}"
    lines = [plan_title, f"Đơn vị: {unit}", ""]
    for r in sorted(rows, key=lambda r: (r.due or date.max, r.task)):
        due = r.due.strftime("%d/%m/%Y") if r.due else "không có hạn"
        what = f"NV {r.task} – {r.task_title}" if r.task else f"Báo cáo hằng năm {r.period}"
        lines.append(f"- {what} (hạn {due}): {r.folder}")
    long = "\n".join(lines)
    if len(long) > 4000:
        long = long[:3990].rsplit("\n", 1)[0] + "\n…"
    return short[:255], long


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
    batches: dict[tuple[str, str], list[tuple[str, object]]] = {}  # (group, stage) -> [(key, row)]
    for key, stage, row in todo:
        gid = groups.get(row.unit)
        if gid is not None:
            batches.setdefault((gid, stage), []).append((key, row))
    handled = []
    members_of: dict[str, list[str]] = {}
    try:
        for (gid, stage), items in batches.items():
            if dry_run:
                for key, row in items:
                    print(f"would notify group {gid}: {message(row, stage, register.plan_title)[0]}")
                    handled.append(key)
                continue
            try:
                members = members_of[gid] if gid in members_of else members_of.setdefault(gid, job.ocs.group_members(gid))
            except (AuthError, UnreachableError):
                raise
            except ServerError as exc:
                log.warning("reminders to group %s not sent: %s", gid, exc)
                continue
            failed: set[str] = set()
            for uid in members:
                pending = [(k, r) for k, r in items if uid not in partial.get(k, [])]
                if not pending:
                    continue
                # An old plan can owe dozens at once: beyond DIGEST_OVER, one notice lists them all.
                notices = ([(pending, digest([r for _, r in pending], stage, register.plan_title))]
                           if len(pending) > DIGEST_OVER else
                           [([(k, r)], message(r, stage, register.plan_title)) for k, r in pending])
                for covered, (short, long) in notices:
                    try:
                        job.ocs.notify(uid, short, long)
                    except (AuthError, UnreachableError):
                        raise
                    except ServerError as exc:
                        log.warning("reminder %s not sent to %s: %s", ", ".join(k for k, _ in covered), uid, exc)
                        failed.update(k for k, _ in covered)
                        continue
                    for k, _ in covered:
                        partial.setdefault(k, []).append(uid)
            for key, _row in items:
                if key in failed:
                    continue
                sent[key] = register.generated_at.isoformat()
                partial.pop(key, None)
                handled.append(key)
    finally:
        if not dry_run:  # also when cut short: what went out is remembered
            job.state.save()
    return handled
