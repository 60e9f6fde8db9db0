"""Holding a freed slot for a waitlist offer, and settling the hold.

A hold is an appointment in status `held`: it blocks the doctor's time through
the same exclusion constraint as any booking.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from clinicflow.audit import service as audit
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling.appointments.creation import (
    NewAppointment,
    SlotAsk,
    appointment_event,
    bookable_slot,
    new_appointment,
    write,
)
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.events import Event, emit
from clinicflow.scheduling.models import Appointment
from clinicflow.scheduling.repository import AppointmentRepository
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
    """Keep an offered slot for a waitlist offer: an appointment in status `held`, audited
    (`appointment.held`), no domain event.

    It blocks the doctor's time through the same exclusion constraint as any
    booking, so while it is held nobody else can book it, and if someone booked
    it first this raises SlotUnavailable. Minimum notice and horizon do not apply
    (a freed slot is offered however soon it is).
    """
    ask = SlotAsk(tenant_id, doctor_id, clinic_id, starts_at)
    checked = await bookable_slot(uow, cfg, ask, enforce_notice=False)
    new = NewAppointment(
        tenant_id=tenant_id,
        clinic_id=clinic_id,
        doctor_id=doctor_id,
        patient_id=patient_id,
        status=Status.HELD,
        reason="Waitlist offer",
    )
    appointment = new_appointment(new, checked)
    after = {"doctor_id": doctor_id, "patient_id": patient_id, "starts_at": appointment.starts_at}
    return await write(
        uow,
        appointment,
        capacity=checked.slot.capacity,
        actor=actor,
        action="appointment.held",
        after=after,
        event=None,
    )


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
    repo = AppointmentRepository(uow, tenant_id)
    appointment = await repo.get(appointment_id, for_update=True)
    if appointment is None or appointment.status != Status.HELD.value:
        return None
    target = next_status(Status.HELD, Action.ACCEPT_OFFER if accept else Action.RELEASE)
    appointment.status = target.value
    if not accept:
        appointment.cancelled_at = now
        appointment.cancel_reason = reason
        await repo.release_seat(appointment, appointment.slot_group_id)
    await uow.flush()
    await audit.record_change(
        uow,
        actor,
        "appointment.booked" if accept else "appointment.released",
        appointment,
        before={"status": Status.HELD.value},
        after={"status": target.value},
        details={"via": "waitlist", **({"reason": reason} if reason else {})},
    )
    if accept:
        await emit(uow, appointment_event(Event.BOOKED, appointment, via="waitlist"))
    return appointment
