"""Who a tenant member may act for: the identity rules other domains' policies build on."""

from __future__ import annotations

import uuid

from clinicflow.errors import FieldProblem, Forbidden, ValidationFailed
from clinicflow.identity import directory
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork


async def resolve_patient(
    uow: UnitOfWork,
    principal: TenantPrincipal,
    *,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID | None,
    staff: Permission,
    self_service: Permission,
    doing: str,
) -> uuid.UUID:
    """The patient a use case acts for.

    Staff holding `staff` at the clinic act for a named patient of the tenant
    (422 if none is named or the id is no patient); a patient holding
    `self_service` acts for themselves only (403 for anyone else); the rest
    are refused (403). `doing` names the use case in the messages ("book").
    """
    if principal.can(staff, clinic_id=clinic_id):
        if patient_id is None:
            raise ValidationFailed(
                f"Staff {doing} for a patient", errors=[FieldProblem(field="patient_id", message="required")]
            )
        if not await directory.is_patient(uow, tenant_id=principal.tenant_id, user_id=patient_id):
            raise ValidationFailed(
                "No such patient", errors=[FieldProblem(field="patient_id", message="no such patient")]
            )
        return patient_id
    if principal.has(self_service):
        if patient_id is not None and patient_id != principal.user_id:
            raise Forbidden(f"Patients {doing} for themselves only")
        return principal.user_id
    raise Forbidden(f"You may not {doing} for patients at this clinic")
