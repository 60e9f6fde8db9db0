"""The patient's check-in page (the QR code's address) and the visit page through the real app:
a scan checks in, every refusal is said in words, the form needs its token, other tenants'
codes and locations stay hidden."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

import pytest

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory
from tests.factories import bearer, login
from tests.web.staff import Day, at, clinic_day


async def make_desk(day: Day, name: str = "Front desk", *, clinic_id: uuid.UUID | None = None) -> str:
    """A location of the day's clinic (or of `clinic_id`, another of its tenant) that takes
    check-ins; its id."""
    place = {"clinic_id": str(clinic_id or day.clinic.id), "name": name, "kind": "checkin_desk"}
    created = await day.api.post("/api/v1/clinic-locations", json=place, headers=day.admin)
    assert created.status_code == 201, created.text
    location_id = str(created.json()["id"])
    desk = await day.api.post(
        "/api/v1/appointments/check-in/locations", json={"location_id": location_id}, headers=day.admin
    )
    assert desk.status_code == 201, desk.text
    return location_id


async def code_of(day: Day, location_id: str) -> str:
    shown = await day.api.get(f"/api/v1/locations/{location_id}/qr-token", headers=day.admin)
    assert shown.status_code == 200, shown.text
    return str(shown.json()["token"])


@pytest.fixture
async def day(database: Database, make_client: ClientFactory) -> Day:
    return await clinic_day(database, make_client)


async def test_the_qr_page_names_the_place_and_checking_in_shows_my_ticket_and_place(day: Day) -> None:
    desk = await make_desk(day, "Ground floor desk")
    token = await code_of(day, desk)
    await day.book(at(9, 30))
    patient = await day.browser(day.patient)
    page = await patient.get("/app/check-in", t=token)
    assert page.status_code == 200, page.text
    assert "Ground floor desk" in page.text
    assert day.clinic.name in page.text
    assert 'name="t" value="' in page.text
    done = await patient.post("/app/check-in", {"t": token})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/app/visit/{desk}?checked_in=1"
    visit = await patient.get(f"/app/visit/{desk}", checked_in="1")
    assert visit.status_code == 200, visit.text
    assert "You are checked in." in visit.text
    ticket = re.search(r'<strong class="ticket">([^<]+)</strong>', visit.text)
    assert ticket is not None, visit.text
    assert '<dd class="position">1</dd>' in visit.text
    assert '<dd class="ahead">0</dd>' in visit.text
    assert "Dr Ada Okafor" in visit.text
    assert f'sse-connect="/api/v1/events/stream?channels=patient:{day.patient.id}"' in visit.text
    assert "sse:queue.position" in visit.text
    again = await patient.post("/app/check-in", {"t": token})  # a second scan shows the ticket
    assert again.status_code == 409
    assert 'data-code="ALREADY_CHECKED_IN"' in again.text
    assert f'<strong class="ticket">{ticket.group(1)}</strong>' in again.text


async def test_the_visit_page_follows_the_doctor_calling_me(day: Day) -> None:
    desk = await make_desk(day)
    token = await code_of(day, desk)
    await day.book(at(9, 30))
    patient = await day.browser(day.patient)
    assert (await patient.post("/app/check-in", {"t": token})).status_code == 303
    doctor = bearer(await login(day.api, tenant=day.tenant.slug, email=day.doctor.email))
    called = await day.api.post(f"/api/v1/queues/{desk}/call-next", headers=doctor)
    assert called.status_code == 200, called.text
    visit = await patient.get(f"/app/visit/{desk}")
    assert "Called: please go in" in visit.text
    assert 'class="position"' not in visit.text


async def test_refusals_are_said_in_words(day: Day) -> None:
    desk = await make_desk(day)
    elsewhere = await make_desk(day, "Second floor")
    token = await code_of(day, desk)
    patient = await day.browser(day.patient)
    nothing = await patient.post("/app/check-in", {"t": token})
    assert nothing.status_code == 404
    assert "No appointment to check in for today at this clinic" in nothing.text
    later = await day.book(at(14))
    early = await patient.post("/app/check-in", {"t": token})
    assert early.status_code == 409
    assert 'data-code="TOO_EARLY"' in early.text
    assert re.search(r"Check-in opens at 1\d:\d\d\.", early.text), early.text
    cancel = await day.api.post(f"/api/v1/appointments/{later['id']}/cancel", json={}, headers=day.admin)
    assert cancel.status_code == 200, cancel.text
    rules = [{"weekday": d, "start": "08:00", "end": "18:00", "location_id": elsewhere} for d in range(7)]
    plan = {"clinic_id": str(day.clinic.id), "min_notice_minutes": 0, "rules": rules}
    put = await day.api.put(f"/api/v1/doctors/{day.doctor.id}/availability", json=plan, headers=day.admin)
    assert put.status_code == 200, put.text
    await day.book(at(9, 30))
    wrong = await patient.post("/app/check-in", {"t": token})
    assert wrong.status_code == 409
    assert "Your appointment is at Second floor: please check in there." in wrong.text
    forged = await patient.get("/app/check-in", t=token[:-3] + "abc")
    assert forged.status_code == 422
    assert 'data-code="QR_CODE_INVALID"' in forged.text
    assert "Scan the code shown at the clinic again" in forged.text
    assert 'action="/app/check-in"' not in forged.text
    empty = await patient.get("/app/check-in")
    assert empty.status_code == 422


async def test_the_check_in_page_speaks_spanish(day: Day) -> None:
    desk = await make_desk(day)
    token = await code_of(day, desk)
    patient = await day.browser(day.patient)
    patient.client.cookies.set("lang", "es")
    page = await patient.get("/app/check-in", t=token)
    assert "Registrar mi llegada" in page.text
    refused = await patient.post("/app/check-in", {"t": token})
    assert "Hoy no tiene ninguna cita en esta clínica para registrar" in refused.text


async def test_several_open_visits_are_offered_as_checkboxes(day: Day) -> None:
    desk = await make_desk(day)
    token = await code_of(day, desk)
    await day.book(at(9, 30))
    second = await day.book(at(9, 0))
    patient = await day.browser(day.patient)
    choose = await patient.post("/app/check-in", {"t": token})
    assert choose.status_code == 200, choose.text
    assert choose.text.count('type="checkbox"') == 2
    assert f'value="{second["id"]}"' in choose.text
    picked = await patient.post("/app/check-in", {"t": token, "appointment_ids": second["id"]})
    assert picked.status_code == 303, picked.text
    visit = await patient.get(f"/app/visit/{desk}")
    assert visit.text.count('class="ticket-card"') == 1


async def test_the_form_needs_its_token_and_anonymous_visitors_sign_in(day: Day) -> None:
    desk = await make_desk(day)
    token = await code_of(day, desk)
    await day.book(at(9, 30))
    patient = await day.browser(day.patient)
    refused = await patient.post("/app/check-in", {"t": token}, csrf=False)
    assert refused.status_code == 403
    visit = await patient.get(f"/app/visit/{desk}")
    assert "You have no ticket here today." in visit.text  # nothing was checked in
    anonymous = day.make_client(clock=day.clock)
    for path in (f"/app/check-in?t={quote(token)}", f"/app/visit/{desk}"):
        response = await anonymous.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2Fapp%2F")


async def test_another_tenants_code_and_location_stay_hidden(
    day: Day, database: Database, make_client: ClientFactory
) -> None:
    other = await clinic_day(database, make_client)
    their_desk = await make_desk(other)
    their_code = await code_of(other, their_desk)
    patient = await day.browser(day.patient)
    page = await patient.get("/app/check-in", t=their_code)
    assert page.status_code == 422
    assert other.clinic.name not in page.text
    posted = await patient.post("/app/check-in", {"t": their_code})
    assert posted.status_code == 422
    visit = await patient.get(f"/app/visit/{their_desk}")
    assert visit.status_code == 404
    doctor = await day.browser(await day.person(Role.DOCTOR, "Dr Staff"))
    assert (await doctor.get(f"/app/visit/{their_desk}")).status_code in {403, 404}
