"""Tenancy use cases. Callers own the unit of work; nothing here commits."""

from __future__ import annotations

import uuid

from clinicflow.errors import FieldProblem, NotFound, ValidationFailed
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, page_of, paginate
from clinicflow.tenancy import errors as _errors  # noqa: F401  (registers constraint errors)
from clinicflow.tenancy.models import Clinic, ClinicLocation, Tenant
from clinicflow.tenancy.repository import ClinicRepository, LocationRepository, TenantRepository
from clinicflow.tenancy.schemas import ClinicCreate, ClinicRead, LocationCreate, LocationRead, TenantCreate


async def create_tenant(uow: UnitOfWork, *, data: TenantCreate) -> Tenant:
    """Create a tenant. A taken slug raises TenantSlugTaken (409) at flush."""
    tenant = TenantRepository(uow).add(Tenant(name=data.name, slug=data.slug))
    await uow.flush()
    return tenant


async def get_tenant_by_slug(uow: UnitOfWork, *, slug: str) -> Tenant | None:
    return await TenantRepository(uow).by_slug(slug)


async def create_clinic(uow: UnitOfWork, *, tenant_id: uuid.UUID, data: ClinicCreate) -> Clinic:
    """Create a clinic in the tenant. A slug taken by a live clinic raises ClinicSlugTaken (409)."""
    clinic = ClinicRepository(uow, tenant_id).add(Clinic(tenant_id=tenant_id, **data.model_dump()))
    await uow.flush()
    return clinic


async def get_clinic(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> Clinic | None:
    repo = ClinicRepository(uow, tenant_id)
    result = await uow.session.execute(repo.live().where(Clinic.id == clinic_id))
    return result.scalar_one_or_none()


async def get_clinic_or_raise(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> Clinic:
    """The live clinic of this tenant; NotFound for missing, archived or another tenant's."""
    clinic = await get_clinic(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    if clinic is None:
        raise NotFound("Clinic not found")
    return clinic


async def list_clinics(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, page: PageParams
) -> tuple[list[ClinicRead], str | None]:
    """Live clinics of the tenant, oldest first, keyset-paginated, as read models."""
    stmt = paginate(ClinicRepository(uow, tenant_id).live_rows(), Clinic.id, page)
    rows = (await uow.execute(stmt)).mappings().all()
    return page_of([ClinicRead.model_validate(dict(row)) for row in rows], page)


async def create_location(uow: UnitOfWork, *, tenant_id: uuid.UUID, data: LocationCreate) -> ClinicLocation:
    """Create a location in one of the tenant's live clinics (422 if the clinic is not one)."""
    if await get_clinic(uow, tenant_id=tenant_id, clinic_id=data.clinic_id) is None:
        raise ValidationFailed(
            "The clinic does not exist",
            errors=[FieldProblem(field="clinic_id", message="no such clinic")],
        )
    location = LocationRepository(uow, tenant_id).add(
        ClinicLocation(tenant_id=tenant_id, **data.model_dump())
    )
    await uow.flush()
    return location


async def list_locations(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID | None, page: PageParams
) -> tuple[list[LocationRead], str | None]:
    """Live locations of the tenant (optionally of one clinic), keyset-paginated, as read models."""
    stmt = LocationRepository(uow, tenant_id).live_rows()
    if clinic_id is not None:
        stmt = stmt.where(ClinicLocation.clinic_id == clinic_id)
    rows = (await uow.execute(paginate(stmt, ClinicLocation.id, page))).mappings().all()
    return page_of([LocationRead.model_validate(dict(row)) for row in rows], page)
