"""How an appointment comes to exist, written once for bookings and waitlist holds.

Two round trips: one statement reads all the rules of a bookable time (the doctor at
the clinic, the clinic's zone, the plan, its rules, time off), and one pipeline
writes the row (`INSERT ... RETURNING`, with its group seat), its audit event and
its domain event's job. The database refuses a double booking (exclusion
constraint) and a seat past capacity (check constraint): both are 409
SLOT_UNAVAILABLE, raised when the write's round trip returns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.ids import uuid7
from clinicflow.scheduling import repository
from clinicflow.scheduling.availability import Slot
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.errors import BeyondHorizon, InsideMinimumNotice, InThePast, OutsideAvailability
from clinicflow.scheduling.events import AppointmentEvent, Event, queue_emit
from clinicflow.scheduling.models import Appointment, AppointmentKind
from clinicflow.scheduling.schedules import Snapshot, candidate_slots, snapshot_of
from clinicflow.scheduling.state import Status


def appointment_event(event: Event, a: Appointment, **details: object) -> AppointmentEvent:
    return AppointmentEvent(
        event=event,
        tenant_id=a.tenant_id,
        appointment_id=a.id,
        clinic_id=a.clinic_id,
        doctor_id=a.doctor_id,
        patient_id=a.patient_id,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        details=dict(details),
    )


def slot_in(
    snapshot: Snapshot, *, clinic_id: uuid.UUID, starts_at: datetime, now: datetime, enforce_notice: bool
) -> Slot:
    """The offered slot starting exactly at `starts_at`, or the specific 422 saying why not.

    `enforce_notice=False` (waitlist offers of a freed slot) skips minimum notice and horizon.
    """
    snapshot.require_doctor_at(clinic_id)
    starts_at = starts_at.astimezone(UTC)
    field = [FieldProblem(field="starts_at", message="not bookable")]
    if starts_at <= now:
        raise InThePast(errors=field)
    schedule = snapshot.schedule_at(clinic_id)
    if schedule is None:
        raise OutsideAvailability("The doctor has no availability at this clinic", errors=field)
    if enforce_notice and starts_at < now + timedelta(minutes=schedule.min_notice_minutes):
        raise InsideMinimumNotice(f"Book at least {schedule.min_notice_minutes} minutes ahead", errors=field)
    if enforce_notice and starts_at > now + timedelta(days=schedule.horizon_days):
        raise BeyondHorizon(f"Book at most {schedule.horizon_days} days ahead", errors=field)
    offered = candidate_slots(schedule, starts_at, starts_at + timedelta(microseconds=1), now=None)
    if not offered:
        raise OutsideAvailability(errors=field)
    return offered[0].slot


async def bookable_slot(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    clinic_id: uuid.UUID,
    starts_at: datetime,
    enforce_notice: bool = True,
) -> Slot:
    """The slot of the doctor's plan at the clinic starting at `starts_at` (422s say why not):
    one round trip, which also begins the transaction if it has not begun."""
    params = repository.schedule_params(
        tenant_id=tenant_id,
        doctor_id=doctor_id,
        clinic_id=clinic_id,
        start=starts_at,
        end=starts_at + timedelta(microseconds=1),
        with_busy=False,
    )
    async with repository.pipeline(uow) as connection:
        cursor = await repository.queue_schedule(connection, params)
    row = await cursor.fetchone()
    assert row is not None  # one row: the statement is an aggregate
    snapshot = snapshot_of(row)
    return slot_in(
        snapshot, clinic_id=clinic_id, starts_at=starts_at, now=cfg.clock.now(), enforce_notice=enforce_notice
    )


@dataclass(frozen=True, slots=True)
class NewAppointment:
    """What an appointment is, besides its slot."""

    tenant_id: uuid.UUID
    clinic_id: uuid.UUID
    doctor_id: uuid.UUID
    patient_id: uuid.UUID
    status: Status
    kind: AppointmentKind = AppointmentKind.IN_PERSON
    reason: str | None = None
    parent_id: uuid.UUID | None = None
    series_id: uuid.UUID | None = None
    created_by: uuid.UUID | None = None


def new_appointment(new: NewAppointment, slot: Slot) -> Appointment:
    """The row, not yet written. A one-seat appointment is its own slot group; a group seat's
    group is the session's, learnt when it is written."""
    appointment_id = uuid7()
    return Appointment(
        id=appointment_id,
        tenant_id=new.tenant_id,
        clinic_id=new.clinic_id,
        doctor_id=new.doctor_id,
        patient_id=new.patient_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        blocked_from=slot.blocked_from,
        blocked_until=slot.blocked_until,
        slot_group_id=appointment_id,
        status=new.status.value,
        kind=new.kind.value,
        reason=new.reason,
        video_url=None,
        parent_id=new.parent_id,
        series_id=new.series_id,
        created_by=new.created_by,
        cancelled_at=None,
        cancel_reason=None,
    )


def _values(a: Appointment) -> dict[str, Any]:
    return {
        "id": a.id,
        "tenant_id": a.tenant_id,
        "clinic_id": a.clinic_id,
        "doctor_id": a.doctor_id,
        "patient_id": a.patient_id,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "blocked_from": a.blocked_from,
        "blocked_until": a.blocked_until,
        "slot_group_id": a.slot_group_id,
        "status": a.status,
        "kind": a.kind,
        "reason": a.reason,
        "video_url": a.video_url,
        "parent_id": a.parent_id,
        "series_id": a.series_id,
        "created_by": a.created_by,
    }


async def write(
    uow: UnitOfWork,
    appointment: Appointment,
    *,
    capacity: int,
    actor: audit.Actor,
    action: str,
    after: dict[str, Any],
    event: Event | None,
) -> Appointment:
    """Write the appointment, its audit event `action` and (if any) its domain event's job in
    one round trip; the row's group and timestamps come back with RETURNING."""
    async with repository.pipeline(uow) as connection:
        inserted = await repository.queue_insert(connection, _values(appointment), capacity=capacity)
        await audit.queue_change(connection, actor, action, appointment, after=after)
        if event is not None:
            await queue_emit(connection, appointment_event(event, appointment))
    row = await inserted.fetchone()
    assert row is not None
    appointment.slot_group_id = row["slot_group_id"]
    appointment.created_at = row["created_at"]
    appointment.updated_at = row["updated_at"]
    return appointment
