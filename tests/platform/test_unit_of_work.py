from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from clinicflow.errors import NotFound
from clinicflow.platform.db import Database, NestedUnitOfWorkError
from clinicflow.tenancy import service as tenancy
from tests.conftest import count_rows
from tests.factories import make_clinic, make_tenant


async def test_nested_unit_of_work_raises(database: Database) -> None:
    with pytest.raises(NestedUnitOfWorkError):
        async with database.transaction(), database.transaction():
            pass


async def test_exception_rolls_back_everything_written(database: Database) -> None:
    tenant = await make_tenant(database)
    with pytest.raises(RuntimeError):
        async with database.transaction() as uow:
            await uow.session.execute(text("DELETE FROM tenants WHERE id = :id"), {"id": tenant.id})
            raise RuntimeError("use case failed half way")
    assert await count_rows(database, "tenants") == 1


async def test_units_of_work_can_follow_each_other(database: Database) -> None:
    await make_tenant(database)
    await make_tenant(database)
    assert await count_rows(database, "tenants") == 2


async def test_tenant_scoped_reads_never_see_another_tenant(database: Database) -> None:
    mine = await make_tenant(database)
    theirs = await make_tenant(database)
    their_clinic = await make_clinic(database, tenant_id=theirs.id)
    async with database.transaction() as uow:
        assert await tenancy.get_clinic(uow, tenant_id=mine.id, clinic_id=their_clinic.id) is None
        with pytest.raises(NotFound):
            await tenancy.get_clinic_or_raise(uow, tenant_id=mine.id, clinic_id=their_clinic.id)
        assert await tenancy.get_clinic(uow, tenant_id=theirs.id, clinic_id=their_clinic.id) is not None
        assert await tenancy.get_clinic(uow, tenant_id=mine.id, clinic_id=uuid.uuid4()) is None
