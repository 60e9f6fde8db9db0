"""What the queue's reads return: plain rows, no statements (`queue.repository` reads them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class QueueLocation:
    """A live location of the tenant, as the queue needs it."""

    location_id: uuid.UUID
    clinic_id: uuid.UUID
    timezone: str
    default_consult_minutes: int


@dataclass(frozen=True, slots=True)
class QueueDesk:
    """A check-in location as a queue picker lists it: its name, and what its queue read needs."""

    location: QueueLocation
    name: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One check-in as a queue entry (waiting, called or in consultation)."""

    id: uuid.UUID
    doctor_id: uuid.UUID
    ticket: str
    queue_status: str
    priority: int
    late: bool
    appointment_starts_at: datetime
    queued_at: datetime
    checked_in_at: datetime
    called_at: datetime | None
    started_at: datetime | None
    patient_id: uuid.UUID
    appointment_id: uuid.UUID
    recall_count: int
    skip_count: int
    long_wait_flagged_at: datetime | None
    patient_name: str | None = None
    doctor_name: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A location's queue for one day at one moment: waiting in order, in hand, and the
    recent consult lengths (seconds, newest first) of every doctor in it."""

    waiting: list[Entry]
    active: list[Entry]
    consult_seconds: dict[uuid.UUID, list[float]]


@dataclass(frozen=True, slots=True)
class Moved:
    """An entry as a move found or left it."""

    id: uuid.UUID
    clinic_id: uuid.UUID
    location_id: uuid.UUID
    local_day: date
    doctor_id: uuid.UUID
    patient_id: uuid.UUID
    appointment_id: uuid.UUID
    ticket: str
    queue_status: str
    priority: int


@dataclass(frozen=True, slots=True)
class Calling:
    """A called entry as a waiting room's display shows it: no patient, only the ticket, the
    doctor's name and (when the visit is booked in a room) the room."""

    ticket: str
    called_at: datetime
    recall_count: int
    doctor_name: str | None
    room: str | None
