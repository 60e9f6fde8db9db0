"""Clinic scheduling policy: the patient cancellation cut-off and the no-show grace."""

from __future__ import annotations

import uuid

from clinicflow.audit import service as audit
from clinicflow.errors import NotFound
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling.models import ClinicSchedulingPolicy
from clinicflow.scheduling.repository import PolicyRepository
from clinicflow.scheduling.schemas import SchedulingPolicyIn, SchedulingPolicyRead
from clinicflow.tenancy import service as tenancy


async def get_policy(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> SchedulingPolicyRead:
    """The clinic's policy, or the defaults when it has none yet (NotFound for no such clinic)."""
    if not await tenancy.clinic_exists(uow, tenant_id=tenant_id, clinic_id=clinic_id):
        raise NotFound("Clinic not found")
    row = await PolicyRepository(uow, tenant_id).of_clinic(clinic_id)
    if row is None:
        return SchedulingPolicyRead(clinic_id=clinic_id)
    return SchedulingPolicyRead(
        clinic_id=clinic_id,
        patient_cancel_cutoff_minutes=row.patient_cancel_cutoff_minutes,
        no_show_after_minutes=row.no_show_after_minutes,
    )


async def put_policy(
    uow: UnitOfWork, principal: TenantPrincipal, *, clinic_id: uuid.UUID, data: SchedulingPolicyIn
) -> SchedulingPolicyRead:
    """Replace the clinic's policy; the changed fields are audited."""
    tenant_id = principal.tenant_id
    before = await get_policy(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    policies = PolicyRepository(uow, tenant_id)
    row = await policies.of_clinic(clinic_id, for_update=True)
    if row is None:
        row = policies.add(ClinicSchedulingPolicy(tenant_id=tenant_id, clinic_id=clinic_id))
    row.patient_cancel_cutoff_minutes = data.patient_cancel_cutoff_minutes
    row.no_show_after_minutes = data.no_show_after_minutes
    await uow.flush()
    old, new = audit.changed_fields(before.model_dump(), data.model_dump())
    if new:
        await audit.record(
            uow,
            tenant_id=tenant_id,
            actor=principal.actor,
            action="scheduling_policy.updated",
            subject_type="clinic",
            subject_id=clinic_id,
            before=old,
            after=new,
        )
    return SchedulingPolicyRead(clinic_id=clinic_id, **data.model_dump())
