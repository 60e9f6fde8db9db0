"""The patient app's waitlist: join from a doctor's page, my waitlists, answer an offer.

An offer (an entry `invited` to a held slot) shows the time it holds and how long is
left to answer, rendered by the server; with JavaScript a small script counts down,
and the list follows the patient's `waitlist.updated` events over SSE (htmx's SSE
extension re-fetches it), so an offer appears without reloading the page.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.errors import ClinicflowError, NotFound
from clinicflow.identity import directory
from clinicflow.identity.access import context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import booking
from clinicflow.tenancy import service as tenancy
from clinicflow.waitlist import offers
from clinicflow.waitlist import service as waitlist
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.waitlist.schemas import EntryPatch, EntryRead, EntryStatus, JoinIn
from clinicflow.web.access import PatientPage
from clinicflow.web.booking import doctor_week_page
from clinicflow.web.forms import CheckedForm, text
from clinicflow.web.patient_views import N_, error_messages, local_day, local_time, parse_form, uuid_or_none
from clinicflow.web.rendering import render
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/app", include_in_schema=False, route_class=PageRoute)

_JOIN_MESSAGES = {
    "clinic_id": N_("Choose one of the doctor's clinics"),
    "doctor_id": N_("Choose a doctor of this clinic"),
    "date_from": N_("Enter a date, or leave it empty"),
    "date_to": N_("Enter a date on or after the first one, or leave it empty"),
    "window": N_("The last day is before the first one"),
    "weekdays": N_("Tick days of the week only"),
    "day_parts": N_("Tick morning, afternoon or evening only"),
    "notes": N_("Keep the note under 2000 characters"),
    "*": N_("This value is not valid"),
}
_NOTICES = {
    "joined": N_("You are on the waitlist. We will tell you when a time is freed."),
    "declined": N_("You declined the offer. You stay on the waitlist."),
    "left": N_("You left the waitlist."),
}
#: Statuses shown as "waiting", and those listed as history.
_OPEN = {EntryStatus.ACTIVE, EntryStatus.INVITED}


def waitlist_of(request: Request) -> WaitlistConfig:
    config: WaitlistConfig = request.app.state.waitlist
    return config


def _join_values(form: Any) -> dict[str, Any]:
    """The join form as typed (to show it again), lists for the ticked boxes."""
    values: dict[str, Any] = {
        name: text(form, name) for name in ("clinic_id", "doctor_id", "date_from", "date_to", "notes")
    }
    values["weekdays"] = [v for v in form.getlist("weekdays") if isinstance(v, str)]
    values["day_parts"] = [v for v in form.getlist("day_parts") if isinstance(v, str)]
    return values


def _join_input(values: dict[str, Any]) -> JoinIn:
    window = {
        "date_from": values["date_from"] or None,
        "date_to": values["date_to"] or None,
        "weekdays": values["weekdays"],
        "day_parts": values["day_parts"],
    }
    data = {
        "clinic_id": values["clinic_id"],
        "doctor_id": values["doctor_id"],
        "window": window,
        "notes": values["notes"] or None,
    }
    return parse_form(JoinIn, data, _JOIN_MESSAGES)


@router.post("/waitlists")
async def join(request: Request, principal: PatientPage, form: CheckedForm) -> Response:
    """Join the doctor's waitlist at a clinic; refused: the doctor's page, errors by the fields."""
    values = _join_values(form)
    doctor_id = uuid_or_none(values["doctor_id"])
    if doctor_id is None:
        raise NotFound("Doctor not found")
    try:
        data = _join_input(values)
        async with context_of(request).db.transaction() as uow:
            await waitlist.join(uow, waitlist_of(request), principal, data=data)
    except ClinicflowError as refused:
        if isinstance(refused, NotFound):
            raise
        errors = error_messages(request, refused)
        if "window" in errors:  # the dates in the wrong order: said by the second one
            errors.setdefault("date_to", errors.pop("window"))
        return await doctor_week_page(
            request,
            principal,
            doctor_id,
            None,
            join={"values": values, "errors": errors},
            status_code=refused.status,
        )
    return RedirectResponse("/app/waitlists?joined=1", status_code=303)


async def _entry_view(
    request: Request, uow: UnitOfWork, principal: TenantPrincipal, entry: EntryRead, now: datetime
) -> dict[str, Any]:
    """What the list shows of one entry: who, where, and an open offer's time and deadline."""
    tenant_id = principal.tenant_id
    clinic = await tenancy.get_clinic(uow, tenant_id=tenant_id, clinic_id=entry.clinic_id)
    zone = clinic.timezone if clinic else "UTC"
    doctor = None
    if entry.doctor_id is not None:
        doctor = await directory.contact_of(uow, tenant_id=tenant_id, user_id=entry.doctor_id)
    view: dict[str, Any] = {
        "entry": entry,
        "clinic": clinic.name if clinic else "",
        "doctor": doctor.full_name if doctor else None,
        "joined": local_day(request, entry.created_at, zone),
        "expires": local_day(request, entry.expires_at, zone),
        "offer": None,
    }
    if entry.status is EntryStatus.INVITED and entry.offered_appointment_id and entry.respond_by:
        held = await booking.get_visible(uow, principal, entry.offered_appointment_id)
        view["offer"] = {
            "when": local_time(request, held.starts_at, zone),
            "respond_by": entry.respond_by,
            "respond_by_local": local_time(request, entry.respond_by, zone, "HH:mm"),
            "seconds_left": max(0, int((entry.respond_by - now).total_seconds())),
        }
    return view


async def waitlists_page(
    request: Request,
    principal: TenantPrincipal,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    """My waitlist entries, open ones first, with any offer to answer (`errors` by entry id)."""
    ctx = context_of(request)
    cfg = waitlist_of(request)
    now = cfg.clock.now()
    async with ctx.db.reading() as uow:
        entries, _ = await waitlist.patient_history(
            uow, cfg, principal, patient_id=principal.user_id, page=PageParams(limit=50)
        )
        views = [await _entry_view(request, uow, principal, entry, now) for entry in entries]
    notice = next((_NOTICES[key] for key in request.query_params if key in _NOTICES), None)
    context = {
        "open": [v for v in views if v["entry"].status in _OPEN],
        "closed": [v for v in views if v["entry"].status not in _OPEN],
        "errors": errors or {},
        "notice": notice,
    }
    return render(request, "app/waitlists.html", context, status_code=status_code)


@router.get("/waitlists")
async def my_waitlists(request: Request, principal: PatientPage) -> Response:
    """My waitlists; live: the list refreshes itself when one of my entries changes."""
    return await waitlists_page(request, principal)


async def _answer(
    request: Request, principal: TenantPrincipal, entry_id: uuid.UUID, *, take: bool
) -> EntryRead:
    async with context_of(request).db.transaction() as uow:
        if take:
            return await offers.accept(uow, waitlist_of(request), principal, entry_id=entry_id)
        return await offers.decline(uow, waitlist_of(request), principal, entry_id=entry_id)


async def _refused(
    request: Request, principal: TenantPrincipal, entry_id: uuid.UUID, error: ClinicflowError
) -> Response:
    """An answer the waitlist refused (offer expired, gone): the list, the reason by the entry."""
    if isinstance(error, NotFound):
        raise error
    errors = {str(entry_id): error_messages(request, error)}
    return await waitlists_page(request, principal, errors=errors, status_code=error.status)


@router.post("/waitlists/{entry_id}/accept")
async def accept(
    request: Request, principal: PatientPage, entry_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Take the offered time: it becomes my appointment (shown next)."""
    try:
        entry = await _answer(request, principal, entry_id, take=True)
    except ClinicflowError as refused:
        return await _refused(request, principal, entry_id, refused)
    return RedirectResponse(f"/app/appointments/{entry.promoted_appointment_id}?accepted=1", status_code=303)


@router.post("/waitlists/{entry_id}/decline")
async def decline(
    request: Request, principal: PatientPage, entry_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Say no to the offered time and stay on the waitlist."""
    try:
        await _answer(request, principal, entry_id, take=False)
    except ClinicflowError as refused:
        return await _refused(request, principal, entry_id, refused)
    return RedirectResponse("/app/waitlists?declined=1", status_code=303)


@router.post("/waitlists/{entry_id}/leave")
async def leave(request: Request, principal: PatientPage, entry_id: uuid.UUID, form: CheckedForm) -> Response:
    """Stop waiting (an open offer's held time is given back)."""
    try:
        async with context_of(request).db.transaction() as uow:
            await waitlist.patch(
                uow, waitlist_of(request), principal, entry_id=entry_id, data=EntryPatch(status="cancelled")
            )
    except ClinicflowError as refused:
        return await _refused(request, principal, entry_id, refused)
    return RedirectResponse("/app/waitlists?left=1", status_code=303)
