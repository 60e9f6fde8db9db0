"""User administration through the API: grants, escalation, deactivation, visibility."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from clinicflow.tenancy.models import Clinic, Tenant
from tests.conftest import count_rows
from tests.factories import PASSWORD, bearer, login, make_clinic, make_member, make_tenant, make_user


async def _audit(database: Database, tenant_id: uuid.UUID, action: str) -> list[dict[str, Any]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT actor_id, subject_id, before, after, details FROM audit_events "
                "WHERE tenant_id = :t AND action = :a ORDER BY id"
            ),
            {"t": tenant_id, "a": action},
        )
        return [dict(r._mapping) for r in rows]


async def _grants(database: Database, user_id: uuid.UUID) -> set[tuple[str, uuid.UUID | None]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT role, clinic_id FROM role_grants WHERE user_id = :u"), {"u": user_id}
        )
        return {(r[0], r[1]) for r in rows}


@pytest.fixture
async def tenant(database: Database) -> Tenant:
    return await make_tenant(database)


@pytest.fixture
async def clinics(database: Database, tenant: Tenant) -> tuple[Clinic, Clinic]:
    return (
        await make_clinic(database, tenant_id=tenant.id),
        await make_clinic(database, tenant_id=tenant.id),
    )


@pytest.fixture
async def admin(database: Database, client: httpx.AsyncClient, tenant: Tenant) -> tuple[Any, dict[str, str]]:
    return await make_member(database, client, tenant=tenant, role=Role.TENANT_ADMIN)


async def test_admin_creates_a_doctor_for_a_clinic_with_a_profile(
    client: httpx.AsyncClient,
    database: Database,
    tenant: Tenant,
    clinics: tuple[Clinic, Clinic],
    admin: tuple[Any, dict[str, str]],
) -> None:
    admin_user, headers = admin
    body = {
        "email": "dr.new@example.test",
        "full_name": "Dr New",
        "password": "doctor-password",
        "grants": [{"role": "DOCTOR", "clinic_id": str(clinics[0].id)}],
        "profile": {"specialty": "Cardiology", "license_number": "GMC-123"},
    }
    response = await client.post("/api/v1/users", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["grants"] == [{"role": "DOCTOR", "clinic_id": str(clinics[0].id)}]
    assert created["staff_profile"] == {
        "specialty": "Cardiology",
        "license_number": "GMC-123",
        "clinic_ids": [str(clinics[0].id)],
    }
    events = await _audit(database, tenant.id, "user.created")
    assert [e["actor_id"] for e in events] == [admin_user.id]
    doctor = await login(client, tenant=tenant.slug, email="dr.new@example.test", password="doctor-password")
    assert (await client.get("/api/v1/users/me", headers=bearer(doctor))).json()["roles"] == ["DOCTOR"]


@pytest.mark.parametrize(
    ("grants", "field"),
    [
        ([{"role": "DOCTOR", "clinic_id": str(uuid.uuid4())}], "grants.0.clinic_id"),
        ([{"role": "TENANT_ADMIN", "clinic_id": "CLINIC0"}], "grants.0.clinic_id"),
        ([{"role": "WIZARD"}], "grants.0.role"),
        ([], "grants"),
    ],
)
async def test_create_user_refuses_invalid_grants_and_changes_nothing(
    client: httpx.AsyncClient,
    database: Database,
    clinics: tuple[Clinic, Clinic],
    admin: tuple[Any, dict[str, str]],
    grants: list[dict[str, Any]],
    field: str,
) -> None:
    for grant in grants:
        if grant.get("clinic_id") == "CLINIC0":
            grant["clinic_id"] = str(clinics[0].id)
    before = await count_rows(database, "users")
    body = {"email": "x@example.test", "full_name": "X", "grants": grants}
    response = await client.post("/api/v1/users", json=body, headers=admin[1])
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await count_rows(database, "users") == before


@pytest.mark.parametrize(
    "extra", [{"tenant_id": str(uuid.uuid4())}, {"id": str(uuid.uuid4())}, {"roles": ["TENANT_ADMIN"]}]
)
async def test_mass_assignment_is_refused_not_applied(
    client: httpx.AsyncClient,
    database: Database,
    tenant: Tenant,
    admin: tuple[Any, dict[str, str]],
    extra: dict[str, Any],
) -> None:
    patient, patient_headers = await make_member(database, client, tenant=tenant, role=Role.PATIENT)
    create = {"email": "m@example.test", "full_name": "M", "grants": [{"role": "NURSE"}], **extra}
    assert (await client.post("/api/v1/users", json=create, headers=admin[1])).status_code == 422
    patch = await client.patch(
        f"/api/v1/users/{patient.id}", json={"full_name": "Renamed", **extra}, headers=patient_headers
    )
    assert patch.status_code == 422
    me = (await client.get("/api/v1/users/me", headers=patient_headers)).json()
    assert me["full_name"] == "Test User"
    assert me["roles"] == ["PATIENT"]
    assert me["tenant_id"] == str(tenant.id)
    assert await count_rows(database, "users") == 2


async def test_granting_super_admin_is_refused_and_audited(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, admin: tuple[Any, dict[str, str]]
) -> None:
    nurse = await make_user(database, tenant_id=tenant.id, roles=(Role.NURSE,))
    body = {"email": "boss@example.test", "full_name": "Boss", "grants": [{"role": "SUPER_ADMIN"}]}
    created = await client.post("/api/v1/users", json=body, headers=admin[1])
    assert created.status_code == 403
    assert created.json()["code"] == "ROLE_GRANT_FORBIDDEN"
    changed = await client.put(
        f"/api/v1/users/{nurse.id}/roles", json={"grants": [{"role": "SUPER_ADMIN"}]}, headers=admin[1]
    )
    assert changed.status_code == 403
    assert await _grants(database, nurse.id) == {("NURSE", None)}
    assert len(await _audit(database, tenant.id, "user.create_refused")) == 1
    refused = await _audit(database, tenant.id, "user.roles_change_refused")
    assert [e["subject_id"] for e in refused] == [nurse.id]


async def test_nobody_edits_their_own_roles(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, admin: tuple[Any, dict[str, str]]
) -> None:
    admin_user, admin_headers = admin
    patient, patient_headers = await make_member(database, client, tenant=tenant, role=Role.PATIENT)
    for user, headers, grants in (
        (patient, patient_headers, [{"role": "TENANT_ADMIN"}]),
        (admin_user, admin_headers, [{"role": "TENANT_ADMIN"}, {"role": "DOCTOR"}]),
    ):
        response = await client.put(
            f"/api/v1/users/{user.id}/roles", json={"grants": grants}, headers=headers
        )
        assert response.status_code == 403
    assert await _grants(database, patient.id) == {("PATIENT", None)}
    assert await _grants(database, admin_user.id) == {("TENANT_ADMIN", None)}
    assert len(await _audit(database, tenant.id, "user.roles_change_refused")) == 2


async def test_clinic_admin_grants_only_within_their_clinic_and_rank(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, clinics: tuple[Clinic, Clinic]
) -> None:
    mine, theirs = clinics
    _, headers = await make_member(database, client, tenant=tenant, role=Role.CLINIC_ADMIN, clinic_id=mine.id)
    staff = await make_user(database, tenant_id=tenant.id, roles=(Role.NURSE,), clinic_id=mine.id)

    ok = await client.put(
        f"/api/v1/users/{staff.id}/roles",
        json={"grants": [{"role": "DOCTOR", "clinic_id": str(mine.id)}]},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    for grants in (
        [{"role": "DOCTOR", "clinic_id": str(theirs.id)}],  # another clinic
        [{"role": "DOCTOR"}],  # tenant-wide
        [{"role": "TENANT_ADMIN"}],  # above their rank
    ):
        refused = await client.put(
            f"/api/v1/users/{staff.id}/roles", json={"grants": grants}, headers=headers
        )
        assert refused.status_code == 403, grants
    assert await _grants(database, staff.id) == {("DOCTOR", mine.id)}
    roles_changed = await _audit(database, tenant.id, "user.roles_changed")
    assert roles_changed[0]["before"] == {"grants": [f"NURSE@{mine.id}"]}
    assert roles_changed[0]["after"] == {"grants": [f"DOCTOR@{mine.id}"]}


async def test_receptionist_registers_patients_but_not_staff(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    _, headers = await make_member(database, client, tenant=tenant, role=Role.RECEPTIONIST)
    patient = {"email": "walkin@example.test", "full_name": "Walk In", "grants": [{"role": "PATIENT"}]}
    created = await client.post("/api/v1/users", json=patient, headers=headers)
    assert created.status_code == 201
    assert created.json()["patient_profile"] is not None
    doctor = {"email": "fake.dr@example.test", "full_name": "Fake", "grants": [{"role": "DOCTOR"}]}
    assert (await client.post("/api/v1/users", json=doctor, headers=headers)).status_code == 403


async def test_the_last_tenant_admin_cannot_be_demoted_or_deactivated(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    first, first_headers = await make_member(database, client, tenant=tenant, role=Role.TENANT_ADMIN)
    second, second_headers = await make_member(database, client, tenant=tenant, role=Role.TENANT_ADMIN)
    # Each demotes the other at the same time: exactly one may win.
    results = await asyncio.gather(
        client.put(
            f"/api/v1/users/{second.id}/roles", json={"grants": [{"role": "NURSE"}]}, headers=first_headers
        ),
        client.put(
            f"/api/v1/users/{first.id}/roles", json={"grants": [{"role": "NURSE"}]}, headers=second_headers
        ),
    )
    statuses = sorted(r.status_code for r in results)
    # The loser either hits LAST_TENANT_ADMIN or, demoted first, lacks roles:assign.
    assert statuses[0] == 200
    assert statuses[1] in (403, 409)
    async with database.engine.connect() as conn:
        admins = (
            await conn.execute(
                text("SELECT count(*) FROM role_grants WHERE tenant_id = :t AND role = 'TENANT_ADMIN'"),
                {"t": tenant.id},
            )
        ).scalar_one()
    assert admins == 1

    survivor, survivor_headers = (
        (first, first_headers) if results[0].status_code == 200 else (second, second_headers)
    )
    other_admin = await make_user(database, tenant_id=tenant.id, roles=(Role.TENANT_ADMIN,))
    other_headers = bearer(await login(client, tenant=tenant.slug, email=other_admin.email))
    assert (await client.delete(f"/api/v1/users/{survivor.id}", headers=other_headers)).status_code == 204
    last = await client.delete(f"/api/v1/users/{other_admin.id}", headers=survivor_headers)
    assert last.status_code == 401  # the survivor was just deactivated: their token died with them
    self_delete = await client.delete(f"/api/v1/users/{other_admin.id}", headers=other_headers)
    assert self_delete.status_code == 403
    demote_last = await client.put(
        f"/api/v1/users/{other_admin.id}/roles", json={"grants": []}, headers=other_headers
    )
    assert demote_last.status_code == 403  # own roles


async def test_removing_the_last_active_admin_is_409_even_for_a_stale_principal(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    """Through the API an acting admin always remains, so the 409 guards races: here the
    actor's account was deactivated after their principal was loaded."""
    from clinicflow.identity import service as identity
    from clinicflow.identity.errors import LastTenantAdmin
    from clinicflow.identity.principal import Grant, TenantPrincipal

    actor = await make_user(database, tenant_id=tenant.id, roles=(Role.TENANT_ADMIN,))
    target = await make_user(database, tenant_id=tenant.id, roles=(Role.TENANT_ADMIN,))
    stale = TenantPrincipal(
        subject_id=actor.id,
        tenant_id=tenant.id,
        session_id=uuid.uuid4(),
        grants=(Grant(Role.TENANT_ADMIN, None),),
    )
    async with database.transaction() as uow:
        await uow.session.execute(text("UPDATE users SET is_active = false WHERE id = :id"), {"id": actor.id})
    with pytest.raises(LastTenantAdmin):
        async with database.transaction() as uow:
            await identity.set_roles(uow, stale, user_id=target.id, grants=[])
    with pytest.raises(LastTenantAdmin):
        async with database.transaction() as uow:
            await identity.deactivate_user(uow, stale, user_id=target.id)
    assert await _grants(database, target.id) == {("TENANT_ADMIN", None)}
    response = await client.post(
        "/api/v1/auth/login", json={"tenant": tenant.slug, "email": target.email, "password": PASSWORD}
    )
    assert response.status_code == 200


async def test_deactivation_kills_tokens_at_once(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, admin: tuple[Any, dict[str, str]]
) -> None:
    nurse, nurse_headers = await make_member(database, client, tenant=tenant, role=Role.NURSE)
    assert (await client.get("/api/v1/users/me", headers=nurse_headers)).status_code == 200
    assert (await client.delete(f"/api/v1/users/{nurse.id}", headers=admin[1])).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=nurse_headers)).status_code == 401
    again = await client.post(
        "/api/v1/auth/login", json={"tenant": tenant.slug, "email": nurse.email, "password": PASSWORD}
    )
    assert again.status_code == 401
    events = await _audit(database, tenant.id, "user.deactivated")
    assert events[0]["details"] == {"sessions_revoked": 1}
    # Idempotent: a second delete changes nothing and writes no second event.
    assert (await client.delete(f"/api/v1/users/{nurse.id}", headers=admin[1])).status_code == 204
    assert len(await _audit(database, tenant.id, "user.deactivated")) == 1


async def test_patient_sees_only_themselves(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    alice, alice_headers = await make_member(database, client, tenant=tenant, role=Role.PATIENT)
    bob = await make_user(database, tenant_id=tenant.id, roles=(Role.PATIENT,))
    assert (await client.get(f"/api/v1/users/{alice.id}", headers=alice_headers)).status_code == 200
    response = await client.get(f"/api/v1/users/{bob.id}", headers=alice_headers)
    assert response.status_code == 404
    patch = await client.patch(f"/api/v1/users/{bob.id}", json={"full_name": "Hacked"}, headers=alice_headers)
    assert patch.status_code == 404
    assert (await client.get("/api/v1/users", headers=alice_headers)).status_code == 403


async def test_patient_updates_own_profile_with_an_audited_diff(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    from clinicflow.identity.models import PatientProfile

    user = await make_user(database, tenant_id=tenant.id, roles=(Role.PATIENT,))
    async with database.transaction() as uow:
        uow.session.add(PatientProfile(tenant_id=tenant.id, user_id=user.id, phone="+44 1"))
    headers = bearer(await login(client, tenant=tenant.slug, email=user.email))
    bad = await client.patch(f"/api/v1/users/{user.id}", json={"phone": "call me maybe"}, headers=headers)
    assert bad.status_code == 422
    ok = await client.patch(
        f"/api/v1/users/{user.id}", json={"phone": "+44 20 7946 0001", "full_name": "Ada L"}, headers=headers
    )
    assert ok.status_code == 200
    assert ok.json()["patient_profile"]["phone"] == "+44 20 7946 0001"
    [event] = await _audit(database, tenant.id, "user.updated")
    assert event["before"] == {"full_name": "Test User", "phone": "+44 1"}
    assert event["after"] == {"full_name": "Ada L", "phone": "+44 20 7946 0001"}


async def test_doctor_of_clinic_a_sees_nothing_of_clinic_b(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, clinics: tuple[Clinic, Clinic]
) -> None:
    a, b = clinics
    _, doctor_a = await make_member(database, client, tenant=tenant, role=Role.DOCTOR, clinic_id=a.id)
    colleague = await make_user(database, tenant_id=tenant.id, roles=(Role.NURSE,), clinic_id=a.id)
    stranger = await make_user(database, tenant_id=tenant.id, roles=(Role.NURSE,), clinic_id=b.id)
    patient = await make_user(database, tenant_id=tenant.id, roles=(Role.PATIENT,))

    assert (await client.get(f"/api/v1/users/{colleague.id}", headers=doctor_a)).status_code == 200
    assert (await client.get(f"/api/v1/users/{patient.id}", headers=doctor_a)).status_code == 200
    assert (await client.get(f"/api/v1/users/{stranger.id}", headers=doctor_a)).status_code == 404
    listed = {u["id"] for u in (await client.get("/api/v1/users", headers=doctor_a)).json()["items"]}
    assert str(stranger.id) not in listed
    assert {str(colleague.id), str(patient.id)} <= listed

    assert (await client.get(f"/api/v1/clinics/{a.id}", headers=doctor_a)).status_code == 200
    assert (await client.get(f"/api/v1/clinics/{b.id}", headers=doctor_a)).status_code == 404
    clinics_seen = [c["id"] for c in (await client.get("/api/v1/clinics", headers=doctor_a)).json()["items"]]
    assert clinics_seen == [str(a.id)]


async def test_list_users_filters_by_role_and_paginates(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, admin: tuple[Any, dict[str, str]]
) -> None:
    for _ in range(3):
        await make_user(database, tenant_id=tenant.id, roles=(Role.NURSE,))
    page = await client.get("/api/v1/users?role=NURSE&limit=2", headers=admin[1])
    assert page.status_code == 200
    first = page.json()
    assert len(first["items"]) == 2
    assert all(u["grants"] == [{"role": "NURSE", "clinic_id": None}] for u in first["items"])
    rest = await client.get(
        f"/api/v1/users?role=NURSE&limit=2&cursor={first['next_cursor']}", headers=admin[1]
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    assert (await client.get("/api/v1/users?role=WIZARD", headers=admin[1])).status_code == 422


async def test_other_tenants_users_are_404(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, admin: tuple[Any, dict[str, str]]
) -> None:
    other = await make_tenant(database)
    theirs = await make_user(database, tenant_id=other.id, roles=(Role.NURSE,))
    headers = admin[1]
    assert (await client.get(f"/api/v1/users/{theirs.id}", headers=headers)).status_code == 404
    assert (
        await client.patch(f"/api/v1/users/{theirs.id}", json={"full_name": "X"}, headers=headers)
    ).status_code == 404
    assert (await client.delete(f"/api/v1/users/{theirs.id}", headers=headers)).status_code == 404
    roles = await client.put(f"/api/v1/users/{theirs.id}/roles", json={"grants": []}, headers=headers)
    assert roles.status_code == 404
    assert await _grants(database, theirs.id) == {("NURSE", None)}
