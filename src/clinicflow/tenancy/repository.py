"""Tenancy queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from clinicflow.platform.db import TenantScopedRepository, UnitOfWork
from clinicflow.tenancy.models import Clinic, ClinicLocation, Tenant


class TenantRepository:
    """Tenants are the root of scoping, so this one is not tenant-scoped."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    @property
    def session(self) -> AsyncSession:
        """The unit of work's ORM session, made on first use: Core-only reads never need one."""
        return self.uow.session

    async def by_slug(self, slug: str) -> Tenant | None:
        result = await self.session.execute(select(Tenant).where(Tenant.slug == slug))
        return result.scalar_one_or_none()

    def add(self, tenant: Tenant) -> Tenant:
        self.session.add(tenant)
        return tenant


class ClinicRepository(TenantScopedRepository[Clinic]):
    model = Clinic

    def live(self) -> Select[Clinic]:
        return self.select().where(Clinic.archived_at.is_(None))

    def live_rows(self) -> Select[Any]:
        return self.select_columns().where(Clinic.__table__.c.archived_at.is_(None))


class LocationRepository(TenantScopedRepository[ClinicLocation]):
    model = ClinicLocation

    def live(self) -> Select[ClinicLocation]:
        return self.select().where(ClinicLocation.archived_at.is_(None))

    def live_rows(self) -> Select[Any]:
        return self.select_columns().where(ClinicLocation.__table__.c.archived_at.is_(None))
