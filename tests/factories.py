"""Factories: plain keyword functions that create real rows through the services."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from clinicflow.identity import service as identity
from clinicflow.identity.models import User
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.models import Clinic, Tenant
from clinicflow.tenancy.schemas import ClinicCreate, TenantCreate


async def make_tenant(database: Database, *, slug: str | None = None, name: str = "Test Health") -> Tenant:
    async with database.transaction() as uow:
        return await tenancy.create_tenant(
            uow, data=TenantCreate(name=name, slug=slug or f"t-{uuid.uuid4().hex[:10]}")
        )


async def make_clinic(
    database: Database,
    *,
    tenant_id: uuid.UUID,
    slug: str | None = None,
    timezone: str = "Europe/Berlin",
) -> Clinic:
    async with database.transaction() as uow:
        return await tenancy.create_clinic(
            uow,
            tenant_id=tenant_id,
            data=ClinicCreate(
                name="Test Clinic", slug=slug or f"c-{uuid.uuid4().hex[:8]}", timezone=timezone
            ),
        )


async def make_user(
    database: Database,
    *,
    tenant_id: uuid.UUID,
    email: str | None = None,
    roles: tuple[Role, ...] = (Role.PATIENT,),
    password: str = "correct-horse-battery",
    clinic_id: uuid.UUID | None = None,
) -> User:
    async with database.transaction() as uow:
        return await identity.create_user(
            uow,
            tenant_id=tenant_id,
            email=email or f"u-{uuid.uuid4().hex[:8]}@example.test",
            full_name="Test User",
            password=password,
            roles=roles,
            clinic_id=clinic_id,
        )


PASSWORD = "correct-horse-battery"


async def login(
    client: httpx.AsyncClient, *, tenant: str | None, email: str, password: str = PASSWORD
) -> dict[str, Any]:
    """Log in through the API; returns the token pair (asserts success)."""
    body: dict[str, Any] = {"email": email, "password": password}
    if tenant is not None:
        body["tenant"] = tenant
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(tokens: dict[str, Any] | str) -> dict[str, str]:
    token = tokens if isinstance(tokens, str) else tokens["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def make_member(
    database: Database,
    client: httpx.AsyncClient,
    *,
    tenant: Tenant,
    role: Role,
    clinic_id: uuid.UUID | None = None,
) -> tuple[User, dict[str, str]]:
    """A user with one role grant, logged in; returns the user and auth headers."""
    user = await make_user(database, tenant_id=tenant.id, roles=(role,), clinic_id=clinic_id)
    tokens = await login(client, tenant=tenant.slug, email=user.email)
    return user, bearer(tokens)
