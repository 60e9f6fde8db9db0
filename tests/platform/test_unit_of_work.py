from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from clinicflow.errors import NotFound
from clinicflow.platform.db import Database, NestedUnitOfWorkError, ReadOnlyUnitOfWorkError
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.schemas import ClinicCreate
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


async def test_reading_sees_committed_rows_through_core_and_orm(database: Database) -> None:
    tenant = await make_tenant(database)
    clinic = await make_clinic(database, tenant_id=tenant.id)
    async with database.reading() as uow:
        assert uow.read_only
        rows = (await uow.execute(text("SELECT id FROM clinics"))).scalars().all()
        orm = await tenancy.get_clinic(uow, tenant_id=tenant.id, clinic_id=clinic.id)
    assert rows == [clinic.id]
    assert orm is not None
    assert orm.id == clinic.id


async def test_reading_refuses_writes_and_jobs_and_changes_nothing(database: Database) -> None:
    from clinicflow.platform.jobs import defer
    from tests.platform.test_jobs import record

    tenant = await make_tenant(database)
    with pytest.raises(ReadOnlyUnitOfWorkError):
        async with database.reading() as uow:
            await tenancy.create_clinic(
                uow, tenant_id=tenant.id, data=ClinicCreate(name="Nope", slug="nope", timezone="UTC")
            )
    with pytest.raises(ReadOnlyUnitOfWorkError):
        async with database.reading() as uow:
            await defer(uow, record, value="never")
    assert await count_rows(database, "clinics") == 0
    assert await count_rows(database, "procrastinate_jobs") == 0


async def test_reading_refuses_core_and_orm_writes_in_the_database(database: Database) -> None:
    """Read connections are read-only sessions: a Core UPDATE cannot slip through autocommit."""
    from sqlalchemy import update
    from sqlalchemy.exc import DBAPIError

    from clinicflow.tenancy.models import Tenant

    tenant = await make_tenant(database, name="Before")
    with pytest.raises(DBAPIError, match="read-only transaction"):
        async with database.reading() as uow:
            await uow.execute(update(Tenant).where(Tenant.id == tenant.id).values(name="After"))
    with pytest.raises(DBAPIError, match="read-only transaction"):
        async with database.reading() as uow:
            await uow.session.execute(update(Tenant).where(Tenant.id == tenant.id).values(name="After"))
    async with database.reading() as uow:
        names = (await uow.execute(select(Tenant.name))).scalars().all()
    assert names == ["Before"]


async def test_reading_cannot_nest_in_a_transaction(database: Database) -> None:
    with pytest.raises(NestedUnitOfWorkError):
        async with database.transaction(), database.reading():
            pass


async def test_every_pool_s_sessions_run_without_jit(database: Database) -> None:
    """Writes, ORM reads and hot reads all connect with `jit=off` (OLTP statements: JIT's
    compile time was 50 ms on a queue read of 1 ms when an estimate crossed its threshold)."""
    from clinicflow.platform.db.direct import Query

    show = Query(text("SELECT current_setting('jit') AS jit"), name="test.show_jit")
    async with database.transaction() as uow:
        written = (await uow.session.execute(text("SHOW jit"))).scalar_one()
        in_transaction = (await uow.fetch(show))[0]["jit"]
    async with database.reading() as uow:
        orm_read = (await uow.execute(text("SHOW jit"))).scalar_one()
        hot_read = (await uow.fetch(show))[0]["jit"]
    assert (written, in_transaction, orm_read, hot_read) == ("off", "off", "off", "off")
