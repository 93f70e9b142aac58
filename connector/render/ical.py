"""Plan + obligations -> the calendars and iCalendar items the server should hold (pure).

Three kinds of collection per plan: one deadline calendar (VEVENT per dated milestone), one
overview task list for the coordinating body (VTODO per task, subtask per milestone) and the units'
to-dos (VTODO per obligation): one task list per unit (layout "per_unit"), or one task list for
every unit, each to-do tagged with its unit in its title and CATEGORIES (layout "shared", for
servers that limit how many calendars an account may have). A to-do's UID is the same in both.

Each item is first built as a model: its component's properties as plain values (text, dates, the
RRULE), and the model's digest is the item's hash (`X-PLAN-CONNECTOR-HASH`). The sync compares hashes
only, so an item is serialized (with the icalendar library, `DesiredItem.ics`) only when it is written:
a no-op run renders nothing, a run that moves one deadline renders the items it changes. The same
model always serializes to the same bytes. All deadlines are DATE values (they never shift with time
zones) and the only DATE-TIMEs are DTSTAMP and COMPLETED, in UTC, so no VTIMEZONE is needed.
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from connector.models import RECURRING_KINDS, Milestone, MilestoneKind, Obligation, Plan, Task, Unit
from connector.render import names
from connector.schedule import horizon, periods, report_periods

PRODID = "-//plan-connector//vi"
DTSTAMP = datetime(2020, 1, 1, tzinfo=timezone.utc)  # fixed: an unchanged item must render byte-identically
MODEL_VERSION = 2  # part of every item's hash: bump when the same model would serialize differently
PLAN_PROPERTY = "X-PLAN-CONNECTOR-PLAN"
HASH_PROPERTY = "X-PLAN-CONNECTOR-HASH"
MAX_LISTED_UNITS = 10  # beyond this, descriptions say "N đơn vị" rather than the names

COLORS = {"deadlines": "#C0392B", "overview": "#1F6FB2", "unit": "#2E8B57"}
# Where folder_url("") gives no link (Nextcloud: units cannot open the plan's root), say where to look.
UNIT_FOLDER_HINT = ("Thư mục nộp báo cáo: thư mục của đơn vị trong ứng dụng Tệp (Files); "
                    "liên kết có trong danh sách việc của đơn vị")
TASK_LISTS = ("per_unit", "shared")  # [sync] task_lists
SHARED_TASKS_SLUG = "nhiem-vu-cac-don-vi"  # pc-<code>-nhiem-vu-cac-don-vi: the "shared" layout's one task list


@dataclass
class RenderOptions:
    alarm_days: list[int] = field(default_factory=lambda: [7, 1])
    tz: str = "Asia/Ho_Chi_Minh"  # for naive completion times
    folder_url: Callable[[str], str | None] | None = None  # obligation folder path -> web link
    folder_made: Callable[[str], bool] | None = None  # False: the folder waits for its period (sync.folders)


class DesiredCalendar(BaseModel):
    slug: str
    displayname: str
    description: str
    components: list[str]  # ["VEVENT"] or ["VTODO"]
    color: str | None = None
    share_groups: list[str] = Field(default_factory=list)  # Nextcloud groups, read-only
    publish: bool = False
    unit: str | None = None  # unit id for a unit's task list


Prop = tuple  # (NAME, value, params): value a str, int, date, datetime, timedelta, list of str or dates
Model = tuple  # (COMPONENT, (Prop, ...), (sub-Model, ...)): one component, before serialization


@dataclass
class DesiredItem:
    """One item the server should hold: its model, and the model's digest as its hash."""

    calendar: str  # DesiredCalendar.slug
    uid: str
    model: Model
    hash: str = ""  # sha256 hex of the model (and MODEL_VERSION): what the sync compares

    def __post_init__(self) -> None:
        if not self.hash:
            self.hash = model_hash(self.model)

    @cached_property
    def ics(self) -> str:
        """The complete VCALENDAR (CRLF line endings), serialized by icalendar, the hash stamped inside."""
        return serialize(self.model, self.hash)


# --- models and their serialization ----------------------------------------------------------

def model_hash(model: Model) -> str:
    """sha256 hex of an item's model: equal models, equal hashes, run after run (repr of plain values)."""
    return hashlib.sha256(repr((MODEL_VERSION, model)).encode("utf-8")).hexdigest()


def _text(value: str) -> str:
    """A TEXT value as written: NFC, line breaks as \\n (icalendar escapes it per RFC 5545)."""
    return names.nfc(value).replace("\r\n", "\n").replace("\r", "\n")


def _component(model: Model):
    from icalendar import Alarm, Event, Todo, vRecur

    name, props, subs = model
    comp = {"VEVENT": Event, "VTODO": Todo, "VALARM": Alarm}[name]()
    for prop, value, params in props:
        if prop == "RRULE":
            value = vRecur.from_ical(value)
        comp.add(prop, value, parameters=dict(params) if params else None)
    for sub in subs:
        comp.add_component(_component(sub))
    return comp


def serialize(model: Model, digest: str) -> str:
    """One item's VCALENDAR text: the model's component, with the plan's hash marker added."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("VERSION", "2.0")
    cal.add("PRODID", PRODID)
    cal.add("CALSCALE", "GREGORIAN")
    comp = _component(model)
    comp.add(HASH_PROPERTY, digest)
    cal.add_component(comp)
    return cal.to_ical(sorted=False).decode("utf-8")


def _utc(dt: datetime, tz: str) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.astimezone(timezone.utc)


def _dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


_UNFOLD = re.compile(r"\r?\n[ \t]")
_MARKER = {p: re.compile(rf"^{p}(?:;[^:\r\n]*)?:([^\r\n]*)", re.M | re.I) for p in (PLAN_PROPERTY, HASH_PROPERTY)}


def read_marker(ics: str | bytes) -> tuple[str | None, str | None]:
    """(plan code, hash) from an item fetched from a server; (None, None) when not ours."""
    if isinstance(ics, bytes):
        ics = ics.decode("utf-8", errors="replace")
    unfolded = _UNFOLD.sub("", ics)
    found = []
    for prop in (PLAN_PROPERTY, HASH_PROPERTY):
        m = _MARKER[prop].search(unfolded)
        found.append(m.group(1).strip() or None if m else None)
    return found[0], found[1]


# --- text ------------------------------------------------------------------------------------

def _join_names(units: Sequence[Unit]) -> str:
    if not units:
        return "(chưa có đơn vị)"
    if len(units) > MAX_LISTED_UNITS:
        return f"{len(units)} đơn vị"
    return ", ".join(u.name for u in units)


def _responsible(task: Task | None, units: Sequence[Unit]) -> list[str]:
    if task is not None and (task.lead or task.cooperating):
        out = []
        if task.lead:
            out.append("Đơn vị chủ trì: " + ", ".join(task.lead))
        if task.cooperating:
            out.append("Đơn vị phối hợp: " + ", ".join(task.cooperating))
        return out
    return [f"Các đơn vị: {_join_names(units)}"]


def _due_summary(dues: Sequence[date]) -> str:
    if len(dues) <= 6:
        return ", ".join(_dmy(d) for d in dues)
    return f"{_dmy(dues[0])} … {_dmy(dues[-1])} ({len(dues)} kỳ)"


def _upload_place(obs: Sequence[Obligation], unit_by_id: Mapping[str, Unit], options: RenderOptions) -> list[str]:
    """Where to upload, for an event everyone shares: one place, never a link per unit. The folder of the one
    unit that owes it (its period folder, or its task folder when it has several periods), else the plan's
    root where people can open it, else where each unit finds its own folder."""
    if options.folder_url is None:
        return []
    units = list(dict.fromkeys(ob.unit for ob in obs))
    if len(units) == 1:
        folder = obs[0].folder if len(obs) == 1 else obs[0].folder.rsplit("/", 1)[0]
        url = options.folder_url(folder)
        if url:
            return [f"Thư mục nộp báo cáo của {unit_by_id[units[0]].name}: {url}"]
    root = options.folder_url("")
    return [f"Thư mục nộp báo cáo: {root}" if root else UNIT_FOLDER_HINT]


# --- components ------------------------------------------------------------------------------

def _rrule(milestone: Milestone, first_due: date, last_year: int) -> str:
    """The milestone's RRULE (else one derived from its kind and first due date), bounded by UNTIL=31/12/<horizon>.

    Its dates are schedule.periods' dues: a day past a month's end falls on that month's last day (29-31 in a
    monthly rule or 29/02 as BYMONTHDAY=28..d;BYSETPOS=-1, where RFC 5545 alone would skip the month)."""
    day = -1 if (first_due + timedelta(days=1)).day == 1 else first_due.day
    defaults = {
        MilestoneKind.YEARLY: f"FREQ=YEARLY;BYMONTH={first_due.month};BYMONTHDAY={first_due.day}",
        MilestoneKind.HALF_YEARLY: f"FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY={day}",
        MilestoneKind.QUARTERLY: f"FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY={day}",
        MilestoneKind.MONTHLY: f"FREQ=MONTHLY;BYMONTHDAY={day}",
    }
    rule = (milestone.rrule or defaults[milestone.kind]).removeprefix("RRULE:")
    if "BYSETPOS" not in rule.upper() and ("FREQ=MONTHLY" in rule.upper() or re.search(r"BYMONTH=0?2(?:;|$)", rule)):
        rule = re.sub(r"BYMONTHDAY=(29|30|31)(?=;|$)",
                      lambda m: f"BYMONTHDAY={','.join(map(str, range(28, int(m.group(1)) + 1)))};BYSETPOS=-1", rule)
    parts = [p for p in rule.split(";") if p and not p.upper().startswith(("UNTIL=", "COUNT="))]
    return ";".join([*parts, f"UNTIL={last_year:04d}1231"])


def _alarms(summary: str, days: Iterable[int]) -> tuple[Model, ...]:
    out = []
    for d in days:
        says = f"Còn {d} ngày đến hạn: {summary}" if d else f"Đến hạn hôm nay: {summary}"
        out.append(("VALARM", (("ACTION", "DISPLAY", ()), ("TRIGGER", timedelta(days=-d), (("RELATED", "START"),)),
                               ("DESCRIPTION", _text(says), ())), ()))
    return tuple(out)


def _event(uid: str, code: str, summary: str, description: list[str], categories: list[str],
           first: date, recurrence: list[Prop], options: RenderOptions) -> Model:
    return ("VEVENT", (
        ("UID", uid, ()),
        ("DTSTAMP", DTSTAMP, ()),
        ("DTSTART", first, ()),
        ("DTEND", first + timedelta(days=1), ()),
        *recurrence,
        ("SUMMARY", _text(summary), ()),
        ("DESCRIPTION", _text("\n".join(description)), ()),
        ("CATEGORIES", [_text(c) for c in categories], ()),
        ("TRANSP", "TRANSPARENT", ()),
        (PLAN_PROPERTY, code, ()),
    ), _alarms(summary, options.alarm_days))


def _milestone_event(plan: Plan, task: Task, index: int, milestone: Milestone, obs: Sequence[Obligation],
                     unit_by_id: Mapping[str, Unit], options: RenderOptions) -> DesiredItem | None:
    dues = sorted({due for _, _, due in periods(milestone, plan) if due})
    if not dues:
        return None
    code = names.plan_code(plan)
    several = len(task.milestones) > 1
    mark = f" (mốc {index})" if several else ""
    summary = f"Hạn NV {task.number}{mark}: {names.short_title(task, 80)}"
    if milestone.kind in RECURRING_KINDS:
        last_year = horizon(plan, dues[0].year)
        recurrence = [("RRULE", _rrule(milestone, dues[0], last_year), ())]
    elif len(dues) > 1:
        recurrence = [("RDATE", list(dues[1:]), ())]
    else:
        recurrence = []
    owing = [unit_by_id[u] for u in dict.fromkeys(ob.unit for ob in obs)]
    description = [f"Kế hoạch: {names.nfc(plan.title)}", f"Nhiệm vụ {task.number}: {names.full_title(task)}",
                   (f"Mốc {index}/{len(task.milestones)}: " if several else "Thời hạn: ") + milestone.phrase,
                   f"Hạn: {_due_summary(dues)}", *_responsible(task, owing)]
    if milestone.needs_review:
        reasons = "; ".join(milestone.flags) or "cách hiểu thời hạn chưa chắc chắn"
        description.append(f"Cần rà soát thời hạn: {reasons}")
    description += [*_upload_place(obs, unit_by_id, options), "", f"Nội dung: {names.nfc(task.text)}"]
    uid = names.event_uid(plan, task.number, index)
    model = _event(uid, code, summary, description, [names.plan_label(plan), "Hạn nhiệm vụ"], dues[0], recurrence,
                   options)
    return DesiredItem(names.calendar_slug(plan, "deadlines"), uid, model)


def _report_event(plan: Plan, units: Sequence[Unit], options: RenderOptions) -> DesiredItem | None:
    dues = [due for _, _, due in report_periods(plan)]
    if not dues:
        return None
    month, day = plan.annual_report_due
    label = names.plan_label(plan)
    rule = f"FREQ=YEARLY;BYMONTH={month};BYMONTHDAY={day};UNTIL={dues[-1].year:04d}1231"
    description = [f"Kế hoạch: {names.nfc(plan.title)}",
                   f"Các đơn vị báo cáo kết quả thực hiện {label} hằng năm, gồm cả các nhiệm vụ thực hiện "
                   "thường xuyên.", f"Hạn: {day:02d}/{month:02d} hằng năm, từ {dues[0].year} đến {dues[-1].year}",
                   f"Các đơn vị: {_join_names(units)}"]
    if options.folder_url is not None:
        root = options.folder_url("")
        description.append(f"Thư mục nộp báo cáo: {root}" if root else UNIT_FOLDER_HINT)
    uid = names.event_uid(plan, 0, 0)
    model = _event(uid, names.plan_code(plan), f"Hạn báo cáo hằng năm – {label}", description,
                   [label, names.REPORT_FOLDER], dues[0], [("RRULE", rule, ())], options)
    return DesiredItem(names.calendar_slug(plan, "deadlines"), uid, model)


def _progress(obs: Sequence[Obligation], completions: Mapping[str, datetime]) -> tuple[int, int, datetime | None]:
    """(done, total, latest submission) over the obligations that have a due date.

    Ongoing obligations have none: they are judged through the yearly report instead.
    """
    done, total, latest = 0, 0, None
    for ob in obs:
        if ob.due is None:
            continue
        total += 1
        at = completions.get(ob.key)
        if at is not None:
            done += 1
            latest = at if latest is None or at > latest else latest
    return done, total, latest


def _completed(at: datetime, tz: str) -> list[Prop]:
    return [("STATUS", "COMPLETED", ()), ("PERCENT-COMPLETE", 100, ()), ("COMPLETED", _utc(at, tz), ())]


def _status_lines(done: int, total: int, latest: datetime | None, tz: str) -> list[Prop]:
    if total == 0:
        return [("STATUS", "NEEDS-ACTION", ())]
    percent = 100 * done // total
    if percent == 100 and latest is not None:
        return _completed(latest, tz)
    return [("STATUS", "IN-PROCESS" if done else "NEEDS-ACTION", ()), ("PERCENT-COMPLETE", percent, ())]


def _overview_items(plan: Plan, obs_by_milestone: Mapping[tuple[int, int], list[Obligation]],
                    completions: Mapping[str, datetime], options: RenderOptions) -> list[DesiredItem]:
    code, label = names.plan_code(plan), names.plan_label(plan)
    cal = names.calendar_slug(plan, "overview")
    items = []

    def overview_todo(uid: str, summary: str, description: list[str], middle: list[Prop], tail: list[Prop]) -> DesiredItem:
        return DesiredItem(cal, uid, ("VTODO", (
            ("UID", uid, ()), ("DTSTAMP", DTSTAMP, ()),
            ("SUMMARY", _text(summary), ()),
            ("DESCRIPTION", _text("\n".join(description)), ()),
            *middle, *tail,
            (PLAN_PROPERTY, code, ())), ()))

    report_obs = obs_by_milestone.get((0, 0), [])
    if report_obs:
        done, total, latest = _progress(report_obs, completions)
        uid = names.overview_task_uid(plan, 0)
        items.append(overview_todo(uid, names.REPORT_FOLDER,
                                   [f"Báo cáo hằng năm của các đơn vị về {label}.", f"Đã nộp: {done}/{total}"],
                                   _status_lines(done, total, latest, options.tz), [("CATEGORIES", [_text(label)], ())]))

    for task in sorted(plan.tasks, key=lambda t: t.number):
        task_obs = [ob for i in range(1, len(task.milestones) + 1) for ob in obs_by_milestone.get((task.number, i), [])]
        done, total, latest = _progress(task_obs, completions)
        parent = names.overview_task_uid(plan, task.number)
        # The parent carries no dates, so moving one milestone changes only that milestone's items.
        description = [f"Nhiệm vụ {task.number}: {names.full_title(task)}",
                       "Thời hạn: " + "; ".join(m.phrase for m in task.milestones),
                       *(_responsible(task, []) if (task.lead or task.cooperating) else []), f"Đã nộp: {done}/{total}",
                       "", f"Nội dung: {names.nfc(task.text)}"]
        items.append(overview_todo(parent, f"NV {task.number} – {names.short_title(task, 80)}", description,
                                   _status_lines(done, total, latest, options.tz), [("CATEGORIES", [_text(label)], ())]))

        for index, milestone in enumerate(task.milestones, start=1):
            m_obs = obs_by_milestone.get((task.number, index), [])
            done, total, latest = _progress(m_obs, completions)
            dues = sorted({due for _, _, due in periods(milestone, plan) if due})
            uid = names.overview_milestone_uid(plan, task.number, index)
            description = [f"Thời hạn: {milestone.phrase}"]
            if dues:
                description.append(f"Hạn: {_due_summary(dues)}")
            units_count = len(dict.fromkeys(ob.unit for ob in m_obs))
            description += [f"Số đơn vị: {units_count}", f"Đã nộp: {done}/{total}"]
            items.append(overview_todo(uid, f"NV {task.number} – mốc {index}: {milestone.phrase}", description,
                                       [*([("DUE", dues[-1], ())] if dues else []),
                                        *_status_lines(done, total, latest, options.tz)],
                                       [("RELATED-TO", parent, (("RELTYPE", "PARENT"),))]))
    return items


def shared_tasks_slug(plan: Plan) -> str:
    """The collection name of the "shared" layout's task list: "pc-<code>-nhiem-vu-cac-don-vi"."""
    return f"pc-{names.plan_code(plan)}-{SHARED_TASKS_SLUG}"


def _unit_todos(plan: Plan, unit: Unit, obs: Sequence[Obligation], tasks: Mapping[int, Task],
                completions: Mapping[str, datetime], options: RenderOptions,
                heads: dict[tuple[int, int], tuple], *, shared: bool = False) -> list[DesiredItem]:
    """One unit's to-dos: in its own task list, or (shared) in the plan's one list, tagged with the unit."""
    code, label = names.plan_code(plan), names.plan_label(plan)
    cal = shared_tasks_slug(plan) if shared else names.calendar_slug(plan, "unit", unit)
    tag = f"[{names.nfc(unit.name)}] " if shared else ""
    categories = ("CATEGORIES", [_text(c) for c in ([label, unit.name] if shared else [label])], ())
    report_due = f"{plan.annual_report_due[1]:02d}/{plan.annual_report_due[0]:02d}"
    items = []
    for ob in obs:
        head = heads.get((ob.task, ob.milestone))
        if head is None:  # computed once per milestone, shared by every unit
            if ob.task == 0:
                text = f"Báo cáo kết quả thực hiện {label} trong năm, gồm cả các nhiệm vụ thực hiện thường xuyên."
                head = (names.REPORT_FOLDER, [text], f"Thời hạn: định kỳ hằng năm (ngày {report_due})", [])
            else:
                task = tasks[ob.task]
                phrase = task.milestones[ob.milestone - 1].phrase
                lines = [f"Nhiệm vụ {task.number}: {names.full_title(task)}", f"Kế hoạch: {names.nfc(plan.title)}"]
                tail = ["", f"Nội dung: {names.nfc(task.text)}"]
                head = (f"NV {task.number} – {names.short_title(task, 80)}", lines, f"Thời hạn: {phrase}", tail)
            heads[(ob.task, ob.milestone)] = head
        title, lines, phrase, tail = head
        period_name = names.period_label(ob.period, ob.due)
        description = [*lines, phrase]
        if ob.due:
            description.append(f"Hạn nộp: {_dmy(ob.due)}")
        elif ob.kind == MilestoneKind.ONGOING:
            description.append(f"Thực hiện thường xuyên: báo cáo kết quả trong báo cáo hằng năm (hạn {report_due} "
                               "hằng năm)")
        waits = options.folder_made is not None and not options.folder_made(ob.folder)
        description.append(f"Thư mục nộp báo cáo: {ob.folder}" + (" (thư mục sẽ được tạo khi đến kỳ)" if waits else ""))
        url = options.folder_url(ob.folder) if options.folder_url else None
        if url:
            description.append(f"Liên kết: {url}")
        description += tail
        uid = names.todo_uid(plan, ob)
        props: list[Prop] = [("UID", uid, ()), ("DTSTAMP", DTSTAMP, ()),
                             ("SUMMARY", _text(f"{tag}{title} ({period_name})"), ()),
                             ("DESCRIPTION", _text("\n".join(description)), ())]
        if ob.start and (ob.due is None or ob.start < ob.due):  # RFC 5545: DUE later than DTSTART
            props.append(("DTSTART", ob.start, ()))
        if ob.due:
            props.append(("DUE", ob.due, ()))
        at = completions.get(ob.key)
        props += [("STATUS", "NEEDS-ACTION", ())] if at is None else _completed(at, options.tz)
        props += [categories, (PLAN_PROPERTY, code, ())]
        items.append(DesiredItem(cal, uid, ("VTODO", tuple(props), ())))
    return items


# --- entry point -----------------------------------------------------------------------------

def desired_calendars(plan: Plan, units: Sequence[Unit], *, coordinator_groups: Sequence[str] = (),
                      publish: bool = False, task_lists: str = "per_unit") -> list[DesiredCalendar]:
    """The collections the server should hold for this plan (deadlines, overview, the task lists)."""
    if task_lists not in TASK_LISTS:
        raise ValueError(f"task_lists must be one of {', '.join(TASK_LISTS)}, not {task_lists!r}")
    label = names.plan_label(plan)
    coordinators = list(dict.fromkeys(coordinator_groups))
    deadline_groups = list(dict.fromkeys([*(u.group for u in units), *coordinators]))
    calendars = [
        DesiredCalendar(slug=names.calendar_slug(plan, "deadlines"), displayname=names.calendar_displayname(plan, "deadlines"),
                        description=names.nfc(f"Các mốc thời hạn của {plan.title}"), components=["VEVENT"],
                        color=COLORS["deadlines"], share_groups=deadline_groups, publish=publish),
        DesiredCalendar(slug=names.calendar_slug(plan, "overview"), displayname=names.calendar_displayname(plan, "overview"),
                        description=names.nfc(f"Tiến độ thực hiện {label}: từng nhiệm vụ, từng mốc, theo báo cáo đã nộp."),
                        components=["VTODO"], color=COLORS["overview"], share_groups=coordinators),
    ]
    if task_lists == "shared":
        calendars.append(DesiredCalendar(
            slug=shared_tasks_slug(plan), displayname=names.nfc(f"Nhiệm vụ các đơn vị – {label}"),
            description=names.nfc(f"Các việc mỗi đơn vị cần thực hiện và báo cáo theo {label}; "
                                  "tên mỗi việc mở đầu bằng tên đơn vị."),
            components=["VTODO"], color=COLORS["unit"], share_groups=deadline_groups))
        return calendars
    calendars += [
        DesiredCalendar(slug=names.calendar_slug(plan, "unit", u), displayname=names.calendar_displayname(plan, "unit", u),
                        description=names.nfc(f"Các việc {u.name} cần thực hiện và báo cáo theo {label}."),
                        components=["VTODO"], color=COLORS["unit"], share_groups=[u.group], unit=u.id)
        for u in units
    ]
    return calendars


def build_desired(plan: Plan, units: Sequence[Unit], obligations: Sequence[Obligation],
                  options: RenderOptions | None = None, *, completions: Mapping[str, datetime] | None = None,
                  coordinator_groups: Sequence[str] = (), publish: bool = False, task_lists: str = "per_unit",
                  ) -> tuple[list[DesiredCalendar], list[DesiredItem]]:
    """The calendars and items the server should hold for this plan, in a stable order.

    completions maps Obligation.key to the (aware) time its report was submitted. task_lists:
    "per_unit" (a task list per unit, shared with its group) or "shared" (one for all units, shared
    with every unit group and the coordinators; each to-do names its unit).
    """
    options = options or RenderOptions()
    completions = completions or {}
    unit_by_id = {u.id: u for u in units}
    tasks = {t.number: t for t in plan.tasks}
    obs_by_milestone: dict[tuple[int, int], list[Obligation]] = defaultdict(list)
    obs_by_unit: dict[str, list[Obligation]] = defaultdict(list)
    for ob in obligations:
        if ob.unit not in unit_by_id:
            raise ValueError(f"obligation {ob.key} names a unit that is not in the units list")
        if ob.task and ob.task not in tasks:
            raise ValueError(f"obligation {ob.key} names task {ob.task}, which the plan does not have")
        obs_by_milestone[(ob.task, ob.milestone)].append(ob)
        obs_by_unit[ob.unit].append(ob)

    calendars = desired_calendars(plan, units, coordinator_groups=coordinator_groups, publish=publish,
                                  task_lists=task_lists)
    items: list[DesiredItem] = []
    for task in sorted(plan.tasks, key=lambda t: t.number):
        for index, milestone in enumerate(task.milestones, start=1):
            event = _milestone_event(plan, task, index, milestone, obs_by_milestone.get((task.number, index), []),
                                     unit_by_id, options)
            if event is not None:
                items.append(event)
    report = _report_event(plan, units, options)
    if report is not None:
        items.append(report)
    items += _overview_items(plan, obs_by_milestone, completions, options)
    heads: dict[tuple[int, int], tuple] = {}
    for unit in units:
        items += _unit_todos(plan, unit, obs_by_unit.get(unit.id, []), tasks, completions, options, heads,
                             shared=task_lists == "shared")
    return calendars, items
