"""Check-in request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from clinicflow.checkin.models import (
    DEFAULT_CLOSES_AFTER_MINUTES,
    DEFAULT_CONSULT_MINUTES,
    DEFAULT_LATE_AFTER_MINUTES,
    DEFAULT_OPENS_BEFORE_MINUTES,
    DEFAULT_ROTATION_SECONDS,
    GeofenceMode,
    QrMode,
)


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


class _Input(BaseModel):
    # Unknown fields (tenant_id, qr_version, ...) are refused, never silently applied.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Latitude = Annotated[Decimal, Field(ge=-90, le=90, decimal_places=6)]
Longitude = Annotated[Decimal, Field(ge=-180, le=180, decimal_places=6)]


class CheckInLocationIn(_Input):
    """A location's check-in settings (PUT replaces them all)."""

    enabled: bool = True
    qr_mode: QrMode = Field(
        default=QrMode.PRINTED,
        description="printed: a code revoked by bumping qr_version; rotating: a kiosk screen's code",
    )
    rotation_seconds: Annotated[int, Field(ge=10, le=3600)] = DEFAULT_ROTATION_SECONDS
    geofence_mode: GeofenceMode = GeofenceMode.OFF
    latitude: Latitude | None = Field(default=None, description="Omit: the location's own coordinates")
    longitude: Longitude | None = None
    radius_m: Annotated[int, Field(ge=10, le=10_000)] | None = None
    ticket_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}$")] = Field(
        default="A", description="Tickets read A-001, A-002, ... per day"
    )

    @model_validator(mode="after")
    def _centre_paired(self) -> CheckInLocationIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        if self.radius_m is not None and self.latitude is None and self.geofence_mode is GeofenceMode.OFF:
            raise ValueError("a radius needs a geofence centre")
        return self


class CheckInLocationCreate(CheckInLocationIn):
    location_id: uuid.UUID = Field(description="The clinic location that takes check-ins")


class CheckInLocationRead(BaseModel):
    """A clinic location's check-in settings, addressed by the location's id."""

    location_id: uuid.UUID
    clinic_id: uuid.UUID
    name: str
    enabled: bool
    qr_mode: QrMode
    qr_version: int
    rotation_seconds: int
    geofence_mode: GeofenceMode
    latitude: Decimal | None
    longitude: Decimal | None
    radius_m: int | None
    ticket_prefix: str
    created_at: datetime
    updated_at: datetime

    @property
    def id(self) -> uuid.UUID:
        """The key of list pages (the location's id)."""
        return self.location_id


class CheckInPolicyIn(_Input):
    """A clinic's check-in window and queue defaults."""

    opens_before_minutes: Annotated[int, Field(ge=0, le=1440)] = DEFAULT_OPENS_BEFORE_MINUTES
    closes_after_minutes: Annotated[int, Field(ge=0, le=1440)] = DEFAULT_CLOSES_AFTER_MINUTES
    late_after_minutes: Annotated[int, Field(ge=0, le=1440)] = Field(
        default=DEFAULT_LATE_AFTER_MINUTES, description="Arriving later than this after the start is late"
    )
    default_consult_minutes: Annotated[int, Field(ge=1, le=480)] = Field(
        default=DEFAULT_CONSULT_MINUTES, description="A consult's length for a doctor without history"
    )


class CheckInPolicyRead(CheckInPolicyIn):
    model_config = ConfigDict(extra="ignore")
    clinic_id: uuid.UUID


class QrTokenRead(BaseModel):
    """A location's current code, for a kiosk page to draw (rotating: fetch again at `rotates_at`)."""

    token: str
    url: str
    qr_mode: QrMode
    rotates_at: datetime | None
    expires_at: datetime | None


class ScanIn(_Input):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    appointment_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=20)] | None = Field(
        default=None, description="Which of several eligible appointments to check in"
    )
    all: bool = Field(default=False, description="Check in every eligible appointment at once")
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ScanIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        if self.all and self.appointment_ids is not None:
            raise ValueError("give appointment_ids or all, not both")
        return self


class ScanCandidate(BaseModel):
    """An appointment the scan could check in (for the caller, or a dependant of theirs)."""

    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    doctor_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    location_id: uuid.UUID | None
    dependant: bool = Field(description="The appointment is a dependant's, not the caller's own")


class ScanCheckedIn(BaseModel):
    status: Literal["checked_in"] = "checked_in"
    check_ins: list[CheckInRead]


class ScanChoice(BaseModel):
    """Several appointments are open for check-in: send the scan again with `appointment_ids`
    (or `all: true`)."""

    status: Literal["choose"] = "choose"
    appointments: list[ScanCandidate]


ScanResult = Annotated[ScanCheckedIn | ScanChoice, Field(discriminator="status")]


class DeskCheckInIn(_Input):
    location_id: uuid.UUID | None = Field(
        default=None,
        description="A check-in location of the appointment's clinic; omit: the appointment's own "
        "location, else the clinic's only check-in location",
    )


class OverrideIn(DeskCheckInIn):
    reason: Annotated[str, StringConstraints(min_length=3, max_length=500)] = Field(
        description="Why the window is overridden (kept in the audit trail)"
    )
