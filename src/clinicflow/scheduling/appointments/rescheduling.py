"""Moving an appointment to another offered slot, atomically."""

from __future__ import annotations

import uuid

from clinicflow.audit import service as audit
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling.appointments.creation import SlotAsk, appointment_event, bookable_slot
from clinicflow.scheduling.appointments.reads import get_visible
from clinicflow.scheduling.appointments.transitions import check_change
from clinicflow.scheduling.availability import Slot
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.events import Event, emit
from clinicflow.scheduling.models import Appointment
from clinicflow.scheduling.repository import AppointmentRepository
from clinicflow.scheduling.schemas import RescheduleIn
from clinicflow.scheduling.state import Action, Status, next_status


async def _move(uow: UnitOfWork, appointment: Appointment, doctor_id: uuid.UUID, slot: Slot) -> None:
    """Take the new time (and seat, for a group session) in one UPDATE, then give the old seat back."""
    repo = AppointmentRepository(uow, appointment.tenant_id)
    old_group = appointment.slot_group_id
    new_group = appointment.id
    if slot.capacity > 1:
        new_group = await repo.take_seat(
            doctor_id=doctor_id,
            clinic_id=appointment.clinic_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            capacity=slot.capacity,
        )
    appointment.doctor_id = doctor_id
    appointment.starts_at = slot.starts_at
    appointment.ends_at = slot.ends_at
    appointment.blocked_from = slot.blocked_from
    appointment.blocked_until = slot.blocked_until
    appointment.slot_group_id = new_group
    appointment.location_id = slot.location_id
    await uow.flush()  # the exclusion constraint checks the new time here
    await repo.release_seat(appointment, old_group)


async def reschedule(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    principal: TenantPrincipal,
    *,
    appointment_id: uuid.UUID,
    data: RescheduleIn,
) -> Appointment:
    """Move an appointment to another offered slot (optionally another doctor of the clinic).

    Atomic: one UPDATE takes the new time and releases the old one, so the patient is
    never without a booking and the exclusion constraint checks the new time against
    every other appointment (a taken time is 409 SLOT_UNAVAILABLE and nothing changes).
    For group sessions the new seat is taken before the old seat is given back. Audited
    (`appointment.rescheduled`); emits `appointment.rescheduled` with the previous time.
    """
    appointment = await get_visible(uow, principal, appointment_id, lock=True)
    current = Status(appointment.status)
    target = next_status(current, Action.RESCHEDULE)
    await check_change(uow, cfg, principal, appointment)
    doctor_id = data.doctor_id or appointment.doctor_id
    ask = SlotAsk(appointment.tenant_id, doctor_id, appointment.clinic_id, data.starts_at)
    checked = await bookable_slot(uow, cfg, ask)
    before = {"starts_at": appointment.starts_at, "doctor_id": appointment.doctor_id, "status": current.value}
    old = {
        "previous_starts_at": appointment.starts_at,
        "previous_ends_at": appointment.ends_at,
        "previous_doctor_id": appointment.doctor_id,
    }
    appointment.status = target.value
    await _move(uow, appointment, doctor_id, checked.slot)
    after = {"starts_at": appointment.starts_at, "doctor_id": doctor_id, "status": target.value}
    await audit.record_change(
        uow, principal.actor, "appointment.rescheduled", appointment, before=before, after=after
    )
    await emit(uow, appointment_event(Event.RESCHEDULED, appointment, **old))
    await uow.session.refresh(appointment, ["updated_at"])
    return appointment
