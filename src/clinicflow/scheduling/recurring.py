"""Appointments that come from other appointments: follow-ups and recurring series."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from clinicflow.audit import service as audit
from clinicflow.errors import ValidationFailed
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import policy
from clinicflow.scheduling.appointments.booking import book
from clinicflow.scheduling.appointments.reads import get_visible, read
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.errors import SeriesConflict, SlotUnavailable
from clinicflow.scheduling.models import AppointmentKind, AppointmentSeries, FollowUpPlan
from clinicflow.scheduling.plans import require_doctor_at
from clinicflow.scheduling.repository import AppointmentRepository
from clinicflow.scheduling.schemas import (
    AppointmentRead,
    BookingIn,
    FollowUpIn,
    FollowUpRead,
    SeriesIn,
    SeriesRead,
    SkippedRead,
)


async def create_follow_up(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    principal: TenantPrincipal,
    *,
    parent_id: uuid.UUID,
    data: FollowUpIn,
) -> FollowUpRead:
    """A follow-up of a visit: a plan due in a date window (booked later with
    `follow_up_plan_id`), or a booking now with the same doctor, linked to its parent.
    Needs `appointments:book` at the visit's clinic."""
    parent = await get_visible(uow, principal, parent_id)
    policy.require_follow_up_planner(principal, parent.clinic_id)
    if data.starts_at is not None:
        booking = BookingIn(
            doctor_id=parent.doctor_id,
            clinic_id=parent.clinic_id,
            starts_at=data.starts_at,
            patient_id=parent.patient_id,
            reason=data.notes,
            kind=AppointmentKind(parent.kind),
        )
        appointment = await book(uow, cfg, principal, data=booking, parent_id=parent.id)
        return FollowUpRead(parent_id=parent.id, status="booked", appointment=read(appointment))
    assert data.due_from is not None
    assert data.due_to is not None
    plan = FollowUpPlan(
        tenant_id=parent.tenant_id,
        parent_id=parent.id,
        patient_id=parent.patient_id,
        doctor_id=parent.doctor_id,
        clinic_id=parent.clinic_id,
        due_from=data.due_from,
        due_to=data.due_to,
        notes=data.notes,
    )
    AppointmentRepository(uow, parent.tenant_id).add_follow_up(plan)
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=parent.tenant_id,
        actor=principal.actor,
        action="follow_up.planned",
        subject_type="appointment",
        subject_id=parent.id,
        after={"plan_id": plan.id, "due_from": plan.due_from, "due_to": plan.due_to},
    )
    return FollowUpRead(
        id=plan.id, parent_id=parent.id, due_from=plan.due_from, due_to=plan.due_to, status="open"
    )


def series_instants(
    first: datetime, tz: ZoneInfo, *, weeks: int, count: int | None, until: datetime | None
) -> list[datetime]:
    """Occurrences at the same clinic-local wall time every `weeks` weeks (DST-safe), at most 52."""
    local = first.astimezone(tz)
    instants: list[datetime] = []
    for k in range(52):
        if count is not None and k >= count:
            break
        wall = (local.replace(tzinfo=None) + timedelta(weeks=weeks * k)).replace(tzinfo=tz)
        if until is not None and wall.date() > until.date():
            break
        instants.append(wall.astimezone(UTC))
    return instants


async def book_series(
    uow: UnitOfWork, cfg: SchedulingConfig, principal: TenantPrincipal, *, data: SeriesIn
) -> SeriesRead:
    """Book a weekly or fortnightly series. `all_or_nothing`: one unavailable occurrence refuses
    the whole series (409 SERIES_CONFLICT listing them, nothing booked). `skip_conflicts`:
    books what it can and lists what it skipped and why. Each occurrence is one savepoint."""
    tz = await require_doctor_at(
        uow, tenant_id=principal.tenant_id, doctor_id=data.doctor_id, clinic_id=data.clinic_id
    )
    patient_id = await policy.patient_for_booking(
        uow, principal, clinic_id=data.clinic_id, patient_id=data.patient_id
    )
    until = datetime.combine(data.until, datetime.min.time(), tzinfo=tz) if data.until else None
    instants = series_instants(
        data.first_starts_at, tz, weeks=1 if data.every == "week" else 2, count=data.occurrences, until=until
    )
    series = AppointmentSeries(
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        doctor_id=data.doctor_id,
        clinic_id=data.clinic_id,
        interval_weeks=1 if data.every == "week" else 2,
        mode=data.mode,
        created_by=principal.user_id,
    )
    await AppointmentRepository(uow, principal.tenant_id).add_series(series)
    booked: list[AppointmentRead] = []
    skipped: list[SkippedRead] = []
    for instant in instants:
        booking = BookingIn(
            doctor_id=data.doctor_id,
            clinic_id=data.clinic_id,
            starts_at=instant,
            patient_id=patient_id if principal.user_id != patient_id else None,
            reason=data.reason,
            kind=data.kind,
        )
        try:
            async with uow.session.begin_nested():
                appointment = await book(uow, cfg, principal, data=booking, series_id=series.id)
            booked.append(read(appointment))
        except (SlotUnavailable, ValidationFailed) as exc:
            skipped.append(SkippedRead(starts_at=instant, code=exc.code, detail=exc.detail))
    if data.mode == "all_or_nothing" and skipped:
        raise SeriesConflict(
            f"{len(skipped)} of {len(instants)} occurrences are not available; nothing was booked",
            skipped=[s.model_dump(mode="json") for s in skipped],
        )
    if not booked:
        raise SeriesConflict(
            "None of the occurrences is available", skipped=[s.model_dump(mode="json") for s in skipped]
        )
    return SeriesRead(series_id=series.id, booked=booked, skipped=skipped)
