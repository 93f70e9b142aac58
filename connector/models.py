"""The connector's data: what a plan says and what units owe.

Every stage passes these pydantic models along:
plan (document -> Plan) -> schedule (Plan + units -> Obligations) ->
render (-> iCalendar, folder names) -> sync -> collect (-> Submissions) -> register.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class MilestoneKind(StrEnum):
    ONCE = "once"
    YEARLY = "yearly"
    HALF_YEARLY = "half_yearly"
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"
    ONGOING = "ongoing"
    TERM = "term"
    UNKNOWN = "unknown"


RECURRING_KINDS = {MilestoneKind.YEARLY, MilestoneKind.HALF_YEARLY, MilestoneKind.QUARTERLY, MilestoneKind.MONTHLY}


class Milestone(BaseModel):
    """One deadline of a task, as the plan words it and as the connector reads it."""

    phrase: str
    kind: MilestoneKind
    due: date | None = None  # first due date
    start: date | None = None  # first period's start, where known
    rrule: str | None = None  # RFC 5545 RRULE for recurring kinds, e.g. "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31"
    needs_review: bool = False
    # Beyond the public JSON form (issue 2), kept for the later stages:
    years: list[int] = Field(default_factory=list)  # term-based: the calendar years it falls in
    clause: str = ""  # the clause of the task text this milestone closes
    line: int | None = None  # 1-based line in the source document
    flags: list[str] = Field(default_factory=list)  # human-readable reasons for review
    units: list[str] = Field(default_factory=list)  # narrowed to these unit ids (from the mapping)
    unit_kinds: list[str] = Field(default_factory=list)  # narrowed to these unit kinds (from the mapping)
    title: str = ""  # a short label for this milestone set in the plan mapping; "" = use the task's title


class Task(BaseModel):
    number: int
    title: str
    text: str
    lead: list[str] = Field(default_factory=list)
    cooperating: list[str] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)
    line: int | None = None
    # Added for plans of other layouts (issue 9); later stages may ignore them:
    label: str = ""  # the document's own numbering, e.g. "III.2.1.a" or "PL.II.3" (task numbers run 1..N)
    group: str = ""  # the headings the task stands under, " / "-joined
    result: str = ""  # "Sản phẩm" / "Kết quả" the plan expects
    lead_units: list[str] = Field(default_factory=list)  # ids from units.toml the lead names designate
    cooperating_units: list[str] = Field(default_factory=list)
    # Identity across plan versions (issue 10): the number the task had when first synced, so a task a later
    # version renumbers keeps its folder, reports and to-do; 0 = its number. `import` sets it (see plan/command).
    ident: int = 0


class Note(BaseModel):
    """Something of the document the importer could not read, for a person to look at."""

    line: int | None = None
    text: str
    reason: str


class Plan(BaseModel):
    title: str
    code: str = ""  # short slug used in names and UIDs, e.g. "21-kl-tw"
    issuer: str | None = None
    signer: str | None = None
    issued: date | None = None
    year: int | None = None  # the plan's year (issue date, else earliest deadline year)
    term: tuple[int, int] | None = None  # e.g. (2020, 2025)
    number: str | None = None  # the plan's own number as printed, e.g. "980/KH-UBND"
    period: tuple[int, int] | None = None  # the years its title covers ("giai đoạn 2026 - 2030")
    horizon: int | None = None  # last year recurring milestones are expanded to
    annual_report_due: tuple[int, int] = (12, 15)  # (month, day) of the yearly report obligation
    purpose: list[str] = Field(default_factory=list)  # section I paragraphs
    organization: list[str] = Field(default_factory=list)  # section III paragraphs
    tasks: list[Task] = Field(default_factory=list)
    source: str | None = None
    notes: list[Note] = Field(default_factory=list)  # what needs a person's review, with source lines

    def public_json(self) -> dict:
        """The JSON form scripts depend on (issue 2; keys only ever added)."""
        def dates(m: Milestone) -> list[str]:
            if m.kind == MilestoneKind.TERM:
                month, day = (m.due.month, m.due.day) if m.due else (12, 31)
                return [date(y, month, day).isoformat() for y in m.years]
            return [m.due.isoformat()] if m.due else []

        return {
            "title": self.title,
            "code": self.code,
            "number": self.number,
            "issuer": self.issuer,
            "signer": self.signer,
            "issued": self.issued.isoformat() if self.issued else None,
            "year": self.year,
            "period": list(self.period) if self.period else None,
            "term": list(self.term) if self.term else None,
            "horizon": self.horizon,
            "annual_report_due": list(self.annual_report_due),
            "needs_review": bool(self.notes) or any(m.needs_review for t in self.tasks for m in t.milestones),
            "review": [n.model_dump() for n in self.notes],
            "tasks": [
                {
                    "number": t.number,
                    "label": t.label,
                    "group": t.group,
                    "title": t.title,
                    "text": t.text,
                    "lead": t.lead,
                    "cooperating": t.cooperating,
                    "lead_units": t.lead_units,
                    "cooperating_units": t.cooperating_units,
                    "result": t.result,
                    "line": t.line,
                    "milestones": [
                        {
                            "phrase": m.phrase,
                            "kind": m.kind.value,
                            "due": m.due.isoformat() if m.due else None,
                            "start": m.start.isoformat() if m.start else None,
                            "rrule": m.rrule,
                            "needs_review": m.needs_review,
                            "dates": dates(m),
                            "years": m.years,
                            "flags": m.flags,
                            "line": m.line,
                        }
                        for m in t.milestones
                    ],
                }
                for t in self.tasks
            ],
        }


class Unit(BaseModel):
    """A grassroots unit that owes reports; its members are a Nextcloud group."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    group: str
    kind: str = ""
    file_drop: bool = False  # also give it an upload-only public link


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def obligation_key(unit: str, task: int, milestone: int, period: str) -> str:
    """The key of one obligation, made of what does not move: unit id, task identity, milestone, period.

    A one-off milestone's period is its due date, which a new version of the plan may move: its key says
    "once" instead, so the reports filed, the first submission time and the to-do stay with it. Keys of
    registers written before (with the date) read the same way.
    """
    return f"{unit}/{task}/{milestone}/{'once' if _ISO_DAY.fullmatch(period) else period}"


class Obligation(BaseModel):
    """What one unit owes for one milestone in one period: one VTODO, one upload folder, one register row.

    task == 0 and milestone == 0 is the plan's periodic report (section III: "định kỳ hằng năm báo cáo").
    """

    model_config = ConfigDict(frozen=True)

    unit: str
    task: int
    milestone: int  # 1-based index into Task.milestones; 0 for the periodic report
    period: str  # "2022", "2022-H1", "2022-Q1", "2022-02", "2022-02-28" (once), "ongoing"
    due: date | None
    start: date | None = None
    kind: MilestoneKind
    folder: str  # upload folder relative to the plan's root, e.g. "Chi bộ A/03 – Xây dựng kế hoạch/Tháng 02-2022"
    ident: int = 0  # the task's identity across plan versions (Task.ident); 0 = its number

    @property
    def key(self) -> str:
        """Stable across plan versions: see obligation_key."""
        return obligation_key(self.unit, self.ident or self.task, self.milestone, self.period)


class RemoteFile(BaseModel):
    """A file seen in the report tree."""

    path: str  # relative to the plan's root folder, "/"-separated, not percent-encoded
    name: str
    size: int
    uploaded_at: datetime | None  # aware; nc:upload_time or getlastmodified
    href: str = ""
    etag: str | None = None


class Status(StrEnum):
    SUBMITTED_ON_TIME = "submitted_on_time"
    SUBMITTED_LATE = "submitted_late"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    NOT_DUE = "not_due"
    IN_PROGRESS = "in_progress"  # an ongoing ("thường xuyên") task while the plan runs: judged by the yearly report


STATUS_LABELS_VI = {
    Status.SUBMITTED_ON_TIME: "Hoàn thành đúng hạn",
    Status.SUBMITTED_LATE: "Hoàn thành quá hạn",
    Status.OVERDUE: "Quá hạn chưa hoàn thành",
    Status.DUE_SOON: "Sắp đến hạn",
    Status.NOT_DUE: "Chưa đến hạn",
    Status.IN_PROGRESS: "Đang thực hiện",
}
