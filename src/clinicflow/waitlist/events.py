"""What the waitlist subscribes to: appointments that free their slot ahead of time.

A cancellation, a reschedule away, or a no-show marked before the start frees a
slot that the clinic's waitlist may be offered. The handler is subscribed by
`register()`, which the app calls when it is built (and a worker process when it
starts): importing this module subscribes nothing.

What the waitlist publishes (`waitlist.joined`, `.invited`, ...) is in
`notices.py`, below the use cases that emit it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from clinicflow.audit.service import SYSTEM
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling.events import AppointmentEvent, Event, subscribe
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.waitlist.offers import Slot, offer_slot
from clinicflow.waitlist.repository import PolicyRepository

#: Appointment events after which a slot may be free.
VACANCIES = (Event.CANCELLED, Event.RESCHEDULED, Event.NO_SHOW)


def _freed_slot(event: AppointmentEvent) -> Slot:
    """The slot the appointment left: its old time and doctor when it was rescheduled."""
    if event.event is Event.RESCHEDULED:
        details: dict[str, Any] = event.details
        return Slot(
            event.clinic_id,
            uuid.UUID(details["previous_doctor_id"]),
            datetime.fromisoformat(details["previous_starts_at"]),
        )
    return Slot(event.clinic_id, event.doctor_id, event.starts_at)


async def on_vacancy(uow: UnitOfWork, event: AppointmentEvent) -> None:
    """A slot was freed ahead of time: offer it if the clinic offers automatically. Idempotent
    as offers are: a slot is never offered twice to the same entry, a held slot not again."""
    slot = _freed_slot(event)
    cfg = WaitlistConfig.for_jobs()
    if slot.starts_at <= cfg.clock.now():
        return  # in the past (e.g. the no-show sweep): nothing to offer
    policy = await PolicyRepository(uow, event.tenant_id).ensure(event.clinic_id)
    if not policy.auto_offer:
        return
    await offer_slot(uow, cfg, tenant_id=event.tenant_id, slot=slot, actor=SYSTEM)


def register() -> None:
    """Subscribe the waitlist's handlers to scheduling's events. Idempotent."""
    for event in VACANCIES:
        subscribe(event, on_vacancy)
