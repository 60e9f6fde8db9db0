"""What real time publishes for other domains' changes: `appointment.updated`, `waitlist.updated`.

`publish_appointment_change` and `publish_waitlist_change` publish inside the caller's
transaction (rule 1: commit publishes, rollback does not). The waitlist calls
`publish_waitlist_change` from its `notices.emit`, inside every change's transaction.
Until scheduling calls `publish_appointment_change` the same way (docs/decisions.md,
"Real time"), `register()` subscribes it to scheduling's domain events, which run as
jobs just after the change commits.
"""

from __future__ import annotations

import uuid

from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.realtime import publish
from clinicflow.realtime.policy import appointment_channel, clinic_channel, patient_channel
from clinicflow.scheduling import events as scheduling_events
from clinicflow.scheduling.events import AppointmentEvent

APPOINTMENT_UPDATED = "appointment.updated"
WAITLIST_UPDATED = "waitlist.updated"


async def publish_appointment_change(uow: UnitOfWork, event: AppointmentEvent) -> None:
    """`appointment.updated` on the appointment's, its clinic's and its patient's channels.

    Data: the ids and the change (`appointment.cancelled`, …); clients load the rest.
    """
    await publish(
        uow,
        [
            appointment_channel(event.appointment_id),
            clinic_channel(event.clinic_id),
            patient_channel(event.patient_id),
        ],
        APPOINTMENT_UPDATED,
        {
            "appointment_id": event.appointment_id,
            "clinic_id": event.clinic_id,
            "doctor_id": event.doctor_id,
            "patient_id": event.patient_id,
            "change": event.event.value,
        },
        tenant_id=event.tenant_id,
    )


async def publish_waitlist_change(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    entry_id: uuid.UUID,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    change: str,
) -> None:
    """`waitlist.updated` on the entry's clinic's and patient's channels (ids and the change)."""
    await publish(
        uow,
        [clinic_channel(clinic_id), patient_channel(patient_id)],
        WAITLIST_UPDATED,
        {"entry_id": entry_id, "clinic_id": clinic_id, "patient_id": patient_id, "change": change},
        tenant_id=tenant_id,
    )


def register() -> None:
    """Publish `appointment.updated` for every scheduling event (the app calls this at build)."""
    for event in scheduling_events.Event:
        scheduling_events.subscribe(event, publish_appointment_change)
