"""What the waitlist publishes: its events (`waitlist.joined`, `.invited`, `.promoted`,
`.expired`, `.cancelled`, `.declined`), deferred as jobs in the transaction of the change,
and `waitlist.updated` on the real time stream (the clinic's and the patient's channels),
published in that same transaction: commit announces both, rollback neither.

Each carries tenant, clinic, doctor, patient and the patient's contact preferences. Until
messaging lands, the consumer records the message in the outbox (honouring the clinic's
template overrides). This sits below the use cases that emit; what the waitlist subscribes
to is in `events.py`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from clinicflow.identity import directory
from clinicflow.messaging import service as messaging
from clinicflow.messaging.schemas import Channel
from clinicflow.platform import runtime
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.jobs import DEFAULT_RETRY, defer, job_app
from clinicflow.realtime.events import publish_waitlist_change
from clinicflow.waitlist.models import WaitlistEntry
from clinicflow.waitlist.repository import PolicyRepository


class WaitlistEvent(StrEnum):
    JOINED = "waitlist.joined"
    INVITED = "waitlist.invited"
    PROMOTED = "waitlist.promoted"
    EXPIRED = "waitlist.expired"
    CANCELLED = "waitlist.cancelled"
    DECLINED = "waitlist.declined"


async def _deliver(payload: dict[str, Any]) -> None:
    """Record the notice to the patient (idempotent: one outbox message per event id)."""
    tenant_id = uuid.UUID(payload["tenant_id"])
    async with runtime.database().transaction() as uow:
        templates = await PolicyRepository(uow, tenant_id).templates(uuid.UUID(payload["clinic_id"]))
        contact = payload["contact"]
        template = payload["event"].replace(".", "_")
        await messaging.queue_message(
            uow,
            tenant_id=tenant_id,
            channel=Channel.EMAIL,
            recipient=contact["email"],
            template=template,
            payload={
                **payload["details"],
                "event_id": payload["event_id"],
                "entry_id": payload["entry_id"],
                "template_override": templates.get(template),
                "language": contact.get("preferred_language"),
            },
            user_id=uuid.UUID(payload["patient_id"]),
        )


def _task(name: str) -> Any:
    @job_app.task(name=name, queue="events", retry=DEFAULT_RETRY)
    async def handle(**payload: Any) -> None:
        await _deliver(payload)

    return handle


TASKS = {event: _task(event.value) for event in WaitlistEvent}


async def emit(
    uow: UnitOfWork,
    event: WaitlistEvent,
    entry: WaitlistEntry,
    *,
    schedule_at: datetime | None = None,
    **details: Any,
) -> None:
    """Defer the event with the patient's contact preferences and publish `waitlist.updated`
    (change = the event's name), both in the caller's transaction. The stream hears of an
    invitation at once even when quiet hours delay its message (`schedule_at`): the hold and
    its deadline run from now."""
    contact = await directory.contact_of(uow, tenant_id=entry.tenant_id, user_id=entry.patient_id)
    await defer(
        uow,
        TASKS[event],
        schedule_at=schedule_at,
        event=event.value,
        event_id=str(uuid.uuid4()),
        tenant_id=str(entry.tenant_id),
        clinic_id=str(entry.clinic_id),
        doctor_id=str(entry.doctor_id) if entry.doctor_id else None,
        patient_id=str(entry.patient_id),
        entry_id=str(entry.id),
        contact=contact.model_dump(mode="json") if contact else {"email": "", "preferred_language": None},
        details={k: str(v) for k, v in details.items()},
    )
    await publish_waitlist_change(
        uow,
        tenant_id=entry.tenant_id,
        entry_id=entry.id,
        clinic_id=entry.clinic_id,
        patient_id=entry.patient_id,
        change=event.value,
    )
