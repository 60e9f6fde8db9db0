"""A clinic's policies in the admin console: cancellation and no-show (scheduling's policy),
the waitlist's (queue size, expiry, offers, weights, quiet hours) and the check-in window
(how long before and after the start a patient may check in, when they are late, the
default consult length: check-in's `window` service), one form each."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from clinicflow.checkin import window as checkin_window
from clinicflow.checkin.schemas import CheckInPolicyIn
from clinicflow.errors import ValidationFailed
from clinicflow.identity.access import WebContext, context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import policy as scheduling_access
from clinicflow.scheduling import policy_service as scheduling_policies
from clinicflow.scheduling.schemas import SchedulingPolicyIn
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.schemas import ClinicRead
from clinicflow.waitlist import policies as waitlist_policies
from clinicflow.waitlist.schemas import PolicyIn, PolicyRead
from clinicflow.web.admin.common import errors_of, filled, notice_of, page, parsed
from clinicflow.web.admin.gate import AdminPage
from clinicflow.web.forms import CheckedForm, text
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
SCHEDULING_FIELDS = tuple(SchedulingPolicyIn.model_fields)
WEIGHTS = ("wait_time", "priority_tier", "chronic_condition", "window_fit")
WAITLIST_FIELDS = (
    "max_queue_size",
    "auto_expiry_hours",
    "offer_response_minutes",
    "quiet_hours_start",
    "quiet_hours_end",
    *(f"priority_weights.{name}" for name in WEIGHTS),
)
CHECKIN_FIELDS = tuple(CheckInPolicyIn.model_fields)
_NOTICES = {
    "checkin": "The check-in window is saved: check-ins from now on use it.",
    "scheduling": "The cancellation policy is saved.",
    "waitlist": "The waitlist policy is saved: the queue is ordered by the new weights.",
}


def scheduling_values(policy: SchedulingPolicyIn) -> dict[str, Any]:
    return policy.model_dump(include=set(SCHEDULING_FIELDS))


def waitlist_values(policy: PolicyRead) -> dict[str, Any]:
    """The waitlist policy as its form shows it (weights as dotted fields, times as HH:MM)."""
    values: dict[str, Any] = {
        name: getattr(policy, name)
        for name in ("max_queue_size", "auto_expiry_hours", "offer_response_minutes")
    }
    values["auto_offer"] = policy.auto_offer
    for name in ("quiet_hours_start", "quiet_hours_end"):
        moment = getattr(policy, name)
        values[name] = moment.strftime("%H:%M") if moment is not None else ""
    for name in WEIGHTS:
        values[f"priority_weights.{name}"] = getattr(policy.priority_weights, name)
    return values


def waitlist_input(form: FormData, current: PolicyRead) -> PolicyIn:
    """The waitlist form as the schema; message template overrides are kept as they are."""
    values: dict[str, Any] = {
        k: v for k, v in filled(form, WAITLIST_FIELDS).items() if not k.startswith("priority_weights.")
    }
    values["auto_offer"] = text(form, "auto_offer") == "on"
    values["priority_weights"] = {name: text(form, f"priority_weights.{name}") for name in WEIGHTS}
    values["templates"] = current.templates
    return parsed(PolicyIn, values)


async def policies_page(
    request: Request,
    ctx: WebContext,
    principal: TenantPrincipal,
    clinic_id: uuid.UUID,
    *,
    submitted: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """Both forms, as saved (or one as just submitted, with its errors)."""
    scheduling_access.require_clinic_editor(principal, clinic_id)
    async with ctx.db.reading() as uow:
        clinic = await tenancy.get_clinic_or_raise(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
        read = ClinicRead.model_validate(clinic)
        scheduling = await scheduling_policies.get_policy(
            uow, tenant_id=principal.tenant_id, clinic_id=clinic_id
        )
        waitlist = await waitlist_policies.read_policy(
            uow, principal, tenant_id=principal.tenant_id, clinic_id=clinic_id
        )
        window = await checkin_window.read_window(uow, principal, clinic_id=clinic_id)
    values = {
        **scheduling_values(scheduling),
        **waitlist_values(waitlist),
        **window.model_dump(include=set(CHECKIN_FIELDS)),
        **(submitted or {}),
    }
    context = {
        "clinic": read,
        "values": values,
        "errors": errors or {},
        "weights": WEIGHTS,
        "notice": notice_of(request, _NOTICES),
    }
    return page(request, "admin/policies.html", context, status_code=status)


@router.get("/clinics/{clinic_id}/policies")
async def policies(request: Request, principal: AdminPage, clinic_id: uuid.UUID) -> Response:
    """The clinic's cancellation, waitlist and check-in policies."""
    return await policies_page(request, context_of(request), principal, clinic_id)


async def _refused(
    request: Request,
    principal: TenantPrincipal,
    clinic_id: uuid.UUID,
    submitted: dict[str, Any],
    refused: ValidationFailed,
) -> Response:
    """The policies page again, with what was typed and each field's error."""
    return await policies_page(
        request,
        context_of(request),
        principal,
        clinic_id,
        submitted=submitted,
        errors=errors_of(refused),
        status=refused.status,
    )


@router.post("/clinics/{clinic_id}/policies/scheduling")
async def put_scheduling_policy(
    request: Request, principal: AdminPage, clinic_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Replace the cancellation cut-off and the no-show grace."""
    scheduling_access.require_clinic_editor(principal, clinic_id)
    ctx = context_of(request)
    submitted = {name: text(form, name) for name in SCHEDULING_FIELDS}
    try:
        data = parsed(SchedulingPolicyIn, submitted)
        async with ctx.db.transaction() as uow:
            await scheduling_policies.put_policy(uow, principal, clinic_id=clinic_id, data=data)
    except ValidationFailed as refused:
        return await _refused(request, principal, clinic_id, submitted, refused)
    return RedirectResponse(f"/admin/clinics/{clinic_id}/policies?done=scheduling", status_code=303)


@router.post("/clinics/{clinic_id}/policies/waitlist")
async def put_waitlist_policy(
    request: Request, principal: AdminPage, clinic_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Replace the waitlist policy (its weights re-order the clinic's queue at once)."""
    ctx = context_of(request)
    submitted: dict[str, Any] = {name: text(form, name) for name in WAITLIST_FIELDS}
    submitted["auto_offer"] = text(form, "auto_offer") == "on"
    try:
        async with ctx.db.transaction() as uow:
            current = await waitlist_policies.read_policy(
                uow, principal, tenant_id=principal.tenant_id, clinic_id=clinic_id
            )
            data = waitlist_input(form, current)
            await waitlist_policies.put_policy(
                uow, principal, tenant_id=principal.tenant_id, clinic_id=clinic_id, data=data
            )
    except ValidationFailed as refused:
        return await _refused(request, principal, clinic_id, submitted, refused)
    return RedirectResponse(f"/admin/clinics/{clinic_id}/policies?done=waitlist", status_code=303)


@router.post("/clinics/{clinic_id}/policies/check-in")
async def put_check_in_window(
    request: Request, principal: AdminPage, clinic_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Replace the check-in window (audited by the service); scans from now on use it. Bad
    input shows the form again with each field's error and changes nothing."""
    scheduling_access.require_clinic_editor(principal, clinic_id)
    ctx = context_of(request)
    submitted = {name: text(form, name) for name in CHECKIN_FIELDS}
    try:
        data = parsed(CheckInPolicyIn, submitted)
        async with ctx.db.transaction() as uow:
            await checkin_window.put_window(uow, principal, clinic_id=clinic_id, data=data)
    except ValidationFailed as refused:
        return await _refused(request, principal, clinic_id, submitted, refused)
    return RedirectResponse(f"/admin/clinics/{clinic_id}/policies?done=checkin", status_code=303)
