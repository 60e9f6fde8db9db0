"""Queue request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from clinicflow.checkin.models import Priority


class CallNextIn(BaseModel):
    """Whose queue to call from: the caller's own when `doctor_id` is left out."""

    model_config = ConfigDict(extra="forbid")
    doctor_id: uuid.UUID | None = None


class PriorityIn(BaseModel):
    """The staff-set priority class: 0 urgent, 1 high, 2 normal."""

    model_config = ConfigDict(extra="forbid")
    priority: Priority


class QueueEntryRead(BaseModel):
    """One entry of the full (staff) queue."""

    check_in_id: uuid.UUID
    appointment_id: uuid.UUID
    ticket: str
    status: str
    priority: int
    late: bool
    patient_id: uuid.UUID
    patient_name: str | None
    doctor_id: uuid.UUID
    doctor_name: str | None
    appointment_starts_at: datetime
    checked_in_at: datetime
    queued_at: datetime
    called_at: datetime | None
    started_at: datetime | None
    waited_minutes: int  # since queued (arrival, or sent back by a skip)
    recall_count: int
    skip_count: int
    long_wait: bool
    #: Waiting entries only: place in the location's order, and for their doctor.
    position: int | None
    ahead: int | None
    estimate_minutes: int | None


class QueueRead(BaseModel):
    """A location's queue for a clinic-local day, as staff see it."""

    view: str = "full"
    location_id: uuid.UUID
    clinic_id: uuid.UUID
    day: date
    waiting: list[QueueEntryRead]
    called: list[QueueEntryRead]
    in_consultation: list[QueueEntryRead]


class OwnPlaceRead(BaseModel):
    """A patient's own entry: where they are and how long they should wait."""

    check_in_id: uuid.UUID
    appointment_id: uuid.UUID
    ticket: str
    status: str
    doctor_id: uuid.UUID
    position: int | None  # waiting only: 1 is the next one their doctor calls
    ahead: int | None
    estimate_minutes: int | None


class OwnQueueRead(BaseModel):
    """A location's queue as a patient sees it: their own entries only."""

    view: str = "own"
    location_id: uuid.UUID
    day: date
    entries: list[OwnPlaceRead]


class MovedRead(BaseModel):
    """A queue entry after a move."""

    check_in_id: uuid.UUID
    appointment_id: uuid.UUID
    location_id: uuid.UUID
    doctor_id: uuid.UUID
    patient_id: uuid.UUID
    ticket: str
    status: str
    priority: int
