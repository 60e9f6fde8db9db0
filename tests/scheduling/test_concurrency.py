"""The guarantee under fire: many parallel requests through the API, then an SQL check."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from clinicflow.identity import service as identity
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.scheduling.conftest import Practice, tomorrow_at

PARALLEL = 50

OVERLAPS = text(
    """
    SELECT count(*) FROM appointments a JOIN appointments b
      ON a.tenant_id = b.tenant_id AND a.doctor_id = b.doctor_id AND a.id < b.id
     AND tstzrange(a.blocked_from, a.blocked_until) && tstzrange(b.blocked_from, b.blocked_until)
     AND a.slot_group_id <> b.slot_group_id
    WHERE a.status IN ('scheduled', 'confirmed', 'checked_in', 'in_consultation')
      AND b.status IN ('scheduled', 'confirmed', 'checked_in', 'in_consultation')
    """
)


async def _patients(database: Database, practice: Practice, n: int) -> list[uuid.UUID]:
    ids = []
    async with database.transaction() as uow:
        for i in range(n):
            user = await identity.create_user(
                uow,
                tenant_id=practice.tenant.id,
                email=f"p{i}-{uuid.uuid4().hex[:6]}@example.test",
                full_name=f"Patient {i}",
                password=None,
                roles=[Role.PATIENT],
            )
            ids.append(user.id)
    return ids


async def _overlaps(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(OVERLAPS)).scalar_one())


async def _fire(client: httpx.AsyncClient, practice: Practice, bodies: list[dict[str, Any]]) -> list[int]:
    responses = await asyncio.gather(
        *(client.post("/api/v1/appointments", json=body, headers=practice.reception) for body in bodies)
    )
    for response in responses:
        assert response.status_code in (201, 409), response.text
        if response.status_code == 409:
            assert response.json()["code"] == "SLOT_UNAVAILABLE"
    return [r.status_code for r in responses]


async def test_fifty_parallel_bookings_of_one_slot_make_one_appointment(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    patients = await _patients(database, practice, PARALLEL)
    slot = tomorrow_at(9)
    statuses = await _fire(client, practice, [practice.booking(slot, patient_id=str(p)) for p in patients])
    assert statuses.count(201) == 1
    assert statuses.count(409) == PARALLEL - 1
    assert await _overlaps(database) == 0


async def test_parallel_bookings_of_overlapping_slots_make_one_appointment(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    day = tomorrow_at(0).weekday()
    await practice.set_availability(
        client,
        rules=[
            {"weekday": day, "start": "09:00", "end": "10:00", "slot_minutes": 30},
            {"weekday": day, "start": "09:15", "end": "10:15", "slot_minutes": 30},
        ],
    )
    patients = await _patients(database, practice, PARALLEL)
    times = [tomorrow_at(9), tomorrow_at(9, 15)]  # 09:00-09:30 and 09:15-09:45 overlap
    bodies = [practice.booking(times[i % 2], patient_id=str(p)) for i, p in enumerate(patients)]
    statuses = await _fire(client, practice, bodies)
    assert statuses.count(201) == 1
    assert await _overlaps(database) == 0


async def test_a_group_session_fills_to_exactly_its_capacity(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    day = tomorrow_at(0).weekday()
    await practice.set_availability(
        client, rules=[{"weekday": day, "start": "14:00", "end": "15:00", "slot_minutes": 60, "capacity": 5}]
    )
    slots = await practice.slots(client, tomorrow_at(0))
    assert [(s["capacity"], s["remaining"]) for s in slots] == [(5, 5)]
    patients = await _patients(database, practice, PARALLEL)
    statuses = await _fire(
        client, practice, [practice.booking(tomorrow_at(14), patient_id=str(p)) for p in patients]
    )
    assert statuses.count(201) == 5
    async with database.engine.connect() as conn:
        booked = (await conn.execute(text("SELECT booked FROM group_slots"))).scalar_one()
        seats = (
            await conn.execute(text("SELECT count(*) FROM appointments WHERE status = 'scheduled'"))
        ).scalar_one()
    assert booked == seats == 5
    assert await practice.slots(client, tomorrow_at(0)) == []
    assert await _overlaps(database) == 0
    # A one-seat booking may not overlap the group session either.
    await practice.set_availability(
        client,
        rules=[
            {"weekday": day, "start": "14:00", "end": "15:00", "slot_minutes": 60, "capacity": 5},
            {"weekday": day, "start": "14:30", "end": "15:00", "slot_minutes": 30},
        ],
    )
    clash = await client.post(
        "/api/v1/appointments",
        json=practice.booking(tomorrow_at(14, 30), patient_id=str(patients[0])),
        headers=practice.reception,
    )
    assert clash.status_code == 409


async def test_a_cancelled_seat_is_offered_again(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    day = tomorrow_at(0).weekday()
    await practice.set_availability(
        client, rules=[{"weekday": day, "start": "14:00", "end": "15:00", "slot_minutes": 60, "capacity": 2}]
    )
    patients = await _patients(database, practice, 3)
    first, second, third = [
        await client.post(
            "/api/v1/appointments",
            json=practice.booking(tomorrow_at(14), patient_id=str(p)),
            headers=practice.reception,
        )
        for p in patients
    ]
    assert (first.status_code, second.status_code, third.status_code) == (201, 201, 409)
    cancel = await client.post(
        f"/api/v1/appointments/{first.json()['id']}/cancel", headers=practice.reception
    )
    assert cancel.status_code == 200
    retry = await client.post(
        "/api/v1/appointments",
        json=practice.booking(tomorrow_at(14), patient_id=str(patients[2])),
        headers=practice.reception,
    )
    assert retry.status_code == 201


async def test_parallel_reschedules_into_one_slot_move_exactly_one(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    patients = await _patients(database, practice, 20)
    booked = []
    for i, patient in enumerate(patients):
        hour, minute = divmod(8 * 60 + 30 * i, 60)
        response = await client.post(
            "/api/v1/appointments",
            json=practice.booking(tomorrow_at(hour, minute), patient_id=str(patient)),
            headers=practice.reception,
        )
        assert response.status_code == 201, response.text
        booked.append(response.json())
    target = tomorrow_at(9, days=2).isoformat()  # free: the 20 visits fill tomorrow only
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/appointments/{a['id']}/reschedule",
                json={"starts_at": target},
                headers=practice.reception,
            )
            for a in booked
        )
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1
    assert statuses.count(409) == 19
    assert await _overlaps(database) == 0
    async with database.engine.connect() as conn:
        remaining = (
            await conn.execute(text("SELECT count(*) FROM appointments WHERE status = 'scheduled'"))
        ).scalar_one()
    assert remaining == 20  # the losers kept their old times
