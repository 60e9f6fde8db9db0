"""Families: a guardian (a patient) may see and check in the visits of their dependants
(other patients: a child, a cared-for parent). Links are made and removed by staff with
`family:manage`, audited (`guardian_link.*`). Callers own the unit of work.

Check-in reads a scanner's dependants in its own one-round-trip statement
(`checkin.repository`); `dependant_ids` is the same rule for everyone else.
"""

from __future__ import annotations

import uuid

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, NotFound, ValidationFailed
from clinicflow.identity import directory, policy
from clinicflow.identity.errors import DependantAlreadyLinked as DependantAlreadyLinked  # registers it
from clinicflow.identity.models import GuardianLink
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.repository import GuardianRepository
from clinicflow.identity.schemas import DependantIn, DependantRead, GuardianRead
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams


async def _require_guardian(uow: UnitOfWork, principal: TenantPrincipal, patient_id: uuid.UUID) -> None:
    if not await directory.is_patient(uow, tenant_id=principal.tenant_id, user_id=patient_id):
        raise NotFound("Patient not found")


async def list_dependants(
    uow: UnitOfWork, principal: TenantPrincipal, *, patient_id: uuid.UUID, page: PageParams
) -> tuple[list[DependantRead], str | None]:
    """A patient's dependants, oldest link first: for the patient themselves or staff with
    `family:manage` (404 for anyone else, and for someone who is not a patient)."""
    policy.check_sees_dependants(principal, patient_id)
    await _require_guardian(uow, principal, patient_id)
    return await GuardianRepository(uow, principal.tenant_id).page(patient_id, page)


async def list_guardians(
    uow: UnitOfWork, principal: TenantPrincipal, *, patient_id: uuid.UUID
) -> list[GuardianRead]:
    """The patients who have this patient as a dependant (oldest link first, at most 100):
    for the same readers as `list_dependants` (404 for anyone else)."""
    policy.check_sees_dependants(principal, patient_id)
    await _require_guardian(uow, principal, patient_id)
    return await GuardianRepository(uow, principal.tenant_id).guardians(patient_id)


async def link_dependant(
    uow: UnitOfWork, principal: TenantPrincipal, *, patient_id: uuid.UUID, data: DependantIn
) -> DependantRead:
    """Make `data.dependant_id` a dependant of the patient (both active patients of the tenant:
    404 for the guardian, 422 for the dependant; not themselves). 409 DEPENDANT_ALREADY_LINKED
    if it is one already (the unique constraint decides). Audited `guardian_link.created`."""
    policy.check_manages_family(principal)
    await _require_guardian(uow, principal, patient_id)
    problem = None
    if data.dependant_id == patient_id:
        problem = "a patient is not their own dependant"
    elif not await directory.is_patient(uow, tenant_id=principal.tenant_id, user_id=data.dependant_id):
        problem = "no such patient"
    if problem is not None:
        raise ValidationFailed(
            "No such dependant", errors=[FieldProblem(field="dependant_id", message=problem)]
        )
    links = GuardianRepository(uow, principal.tenant_id)
    link = links.add(
        GuardianLink(
            tenant_id=principal.tenant_id,
            guardian_id=patient_id,
            dependant_id=data.dependant_id,
            relationship=data.relationship.value,
            created_by=principal.user_id,
        )
    )
    await uow.flush()
    after = {"guardian_id": patient_id, "dependant_id": data.dependant_id, "relationship": data.relationship}
    await audit.record_change(uow, principal.actor, "guardian_link.created", link, after=after)
    return await links.read(link.id)


async def unlink_dependant(
    uow: UnitOfWork, principal: TenantPrincipal, *, patient_id: uuid.UUID, dependant_id: uuid.UUID
) -> None:
    """Remove the link (404 if there is none); the guardian no longer sees or checks in the
    dependant's visits. Audited `guardian_link.removed`."""
    policy.check_manages_family(principal)
    links = GuardianRepository(uow, principal.tenant_id)
    link = await links.link(patient_id, dependant_id)
    if link is None:
        raise NotFound("Dependant not found")
    before = {"guardian_id": patient_id, "dependant_id": dependant_id, "relationship": link.relationship}
    await links.remove(link)
    await audit.record_change(uow, principal.actor, "guardian_link.removed", link, before=before)


async def dependant_ids(uow: UnitOfWork, *, tenant_id: uuid.UUID, guardian_id: uuid.UUID) -> list[uuid.UUID]:
    """The patients `guardian_id` may act for."""
    return await GuardianRepository(uow, tenant_id).dependant_ids(guardian_id)
