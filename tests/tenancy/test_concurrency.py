"""Uniqueness invariants hold under parallel transactions (the database decides, not the code)."""

from __future__ import annotations

import asyncio

from clinicflow.errors import ClinicflowError
from clinicflow.identity import service as identity
from clinicflow.identity.errors import EmailTaken
from clinicflow.platform.db import Database
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.errors import TenantSlugTaken
from clinicflow.tenancy.schemas import TenantCreate
from tests.conftest import count_rows
from tests.factories import make_tenant

RACERS = 25


async def test_parallel_tenants_with_one_slug_yield_exactly_one(database: Database) -> None:
    async def create(i: int) -> object:
        async with database.transaction() as uow:
            return await tenancy.create_tenant(uow, data=TenantCreate(name=f"T{i}", slug="contested"))

    results = await asyncio.gather(*(create(i) for i in range(RACERS)), return_exceptions=True)
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(results) - len(losers) == 1
    assert all(isinstance(r, TenantSlugTaken) for r in losers), {type(r) for r in losers}
    assert await count_rows(database, "tenants") == 1


async def test_parallel_users_with_one_email_differing_in_case_yield_exactly_one(database: Database) -> None:
    tenant = await make_tenant(database)

    async def create(i: int) -> object:
        email = "Same@Clinic.test" if i % 2 else "same@clinic.TEST"
        async with database.transaction() as uow:
            return await identity.create_user(
                uow, tenant_id=tenant.id, email=email, full_name="Same", password=None, roles=[]
            )

    results = await asyncio.gather(*(create(i) for i in range(RACERS)), return_exceptions=True)
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(results) - len(losers) == 1
    assert all(isinstance(r, EmailTaken) and isinstance(r, ClinicflowError) for r in losers)
    assert await count_rows(database, "users") == 1
