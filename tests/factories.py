"""Factories: plain keyword functions that create real rows through the services."""

from __future__ import annotations

import uuid

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
) -> User:
    async with database.transaction() as uow:
        return await identity.create_user(
            uow,
            tenant_id=tenant_id,
            email=email or f"u-{uuid.uuid4().hex[:8]}@example.test",
            full_name="Test User",
            password=password,
            roles=roles,
        )
