"""Where a visit happens: a weekly rule's location, else the plan's, is stored on the booking."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from clinicflow.platform.db import Database
from tests.conftest import count_rows
from tests.factories import make_clinic
from tests.scheduling.conftest import WEEK, Practice, tomorrow_at


async def _location(client: httpx.AsyncClient, practice: Practice, clinic_id: uuid.UUID, name: str) -> str:
    created = await client.post(
        "/api/v1/clinic-locations",
        json={"clinic_id": str(clinic_id), "name": name, "kind": "room"},
        headers=practice.admin,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _book(client: httpx.AsyncClient, practice: Practice, hour: int) -> dict[str, Any]:
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(hour)), headers=practice.patient
    )
    assert booked.status_code == 201, booked.text
    body: dict[str, Any] = booked.json()
    return body


async def test_booking_stores_the_rules_location_else_the_plans(
    client: httpx.AsyncClient, practice: Practice
) -> None:
    room_1 = await _location(client, practice, practice.clinic.id, "Room 1")
    room_2 = await _location(client, practice, practice.clinic.id, "Room 2")
    mornings = [{**rule, "end": "12:00", "location_id": room_2} for rule in WEEK]
    afternoons = [{**rule, "start": "13:00"} for rule in WEEK]
    shown = await practice.set_availability(client, rules=mornings + afternoons, location_id=room_1)
    assert shown.json()["location_id"] == room_1
    assert {r["location_id"] for r in shown.json()["rules"]} == {room_2, None}

    morning, afternoon = await _book(client, practice, 9), await _book(client, practice, 15)
    assert (morning["location_id"], afternoon["location_id"]) == (room_2, room_1)
    read = await client.get(f"/api/v1/appointments/{morning['id']}", headers=practice.patient)
    assert read.json()["location_id"] == room_2

    moved = await client.post(
        f"/api/v1/appointments/{morning['id']}/reschedule",
        json={"starts_at": tomorrow_at(16).isoformat()},
        headers=practice.patient,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["location_id"] == room_1  # the afternoon's room


async def test_without_locations_a_visit_is_at_the_clinic_at_large(
    client: httpx.AsyncClient, practice: Practice
) -> None:
    assert (await _book(client, practice, 10))["location_id"] is None


async def test_a_location_of_another_clinic_or_tenant_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    other_clinic = await make_clinic(database, tenant_id=practice.tenant.id)
    elsewhere = await _location(client, practice, other_clinic.id, "Elsewhere")
    before = await client.get(
        f"/api/v1/doctors/{practice.doctor_id}/availability",
        params={"clinic_id": str(practice.clinic.id)},
        headers=practice.admin,
    )
    rules_before = await count_rows(database, "availability_rules")

    body = {
        "clinic_id": str(practice.clinic.id),
        "location_id": str(uuid.uuid4()),
        "rules": [{**WEEK[0], "location_id": elsewhere}],
    }
    refused = await client.put(
        f"/api/v1/doctors/{practice.doctor_id}/availability", json=body, headers=practice.admin
    )

    assert refused.status_code == 422, refused.text
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {"location_id", "rules.0.location_id"}
    after = await client.get(
        f"/api/v1/doctors/{practice.doctor_id}/availability",
        params={"clinic_id": str(practice.clinic.id)},
        headers=practice.admin,
    )
    assert after.json() == before.json()
    assert await count_rows(database, "availability_rules") == rules_before
