"""Waitlist API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from clinicflow.platform.instants import Day, Instant, WallTime
from clinicflow.waitlist.scoring import Weights


class EntryStatus(StrEnum):
    ACTIVE = "active"
    INVITED = "invited"
    PROMOTED = "promoted"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
DayPart = Literal["morning", "afternoon", "evening"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WindowIn(_Input):
    date_from: Day | None = None
    date_to: Day | None = None
    weekdays: Annotated[list[Annotated[int, Field(ge=0, le=6)]], Field(max_length=7)] = []
    day_parts: Annotated[list[DayPart], Field(max_length=3)] = []

    @model_validator(mode="after")
    def _order(self) -> WindowIn:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValueError("date_to is before date_from")
        return self


class PolicyIn(_Input):
    max_queue_size: Annotated[int, Field(ge=1, le=1_000_000)] = 500
    auto_expiry_hours: Annotated[int, Field(ge=1, le=8760)] = 720
    offer_response_minutes: Annotated[int, Field(ge=1, le=10_080)] = 120
    auto_offer: bool = True
    priority_weights: Weights = Weights()
    quiet_hours_start: WallTime | None = Field(
        default=None, description="Clinic-local; no offers sent from here ..."
    )
    quiet_hours_end: WallTime | None = Field(default=None, description="... until here")
    templates: dict[str, Annotated[str, StringConstraints(max_length=5000)]] = Field(
        default_factory=dict, description="Message template overrides by name, stored for messaging"
    )

    @model_validator(mode="after")
    def _quiet_pair(self) -> PolicyIn:
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("quiet_hours_start and quiet_hours_end go together")
        if len(self.templates) > 20:
            raise ValueError("at most 20 template overrides")
        return self


class PolicyRead(PolicyIn):
    clinic_id: uuid.UUID


class JoinIn(_Input):
    clinic_id: uuid.UUID
    doctor_id: uuid.UUID | None = Field(default=None, description="Omit for the clinic's general list")
    patient_id: uuid.UUID | None = Field(default=None, description="Staff add a patient; patients omit it")
    window: WindowIn = WindowIn()
    priority_tier: Annotated[int, Field(ge=0, le=5)] = 0
    chronic_condition: bool = False
    notes: Notes | None = None
    metadata: Annotated[dict[str, Any], Field(description="e.g. referral source, symptoms")] = {}

    @model_validator(mode="after")
    def _metadata_small(self) -> JoinIn:
        if len(str(self.metadata)) > 5000:
            raise ValueError("metadata is too large")
        return self


class EntryPatch(_Input):
    status: Literal["cancelled"] | None = None
    notes: Notes | None = None
    window: WindowIn | None = None
    boost: Annotated[float, Field(ge=-1000, le=1000)] | None = None
    pinned: bool | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)] | None = (
        Field(default=None, description="Required with boost or pinned")
    )

    @model_validator(mode="after")
    def _reason(self) -> EntryPatch:
        if (self.boost is not None or self.pinned is not None) and not self.reason:
            raise ValueError("changing the order (boost, pinned) needs a reason")
        return self


class EntryRead(BaseModel):
    id: uuid.UUID
    clinic_id: uuid.UUID
    doctor_id: uuid.UUID | None
    patient_id: uuid.UUID
    status: EntryStatus
    priority_tier: int
    chronic_condition: bool
    boost: float
    pinned: bool
    score: float
    window: WindowIn
    notes: str | None
    metadata: dict[str, Any]
    expires_at: datetime
    respond_by: datetime | None
    offered_appointment_id: uuid.UUID | None
    promoted_appointment_id: uuid.UUID | None
    created_at: datetime


class PromoteIn(_Input):
    starts_at: Instant
    doctor_id: uuid.UUID | None = Field(default=None, description="Needed for a clinic-wide entry")


class InviteIn(_Input):
    entry_id: uuid.UUID | None = Field(default=None, description="Offer to this entry; omit for the best fit")


class OfferRead(BaseModel):
    entry: EntryRead | None
    appointment_id: uuid.UUID | None
    detail: str


class StatsRead(BaseModel):
    clinic_id: uuid.UUID
    depth: dict[str, int]
    average_wait_hours: float | None
    p90_wait_hours: float | None
    promoted_today: int
    expired_today: int
    conversion_rate: float | None
    conversion_window_days: int
