"""A clinic's waitlist policy: reading it, replacing it, and the weights it scores with.

Callers own the unit of work; nothing here commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from clinicflow.audit import service as audit
from clinicflow.errors import NotFound
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.tenancy import service as tenancy
from clinicflow.waitlist import policy as access
from clinicflow.waitlist import scoring
from clinicflow.waitlist.models import WaitlistPolicy
from clinicflow.waitlist.repository import EntryRepository, PolicyRepository
from clinicflow.waitlist.schemas import PolicyIn, PolicyRead

P = Permission

#: Each field of the policy's API shape and the row's attribute that stores it.
_STORED_AS = {
    "max_queue_size": "max_queue_size",
    "auto_expiry_hours": "auto_expiry_hours",
    "offer_response_minutes": "offer_response_minutes",
    "auto_offer": "auto_offer",
    "priority_weights": "weights",
    "quiet_hours_start": "quiet_start",
    "quiet_hours_end": "quiet_end",
    "templates": "templates",
}


@dataclass(frozen=True, slots=True)
class PolicySubject:
    """The audit trail knows a clinic's policy by the clinic's id: there is one per clinic, and
    the API addresses it so."""

    id: uuid.UUID
    tenant_id: uuid.UUID


def policy_read(row: WaitlistPolicy) -> PolicyRead:
    """The stored policy in its API shape."""
    return PolicyRead(clinic_id=row.clinic_id, **{f: getattr(row, a) for f, a in _STORED_AS.items()})


async def policy_of(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> PolicyRead:
    """The clinic's policy (defaults until set). NotFound for a clinic that does not exist."""
    if not await tenancy.clinic_exists(uow, tenant_id=tenant_id, clinic_id=clinic_id):
        raise NotFound("Clinic not found")
    row = await PolicyRepository(uow, tenant_id).of_clinic(clinic_id)
    return policy_read(row) if row else PolicyRead(clinic_id=clinic_id)


async def read_policy(
    uow: UnitOfWork, principal: TenantPrincipal, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID
) -> PolicyRead:
    """The policy of a clinic the caller sees (404 for another tenant's or an unseen clinic)."""
    access.check_clinic_settings(principal, tenant_id, clinic_id, P.CLINICS_READ)
    return await policy_of(uow, tenant_id=tenant_id, clinic_id=clinic_id)


async def weights_for(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> scoring.Weights:
    """The clinic's current weights (the defaults until a policy is set). Reads only."""
    return (await policy_of(uow, tenant_id=tenant_id, clinic_id=clinic_id)).priority_weights


async def put_policy(
    uow: UnitOfWork,
    principal: TenantPrincipal,
    *,
    tenant_id: uuid.UUID,
    clinic_id: uuid.UUID,
    data: PolicyIn,
) -> PolicyRead:
    """Replace the clinic's policy (staff who may update the clinic); changed fields are
    audited. New weights re-key the clinic's waiting entries in the same transaction, so the
    queue order follows at once."""
    access.check_clinic_settings(principal, tenant_id, clinic_id, P.CLINICS_UPDATE)
    before = await policy_of(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    row = await PolicyRepository(uow, tenant_id).ensure(clinic_id, lock=True)
    for field, attribute in _STORED_AS.items():
        setattr(row, attribute, getattr(data, field))
    await uow.flush()
    if before.priority_weights != data.priority_weights:
        await EntryRepository(uow, tenant_id).rekey_live(clinic_id, row.weights)
    old, new = audit.changed_fields(before.model_dump(mode="json"), data.model_dump(mode="json"))
    if new:
        subject = PolicySubject(id=clinic_id, tenant_id=tenant_id)
        await audit.record_change(
            uow, principal.actor, "waitlist_policy.updated", subject, before=old, after=new
        )
    return policy_read(row)
