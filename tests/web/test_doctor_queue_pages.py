"""The doctor's live queue page through the real app: my waiting patients in order with their
waits, call next and every move as plain forms that follow the queue API's rules, refusals in
words that change nothing, the form's token, who may see it, other tenants' queues hidden."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from clinicflow.identity.models import User
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory
from tests.factories import make_clinic
from tests.web.staff import WEEK, Browser, Day, at, clinic_day
from tests.web.test_visit_pages import make_desk


@pytest.fixture
async def day(database: Database, make_client: ClientFactory) -> Day:
    return await clinic_day(database, make_client)


async def check_in(
    day: Day, desk: str, starts: datetime, patient: User, doctor: User | None = None
) -> dict[str, Any]:
    """Book `patient` at `starts` and check them in at the desk now (as the desk does)."""
    booked = await day.book(starts, patient=patient, doctor=doctor)
    arrived = await day.api.post(
        f"/api/v1/appointments/{booked['id']}/check-in", json={"location_id": desk}, headers=day.admin
    )
    assert arrived.status_code == 201, arrived.text
    entry: dict[str, Any] = arrived.json()
    return entry


async def queue_of(day: Day, desk: str) -> dict[str, Any]:
    shown = await day.api.get(f"/api/v1/queues/{desk}", headers=day.admin)
    assert shown.status_code == 200, shown.text
    body: dict[str, Any] = shown.json()
    return body


async def status_of(day: Day, appointment_id: str) -> str:
    shown = await day.api.get(f"/api/v1/appointments/{appointment_id}", headers=day.admin)
    assert shown.status_code == 200, shown.text
    return str(shown.json()["status"])


def waiting_names(html: str) -> list[str]:
    """The patients of the page's waiting table, in the order shown."""
    rows = re.findall(r'<tr class="waiting[^"]*">(.*?)</tr>', html, flags=re.S)
    return [re.findall(r"<td>([^<]*)</td>", row)[1] for row in rows]


@pytest.fixture
async def desk(day: Day) -> str:
    return await make_desk(day, "Ground floor desk")


@pytest.fixture
async def doctor(day: Day) -> Browser:
    return await day.browser(day.doctor)


async def three_waiting(day: Day, desk: str) -> list[dict[str, Any]]:
    """Pat (09:00) arrives at 09:00; Ben (09:30) and Cleo (08:30, late) at 09:05; it is 09:12."""
    ben = await day.person(Role.PATIENT, "Ben Early")
    cleo = await day.person(Role.PATIENT, "Cleo Late")
    pat = await check_in(day, desk, at(9), day.patient)
    day.clock.set(at(9, 5))
    seated = [pat, await check_in(day, desk, at(9, 30), ben), await check_in(day, desk, at(8, 30), cleo)]
    day.clock.set(at(9, 12))
    return seated


async def test_my_queue_lists_my_waiting_patients_in_order_with_their_waits(
    day: Day, desk: str, doctor: Browser
) -> None:
    pat, ben, cleo = await three_waiting(day, desk)
    page = await doctor.get("/doctor/queue")  # the only check-in location: chosen by default
    assert page.status_code == 200, page.text
    assert "My queue: Ground floor desk" in page.text
    assert '<a href="/doctor/queue">Queue</a>' in page.text
    assert waiting_names(page.text) == ["Pat Jones", "Ben Early", "Cleo Late"]
    waited = re.findall(r'<td class="waited">(\d+) min', page.text)
    assert waited == ["12", "7", "7"]
    assert page.text.count('<span class="tag late">late</span>') == 1
    assert cleo["late"] is True
    for entry in (pat, ben, cleo):
        assert f'<strong class="ticket">{entry["ticket"]}</strong>' in page.text
        assert f'action="/doctor/queue/entries/{entry["id"]}/skip"' in page.text
        assert f'action="/doctor/queue/entries/{entry["id"]}/start"' not in page.text  # not called yet
    assert f'sse-connect="/api/v1/events/stream?channels=queue:{desk}"' in page.text
    assert "sse:queue.updated" in page.text
    assert "sse:reset" in page.text
    assert f'hx-get="/doctor/queue?location={desk}"' in page.text
    chosen = await doctor.get("/doctor/queue", location=desk)
    assert waiting_names(chosen.text) == ["Pat Jones", "Ben Early", "Cleo Late"]


async def test_call_next_then_start_and_complete_move_the_visit(day: Day, desk: str, doctor: Browser) -> None:
    pat, _, _ = await three_waiting(day, desk)
    called = await doctor.post("/doctor/queue/call-next", {"location": desk})
    assert called.status_code == 303, called.text
    assert called.headers["location"] == f"/doctor/queue?location={desk}&done=called"
    page = await doctor.get("/doctor/queue", location=desk, done="called")
    assert "The next patient is called." in page.text
    assert waiting_names(page.text) == ["Ben Early", "Cleo Late"]
    assert re.search(r'<li class="status-called"><strong class="ticket">[^<]+</strong> Pat Jones', page.text)
    assert f'action="/doctor/queue/entries/{pat["id"]}/start"' in page.text
    assert f'action="/doctor/queue/entries/{pat["id"]}/no-show"' in page.text
    queue = await queue_of(day, desk)
    assert [e["check_in_id"] for e in queue["called"]] == [pat["id"]]
    assert await status_of(day, pat["appointment_id"]) == "checked_in"  # until the consult starts
    day.clock.set(at(9, 14))
    started = await doctor.post(f"/doctor/queue/entries/{pat['id']}/start", {"location": desk})
    assert started.status_code == 303, started.text
    assert started.headers["location"] == f"/doctor/queue?location={desk}&done=start"
    assert await status_of(day, pat["appointment_id"]) == "in_consultation"
    day.clock.set(at(9, 20))
    page = await doctor.get("/doctor/queue", location=desk)
    since = r'Pat Jones — in consultation since\s*<time datetime="[^"]+">09:14</time>\s*\(6 min\)'
    assert re.search(since, page.text), page.text
    done = await doctor.post(f"/doctor/queue/entries/{pat['id']}/complete", {"location": desk})
    assert done.status_code == 303, done.text
    assert await status_of(day, pat["appointment_id"]) == "completed"
    page = await doctor.get("/doctor/queue", location=desk, done="complete")
    assert "The consultation is completed." in page.text
    assert "Nobody is called or with you." in page.text


async def test_recall_skip_and_no_show_follow_the_queue(day: Day, desk: str, doctor: Browser) -> None:
    pat, ben, _ = await three_waiting(day, desk)
    assert (await doctor.post("/doctor/queue/call-next", {"location": desk})).status_code == 303
    recalled = await doctor.post(f"/doctor/queue/entries/{pat['id']}/recall", {"location": desk})
    assert recalled.status_code == 303, recalled.text
    page = await doctor.get("/doctor/queue", location=desk)
    assert "called again once" in page.text
    skipped = await doctor.post(f"/doctor/queue/entries/{pat['id']}/skip", {"location": desk})
    assert skipped.status_code == 303, skipped.text
    page = await doctor.get("/doctor/queue", location=desk)
    assert waiting_names(page.text) == ["Ben Early", "Cleo Late", "Pat Jones"]  # late now, queued again
    assert (await doctor.post("/doctor/queue/call-next", {"location": desk})).status_code == 303
    queue = await queue_of(day, desk)
    assert [e["check_in_id"] for e in queue["called"]] == [ben["id"]]
    missed = await doctor.post(f"/doctor/queue/entries/{ben['id']}/no-show", {"location": desk})
    assert missed.status_code == 303, missed.text
    assert await status_of(day, ben["appointment_id"]) == "no_show"
    assert (await queue_of(day, desk))["called"] == []


async def test_a_refused_move_is_said_in_words_and_changes_nothing(
    day: Day, desk: str, doctor: Browser
) -> None:
    other = await day.person(Role.DOCTOR, "Dr Ben Other", clinic_id=day.clinic.id)
    plan = {"clinic_id": str(day.clinic.id), "min_notice_minutes": 0, "rules": WEEK}
    put = await day.api.put(f"/api/v1/doctors/{other.id}/availability", json=plan, headers=day.admin)
    assert put.status_code == 200, put.text
    theirs = await check_in(day, desk, at(9, 30), day.patient, doctor=other)
    empty = await doctor.post("/doctor/queue/call-next", {"location": desk})
    assert empty.status_code == 409
    assert "Nobody is waiting for this doctor here today" in empty.text
    assert "Nobody is waiting for you here." in empty.text
    assert "1 for other doctors" in empty.text
    queue = await queue_of(day, desk)
    assert [e["check_in_id"] for e in queue["waiting"]] == [theirs["id"]]
    assert queue["called"] == []
    early = await doctor.post(f"/doctor/queue/entries/{theirs['id']}/start", {"location": desk})
    assert early.status_code == 409
    assert "A queue entry that is waiting cannot start" in early.text
    assert 'role="alert"' in early.text
    assert [e["status"] for e in (await queue_of(day, desk))["waiting"]] == ["waiting"]
    assert await status_of(day, theirs["appointment_id"]) == "checked_in"


async def test_the_forms_need_their_token(day: Day, desk: str, doctor: Browser) -> None:
    pat, _, _ = await three_waiting(day, desk)
    refused = await doctor.post("/doctor/queue/call-next", {"location": desk}, csrf=False)
    assert refused.status_code == 403
    skipped = await doctor.post(f"/doctor/queue/entries/{pat['id']}/skip", {"location": desk}, csrf=False)
    assert skipped.status_code == 403
    queue = await queue_of(day, desk)
    assert queue["called"] == []
    assert queue["waiting"][0]["check_in_id"] == pat["id"]
    assert queue["waiting"][0]["skip_count"] == 0


async def test_the_queue_is_for_doctors_and_anonymous_visitors_sign_in(day: Day, desk: str) -> None:
    pat = await check_in(day, desk, at(9), day.patient)
    anonymous = day.make_client(clock=day.clock)
    page = await anonymous.get("/doctor/queue", params={"location": desk})
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=%2Fdoctor%2Fqueue")
    posted = await anonymous.post("/doctor/queue/call-next", data={"location": desk})
    assert posted.status_code == 303
    patient = await day.browser(day.patient)
    assert (await patient.get("/doctor/queue")).status_code == 403
    refused = await patient.post(f"/doctor/queue/entries/{pat['id']}/skip", {"location": desk})
    assert refused.status_code == 403
    nurse = await day.browser(await day.person(Role.NURSE, "Nina Nurse", clinic_id=day.clinic.id))
    assert (await nurse.get("/doctor/queue")).status_code == 403
    assert (await queue_of(day, desk))["waiting"][0]["skip_count"] == 0


async def test_another_tenants_queue_is_not_found(
    day: Day, desk: str, doctor: Browser, database: Database, make_client: ClientFactory
) -> None:
    other = await clinic_day(database, make_client)
    their_desk = await make_desk(other)
    theirs = await check_in(other, their_desk, at(9), other.patient)
    page = await doctor.get("/doctor/queue", location=their_desk)
    assert page.status_code == 404
    assert other.clinic.name not in page.text
    assert (await doctor.get("/doctor/queue", location="not-a-location")).status_code == 404
    called = await doctor.post("/doctor/queue/call-next", {"location": their_desk})
    assert called.status_code == 404
    skipped = await doctor.post(f"/doctor/queue/entries/{theirs['id']}/skip", {"location": desk})
    assert skipped.status_code == 404
    queue = await queue_of(other, their_desk)
    assert [e["check_in_id"] for e in queue["waiting"]] == [theirs["id"]]
    assert queue["waiting"][0]["skip_count"] == 0


async def test_without_check_in_locations_the_page_says_so(day: Day, doctor: Browser) -> None:
    page = await doctor.get("/doctor/queue")
    assert page.status_code == 200, page.text
    assert "None of your clinics takes check-ins yet." in page.text
    assert "sse-connect" not in page.text


async def test_the_page_opens_where_patients_wait_for_me_and_offers_the_other_desks(
    day: Day, desk: str, doctor: Browser
) -> None:
    upstairs = await make_desk(day, "First floor desk")
    await check_in(day, upstairs, at(9, 30), day.patient)
    page = await doctor.get("/doctor/queue")
    assert "My queue: First floor desk" in page.text
    assert waiting_names(page.text) == ["Pat Jones"]
    assert f'<option value="{desk}">Ground floor desk</option>' in page.text
    assert f'<option value="{upstairs}" selected>First floor desk</option>' in page.text
    other = await doctor.get("/doctor/queue", location=desk)
    assert "My queue: Ground floor desk" in other.text
    assert "Nobody is waiting for you here." in other.text


async def test_the_live_refresh_gets_the_queue_alone(day: Day, desk: str, doctor: Browser) -> None:
    await three_waiting(day, desk)
    page = await doctor.get("/doctor/queue", location=desk)
    assert page.headers["vary"] == "HX-Request"
    live = await doctor.client.get("/doctor/queue", params={"location": desk}, headers={"HX-Request": "true"})
    assert live.status_code == 200, live.text
    assert live.headers["vary"] == "HX-Request"
    assert live.text.lstrip().startswith('<div id="queue"')
    assert "<html" not in live.text
    assert "<h1>" not in live.text
    assert waiting_names(live.text) == ["Pat Jones", "Ben Early", "Cleo Late"]

    def moves(html: str) -> list[str]:
        return [a for a in re.findall(r'action="([^"]+)"', html) if a.startswith("/doctor/queue/")]

    assert moves(live.text) == moves(page.text)
    assert len(moves(live.text)) == 4  # call next, and each waiting patient's skip


async def test_the_picker_offers_only_the_desks_of_my_clinics(
    day: Day, desk: str, doctor: Browser, database: Database
) -> None:
    """A desk of a clinic of the tenant where I do not practise is neither offered nor shown."""
    elsewhere = await make_clinic(database, tenant_id=day.tenant.id, timezone="Europe/Berlin")
    annex = await make_desk(day, "Annex desk", clinic_id=elsewhere.id)
    upstairs = await make_desk(day, "First floor desk")
    page = await doctor.get("/doctor/queue")
    assert page.status_code == 200, page.text
    offered = re.findall(r'<option value="([^"]+)"', page.text)
    assert offered == sorted([desk, upstairs])  # by location id
    assert "Annex desk" not in page.text
    assert (await doctor.get("/doctor/queue", location=annex)).status_code == 404
