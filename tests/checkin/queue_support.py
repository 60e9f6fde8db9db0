"""A clinic day with a queue: a location, a doctor with 5-minute slots tomorrow, and patients
checked in through `checkin.arrivals.admit`.

The queue's "today" is the clinic's: the queue API is driven through an app whose clock
runs a fixed offset ahead (`ShiftedClock`: tomorrow 07:30 in Berlin when the day opens),
so tomorrow's appointments form today's queue whatever time the tests run. Tokens come from
the ordinary client: they are checked against real time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from clinicflow.audit.service import Actor, ActorType
from clinicflow.checkin.arrivals import Desk, Window, admit
from clinicflow.checkin.models import Method, Priority
from clinicflow.identity import service as identity
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from clinicflow.scheduling import visits
from tests.conftest import ClientFactory
from tests.factories import make_member
from tests.scheduling.conftest import Practice, tomorrow_at

BERLIN = ZoneInfo("Europe/Berlin")
FIVE_MINUTES = [{"weekday": d, "start": "08:00", "end": "18:00", "slot_minutes": 5} for d in range(7)]


class ShiftedClock:
    """Real time moved by a fixed offset: it ticks, so call times keep their order."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Seat:
    check_in_id: uuid.UUID
    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    starts_at: datetime


@dataclass
class ClinicDay:
    practice: Practice
    location_id: uuid.UUID
    api: httpx.AsyncClient  # the queue's app, its clock on the clinic day
    clock: ShiftedClock
    day: date
    slots: list[str] = field(default_factory=list)

    def path(self, tail: str = "") -> str:
        return f"/api/v1/queues/{self.location_id}{tail}"

    async def queue(self, headers: dict[str, str], **params: str) -> dict[str, Any]:
        response = await self.api.get(self.path(), headers=headers, params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def move(self, check_in_id: uuid.UUID, move: str, headers: dict[str, str]) -> httpx.Response:
        return await self.api.post(f"/api/v1/queues/entries/{check_in_id}/{move}", headers=headers)


async def open_day(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> ClinicDay:
    await practice.set_availability(client, FIVE_MINUTES)
    created = await client.post(
        "/api/v1/clinic-locations",
        json={"clinic_id": str(practice.clinic.id), "name": "Waiting room", "kind": "waiting_area"},
        headers=practice.admin,
    )
    assert created.status_code == 201, created.text
    clock = ShiftedClock(tomorrow_at(7, 30) - datetime.now(UTC))
    day = tomorrow_at(7, 30).date()
    found = await client.get(
        f"/api/v1/doctors/{practice.doctor_id}/slots",
        params={"from": tomorrow_at(8).isoformat(), "to": tomorrow_at(18).isoformat()},
        headers=practice.reception,
    )
    assert found.status_code == 200, found.text
    slots = [s["starts_at"] for s in found.json()["items"]]
    return ClinicDay(practice, uuid.UUID(created.json()["id"]), make_client(clock=clock), clock, day, slots)


async def new_patients(database: Database, practice: Practice, count: int) -> list[uuid.UUID]:
    async with database.transaction() as uow:
        return [
            (
                await identity.create_user(
                    uow,
                    tenant_id=practice.tenant.id,
                    email=f"q-{uuid.uuid4().hex[:10]}@example.test",
                    full_name=f"Queued Patient {n}",
                    password=None,
                    roles=[Role.PATIENT],
                )
            ).id
            for n in range(count)
        ]


async def seat(
    database: Database,
    client: httpx.AsyncClient,
    day: ClinicDay,
    patients: list[uuid.UUID],
    *,
    doctor_id: uuid.UUID | None = None,
    priority: Priority = Priority.NORMAL,
) -> list[Seat]:
    """Book each patient the next free slot with the doctor and check them in, in that order."""
    practice = day.practice
    seats = []
    for patient_id in patients:
        starts_at = day.slots.pop(0)
        body = {**practice.booking(starts_at, patient_id=str(patient_id))}
        if doctor_id is not None:
            body["doctor_id"] = str(doctor_id)
        booked = await client.post("/api/v1/appointments", json=body, headers=practice.reception)
        assert booked.status_code == 201, booked.text
        appointment_id = uuid.UUID(booked.json()["id"])
        async with database.transaction() as uow:
            visit = await visits.get_visit(uow, tenant_id=practice.tenant.id, appointment_id=appointment_id)
            assert visit is not None
            row = await admit(
                uow,
                Actor(ActorType.USER, patient_id),
                visit=visit,
                desk=Desk(location_id=day.location_id, ticket_prefix="A", zone=BERLIN),
                window=Window(),
                method=Method.STAFF,
                now=day.clock.now(),
                checked_in_by=None,
                priority=priority,
            )
        seats.append(Seat(row.id, appointment_id, patient_id, datetime.fromisoformat(starts_at)))
    return seats


async def second_doctor(
    database: Database, client: httpx.AsyncClient, practice: Practice
) -> tuple[uuid.UUID, dict[str, str]]:
    doctor, headers = await make_member(
        database, client, tenant=practice.tenant, role=Role.DOCTOR, clinic_id=practice.clinic.id
    )
    return doctor.id, headers


async def scalar(database: Database, sql: str, **params: Any) -> Any:
    async with database.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def rows(database: Database, sql: str, **params: Any) -> list[Any]:
    async with database.engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())
