"""Moving an appointment through the visit: confirm, check in, start, complete, cancel, no-show."""

from __future__ import annotations

import uuid
from datetime import timedelta

from clinicflow.audit import service as audit
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import policy
from clinicflow.scheduling.appointments.creation import appointment_event
from clinicflow.scheduling.appointments.reads import get_visible
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.events import Event, emit
from clinicflow.scheduling.models import Appointment
from clinicflow.scheduling.repository import AppointmentRepository
from clinicflow.scheduling.state import Action, Status, next_status

DEFAULT_CANCEL_CUTOFF = timedelta(minutes=1440)

EVENTS = {
    Action.CONFIRM: Event.CONFIRMED,
    Action.CHECK_IN: Event.CHECKED_IN,
    Action.START: Event.STARTED,
    Action.COMPLETE: Event.COMPLETED,
    Action.CANCEL: Event.CANCELLED,
    Action.NO_SHOW: Event.NO_SHOW,
}


async def check_change(
    uow: UnitOfWork, cfg: SchedulingConfig, principal: TenantPrincipal, appointment: Appointment
) -> bool:
    """`policy.check_change` with the clinic's patient cut-off (default 24 hours): may the
    principal cancel or move it now? True for staff overriding the cut-off."""
    minutes = await AppointmentRepository(uow, appointment.tenant_id).cancel_cutoff_minutes(
        appointment.clinic_id
    )
    cutoff = timedelta(minutes=minutes) if minutes is not None else DEFAULT_CANCEL_CUTOFF
    return policy.check_change(principal, appointment, cutoff=cutoff, now=cfg.clock.now())


async def _cancel(
    uow: UnitOfWork, cfg: SchedulingConfig, appointment: Appointment, reason: str | None
) -> None:
    appointment.cancelled_at = cfg.clock.now()
    appointment.cancel_reason = reason
    await AppointmentRepository(uow, appointment.tenant_id).release_seat(
        appointment, appointment.slot_group_id
    )


async def transition(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    principal: TenantPrincipal,
    *,
    appointment_id: uuid.UUID,
    action: Action,
    reason: str | None = None,
) -> Appointment:
    """Move an appointment along the transition table (409 INVALID_TRANSITION otherwise).

    The row is locked. Staff with `appointments:manage` at the clinic may do anything the
    table allows, cancelling even past the patient cut-off (audited as an override).
    Patients may confirm and cancel their own, cancelling only before the clinic's cut-off.
    Audited as `appointment.<action>`; emits the matching event.
    """
    appointment = await get_visible(uow, principal, appointment_id, lock=True)
    current = Status(appointment.status)
    target = next_status(current, action)
    policy.check_transition(principal, appointment, action)
    override = action is Action.CANCEL and await check_change(uow, cfg, principal, appointment)
    appointment.status = target.value
    if target is Status.CANCELLED:
        await _cancel(uow, cfg, appointment, reason)
    await uow.flush()
    details: dict[str, object] = {"reason": reason} if reason else {}
    if override:
        details["cutoff_override"] = True
    await audit.record_change(
        uow,
        principal.actor,
        f"appointment.{action.value}",
        appointment,
        before={"status": current.value},
        after={"status": target.value},
        details=details,
    )
    await emit(uow, appointment_event(EVENTS[action], appointment, **details))
    await uow.session.refresh(appointment, ["updated_at"])
    return appointment
