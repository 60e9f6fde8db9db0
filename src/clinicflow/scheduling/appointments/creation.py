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
from clinicflow.platform import idempotency
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.ids import uuid7
from clinicflow.scheduling import repository
from clinicflow.scheduling.availability import Slot
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.errors import BeyondHorizon, InsideMinimumNotice, InThePast, OutsideAvailability
from clinicflow.scheduling.events import AppointmentEvent, Event, queue_emit
from clinicflow.scheduling.models import Appointment, AppointmentKind
from clinicflow.scheduling.schedules import Snapshot, candidate_slots, snapshot_of
from clinicflow.scheduling.schemas import AppointmentRead
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
    return schedule.located(offered[0].slot)


@dataclass(frozen=True, slots=True)
class Checked:
    """A bookable slot, and the transaction's time (a new row's `created_at`)."""

    slot: Slot
    now: datetime


@dataclass(frozen=True, slots=True)
class SlotAsk:
    """A time asked for: the slot of the doctor's plan at the clinic starting then."""

    tenant_id: uuid.UUID
    doctor_id: uuid.UUID
    clinic_id: uuid.UUID
    starts_at: datetime


async def check_slot(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    ask: SlotAsk,
    *,
    enforce_notice: bool = True,
    claim: idempotency.Key | None = None,
) -> Checked | idempotency.Replay:
    """The slot asked for, or the 422 saying why not: one round trip, after BEGIN. With
    `claim`, the idempotency key is claimed in the same round trip, and an answered key's
    replay is returned before anything is checked."""
    params = repository.schedule_params(
        tenant_id=ask.tenant_id,
        doctor_id=ask.doctor_id,
        clinic_id=ask.clinic_id,
        start=ask.starts_at,
        end=ask.starts_at + timedelta(microseconds=1),
        with_busy=False,
    )
    async with uow.pipeline() as connection:
        claiming = await idempotency.queue_claim(connection, claim) if claim is not None else None
        cursor = await repository.queue_schedule(connection, params)
    if claim is not None and claiming is not None:
        replay = await idempotency.claimed(connection, claim, claiming)
        if replay is not None:
            return replay
    row = await cursor.fetchone()
    assert row is not None  # one row: the statement is an aggregate
    snapshot = snapshot_of(row)
    now = cfg.clock.now()
    slot = slot_in(
        snapshot, clinic_id=ask.clinic_id, starts_at=ask.starts_at, now=now, enforce_notice=enforce_notice
    )
    return Checked(slot, snapshot.now)


async def bookable_slot(
    uow: UnitOfWork, cfg: SchedulingConfig, ask: SlotAsk, *, enforce_notice: bool = True
) -> Checked:
    """`check_slot` without an idempotency key: the slot, or the 422 saying why not."""
    checked = await check_slot(uow, cfg, ask, enforce_notice=enforce_notice)
    assert isinstance(checked, Checked)
    return checked


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


def new_appointment(new: NewAppointment, checked: Checked) -> Appointment:
    """The row, not yet written. A one-seat appointment is its own slot group; a group seat's
    group is the session's, learnt when it is written."""
    appointment_id = uuid7()
    slot = checked.slot
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
        location_id=slot.location_id,
        created_at=checked.now,
        updated_at=checked.now,
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
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "location_id": a.location_id,
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
    answer: idempotency.Key | None = None,
) -> Appointment:
    """Write the appointment, its audit event `action`, (if any) its domain event's job and
    the idempotency key's answer (201 and the appointment) in one round trip; the row's
    slot group comes back with RETURNING."""
    async with uow.pipeline() as connection:
        inserted = await repository.queue_appointment(connection, _values(appointment), capacity=capacity)
        await audit.queue_change(connection, actor, action, appointment, after=after)
        if event is not None:
            await queue_emit(connection, appointment_event(event, appointment))
        if answer is not None:
            body = AppointmentRead.model_validate(appointment, from_attributes=True).model_dump(mode="json")
            await idempotency.queue_answer(connection, answer, status_code=201, body=body)
    row = await inserted.fetchone()
    assert row is not None
    appointment.slot_group_id = row["slot_group_id"]
    return appointment
