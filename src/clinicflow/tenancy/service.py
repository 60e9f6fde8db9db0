"""Tenancy use cases. Callers own the unit of work; nothing here commits.

Every mutation writes an audit event in the same unit of work. `actor`
defaults to the system (seeding, CLI); routes pass the principal's actor.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from clinicflow.audit import service as audit
from clinicflow.audit.service import SYSTEM, Actor
from clinicflow.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, read_page
from clinicflow.tenancy import errors as _errors  # noqa: F401  (registers constraint errors)
from clinicflow.tenancy.models import Clinic, ClinicLocation, Tenant
from clinicflow.tenancy.repository import ClinicRepository, LocationRepository, TenantRepository
from clinicflow.tenancy.schemas import (
    ClinicCreate,
    ClinicRead,
    LocationCreate,
    LocationRead,
    TenantCreate,
    TenantRead,
)

#: A guard answers why a clinic may not be archived now (None: it may). Domains that
#: hang future work on a clinic (scheduling: future appointments) register one, so
#: tenancy never imports them.
ArchiveGuard = Callable[[UnitOfWork, uuid.UUID, uuid.UUID], Awaitable[str | None]]
_archive_guards: list[ArchiveGuard] = []


def register_clinic_archive_guard(guard: ArchiveGuard) -> None:
    if guard not in _archive_guards:
        _archive_guards.append(guard)


def _columns(obj: Any, names: list[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


_CLINIC_FIELDS = list(ClinicCreate.model_fields)
_LOCATION_FIELDS = list(LocationCreate.model_fields)


async def create_tenant(uow: UnitOfWork, *, data: TenantCreate, actor: Actor = SYSTEM) -> Tenant:
    """Create a tenant. A taken slug raises TenantSlugTaken (409) at flush."""
    tenant = TenantRepository(uow).add(Tenant(name=data.name, slug=data.slug))
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=tenant.id,
        actor=actor,
        action="tenant.created",
        subject_type="tenant",
        subject_id=tenant.id,
        after={"name": tenant.name, "slug": tenant.slug},
    )
    return tenant


async def get_tenant_by_slug(uow: UnitOfWork, *, slug: str) -> Tenant | None:
    return await TenantRepository(uow).by_slug(slug)


async def lock_tenant(uow: UnitOfWork, *, tenant_id: uuid.UUID) -> None:
    """Take the tenant's row lock: serialises tenant-wide invariants (e.g. its last admin)."""
    await uow.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())


async def list_tenants(uow: UnitOfWork, *, page: PageParams) -> tuple[list[TenantRead], str | None]:
    """Every tenant (platform view), oldest first."""
    table = Tenant.__table__
    stmt = select(table.c.id, table.c.name, table.c.slug, table.c.status, table.c.created_at)
    return await read_page(uow, stmt, Tenant.id, page, TenantRead)


async def create_clinic(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, data: ClinicCreate, actor: Actor = SYSTEM
) -> Clinic:
    """Create a clinic in the tenant. A slug taken by a live clinic raises ClinicSlugTaken (409)."""
    clinic = ClinicRepository(uow, tenant_id).add(Clinic(tenant_id=tenant_id, **data.model_dump()))
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action="clinic.created",
        subject_type="clinic",
        subject_id=clinic.id,
        after=data.model_dump(),
    )
    return clinic


async def get_clinic(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID, for_update: bool = False
) -> Clinic | None:
    stmt = ClinicRepository(uow, tenant_id).live().where(Clinic.id == clinic_id)
    if for_update:
        stmt = stmt.with_for_update()
    result = await uow.session.execute(stmt)
    return result.scalar_one_or_none()


async def clinic_timezone(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> str | None:
    """The IANA zone of a live clinic of the tenant, or None if there is no such clinic."""
    table = Clinic.__table__
    stmt = ClinicRepository(uow, tenant_id).live_rows().with_only_columns(table.c.timezone)
    return (await uow.execute(stmt.where(table.c.id == clinic_id))).scalar_one_or_none()


async def clinic_exists(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> bool:
    stmt = ClinicRepository(uow, tenant_id).live_rows().where(Clinic.__table__.c.id == clinic_id)
    return (await uow.execute(stmt.limit(1))).first() is not None


async def get_clinic_or_raise(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> Clinic:
    """The live clinic of this tenant; NotFound for missing, archived or another tenant's."""
    clinic = await get_clinic(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    if clinic is None:
        raise NotFound("Clinic not found")
    return clinic


async def list_clinics(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    page: PageParams,
    only: frozenset[uuid.UUID] | None = None,
) -> tuple[list[ClinicRead], str | None]:
    """Live clinics of the tenant (or only those in `only`), oldest first, as read models."""
    stmt = ClinicRepository(uow, tenant_id).live_rows()
    if only is not None:
        stmt = stmt.where(Clinic.__table__.c.id.in_(only))
    return await read_page(uow, stmt, Clinic.id, page, ClinicRead)


async def update_clinic(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID, data: ClinicCreate, actor: Actor
) -> Clinic:
    """Replace a live clinic's fields (PUT). Only changed fields are audited."""
    clinic = await get_clinic(uow, tenant_id=tenant_id, clinic_id=clinic_id, for_update=True)
    if clinic is None:
        raise NotFound("Clinic not found")
    before = _columns(clinic, _CLINIC_FIELDS)
    after = data.model_dump()
    for key, value in after.items():
        setattr(clinic, key, value)
    old, new = audit.changed_fields(before, after)
    if new:
        await uow.flush()
        await uow.session.refresh(clinic, ["updated_at"])  # set by the database on update
        await audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="clinic.updated",
            subject_type="clinic",
            subject_id=clinic.id,
            before=old,
            after=new,
        )
    return clinic


async def archive_clinic(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID, actor: Actor
) -> None:
    """Archive (soft-delete) a clinic and its locations. Refused with 409 while a registered
    guard objects (e.g. future appointments); the clinic row is locked while guards run."""
    clinic = await get_clinic(uow, tenant_id=tenant_id, clinic_id=clinic_id, for_update=True)
    if clinic is None:
        raise NotFound("Clinic not found")
    for guard in _archive_guards:
        reason = await guard(uow, tenant_id, clinic_id)
        if reason is not None:
            raise Conflict(f"The clinic cannot be deleted: {reason}")
    now = datetime.now(UTC)
    clinic.archived_at = now
    locations = await uow.session.execute(
        LocationRepository(uow, tenant_id).live().where(ClinicLocation.clinic_id == clinic_id)
    )
    for location in locations.scalars():
        location.archived_at = now
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action="clinic.archived",
        subject_type="clinic",
        subject_id=clinic_id,
        before={"archived_at": None},
        after={"archived_at": now},
    )


async def create_location(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, data: LocationCreate, actor: Actor = SYSTEM
) -> ClinicLocation:
    """Create a location in one of the tenant's live clinics (422 if the clinic is not one)."""
    if not await clinic_exists(uow, tenant_id=tenant_id, clinic_id=data.clinic_id):
        raise ValidationFailed(
            "The clinic does not exist",
            errors=[FieldProblem(field="clinic_id", message="no such clinic")],
        )
    location = LocationRepository(uow, tenant_id).add(
        ClinicLocation(tenant_id=tenant_id, **data.model_dump())
    )
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action="location.created",
        subject_type="clinic_location",
        subject_id=location.id,
        after=data.model_dump(),
    )
    return location


async def get_location(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID, for_update: bool = False
) -> ClinicLocation | None:
    stmt = LocationRepository(uow, tenant_id).live().where(ClinicLocation.id == location_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await uow.session.execute(stmt)).scalar_one_or_none()


async def update_location(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID, data: LocationCreate, actor: Actor
) -> ClinicLocation:
    """Replace a live location's fields; moving it to another clinic needs that clinic to exist."""
    location = await get_location(uow, tenant_id=tenant_id, location_id=location_id, for_update=True)
    if location is None:
        raise NotFound("Location not found")
    if data.clinic_id != location.clinic_id and not await clinic_exists(
        uow, tenant_id=tenant_id, clinic_id=data.clinic_id
    ):
        raise ValidationFailed(
            "The clinic does not exist", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
        )
    before = _columns(location, _LOCATION_FIELDS)
    after = data.model_dump()
    for key, value in after.items():
        setattr(location, key, value)
    old, new = audit.changed_fields(before, after)
    if new:
        await uow.flush()
        await audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="location.updated",
            subject_type="clinic_location",
            subject_id=location.id,
            before=old,
            after=new,
        )
    return location


async def archive_location(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID, actor: Actor
) -> None:
    location = await get_location(uow, tenant_id=tenant_id, location_id=location_id, for_update=True)
    if location is None:
        raise NotFound("Location not found")
    location.archived_at = datetime.now(UTC)
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action="location.archived",
        subject_type="clinic_location",
        subject_id=location.id,
        before={"archived_at": None},
        after={"archived_at": location.archived_at},
    )


async def list_locations(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    clinic_id: uuid.UUID | None,
    page: PageParams,
    only_clinics: frozenset[uuid.UUID] | None = None,
) -> tuple[list[LocationRead], str | None]:
    """Live locations of the tenant (optionally of one clinic, or of `only_clinics`), as read models."""
    stmt = LocationRepository(uow, tenant_id).live_rows()
    table = ClinicLocation.__table__
    if clinic_id is not None:
        stmt = stmt.where(table.c.clinic_id == clinic_id)
    if only_clinics is not None:
        stmt = stmt.where(table.c.clinic_id.in_(only_clinics))
    return await read_page(uow, stmt, ClinicLocation.id, page, LocationRead)
