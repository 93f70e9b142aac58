"""Reminders (nhắc hạn): unit members get one Nextcloud notification when an obligation becomes due
soon and one when it becomes overdue; reruns never repeat them; a dry run only lists them.

Replayed against the recorded Nextcloud 29 answers: group members (b6) and the admin notification
(f1, recorded on 29 only; 34 has b6 but no f1).
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
import requests

from connector.dav.http import HttpClient, make_session
from connector.errors import UnreachableError
from connector.models import Status, Unit
from connector.nextcloud.ocs import OCSClient
from connector.register.status import Register, RegisterRow
from connector.reminders import message, pending_reminders, send_reminders
from connector.state import State
from ncfixtures import exchange, register

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
V = "nextcloud-29"
PLAN = "Kế hoạch thực hiện Kết luận số 21-KL/TW"
UNITS = [Unit(id="cb-a", name="Chi bộ A", group="chi-bo-a", kind="chi bộ cơ sở")]


def row(status: Status, *, task: int = 3, period: str = "2022-Q1", due: date = date(2022, 3, 31)) -> RegisterRow:
    return RegisterRow(unit="cb-a", unit_name="Chi bộ A", task=task, task_title="Xây dựng kế hoạch triển khai",
                       milestone=1, period=period, due=due, folder="Chi bộ A/03 – Xây dựng kế hoạch/Quý I-2022",
                       status=status)


def reg(*rows: RegisterRow, as_of: date = date(2022, 3, 25)) -> Register:
    return Register(as_of=as_of, generated_at=datetime(as_of.year, as_of.month, as_of.day, 8, 0, tzinfo=TZ),
                    plan_title=PLAN, plan_code="21-kl-tw", rows=list(rows))


def job(tmp_path, *, dry_run: bool = False):
    """The part of a Job that reminders use; the state is reloaded from disk as a new run would."""
    http = HttpClient(make_session("admin", "test-app-pass"), backoff=0)
    return SimpleNamespace(ocs=OCSClient(http, exchange(V, "f1").base), units=UNITS,
                           state=State.open(tmp_path, "nextcloud:http://127.0.0.1:8080:admin", "21-kl-tw"),
                           dry_run=dry_run, cfg=SimpleNamespace(server=SimpleNamespace(kind="nextcloud")), http=http)


def server(rsps) -> None:
    register(rsps, exchange(V, "b6"))  # chi-bo-a -> ["unit_a"]
    register(rsps, exchange(V, "f1"))  # POST admin_notifications/unit_a -> 200


def notifications(rsps) -> list[dict[str, list[str]]]:
    return [parse_qs(c.request.body if isinstance(c.request.body, str) else c.request.body.decode())
            for c in rsps.calls if c.request.method == "POST"]


def test_due_soon_then_overdue_each_sent_once(tmp_path, rsps):
    server(rsps)
    # A week before the deadline: "sắp đến hạn" goes to every member of the unit's group.
    handled = send_reminders(job(tmp_path), reg(row(Status.DUE_SOON)))
    assert handled == ["cb-a/3/1/2022-Q1:due_soon"]
    sent = notifications(rsps)
    assert len(sent) == 1
    assert rsps.calls[-1].request.url == exchange(V, "f1").url  # .../admin_notifications/unit_a
    assert sent[0]["shortMessage"] == ["Sắp đến hạn: NV 3 – Xây dựng kế hoạch triển khai (hạn 31/03/2022)"]
    assert "Đơn vị: Chi bộ A" in sent[0]["longMessage"][0] and PLAN in sent[0]["longMessage"][0]
    assert all(c.request.headers["OCS-APIRequest"] == "true" for c in rsps.calls)

    # The next hourly run, still due soon: nothing is sent again (the state remembers).
    before = len(rsps.calls)
    assert send_reminders(job(tmp_path), reg(row(Status.DUE_SOON), as_of=date(2022, 3, 26))) == []
    assert len(rsps.calls) == before

    # After the deadline, still nothing filed: one "quá hạn" notice.
    overdue = reg(row(Status.OVERDUE), as_of=date(2022, 4, 1))
    assert send_reminders(job(tmp_path), overdue) == ["cb-a/3/1/2022-Q1:overdue"]
    sent = notifications(rsps)
    assert len(sent) == 2 and sent[1]["shortMessage"][0].startswith("Quá hạn chưa hoàn thành: NV 3")

    # And never again.
    before = len(rsps.calls)
    assert send_reminders(job(tmp_path), reg(row(Status.OVERDUE), as_of=date(2022, 4, 2))) == []
    assert len(rsps.calls) == before


def test_submitted_and_not_yet_due_obligations_get_no_reminder(tmp_path, rsps):
    rows = [row(Status.SUBMITTED_ON_TIME), row(Status.SUBMITTED_LATE, period="2022-Q2"), row(Status.NOT_DUE, period="2022-Q3")]
    assert send_reminders(job(tmp_path), reg(*rows)) == []
    assert len(rsps.calls) == 0


def test_dry_run_lists_what_would_be_sent_and_sends_nothing(tmp_path, rsps, capsys):
    handled = send_reminders(job(tmp_path, dry_run=True), reg(row(Status.DUE_SOON)))
    assert handled == ["cb-a/3/1/2022-Q1:due_soon"]
    assert len(rsps.calls) == 0  # not even the group members are read
    out = capsys.readouterr().out
    assert out.strip() == "would notify group chi-bo-a: Sắp đến hạn: NV 3 – Xây dựng kế hoạch triển khai (hạn 31/03/2022)"
    assert list(tmp_path.glob("*.json")) == []  # the state was not written
    # Nothing was remembered: the real run afterwards still sends it.
    server(rsps)
    assert send_reminders(job(tmp_path), reg(row(Status.DUE_SOON))) == ["cb-a/3/1/2022-Q1:due_soon"]
    assert len(notifications(rsps)) == 1


def test_group_members_are_read_once_per_group(tmp_path, rsps):
    server(rsps)
    register(rsps, exchange(V, "f1"))  # a second notification to unit_a
    rows = [row(Status.DUE_SOON), row(Status.OVERDUE, task=5, period="2022-02", due=date(2022, 2, 28))]
    handled = send_reminders(job(tmp_path), reg(*rows))
    assert len(handled) == 2
    assert [c.request.method for c in rsps.calls] == ["GET", "POST", "POST"]


def test_reminders_sent_before_a_connection_drop_are_not_repeated(tmp_path, rsps):
    """Two reminders due; the server goes away after the first. The rerun sends only the second."""
    server(rsps)
    rsps.add("POST", exchange(V, "f1").url, body=requests.ConnectionError("connection reset"))
    rows = [row(Status.DUE_SOON), row(Status.OVERDUE, task=5, period="2022-02", due=date(2022, 2, 28))]
    with pytest.raises(UnreachableError):
        send_reminders(job(tmp_path), reg(*rows))
    assert len(notifications(rsps)) == 2  # the first went out, the second failed

    register(rsps, exchange(V, "b6"))
    register(rsps, exchange(V, "f1"))
    handled = send_reminders(job(tmp_path), reg(*rows))
    assert handled == ["cb-a/5/1/2022-02:overdue"]
    assert notifications(rsps)[-1]["shortMessage"][0].startswith("Quá hạn chưa hoàn thành: NV 5")


def test_a_refused_notification_is_logged_and_retried_next_run(tmp_path, rsps, caplog):
    register(rsps, exchange(V, "b6"))
    # The notifications app missing on this server: Nextcloud's OCS 404 answer, built from f1's recorded
    # answer (no recording of the refusal exists).
    f1 = exchange(V, "f1")
    rsps.add("POST", f1.url, status=404, json={"ocs": {"meta": {"status": "failure", "statuscode": 404,
                                                                "message": ""}, "data": []}})
    with caplog.at_level(logging.WARNING, logger="plan-connector.reminders"):
        assert send_reminders(job(tmp_path), reg(row(Status.DUE_SOON))) == []
    assert "cb-a/3/1/2022-Q1:due_soon not sent" in caplog.text
    register(rsps, f1)
    register(rsps, exchange(V, "b6"))
    assert send_reminders(job(tmp_path), reg(row(Status.DUE_SOON))) == ["cb-a/3/1/2022-Q1:due_soon"]


def test_without_nextcloud_reminders_are_skipped_with_a_warning(tmp_path, caplog):
    j = SimpleNamespace(ocs=None, units=UNITS, state=State(tmp_path / "s.json"), dry_run=False,
                        cfg=SimpleNamespace(server=SimpleNamespace(kind="dav")))
    with caplog.at_level(logging.WARNING):
        assert send_reminders(j, reg(row(Status.OVERDUE))) == []
    assert "notifications app" in caplog.text and "'dav'" in caplog.text


def test_pending_and_message_for_the_yearly_report():
    yearly = row(Status.OVERDUE, task=0, period="2022", due=date(2022, 12, 15))
    todo = pending_reminders(reg(yearly), {"cb-a/0/1/2022:due_soon": "x"})
    assert [(k, s) for k, s, _ in todo] == [("cb-a/0/1/2022:overdue", "Quá hạn chưa hoàn thành")]
    short, long = message(yearly, "Quá hạn chưa hoàn thành", PLAN)
    assert short == "Quá hạn chưa hoàn thành: báo cáo hằng năm 2022 (hạn 15/12/2022)"
    assert "Nộp báo cáo vào thư mục: Chi bộ A/" in long and len(short) <= 255


def test_a_member_who_could_not_be_notified_does_not_make_the_others_get_it_twice(tmp_path, rsps):
    """chi-bo-a has unit_a and unit_b; unit_b's notification is refused once, then goes through."""
    import json
    from dataclasses import replace

    b6, f1 = exchange(V, "b6"), exchange(V, "f1")
    doc = json.loads(b6.response_body)
    doc["ocs"]["data"]["users"] = ["unit_a", "unit_b"]
    two_members = replace(b6, response_body=json.dumps(doc).encode())  # derived from b6: one more member
    to_b = f1.url.rsplit("/", 1)[0] + "/unit_b"  # f1's endpoint for the other user
    register(rsps, two_members)
    register(rsps, f1)
    rsps.add("POST", to_b, status=404, json={"ocs": {"meta": {"status": "failure", "statuscode": 404, "message": ""},
                                                     "data": []}})
    assert send_reminders(job(tmp_path), reg(row(Status.DUE_SOON))) == []
    assert [c.request.url.rsplit("/", 1)[1] for c in rsps.calls if c.request.method == "POST"] == ["unit_a", "unit_b"]

    register(rsps, two_members)
    register(rsps, f1, url=to_b)
    first = len(rsps.calls)
    assert send_reminders(job(tmp_path), reg(row(Status.DUE_SOON))) == ["cb-a/3/1/2022-Q1:due_soon"]
    again = [c.request.url.rsplit("/", 1)[1] for c in rsps.calls[first:] if c.request.method == "POST"]
    assert again == ["unit_b"]  # unit_a is not notified a second time
    # Complete now: a third run sends nothing at all.
    third = len(rsps.calls)
    assert send_reminders(job(tmp_path), reg(row(Status.DUE_SOON))) == []
    assert len(rsps.calls) == third


def test_many_overdue_obligations_come_as_one_notice_per_member(tmp_path, rsps):
    """An old plan synced for the first time owes dozens at once: one notice lists them, not one each."""
    server(rsps)
    rows = [row(Status.OVERDUE, task=t, period="2022-02", due=date(2022, 2, 28)) for t in range(1, 13)]
    handled = send_reminders(job(tmp_path), reg(*rows))
    assert len(handled) == 12
    sent = notifications(rsps)
    assert len(sent) == 1
    assert sent[0]["shortMessage"] == ["Quá hạn chưa hoàn thành: 12 nghĩa vụ của Chi bộ A"]
    assert sent[0]["longMessage"][0].count("\n- NV ") == 12
    assert send_reminders(job(tmp_path), reg(*rows)) == []  # and never again
