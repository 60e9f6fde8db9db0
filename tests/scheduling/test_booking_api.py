"""Booking through the API: slots, the rules of a bookable time, roles, idempotency, events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from clinicflow.platform.jobs import run_worker
from tests.conftest import count_rows
from tests.factories import make_member, make_tenant, make_user
from tests.scheduling.conftest import Practice, make_practice, tomorrow_at


async def test_a_free_slot_is_booked_and_disappears(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    start = tomorrow_at(0)
    before = await practice.slots(client, start)
    assert len(before) == 20  # 08:00-18:00 in 30-minute slots
    first = before[0]
    assert datetime.fromisoformat(first["starts_at"]) == tomorrow_at(8)
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(first["starts_at"]), headers=practice.patient
    )
    assert booked.status_code == 201, booked.text
    body = booked.json()
    assert body["status"] == "scheduled"
    assert body["patient_id"] == str(practice.patient_id)
    after = await practice.slots(client, start)
    assert [s["starts_at"] for s in after] == [s["starts_at"] for s in before[1:]]
    again = await client.post(
        "/api/v1/appointments", json=practice.booking(first["starts_at"]), headers=practice.patient
    )
    assert again.status_code == 409
    assert again.json()["code"] == "SLOT_UNAVAILABLE"
    assert await count_rows(database, "appointments") == 1


@pytest.mark.parametrize(
    ("when", "code"),
    [
        (lambda: tomorrow_at(9, days=-2), "IN_THE_PAST"),
        (lambda: tomorrow_at(7, 30), "OUTSIDE_AVAILABILITY"),  # before opening
        (lambda: tomorrow_at(9, 10), "OUTSIDE_AVAILABILITY"),  # not a slot start
        (lambda: tomorrow_at(9, days=61), "BEYOND_HORIZON"),
    ],
)
async def test_unbookable_times_get_a_specific_422_and_change_nothing(
    client: httpx.AsyncClient, database: Database, practice: Practice, when: object, code: str
) -> None:
    starts_at = when()  # type: ignore[operator]
    response = await client.post(
        "/api/v1/appointments", json=practice.booking(starts_at), headers=practice.patient
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert await count_rows(database, "appointments") == 0


async def test_minimum_notice_and_time_off(client: httpx.AsyncClient, database: Database) -> None:
    practice = await make_practice(database, client)
    await practice.set_availability(client, min_notice_minutes=60 * 24 * 3)
    soon = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    assert soon.json()["code"] == "INSIDE_MINIMUM_NOTICE"
    day = tomorrow_at(0, days=5).date()
    away = await client.post(
        f"/api/v1/doctors/{practice.doctor_id}/time-off",
        json={"clinic_id": str(practice.clinic.id), "from_date": day.isoformat(), "to_date": day.isoformat()},
        headers=practice.doctor,
    )
    assert away.status_code == 201, away.text
    assert await practice.slots(client, tomorrow_at(0, days=5)) == []
    blocked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9, days=5)), headers=practice.patient
    )
    assert blocked.json()["code"] == "OUTSIDE_AVAILABILITY"
    removed = await client.delete(
        f"/api/v1/doctors/{practice.doctor_id}/time-off/{away.json()['id']}", headers=practice.doctor
    )
    assert removed.status_code == 204
    assert len(await practice.slots(client, tomorrow_at(0, days=5))) == 20


@pytest.mark.parametrize(
    "body",
    [
        {"starts_at": "2030-01-01T09:00:00"},  # no offset
        {"starts_at": "soon"},
        {"kind": "teleport"},
        {"tenant_id": str(uuid.uuid4())},
        {"status": "completed"},
    ],
)
async def test_bad_booking_bodies_are_422(
    client: httpx.AsyncClient, database: Database, practice: Practice, body: dict[str, str]
) -> None:
    payload = {**practice.booking(tomorrow_at(9)), **body}
    response = await client.post("/api/v1/appointments", json=payload, headers=practice.patient)
    assert response.status_code == 422
    assert await count_rows(database, "appointments") == 0


async def test_patients_book_for_themselves_staff_for_patients(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    other_patient = await make_user(database, tenant_id=practice.tenant.id, roles=(Role.PATIENT,))
    for_someone = practice.booking(tomorrow_at(9), patient_id=str(other_patient.id))
    assert (
        await client.post("/api/v1/appointments", json=for_someone, headers=practice.patient)
    ).status_code == 403
    by_desk = await client.post("/api/v1/appointments", json=for_someone, headers=practice.reception)
    assert by_desk.status_code == 201
    assert by_desk.json()["patient_id"] == str(other_patient.id)
    missing = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(10)), headers=practice.reception
    )
    assert missing.status_code == 422
    not_a_patient = practice.booking(tomorrow_at(10), patient_id=str(practice.doctor_id))
    assert (
        await client.post("/api/v1/appointments", json=not_a_patient, headers=practice.reception)
    ).status_code == 422


async def test_a_patient_sees_only_their_appointments(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    mine = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    _, stranger = await make_member(database, client, tenant=practice.tenant, role=Role.PATIENT)
    appointment_id = mine.json()["id"]
    assert (
        await client.get(f"/api/v1/appointments/{appointment_id}", headers=practice.patient)
    ).status_code == 200
    assert (await client.get(f"/api/v1/appointments/{appointment_id}", headers=stranger)).status_code == 404
    assert (
        await client.post(f"/api/v1/appointments/{appointment_id}/cancel", headers=stranger)
    ).status_code == 404
    assert (await client.get("/api/v1/appointments", headers=stranger)).json()["items"] == []
    listed = await client.get("/api/v1/appointments", headers=practice.doctor)
    assert [a["id"] for a in listed.json()["items"]] == [appointment_id]


async def test_another_tenants_doctor_and_appointment_are_invisible(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    theirs = await make_practice(database, client, tenant=await make_tenant(database))
    await theirs.set_availability(client)
    booked = await client.post(
        "/api/v1/appointments", json=theirs.booking(tomorrow_at(9)), headers=theirs.patient
    )
    their_id = booked.json()["id"]
    assert (await client.get(f"/api/v1/appointments/{their_id}", headers=practice.admin)).status_code == 404
    assert (
        await client.post(f"/api/v1/appointments/{their_id}/cancel", headers=practice.admin)
    ).status_code == 404
    assert (
        await client.get(
            f"/api/v1/doctors/{theirs.doctor_id}/slots",
            params={"from": tomorrow_at(0).isoformat(), "to": tomorrow_at(23).isoformat()},
            headers=practice.patient,
        )
    ).status_code == 404
    cross = await client.post(
        "/api/v1/appointments", json=theirs.booking(tomorrow_at(10)), headers=practice.patient
    )
    assert cross.status_code == 422  # their clinic does not exist here
    assert await count_rows(database, "appointments") == 1


async def test_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    body = practice.booking(tomorrow_at(9))
    headers = {**practice.patient, "Idempotency-Key": "book-1"}
    first = await client.post("/api/v1/appointments", json=body, headers=headers)
    second = await client.post("/api/v1/appointments", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    other_body = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(10)), headers=headers
    )
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    bad_key = await client.post(
        "/api/v1/appointments", json=body, headers={**practice.patient, "Idempotency-Key": "no spaces"}
    )
    assert bad_key.status_code == 422
    assert await count_rows(database, "appointments") == 1


async def test_transitions_follow_the_table(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    url = f"/api/v1/appointments/{booked.json()['id']}"
    assert (await client.post(f"{url}/complete", headers=practice.doctor)).json()[
        "code"
    ] == "INVALID_TRANSITION"
    assert (await client.post(f"{url}/start", headers=practice.patient)).status_code == 403
    assert (await client.post(f"{url}/confirm", headers=practice.patient)).json()["status"] == "confirmed"
    assert (await client.post(f"{url}/start", headers=practice.doctor)).json()["status"] == "in_consultation"
    assert (await client.post(f"{url}/complete", headers=practice.doctor)).json()["status"] == "completed"
    late_cancel = await client.post(f"{url}/cancel", headers=practice.doctor)
    assert late_cancel.status_code == 409
    assert late_cancel.json()["code"] == "INVALID_TRANSITION"
    async with database.engine.connect() as conn:
        actions = (
            (
                await conn.execute(
                    text("SELECT action FROM audit_events WHERE subject_id = :id ORDER BY id"),
                    {"id": booked.json()["id"]},
                )
            )
            .scalars()
            .all()
        )
    assert actions == [
        "appointment.booked",
        "appointment.confirm",
        "appointment.start",
        "appointment.complete",
    ]


async def test_patient_cancellation_cut_off_and_staff_override(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    policy = await client.put(
        f"/api/v1/clinics/{practice.clinic.id}/scheduling-policy",
        json={"patient_cancel_cutoff_minutes": 48 * 60, "no_show_after_minutes": 15},
        headers=practice.admin,
    )
    assert policy.status_code == 200
    soon = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    later = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9, days=5)), headers=practice.patient
    )
    too_late = await client.post(
        f"/api/v1/appointments/{soon.json()['id']}/cancel", json={"reason": "ill"}, headers=practice.patient
    )
    assert too_late.status_code == 409
    assert too_late.json()["code"] == "CANCELLATION_TOO_LATE"
    in_time = await client.post(f"/api/v1/appointments/{later.json()['id']}/cancel", headers=practice.patient)
    assert in_time.json()["status"] == "cancelled"
    override = await client.post(
        f"/api/v1/appointments/{soon.json()['id']}/cancel",
        json={"reason": "called in"},
        headers=practice.reception,
    )
    assert override.json()["status"] == "cancelled"
    assert override.json()["cancel_reason"] == "called in"
    async with database.engine.connect() as conn:
        details = (
            await conn.execute(
                text(
                    "SELECT details FROM audit_events "
                    "WHERE subject_id = :id AND action = 'appointment.cancel'"
                ),
                {"id": soon.json()["id"]},
            )
        ).scalar_one()
    assert details == {"reason": "called in", "cutoff_override": True}
    # The freed slot is offered again.
    starts = [s["starts_at"] for s in await practice.slots(client, tomorrow_at(0))]
    assert datetime.fromisoformat(starts[2]) == tomorrow_at(9)


async def test_reschedule_moves_atomically(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    first = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    blocker = await client.post(
        "/api/v1/appointments",
        json=practice.booking(tomorrow_at(10), patient_id=str(practice.patient_id)),
        headers=practice.reception,
    )
    assert blocker.status_code == 201
    url = f"/api/v1/appointments/{first.json()['id']}/reschedule"
    taken = await client.post(url, json={"starts_at": tomorrow_at(10).isoformat()}, headers=practice.patient)
    assert taken.status_code == 409
    assert (await client.get(f"/api/v1/appointments/{first.json()['id']}", headers=practice.patient)).json()[
        "starts_at"
    ] == first.json()["starts_at"]
    overlapping_own = await client.post(
        url, json={"starts_at": tomorrow_at(9, 30).isoformat()}, headers=practice.patient
    )
    assert overlapping_own.status_code == 200  # next to its own old time: no conflict with itself
    moved = await client.post(url, json={"starts_at": tomorrow_at(11).isoformat()}, headers=practice.patient)
    assert moved.status_code == 200
    assert datetime.fromisoformat(moved.json()["starts_at"]) == tomorrow_at(11)
    assert moved.json()["id"] == first.json()["id"]
    free = {datetime.fromisoformat(s["starts_at"]) for s in await practice.slots(client, tomorrow_at(0))}
    assert tomorrow_at(9) in free
    assert tomorrow_at(9, 30) in free
    assert tomorrow_at(11) not in free


async def test_events_reach_the_outbox(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    await client.post(
        f"/api/v1/appointments/{booked.json()['id']}/cancel", json={"reason": "x"}, headers=practice.reception
    )
    async with database.engine.connect() as conn:
        tasks = (
            (
                await conn.execute(
                    text("SELECT task_name FROM procrastinate_jobs WHERE queue_name = 'events' ORDER BY id")
                )
            )
            .scalars()
            .all()
        )
    assert tasks == ["appointment.booked", "appointment.cancelled"]
    await run_worker(wait=False, queues=["events", "messaging"], concurrency=1)
    await run_worker(wait=False, queues=["messaging"], concurrency=1)
    async with database.engine.connect() as conn:
        templates = (
            (
                await conn.execute(
                    text("SELECT template FROM notification_outbox WHERE user_id = :u ORDER BY id"),
                    {"u": practice.patient_id},
                )
            )
            .scalars()
            .all()
        )
    assert templates == ["appointment_booked", "appointment_cancelled"]


async def test_video_visits_get_a_signed_room_and_ics_works(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9), kind="video"), headers=practice.patient
    )
    link = booked.json()["video_url"]
    path = link.split("8000", 1)[1]
    assert (await client.get(path)).status_code == 200
    forged = path.rsplit("token=", 1)[0] + "token=" + "0" * 32
    assert (await client.get(forged)).status_code == 404
    ics = await client.get(f"/api/v1/appointments/{booked.json()['id']}.ics", headers=practice.patient)
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.text
    assert tomorrow_at(9).astimezone(UTC).strftime("DTSTART:%Y%m%dT%H%M%SZ") in ics.text
    assert (
        await client.get(f"/api/v1/appointments/{booked.json()['id']}.ics", headers=practice.reception)
    ).status_code == 200


async def test_doctor_directory_search_ignores_case_and_accents(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    body = {
        "email": "jose@example.test",
        "full_name": "Dr José Álvarez",
        "grants": [{"role": "DOCTOR", "clinic_id": str(practice.clinic.id)}],
        "profile": {"specialty": "Dermatology"},
    }
    listed = await client.get("/api/v1/doctors", params={"q": "alvarez"}, headers=practice.patient)
    assert listed.json()["items"] == []  # cached empty answer ...
    assert (await client.post("/api/v1/users", json=body, headers=practice.admin)).status_code == 201
    found = await client.get("/api/v1/doctors", params={"q": "alvarez"}, headers=practice.patient)
    assert [d["full_name"] for d in found.json()["items"]] == ["Dr José Álvarez"]  # ... cleared by the change
    by_specialty = await client.get(
        "/api/v1/doctors", params={"specialty": "dermatology"}, headers=practice.patient
    )
    assert [d["full_name"] for d in by_specialty.json()["items"]] == ["Dr José Álvarez"]
    everyone = await client.get(
        "/api/v1/doctors", params={"clinic_id": str(practice.clinic.id)}, headers=practice.patient
    )
    assert len(everyone.json()["items"]) == 2


async def test_follow_up_plan_then_booking(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    visit = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    url = f"/api/v1/appointments/{visit.json()['id']}/follow-ups"
    due = tomorrow_at(0, days=14).date()
    plan = await client.post(
        url,
        json={"due_from": due.isoformat(), "due_to": due.isoformat(), "notes": "review"},
        headers=practice.doctor,
    )
    assert plan.status_code == 201, plan.text
    assert (
        await client.post(url, json={"due_from": due.isoformat()}, headers=practice.doctor)
    ).status_code == 422
    assert (
        await client.post(url, json={"starts_at": tomorrow_at(10).isoformat()}, headers=practice.patient)
    ).status_code == 403
    booked = await client.post(
        "/api/v1/appointments",
        json=practice.booking(tomorrow_at(9, days=14), follow_up_plan_id=plan.json()["id"]),
        headers=practice.patient,
    )
    assert booked.status_code == 201
    assert booked.json()["parent_id"] == visit.json()["id"]
    reused = await client.post(
        "/api/v1/appointments",
        json=practice.booking(tomorrow_at(10, days=14), follow_up_plan_id=plan.json()["id"]),
        headers=practice.patient,
    )
    assert reused.status_code == 422
    now_booked = await client.post(
        url, json={"starts_at": tomorrow_at(11).isoformat()}, headers=practice.doctor
    )
    assert now_booked.json()["appointment"]["parent_id"] == visit.json()["id"]


async def test_series_all_or_nothing_and_skip_conflicts(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    first = tomorrow_at(9)
    taken = await client.post(
        "/api/v1/appointments", json=practice.booking(first + timedelta(weeks=2)), headers=practice.patient
    )
    assert taken.status_code == 201
    body = {**practice.booking(first), "first_starts_at": first.isoformat(), "occurrences": 4}
    del body["starts_at"]
    strict = await client.post("/api/v1/appointment-series", json=body, headers=practice.patient)
    assert strict.status_code == 409
    assert strict.json()["code"] == "SERIES_CONFLICT"
    assert [s["code"] for s in strict.json()["skipped"]] == ["SLOT_UNAVAILABLE"]
    assert await count_rows(database, "appointments") == 1
    lenient = await client.post(
        "/api/v1/appointment-series", json={**body, "mode": "skip_conflicts"}, headers=practice.patient
    )
    assert lenient.status_code == 201, lenient.text
    result = lenient.json()
    assert len(result["booked"]) == 3
    assert [datetime.fromisoformat(s["starts_at"]) for s in result["skipped"]] == [first + timedelta(weeks=2)]
    # Same local wall time every week (a DST change in between keeps 09:00 local).
    assert {
        datetime.fromisoformat(a["starts_at"]).astimezone(first.tzinfo).hour for a in result["booked"]
    } == {9}
    assert await count_rows(database, "appointments") == 4
    neither = await client.post(
        "/api/v1/appointment-series", json={**body, "until": "2030-01-01"}, headers=practice.patient
    )
    assert neither.status_code == 422


async def test_no_show_sweep_is_idempotent(
    database: Database, practice: Practice, client: httpx.AsyncClient
) -> None:
    from clinicflow.scheduling.sweep import mark_no_shows

    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    ends = datetime.fromisoformat(booked.json()["ends_at"])
    async with database.transaction() as uow:
        assert await mark_no_shows(uow, now=ends + timedelta(minutes=29)) == 0
    async with database.transaction() as uow:
        assert await mark_no_shows(uow, now=ends + timedelta(minutes=31)) == 1
    async with database.transaction() as uow:
        assert await mark_no_shows(uow, now=ends + timedelta(hours=5)) == 0
    appointment = await client.get(f"/api/v1/appointments/{booked.json()['id']}", headers=practice.patient)
    assert appointment.json()["status"] == "no_show"
    async with database.engine.connect() as conn:
        events = (
            await conn.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'appointment.no_show'")
            )
        ).scalar_one()
    assert events == 1


async def test_a_clinic_with_upcoming_appointments_cannot_be_deleted(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    refused = await client.delete(f"/api/v1/clinics/{practice.clinic.id}", headers=practice.admin)
    assert refused.status_code == 409
    assert "1 upcoming appointment" in refused.json()["detail"]
    await client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=practice.reception)
    assert (
        await client.delete(f"/api/v1/clinics/{practice.clinic.id}", headers=practice.admin)
    ).status_code == 204


RULE = {"weekday": 0, "start": "09:00", "end": "12:00"}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "availability", {"rules": [{**RULE, "weekday": 7}]}, "rules.0.weekday"),
        ("PUT", "availability", {"rules": [{**RULE, "slot_minutes": 3}]}, "rules.0.slot_minutes"),
        ("PUT", "availability", {"rules": [{**RULE, "end": "09:00"}]}, "rules.0"),
        (
            "PUT",
            "availability",
            {"rules": [{**RULE, "valid_from": "2030-02-01", "valid_to": "2030-01-01"}]},
            "rules.0",
        ),
        ("PUT", "availability", {"clinic_id": str(uuid.uuid4()), "rules": [RULE]}, "clinic_id"),
        ("PUT", "availability", {"rules": [RULE], "horizon_days": 0}, "horizon_days"),
        (
            "POST",
            "time-off",
            {"starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T09:00:00Z"},
            "body",
        ),
        ("POST", "time-off", {"from_date": "2030-01-02"}, "body"),
        (
            "POST",
            "time-off",
            {"starts_at": "2030-01-02T10:00:00", "ends_at": "2030-01-02T11:00:00"},
            "starts_at",
        ),
        (
            "POST",
            "time-off",
            {"clinic_id": None, "from_date": "2030-01-02", "to_date": "2030-01-02"},
            "clinic_id",
        ),
    ],
)
async def test_bad_availability_and_time_off_are_422_and_change_nothing(
    client: httpx.AsyncClient,
    database: Database,
    practice: Practice,
    method: str,
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    before = (
        await client.get(
            f"/api/v1/doctors/{practice.doctor_id}/availability",
            params={"clinic_id": str(practice.clinic.id)},
            headers=practice.doctor,
        )
    ).json()
    payload = {"clinic_id": str(practice.clinic.id), **body}
    response = await client.request(
        method, f"/api/v1/doctors/{practice.doctor_id}/{path}", json=payload, headers=practice.admin
    )
    assert response.status_code == 422, response.text
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()
    after = (
        await client.get(
            f"/api/v1/doctors/{practice.doctor_id}/availability",
            params={"clinic_id": str(practice.clinic.id)},
            headers=practice.doctor,
        )
    ).json()
    assert after == before
    assert await count_rows(database, "time_off") == 0


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
        {"from": "2030-01-01T00:00:00Z", "to": "2030-03-01T00:00:00Z"},
        {"from": "2030-01-01T00:00:00", "to": "2030-01-02T00:00:00"},
        {"from": "yesterday", "to": "2030-01-02T00:00:00Z"},
    ],
)
async def test_bad_slot_ranges_are_422(
    client: httpx.AsyncClient, practice: Practice, params: dict[str, str]
) -> None:
    response = await client.get(
        f"/api/v1/doctors/{practice.doctor_id}/slots", params=params, headers=practice.patient
    )
    assert response.status_code == 422


async def test_bad_reschedules_and_cancellations_change_nothing(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    url = f"/api/v1/appointments/{booked.json()['id']}"
    for body in (
        {"starts_at": "2030-01-01T09:00:00"},
        {"starts_at": tomorrow_at(9, 10).isoformat()},
        {"when": "soon"},
    ):
        assert (
            await client.post(f"{url}/reschedule", json=body, headers=practice.patient)
        ).status_code == 422
    extra = await client.post(
        f"{url}/cancel", json={"reason": "x", "status": "completed"}, headers=practice.patient
    )
    assert extra.status_code == 422
    unchanged = (await client.get(url, headers=practice.patient)).json()
    assert unchanged["status"] == "scheduled"
    assert unchanged["starts_at"] == booked.json()["starts_at"]


async def test_the_slots_query_reads_one_doctors_appointments_through_the_index(
    database: Database, practice: Practice
) -> None:
    """Other doctors' and tenants' appointments are never scanned: the plan is an index scan
    whose condition pins tenant and doctor (the (tenant_id, doctor_id, starts_at) b-tree, or
    the exclusion constraint's GiST index, which covers exactly the active rows). Seq scans
    are disabled so the plan shows whether an index can serve the query at any table size."""
    from clinicflow.scheduling.repository import busy_statement

    statement = busy_statement(
        tenant_id=practice.tenant.id,
        doctor_id=practice.doctor_id,
        start=tomorrow_at(0),
        end=tomorrow_at(0, days=7),
    )
    sql = str(statement.compile(dialect=database.engine.dialect, compile_kwargs={"literal_binds": True}))
    async with database.engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join((await conn.execute(text(f"EXPLAIN {sql}"))).scalars())
    assert "Seq Scan" not in plan, plan
    condition = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert f"tenant_id = '{practice.tenant.id}'" in condition, plan
    assert f"doctor_id = '{practice.doctor_id}'" in condition, plan


async def test_slots_come_in_pages_that_resume_after_the_cursor(
    client: httpx.AsyncClient, practice: Practice
) -> None:
    start = tomorrow_at(0)
    params = {"from": start.isoformat(), "to": (start + timedelta(days=2)).isoformat(), "limit": "15"}
    url = f"/api/v1/doctors/{practice.doctor_id}/slots"
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        response = await client.get(
            url, params={**params, **({"cursor": cursor} if cursor else {})}, headers=practice.patient
        )
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([slot["starts_at"] for slot in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [15, 15, 10]  # two days of 20 slots
    starts = [s for p in pages for s in p]
    assert starts == sorted(starts)
    assert len(set(starts)) == 40
    bad = await client.get(url, params={**params, "cursor": "bm90LWEtY3Vyc29y"}, headers=practice.patient)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"


async def test_time_off_comes_in_pages_soonest_first(client: httpx.AsyncClient, practice: Practice) -> None:
    url = f"/api/v1/doctors/{practice.doctor_id}/time-off"
    for days in (9, 7, 8):  # created out of order
        day = tomorrow_at(0, days=days).date().isoformat()
        created = await client.post(
            url,
            json={"clinic_id": str(practice.clinic.id), "from_date": day, "to_date": day},
            headers=practice.doctor,
        )
        assert created.status_code == 201, created.text
    first = await client.get(url, params={"limit": 2}, headers=practice.doctor)
    assert first.status_code == 200
    second = await client.get(
        url, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=practice.doctor
    )
    assert second.json()["next_cursor"] is None
    starts = [t["starts_at"] for t in first.json()["items"] + second.json()["items"]]
    assert len(starts) == 3
    assert starts == sorted(starts)
