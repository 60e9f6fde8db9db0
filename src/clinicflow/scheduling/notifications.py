"""The built-in event handler: tell the patient, through messaging (the outbox for now)."""

from __future__ import annotations

from clinicflow.identity import directory
from clinicflow.messaging import service as messaging
from clinicflow.messaging.schemas import Channel
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling.events import AppointmentEvent, Event, subscribe

TEMPLATES = {
    Event.BOOKED: "appointment_booked",
    Event.CANCELLED: "appointment_cancelled",
    Event.RESCHEDULED: "appointment_rescheduled",
    Event.NO_SHOW: "appointment_missed",
}


async def notify_patient(uow: UnitOfWork, event: AppointmentEvent) -> None:
    contact = await directory.contact_of(uow, tenant_id=event.tenant_id, user_id=event.patient_id)
    if contact is None:
        return
    await messaging.queue_message(
        uow,
        tenant_id=event.tenant_id,
        channel=Channel.EMAIL,
        recipient=contact.email,
        template=TEMPLATES[event.event],
        payload={
            "appointment_id": str(event.appointment_id),
            "starts_at": event.starts_at.isoformat(),
            "patient_name": contact.full_name,
            "language": contact.preferred_language,
            **{k: str(v) for k, v in event.details.items()},
        },
        user_id=event.patient_id,
    )


def register() -> None:
    """Subscribe the patient notices to their events (the app calls this at build)."""
    for event in TEMPLATES:
        subscribe(event, notify_patient)
