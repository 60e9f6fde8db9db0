"""GET /api/v1/queues/{location_id}: the full queue for staff, one's own place for a patient,
nothing for anyone else; two statements, the waiting list read from its index alone."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text

from clinicflow.checkin.models import Priority
from clinicflow.checkin.queue import service as queue
from clinicflow.checkin.queue.repository import SNAPSHOT_WITH_NAMES, WAITING_SQL
from clinicflow.errors import NotFound
from clinicflow.identity.principal import Grant, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.checkin.queue_support import new_patients, open_day, seat
from tests.conftest import ClientFactory
from tests.factories import login, make_member, make_user
from tests.scheduling.conftest import Practice, make_practice


async def test_staff_see_the_whole_queue_in_order_with_estimates(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    patients = await new_patients(database, practice, 3)
    normal = await seat(database, client, day, patients[:2])
    urgent = await seat(database, client, day, patients[2:], priority=Priority.URGENT)

    body = await day.queue(practice.reception)

    assert body["view"] == "full"
    assert body["day"] == day.day.isoformat()
    waiting = body["waiting"]
    assert [w["check_in_id"] for w in waiting] == [str(s.check_in_id) for s in (*urgent, *normal)]
    assert [w["ticket"] for w in waiting] == ["A-003", "A-001", "A-002"]
    assert [w["position"] for w in waiting] == [1, 2, 3]
    assert [w["ahead"] for w in waiting] == [0, 1, 2]
    # No history: the clinic default of 15 minutes per patient ahead.
    assert [w["estimate_minutes"] for w in waiting] == [0, 15, 30]
    assert waiting[0]["patient_name"] == "Queued Patient 2"
    assert waiting[0]["doctor_name"]
    assert waiting[0]["patient_id"] == str(patients[2])
    assert waiting[0]["priority"] == 0
    assert body["called"] == []
    assert body["in_consultation"] == []


async def test_a_patient_sees_only_their_own_place(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    others = await new_patients(database, practice, 2)
    await seat(database, client, day, others)
    (mine,) = await seat(database, client, day, [practice.patient_id])

    body = await day.queue(practice.patient)

    assert body == {
        "view": "own",
        "location_id": str(day.location_id),
        "day": day.day.isoformat(),
        "entries": [
            {
                "check_in_id": str(mine.check_in_id),
                "appointment_id": str(mine.appointment_id),
                "ticket": "A-003",
                "status": "waiting",
                "doctor_id": str(practice.doctor_id),
                "position": 3,
                "ahead": 2,
                "estimate_minutes": 30,
            }
        ],
    }
    # Another patient of the tenant, with nothing in this queue, sees nothing of it.
    _, stranger = await make_member(database, client, tenant=practice.tenant, role=Role.PATIENT)
    assert (await day.queue(stranger))["entries"] == []


async def test_a_day_can_be_asked_for_and_a_bad_one_is_422(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    await seat(database, client, day, await new_patients(database, practice, 1))

    other_day = await day.queue(practice.reception, day="2030-01-01")
    assert other_day["waiting"] == []
    assert other_day["day"] == "2030-01-01"
    bad = await day.api.get(day.path(), params={"day": "tomorrow"}, headers=practice.reception)
    assert bad.status_code == 422
    assert bad.json()["code"] == "VALIDATION_FAILED"
    not_an_id = await day.api.get("/api/v1/queues/not-a-uuid", headers=practice.reception)
    assert not_an_id.status_code == 422


async def test_who_may_not_read_a_queue(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    await seat(database, client, day, await new_patients(database, practice, 1))
    _, pharmacist = await make_member(database, client, tenant=practice.tenant, role=Role.PHARMACIST)
    elsewhere = await make_practice(database, client)
    # A nurse of another clinic of the same tenant does not see this clinic's queue.
    other_clinic = await client.post(
        "/api/v1/clinics",
        json={"name": "Other", "slug": f"o-{uuid.uuid4().hex[:8]}", "timezone": "Europe/Berlin"},
        headers=practice.admin,
    )
    nurse = await make_user(
        database,
        tenant_id=practice.tenant.id,
        roles=(Role.NURSE,),
        clinic_id=uuid.UUID(other_clinic.json()["id"]),
    )
    nurse_headers = {
        "Authorization": "Bearer "
        + (await login(client, tenant=practice.tenant.slug, email=nurse.email))["access_token"]
    }

    assert (await day.api.get(day.path())).status_code == 401
    assert (await day.api.get(day.path(), headers=pharmacist)).status_code == 403
    assert (await day.api.get(day.path(), headers=nurse_headers)).status_code == 404
    for headers in (elsewhere.reception, elsewhere.patient, elsewhere.doctor):  # another tenant's
        response = await day.api.get(day.path(), headers=headers)
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND"
    missing = await day.api.get(f"/api/v1/queues/{uuid.uuid4()}", headers=practice.reception)
    assert missing.status_code == 404


async def test_the_waiting_list_is_read_from_its_index_alone(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    await seat(database, client, day, await new_patients(database, practice, 30))
    params = {"tenant_id": practice.tenant.id, "location_id": day.location_id, "day": day.day}
    async with database.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE) check_ins"))
        await conn.execute(text("SET enable_seqscan = off"))  # 30 rows: a scan of the table is cheaper
        plan = "\n".join(
            row[0] for row in await conn.execute(text(f"EXPLAIN (ANALYZE) {WAITING_SQL}"), params)
        )
        full = "\n".join(
            row[0]
            for row in await conn.execute(
                text(f"EXPLAIN {SNAPSHOT_WITH_NAMES.sql}".replace("%(", ":").replace(")s", "")),
                {**params, "since": day.clock.now()},
            )
        )
    assert "Index Only Scan using ix_check_ins_queue" in plan, plan
    assert "Heap Fetches: 0" in plan, plan
    assert "Index Only Scan using ix_check_ins_queue" in full, full


async def test_the_staff_queue_with_its_zone_is_what_the_api_shows_staff_and_hidden_from_patients(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    await seat(database, client, day, await new_patients(database, practice, 2))
    doctor = TenantPrincipal(
        subject_id=practice.doctor_id,
        tenant_id=practice.tenant.id,
        session_id=uuid.uuid4(),
        grants=(Grant(Role.DOCTOR, practice.clinic.id),),
    )
    patient = TenantPrincipal(
        subject_id=practice.patient_id,
        tenant_id=practice.tenant.id,
        session_id=uuid.uuid4(),
        grants=(Grant(Role.PATIENT, None),),
    )
    now = day.clock.now()
    async with database.reading() as uow:
        staff = await queue.read_staff_queue(uow, doctor, location_id=day.location_id, day=None, now=now)
        api = await queue.read_queue(uow, doctor, location_id=day.location_id, day=None, now=now)
        with pytest.raises(NotFound):
            await queue.read_staff_queue(uow, patient, location_id=day.location_id, day=None, now=now)
    assert staff.timezone == practice.clinic.timezone
    assert staff.queue == api
    assert [w.ticket for w in staff.queue.waiting] == ["A-001", "A-002"]
