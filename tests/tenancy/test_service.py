from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from clinicflow.errors import ValidationFailed
from clinicflow.platform.db import Database
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.errors import ClinicSlugTaken
from clinicflow.tenancy.schemas import ClinicCreate, LocationCreate
from tests.conftest import count_rows
from tests.factories import make_clinic, make_tenant


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "UTC+2", "localtime", "posixrules", "Factory", "../etc/passwd", ""]
)
def test_clinic_time_zone_must_be_iana(zone: str) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        ClinicCreate(name="X", slug="x-clinic", timezone=zone)


def test_clinic_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="tenant_id"):
        ClinicCreate.model_validate(
            {"name": "X", "slug": "xx", "timezone": "Europe/Paris", "tenant_id": str(uuid.uuid4())}
        )


@pytest.mark.parametrize(
    "bad",
    [
        {"latitude": 91, "longitude": 0},
        {"latitude": 10},
        {"radius_m": 0},
        {"kind": "spaceship"},
    ],
)
def test_location_input_is_validated(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LocationCreate.model_validate({"clinic_id": str(uuid.uuid4()), "name": "Desk", **bad})


async def test_clinic_slug_is_unique_per_tenant_only(database: Database) -> None:
    a = await make_tenant(database)
    b = await make_tenant(database)
    await make_clinic(database, tenant_id=a.id, slug="central")
    await make_clinic(database, tenant_id=b.id, slug="central")  # another tenant: fine
    with pytest.raises(ClinicSlugTaken):
        await make_clinic(database, tenant_id=a.id, slug="central")
    assert await count_rows(database, "clinics") == 2


async def test_location_in_another_tenants_clinic_is_refused(database: Database) -> None:
    mine = await make_tenant(database)
    theirs = await make_tenant(database)
    their_clinic = await make_clinic(database, tenant_id=theirs.id)
    with pytest.raises(ValidationFailed) as caught:
        async with database.transaction() as uow:
            await tenancy.create_location(
                uow, tenant_id=mine.id, data=LocationCreate(clinic_id=their_clinic.id, name="Desk")
            )
    assert caught.value.errors[0].field == "clinic_id"
    assert await count_rows(database, "clinic_locations") == 0


async def test_database_refuses_cross_tenant_location_even_if_code_forgets(database: Database) -> None:
    """The composite foreign key is the second wall behind the service check."""
    from sqlalchemy import text

    mine = await make_tenant(database)
    theirs = await make_tenant(database)
    their_clinic = await make_clinic(database, tenant_id=theirs.id)
    with pytest.raises(ValidationFailed):
        async with database.transaction() as uow:
            await uow.session.execute(
                text(
                    "INSERT INTO clinic_locations (id, tenant_id, clinic_id, name, kind) "
                    "VALUES (gen_random_uuid(), :t, :c, 'Desk', 'site')"
                ),
                {"t": mine.id, "c": their_clinic.id},
            )
    assert await count_rows(database, "clinic_locations") == 0


async def test_locations_list_filters_by_clinic(database: Database) -> None:
    from clinicflow.platform.pagination import PageParams

    tenant = await make_tenant(database)
    one = await make_clinic(database, tenant_id=tenant.id)
    two = await make_clinic(database, tenant_id=tenant.id)
    async with database.transaction() as uow:
        for clinic in (one, two, two):
            await tenancy.create_location(
                uow, tenant_id=tenant.id, data=LocationCreate(clinic_id=clinic.id, name="Room")
            )
    async with database.transaction() as uow:
        items, cursor = await tenancy.list_locations(
            uow, tenant_id=tenant.id, clinic_id=two.id, page=PageParams(limit=50)
        )
    assert [loc.clinic_id for loc in items] == [two.id, two.id]
    assert cursor is None
