"""The front desk (`/desk`, reception and nurses): today's appointments, finding a patient.

Today is each clinic's own today, on its own clock, for the clinics where the
user holds a grant (tenant-wide grants: every clinic). A patient is found by
their email; their page lists their upcoming appointments (to move or cancel)
and leads to booking for them (`desk_booking.py`). Waitlists are in
`desk_waitlist.py`. Checking a patient in (and overriding the window) is
`desk_checkin.py`; what today shows of arrivals, `desk_arrivals.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.errors import ClinicflowError, NotFound
from clinicflow.identity import directory, family
from clinicflow.identity import service as identity
from clinicflow.identity.access import context_of
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import DependantRead, DoctorRead, GuardianRead, Relationship, UserRead
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import booking
from clinicflow.scheduling.schemas import AppointmentRead, CancelIn
from clinicflow.scheduling.state import Action
from clinicflow.tenancy.schemas import ClinicRead
from clinicflow.web.access import DeskPage
from clinicflow.web.desk_arrivals import CHECKABLE, Arrivals, arrivals_at, channels_of
from clinicflow.web.forms import CheckedForm, text, validated
from clinicflow.web.rendering import field_errors, render
from clinicflow.web.routing import PageRoute
from clinicflow.web.weeks import (
    appointments_between,
    clinics_by_id,
    day_bounds,
    names_of,
    scheduling_of,
    zone_of,
)

router = PrefixedRouter(prefix="/desk", include_in_schema=False, route_class=PageRoute)
P = Permission
#: How far ahead a patient's page lists their appointments.
UPCOMING = timedelta(days=366)
_NOTICES = {
    "booked": "The appointment is booked.",
    "rescheduled": "The appointment is moved.",
    "cancelled": "The appointment is cancelled.",
    "checked_in": "The patient is checked in.",
    "linked": "The dependant is linked.",
    "unlinked": "The dependant is unlinked.",
}


@dataclass(frozen=True, slots=True)
class ClinicDay:
    """One clinic's today: its clock now, its appointments, where and who has arrived."""

    clinic: ClinicRead
    now: datetime
    visits: list[Visit]
    arrivals: Arrivals


@dataclass(frozen=True, slots=True)
class Visit:
    """One appointment as the desk shows it, on its clinic's clock."""

    appointment: AppointmentRead
    starts: datetime
    patient: str
    doctor: str
    clinic: str


async def desk_clinics(
    uow: UnitOfWork, principal: TenantPrincipal, permission: Permission = P.APPOINTMENTS_READ
) -> dict[uuid.UUID, ClinicRead]:
    """The live clinics where the principal holds `permission`, oldest first."""
    return await clinics_by_id(uow, tenant_id=principal.tenant_id, only=principal.clinics_for(permission))


async def visits_of(
    uow: UnitOfWork,
    principal: TenantPrincipal,
    appointments: list[AppointmentRead],
    clinics: dict[uuid.UUID, ClinicRead],
) -> list[Visit]:
    """The appointments with who and where, on their clinics' clocks."""
    people = [a.patient_id for a in appointments] + [a.doctor_id for a in appointments]
    names = await names_of(uow, tenant_id=principal.tenant_id, user_ids=people)
    missing = {a.clinic_id for a in appointments} - set(clinics)
    if missing:
        clinics = clinics | await clinics_by_id(uow, tenant_id=principal.tenant_id, only=missing)
    return [
        Visit(
            a,
            a.starts_at.astimezone(zone_of(clinics.get(a.clinic_id))),
            names.get(a.patient_id, ""),
            names.get(a.doctor_id, ""),
            clinics[a.clinic_id].name if a.clinic_id in clinics else "",
        )
        for a in appointments
    ]


def notice_of(request: Request) -> str | None:
    return next((_NOTICES[k] for k in request.query_params if k in _NOTICES), None)


@router.get("")
async def today(request: Request, principal: DeskPage) -> Response:
    """Today's appointments of each of my clinics: their status, tickets, a check-in button."""
    return await today_page(request, principal)


async def today_page(
    request: Request,
    principal: TenantPrincipal,
    *,
    refusal: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The today page; after a refused check-in, with the refusal (and its override) on top."""
    ctx = context_of(request)
    now = scheduling_of(request).clock.now()
    days = []
    async with ctx.db.reading() as uow:
        clinics = await desk_clinics(uow, principal)
        arrivals: dict[uuid.UUID, Arrivals] = {}
        for clinic in clinics.values():
            zone = zone_of(clinic)
            start, end = day_bounds(now.astimezone(zone).date(), zone)
            appointments = await appointments_between(
                uow, principal, start=start, end=end, clinic_id=clinic.id
            )
            arrivals[clinic.id] = await arrivals_at(uow, principal, clinic, now)
            visits = await visits_of(uow, principal, appointments, clinics)
            days.append(ClinicDay(clinic, now.astimezone(zone), visits, arrivals[clinic.id]))
    if refusal is not None:
        refused = next(
            (v for d in days for v in d.visits if v.appointment.id == refusal["appointment_id"]), None
        )
        refusal = {**refusal, "visit": refused, "desks": [], "chosen": None}
        if refused is not None:
            at = arrivals[refused.appointment.clinic_id]
            asked = refusal.get("location_id") or refused.appointment.location_id
            refusal.update(desks=at.desks, chosen=at.desk_for(asked))
    context = {
        "days": days,
        "notice": notice_of(request),
        "channels": channels_of(list(clinics.values()), arrivals),
        "checkable": CHECKABLE,
        "refusal": refusal,
        "errors": errors or {},
    }
    return render(request, "desk/today.html", context, status_code=status_code)


@dataclass(frozen=True, slots=True)
class Family:
    """A patient's guardian links as the desk sees them (`None`: the desk may not read them)."""

    dependants: list[DependantRead] | None
    guardians: list[GuardianRead] | None


async def family_of(uow: UnitOfWork, principal: TenantPrincipal, patient_id: uuid.UUID) -> Family:
    """The patient's dependants and guardians, for staff who manage families (`family:manage`);
    for other staff the service's answer is that there is nothing to show them."""
    try:
        page = PageParams(limit=100)
        dependants, _ = await family.list_dependants(uow, principal, patient_id=patient_id, page=page)
        guardians = await family.list_guardians(uow, principal, patient_id=patient_id)
    except NotFound:
        return Family(None, None)
    return Family(dependants, guardians)


def _is_patient(user: UserRead) -> bool:
    return any(grant.role is Role.PATIENT for grant in user.grants)


async def visible_patient(uow: UnitOfWork, principal: TenantPrincipal, patient_id: uuid.UUID) -> UserRead:
    """A patient of the tenant the principal may look up (404 for anyone else, or another
    tenant's)."""
    user = await identity.get_user(uow, principal, user_id=patient_id)
    if not _is_patient(user):
        raise NotFound("Patient not found")
    return user


@router.get("/patients")
async def find_patient(
    request: Request, principal: DeskPage, email: Annotated[str | None, Query(max_length=320)] = None
) -> Response:
    """Find a patient by their email address."""
    ctx = context_of(request)
    asked = (email or "").strip()
    found: UserRead | None = None
    errors: dict[str, str] = {}
    malformed = bool(asked) and ("@" not in asked or asked.startswith("@") or asked.endswith("@"))
    if malformed:
        errors["email"] = "Write the patient's whole email address"
    elif asked:
        async with ctx.db.reading() as uow:
            user_id = await identity.user_id_by_email(uow, tenant_id=principal.tenant_id, email=asked)
            if user_id is not None:
                try:  # staff the desk may not see are, to it, nobody
                    user = await identity.get_user(uow, principal, user_id=user_id)
                except NotFound:
                    user = None
                found = user if user is not None and _is_patient(user) else None
        if found is None:
            errors["email"] = "No patient has this email address"
    context = {"email": asked, "found": found, "errors": errors}
    return render(request, "desk/patients.html", context, status_code=422 if malformed else 200)


async def patient_view(
    request: Request,
    principal: TenantPrincipal,
    patient_id: uuid.UUID,
    q: str | None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """A patient's page: their appointments, their family, the doctors to book with; after a
    refused form, with its messages (`errors`) and what was typed (`values`)."""
    ctx = context_of(request)
    now = scheduling_of(request).clock.now()
    async with ctx.db.reading() as uow:
        patient = await visible_patient(uow, principal, patient_id)
        clinics = await desk_clinics(uow, principal, P.APPOINTMENTS_BOOK)
        appointments = await appointments_between(
            uow, principal, start=now - timedelta(hours=12), end=now + UPCOMING, patient_id=patient_id
        )
        visits = await visits_of(uow, principal, appointments, clinics)
        relatives = await family_of(uow, principal, patient_id)
        doctors: list[DoctorRead] = []
        if q is not None:
            doctors, _ = await directory.search_doctors(
                uow,
                tenant_id=principal.tenant_id,
                query=q.strip() or None,
                specialty=None,
                clinic_id=None,
                page=PageParams(limit=50),
            )
    bookable = [d for d in doctors if d.clinic_ids is None or any(c in clinics for c in d.clinic_ids)]
    context = {
        "patient": patient,
        "visits": visits,
        "doctors": bookable,
        "q": q,
        "notice": notice_of(request),
        "errors": errors or {},
        "family": relatives,
        "relationships": [r.value for r in Relationship],
        "values": values or {},
        "movable": ("scheduled", "confirmed"),
        "cancellable": ("scheduled", "confirmed", "checked_in"),
    }
    return render(request, "desk/patient.html", context, status_code=status_code)


@router.get("/patients/{patient_id}")
async def patient_page(
    request: Request,
    principal: DeskPage,
    patient_id: uuid.UUID,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """A patient's upcoming appointments (move, cancel) and the doctors to book them with."""
    return await patient_view(request, principal, patient_id, q)


@router.post("/appointments/{appointment_id}/cancel")
async def cancel(
    request: Request, principal: DeskPage, appointment_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Cancel a patient's appointment, with the reason they gave (its slot may go to the waitlist)."""
    ctx = context_of(request)
    reason = text(form, "reason")
    try:
        data = validated(CancelIn, {"reason": reason or None}, prefix=f"reason-{appointment_id}.")
        async with ctx.db.transaction() as uow:
            cancelled = await booking.transition(
                uow,
                scheduling_of(request),
                principal,
                appointment_id=appointment_id,
                action=Action.CANCEL,
                reason=data.reason,
            )
    except ClinicflowError as refused:
        async with ctx.db.reading() as uow:  # whose page to show again (404 if not visible)
            patient_id = booking.read(await booking.get_visible(uow, principal, appointment_id)).patient_id
        errors = field_errors(refused)
        errors[f"reason-{appointment_id}"] = errors.pop(f"reason-{appointment_id}.reason", errors["form"])
        return await patient_view(
            request, principal, patient_id, None, errors=errors, status_code=refused.status
        )
    return RedirectResponse(f"/desk/patients/{cancelled.patient_id}?cancelled=1", status_code=303)
