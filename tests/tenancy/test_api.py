"""Tenancy through the HTTP API: clinics and locations CRUD, validation, isolation, audit."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database, UnitOfWork
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.models import Tenant
from tests.conftest import count_rows
from tests.factories import make_clinic, make_member, make_tenant

CLINIC = {"name": "Harbour Clinic", "slug": "harbour", "timezone": "Europe/Lisbon", "country_code": "PT"}


async def _events(database: Database, tenant_id: uuid.UUID, action: str) -> list[dict[str, Any]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT subject_id, before, after FROM audit_events WHERE tenant_id = :t AND action = :a"),
            {"t": tenant_id, "a": action},
        )
        return [dict(r._mapping) for r in rows]


@pytest.fixture
async def tenant(database: Database) -> Tenant:
    return await make_tenant(database)


@pytest.fixture
async def admin(database: Database, client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    return (await make_member(database, client, tenant=tenant, role=Role.TENANT_ADMIN))[1]


async def test_clinic_lifecycle_with_one_audit_event_per_change(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, admin: dict[str, str]
) -> None:
    created = await client.post("/api/v1/clinics", json=CLINIC, headers=admin)
    assert created.status_code == 201, created.text
    clinic_id = created.json()["id"]
    location = await client.post(
        "/api/v1/clinic-locations",
        json={
            "clinic_id": clinic_id,
            "name": "Desk",
            "kind": "checkin_desk",
            "latitude": 38.7,
            "longitude": -9.1,
        },
        headers=admin,
    )
    assert location.status_code == 201

    updated = await client.put(
        f"/api/v1/clinics/{clinic_id}", json={**CLINIC, "name": "Harbour Care"}, headers=admin
    )
    assert updated.status_code == 200
    assert updated.json()["name"] == "Harbour Care"
    [change] = await _events(database, tenant.id, "clinic.updated")
    assert change["before"] == {"name": "Harbour Clinic"}
    assert change["after"] == {"name": "Harbour Care"}
    # The same PUT again changes nothing and audits nothing.
    await client.put(f"/api/v1/clinics/{clinic_id}", json={**CLINIC, "name": "Harbour Care"}, headers=admin)
    assert len(await _events(database, tenant.id, "clinic.updated")) == 1

    assert (await client.delete(f"/api/v1/clinics/{clinic_id}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/v1/clinics/{clinic_id}", headers=admin)).status_code == 404
    locations = await client.get(f"/api/v1/clinic-locations?clinic_id={clinic_id}", headers=admin)
    assert locations.json()["items"] == []  # archived with their clinic
    assert len(await _events(database, tenant.id, "clinic.created")) == 1
    assert len(await _events(database, tenant.id, "clinic.archived")) == 1
    # The slug is free again once the clinic is archived.
    assert (await client.post("/api/v1/clinics", json=CLINIC, headers=admin)).status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"name": ""}, "name"),
        ({"max_daily_appointments": 0}, "max_daily_appointments"),
        ({"country_code": "portugal"}, "country_code"),
        ({"tenant_id": str(uuid.uuid4())}, "tenant_id"),
        ({"id": str(uuid.uuid4())}, "id"),
    ],
)
async def test_bad_clinics_are_422_and_change_nothing(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str], change: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/clinics", json={**CLINIC, **change}, headers=admin)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await count_rows(database, "clinics") == 0


async def test_taken_slug_is_409(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    assert (await client.post("/api/v1/clinics", json=CLINIC, headers=admin)).status_code == 201
    again = await client.post("/api/v1/clinics", json={**CLINIC, "name": "Other"}, headers=admin)
    assert again.status_code == 409
    assert again.json()["code"] == "CLINIC_SLUG_TAKEN"
    assert await count_rows(database, "clinics") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Room", "latitude": 10}, "body"),  # latitude without longitude
        ({"name": "Room", "radius_m": 0}, "radius_m"),
        ({"name": "Room", "kind": "rooftop"}, "kind"),
        ({"name": "Room", "clinic_id": "UNKNOWN"}, "clinic_id"),
    ],
)
async def test_bad_locations_are_422_and_change_nothing(
    client: httpx.AsyncClient,
    database: Database,
    tenant: Tenant,
    admin: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    clinic = await make_clinic(database, tenant_id=tenant.id)
    payload = {"clinic_id": str(clinic.id), **body}
    if payload["clinic_id"] == "UNKNOWN":
        payload["clinic_id"] = str(uuid.uuid4())
    response = await client.post("/api/v1/clinic-locations", json=payload, headers=admin)
    assert response.status_code == 422
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()
    assert await count_rows(database, "clinic_locations") == 0


async def test_another_tenants_clinic_is_404_and_untouched(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    other = await make_tenant(database)
    theirs = await make_clinic(database, tenant_id=other.id)
    assert (await client.get(f"/api/v1/clinics/{theirs.id}", headers=admin)).status_code == 404
    assert (await client.put(f"/api/v1/clinics/{theirs.id}", json=CLINIC, headers=admin)).status_code == 404
    assert (await client.delete(f"/api/v1/clinics/{theirs.id}", headers=admin)).status_code == 404
    assert (await client.get("/api/v1/clinics", headers=admin)).json()["items"] == []
    async with database.engine.connect() as conn:
        name = (
            await conn.execute(text("SELECT name FROM clinics WHERE id = :id"), {"id": theirs.id})
        ).scalar_one()
    assert name == "Test Clinic"


async def test_clinic_admin_manages_only_their_clinic(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    mine = await make_clinic(database, tenant_id=tenant.id)
    theirs = await make_clinic(database, tenant_id=tenant.id)
    _, headers = await make_member(database, client, tenant=tenant, role=Role.CLINIC_ADMIN, clinic_id=mine.id)
    body = {**CLINIC, "slug": "renamed"}
    assert (await client.put(f"/api/v1/clinics/{mine.id}", json=body, headers=headers)).status_code == 200
    assert (await client.put(f"/api/v1/clinics/{theirs.id}", json=body, headers=headers)).status_code == 404
    desk = {"clinic_id": str(theirs.id), "name": "Desk"}
    assert (await client.post("/api/v1/clinic-locations", json=desk, headers=headers)).status_code == 403
    assert (await client.delete(f"/api/v1/clinics/{mine.id}", headers=headers)).status_code == 403


async def test_deleting_a_clinic_is_refused_while_a_guard_objects(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, admin: dict[str, str]
) -> None:
    """Scheduling will register a guard for future appointments; this proves the seam."""
    clinic = await make_clinic(database, tenant_id=tenant.id)

    async def future_work(uow: UnitOfWork, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> str | None:
        return "it has 3 future appointments" if clinic_id == clinic.id else None

    tenancy.register_clinic_archive_guard(future_work)
    try:
        refused = await client.delete(f"/api/v1/clinics/{clinic.id}", headers=admin)
        assert refused.status_code == 409
        assert "3 future appointments" in refused.json()["detail"]
        assert (await client.get(f"/api/v1/clinics/{clinic.id}", headers=admin)).status_code == 200
    finally:
        tenancy._archive_guards.remove(future_work)
    assert (await client.delete(f"/api/v1/clinics/{clinic.id}", headers=admin)).status_code == 204


async def test_platform_admin_creates_a_tenant_whose_admin_can_log_in(
    client: httpx.AsyncClient, database: Database
) -> None:
    from clinicflow.identity import service as identity
    from tests.factories import PASSWORD, bearer, login

    async with database.transaction() as uow:
        await identity.create_platform_admin(
            uow, email="ops@platform.example", full_name="Ops", password=PASSWORD
        )
    ops = bearer(await login(client, tenant=None, email="ops@platform.example"))
    body = {
        "name": "Lakeside",
        "slug": "lakeside",
        "admin_email": "boss@lakeside.example",
        "admin_password": PASSWORD,
    }
    created = await client.post("/api/v1/tenants", json=body, headers=ops)
    assert created.status_code == 201
    assert (await client.post("/api/v1/tenants", json=body, headers=ops)).status_code == 409
    assert (
        await client.post("/api/v1/tenants", json={**body, "slug": "Bad Slug"}, headers=ops)
    ).status_code == 422
    listed = await client.get("/api/v1/tenants", headers=ops)
    assert [t["slug"] for t in listed.json()["items"]] == ["lakeside"]
    boss = bearer(await login(client, tenant="lakeside", email="boss@lakeside.example"))
    assert (await client.get("/api/v1/users/me", headers=boss)).json()["roles"] == ["TENANT_ADMIN"]
    # The platform admin sees no tenant data.
    assert (await client.get("/api/v1/clinics", headers=ops)).status_code == 403


async def test_a_platform_admin_sees_their_own_profile(client: httpx.AsyncClient, database: Database) -> None:
    from clinicflow.identity import service as identity
    from tests.factories import PASSWORD, bearer, login

    async with database.transaction() as uow:
        await identity.create_platform_admin(
            uow, email="ops2@platform.example", full_name="Olu Ops", password=PASSWORD
        )
    me = await client.get(
        "/api/v1/users/me", headers=bearer(await login(client, tenant=None, email="ops2@platform.example"))
    )
    assert me.status_code == 200
    body = me.json()
    assert (body["full_name"], body["email"], body["tenant_id"], body["roles"]) == (
        "Olu Ops",
        "ops2@platform.example",
        None,
        ["SUPER_ADMIN"],
    )
    assert body["permissions"] == ["tenants:create", "tenants:read"]
