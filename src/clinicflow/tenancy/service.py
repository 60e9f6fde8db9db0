"""Tenancy use cases. Callers own the unit of work; nothing here commits.

Every mutation writes an audit event in the same unit of work. `actor`
defaults to the system (seeding, CLI); routes pass the principal's actor.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from clinicflow.audit import service as audit
from clinicflow.audit.service import SYSTEM, Actor
from clinicflow.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from clinicflow.platform.db import TenantScopedRepository, UnitOfWork
from clinicflow.platform.pagination import PageParams
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
    """Add a guard that `archive_clinic` asks before it archives (once per guard)."""
    if guard not in _archive_guards:
        _archive_guards.append(guard)


_CLINIC_FIELDS = list(ClinicCreate.model_fields)
_LOCATION_FIELDS = list(LocationCreate.model_fields)

Row = Clinic | ClinicLocation


RowT = TypeVar("RowT", Clinic, ClinicLocation)


async def _add(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    repository: TenantScopedRepository[RowT],
    row: RowT,
    after: dict[str, Any],
) -> RowT:
    """Add `row`, flush it (constraint errors surface here, as domain errors) and audit it."""
    repository.add(row)
    await uow.flush()
    await audit.record_change(uow, actor, action, row, after=after)
    return row


async def _replace_fields(
    uow: UnitOfWork, actor: Actor, action: str, row: Row, fields: list[str], data: dict[str, Any]
) -> bool:
    """Set `data` on `row`; audit only the fields that changed. True if any did."""
    before = {name: getattr(row, name) for name in fields}
    for key, value in data.items():
        setattr(row, key, value)
    old, new = audit.changed_fields(before, data)
    if new:
        await uow.flush()
        await audit.record_change(uow, actor, action, row, before=old, after=new)
    return bool(new)


async def _archive(uow: UnitOfWork, actor: Actor, action: str, row: Row, now: datetime) -> None:
    row.archived_at = now
    await audit.record_change(
        uow, actor, action, row, before={"archived_at": None}, after={"archived_at": now}
    )


async def _require_clinic(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> None:
    """422 naming `clinic_id` unless it is a live clinic of the tenant."""
    if not await clinic_exists(uow, tenant_id=tenant_id, clinic_id=clinic_id):
        raise ValidationFailed(
            "The clinic does not exist", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
        )


async def create_tenant(uow: UnitOfWork, *, data: TenantCreate, actor: Actor = SYSTEM) -> Tenant:
    """Create a tenant. A taken slug raises TenantSlugTaken (409) at flush."""
    tenant = TenantRepository(uow).add(Tenant(name=data.name, slug=data.slug))
    await uow.flush()
    await audit.record_change(
        uow, actor, "tenant.created", tenant, after={"name": tenant.name, "slug": tenant.slug}
    )
    return tenant


async def get_tenant_by_slug(uow: UnitOfWork, *, slug: str) -> Tenant | None:
    """The tenant with this slug, or None."""
    return await TenantRepository(uow).by_slug(slug)


async def lock_tenant(uow: UnitOfWork, *, tenant_id: uuid.UUID) -> None:
    """Take the tenant's row lock: serialises tenant-wide invariants (e.g. its last admin)."""
    await TenantRepository(uow).lock(tenant_id)


async def list_tenants(uow: UnitOfWork, *, page: PageParams) -> tuple[list[TenantRead], str | None]:
    """Every tenant (platform view), oldest first."""
    return await TenantRepository(uow).page(page)


async def create_clinic(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, data: ClinicCreate, actor: Actor = SYSTEM
) -> Clinic:
    """Create a clinic in the tenant. A slug taken by a live clinic raises ClinicSlugTaken (409)."""
    clinic = Clinic(tenant_id=tenant_id, **data.model_dump())
    return await _add(
        uow, actor, "clinic.created", ClinicRepository(uow, tenant_id), clinic, data.model_dump()
    )


async def get_clinic(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID, for_update: bool = False
) -> Clinic | None:
    """The live clinic of this tenant, or None (missing, archived or another tenant's)."""
    return await ClinicRepository(uow, tenant_id).get_live(clinic_id, for_update=for_update)


async def clinic_timezone(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> str | None:
    """The IANA zone of a live clinic of the tenant, or None if there is no such clinic."""
    return await ClinicRepository(uow, tenant_id).timezone(clinic_id)


async def clinic_exists(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> bool:
    """True if `clinic_id` is a live clinic of the tenant."""
    return await ClinicRepository(uow, tenant_id).exists(clinic_id)


async def get_clinic_or_raise(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID, for_update: bool = False
) -> Clinic:
    """The live clinic of this tenant; NotFound for missing, archived or another tenant's."""
    clinic = await get_clinic(uow, tenant_id=tenant_id, clinic_id=clinic_id, for_update=for_update)
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
    return await ClinicRepository(uow, tenant_id).page(page, only=only)


async def update_clinic(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID, data: ClinicCreate, actor: Actor
) -> Clinic:
    """Replace a live clinic's fields (PUT), row-locked. Only changed fields are audited."""
    clinic = await get_clinic_or_raise(uow, tenant_id=tenant_id, clinic_id=clinic_id, for_update=True)
    if await _replace_fields(uow, actor, "clinic.updated", clinic, _CLINIC_FIELDS, data.model_dump()):
        await uow.session.refresh(clinic, ["updated_at"])  # set by the database on update
    return clinic


async def archive_clinic(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID, actor: Actor
) -> None:
    """Archive (soft-delete) a clinic and its locations. Refused with 409 while a registered
    guard objects (e.g. future appointments); the clinic row is locked while guards run."""
    clinic = await get_clinic_or_raise(uow, tenant_id=tenant_id, clinic_id=clinic_id, for_update=True)
    for guard in _archive_guards:
        reason = await guard(uow, tenant_id, clinic_id)
        if reason is not None:
            raise Conflict(f"The clinic cannot be deleted: {reason}")
    now = datetime.now(UTC)
    for location in await LocationRepository(uow, tenant_id).live_of_clinic(clinic_id):
        location.archived_at = now
    await _archive(uow, actor, "clinic.archived", clinic, now)


async def create_location(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, data: LocationCreate, actor: Actor = SYSTEM
) -> ClinicLocation:
    """Create a location in one of the tenant's live clinics (422 if the clinic is not one)."""
    await _require_clinic(uow, tenant_id=tenant_id, clinic_id=data.clinic_id)
    location = ClinicLocation(tenant_id=tenant_id, **data.model_dump())
    repository = LocationRepository(uow, tenant_id)
    return await _add(uow, actor, "location.created", repository, location, data.model_dump())


async def get_location(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID, for_update: bool = False
) -> ClinicLocation | None:
    """The live location of this tenant, or None (missing, archived or another tenant's)."""
    return await LocationRepository(uow, tenant_id).get_live(location_id, for_update=for_update)


async def _location_or_raise(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID
) -> ClinicLocation:
    location = await get_location(uow, tenant_id=tenant_id, location_id=location_id, for_update=True)
    if location is None:
        raise NotFound("Location not found")
    return location


async def update_location(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID, data: LocationCreate, actor: Actor
) -> ClinicLocation:
    """Replace a live location's fields; moving it to another clinic needs that clinic to exist."""
    location = await _location_or_raise(uow, tenant_id=tenant_id, location_id=location_id)
    if data.clinic_id != location.clinic_id:
        await _require_clinic(uow, tenant_id=tenant_id, clinic_id=data.clinic_id)
    await _replace_fields(uow, actor, "location.updated", location, _LOCATION_FIELDS, data.model_dump())
    return location


async def archive_location(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID, actor: Actor
) -> None:
    """Archive (soft-delete) a live location, row-locked and audited."""
    location = await _location_or_raise(uow, tenant_id=tenant_id, location_id=location_id)
    await _archive(uow, actor, "location.archived", location, datetime.now(UTC))


async def list_locations(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    clinic_id: uuid.UUID | None,
    page: PageParams,
    only_clinics: frozenset[uuid.UUID] | None = None,
) -> tuple[list[LocationRead], str | None]:
    """Live locations of the tenant (optionally of one clinic, or of `only_clinics`), as read models."""
    return await LocationRepository(uow, tenant_id).page(page, clinic_id=clinic_id, only_clinics=only_clinics)
