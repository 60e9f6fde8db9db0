"""Reception checks patients in: at the desk inside the window (method `staff`), or outside it
with a reason (`override`), limited to the roles that hold it and audited."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clinicflow.identity.roles import Role
from clinicflow.platform.clock import FrozenClock
from clinicflow.platform.db import Database
from tests.checkin.conftest import book, make_desk
from tests.conftest import count_rows
from tests.factories import make_member
from tests.scheduling.conftest import Practice, make_practice, tomorrow_at


def desk_url(appointment_id: str) -> str:
    return f"/api/v1/appointments/{appointment_id}/check-in"


def override_url(appointment_id: str) -> str:
    return f"/api/v1/appointments/{appointment_id}/check-in/override"


async def _row(database: Database, appointment_id: str) -> dict[str, Any]:
    async with database.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT method, checked_in_by, override_reason FROM check_ins WHERE appointment_id = :a"
                ),
                {"a": uuid.UUID(appointment_id)},
            )
        ).one()
    return dict(row._mapping)


async def test_reception_checks_a_patient_in_inside_the_window(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    appointment = await book(client, practice, tomorrow_at(10, 30))

    checked = await frozen.post(desk_url(appointment), headers=practice.reception)

    assert checked.status_code == 201, checked.text
    assert (checked.json()["method"], checked.json()["location_id"]) == ("staff", desk)  # the only desk
    reception_id = (await client.get("/api/v1/users/me", headers=practice.reception)).json()["id"]
    stored = await _row(database, appointment)
    assert (stored["method"], str(stored["checked_in_by"]), stored["override_reason"]) == (
        "staff",
        reception_id,
        None,
    )
    again = await frozen.post(desk_url(appointment), headers=practice.doctor)
    assert again.status_code == 409
    assert again.json()["code"] == "ALREADY_CHECKED_IN"


async def test_outside_the_window_reception_needs_the_override_with_a_reason(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    await make_desk(client, practice)
    appointment = await book(client, practice, tomorrow_at(15))
    early = await frozen.post(desk_url(appointment), headers=practice.reception)
    assert early.status_code == 409
    assert early.json()["code"] == "TOO_EARLY"

    overridden = await frozen.post(
        override_url(appointment), json={"reason": "  came early for bloods  "}, headers=practice.reception
    )

    assert overridden.status_code == 201, overridden.text
    assert overridden.json()["method"] == "override"
    assert (await _row(database, appointment))["override_reason"] == "came early for bloods"
    async with database.engine.connect() as conn:
        details = (
            await conn.execute(
                text(
                    "SELECT details FROM audit_events"
                    " WHERE action = 'appointment.check_in' AND subject_id = :a"
                ),
                {"a": uuid.UUID(appointment)},
            )
        ).scalar_one()
    assert (details["method"], details["override_reason"]) == ("override", "came early for bloods")


async def test_the_override_is_for_the_desk_and_admins_only(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    await make_desk(client, practice)
    appointment = await book(client, practice, tomorrow_at(15))
    body = {"reason": "walk-in"}
    for headers in (practice.doctor, practice.patient):
        refused = await frozen.post(override_url(appointment), json=body, headers=headers)
        assert refused.status_code == 403, refused.text
    assert (await frozen.post(override_url(appointment), json=body)).status_code == 401
    assert await count_rows(database, "check_ins") == 0
    allowed = await frozen.post(override_url(appointment), json=body, headers=practice.admin)
    assert allowed.status_code == 201, allowed.text


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": "no"}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": "fine", "method": "qr"}],
)
async def test_an_override_without_a_proper_reason_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    frozen: httpx.AsyncClient,
    database: Database,
    practice: Practice,
    body: dict[str, Any],
) -> None:
    await make_desk(client, practice)
    appointment = await book(client, practice, tomorrow_at(15))
    refused = await frozen.post(override_url(appointment), json=body, headers=practice.reception)
    assert refused.status_code == 422
    assert refused.json()["code"] == "VALIDATION_FAILED"
    assert await count_rows(database, "check_ins") == 0
    shown = await client.get(f"/api/v1/appointments/{appointment}", headers=practice.admin)
    assert shown.json()["status"] == "scheduled"


async def test_where_reception_checks_in(
    client: httpx.AsyncClient, database: Database, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    front = await make_desk(client, practice, name="Front")
    side = await make_desk(client, practice, name="Side")
    appointment = await book(client, practice, tomorrow_at(10, 30))
    several = await frozen.post(desk_url(appointment), headers=practice.reception)
    assert several.status_code == 422  # two desks, the visit names none: say which
    assert several.json()["errors"][0]["field"] == "location_id"
    other_clinic = await make_practice(database, client, tenant=practice.tenant)
    elsewhere = await make_desk(client, other_clinic)
    for location_id in (elsewhere, str(uuid.uuid4())):
        wrong = await frozen.post(
            desk_url(appointment), json={"location_id": location_id}, headers=practice.admin
        )
        assert wrong.status_code == 422, wrong.text
    bad = await frozen.post(desk_url(appointment), json={"location_id": "front"}, headers=practice.reception)
    assert bad.status_code == 422
    chosen = await frozen.post(desk_url(appointment), json={"location_id": side}, headers=practice.reception)
    assert chosen.json()["location_id"] == side
    assert front != side


async def test_a_visit_with_a_location_checks_in_there_by_default(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    await make_desk(client, practice, name="Front")
    room = await make_desk(client, practice, name="Room 4")
    await practice.set_availability(
        client, rules=[{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(7)], location_id=room
    )
    appointment = await book(client, practice, tomorrow_at(10, 30))
    checked = await frozen.post(desk_url(appointment), headers=practice.reception)
    assert checked.json()["location_id"] == room


async def test_a_disabled_desk_or_a_cancelled_visit_is_refused(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    desk = await make_desk(client, practice, enabled=False)
    appointment = await book(client, practice, tomorrow_at(10, 30))
    closed = await frozen.post(desk_url(appointment), json={"location_id": desk}, headers=practice.reception)
    assert closed.json()["code"] == "CHECK_IN_DISABLED"
    none_open = await frozen.post(desk_url(appointment), headers=practice.reception)
    assert none_open.json()["errors"][0]["field"] == "location_id"
    await client.put(f"/api/v1/appointments/check-in/locations/{desk}", json={}, headers=practice.admin)
    await client.post(f"/api/v1/appointments/{appointment}/cancel", headers=practice.patient)
    cancelled = await frozen.post(
        override_url(appointment), json={"reason": "patient is here"}, headers=practice.reception
    )
    assert cancelled.status_code == 409
    assert cancelled.json()["code"] == "INVALID_TRANSITION"


async def test_other_clinics_and_tenants_do_not_see_the_visit(
    client: httpx.AsyncClient,
    frozen: httpx.AsyncClient,
    database: Database,
    practice: Practice,
    clock: FrozenClock,
) -> None:
    await make_desk(client, practice)
    appointment = await book(client, practice, tomorrow_at(10, 30))
    other_clinic = await make_practice(database, client, tenant=practice.tenant)
    other_tenant = await make_practice(database, client)
    _, patient = await make_member(database, client, tenant=practice.tenant, role=Role.PATIENT)
    for headers in (other_clinic.reception, other_tenant.reception, other_tenant.admin):
        assert (await frozen.post(desk_url(appointment), headers=headers)).status_code == 404
        overridden = await frozen.post(override_url(appointment), json={"reason": "xyz"}, headers=headers)
        assert overridden.status_code == 404
    assert (await frozen.post(desk_url(appointment), headers=patient)).status_code == 403
    missing = await frozen.post(desk_url(str(uuid.uuid4())), headers=practice.reception)
    assert missing.status_code == 404
    assert (await frozen.post(desk_url(appointment))).status_code == 401
    assert await count_rows(database, "check_ins") == 0
