"""One of my appointments: its details, cancel with a reason, move it to another free time of
the same doctor, join the video visit, add it to the calendar.

Cancelling and moving are the scheduling use cases (`booking.transition`,
`booking.reschedule`): the clinic's cut-off for patients' own changes is theirs, and
a refusal (CANCELLATION_TOO_LATE, SLOT_UNAVAILABLE, …) is shown by the form that was
sent, with nothing changed. The page says beforehand when online changes close.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.errors import ClinicflowError, NotFound
from clinicflow.identity import directory
from clinicflow.identity.access import context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import booking
from clinicflow.scheduling import policy_service as scheduling_policy
from clinicflow.scheduling.schemas import AppointmentRead, CancelIn, RescheduleIn
from clinicflow.scheduling.state import Action, Status
from clinicflow.tenancy import service as tenancy
from clinicflow.web.access import PatientPage
from clinicflow.web.forms import CheckedForm, text
from clinicflow.web.patient_views import N_, error_messages, gettext_for, local_time, parse_form
from clinicflow.web.rendering import render
from clinicflow.web.routing import PageRoute
from clinicflow.web.weeks import free_week, scheduling_of, week_of

router = PrefixedRouter(prefix="/app", include_in_schema=False, route_class=PageRoute)

#: Statuses a patient may still cancel or move (the transition table says the rest).
CHANGEABLE = frozenset({Status.SCHEDULED, Status.CONFIRMED})
#: Statuses in which a video visit's link is offered (a visit of kind `video`).
VIDEO_OPEN = frozenset({Status.SCHEDULED, Status.CONFIRMED, Status.CHECKED_IN, Status.IN_CONSULTATION})
_NOTICES = {
    "cancelled": N_("Your appointment is cancelled."),
    "rescheduled": N_("Your appointment has a new time."),
    "accepted": N_("You took the offered time: this is your appointment now."),
}
_CANCEL_MESSAGES = {"reason": N_("Keep the reason under 500 characters"), "*": N_("This value is not valid")}
_MOVE_MESSAGES = {"*": N_("Choose one of the free times below")}


def week_to_offer(starts_at: datetime, timezone: str) -> date:
    """The week whose free times the page offers first: the appointment's own (clinic-local),
    whatever today is — a Monday visit seen on the Sunday before shows its Monday, not the
    week that ends today. The page's links move a week either way."""
    return week_of(starts_at.astimezone(ZoneInfo(timezone)).date())


async def _details(
    request: Request, principal: TenantPrincipal, appointment_id: uuid.UUID, week: date | None
) -> dict[str, Any]:
    """The appointment (404 unless it is mine), its doctor, clinic and cut-off, and a week of
    the doctor's free times at that clinic to move it to."""
    ctx = context_of(request)
    now = scheduling_of(request).clock.now()
    tenant_id = principal.tenant_id
    async with ctx.db.reading() as uow:
        appointment = booking.read(await booking.get_visible(uow, principal, appointment_id))
        if appointment.patient_id != principal.user_id:
            raise NotFound("Appointment not found")
        doctor = await directory.contact_of(uow, tenant_id=tenant_id, user_id=appointment.doctor_id)
        clinic = await tenancy.get_clinic(uow, tenant_id=tenant_id, clinic_id=appointment.clinic_id)
        rules = await scheduling_policy.get_policy(uow, tenant_id=tenant_id, clinic_id=appointment.clinic_id)
        cutoff = timedelta(minutes=rules.patient_cancel_cutoff_minutes)
        changeable = appointment.status in CHANGEABLE and appointment.starts_at - now >= cutoff
        monday = week or week_to_offer(appointment.starts_at, clinic.timezone if clinic else "UTC")
        days = []
        if changeable:
            days = await free_week(
                uow,
                tenant_id=tenant_id,
                doctor_id=appointment.doctor_id,
                clinic_id=appointment.clinic_id,
                monday=monday,
                now=now,
            )
    return {
        "a": appointment,
        "doctor": doctor.full_name if doctor else "",
        "clinic": clinic.name if clinic else "",
        "when": local_time(request, appointment.starts_at, clinic.timezone if clinic else "UTC"),
        "cutoff_rule": _cutoff_rule(request, rules.patient_cancel_cutoff_minutes),
        "changeable": changeable,
        "video_url": _video_link(appointment),
        "days": days,
        "week": monday,
        "previous": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7),
    }


def _cutoff_rule(request: Request, minutes: int) -> str | None:
    """When online changes close, in the page's language (None: until the visit starts)."""
    _ = gettext_for(request)
    if minutes == 0:
        return None
    if minutes % 60:
        return _("Online changes close %(minutes)s minutes before the visit.") % {"minutes": minutes}
    return _("Online changes close %(hours)s hours before the visit.") % {"hours": minutes // 60}


def _video_link(appointment: AppointmentRead) -> str | None:
    """The video visit's link while the visit is ahead or under way; None for in person."""
    if appointment.kind != "video" or appointment.status not in VIDEO_OPEN:
        return None
    return appointment.video_url


async def appointment_page(
    request: Request,
    principal: TenantPrincipal,
    appointment_id: uuid.UUID,
    *,
    week: date | None = None,
    refused: tuple[str, ClinicflowError] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The detail page; after a refused change, its reason by the form that was sent
    (`refused`: the form's name and the error) and what was typed (`values`)."""
    context = await _details(request, principal, appointment_id, week)
    notice = next((_NOTICES[key] for key in request.query_params if key in _NOTICES), None)
    errors: dict[str, str] = {}
    if refused is not None:
        form, error = refused
        errors = error_messages(request, error, form=form)
        if error.code == "CANCELLATION_TOO_LATE" and context["cutoff_rule"]:  # say what the cut-off is
            errors[form] = f"{gettext_for(request)(error.title)} {context['cutoff_rule']}"
    context |= {"errors": errors, "values": values or {}, "notice": notice}
    status_code = refused[1].status if refused is not None else 200
    return render(request, "app/appointment.html", context, status_code=status_code)


@router.get("/appointments/{appointment_id}")
async def appointment_detail(
    request: Request, principal: PatientPage, appointment_id: uuid.UUID, week: date | None = None
) -> Response:
    """One of my appointments, with what I can do about it."""
    return await appointment_page(request, principal, appointment_id, week=week)


async def _refused(
    request: Request,
    principal: TenantPrincipal,
    appointment_id: uuid.UUID,
    refused: ClinicflowError,
    *,
    form: str,
    values: dict[str, str],
) -> Response:
    """A change scheduling refused: the page again, nothing changed (a missing or someone
    else's appointment stays the 404 page)."""
    if isinstance(refused, NotFound):
        raise refused
    return await appointment_page(request, principal, appointment_id, refused=(form, refused), values=values)


@router.post("/appointments/{appointment_id}/cancel")
async def cancel(
    request: Request, principal: PatientPage, appointment_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Cancel one of my appointments, with an optional reason (before the clinic's cut-off)."""
    reason = text(form, "reason")
    try:
        data = parse_form(CancelIn, {"reason": reason or None}, _CANCEL_MESSAGES)
        async with context_of(request).db.transaction() as uow:
            await booking.transition(
                uow,
                scheduling_of(request),
                principal,
                appointment_id=appointment_id,
                action=Action.CANCEL,
                reason=data.reason,
            )
    except ClinicflowError as refused:
        return await _refused(
            request, principal, appointment_id, refused, form="cancel", values={"reason": reason}
        )
    return RedirectResponse(f"/app/appointments/{appointment_id}?cancelled=1", status_code=303)


@router.post("/appointments/{appointment_id}/reschedule")
async def reschedule(
    request: Request, principal: PatientPage, appointment_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Move one of my appointments to another free time of the same doctor and clinic."""
    try:
        data = parse_form(RescheduleIn, {"starts_at": text(form, "starts_at")}, _MOVE_MESSAGES)
        async with context_of(request).db.transaction() as uow:
            await booking.reschedule(
                uow, scheduling_of(request), principal, appointment_id=appointment_id, data=data
            )
    except ClinicflowError as refused:
        return await _refused(request, principal, appointment_id, refused, form="reschedule", values={})
    return RedirectResponse(f"/app/appointments/{appointment_id}?rescheduled=1", status_code=303)
