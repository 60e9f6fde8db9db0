"""Reception checks a patient in from the today page (`/desk`).

"Check in" posts to `/desk/appointments/{id}/check-in` and runs the service behind
`POST /api/v1/appointments/{id}/check-in` (`checkin.reception.check_in_at_desk`,
method `staff`). When the clinic's window refuses (TOO_EARLY, APPOINTMENT_EXPIRED)
the page says so and offers "Check in anyway" with a reason, posting to
`…/check-in/override` (`check_in_with_override`, method `override`): the service
decides who may (`checkin:override`), and its refusal is shown to anyone else.
Another tenant's appointment, or one the desk does not see, is the 404 page.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.checkin import reception
from clinicflow.checkin.schemas import DeskCheckInIn, OverrideIn
from clinicflow.errors import ClinicflowError, FieldProblem, NotFound, ValidationFailed
from clinicflow.identity.access import context_of
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.web.access import DeskPage
from clinicflow.web.desk import today_page
from clinicflow.web.desk_arrivals import checkin_of, refusal_of
from clinicflow.web.forms import CheckedForm, text, validated
from clinicflow.web.patient_views import uuid_or_none
from clinicflow.web.rendering import field_errors
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/desk", include_in_schema=False, route_class=PageRoute)
_HINTS = {
    "location_id": "Choose where the patient checks in",
    "reason": "Say why the patient is checked in outside the window (3 to 500 characters)",
}


@router.post("/appointments/{appointment_id}/check-in")
async def check_in(
    request: Request, principal: DeskPage, appointment_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Check the patient in at the chosen location, inside the clinic's window."""
    ctx = context_of(request)
    try:
        data = validated(DeskCheckInIn, {"location_id": text(form, "location_id") or None}, hints=_HINTS)
        async with ctx.db.transaction() as uow:
            await reception.check_in_at_desk(
                uow,
                checkin_of(request),
                principal,
                appointment_id=appointment_id,
                location_id=data.location_id,
            )
    except NotFound:
        raise
    except ClinicflowError as refused:
        refusal = refusal_of(refused, appointment_id)
        refusal["location_id"] = uuid_or_none(text(form, "location_id"))
        return await today_page(
            request, principal, refusal=refusal, errors=field_errors(refused), status_code=refused.status
        )
    return RedirectResponse("/desk?checked_in=1", status_code=303)


@router.post("/appointments/{appointment_id}/check-in/override")
async def check_in_anyway(
    request: Request, principal: DeskPage, appointment_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Check the patient in whatever the window says, with the reason (kept and audited)."""
    ctx = context_of(request)
    values = {"location_id": text(form, "location_id") or None, "reason": text(form, "reason")}
    try:
        if not values["reason"]:
            raise ValidationFailed(_HINTS["reason"], errors=[FieldProblem("reason", _HINTS["reason"])])
        data = validated(OverrideIn, values, hints=_HINTS)
        async with ctx.db.transaction() as uow:
            await reception.check_in_with_override(
                uow,
                checkin_of(request),
                principal,
                appointment_id=appointment_id,
                location_id=data.location_id,
                reason=data.reason,
            )
    except NotFound:
        raise
    except ClinicflowError as refused:
        refusal = refusal_of(refused, appointment_id)  # a missing reason: the form again
        refusal.update(overridable=refused.code == "VALIDATION_FAILED", reason=values["reason"])
        refusal["location_id"] = uuid_or_none(text(form, "location_id"))
        return await today_page(
            request, principal, refusal=refusal, errors=field_errors(refused), status_code=refused.status
        )
    return RedirectResponse("/desk?checked_in=1", status_code=303)
