"""Scheduling API shapes. Inputs refuse unknown fields; instants need an offset."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from clinicflow.platform.instants import Day, Instant, WallTime
from clinicflow.scheduling.models import AppointmentKind
from clinicflow.scheduling.state import Status

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleIn(_Input):
    weekday: Annotated[int, Field(ge=0, le=6, description="0 = Monday")]
    start: WallTime = Field(description="Clinic-local HH:MM")
    end: WallTime = Field(description="Clinic-local HH:MM; not after start means the next day")
    slot_minutes: Annotated[int, Field(ge=5, le=480)] = 30
    buffer_before: Annotated[int, Field(ge=0, le=240)] = 0
    buffer_after: Annotated[int, Field(ge=0, le=240)] = 0
    capacity: Annotated[int, Field(ge=1, le=500, description="More than 1: a group session")] = 1
    valid_from: Day | None = None
    valid_to: Day | None = None
    location_id: uuid.UUID | None = Field(
        default=None, description="A location (room, site) of the clinic; omit: the plan's location"
    )

    @model_validator(mode="after")
    def _checks(self) -> RuleIn:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are clinic-local times without an offset")
        if self.start == self.end:
            raise ValueError("a window needs a start and an end that differ")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class AvailabilityIn(_Input):
    clinic_id: uuid.UUID
    min_notice_minutes: Annotated[int, Field(ge=0, le=43_200)] = 60
    horizon_days: Annotated[int, Field(ge=1, le=730)] = 90
    location_id: uuid.UUID | None = Field(
        default=None, description="Where this doctor sees patients at the clinic; omit: the clinic at large"
    )
    rules: Annotated[list[RuleIn], Field(max_length=100)]


class RuleRead(BaseModel):
    weekday: int
    start: WallTime
    end: WallTime
    slot_minutes: int
    buffer_before: int
    buffer_after: int
    capacity: int
    valid_from: date | None
    valid_to: date | None
    location_id: uuid.UUID | None = None


class AvailabilityRead(BaseModel):
    doctor_id: uuid.UUID
    clinic_id: uuid.UUID
    timezone: str
    min_notice_minutes: int
    horizon_days: int
    location_id: uuid.UUID | None = None
    rules: list[RuleRead]


class TimeOffIn(_Input):
    """Either instants (`starts_at`/`ends_at`) or whole clinic-local days (`from_date`/`to_date`)."""

    clinic_id: uuid.UUID | None = Field(default=None, description="Omit: away from every clinic")
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    from_date: Day | None = None
    to_date: Day | None = Field(default=None, description="Inclusive")
    reason: Reason | None = None

    @model_validator(mode="after")
    def _one_form(self) -> TimeOffIn:
        instants = self.starts_at is not None or self.ends_at is not None
        days = self.from_date is not None or self.to_date is not None
        if instants == days:
            raise ValueError("give either starts_at and ends_at, or from_date and to_date")
        if instants and (self.starts_at is None or self.ends_at is None or self.ends_at <= self.starts_at):
            raise ValueError("ends_at must be after starts_at")
        if days and (self.from_date is None or self.to_date is None or self.to_date < self.from_date):
            raise ValueError("to_date must not be before from_date")
        return self


class TimeOffRead(BaseModel):
    id: uuid.UUID
    doctor_id: uuid.UUID
    clinic_id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime
    reason: str | None


class SlotRead(BaseModel):
    starts_at: datetime
    ends_at: datetime
    clinic_id: uuid.UUID
    capacity: int
    remaining: int


class BookingIn(_Input):
    doctor_id: uuid.UUID
    clinic_id: uuid.UUID
    starts_at: Instant
    patient_id: uuid.UUID | None = Field(
        default=None, description="Staff book for a patient; patients omit it"
    )
    reason: Reason | None = None
    kind: AppointmentKind = AppointmentKind.IN_PERSON
    follow_up_plan_id: uuid.UUID | None = None


class AppointmentRead(BaseModel):
    id: uuid.UUID
    clinic_id: uuid.UUID
    doctor_id: uuid.UUID
    patient_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    status: Status
    kind: AppointmentKind
    reason: str | None
    video_url: str | None
    parent_id: uuid.UUID | None
    series_id: uuid.UUID | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    location_id: uuid.UUID | None = Field(
        default=None, description="Where the visit happens (a clinic location); null: the clinic at large"
    )


class CancelIn(_Input):
    reason: Reason | None = None


class RescheduleIn(_Input):
    starts_at: Instant
    doctor_id: uuid.UUID | None = Field(default=None, description="Omit to keep the doctor")


class FollowUpIn(_Input):
    """A plan to book later (`due_from`/`due_to`), or a booking now (`starts_at`)."""

    due_from: Day | None = None
    due_to: Day | None = None
    starts_at: Instant | None = None
    notes: Reason | None = None

    @model_validator(mode="after")
    def _one_form(self) -> FollowUpIn:
        plan = self.due_from is not None or self.due_to is not None
        if plan == (self.starts_at is not None):
            raise ValueError("give either due_from and due_to, or starts_at")
        if plan and (self.due_from is None or self.due_to is None or self.due_to < self.due_from):
            raise ValueError("due_to must not be before due_from")
        return self


class FollowUpRead(BaseModel):
    id: uuid.UUID | None = None
    parent_id: uuid.UUID
    due_from: date | None = None
    due_to: date | None = None
    status: str
    appointment: AppointmentRead | None = None


class SeriesIn(_Input):
    doctor_id: uuid.UUID
    clinic_id: uuid.UUID
    first_starts_at: Instant
    every: Literal["week", "two_weeks"] = "week"
    occurrences: Annotated[int, Field(ge=2, le=52)] | None = None
    until: Day | None = None
    mode: Literal["all_or_nothing", "skip_conflicts"] = "all_or_nothing"
    patient_id: uuid.UUID | None = None
    reason: Reason | None = None
    kind: AppointmentKind = AppointmentKind.IN_PERSON

    @model_validator(mode="after")
    def _one_end(self) -> SeriesIn:
        if (self.occurrences is None) == (self.until is None):
            raise ValueError("give either occurrences or until")
        return self


class SkippedRead(BaseModel):
    starts_at: datetime
    code: str
    detail: str


class SeriesRead(BaseModel):
    series_id: uuid.UUID | None
    booked: list[AppointmentRead]
    skipped: list[SkippedRead]


class SchedulingPolicyIn(_Input):
    patient_cancel_cutoff_minutes: Annotated[int, Field(ge=0, le=43_200)] = 1440
    no_show_after_minutes: Annotated[int, Field(ge=0, le=1440)] = 30


class SchedulingPolicyRead(SchedulingPolicyIn):
    clinic_id: uuid.UUID
