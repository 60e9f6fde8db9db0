"""The front desk through the real app: today, finding a patient, booking and moving for them,
cancelling, and the waitlists (pin, boost, invite)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from clinicflow.identity.models import User
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory, count_rows
from tests.factories import make_clinic
from tests.web.staff import Browser, Day, at, clinic_day


@pytest.fixture
async def day(database: Database, make_client: ClientFactory) -> Day:
    return await clinic_day(database, make_client)


@pytest.fixture
async def reception(day: Day) -> User:
    return await day.person(Role.RECEPTIONIST, "Sam Rivera", clinic_id=day.clinic.id)


@pytest.fixture
async def desk(day: Day, reception: User) -> Browser:
    return await day.browser(reception)


async def _appointment(day: Day, appointment_id: str) -> dict[str, Any]:
    response = await day.api.get(f"/api/v1/appointments/{appointment_id}", headers=day.admin)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _join(day: Day, patient: User, **extra: Any) -> dict[str, Any]:
    body = {"clinic_id": str(day.clinic.id), "patient_id": str(patient.id), **extra}
    joined = await day.api.post("/api/v1/waitlists", json=body, headers=day.admin)
    assert joined.status_code == 201, joined.text
    entry: dict[str, Any] = joined.json()
    return entry


async def test_today_lists_my_clinics_appointments_on_their_clock(
    day: Day, desk: Browser, database: Database
) -> None:
    elsewhere = await make_clinic(database, tenant_id=day.tenant.id, timezone="America/New_York")
    stranger = await day.person(Role.DOCTOR, "Dr Far", clinic_id=elsewhere.id)
    plan = {
        "clinic_id": str(elsewhere.id),
        "min_notice_minutes": 0,
        "rules": [{"weekday": d, "start": "00:00", "end": "23:30"} for d in range(7)],
    }
    put = await day.api.put(f"/api/v1/doctors/{stranger.id}/availability", json=plan, headers=day.admin)
    assert put.status_code == 200, put.text
    far = await day.api.post(
        "/api/v1/appointments",
        json={
            "doctor_id": str(stranger.id),
            "clinic_id": str(elsewhere.id),
            "patient_id": str(day.patient.id),
            "starts_at": at(16).isoformat(),
        },
        headers=day.admin,
    )
    assert far.status_code == 201, far.text
    await day.book(at(8, 30))
    await day.book(at(15))
    await day.book(at(10, days=1))  # tomorrow: not today
    page = await desk.get("/desk")
    assert page.status_code == 200, page.text
    assert "Test Clinic — Tuesday 04 June" in page.text
    assert re.findall(r'<time datetime="2030-06-04T(\d\d:\d\d):00\+02:00">', page.text) == ["08:30", "15:00"]
    assert page.text.count("Pat Jones</a>") == 2
    assert "Dr Ada Okafor" in page.text
    assert "Scheduled" in page.text
    assert "Dr Far" not in page.text  # a clinic where the receptionist holds no grant
    nurse = await day.browser(await day.person(Role.NURSE, "Nia Nurse", clinic_id=day.clinic.id))
    assert (await nurse.get("/desk")).text.count("Pat Jones</a>") == 2


async def test_the_desk_is_for_reception_and_nurses_and_anonymous_visitors_sign_in(day: Day) -> None:
    anonymous = day.make_client(clock=day.clock)
    for path in ("/desk", "/desk/patients", "/desk/waitlists", f"/desk/patients/{day.patient.id}"):
        response = await anonymous.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2Fdesk")
    for role in (Role.DOCTOR, Role.PATIENT, Role.TENANT_ADMIN):
        someone = await day.browser(await day.person(role, f"A {role}"))
        refused = await someone.get("/desk")
        assert refused.status_code == 403, role
        assert "The front desk is for nurses and receptionists" in refused.text


async def test_a_patient_is_found_by_email(day: Day, desk: Browser, reception: User) -> None:
    found = await desk.get("/desk/patients", email=day.patient.email.upper())
    assert found.status_code == 200
    assert f'href="/desk/patients/{day.patient.id}">Pat Jones</a>' in found.text
    nobody = await desk.get("/desk/patients", email="nobody@example.test")
    assert nobody.status_code == 200
    assert 'id="email-error">No patient has this email address<' in nobody.text
    elsewhere = await make_clinic(day.database, tenant_id=day.tenant.id)
    hidden = await day.person(Role.NURSE, "Nurse Elsewhere", clinic_id=elsewhere.id)  # unseen by the desk
    for staff_email in (reception.email, hidden.email):
        staff = await desk.get("/desk/patients", email=staff_email)
        assert staff.status_code == 200
        assert "No patient has this email address" in staff.text
    malformed = await desk.get("/desk/patients", email="pat jones")
    assert malformed.status_code == 422
    assert 'id="email-error">Write the patient' in malformed.text
    assert 'value="pat jones"' in malformed.text


async def test_a_patient_page_is_only_for_this_tenants_patients(
    day: Day, desk: Browser, reception: User, database: Database, make_client: ClientFactory
) -> None:
    await day.book(at(11, days=1))
    page = await desk.get(f"/desk/patients/{day.patient.id}")
    assert page.status_code == 200
    assert "Wed 05 Jun 2030 11:00" in page.text
    assert "Move" in page.text
    other = await clinic_day(database, make_client)
    for stranger in (other.patient.id, reception.id, day.doctor.id):
        assert (await desk.get(f"/desk/patients/{stranger}")).status_code == 404


async def test_the_desk_books_a_doctors_free_time_for_a_patient(day: Day, desk: Browser) -> None:
    found = await desk.get(f"/desk/patients/{day.patient.id}", q="okafor")
    link = f"/desk/patients/{day.patient.id}/doctors/{day.doctor.id}"
    assert f'href="{link}"' in found.text
    week = await desk.get(link)
    assert week.status_code == 200
    assert "Book Pat Jones with Dr Ada Okafor" in week.text
    assert "Week of 03 Jun 2030" in week.text
    slot = re.search(r'name="starts_at" value="(2030-06-05T06:00:00\+00:00)"', week.text)
    assert slot is not None
    form = {
        "doctor_id": str(day.doctor.id),
        "clinic_id": str(day.clinic.id),
        "starts_at": slot.group(1),
        "kind": "video",
    }
    booked = await desk.post(f"/desk/patients/{day.patient.id}/appointments", form)
    assert booked.status_code == 303, booked.text
    assert booked.headers["location"] == f"/desk/patients/{day.patient.id}?booked=1"
    listed = await day.api.get(
        "/api/v1/appointments", params={"patient_id": str(day.patient.id)}, headers=day.admin
    )
    [appointment] = listed.json()["items"]
    assert appointment["starts_at"].startswith("2030-06-05T06:00:00")
    assert appointment["kind"] == "video"
    page = await desk.get(booked.headers["location"])
    assert "The appointment is booked." in page.text
    again = await desk.post(f"/desk/patients/{day.patient.id}/appointments", form)
    assert again.status_code == 409
    assert 'role="alert"' in again.text
    assert len((await day.api.get("/api/v1/appointments", headers=day.admin)).json()["items"]) == 1


async def test_bad_bookings_change_nothing(
    day: Day, desk: Browser, database: Database, make_client: ClientFactory
) -> None:
    form = {"doctor_id": str(day.doctor.id), "clinic_id": str(day.clinic.id), "starts_at": "tomorrow morning"}
    bad = await desk.post(f"/desk/patients/{day.patient.id}/appointments", form)
    assert bad.status_code == 422
    assert 'id="starts_at-error"' in bad.text
    no_token = await desk.post(
        f"/desk/patients/{day.patient.id}/appointments",
        {**form, "starts_at": at(10, days=1).isoformat()},
        csrf=False,
    )
    assert no_token.status_code == 403
    other = await clinic_day(database, make_client)
    theirs = await desk.post(
        f"/desk/patients/{other.patient.id}/appointments", {**form, "starts_at": at(10, days=1).isoformat()}
    )
    assert theirs.status_code == 404
    assert (await desk.get(f"/desk/patients/{other.patient.id}/doctors/{other.doctor.id}")).status_code == 404
    assert await count_rows(database, "appointments") == 0


async def test_the_desk_moves_an_appointment_atomically(day: Day, desk: Browser) -> None:
    visit = await day.book(at(10, days=1))
    blocker = await day.book(at(11, days=1))
    page = await desk.get(f"/desk/patients/{day.patient.id}")
    assert f'href="/desk/appointments/{visit["id"]}/reschedule"' in page.text
    week = await desk.get(f"/desk/appointments/{visit['id']}/reschedule")
    assert week.status_code == 200
    assert "Wednesday 05 June 2030, 10:00" in week.text
    taken = await desk.post(
        f"/desk/appointments/{visit['id']}/reschedule", {"starts_at": blocker["starts_at"]}
    )
    assert taken.status_code == 409
    assert (await _appointment(day, visit["id"]))["starts_at"] == visit["starts_at"]
    bad = await desk.post(f"/desk/appointments/{visit['id']}/reschedule", {"starts_at": "later"})
    assert bad.status_code == 422
    assert 'id="starts_at-error"' in bad.text
    moved = await desk.post(
        f"/desk/appointments/{visit['id']}/reschedule", {"starts_at": at(14, days=1).isoformat()}
    )
    assert moved.status_code == 303, moved.text
    assert moved.headers["location"] == f"/desk/patients/{day.patient.id}?rescheduled=1"
    after = await _appointment(day, visit["id"])
    assert after["starts_at"].startswith("2030-06-05T12:00:00")


async def test_another_tenants_appointment_cannot_be_moved_or_cancelled(
    day: Day, desk: Browser, database: Database, make_client: ClientFactory
) -> None:
    other = await clinic_day(database, make_client)
    theirs = await other.book(at(10, days=1))
    assert (await desk.get(f"/desk/appointments/{theirs['id']}/reschedule")).status_code == 404
    moved = await desk.post(
        f"/desk/appointments/{theirs['id']}/reschedule", {"starts_at": at(14, days=1).isoformat()}
    )
    assert moved.status_code == 404
    assert (await desk.post(f"/desk/appointments/{theirs['id']}/cancel", {"reason": "x"})).status_code == 404
    after = await _appointment(other, theirs["id"])
    assert after["starts_at"] == theirs["starts_at"]
    assert after["status"] == "scheduled"


async def test_the_desk_cancels_with_a_reason(day: Day, desk: Browser) -> None:
    visit = await day.book(at(10, days=1))
    too_long = await desk.post(f"/desk/appointments/{visit['id']}/cancel", {"reason": "x" * 501})
    assert too_long.status_code == 422
    assert f'id="reason-{visit["id"]}-error"' in too_long.text
    assert (await _appointment(day, visit["id"]))["status"] == "scheduled"
    assert (await desk.post(f"/desk/appointments/{visit['id']}/cancel", {}, csrf=False)).status_code == 403
    cancelled = await desk.post(f"/desk/appointments/{visit['id']}/cancel", {"reason": "Feeling better"})
    assert cancelled.status_code == 303
    after = await _appointment(day, visit["id"])
    assert after["status"] == "cancelled"
    assert after["cancel_reason"] == "Feeling better"


async def test_the_waitlist_is_listed_by_priority_and_reordered_with_a_reason(
    day: Day, desk: Browser
) -> None:
    first = await _join(day, day.patient, doctor_id=str(day.doctor.id))
    later_patient = await day.person(Role.PATIENT, "Lee Later")
    later = await _join(day, later_patient)
    page = await desk.get("/desk/waitlists")
    assert page.status_code == 200
    assert page.text.index("Pat Jones") < page.text.index("Lee Later")
    assert "Dr Ada Okafor" in page.text
    assert "any doctor" in page.text
    no_reason = await desk.post(f"/desk/waitlists/{later['id']}/pin", {"pinned": "true"})
    assert no_reason.status_code == 422
    assert f'id="pin-{later["id"]}-reason-error"' in no_reason.text
    bad_boost = await desk.post(f"/desk/waitlists/{later['id']}/boost", {"boost": "lots", "reason": "urgent"})
    assert bad_boost.status_code == 422
    assert f'id="boost-{later["id"]}-boost-error"' in bad_boost.text
    assert not (
        await desk.post(f"/desk/waitlists/{later['id']}/pin", {"pinned": "true", "reason": "x"}, csrf=False)
    ).is_success
    entries = (
        await day.api.get("/api/v1/waitlists", params={"clinic_id": str(day.clinic.id)}, headers=day.admin)
    ).json()
    assert [e["id"] for e in entries["items"]] == [first["id"], later["id"]]
    assert not any(e["pinned"] or e["boost"] for e in entries["items"])
    pinned = await desk.post(
        f"/desk/waitlists/{later['id']}/pin", {"pinned": "true", "reason": "very unwell"}
    )
    assert pinned.status_code == 303, pinned.text
    assert pinned.headers["location"] == f"/desk/waitlists?clinic_id={day.clinic.id}&pinned=1"
    page = await desk.get(pinned.headers["location"])
    assert page.text.index("Lee Later") < page.text.index("Pat Jones")
    assert "pinned" in page.text
    boosted = await desk.post(
        f"/desk/waitlists/{first['id']}/boost", {"boost": "500", "reason": "asked twice"}
    )
    assert boosted.status_code == 303
    entries = (
        await day.api.get("/api/v1/waitlists", params={"clinic_id": str(day.clinic.id)}, headers=day.admin)
    ).json()
    by_id = {e["id"]: e for e in entries["items"]}
    assert by_id[later["id"]]["pinned"] is True
    assert by_id[first["id"]]["boost"] == 500
    audit = await day.api.get(
        "/api/v1/audit-events", params={"action": "waitlist.reordered"}, headers=day.admin
    )
    assert audit.status_code == 200
    assert len(audit.json()["items"]) == 2


async def test_a_freed_slot_is_offered_to_the_best_patient_or_one_chosen(day: Day, desk: Browser) -> None:
    policy = await day.api.put(
        f"/api/v1/tenants/{day.tenant.id}/clinics/{day.clinic.id}/waitlist-policy",
        json={"auto_offer": False},
        headers=day.admin,
    )
    assert policy.status_code == 200, policy.text
    nobody = await day.book(at(10, days=1))
    cancelled = await day.api.post(f"/api/v1/appointments/{nobody['id']}/cancel", json={}, headers=day.admin)
    assert cancelled.status_code == 200
    empty = await desk.post(f"/desk/appointments/{nobody['id']}/invite", {})
    assert empty.status_code == 409
    assert f'id="slot-{nobody["id"]}-form-error"' in empty.text
    waiting = await day.person(Role.PATIENT, "Wendy Waiting")
    entry = await _join(day, waiting)
    page = await desk.get("/desk/waitlists")
    assert f'action="/desk/appointments/{nobody["id"]}/invite"' in page.text
    bad = await desk.post(f"/desk/appointments/{nobody['id']}/invite", {"entry_id": "someone"})
    assert bad.status_code == 422
    assert f'id="slot-{nobody["id"]}-entry_id-error"' in bad.text
    invited = await desk.post(f"/desk/appointments/{nobody['id']}/invite", {"entry_id": entry["id"]})
    assert invited.status_code == 303, invited.text
    after = (await day.api.get(f"/api/v1/waitlists/{entry['id']}", headers=day.admin)).json()
    assert after["status"] == "invited"
    page = await desk.get(invited.headers["location"])
    assert "The slot is offered and held until they answer." in page.text
    assert "Offered a slot, waiting for the answer" in page.text


async def test_another_tenants_waitlist_is_not_found(
    day: Day, desk: Browser, database: Database, make_client: ClientFactory
) -> None:
    other = await clinic_day(database, make_client)
    theirs = await _join(other, other.patient)
    assert (await desk.get("/desk/waitlists", clinic_id=str(other.clinic.id))).status_code == 404
    elsewhere = await make_clinic(database, tenant_id=day.tenant.id)
    assert (
        await desk.get("/desk/waitlists", clinic_id=str(elsewhere.id))
    ).status_code == 404  # no grant there
    pinned = await desk.post(f"/desk/waitlists/{theirs['id']}/pin", {"pinned": "true", "reason": "not mine"})
    assert pinned.status_code == 404
    boosted = await desk.post(f"/desk/waitlists/{theirs['id']}/boost", {"boost": "5", "reason": "not mine"})
    assert boosted.status_code == 404
    visit = await other.book(at(10, days=1))
    assert (await desk.post(f"/desk/appointments/{visit['id']}/invite", {})).status_code == 404
    after = (await other.api.get(f"/api/v1/waitlists/{theirs['id']}", headers=other.admin)).json()
    assert after["pinned"] is False
    assert after["boost"] == 0
