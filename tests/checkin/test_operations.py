"""`checkin.operations.clinic_day`: a clinic's day in figures (the admin overview's tiles),
counted from real check-ins, for those who configure check-in or read the queue there."""

from __future__ import annotations

import uuid

import pytest

from clinicflow.checkin import operations
from clinicflow.errors import NotFound
from clinicflow.identity.principal import Grant, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory
from tests.factories import bearer, login
from tests.web.staff import Day, at, clinic_day
from tests.web.test_display_pages import arrive
from tests.web.test_visit_pages import make_desk


def principal(day: Day, role: Role, clinic_id: uuid.UUID | None = None) -> TenantPrincipal:
    return TenantPrincipal(
        subject_id=uuid.uuid4(),
        tenant_id=day.tenant.id,
        session_id=uuid.uuid4(),
        grants=(Grant(role, clinic_id),),
    )


@pytest.fixture
async def day(database: Database, make_client: ClientFactory) -> Day:
    return await clinic_day(database, make_client)


async def test_the_day_counts_waiting_called_consulting_waits_and_no_shows(day: Day) -> None:
    desk = await make_desk(day)
    second = await day.person(Role.PATIENT, "Second Patient")
    await arrive(day, desk, 9)
    await arrive(day, desk, 9, 30, patient=second)
    doctor = bearer(await login(day.api, tenant=day.tenant.slug, email=day.doctor.email))
    day.clock.set(at(9, 15))
    called = await day.api.post(f"/api/v1/queues/{desk}/call-next", headers=doctor)
    assert called.status_code == 200, called.text
    async with day.database.reading() as uow:
        figures = await operations.clinic_day(
            uow, principal(day, Role.TENANT_ADMIN), clinic_id=day.clinic.id, now=day.clock.now()
        )
    assert figures.figures.waiting == 1
    assert figures.figures.called == 1
    assert figures.figures.in_consultation == 0
    assert figures.figures.seen == 1
    assert figures.average_wait_minutes == 15
    assert figures.figures.no_shows == 0
    async with day.database.reading() as uow:
        tomorrow = await operations.clinic_day(
            uow, principal(day, Role.TENANT_ADMIN), clinic_id=day.clinic.id, now=at(9, days=1)
        )
    assert tomorrow.figures.waiting == 0
    assert tomorrow.average_wait_minutes is None


async def test_the_day_is_hidden_from_those_without_check_in_or_the_queue_there(day: Day) -> None:
    async with day.database.reading() as uow:
        for who in (principal(day, Role.PATIENT), principal(day, Role.RECEPTIONIST, uuid.uuid4())):
            with pytest.raises(NotFound):
                await operations.clinic_day(uow, who, clinic_id=day.clinic.id, now=day.clock.now())
        with pytest.raises(NotFound):
            await operations.clinic_day(
                uow, principal(day, Role.TENANT_ADMIN), clinic_id=uuid.uuid4(), now=day.clock.now()
            )
        desk = principal(day, Role.RECEPTIONIST, day.clinic.id)
        found = await operations.clinic_day(uow, desk, clinic_id=day.clinic.id, now=day.clock.now())
    assert found.clinic_id == day.clinic.id
