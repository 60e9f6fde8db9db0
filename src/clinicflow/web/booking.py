"""The patient app's booking pages: find a doctor, a week of free slots, book, calendar file."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

from babel.dates import get_day_names
from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.errors import ClinicflowError, NotFound
from clinicflow.identity import directory
from clinicflow.identity.access import context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import booking
from clinicflow.scheduling.calendar import calendar_file
from clinicflow.scheduling.schemas import BookingIn
from clinicflow.tenancy import service as tenancy
from clinicflow.web.access import PatientPage
from clinicflow.web.forms import CheckedForm, text
from clinicflow.web.patient_views import N_, error_messages
from clinicflow.web.rendering import locale_of, render
from clinicflow.web.routing import PageRoute
from clinicflow.web.weeks import KINDS, free_week, scheduling_of, week_of

router = PrefixedRouter(prefix="/app", include_in_schema=False, route_class=PageRoute)
#: The parts of a day a waitlist entry may ask for (`DayPart` values), with their labels.
DAY_PARTS = (("morning", N_("Morning")), ("afternoon", N_("Afternoon")), ("evening", N_("Evening")))


@router.get("/doctors")
async def find_doctor(
    request: Request,
    principal: PatientPage,
    q: Annotated[str | None, Query(max_length=100)] = None,
    specialty: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Doctors by name or specialty."""
    ctx = context_of(request)
    async with ctx.db.reading() as uow:
        doctors, _ = await directory.search_doctors(
            uow,
            tenant_id=principal.tenant_id,
            query=q or None,
            specialty=specialty or None,
            clinic_id=None,
            page=PageParams(limit=50),
        )
    return render(
        request, "app/doctors.html", {"doctors": doctors, "q": q or "", "specialty": specialty or ""}
    )


async def _clinics_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, practises: frozenset[uuid.UUID | None]
) -> list[tuple[uuid.UUID, str]]:
    """(id, name) of the clinics a doctor works at (every clinic for a tenant-wide doctor)."""
    only = None if None in practises else frozenset(c for c in practises if c is not None)
    clinics, _ = await tenancy.list_clinics(uow, tenant_id=tenant_id, page=PageParams(limit=200), only=only)
    return [(clinic.id, clinic.name) for clinic in clinics]


async def doctor_week_page(
    request: Request,
    principal: TenantPrincipal,
    doctor_id: uuid.UUID,
    week: date | None,
    *,
    errors: dict[str, str] | None = None,
    join: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """A doctor's free slots for one week (Monday to Sunday, in each clinic's time zone), and
    the waitlist form for when nothing fits (`join`: its values and errors, when re-shown)."""
    ctx = context_of(request)
    now = scheduling_of(request).clock.now()
    monday = week_of(week or now.date())
    async with ctx.db.reading() as uow:
        practises = await directory.doctor_clinics(uow, tenant_id=principal.tenant_id, user_id=doctor_id)
        doctor = await directory.contact_of(uow, tenant_id=principal.tenant_id, user_id=doctor_id)
        if not practises or doctor is None:
            raise NotFound("Doctor not found")
        days = await free_week(
            uow, tenant_id=principal.tenant_id, doctor_id=doctor_id, clinic_id=None, monday=monday, now=now
        )
        clinics = await _clinics_of(uow, principal.tenant_id, practises)
    context = {
        "doctor": doctor,
        "days": days,
        "week": monday,
        "previous": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7),
        "errors": errors or {},
        "kinds": KINDS,
        "clinics": clinics,
        "join": join or {"values": {}, "errors": {}},
        "weekdays": weekday_names(request),
        "day_parts": DAY_PARTS,
    }
    return render(request, "app/doctor.html", context, status_code=status_code)


def weekday_names(request: Request) -> list[tuple[int, str]]:
    """(0 = Monday … 6, the day's name in the page's language)."""
    names = get_day_names("wide", locale=locale_of(request))
    return [(day, str(names[day]).capitalize()) for day in range(7)]


@router.get("/doctors/{doctor_id}")
async def doctor_week(
    request: Request, principal: PatientPage, doctor_id: uuid.UUID, week: date | None = None
) -> Response:
    """Pick a free slot in a week of the doctor's calendar, or join their waitlist."""
    return await doctor_week_page(request, principal, doctor_id, week)


@router.post("/appointments")
async def book(request: Request, principal: PatientPage, form: CheckedForm) -> Response:
    """Book the chosen slot; on success back to my appointments, else the week with the reason."""
    ctx = context_of(request)
    fields = ("doctor_id", "clinic_id", "starts_at", "kind")
    try:
        data = BookingIn.model_validate(
            {name: text(form, name) or None for name in fields if text(form, name)}
        )
    except ValueError:
        raise NotFound("That slot is not on offer") from None
    try:
        async with ctx.db.transaction() as uow:
            appointment = await booking.book(uow, scheduling_of(request), principal, data=data)
    except ClinicflowError as refused:
        if isinstance(refused, NotFound):
            raise
        return await doctor_week_page(
            request,
            principal,
            data.doctor_id,
            week_of(data.starts_at.date()),
            errors=error_messages(request, refused),
            status_code=refused.status,
        )
    return RedirectResponse(f"/app?booked={appointment.id}", status_code=303)


@router.get("/appointments/{appointment_id}.ics")
async def calendar_download(request: Request, principal: PatientPage, appointment_id: uuid.UUID) -> Response:
    """The appointment as an iCalendar file, for the phone's or computer's calendar."""
    ctx = context_of(request)
    async with ctx.db.reading() as uow:
        body = await calendar_file(uow, scheduling_of(request), principal, appointment_id)
    return Response(
        body,
        media_type="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="appointment-{appointment_id}.ics"'},
    )
