"""What check-in publishes in real time (ids only; clients load what they show).

`queue.updated` goes to the location's `queue:` channel (staff and the location's
display: no patient ids in the data) and `appointment.updated` to the appointment's
channel and to its patient's `patient:` channel. Published inside the use case's
transaction: a rollback sends nothing.
"""

from __future__ import annotations

import uuid

from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.realtime import publish_many
from clinicflow.realtime.policy import appointment_channel, patient_channel, queue_channel

QUEUE_UPDATED = "queue.updated"
APPOINTMENT_UPDATED = "appointment.updated"


#: One event to publish: (channel or channels, type, data), as `publish_many` takes them.
Notice = tuple[str | list[str], str, dict[str, object]]


def queue_notice(
    *,
    clinic_id: uuid.UUID,
    location_id: uuid.UUID,
    reason: str,
    ticket: str | None = None,
    doctor_id: uuid.UUID | None = None,
) -> Notice:
    """`queue.updated` for the location's queue followers (staff, its display): no patient."""
    data: dict[str, object] = {"location_id": location_id, "clinic_id": clinic_id, "status": reason}
    if ticket is not None:
        data["ticket"] = ticket
    if doctor_id is not None:
        data["doctor_id"] = doctor_id
    return queue_channel(location_id), QUEUE_UPDATED, data


def visit_notice(*, appointment_id: uuid.UUID, patient_id: uuid.UUID, status: str) -> Notice:
    """`appointment.updated` for the appointment's followers (its patient, staff)."""
    channels = [appointment_channel(appointment_id), patient_channel(patient_id)]
    return channels, APPOINTMENT_UPDATED, {"appointment_id": appointment_id, "status": status}


async def publish_notices(uow: UnitOfWork, notices: list[Notice], *, tenant_id: uuid.UUID) -> None:
    """Publish every notice in the caller's transaction, in one statement."""
    await publish_many(uow, notices, tenant_id=tenant_id)


async def queue_changed(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    clinic_id: uuid.UUID,
    location_id: uuid.UUID,
    reason: str,
    ticket: str | None = None,
    doctor_id: uuid.UUID | None = None,
) -> None:
    """Tell the location's queue followers (staff, its display) that the queue changed."""
    notice = queue_notice(
        clinic_id=clinic_id, location_id=location_id, reason=reason, ticket=ticket, doctor_id=doctor_id
    )
    await publish_notices(uow, [notice], tenant_id=tenant_id)
