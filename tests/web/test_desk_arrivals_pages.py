"""The front desk's arrivals through the real app: today's appointments with their status and
ticket, checking a patient in, the window's refusal in words and the override with its reason,
live updates, and what the desk may not do (no token, another tenant's visit, a patient)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import text

from clinicflow.identity.models import User
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory, count_rows
from tests.web.staff import Browser, Day, at, clinic_day
from tests.web.test_visit_pages import make_desk


@pytest.fixture
async def day(database: Database, make_client: ClientFactory) -> Day:
    return await clinic_day(database, make_client)


@pytest.fixture
async def reception(day: Day) -> User:
    return await day.person(Role.RECEPTIONIST, "Sam Rivera", clinic_id=day.clinic.id)


@pytest.fixture
async def desk(day: Day, reception: User) -> Browser:
    return await day.browser(reception)


async def _status(day: Day, appointment_id: str) -> str:
    response = await day.api.get(f"/api/v1/appointments/{appointment_id}", headers=day.admin)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def _check_ins(database: Database, appointment_id: str) -> list[dict[str, Any]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT method, override_reason, ticket FROM check_ins WHERE appointment_id = :a"),
            {"a": appointment_id},
        )
        return [dict(r) for r in rows.mappings()]


async def test_the_desk_checks_a_patient_in_and_sees_the_ticket(
    day: Day, desk: Browser, database: Database
) -> None:
    location = await make_desk(day, "Ground floor")
    booked = await day.book(at(9, 30))
    page = await desk.get("/desk")
    assert page.status_code == 200, page.text
    assert f'action="/desk/appointments/{booked["id"]}/check-in"' in page.text
    assert 'name="location_id" value="' + location + '"' in page.text  # the only desk: no choice
    assert f"clinic:{day.clinic.id}" in page.text
    assert f"queue:{location}" in page.text
    assert "sse:appointment.updated, sse:queue.updated, sse:reset" in page.text
    done = await desk.post(f"/desk/appointments/{booked['id']}/check-in", {"location_id": location})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/desk?checked_in=1"
    assert await _status(day, booked["id"]) == "checked_in"
    rows = await _check_ins(database, booked["id"])
    assert [r["method"] for r in rows] == ["staff"]
    after = await desk.get("/desk", checked_in="1")
    assert "The patient is checked in." in after.text
    assert f'<strong class="ticket">{rows[0]["ticket"]}</strong>' in after.text
    assert re.search(r'<time class="arrived" datetime="2030-06-04T09:00:00\+02:00">09:00</time>', after.text)
    assert f'action="/desk/appointments/{booked["id"]}/check-in"' not in after.text  # no second button


async def test_several_desks_are_a_choice_starting_on_the_first(
    day: Day, desk: Browser, database: Database
) -> None:
    first = await make_desk(day, "Ground floor")
    second = await make_desk(day, "First floor")
    booked = await day.book(at(9, 30))
    page = await desk.get("/desk")
    select = rf'<select id="location-{booked["id"]}" name="location_id"[^>]*>(.*?)</select>'
    choice = re.search(select, page.text, re.S)
    assert choice is not None, page.text
    assert re.findall(r'<option value="([^"]+)"( selected)?>', choice.group(1)) == [
        (min(first, second), " selected"),
        (max(first, second), ""),
    ]
    done = await desk.post(f"/desk/appointments/{booked['id']}/check-in", {"location_id": second})
    assert done.status_code == 303, done.text
    async with database.engine.connect() as conn:
        where = await conn.execute(
            text("SELECT location_id::text FROM check_ins WHERE appointment_id = :a"), {"a": booked["id"]}
        )
        assert where.scalar_one() == second
    later = await day.book(at(14))
    refused = await desk.post(f"/desk/appointments/{later['id']}/check-in", {"location_id": second})
    assert refused.status_code == 409
    override = re.search(
        r'<select id="override-location" name="location_id"[^>]*>(.*?)</select>', refused.text, re.S
    )
    assert override is not None, refused.text
    assert f'<option value="{second}" selected>' in override.group(1)


async def test_outside_the_window_the_refusal_is_said_and_the_override_needs_a_reason(
    day: Day, desk: Browser, database: Database
) -> None:
    location = await make_desk(day)
    later = await day.book(at(14))
    refused = await desk.post(f"/desk/appointments/{later['id']}/check-in", {"location_id": location})
    assert refused.status_code == 409
    assert 'data-code="TOO_EARLY"' in refused.text
    assert "Check-in for this appointment has not opened yet: Check-in opens at 13:30" in refused.text
    assert f'action="/desk/appointments/{later["id"]}/check-in/override"' in refused.text
    assert await _check_ins(database, later["id"]) == []
    path = f"/desk/appointments/{later['id']}/check-in/override"
    for reason in ("", "  "):
        blank = await desk.post(path, {"location_id": location, "reason": reason})
        assert blank.status_code == 422
        assert 'id="reason-error">Say why the patient is checked in outside the window' in blank.text
        assert 'aria-invalid="true"' in blank.text
        assert await _check_ins(database, later["id"]) == []
        assert await _status(day, later["id"]) == "scheduled"
    done = await desk.post(path, {"location_id": location, "reason": "came early for bloods"})
    assert done.status_code == 303, done.text
    assert await _status(day, later["id"]) == "checked_in"
    assert await _check_ins(database, later["id"]) == [
        {"method": "override", "override_reason": "came early for bloods", "ticket": "A-001"}
    ]
    audited = await day.api.get(
        "/api/v1/audit-events", params={"action": "appointment.check_in"}, headers=day.admin
    )
    assert audited.status_code == 200, audited.text
    assert "came early for bloods" in audited.text


async def test_a_closed_window_is_said_too(day: Day, reception: User) -> None:
    location = await make_desk(day)
    early = await day.book(at(8))
    day.clock.set(at(10, 30))  # the window closed two hours after the start
    desk = await day.browser(reception)
    refused = await desk.post(f"/desk/appointments/{early['id']}/check-in", {"location_id": location})
    assert refused.status_code == 409
    assert 'data-code="APPOINTMENT_EXPIRED"' in refused.text
    assert "Check-in closed at 10:00" in refused.text
    assert "Check in anyway" in refused.text


async def test_a_nurse_is_shown_the_services_refusal_of_the_override(day: Day, database: Database) -> None:
    location = await make_desk(day)
    nurse = await day.browser(await day.person(Role.NURSE, "Nia Nurse", clinic_id=day.clinic.id))
    later = await day.book(at(14))
    refused = await nurse.post(f"/desk/appointments/{later['id']}/check-in", {"location_id": location})
    assert refused.status_code == 409
    assert "Check in anyway" in refused.text  # the rule is the service's, not the page's
    anyway = await nurse.post(
        f"/desk/appointments/{later['id']}/check-in/override", {"location_id": location, "reason": "early"}
    )
    assert anyway.status_code == 403
    assert "You need the permission checkin:override here" in anyway.text
    assert await _check_ins(database, later["id"]) == []
    inside = await day.book(at(9, 30))
    done = await nurse.post(f"/desk/appointments/{inside['id']}/check-in", {"location_id": location})
    assert done.status_code == 303, done.text


async def test_without_the_token_or_for_a_patient_or_another_tenant_nothing_changes(
    day: Day, desk: Browser, database: Database, make_client: ClientFactory
) -> None:
    location = await make_desk(day)
    booked = await day.book(at(9, 30))
    path = f"/desk/appointments/{booked['id']}/check-in"
    forged = await desk.post(path, {"location_id": location}, csrf=False)
    assert forged.status_code == 403
    forged = await desk.post(path + "/override", {"location_id": location, "reason": "a reason"}, csrf=False)
    assert forged.status_code == 403
    patient = await day.browser(day.patient)
    assert (await patient.post(path, {"location_id": location})).status_code == 403
    assert (await patient.post(path + "/override", {"reason": "a reason"})).status_code == 403
    anonymous = day.make_client(clock=day.clock)
    signed_out = await anonymous.post(path, data={"location_id": location})
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login")
    assert await _check_ins(database, booked["id"]) == []
    other = await clinic_day(database, make_client)
    theirs = await other.book(at(9, 30))
    for tail in ("", "/override"):
        hidden = await desk.post(f"/desk/appointments/{theirs['id']}/check-in{tail}", {"reason": "a reason"})
        assert hidden.status_code == 404
        assert "Appointment not found" in hidden.text
    assert await count_rows(database, "check_ins") == 0
    assert await _status(day, booked["id"]) == "scheduled"


async def test_the_page_follows_what_a_check_in_publishes(
    day: Day, desk: Browser, database: Database
) -> None:
    """The page's stream passes the cookie and channel checks (503: no hub in process), and a
    check-in publishes `queue.updated` on the page's queue channel at once (the clinic
    channel's `appointment.updated` comes from scheduling's event job, run by the worker)."""
    location = await make_desk(day)
    booked = await day.book(at(9, 30))
    page = await desk.get("/desk")
    channels = re.search(r'sse-connect="/api/v1/events/stream\?channels=([^"]+)"', page.text)
    assert channels is not None, page.text
    assert channels.group(1) == f"clinic:{day.clinic.id},queue:{location}"
    stream = await desk.client.get("/api/v1/events/stream", params={"channels": channels.group(1)})
    assert stream.status_code == 503
    assert (await desk.post(f"/desk/appointments/{booked['id']}/check-in")).status_code == 303
    async with database.engine.connect() as conn:
        published = await conn.execute(
            text("SELECT channel, type FROM realtime_events WHERE channel = ANY(:c) ORDER BY channel"),
            {"c": channels.group(1).split(",")},
        )
        seen = {(row.channel, row.type) for row in published}
    assert (f"queue:{location}", "queue.updated") in seen
