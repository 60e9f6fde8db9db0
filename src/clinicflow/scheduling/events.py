"""Scheduling's domain events, emitted as jobs in the transaction of the change.

Each event is a procrastinate task named like the event (`appointment.booked`,
`.cancelled`, `.rescheduled`, `.confirmed`, `.no_show`, ...). Other domains
subscribe with `subscribe(event, handler)` (the waitlist listens for freed
slots); until messaging providers land, the built-in handler records a
notice to the patient in the outbox. Handlers take ids, reload what they
need and must be idempotent: a job may run more than once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import psycopg

from clinicflow.platform import runtime
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.jobs import DEFAULT_RETRY, defer, job_app, queue_job
from clinicflow.platform.jsonable import to_jsonable


class Event(StrEnum):
    BOOKED = "appointment.booked"
    CONFIRMED = "appointment.confirmed"
    CHECKED_IN = "appointment.checked_in"
    STARTED = "appointment.started"
    COMPLETED = "appointment.completed"
    CANCELLED = "appointment.cancelled"
    RESCHEDULED = "appointment.rescheduled"
    NO_SHOW = "appointment.no_show"


@dataclass(frozen=True)
class AppointmentEvent:
    event: Event
    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    clinic_id: uuid.UUID
    doctor_id: uuid.UUID
    patient_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    details: dict[str, Any]


Handler = Callable[[UnitOfWork, AppointmentEvent], Awaitable[None]]
_handlers: dict[Event, list[Handler]] = {}


def subscribe(event: Event, handler: Handler) -> None:
    """Run `handler` (in its own unit of work) for every `event`."""
    handlers = _handlers.setdefault(event, [])
    if handler not in handlers:
        handlers.append(handler)


async def _dispatch(payload: dict[str, Any]) -> None:
    event = AppointmentEvent(
        event=Event(payload["event"]),
        tenant_id=uuid.UUID(payload["tenant_id"]),
        appointment_id=uuid.UUID(payload["appointment_id"]),
        clinic_id=uuid.UUID(payload["clinic_id"]),
        doctor_id=uuid.UUID(payload["doctor_id"]),
        patient_id=uuid.UUID(payload["patient_id"]),
        starts_at=datetime.fromisoformat(payload["starts_at"]),
        ends_at=datetime.fromisoformat(payload["ends_at"]),
        details=payload.get("details", {}),
    )
    for handler in _handlers.get(event.event, []):
        async with runtime.database().transaction() as uow:
            await handler(uow, event)


def _task(name: str) -> Any:
    @job_app.task(name=name, queue="events", retry=DEFAULT_RETRY)
    async def handle(**payload: Any) -> None:
        await _dispatch(payload)

    return handle


TASKS = {event: _task(event.value) for event in Event}


def _payload(event: AppointmentEvent) -> dict[str, Any]:
    return {
        "event": event.event.value,
        "tenant_id": str(event.tenant_id),
        "appointment_id": str(event.appointment_id),
        "clinic_id": str(event.clinic_id),
        "doctor_id": str(event.doctor_id),
        "patient_id": str(event.patient_id),
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "details": to_jsonable(event.details),
    }


async def emit(uow: UnitOfWork, event: AppointmentEvent) -> None:
    """Defer the event's job in the caller's transaction: it exists only if the change commits."""
    await defer(uow, TASKS[event.event], **_payload(event))


async def queue_emit(connection: psycopg.AsyncConnection[Any], event: AppointmentEvent) -> None:
    """`emit` on the transaction's psycopg connection: in a pipeline, the job travels with the
    change that causes it (same round trip, same transaction)."""
    await queue_job(connection, TASKS[event.event], **_payload(event))
