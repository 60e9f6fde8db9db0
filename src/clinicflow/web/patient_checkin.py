"""Checking in by the location's QR code, then watching my place in the queue.

`GET /app/check-in?t=<token>` is the address a location's QR code encodes
(`checkin.qr.check_in_url`): it names the clinic and location and offers one
"Check in" button. The button posts the token to the same address, which runs the
patient's scan (`checkin.scanning.check_in_by_qr`, rate limited like the API's
scan): every refusal is shown by its code in words (when check-in opens, where
to go instead, the ticket already given…), several open visits come back as
checkboxes, and a check-in leads to `/app/visit/{location_id}`: my ticket,
position, number ahead and estimated wait (`checkin.queue.service.read_queue`'s
own view), refreshed live by the page's stream on `patient:<me>`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.checkin import scanning
from clinicflow.checkin.config import CheckInConfig
from clinicflow.checkin.errors import QrCodeInvalid
from clinicflow.checkin.qr import QrClaims
from clinicflow.checkin.queue import service as queue
from clinicflow.checkin.queue.schemas import OwnPlaceRead, QueueRead
from clinicflow.checkin.schemas import ScanCheckedIn, ScanIn
from clinicflow.errors import ClinicflowError, RateLimitExceeded
from clinicflow.identity import directory
from clinicflow.identity.access import context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.tenancy import service as tenancy
from clinicflow.web.access import PatientPage
from clinicflow.web.forms import CheckedForm, text
from clinicflow.web.patient_views import N_, gettext_for, local_time, uuid_or_none
from clinicflow.web.rendering import render
from clinicflow.web.routing import PageRoute
from clinicflow.web.weeks import scheduling_of

router = PrefixedRouter(prefix="/app", include_in_schema=False, route_class=PageRoute)

_STATUS = {
    "waiting": N_("Waiting"),
    "called": N_("Called: please go in"),
    "in_consultation": N_("In consultation"),
    "completed": N_("Completed"),
    "skipped": N_("Skipped"),
    "no_show": N_("Missed"),
}


def _config(request: Request) -> CheckInConfig:
    config: CheckInConfig = request.app.state.checkin
    return config


def _claims(request: Request, token: str) -> QrClaims:
    """The token's claims once its signature is checked (QR_CODE_INVALID otherwise)."""
    if not token:
        raise QrCodeInvalid()
    return _config(request).qr.read(token)


async def _place(request: Request, principal: TenantPrincipal, claims: QrClaims) -> dict[str, str]:
    """The clinic and location the code is for (QR_CODE_INVALID for another tenant's or a
    removed location: the page never says which)."""
    if claims.tenant_id != principal.tenant_id:
        raise QrCodeInvalid()
    async with context_of(request).db.reading() as uow:
        location = await tenancy.get_location(
            uow, tenant_id=principal.tenant_id, location_id=claims.location_id
        )
        clinic = None
        if location is not None:
            tenant_id = principal.tenant_id
            clinic = await tenancy.get_clinic(uow, tenant_id=tenant_id, clinic_id=location.clinic_id)
    if location is None or clinic is None:
        raise QrCodeInvalid()
    return {"location": location.name, "clinic": clinic.name, "timezone": clinic.timezone}


def _refusal(request: Request, error: ClinicflowError, place: dict[str, str] | None) -> dict[str, Any]:
    """What the page says about a refused scan: a sentence, and what to do next."""
    _ = gettext_for(request)
    extra = error.extra
    zone = place["timezone"] if place else "UTC"
    said: dict[str, Any] = {"code": error.code, "title": _(error.title), "detail": None, "ticket": None}
    if error.code == "TOO_EARLY" and extra.get("opens_at"):
        opens = datetime.fromisoformat(str(extra["opens_at"]))
        opens_text = local_time(request, opens, zone, "HH:mm")
        said["detail"] = _("Check-in opens at %(time)s.") % {"time": opens_text}
    elif error.code == "WRONG_LOCATION":
        where = extra.get("location_name") or _("another location of the clinic")
        said["detail"] = _("Your appointment is at %(place)s: please check in there.") % {"place": where}
    elif error.code == "ALREADY_CHECKED_IN" and isinstance(extra.get("check_in"), dict):
        said["ticket"] = extra["check_in"].get("ticket")
        said["location_id"] = extra["check_in"].get("location_id")
    elif error.code == "NO_APPOINTMENT_FOUND":
        said["detail"] = _("Ask at the front desk if you think this is wrong.")
    elif error.code in {"QR_CODE_INVALID", "QR_CODE_EXPIRED"}:
        said["detail"] = _("Scan the code shown at the clinic again with your phone's camera.")
    elif isinstance(error, RateLimitExceeded):
        said["title"] = _("Too many tries in a short time")
        said["detail"] = _("Wait %(seconds)s seconds and try again.") % {"seconds": error.retry_after}
    return said


async def _names(request: Request, principal: TenantPrincipal, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    async with context_of(request).db.reading() as uow:
        for doctor_id in ids:
            contact = await directory.contact_of(uow, tenant_id=principal.tenant_id, user_id=doctor_id)
            names[doctor_id] = contact.full_name if contact else ""
    return names


@router.get("/check-in")
async def check_in_page(request: Request, principal: PatientPage, t: str = "") -> Response:
    """The QR code's page: where I am, and the button that checks me in."""
    context: dict[str, Any] = {"token": t, "place": None, "refused": None, "choices": []}
    try:
        context["place"] = await _place(request, principal, _claims(request, t))
    except ClinicflowError as error:
        context["refused"] = _refusal(request, error, None)
        return render(request, "app/check_in.html", context, status_code=error.status)
    return render(request, "app/check_in.html", context)


@router.post("/check-in")
async def check_in(request: Request, principal: PatientPage, form: CheckedForm) -> Response:
    """Check me (and the dependants I chose) in at the code's location."""
    token = text(form, "t")
    config = _config(request)
    ctx = context_of(request)
    place: dict[str, str] | None = None
    ticked = [v for v in form.getlist("appointment_ids") if isinstance(v, str)]
    picked = [found for v in ticked if (found := uuid_or_none(v)) is not None]
    try:
        await ctx.limiter.hit(config.rate_per_patient, "checkin-patient", str(principal.user_id))
        claims = _claims(request, token)
        place = await _place(request, principal, claims)
        await ctx.limiter.hit(config.rate_per_location, "checkin-location", str(claims.location_id))
        data = ScanIn(token=token, appointment_ids=picked[:20] or None)
        async with ctx.db.transaction() as uow:
            result = await scanning.check_in_by_qr(uow, config, principal, claims=claims, data=data)
    except ClinicflowError as error:
        refused: dict[str, Any] = {"token": token, "place": place, "choices": []}
        refused["refused"] = _refusal(request, error, place)
        return render(request, "app/check_in.html", refused, status_code=error.status)
    if isinstance(result, ScanCheckedIn):
        return RedirectResponse(f"/app/visit/{claims.location_id}?checked_in=1", status_code=303)
    names = await _names(request, principal, {c.doctor_id for c in result.appointments})
    patients = await _names(request, principal, {c.patient_id for c in result.appointments})
    zone = place["timezone"]
    choices = [
        {
            "id": c.appointment_id,
            "when": local_time(request, c.starts_at, zone, "HH:mm"),
            "doctor": names.get(c.doctor_id, ""),
            "patient": patients.get(c.patient_id, "") if c.dependant else None,
        }
        for c in result.appointments
    ]
    context = {"token": token, "place": place, "refused": None, "choices": choices}
    return render(request, "app/check_in.html", context)


def _entry(request: Request, entry: OwnPlaceRead, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    _ = gettext_for(request)
    return {
        "ticket": entry.ticket,
        "status": entry.status,
        "status_text": _(_STATUS.get(entry.status, entry.status)),
        "doctor": names.get(entry.doctor_id, ""),
        "position": entry.position,
        "ahead": entry.ahead,
        "estimate": entry.estimate_minutes,
    }


@router.get("/visit/{location_id}")
async def visit(request: Request, principal: PatientPage, location_id: uuid.UUID) -> Response:
    """My tickets at this location today: status, position, number ahead, estimated wait."""
    now = scheduling_of(request).clock.now()
    async with context_of(request).db.reading() as uow:
        read = await queue.read_queue(uow, principal, location_id=location_id, day=None, now=now)
        location = await tenancy.get_location(uow, tenant_id=principal.tenant_id, location_id=location_id)
    if isinstance(read, QueueRead):  # staff who are also patients see their own entries only
        every = (*read.waiting, *read.called, *read.in_consultation)
        rows = [e for e in every if e.patient_id == principal.user_id]
        entries = [
            OwnPlaceRead(
                check_in_id=e.check_in_id,
                appointment_id=e.appointment_id,
                ticket=e.ticket,
                status=e.status,
                doctor_id=e.doctor_id,
                position=e.position,
                ahead=e.ahead,
                estimate_minutes=e.estimate_minutes,
            )
            for e in rows
        ]
    else:
        entries = read.entries
    names = await _names(request, principal, {e.doctor_id for e in entries})
    context = {
        "location_id": location_id,
        "location": location.name if location else "",
        "entries": [_entry(request, e, names) for e in entries],
        "notice": N_("You are checked in.") if "checked_in" in request.query_params else None,
    }
    return render(request, "app/visit.html", context)
