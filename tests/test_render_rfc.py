"""Every item the connector writes is valid RFC 5545, whatever the plan's dates."""
from __future__ import annotations

from datetime import date

from icalendar import Calendar

from connector.render.ical import build_desired
from connector.schedule import expand
from plan_samples import sample_units, seed_like_plan


def test_a_to_do_starting_on_its_due_day_has_no_dtstart_equal_to_due():
    plan = seed_like_plan()
    units = sample_units(2)
    obligations = [ob.model_copy(update={"start": ob.due}) if ob.due else ob for ob in expand(plan, units)]
    _cals, items = build_desired(plan, units, obligations)
    todos = [c for it in items for c in Calendar.from_ical(it.ics).walk("VTODO")]
    assert todos
    for todo in todos:
        if "DTSTART" in todo and "DUE" in todo:
            assert todo.decoded("DTSTART") < todo.decoded("DUE"), todo["UID"]
    due_only = [t for t in todos if "DUE" in t and "DTSTART" not in t]
    assert any(t.decoded("DUE") >= date(2022, 1, 1) for t in due_only)
