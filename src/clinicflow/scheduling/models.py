"""Scheduling tables.

The guarantee lives in `appointments`' exclusion constraint: for one tenant
and doctor, the blocked ranges (the visit plus its buffers) of active
appointments never overlap, unless both rows are seats of the same group
session (same `slot_group_id`). A one-seat appointment's `slot_group_id` is
its own id, so it conflicts with everything it overlaps. Group seats are
counted in `group_slots`, whose check constraint refuses a seat past capacity.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clinicflow.platform.db import Base, IdMixin, TenantOwned, TimestampMixin

# `held`: a freed slot kept for a waitlisted patient until they answer the offer. It holds
# the doctor's time like any booking, so the same constraint keeps everyone else out.
ACTIVE_STATUSES = ("held", "scheduled", "confirmed", "checked_in", "in_consultation")
_ACTIVE_SQL = "status IN ('held', 'scheduled', 'confirmed', 'checked_in', 'in_consultation')"


class AppointmentKind(StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"


def _user_fk(table: str, column: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", column], ["users.tenant_id", "users.id"], name=f"fk_{table}_{column}_same_tenant"
    )


def _location_fk(table: str) -> ForeignKeyConstraint:
    """Where the visit happens: a location of the same tenant (its clinic is checked by the service)."""
    return ForeignKeyConstraint(
        ["tenant_id", "location_id"],
        ["clinic_locations.tenant_id", "clinic_locations.id"],
        name=f"fk_{table}_location_same_tenant",
    )


def _clinic_fk(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "clinic_id"], ["clinics.tenant_id", "clinics.id"], name=f"fk_{table}_clinic_same_tenant"
    )


class AvailabilityPlan(IdMixin, TimestampMixin, TenantOwned, Base):
    """A doctor's booking settings at one clinic; its weekly rules hang off it."""

    __tablename__ = "availability_plans"
    __table_args__ = (
        _user_fk("availability_plans", "doctor_id"),
        _clinic_fk("availability_plans"),
        _location_fk("availability_plans"),
        UniqueConstraint("tenant_id", "doctor_id", "clinic_id"),
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("min_notice_minutes BETWEEN 0 AND 43200", name="notice_range"),
        CheckConstraint("horizon_days BETWEEN 1 AND 730", name="horizon_range"),
    )

    doctor_id: Mapped[uuid.UUID]
    clinic_id: Mapped[uuid.UUID]
    min_notice_minutes: Mapped[int] = mapped_column(server_default=text("60"))
    horizon_days: Mapped[int] = mapped_column(server_default=text("90"))
    location_id: Mapped[uuid.UUID | None]  # where this doctor sees patients at this clinic


class AvailabilityRule(IdMixin, TenantOwned, Base):
    """A weekly window in clinic-local time. `end_local <= start_local` crosses midnight."""

    __tablename__ = "availability_rules"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "plan_id"],
            ["availability_plans.tenant_id", "availability_plans.id"],
            name="fk_availability_rules_plan_same_tenant",
            ondelete="CASCADE",
        ),
        _location_fk("availability_rules"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("slot_minutes BETWEEN 5 AND 480", name="slot_range"),
        CheckConstraint("buffer_before BETWEEN 0 AND 240 AND buffer_after BETWEEN 0 AND 240", name="buffers"),
        CheckConstraint("capacity BETWEEN 1 AND 500", name="capacity_range"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="validity"),
        Index("ix_availability_rules_tenant_id_plan_id", "tenant_id", "plan_id"),
    )

    plan_id: Mapped[uuid.UUID]
    weekday: Mapped[int]
    start_local: Mapped[time]
    end_local: Mapped[time]
    slot_minutes: Mapped[int]
    buffer_before: Mapped[int] = mapped_column(server_default=text("0"))
    buffer_after: Mapped[int] = mapped_column(server_default=text("0"))
    capacity: Mapped[int] = mapped_column(server_default=text("1"))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    location_id: Mapped[uuid.UUID | None]  # overrides the plan's location for this window


class TimeOff(IdMixin, TenantOwned, Base):
    """An exception: the doctor is away (at one clinic, or everywhere when `clinic_id` is null)."""

    __tablename__ = "time_off"
    __table_args__ = (
        _user_fk("time_off", "doctor_id"),
        _clinic_fk("time_off"),
        CheckConstraint("ends_at > starts_at", name="range"),
        Index("ix_time_off_tenant_id_doctor_id_starts_at", "tenant_id", "doctor_id", "starts_at"),
    )

    doctor_id: Mapped[uuid.UUID]
    clinic_id: Mapped[uuid.UUID | None]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ClinicSchedulingPolicy(IdMixin, TimestampMixin, TenantOwned, Base):
    __tablename__ = "clinic_scheduling_policies"
    __table_args__ = (
        _clinic_fk("clinic_scheduling_policies"),
        UniqueConstraint("tenant_id", "clinic_id"),
        CheckConstraint("patient_cancel_cutoff_minutes BETWEEN 0 AND 43200", name="cutoff_range"),
        CheckConstraint("no_show_after_minutes BETWEEN 0 AND 1440", name="no_show_range"),
    )

    clinic_id: Mapped[uuid.UUID]
    patient_cancel_cutoff_minutes: Mapped[int] = mapped_column(server_default=text("1440"))
    no_show_after_minutes: Mapped[int] = mapped_column(server_default=text("30"))


class GroupSlot(IdMixin, TenantOwned, Base):
    """Seats of a group session: `booked` can never pass `capacity` (check constraint)."""

    __tablename__ = "group_slots"
    __table_args__ = (
        _user_fk("group_slots", "doctor_id"),
        UniqueConstraint("tenant_id", "doctor_id", "starts_at"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="seats"),
    )

    doctor_id: Mapped[uuid.UUID]
    clinic_id: Mapped[uuid.UUID]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(server_default=text("0"))


class AppointmentSeries(IdMixin, TenantOwned, Base):
    __tablename__ = "appointment_series"
    __table_args__ = (
        CheckConstraint("interval_weeks IN (1, 2)", name="interval_known"),
        CheckConstraint("mode IN ('all_or_nothing', 'skip_conflicts')", name="mode_known"),
        Index("ix_appointment_series_tenant_id_patient_id", "tenant_id", "patient_id"),
    )

    patient_id: Mapped[uuid.UUID]
    doctor_id: Mapped[uuid.UUID]
    clinic_id: Mapped[uuid.UUID]
    interval_weeks: Mapped[int]
    mode: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Appointment(IdMixin, TimestampMixin, TenantOwned, Base):
    __tablename__ = "appointments"
    __table_args__ = (
        _user_fk("appointments", "doctor_id"),
        _user_fk("appointments", "patient_id"),
        _clinic_fk("appointments"),
        _location_fk("appointments"),
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint(
            "status IN ('held', 'scheduled', 'confirmed', 'checked_in', 'in_consultation', 'completed', "
            "'cancelled', 'no_show')",
            name="status_known",
        ),
        CheckConstraint("kind IN ('in_person', 'video')", name="kind_known"),
        CheckConstraint(
            "ends_at > starts_at AND blocked_from <= starts_at AND blocked_until >= ends_at", name="times"
        ),
        ExcludeConstraint(
            ("tenant_id", "="),
            ("doctor_id", "="),
            (func.tstzrange(text("blocked_from"), text("blocked_until")), "&&"),
            ("slot_group_id", "<>"),
            name="ex_appointments_no_double_booking",
            using="gist",
            where=text(_ACTIVE_SQL),
        ),
        Index("ix_appointments_tenant_id_doctor_id_starts_at", "tenant_id", "doctor_id", "starts_at"),
        Index("ix_appointments_tenant_id_patient_id_starts_at", "tenant_id", "patient_id", "starts_at"),
        Index("ix_appointments_tenant_id_clinic_id_starts_at", "tenant_id", "clinic_id", "starts_at"),
        # The no-show sweep reads only appointments still open, by end time.
        Index(
            "ix_appointments_open_ends_at",
            "ends_at",
            postgresql_where=text("status IN ('scheduled', 'confirmed')"),
        ),
    )

    clinic_id: Mapped[uuid.UUID]
    doctor_id: Mapped[uuid.UUID]
    patient_id: Mapped[uuid.UUID]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    blocked_from: Mapped[datetime]
    blocked_until: Mapped[datetime]
    slot_group_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(20), server_default=text("'scheduled'"))
    kind: Mapped[str] = mapped_column(String(20), server_default=text("'in_person'"))
    reason: Mapped[str | None] = mapped_column(Text)
    video_url: Mapped[str | None] = mapped_column(String(500))
    parent_id: Mapped[uuid.UUID | None]  # the visit this one follows up
    series_id: Mapped[uuid.UUID | None]
    created_by: Mapped[uuid.UUID | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    # Where the visit happens: the rule's location, else the plan's (None: the clinic at large).
    location_id: Mapped[uuid.UUID | None]


class FollowUpPlan(IdMixin, TimestampMixin, TenantOwned, Base):
    """A follow-up due within a window, to be booked later; linked to its parent visit."""

    __tablename__ = "follow_up_plans"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["appointments.tenant_id", "appointments.id"],
            name="fk_follow_up_plans_parent_same_tenant",
        ),
        CheckConstraint("due_to >= due_from", name="due_window"),
        CheckConstraint("status IN ('open', 'booked', 'cancelled')", name="status_known"),
        Index("ix_follow_up_plans_tenant_id_patient_id", "tenant_id", "patient_id"),
    )

    parent_id: Mapped[uuid.UUID]
    patient_id: Mapped[uuid.UUID]
    doctor_id: Mapped[uuid.UUID]
    clinic_id: Mapped[uuid.UUID]
    due_from: Mapped[date]
    due_to: Mapped[date]
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'open'"))
    appointment_id: Mapped[uuid.UUID | None]
