"""A clinic's check-in window (and queue defaults): reading it, replacing it. Callers own the
unit of work. A clinic without its own uses the defaults: from 30 minutes before the start
to 2 hours after, late after 15 minutes, consults of 15 minutes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from clinicflow.audit import service as audit
from clinicflow.checkin import policy
from clinicflow.checkin.models import ClinicCheckInPolicy
from clinicflow.checkin.repository import WindowRepository
from clinicflow.checkin.schemas import CheckInPolicyIn, CheckInPolicyRead
from clinicflow.errors import NotFound
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.tenancy import service as tenancy

_FIELDS = tuple(CheckInPolicyIn.model_fields)


@dataclass(frozen=True, slots=True)
class WindowSubject:
    """The audit trail knows a clinic's window by the clinic's id (one per clinic)."""

    id: uuid.UUID
    tenant_id: uuid.UUID


async def window_of(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> CheckInPolicyRead:
    """The clinic's window, or the defaults until it sets one (NotFound for no such clinic)."""
    if not await tenancy.clinic_exists(uow, tenant_id=tenant_id, clinic_id=clinic_id):
        raise NotFound("Clinic not found")
    row = await WindowRepository(uow, tenant_id).of_clinic(clinic_id)
    if row is None:
        return CheckInPolicyRead(clinic_id=clinic_id)
    return CheckInPolicyRead(clinic_id=clinic_id, **{name: getattr(row, name) for name in _FIELDS})


async def read_window(
    uow: UnitOfWork, principal: TenantPrincipal, *, clinic_id: uuid.UUID
) -> CheckInPolicyRead:
    """The window of a clinic the principal sees (404 otherwise)."""
    policy.check_sees_clinic(principal, clinic_id)
    return await window_of(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)


async def put_window(
    uow: UnitOfWork, principal: TenantPrincipal, *, clinic_id: uuid.UUID, data: CheckInPolicyIn
) -> CheckInPolicyRead:
    """Replace the clinic's window (`checkin:configure` there), row-locked; the changed fields
    are audited (`checkin_policy.updated`). Check-ins from now on use it."""
    policy.check_configures_clinic(principal, clinic_id)
    tenant_id = principal.tenant_id
    before = await window_of(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    windows = WindowRepository(uow, tenant_id)
    row = await windows.of_clinic(clinic_id, for_update=True)
    if row is None:
        row = windows.add(ClinicCheckInPolicy(tenant_id=tenant_id, clinic_id=clinic_id))
    for name in _FIELDS:
        setattr(row, name, getattr(data, name))
    await uow.flush()
    old, new = audit.changed_fields(before.model_dump(), data.model_dump())
    if new:
        subject = WindowSubject(clinic_id, tenant_id)
        await audit.record_change(
            uow, principal.actor, "checkin_policy.updated", subject, before=old, after=new
        )
    return CheckInPolicyRead(clinic_id=clinic_id, **data.model_dump())
