"""Check-in request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class CheckInRead(BaseModel):
    """One appointment's check-in: how and when it arrived, and its ticket in the queue."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    doctor_id: uuid.UUID
    clinic_id: uuid.UUID
    location_id: uuid.UUID
    appointment_starts_at: datetime
    method: str
    checked_in_at: datetime
    local_day: date
    ticket: str
    late: bool
    queue_status: str
    outside_geofence: bool
    distance_m: int | None
