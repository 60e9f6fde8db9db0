"""Waitlist tables. The database allows one live (active or invited) entry per patient and
target (clinic + doctor, or the clinic's general list when no doctor)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, composite, mapped_column

from clinicflow.platform.db import Base, IdMixin, TenantOwned, TimestampMixin
from clinicflow.waitlist.scoring import Weights

LIVE_SQL = "status IN ('active', 'invited')"


class WaitlistPolicy(IdMixin, TimestampMixin, TenantOwned, Base):
    __tablename__ = "waitlist_policies"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_waitlist_policies_clinic_same_tenant",
        ),
        UniqueConstraint("tenant_id", "clinic_id"),
        CheckConstraint("max_queue_size BETWEEN 1 AND 1000000", name="queue_size"),
        CheckConstraint("live_entries >= 0", name="live_entries"),
        CheckConstraint("auto_expiry_hours BETWEEN 1 AND 8760", name="expiry"),
        CheckConstraint("offer_response_minutes BETWEEN 1 AND 10080", name="response"),
        CheckConstraint(
            "weight_wait >= 0 AND weight_tier >= 0 AND weight_chronic >= 0 AND weight_fit >= 0",
            name="weights",
        ),
    )

    clinic_id: Mapped[uuid.UUID]
    max_queue_size: Mapped[int] = mapped_column(server_default=text("500"))
    auto_expiry_hours: Mapped[int] = mapped_column(server_default=text("720"))
    offer_response_minutes: Mapped[int] = mapped_column(server_default=text("120"))
    auto_offer: Mapped[bool] = mapped_column(server_default=text("true"))
    weight_wait: Mapped[float] = mapped_column(Float, server_default=text("1"))
    weight_tier: Mapped[float] = mapped_column(Float, server_default=text("24"))
    weight_chronic: Mapped[float] = mapped_column(Float, server_default=text("48"))
    weight_fit: Mapped[float] = mapped_column(Float, server_default=text("12"))
    weights: Mapped[Weights] = composite("weight_wait", "weight_tier", "weight_chronic", "weight_fit")
    quiet_start: Mapped[time | None]
    quiet_end: Mapped[time | None]
    templates: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # How many entries are live (active or invited): joins check the cap against this
    # counter under the row lock instead of counting a queue that may hold 100k rows.
    live_entries: Mapped[int] = mapped_column(server_default=text("0"))


class WaitlistEntry(IdMixin, TimestampMixin, TenantOwned, Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_waitlist_entries_clinic_same_tenant",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["users.tenant_id", "users.id"],
            name="fk_waitlist_entries_patient_same_tenant",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "doctor_id"],
            ["users.tenant_id", "users.id"],
            name="fk_waitlist_entries_doctor_same_tenant",
        ),
        CheckConstraint(
            "status IN ('active', 'invited', 'promoted', 'expired', 'cancelled')", name="status_known"
        ),
        CheckConstraint("priority_tier BETWEEN 0 AND 5", name="tier_range"),
        CheckConstraint(
            "window_to IS NULL OR window_from IS NULL OR window_to >= window_from", name="window"
        ),
        CheckConstraint("(status = 'invited') = (respond_by IS NOT NULL)", name="invitation_deadline"),
        # The queue, in priority order, for one clinic and status.
        Index(
            "ix_waitlist_entries_queue",
            "tenant_id",
            "clinic_id",
            "status",
            text("priority_key DESC"),
            "created_at",
        ),
        Index("ix_waitlist_entries_tenant_id_patient_id_status", "tenant_id", "patient_id", "status"),
        Index(
            "uq_waitlist_entries_live_target",
            "tenant_id",
            "patient_id",
            "clinic_id",
            func.coalesce(text("doctor_id"), text("'00000000-0000-0000-0000-000000000000'::uuid")),
            unique=True,
            postgresql_where=text(LIVE_SQL),
        ),
        Index("ix_waitlist_entries_respond_by", "respond_by", postgresql_where=text("status = 'invited'")),
        Index("ix_waitlist_entries_expires_at", "expires_at", postgresql_where=text("status = 'active'")),
    )

    clinic_id: Mapped[uuid.UUID]
    doctor_id: Mapped[uuid.UUID | None]
    patient_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    priority_tier: Mapped[int] = mapped_column(server_default=text("0"))
    chronic_condition: Mapped[bool] = mapped_column(server_default=text("false"))
    boost: Mapped[float] = mapped_column(Float, server_default=text("0"))
    pinned: Mapped[bool] = mapped_column(server_default=text("false"))
    priority_key: Mapped[float] = mapped_column(Float)
    window_from: Mapped[date | None]
    window_to: Mapped[date | None]
    weekdays: Mapped[list[int]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    day_parts: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    notes: Mapped[str | None] = mapped_column(Text)
    entry_metadata: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    expires_at: Mapped[datetime]
    respond_by: Mapped[datetime | None]
    offered_appointment_id: Mapped[uuid.UUID | None]
    promoted_appointment_id: Mapped[uuid.UUID | None]
    promoted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]  # when it became promoted, expired or cancelled


class WaitlistOffer(IdMixin, TenantOwned, Base):
    """One invitation of one entry to one freed slot, and how it ended. A slot is not offered
    twice to the same entry."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        CheckConstraint("outcome IN ('pending', 'accepted', 'declined', 'expired')", name="outcome_known"),
        UniqueConstraint("tenant_id", "entry_id", "doctor_id", "starts_at"),
        Index("ix_waitlist_offers_tenant_id_doctor_id_starts_at", "tenant_id", "doctor_id", "starts_at"),
    )

    entry_id: Mapped[uuid.UUID]
    appointment_id: Mapped[uuid.UUID]
    clinic_id: Mapped[uuid.UUID]
    doctor_id: Mapped[uuid.UUID]
    starts_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20), server_default=text("'pending'"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    decided_at: Mapped[datetime | None]
