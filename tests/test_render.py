"""Render: the folder names, calendars and iCalendar items a coordinator and the units will see."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from connector.models import Plan, Task, Unit
from connector.render import names
from connector.render.ical import DesiredItem, RenderOptions, build_desired, model_hash, read_marker
from connector.schedule import expand
from plan_samples import large_plan, sample_units, seed_like_plan

UNSAFE = set('/\\:*?"<>|')
UID_CHARS = re.compile(r"^[a-z0-9-]+$")


def render(plan: Plan | None = None, units: list[Unit] | None = None, **kw):
    plan = plan or seed_like_plan()
    units = units if units is not None else sample_units(8)
    return build_desired(plan, units, expand(plan, units), **kw)


def by_uid(items: list[DesiredItem]) -> dict[str, DesiredItem]:
    return {i.uid: i for i in items}


def component(item: DesiredItem):
    cal = Calendar.from_ical(item.ics)
    (comp,) = [c for c in cal.subcomponents if c.name in ("VEVENT", "VTODO")]
    return comp


def unfolded(ics: str) -> list[str]:
    return re.sub(r"\r\n[ \t]", "", ics).split("\r\n")


# --- names -----------------------------------------------------------------------------------

def test_slug_strips_vietnamese_diacritics_and_d_stroke():
    assert names.slug("Đảng ủy Khối – Chi bộ Sở Tư pháp!") == "dang-uy-khoi-chi-bo-so-tu-phap"
    assert names.slug("  21-KL/TW ") == "21-kl-tw"


def test_folder_names_are_nfc_and_path_safe_even_from_decomposed_input():
    decomposed = unicodedata.normalize("NFD", 'Chi bộ "Phòng" Kế: toán/Tài vụ. ')
    folder = names.unit_folder(Unit(id="x", name=decomposed, group="g"))
    assert folder == "Chi bộ -Phòng- Kế- toán-Tài vụ"
    assert unicodedata.is_normalized("NFC", folder)
    assert names.unit_folder(Unit(id="cb-a", name="...", group="g")) == "cb-a"

    task = Task(number=3, title=unicodedata.normalize("NFD", "Xây dựng kế hoạch triển khai Kết luận số 21-KL/TW, ngày "
                                                             "25/10/2021 của Ban Chấp hành Trung ương"), text="…")
    folder = names.task_folder(task)
    assert folder.startswith("03 – Xây dựng kế hoạch triển khai Kết luận số 21-KL-TW")
    assert len(folder) <= 70 and not (set(folder) & UNSAFE) and unicodedata.is_normalized("NFC", folder)
    assert names.task_folder(Task(number=3, title="Xây dựng kế hoạch triển khai", text="")) == (
        "03 – Xây dựng kế hoạch triển khai")


@pytest.mark.parametrize(("kind", "period", "due", "expected"), [
    ("once", "2022-02-28", date(2022, 2, 28), "Tháng 02-2022"),
    ("once", "2022-02-15", date(2022, 2, 15), "Hạn 15-02-2022"),
    ("yearly", "2023", date(2023, 12, 31), "Năm 2023"),
    ("term", "2021", date(2021, 12, 31), "Năm 2021"),
    ("report", "2022", date(2022, 12, 15), "Năm 2022"),
    ("half_yearly", "2022-H1", date(2022, 6, 30), "6 tháng đầu năm 2022"),
    ("half_yearly", "2022-H2", date(2022, 12, 31), "6 tháng cuối năm 2022"),
    ("quarterly", "2022-Q3", date(2022, 9, 30), "Quý III-2022"),
    ("monthly", "2022-02", date(2022, 2, 28), "Tháng 02-2022"),
    ("ongoing", "ongoing", None, "Thường xuyên"),
    ("unknown", "unknown", date(2022, 5, 10), "Hạn 10-05-2022"),
])
def test_period_folders(kind, period, due, expected):
    assert names.period_folder(kind, period, due) == expected


def test_collections_are_named_by_plan_code_and_unit_id():
    plan, unit = seed_like_plan(), sample_units(1)[0]
    assert names.calendar_slug(plan, "deadlines") == "pc-21-kl-tw-han"
    assert names.calendar_slug(plan, "overview") == "pc-21-kl-tw-tong-hop"
    assert names.calendar_slug(plan, "unit", unit) == "pc-21-kl-tw-cb-a"
    assert names.calendar_displayname(plan, "deadlines") == "Hạn nhiệm vụ – KH 21-KL/TW"
    assert names.calendar_displayname(plan, "overview") == "Theo dõi thực hiện – KH 21-KL/TW"
    assert names.calendar_displayname(plan, "unit", unit) == "Nhiệm vụ – Chi bộ A"
    # without a document number in the title, the label comes from the code
    assert names.plan_label(Plan(title="Kế hoạch", code="65-kh-tu")) == "KH 65-KH/TU"


def test_unit_ids_that_slug_alike_or_clash_with_our_calendars_get_a_hash():
    assert names.unit_slug("cb-a") == "cb-a"
    twins = {names.unit_slug("CB_A"), names.unit_slug("cb a"), names.unit_slug("cb-a")}
    assert len(twins) == 3 and all(UID_CHARS.match(s) for s in twins)
    assert names.unit_slug("han") != "han" and names.unit_slug("tong-hop") != "tong-hop"
    assert names.unit_slug("CB_A") == names.unit_slug("CB_A")  # stable


def test_uids_are_deterministic_and_independent_of_the_unit_name():
    plan = seed_like_plan()
    renamed = [Unit(id="cb-a", name="Chi bộ A (mới)", group="chi-bo-a", kind="chi bộ cơ sở")]
    before = {i.uid for i in render(plan, sample_units(1))[1]}
    after = {i.uid for i in render(plan, renamed)[1]}
    assert before == after
    assert "pc-21-kl-tw-ev-t07-m2" in before
    assert "pc-21-kl-tw-ev-t00-m0" in before
    assert "pc-21-kl-tw-td-cb-a-t07-m2-2024" in before
    assert "pc-21-kl-tw-td-cb-a-t01-m2-once" in before
    assert "pc-21-kl-tw-ov-t07" in before and "pc-21-kl-tw-ov-t07-m2" in before


# --- calendars -------------------------------------------------------------------------------

def test_deadline_calendar_is_shared_with_every_unit_and_the_coordinators():
    calendars, _ = render(coordinator_groups=["ban-to-chuc-duk"], publish=True)
    deadlines, overview, *unit_lists = calendars
    assert deadlines.components == ["VEVENT"] and deadlines.publish
    assert deadlines.share_groups == [u.group for u in sample_units(8)] + ["ban-to-chuc-duk"]
    assert overview.components == ["VTODO"] and overview.share_groups == ["ban-to-chuc-duk"] and not overview.publish
    assert [(c.slug, c.share_groups, c.unit) for c in unit_lists[:2]] == [
        ("pc-21-kl-tw-cb-a", ["chi-bo-a"], "cb-a"), ("pc-21-kl-tw-du-vnpt", ["dang-uy-vnpt"], "du-vnpt")]
    assert len(unit_lists) == 8


def test_the_shared_layout_has_one_task_list_every_unit_group_and_the_coordinators_see():
    calendars, items = render(coordinator_groups=["ban-to-chuc-duk"], task_lists="shared")
    assert [c.slug for c in calendars] == ["pc-21-kl-tw-han", "pc-21-kl-tw-tong-hop", "pc-21-kl-tw-nhiem-vu-cac-don-vi"]
    tasks = calendars[2]
    assert tasks.displayname == "Nhiệm vụ các đơn vị – KH 21-KL/TW" and tasks.components == ["VTODO"]
    assert tasks.share_groups == [u.group for u in sample_units(8)] + ["ban-to-chuc-duk"] and tasks.unit is None
    assert {i.calendar for i in items if "-td-" in i.uid} == {tasks.slug}


def test_shared_todos_name_their_unit_and_keep_the_uids_of_the_per_unit_layout():
    _, per_unit = render()
    _, shared = render(task_lists="shared")
    assert [i.uid for i in shared] == [i.uid for i in per_unit]  # switching layouts moves the same to-dos
    same = {i.uid: i for i in per_unit}
    for item in shared:
        if "-td-" not in item.uid:
            assert item.ics == same[item.uid].ics  # events and the overview do not change
    todo = component(by_uid(shared)["pc-21-kl-tw-td-du-vnpt-t07-m2-2024"])
    assert str(todo["SUMMARY"]).startswith("[Đảng ủy Viễn thông tỉnh] NV 7 – ")
    assert [str(c) for c in todo["CATEGORIES"].cats] == ["KH 21-KL/TW", "Đảng ủy Viễn thông tỉnh"]
    plain = component(same["pc-21-kl-tw-td-du-vnpt-t07-m2-2024"])
    assert str(todo["SUMMARY"]) == "[Đảng ủy Viễn thông tỉnh] " + str(plain["SUMMARY"])


def test_a_unit_name_with_a_comma_stays_one_category():
    units = [Unit(id="cb-a", name="Chi bộ Văn phòng, Sở Tư pháp", group="g", kind="chi bộ cơ sở")]
    _, items = render(units=units, task_lists="shared")
    todo = component(next(i for i in items if "-td-" in i.uid))
    assert [str(c) for c in todo["CATEGORIES"].cats][1] == "Chi bộ Văn phòng, Sở Tư pháp"


def test_an_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="task_lists"):
        render(task_lists="per_group")


# --- items -----------------------------------------------------------------------------------

def test_every_item_parses_back_and_carries_uid_plan_marker_and_hash():
    _, items = render(options=RenderOptions(folder_url=lambda p: f"https://nc.example/f/{p}"))
    assert len(items) == len({i.uid for i in items}), "UIDs must be unique across the desired set"
    for item in items:
        assert UID_CHARS.match(item.uid)
        assert item.ics.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//plan-connector//vi\r\n")
        assert "\n" not in item.ics.replace("\r\n", "")
        assert all(len(line.encode()) <= 75 for line in item.ics.split("\r\n"))
        assert unicodedata.is_normalized("NFC", item.ics)
        comp = component(item)
        assert str(comp["UID"]) == item.uid
        assert comp["DTSTAMP"].to_ical() == b"20200101T000000Z"
        assert str(comp["X-PLAN-CONNECTOR-PLAN"]) == "21-kl-tw"
        assert str(comp["X-PLAN-CONNECTOR-HASH"]) == item.hash == model_hash(item.model)
        assert read_marker(item.ics) == ("21-kl-tw", item.hash)
        assert read_marker(item.ics.encode()) == ("21-kl-tw", item.hash)


def test_all_day_values_are_dates_never_date_times():
    plan, units = seed_like_plan(), sample_units(2)
    obligations = expand(plan, units)
    done = {obligations[0].key: datetime(2022, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=7)))}
    _, items = build_desired(plan, units, obligations, completions=done)
    seen = 0
    for item in items:
        for line in unfolded(item.ics):
            if line.startswith(("DTSTART", "DTEND", "DUE", "RDATE")):
                assert ";VALUE=DATE:" in line, line
                seen += 1
            if line.startswith(("DTSTAMP", "COMPLETED")):
                assert re.fullmatch(r"[A-Z]+:\d{8}T\d{6}Z", line), line  # the only DATE-TIMEs: UTC
        assert "TZID" not in item.ics
        comp = component(item)
        for prop in ("DTSTART", "DTEND", "DUE"):
            if prop in comp:
                value = comp[prop].dt
                assert isinstance(value, date) and not isinstance(value, datetime)
    assert seen > 40


def test_same_input_renders_byte_identically():
    first = render()
    second = render()
    assert first == second
    assert [i.ics for i in first[1]] == [i.ics for i in second[1]]


def test_deadline_events_for_once_recurring_and_term_milestones():
    items = by_uid(render()[1])
    once = component(items["pc-21-kl-tw-ev-t02-m1"])
    assert once["DTSTART"].dt == date(2022, 3, 31) and once["DTEND"].dt == date(2022, 4, 1)
    assert str(once["SUMMARY"]) == "Hạn NV 2: Mở đợt sinh hoạt chính trị sâu rộng trong các đảng bộ, chi bộ về xây dựng…"
    description = str(once["DESCRIPTION"])
    assert "Thời hạn: hoàn thành trong quý I/2022" in description
    assert "Hạn: 31/03/2022" in description
    assert "Các đơn vị: Chi bộ A, Đảng ủy Viễn thông tỉnh" in description
    assert "RRULE" not in once

    yearly = component(items["pc-21-kl-tw-ev-t07-m2"])
    assert yearly["DTSTART"].dt == date(2022, 12, 31)
    rule = yearly["RRULE"]
    assert rule["FREQ"] == ["YEARLY"] and rule["BYMONTHDAY"] == [31] and rule["UNTIL"] == [date(2025, 12, 31)]
    assert str(yearly["SUMMARY"]).startswith("Hạn NV 7 (mốc 2): ")

    term = component(items["pc-21-kl-tw-ev-t11-m1"])
    assert term["DTSTART"].dt == date(2021, 12, 31)
    assert [d.dt for d in term["RDATE"].dts] == [date(2023, 12, 31)]
    assert "Cần rà soát thời hạn" in str(term["DESCRIPTION"])

    report = component(items["pc-21-kl-tw-ev-t00-m0"])
    assert str(report["SUMMARY"]).startswith("Hạn báo cáo hằng năm")
    assert report["DTSTART"].dt == date(2022, 12, 15)
    assert report["RRULE"]["BYMONTH"] == [12] and report["RRULE"]["BYMONTHDAY"] == [15]

    assert "pc-21-kl-tw-ev-t06-m1" not in items  # ongoing: no date, no event


def test_every_deadline_event_reminds_seven_days_and_one_day_before():
    _, items = render()
    events = [i for i in items if "-ev-" in i.uid]
    assert len(events) == 8  # NV1 ×2, NV2, NV7 ×2, NV11, NV18, yearly report
    for item in events:
        alarms = list(component(item).walk("VALARM"))
        assert [a["TRIGGER"].dt for a in alarms] == [timedelta(days=-7), timedelta(days=-1)]
        assert all(str(a["ACTION"]) == "DISPLAY" and str(a["DESCRIPTION"]).startswith("Còn ") for a in alarms)
        assert "TRIGGER;RELATED=START:-P7D" in item.ics and "TRIGGER;RELATED=START:-P1D" in item.ics


def test_events_name_the_lead_unit_or_count_many_units_and_link_one_place():
    plan = seed_like_plan()
    plan.tasks[1].lead = ["Ban Tuyên giáo Đảng ủy Khối"]
    plan.tasks[1].cooperating = ["Đoàn Thanh niên Khối"]
    options = RenderOptions(folder_url=lambda p: f"https://nc.example/f/{p}" if p else "https://nc.example/f/")
    items = by_uid(render(plan, sample_units(3), options=options)[1])
    text = str(component(items["pc-21-kl-tw-ev-t02-m1"])["DESCRIPTION"])
    assert "Đơn vị chủ trì: Ban Tuyên giáo Đảng ủy Khối" in text and "Đơn vị phối hợp: Đoàn Thanh niên Khối" in text
    assert "Thư mục nộp báo cáo: https://nc.example/f/" in text and "Chi bộ A/" not in text  # one place, not per unit

    items = by_uid(render(plan, sample_units(40), options=options)[1])
    text = str(component(items["pc-21-kl-tw-ev-t18-m1"])["DESCRIPTION"])
    assert "Các đơn vị: 40 đơn vị" in text
    assert "Thư mục nộp báo cáo: https://nc.example/f/" in text and "Chi bộ A/" not in text


def test_unit_todos_say_what_is_due_when_and_where_to_upload():
    options = RenderOptions(folder_url=lambda p: f"https://nc.example/f/{p}")
    items = by_uid(render(options=options)[1])
    todo = component(items["pc-21-kl-tw-td-cb-a-t07-m2-2023"])
    assert str(todo["SUMMARY"]) == "NV 7 – Xây dựng Kế hoạch thực hiện Kết luận phù hợp với chức năng, nhiệm vụ… (Năm 2023)"
    assert todo["DUE"].dt == date(2023, 12, 31) and todo["DTSTART"].dt == date(2023, 1, 1)
    assert str(todo["STATUS"]) == "NEEDS-ACTION"
    text = str(todo["DESCRIPTION"])
    assert "Thời hạn: thực hiện hằng năm từ năm 2022" in text and "Hạn nộp: 31/12/2023" in text
    folder = "Chi bộ A/07 – Xây dựng Kế hoạch thực hiện Kết luận phù hợp với chức năng…/Năm 2023"
    assert f"Thư mục nộp báo cáo: {folder}" in text and f"Liên kết: https://nc.example/f/{folder}" in text
    assert items["pc-21-kl-tw-td-cb-a-t07-m2-2023"].calendar == "pc-21-kl-tw-cb-a"

    ongoing = component(items["pc-21-kl-tw-td-cb-a-t06-m1-ongoing"])
    assert "DUE" not in ongoing and "DTSTART" not in ongoing

    report = component(items["pc-21-kl-tw-td-du-vnpt-t00-m0-2025"])
    assert str(report["SUMMARY"]) == "Báo cáo hằng năm (Năm 2025)" and report["DUE"].dt == date(2025, 12, 15)


def test_submitted_reports_complete_the_todos_and_move_the_overview():
    plan, units = seed_like_plan(), sample_units(3)
    obligations = expand(plan, units)
    at = datetime(2022, 2, 25, 10, 15, tzinfo=timezone(timedelta(hours=7)))
    done_nv2 = {ob.key: at for ob in obligations if ob.task == 2 and ob.unit != "ban-to-chuc"}
    _, before = build_desired(plan, units, obligations)
    _, after = build_desired(plan, units, obligations, completions=done_nv2)
    before, after = by_uid(before), by_uid(after)

    todo = component(after["pc-21-kl-tw-td-cb-a-t02-m1-once"])
    assert str(todo["STATUS"]) == "COMPLETED" and int(todo["PERCENT-COMPLETE"]) == 100
    assert todo["COMPLETED"].dt == datetime(2022, 2, 25, 3, 15, tzinfo=timezone.utc)
    assert "COMPLETED:20220225T031500Z" in after["pc-21-kl-tw-td-cb-a-t02-m1-once"].ics
    assert str(component(after["pc-21-kl-tw-td-ban-to-chuc-t02-m1-once"])["STATUS"]) == "NEEDS-ACTION"

    sub = component(after["pc-21-kl-tw-ov-t02-m1"])
    assert int(sub["PERCENT-COMPLETE"]) == 66 and str(sub["STATUS"]) == "IN-PROCESS" and "COMPLETED" not in sub
    assert str(sub["RELATED-TO"]) == "pc-21-kl-tw-ov-t02" and sub["RELATED-TO"].params["RELTYPE"] == "PARENT"
    assert int(component(before["pc-21-kl-tw-ov-t02-m1"])["PERCENT-COMPLETE"]) == 0

    changed = {uid for uid in after if after[uid].ics != before[uid].ics}
    assert changed == {"pc-21-kl-tw-td-cb-a-t02-m1-once", "pc-21-kl-tw-td-du-vnpt-t02-m1-once",
                       "pc-21-kl-tw-ov-t02-m1", "pc-21-kl-tw-ov-t02"}

    later = datetime(2022, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=7)))
    all_nv2 = {**done_nv2, "ban-to-chuc/2/1/once": later}
    parent = component(by_uid(build_desired(plan, units, obligations, completions=all_nv2)[1])["pc-21-kl-tw-ov-t02"])
    assert str(parent["STATUS"]) == "COMPLETED" and int(parent["PERCENT-COMPLETE"]) == 100
    assert parent["COMPLETED"].dt == datetime(2022, 3, 1, 1, 0, tzinfo=timezone.utc)  # the latest submission


def test_moving_one_due_date_changes_only_that_milestones_items():
    plan, units = seed_like_plan(), sample_units(8)
    _, before = render(plan, units)
    moved = seed_like_plan()
    moved.tasks[1].milestones[0].due = date(2022, 4, 30)  # NV 2: quý I → tháng 4
    _, after = render(moved, units)
    before, after = by_uid(before), by_uid(after)
    assert before.keys() == after.keys()
    changed = {uid for uid in after if after[uid].hash != before[uid].hash}
    assert changed == ({"pc-21-kl-tw-ev-t02-m1", "pc-21-kl-tw-ov-t02-m1"}
                       | {f"pc-21-kl-tw-td-{u.id}-t02-m1-once" for u in units})
    assert component(after["pc-21-kl-tw-td-cb-a-t02-m1-once"])["DUE"].dt == date(2022, 4, 30)


def test_task_text_with_separators_and_nfd_reads_back_exactly_from_every_item():
    tricky = unicodedata.normalize("NFD", "Hạn: 31/12; đơn vị A, B \\ C\nDòng 2\r\nDòng 3 “tự diễn biến” " * 6)
    plan, units = seed_like_plan(), sample_units(1)
    plan.tasks[0].text = tricky
    _, items = build_desired(plan, units, expand(plan, units))
    readable = unicodedata.normalize("NFC", tricky).replace("\r\n", "\n")
    carrying = [i for i in items if "-ov-t01-" not in i.uid and ("-t01-" in i.uid or i.uid.endswith("-ov-t01"))]
    assert {i.uid.split("-")[4] for i in carrying} == {"ev", "ov", "td"}
    for item in carrying:
        assert all(len(physical.encode()) <= 75 for physical in item.ics.split("\r\n"))
        assert readable in str(component(item)["DESCRIPTION"]), item.uid


def test_the_hash_follows_the_model_and_the_text_is_made_only_when_asked_for():
    a = by_uid(render()[1])["pc-21-kl-tw-td-cb-a-t02-m1-once"]
    b = by_uid(render()[1])["pc-21-kl-tw-td-cb-a-t02-m1-once"]
    assert "ics" not in vars(a)  # built, hashed, not serialized
    assert a.hash == b.hash and a.ics == b.ics
    other = DesiredItem(a.calendar, a.uid, (a.model[0], a.model[1][:-1], a.model[2]))
    assert other.hash != a.hash


def test_read_marker_survives_a_server_reserializing_the_item_and_ignores_foreign_items():
    item = by_uid(render()[1])["pc-21-kl-tw-td-cb-a-t02-m1-once"]
    reserialized = Calendar.from_ical(item.ics).to_ical()  # other property order, other folding
    assert read_marker(reserialized) == ("21-kl-tw", item.hash)
    personal = b"BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:abc\r\nSUMMARY:Vi\xe1\xbb\x87c ri\xc3\xaang\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    assert read_marker(personal) == (None, None)


def test_nineteen_tasks_for_three_hundred_units_render_one_todo_per_obligation():
    """Correctness at scale; the speed is measured by scripts/bench.py, not by a timed test."""
    plan, units = large_plan(19), sample_units(300)
    obligations = expand(plan, units)
    calendars, items = build_desired(plan, units, obligations)
    todos = sum(1 for i in items if "-td-" in i.uid)
    assert todos == len(obligations) > 10_000 and len(calendars) == 302
    assert len({i.uid for i in items}) == len(items)


@pytest.mark.server
def test_a_caldav_server_accepts_every_rendered_item_and_keeps_the_marker(embedded, dav_session):
    calendars, items = render(units=sample_units(1))
    for cal in calendars:
        comps = "".join(f'<C:comp name="{c}"/>' for c in cal.components)
        body = ('<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
                f"<D:displayname>{cal.displayname}</D:displayname>"
                f"<C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set>"
                "</D:prop></D:set></C:mkcalendar>")
        r = dav_session.request("MKCALENDAR", f"{embedded.calendar_home}{cal.slug}/", data=body.encode(),
                                headers={"Content-Type": "application/xml; charset=utf-8"})
        assert r.status_code == 201, (cal.slug, r.status_code, r.text[:200])
    for item in items:
        r = dav_session.put(f"{embedded.calendar_home}{item.calendar}/{item.uid}.ics", data=item.ics.encode(),
                            headers={"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
        assert r.status_code == 201, (item.uid, r.status_code, r.text[:200])
    sample = by_uid(items)["pc-21-kl-tw-ev-t11-m1"]
    fetched = dav_session.get(f"{embedded.calendar_home}{sample.calendar}/{sample.uid}.ics")
    assert fetched.status_code == 200
    assert read_marker(fetched.content) == ("21-kl-tw", sample.hash)
