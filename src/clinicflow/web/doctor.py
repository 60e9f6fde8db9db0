"""The doctor hub (`/doctor`): my day as a timeline, my week, my waitlist, follow-ups.

Every time is shown in the clinic's own zone. The day and the week are the
signed-in doctor's appointments (scheduling's visibility applies as in the API);
"today" is today at the doctor's first clinic. The availability planner is in
`doctor_planner.py`, the live queue in `doctor_queue.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.errors import ClinicflowError
from clinicflow.identity.access import context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import booking, recurring
from clinicflow.scheduling.schemas import AppointmentRead, FollowUpIn
from clinicflow.tenancy.schemas import ClinicRead
from clinicflow.waitlist import service as waitlist
from clinicflow.waitlist.schemas import EntryRead, EntryStatus
from clinicflow.web.access import DoctorPage
from clinicflow.web.forms import CheckedForm, text, validated
from clinicflow.web.rendering import field_errors, render
from clinicflow.web.routing import PageRoute
from clinicflow.web.weeks import (
    appointments_between,
    by_local_day,
    clinics_by_id,
    free_week,
    names_of,
    parse_day,
    scheduling_of,
    waitlist_of,
    week_days,
    week_of,
    week_window,
    zone_of,
)

router = PrefixedRouter(prefix="/doctor", include_in_schema=False, route_class=PageRoute)
#: How many waiting patients of one status the hub lists per clinic.
WAITLIST_LIMIT = 100
_NOTICES = {
    "plan": "The follow-up is planned: the patient can book it in its window.",
    "booked": "The follow-up is booked.",
}


@dataclass(frozen=True, slots=True)
class Visit:
    """One appointment on the timeline, on its clinic's clock."""

    appointment: AppointmentRead
    starts: datetime
    ends: datetime
    clinic: str
    patient: str


def practice_of(principal: TenantPrincipal) -> frozenset[uuid.UUID] | None:
    """The clinics where the principal practises as a doctor (None: every clinic)."""
    clinics = {g.clinic_id for g in principal.grants if g.role is Role.DOCTOR}
    return None if None in clinics else frozenset(c for c in clinics if c is not None)


async def my_clinics(uow: UnitOfWork, principal: TenantPrincipal) -> dict[uuid.UUID, ClinicRead]:
    """The live clinics the doctor practises at, oldest first."""
    return await clinics_by_id(uow, tenant_id=principal.tenant_id, only=practice_of(principal))


@router.get("")
async def my_day(request: Request, principal: DoctorPage, day: str | None = None) -> Response:
    """One day of my appointments as a timeline, with the days of its week to move around."""
    ctx = context_of(request)
    chosen = parse_day(day, field="day")
    now = scheduling_of(request).clock.now()
    async with ctx.db.reading() as uow:
        clinics = await my_clinics(uow, principal)
        home = zone_of(next(iter(clinics.values()), None))
        today = now.astimezone(home).date()
        shown = chosen or today
        monday = week_of(shown)
        start, end = week_window(monday)
        appointments = await appointments_between(
            uow, principal, start=start, end=end, doctor_id=principal.user_id
        )
        missing = {a.clinic_id for a in appointments} - set(clinics)
        if missing:
            clinics |= await clinics_by_id(uow, tenant_id=principal.tenant_id, only=missing)
        week = dict(by_local_day(appointments, clinics, monday))
        entries = week.get(shown, [])
        names = await names_of(
            uow, tenant_id=principal.tenant_id, user_ids=[a.patient_id for a, _, _ in entries]
        )
    timeline = [
        Visit(a, local, a.ends_at.astimezone(local.tzinfo), clinic, names.get(a.patient_id, ""))
        for a, local, clinic in entries
    ]
    now_at = None
    if shown == today:  # where "now" falls in the day's timeline
        now_at = sum(1 for item in timeline if item.starts <= now)
    context = {
        "shown": shown,
        "today": today,
        "timeline": timeline,
        "now_at": now_at,
        "now_local": now.astimezone(home),
        "days": [(d, len(week.get(d, []))) for d in week_days(monday)],
        "previous_week": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7),
    }
    return render(request, "doctor/day.html", context)


async def _queue(
    uow: UnitOfWork, request: Request, principal: TenantPrincipal, clinic_id: uuid.UUID, status: EntryStatus
) -> list[EntryRead]:
    items, _ = await waitlist.list_queue(
        uow,
        waitlist_of(request),
        principal,
        clinic_id=clinic_id,
        doctor_id=principal.user_id,
        status=status,
        limit=WAITLIST_LIMIT,
        cursor=None,
    )
    return items


@router.get("/waitlist")
async def my_waitlist(request: Request, principal: DoctorPage) -> Response:
    """Patients waiting for me (and for any doctor of my clinics), in priority order, per clinic."""
    ctx = context_of(request)
    async with ctx.db.reading() as uow:
        clinics = await my_clinics(uow, principal)
        queues = []
        for clinic in clinics.values():
            active = await _queue(uow, request, principal, clinic.id, EntryStatus.ACTIVE)
            invited = await _queue(uow, request, principal, clinic.id, EntryStatus.INVITED)
            queues.append((clinic, active, invited))
        patients = [e.patient_id for _, active, invited in queues for e in (*active, *invited)]
        names = await names_of(uow, tenant_id=principal.tenant_id, user_ids=patients)
    return render(request, "doctor/waitlist.html", {"queues": queues, "names": names})


async def _follow_up_page(
    request: Request,
    principal: TenantPrincipal,
    appointment_id: uuid.UUID,
    week: date | None,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """A visit, with the doctor's free times at its clinic for booking a follow-up, and a form
    for planning one in a window of days instead."""
    ctx = context_of(request)
    now = scheduling_of(request).clock.now()
    async with ctx.db.reading() as uow:
        visit = booking.read(await booking.get_visible(uow, principal, appointment_id))
        clinics = await clinics_by_id(uow, tenant_id=principal.tenant_id, only={visit.clinic_id})
        clinic = clinics.get(visit.clinic_id)
        zone = zone_of(clinic)
        monday = week_of(week or (max(now, visit.starts_at) + timedelta(days=1)).astimezone(zone).date())
        days = await free_week(
            uow,
            tenant_id=principal.tenant_id,
            doctor_id=visit.doctor_id,
            clinic_id=visit.clinic_id,
            monday=monday,
            now=now,
        )
        names = await names_of(uow, tenant_id=principal.tenant_id, user_ids=[visit.patient_id])
    context: dict[str, Any] = {
        "visit": visit,
        "starts": visit.starts_at.astimezone(zone),
        "clinic": clinic,
        "patient": names.get(visit.patient_id, ""),
        "days": days,
        "week": monday,
        "previous": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7),
        "values": values or {},
        "errors": errors or {},
        "notice": _NOTICES.get(request.query_params.get("followed", "")),
    }
    return render(request, "doctor/visit.html", context, status_code=status_code)


@router.get("/appointments/{appointment_id}")
async def visit(
    request: Request, principal: DoctorPage, appointment_id: uuid.UUID, week: str | None = None
) -> Response:
    """A visit and its follow-up: book a time now, or plan a window for later."""
    return await _follow_up_page(request, principal, appointment_id, parse_day(week, field="week"))


def _follow_up_values(form: CheckedForm) -> dict[str, str]:
    return {name: text(form, name) for name in ("due_from", "due_to", "starts_at", "notes")}


@router.post("/appointments/{appointment_id}/follow-ups")
async def follow_up(
    request: Request, principal: DoctorPage, appointment_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Plan (due_from, due_to) or book (starts_at) a follow-up of the visit."""
    ctx = context_of(request)
    values = _follow_up_values(form)
    try:
        data = validated(FollowUpIn, {k: v for k, v in values.items() if v})
        async with ctx.db.transaction() as uow:
            made = await recurring.create_follow_up(
                uow, scheduling_of(request), principal, parent_id=appointment_id, data=data
            )
    except ClinicflowError as refused:
        errors = field_errors(refused)
        return await _follow_up_page(
            request, principal, appointment_id, None, values=values, errors=errors, status_code=refused.status
        )
    outcome = "booked" if made.appointment is not None else "plan"
    return RedirectResponse(f"/doctor/appointments/{appointment_id}?followed={outcome}", status_code=303)
