"""A doctor's time off: absences that take slots away. Callers own the unit of work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, NotFound, ValidationFailed
from clinicflow.identity import directory
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, page_of
from clinicflow.scheduling import policy
from clinicflow.scheduling.models import TimeOff
from clinicflow.scheduling.plans import require_doctor_at
from clinicflow.scheduling.repository import TimeOffRepository
from clinicflow.scheduling.schemas import TimeOffIn, TimeOffRead
from clinicflow.tenancy import service as tenancy


def _read(row: TimeOff) -> TimeOffRead:
    return TimeOffRead(
        id=row.id,
        doctor_id=row.doctor_id,
        clinic_id=row.clinic_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
    )


async def _instants(uow: UnitOfWork, tenant_id: uuid.UUID, data: TimeOffIn) -> tuple[datetime, datetime]:
    """The absence as instants: given, or whole clinic-local days."""
    if data.starts_at is not None and data.ends_at is not None:
        return data.starts_at.astimezone(UTC), data.ends_at.astimezone(UTC)
    assert data.from_date is not None
    assert data.to_date is not None
    if data.clinic_id is None:
        raise ValidationFailed(
            "Whole days are in a clinic's time zone",
            errors=[FieldProblem(field="clinic_id", message="required with from_date and to_date")],
        )
    zone = await tenancy.clinic_timezone(uow, tenant_id=tenant_id, clinic_id=data.clinic_id)
    if zone is None:
        raise ValidationFailed(
            "No such clinic", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
        )
    tz = ZoneInfo(zone)
    starts_at = datetime.combine(data.from_date, time(0), tzinfo=tz).astimezone(UTC)
    ends_at = datetime.combine(data.to_date + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return starts_at, ends_at


async def add_time_off(
    uow: UnitOfWork, principal: TenantPrincipal, *, doctor_id: uuid.UUID, data: TimeOffIn
) -> TimeOffRead:
    """Record an absence (instants, or whole clinic-local days), audited. Slots inside it disappear;
    appointments already booked inside it are kept for staff to move."""
    tenant_id = principal.tenant_id
    policy.require_schedule_manager(principal, doctor_id, data.clinic_id)
    if not await directory.doctor_clinics(uow, tenant_id=tenant_id, user_id=doctor_id):
        raise NotFound("Doctor not found")
    starts_at, ends_at = await _instants(uow, tenant_id, data)
    if data.clinic_id is not None:
        await require_doctor_at(uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=data.clinic_id)
    row = TimeOffRepository(uow, tenant_id).add(
        TimeOff(
            tenant_id=tenant_id,
            doctor_id=doctor_id,
            clinic_id=data.clinic_id,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=data.reason,
        )
    )
    await uow.flush()
    read = _read(row)
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=principal.actor,
        action="time_off.added",
        subject_type="doctor",
        subject_id=doctor_id,
        after=read.model_dump(),
    )
    return read


async def remove_time_off(
    uow: UnitOfWork, principal: TenantPrincipal, *, doctor_id: uuid.UUID, time_off_id: uuid.UUID
) -> None:
    """Delete one absence of the doctor, audited (404 if it is not theirs)."""
    repo = TimeOffRepository(uow, principal.tenant_id)
    row = await repo.of_doctor(doctor_id, time_off_id)
    if row is None:
        raise NotFound("Time off not found")
    policy.require_schedule_manager(principal, doctor_id, row.clinic_id)
    await repo.remove(row)
    await audit.record(
        uow,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="time_off.removed",
        subject_type="doctor",
        subject_id=doctor_id,
        before={"id": row.id, "starts_at": row.starts_at, "ends_at": row.ends_at, "clinic_id": row.clinic_id},
    )


async def list_time_off(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, doctor_id: uuid.UUID, page: PageParams, now: datetime
) -> tuple[list[TimeOffRead], str | None]:
    """One page of the doctor's time off that has not ended by `now`, soonest first.

    Keyset on (starts_at, id): the cursor names the last row of the previous page.
    """
    rows = await TimeOffRepository(uow, tenant_id).page_from(
        doctor_id, now=now, after=page.after, limit=page.limit + 1
    )
    return page_of([_read(r) for r in rows], page)
