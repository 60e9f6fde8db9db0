"""Holding a freed slot for a waitlist offer, and settling the hold.

A hold is an appointment in status `held`: it blocks the doctor's time through
the same exclusion constraint as any booking.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from clinicflow.audit import service as audit
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.ids import uuid7
from clinicflow.scheduling.booking import (
    SchedulingConfig,
    _event,
    _release_seat,
    _take_seat,
    _validated_slot,
)
from clinicflow.scheduling.events import Event, emit
from clinicflow.scheduling.models import Appointment, AppointmentKind
from clinicflow.scheduling.state import Action, Status, next_status


async def hold_slot(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    clinic_id: uuid.UUID,
    starts_at: datetime,
    patient_id: uuid.UUID,
    actor: audit.Actor,
) -> Appointment:
    """Keep an offered slot for a waitlist offer: an appointment in status `held`.

    It blocks the doctor's time through the same exclusion constraint as any
    booking, so while it is held nobody else can book it, and if someone booked
    it first this raises SlotUnavailable. Minimum notice and horizon do not apply
    (a freed slot is offered however soon it is).
    """
    slot = await _validated_slot(
        uow,
        cfg,
        tenant_id=tenant_id,
        doctor_id=doctor_id,
        clinic_id=clinic_id,
        starts_at=starts_at,
        enforce_notice=False,
    )
    group_id = await _take_seat(uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=clinic_id, slot=slot)
    appointment_id = uuid7() if slot.capacity > 1 else group_id
    appointment = Appointment(
        id=appointment_id,
        tenant_id=tenant_id,
        clinic_id=clinic_id,
        doctor_id=doctor_id,
        patient_id=patient_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        blocked_from=slot.blocked_from,
        blocked_until=slot.blocked_until,
        slot_group_id=group_id,
        status=Status.HELD.value,
        kind=AppointmentKind.IN_PERSON.value,
        reason="Waitlist offer",
    )
    uow.session.add(appointment)
    await uow.flush()
    await uow.session.refresh(appointment, ["created_at", "updated_at"])
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action="appointment.held",
        subject_type="appointment",
        subject_id=appointment.id,
        after={"doctor_id": doctor_id, "patient_id": patient_id, "starts_at": appointment.starts_at},
    )
    return appointment


async def settle_hold(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    appointment_id: uuid.UUID,
    accept: bool,
    actor: audit.Actor,
    now: datetime,
    reason: str | None = None,
) -> Appointment | None:
    """Turn a held slot into a booking (accept) or free it (release). Releasing emits no
    `appointment.cancelled`: the waitlist offers the slot on by itself. None if the hold
    is gone (already settled)."""
    appointment = (
        await uow.session.execute(
            select(Appointment)
            .where(Appointment.tenant_id == tenant_id, Appointment.id == appointment_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if appointment is None or appointment.status != Status.HELD.value:
        return None
    target = next_status(Status.HELD, Action.ACCEPT_OFFER if accept else Action.RELEASE)
    appointment.status = target.value
    if not accept:
        appointment.cancelled_at = now
        appointment.cancel_reason = reason
        await _release_seat(
            uow, tenant_id=tenant_id, appointment_id=appointment.id, group_id=appointment.slot_group_id
        )
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action="appointment.booked" if accept else "appointment.released",
        subject_type="appointment",
        subject_id=appointment.id,
        before={"status": Status.HELD.value},
        after={"status": target.value},
        details={"via": "waitlist", **({"reason": reason} if reason else {})},
    )
    if accept:
        await emit(uow, _event(Event.BOOKED, appointment, via="waitlist"))
    return appointment
