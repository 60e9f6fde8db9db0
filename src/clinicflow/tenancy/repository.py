"""Every tenancy query. Clinics and locations start from the caller's tenant-scoped statement.

The first pages of the clinic and location lists are hot reads (every signed-in
page lists clinics): their statements are built here once, with the tenant as
a bound parameter that the repository, not its caller, supplies.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from clinicflow.platform.db import TenantScopedRepository, UnitOfWork
from clinicflow.platform.pagination import KeysetPages, PageParams, read_page
from clinicflow.tenancy.models import Clinic, ClinicLocation, Tenant
from clinicflow.tenancy.schemas import ClinicRead, LocationRead, TenantRead

clinics = Clinic.__table__
locations = ClinicLocation.__table__
tenants = Tenant.__table__


def _ids_in(column: ColumnElement[uuid.UUID], name: str) -> ColumnElement[bool]:
    """`column = ANY(:name)`: one SQL text for a list of any length (an empty one matches nothing)."""
    return column == any_(bindparam(name, type_=ARRAY(UUID(as_uuid=True))))


_CLINIC_PAGES = KeysetPages(
    select(*clinics.columns).where(
        clinics.c.tenant_id == bindparam("tenant_id"), clinics.c.archived_at.is_(None)
    ),
    clinics.c.id,
    ClinicRead,
    filters={"only": lambda: _ids_in(clinics.c.id, "only")},
)
_LOCATION_PAGES = KeysetPages(
    select(*locations.columns).where(
        locations.c.tenant_id == bindparam("tenant_id"), locations.c.archived_at.is_(None)
    ),
    locations.c.id,
    LocationRead,
    filters={
        "clinic_id": lambda: locations.c.clinic_id == bindparam("clinic_id"),
        "only_clinics": lambda: _ids_in(locations.c.clinic_id, "only_clinics"),
    },
)


def _listed(ids: frozenset[uuid.UUID] | None) -> list[uuid.UUID] | None:
    return None if ids is None else list(ids)


class TenantRepository:
    """Tenants are the root of scoping, so this one is not tenant-scoped."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def by_slug(self, slug: str) -> Tenant | None:
        result = await self.uow.execute(select(Tenant).where(Tenant.slug == slug))
        return result.scalar_one_or_none()

    def add(self, tenant: Tenant) -> Tenant:
        self.uow.session.add(tenant)
        return tenant

    async def lock(self, tenant_id: uuid.UUID) -> None:
        """Take the tenant's row lock (serialises tenant-wide invariants)."""
        await self.uow.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())

    async def page(self, page: PageParams) -> tuple[list[TenantRead], str | None]:
        stmt = select(tenants.c.id, tenants.c.name, tenants.c.slug, tenants.c.status, tenants.c.created_at)
        return await read_page(self.uow, stmt, Tenant.id, page, TenantRead)


class ClinicRepository(TenantScopedRepository[Clinic]):
    model = Clinic

    def live(self) -> Select[Clinic]:
        return self.select().where(Clinic.archived_at.is_(None))

    def live_rows(self) -> Select[Any]:
        return self.select_columns().where(clinics.c.archived_at.is_(None))

    async def get_live(self, clinic_id: uuid.UUID, *, for_update: bool = False) -> Clinic | None:
        stmt = self.live().where(Clinic.id == clinic_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.uow.execute(stmt)).scalar_one_or_none()

    async def timezone(self, clinic_id: uuid.UUID) -> str | None:
        stmt = self.live_rows().with_only_columns(clinics.c.timezone).where(clinics.c.id == clinic_id)
        return (await self.uow.execute(stmt)).scalar_one_or_none()

    async def exists(self, clinic_id: uuid.UUID) -> bool:
        stmt = self.live_rows().with_only_columns(clinics.c.id).where(clinics.c.id == clinic_id)
        return (await self.uow.execute(stmt.limit(1))).first() is not None

    async def page(
        self, page: PageParams, *, only: frozenset[uuid.UUID] | None
    ) -> tuple[list[ClinicRead], str | None]:
        return await _CLINIC_PAGES.read(self.uow, page, tenant_id=self.tenant_id, only=_listed(only))


class LocationRepository(TenantScopedRepository[ClinicLocation]):
    model = ClinicLocation

    def live(self) -> Select[ClinicLocation]:
        return self.select().where(ClinicLocation.archived_at.is_(None))

    async def get_live(self, location_id: uuid.UUID, *, for_update: bool = False) -> ClinicLocation | None:
        stmt = self.live().where(ClinicLocation.id == location_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.uow.execute(stmt)).scalar_one_or_none()

    async def live_of_clinic(self, clinic_id: uuid.UUID) -> list[ClinicLocation]:
        result = await self.uow.execute(self.live().where(ClinicLocation.clinic_id == clinic_id))
        return list(result.scalars())

    async def page(
        self,
        page: PageParams,
        *,
        clinic_id: uuid.UUID | None,
        only_clinics: frozenset[uuid.UUID] | None,
    ) -> tuple[list[LocationRead], str | None]:
        return await _LOCATION_PAGES.read(
            self.uow,
            page,
            tenant_id=self.tenant_id,
            clinic_id=clinic_id,
            only_clinics=_listed(only_clinics),
        )
