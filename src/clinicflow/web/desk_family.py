"""Reception links a patient's dependants from the patient's page (`/desk/patients/{id}`).

Through `identity.family`, the service behind `/api/v1/patients/{id}/dependants`: linking
and unlinking need `family:manage` (reception and admins; a nurse is shown the service's
refusal), both are audited (`guardian_link.created` / `.removed`). The dependant is named by
their email or their patient id; one nobody has, the patient themselves, or a link that
exists already is said next to the field and changes nothing.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.errors import ClinicflowError, FieldProblem, NotFound, ValidationFailed
from clinicflow.identity import family
from clinicflow.identity import service as identity
from clinicflow.identity.access import context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.schemas import DependantIn
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.web.access import DeskPage
from clinicflow.web.desk import patient_view, visible_patient
from clinicflow.web.forms import CheckedForm, text, validated
from clinicflow.web.rendering import field_errors
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/desk", include_in_schema=False, route_class=PageRoute)
_NOBODY = "No patient has this email address or id"
_HINTS = {"relationship": "Choose what the dependant is to this patient"}


def _unknown() -> ValidationFailed:
    return ValidationFailed(_NOBODY, errors=[FieldProblem(field="dependant", message=_NOBODY)])


async def _dependant_id(uow: UnitOfWork, principal: TenantPrincipal, named: str) -> uuid.UUID:
    """The patient an email address or a patient id names (the field's error otherwise)."""
    if "@" in named:
        found = await identity.user_id_by_email(uow, tenant_id=principal.tenant_id, email=named)
    else:
        try:
            found = uuid.UUID(named)
        except ValueError:
            found = None
    if found is None:
        raise _unknown()
    return found


@router.post("/patients/{patient_id}/dependants")
async def link(request: Request, principal: DeskPage, patient_id: uuid.UUID, form: CheckedForm) -> Response:
    """Make another patient this patient's dependant (they may then see and check in their
    visits)."""
    ctx = context_of(request)
    values = {"dependant": text(form, "dependant"), "relationship": text(form, "relationship")}
    try:
        async with ctx.db.transaction() as uow:
            await visible_patient(uow, principal, patient_id)  # 404 before anything is said
            if not values["dependant"]:
                raise _unknown()
            dependant_id = await _dependant_id(uow, principal, values["dependant"])
            data = validated(
                DependantIn,
                {"dependant_id": dependant_id, "relationship": values["relationship"] or None},
                hints=_HINTS,
            )
            await family.link_dependant(uow, principal, patient_id=patient_id, data=data)
    except NotFound:
        raise
    except ClinicflowError as refused:
        errors = _family_errors(refused)
        return await patient_view(
            request, principal, patient_id, None, errors=errors, values=values, status_code=refused.status
        )
    return RedirectResponse(f"/desk/patients/{patient_id}?linked=1", status_code=303)


def _family_errors(refused: ClinicflowError) -> dict[str, str]:
    """The refusal's messages under the family form's names (`dependant`, `relationship`, and
    `family` for the form as a whole)."""
    errors = field_errors(refused)
    found = {"family": errors["form"]}
    named = errors.get("dependant_id") or errors.get("dependant")
    if refused.code == "DEPENDANT_ALREADY_LINKED":
        named = refused.title
    if named:
        found["dependant"] = named
    if "relationship" in errors:
        found["relationship"] = errors["relationship"]
    return found


@router.post("/patients/{patient_id}/dependants/{dependant_id}/unlink")
async def unlink(
    request: Request, principal: DeskPage, patient_id: uuid.UUID, dependant_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Remove the link: the patient no longer sees or checks in the dependant's visits."""
    ctx = context_of(request)
    try:
        async with ctx.db.transaction() as uow:
            await visible_patient(uow, principal, patient_id)
            await family.unlink_dependant(uow, principal, patient_id=patient_id, dependant_id=dependant_id)
    except NotFound:
        raise
    except ClinicflowError as refused:
        errors = {"family": field_errors(refused)["form"]}
        return await patient_view(
            request, principal, patient_id, None, errors=errors, status_code=refused.status
        )
    return RedirectResponse(f"/desk/patients/{patient_id}?unlinked=1", status_code=303)
