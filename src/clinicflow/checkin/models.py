"""Check-in tables.

- `checkin_locations`: a clinic location's check-in settings (QR mode and version,
  geofence). One row per location; a location without one does not take check-ins.
- `clinic_checkin_policies`: a clinic's check-in window and queue defaults. A clinic
  without a row uses the defaults below (30 min before to 2 h after the start).
- `check_ins`: one row per appointment (a unique constraint, never read-then-write),
  which is also the appointment's place in its location's queue for the clinic-local day.
- `checkin_ticket_counters`: the last ticket number handed out per location and day,
  advanced with one `INSERT … ON CONFLICT DO UPDATE … RETURNING`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from clinicflow.platform.db import Base, IdMixin, TenantOwned, TimestampMixin

#: A clinic's window when it has set none: from 30 minutes before the start to 2 hours after.
DEFAULT_OPENS_BEFORE_MINUTES = 30
DEFAULT_CLOSES_AFTER_MINUTES = 120
#: Arriving this long after the start makes a check-in late (queued after on-time arrivals).
DEFAULT_LATE_AFTER_MINUTES = 15
#: The consult length assumed for a doctor without recent history.
DEFAULT_CONSULT_MINUTES = 15
#: A printed QR's token rotates never; a kiosk's every this many seconds.
DEFAULT_ROTATION_SECONDS = 60


class QrMode(StrEnum):
    PRINTED = "printed"  # a version an admin bumps to revoke every printed copy
    ROTATING = "rotating"  # a kiosk screen; the token changes every `rotation_seconds`


class GeofenceMode(StrEnum):
    OFF = "off"
    WARN = "warn"  # check in, but record the distance and flag it
    ENFORCE = "enforce"  # refuse a scan from outside the radius (OUTSIDE_GEOFENCE)


class Method(StrEnum):
    QR = "qr"
    STAFF = "staff"
    OVERRIDE = "override"
    KIOSK = "kiosk"


class QueueStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    IN_CONSULTATION = "in_consultation"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CLOSED = "closed"  # still open when the clinic day ended (closed by the sweep)


class Priority(IntEnum):
    """Staff-set priority class: lower is seen first."""

    URGENT = 0
    HIGH = 1
    NORMAL = 2


def _location_fk(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "location_id"],
        ["clinic_locations.tenant_id", "clinic_locations.id"],
        name=f"fk_{table}_location_same_tenant",
        ondelete="RESTRICT",
    )


def _clinic_fk(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "clinic_id"],
        ["clinics.tenant_id", "clinics.id"],
        name=f"fk_{table}_clinic_same_tenant",
        ondelete="RESTRICT",
    )


class CheckInLocation(IdMixin, TimestampMixin, TenantOwned, Base):
    __tablename__ = "checkin_locations"
    __table_args__ = (
        _location_fk("checkin_locations"),
        _clinic_fk("checkin_locations"),
        UniqueConstraint("tenant_id", "location_id"),
        CheckConstraint("qr_mode IN ('printed', 'rotating')", name="qr_mode_known"),
        CheckConstraint("geofence_mode IN ('off', 'warn', 'enforce')", name="geofence_mode_known"),
        CheckConstraint("qr_version >= 1", name="qr_version_positive"),
        CheckConstraint("rotation_seconds BETWEEN 10 AND 3600", name="rotation_range"),
        CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude IS NULL OR longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL) AND (latitude IS NULL) = (radius_m IS NULL)",
            name="geofence_complete",
        ),
        CheckConstraint("geofence_mode = 'off' OR latitude IS NOT NULL", name="geofence_has_centre"),
        CheckConstraint("radius_m IS NULL OR radius_m BETWEEN 10 AND 10000", name="radius_range"),
        CheckConstraint("ticket_prefix ~ '^[A-Z]{1,3}$'", name="ticket_prefix_format"),
        Index("ix_checkin_locations_tenant_id_clinic_id", "tenant_id", "clinic_id"),
    )

    location_id: Mapped[uuid.UUID]
    clinic_id: Mapped[uuid.UUID]
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    qr_mode: Mapped[str] = mapped_column(String(10), server_default=text("'printed'"))
    qr_version: Mapped[int] = mapped_column(server_default=text("1"))
    rotation_seconds: Mapped[int] = mapped_column(server_default=text(str(DEFAULT_ROTATION_SECONDS)))
    geofence_mode: Mapped[str] = mapped_column(String(10), server_default=text("'off'"))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    radius_m: Mapped[int | None]
    ticket_prefix: Mapped[str] = mapped_column(String(3), server_default=text("'A'"))


class ClinicCheckInPolicy(IdMixin, TimestampMixin, TenantOwned, Base):
    __tablename__ = "clinic_checkin_policies"
    __table_args__ = (
        _clinic_fk("clinic_checkin_policies"),
        UniqueConstraint("tenant_id", "clinic_id"),
        CheckConstraint("opens_before_minutes BETWEEN 0 AND 1440", name="opens_range"),
        CheckConstraint("closes_after_minutes BETWEEN 0 AND 1440", name="closes_range"),
        CheckConstraint("late_after_minutes BETWEEN 0 AND 1440", name="late_range"),
        CheckConstraint("default_consult_minutes BETWEEN 1 AND 480", name="consult_range"),
    )

    clinic_id: Mapped[uuid.UUID]
    opens_before_minutes: Mapped[int] = mapped_column(server_default=text(str(DEFAULT_OPENS_BEFORE_MINUTES)))
    closes_after_minutes: Mapped[int] = mapped_column(server_default=text(str(DEFAULT_CLOSES_AFTER_MINUTES)))
    late_after_minutes: Mapped[int] = mapped_column(server_default=text(str(DEFAULT_LATE_AFTER_MINUTES)))
    default_consult_minutes: Mapped[int] = mapped_column(server_default=text(str(DEFAULT_CONSULT_MINUTES)))


class CheckIn(IdMixin, TenantOwned, Base):
    """An appointment's arrival, and its place in the location's queue for the day.

    The queue order reads only this table, through `ix_check_ins_queue` (index-only):
    priority class, then `late`, then the appointment's start, then `queued_at` (the
    arrival, or the moment a skipped patient was sent to the back).
    """

    __tablename__ = "check_ins"
    __table_args__ = (
        _location_fk("check_ins"),
        _clinic_fk("check_ins"),
        ForeignKeyConstraint(
            ["tenant_id", "appointment_id"],
            ["appointments.tenant_id", "appointments.id"],
            name="fk_check_ins_appointment_same_tenant",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["users.tenant_id", "users.id"],
            name="fk_check_ins_patient_same_tenant",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "doctor_id"],
            ["users.tenant_id", "users.id"],
            name="fk_check_ins_doctor_same_tenant",
        ),
        # One check-in per appointment: 50 parallel scans make one row and 49 conflicts.
        UniqueConstraint("tenant_id", "appointment_id", name="uq_check_ins_tenant_id_appointment_id"),
        UniqueConstraint("tenant_id", "location_id", "local_day", "ticket_number"),
        CheckConstraint("method IN ('qr', 'staff', 'override', 'kiosk')", name="method_known"),
        CheckConstraint(
            "queue_status IN ('waiting', 'called', 'in_consultation', 'completed', 'no_show', 'closed')",
            name="queue_status_known",
        ),
        CheckConstraint("priority BETWEEN 0 AND 2", name="priority_range"),
        CheckConstraint("method <> 'override' OR override_reason IS NOT NULL", name="override_has_reason"),
        CheckConstraint("ticket_number > 0", name="ticket_positive"),
        Index(
            "ix_check_ins_tenant_id_location_id_checked_in_at", "tenant_id", "location_id", "checked_in_at"
        ),
        Index("ix_check_ins_tenant_id_patient_id_checked_in_at", "tenant_id", "patient_id", "checked_in_at"),
        Index(
            "ix_check_ins_tenant_id_clinic_id_location_id_checked_in_at",
            "tenant_id",
            "clinic_id",
            "location_id",
            "checked_in_at",
        ),
        # The waiting queue in order, index only.
        Index(
            "ix_check_ins_queue",
            "tenant_id",
            "location_id",
            "local_day",
            "priority",
            "late",
            "appointment_starts_at",
            "queued_at",
            postgresql_include=["id", "doctor_id", "ticket"],
            postgresql_where=text("queue_status = 'waiting'"),
        ),
        # Recent consult durations per doctor, for the wait-time estimate.
        Index(
            "ix_check_ins_tenant_id_doctor_id_completed_at",
            "tenant_id",
            "doctor_id",
            "completed_at",
            postgresql_where=text("completed_at IS NOT NULL AND started_at IS NOT NULL"),
        ),
        # The end-of-day sweep reads only entries still open.
        Index(
            "ix_check_ins_open_local_day",
            "local_day",
            postgresql_where=text("queue_status IN ('waiting', 'called', 'in_consultation')"),
        ),
    )

    clinic_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    appointment_id: Mapped[uuid.UUID]
    patient_id: Mapped[uuid.UUID]
    doctor_id: Mapped[uuid.UUID]
    appointment_starts_at: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(10))
    checked_in_by: Mapped[uuid.UUID | None]  # the user who scanned or the staff member
    override_reason: Mapped[str | None] = mapped_column(Text)
    checked_in_at: Mapped[datetime] = mapped_column(server_default=func.now())
    local_day: Mapped[date]  # the clinic-local day of the queue this check-in joined
    ticket_number: Mapped[int]
    ticket: Mapped[str] = mapped_column(String(12))  # "A-014", for displays without names
    priority: Mapped[int] = mapped_column(SmallInteger, server_default=text("2"))
    late: Mapped[bool] = mapped_column(server_default=text("false"))
    queued_at: Mapped[datetime] = mapped_column(server_default=func.now())
    queue_status: Mapped[str] = mapped_column(String(20), server_default=text("'waiting'"))
    called_at: Mapped[datetime | None]
    called_by: Mapped[uuid.UUID | None]
    recall_count: Mapped[int] = mapped_column(server_default=text("0"))
    skip_count: Mapped[int] = mapped_column(server_default=text("0"))
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    long_wait_flagged_at: Mapped[datetime | None]
    distance_m: Mapped[int | None]  # from the geofence centre, when the scan sent a position
    outside_geofence: Mapped[bool] = mapped_column(server_default=text("false"))


class TicketCounter(TenantOwned, Base):
    __tablename__ = "checkin_ticket_counters"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "location_id", "local_day"),
        _location_fk("checkin_ticket_counters"),
    )

    location_id: Mapped[uuid.UUID]
    local_day: Mapped[date]
    last_number: Mapped[int]
