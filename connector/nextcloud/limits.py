"""Nextcloud's calendar limits per account (dav app): read them, say them, and how to raise them.

`apps/dav/lib/CalDAV/Security/RateLimitingPlugin.php` (29 and 34) lets one account create at most
`rateLimitCalendarCreation` calendars per `rateLimitPeriodCalendarCreation` seconds (429 "Too many
calendars created", no Retry-After) and own at most `maximumCalendarsSubscriptions` calendars +
subscriptions (403 "Calendar limit reached"; -1 = no limit; calendars in the trash bin count, the
birthday calendar does not). Admins are not exempt. An admin can read the values through the
provisioning API; setting them takes `occ` (or the login password).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from connector.errors import AuthError, ServerError, UnreachableError

APP = "dav"
PER_PERIOD = "rateLimitCalendarCreation"
PERIOD = "rateLimitPeriodCalendarCreation"
MAXIMUM = "maximumCalendarsSubscriptions"
DEFAULTS = {PER_PERIOD: 10, PERIOD: 3600, MAXIMUM: 30}


@dataclass(frozen=True)
class CalendarLimits:
    """The limits in force for one account, and whether they were read from the server or assumed."""

    per_period: int = DEFAULTS[PER_PERIOD]
    period: int = DEFAULTS[PERIOD]  # seconds
    maximum: int = DEFAULTS[MAXIMUM]  # calendars + subscriptions per account; -1 = no limit
    read: bool = False  # False: Nextcloud's defaults, assumed (the account may not read the settings)

    def per_period_text(self) -> str:
        """e.g. "10 new calendars per hour"."""
        return f"{self.per_period} new calendars per {period_text(self.period)}"

    def maximum_text(self) -> str:
        return "no limit on calendars in all" if self.maximum < 0 else f"{self.maximum} in all"

    def source_text(self) -> str:
        return ("read from the server's dav settings" if self.read
                else "Nextcloud's defaults, assumed: this account may not read the server's settings")

    def runs_to_create(self, n: int) -> int:
        """How many runs, one per period, creating `n` calendars takes."""
        return math.ceil(n / self.per_period) if n > 0 and self.per_period > 0 else (0 if n <= 0 else -1)


def period_text(seconds: int) -> str:
    """3600 -> "hour", 600 -> "10 min", 45 -> "45 s"."""
    if seconds == 3600:
        return "hour"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def occ_line(key: str, value: int) -> str:
    """The command an administrator runs on the server (as the web server's user) to set one limit."""
    return f"occ config:app:set {APP} {key} --value={value}"


def read_calendar_limits(ocs) -> CalendarLimits:
    """The account's limits through the provisioning API (admins only: 3 GETs); the defaults otherwise.

    Nextcloud 34 reads these with an app password (only setting them asks for password confirmation);
    an empty value means the default.
    """
    values = dict(DEFAULTS)
    for key in DEFAULTS:
        try:
            raw = ocs.app_value(APP, key)
        except (AuthError, UnreachableError):
            raise
        except ServerError:  # e.g. password confirmation asked for: the defaults, said to be assumed
            return CalendarLimits()
        if raw is None:  # 403 "Logged in account must be an admin"
            return CalendarLimits()
        try:
            values[key] = int(raw.strip()) if raw.strip() else DEFAULTS[key]
        except ValueError:
            pass  # not a number: left at the default (Nextcloud itself would read 0)
    return CalendarLimits(values[PER_PERIOD], values[PERIOD], values[MAXIMUM], read=True)


def waiting_line(waiting_units: int, waiting_other: list[str], *, limits: CalendarLimits | None, hourly: bool,
                 total: bool, have: int, resume_at: str | None, shared_advice: bool) -> str:
    """The one line a sync reports when calendars wait for the server's limits, with the way out.

    waiting_units: unit task lists waiting; waiting_other: display names of the other calendars waiting;
    hourly/total: which limit stopped the creations; have: calendars + subscriptions the account owns now
    (what counts against the limit); resume_at: local time ("14:05") after which a run may create again.
    """
    what = []
    if waiting_other:
        what.append(", ".join(f"calendar {name!r}" for name in waiting_other))
    if waiting_units:
        what.append(f"task lists of {waiting_units} units" if waiting_units > 1 else "the task list of 1 unit")
    n = waiting_units + len(waiting_other)
    head = f"{' and '.join(what)} wait{'s' if n == 1 else ''}: "
    if limits is None:  # a server other than Nextcloud answered 429
        later = f"the next run after {resume_at} tries again" if resume_at else "a later run tries again"
        return head + f"the server refuses more new calendars for now (429); {later}"
    said = "Nextcloud allows this account" + ("" if limits.read else " (by default)")
    parts, fixes, later = [], [], ""
    if hourly:
        parts.append(limits.per_period_text())
        later = f"; the next run after {resume_at} continues" if resume_at else "; a later run continues"
        fixes.append(occ_line(PER_PERIOD, limits.per_period + n))
    if limits.maximum >= 0 and (total or have + n > limits.maximum):
        parts.append(f"{limits.maximum} calendars in all (it has {have})")
        fixes.append(occ_line(MAXIMUM, have + n))
    ways = " and ".join(fixes)
    if shared_advice:
        ways = f"{ways}, or set [sync] task_lists = \"shared\"" if ways else "set [sync] task_lists = \"shared\""
    return (head + f"{said} {' and '.join(parts) or 'no more new calendars for now'}{later}"
            + (f" ({'raise with ' if fixes else ''}{ways})" if ways else ""))
