"""The front desk books and moves appointments for a patient, from a week of free times.

Booking: the patient's page leads to a doctor's week (only the times at clinics
where the desk may book); a time is one button per kind of visit. Moving: the
appointment's doctor's week at its clinic; the move is atomic (scheduling's
`reschedule`), so a time taken meanwhile leaves the old one booked.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.errors import ClinicflowError, NotFound
from clinicflow.identity import directory
from clinicflow.identity.access import context_of
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import booking
from clinicflow.scheduling.schemas import BookingIn, RescheduleIn, SlotRead
from clinicflow.web.access import DeskPage
from clinicflow.web.desk import visible_patient
from clinicflow.web.forms import CheckedForm, text, validated
from clinicflow.web.rendering import field_errors, render
from clinicflow.web.routing import PageRoute
from clinicflow.web.weeks import (
    KINDS,
    clinics_by_id,
    day_in,
    free_week,
    parse_day,
    scheduling_of,
    week_of,
    zone_of,
)

router = PrefixedRouter(prefix="/desk", include_in_schema=False, route_class=PageRoute)


def _week_nav(monday: date) -> dict[str, date]:
    return {"week": monday, "previous": monday - timedelta(days=7), "next_week": monday + timedelta(days=7)}


async def _booking_week(
    request: Request,
    principal: TenantPrincipal,
    patient_id: uuid.UUID,
    doctor_id: uuid.UUID,
    week: date | None,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """A doctor's free times in a week, to book one for the patient."""
    ctx = context_of(request)
    now = scheduling_of(request).clock.now()
    monday = week_of(week or now.date())

    def bookable(slot: SlotRead) -> bool:
        return principal.can(Permission.APPOINTMENTS_BOOK, clinic_id=slot.clinic_id)

    async with ctx.db.reading() as uow:
        patient = await visible_patient(uow, principal, patient_id)
        practises = await directory.doctor_clinics(uow, tenant_id=principal.tenant_id, user_id=doctor_id)
        doctor = await directory.contact_of(uow, tenant_id=principal.tenant_id, user_id=doctor_id)
        if not practises or doctor is None:
            raise NotFound("Doctor not found")
        days = await free_week(
            uow,
            tenant_id=principal.tenant_id,
            doctor_id=doctor_id,
            clinic_id=None,
            monday=monday,
            now=now,
            where=bookable,
        )
    context: dict[str, Any] = {
        "patient": patient,
        "doctor_name": doctor.full_name,
        "days": days,
        "action": f"/desk/patients/{patient_id}/appointments",
        "hidden": {"doctor_id": str(doctor_id)},
        "kinds": KINDS,
        "errors": errors or {},
        "moving": None,
        **_week_nav(monday),
    }
    return render(request, "desk/week.html", context, status_code=status_code)


@router.get("/patients/{patient_id}/doctors/{doctor_id}")
async def booking_week(
    request: Request,
    principal: DeskPage,
    patient_id: uuid.UUID,
    doctor_id: uuid.UUID,
    week: str | None = None,
) -> Response:
    """Pick a time with this doctor for the patient."""
    return await _booking_week(request, principal, patient_id, doctor_id, parse_day(week, field="week"))


@router.post("/patients/{patient_id}/appointments")
async def book(request: Request, principal: DeskPage, patient_id: uuid.UUID, form: CheckedForm) -> Response:
    """Book the chosen time for the patient; on success back to their page, else the week with why."""
    ctx = context_of(request)
    fields = ("doctor_id", "clinic_id", "starts_at", "kind")
    values = {name: text(form, name) for name in fields if text(form, name)}
    async with ctx.db.reading() as uow:
        await visible_patient(uow, principal, patient_id)  # another tenant's patient: 404
    try:
        data = validated(BookingIn, {**values, "patient_id": str(patient_id)})
        async with ctx.db.transaction() as uow:
            await booking.book(uow, scheduling_of(request), principal, data=data)
    except ClinicflowError as refused:
        try:
            doctor_id = uuid.UUID(values.get("doctor_id", ""))
        except ValueError:
            raise refused from None
        week = day_in(values.get("starts_at", ""))
        return await _booking_week(
            request,
            principal,
            patient_id,
            doctor_id,
            week,
            errors=field_errors(refused),
            status_code=refused.status,
        )
    return RedirectResponse(f"/desk/patients/{patient_id}?booked=1", status_code=303)


async def _moving_week(
    request: Request,
    principal: TenantPrincipal,
    appointment_id: uuid.UUID,
    week: date | None,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The free times of the appointment's doctor at its clinic, to move it to one."""
    ctx = context_of(request)
    now = scheduling_of(request).clock.now()
    async with ctx.db.reading() as uow:
        moving = booking.read(await booking.get_visible(uow, principal, appointment_id))
        patient = await visible_patient(uow, principal, moving.patient_id)
        doctor = await directory.contact_of(uow, tenant_id=principal.tenant_id, user_id=moving.doctor_id)
        clinics = await clinics_by_id(uow, tenant_id=principal.tenant_id, only={moving.clinic_id})
        zone = zone_of(clinics.get(moving.clinic_id))
        monday = week_of(week or moving.starts_at.astimezone(zone).date())
        days = await free_week(
            uow,
            tenant_id=principal.tenant_id,
            doctor_id=moving.doctor_id,
            clinic_id=moving.clinic_id,
            monday=monday,
            now=now,
        )
    context: dict[str, Any] = {
        "patient": patient,
        "doctor_name": doctor.full_name if doctor else "",
        "days": days,
        "action": f"/desk/appointments/{appointment_id}/reschedule",
        "hidden": {},
        "kinds": (),
        "errors": errors or {},
        "moving": {"appointment": moving, "starts": moving.starts_at.astimezone(zone)},
        **_week_nav(monday),
    }
    return render(request, "desk/week.html", context, status_code=status_code)


@router.get("/appointments/{appointment_id}/reschedule")
async def moving_week(
    request: Request, principal: DeskPage, appointment_id: uuid.UUID, week: str | None = None
) -> Response:
    """Pick the new time of a patient's appointment."""
    return await _moving_week(request, principal, appointment_id, parse_day(week, field="week"))


@router.post("/appointments/{appointment_id}/reschedule")
async def reschedule(
    request: Request, principal: DeskPage, appointment_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Move the appointment to the chosen time (atomically); else the week with why."""
    ctx = context_of(request)
    starts_at = text(form, "starts_at")
    try:
        data = validated(RescheduleIn, {"starts_at": starts_at} if starts_at else {})
        async with ctx.db.transaction() as uow:
            moved = await booking.reschedule(
                uow, scheduling_of(request), principal, appointment_id=appointment_id, data=data
            )
    except ClinicflowError as refused:
        week = day_in(starts_at)
        return await _moving_week(
            request, principal, appointment_id, week, errors=field_errors(refused), status_code=refused.status
        )
    return RedirectResponse(f"/desk/patients/{moved.patient_id}?rescheduled=1", status_code=303)
