"""Tenancy tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from clinicflow.platform.db import Base, IdMixin, TenantOwned, TimestampMixin


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class LocationKind(StrEnum):
    SITE = "site"
    ROOM = "room"
    CHECKIN_DESK = "checkin_desk"
    WAITING_AREA = "waiting_area"


class Tenant(IdMixin, TimestampMixin, Base):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="slug_format"),
        CheckConstraint("status IN ('active', 'suspended')", name="status_known"),
    )

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    status: Mapped[str] = mapped_column(String(20), server_default=TenantStatus.ACTIVE.value)

    @property
    def tenant_id(self) -> uuid.UUID:
        """A tenant is its own tenant: its audit events are in its own trail."""
        return self.id


class Clinic(IdMixin, TimestampMixin, TenantOwned, Base):
    __tablename__ = "clinics"
    __table_args__ = (
        # (tenant_id, id) is the target of same-tenant foreign keys from child tables.
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="slug_format"),
        CheckConstraint(
            "max_daily_appointments IS NULL OR max_daily_appointments > 0", name="daily_capacity"
        ),
        CheckConstraint(
            "max_concurrent_patients IS NULL OR max_concurrent_patients > 0",
            name="concurrent_capacity",
        ),
        Index(
            "uq_clinics_tenant_id_slug_live",
            "tenant_id",
            "slug",
            unique=True,
            postgresql_where=text("archived_at IS NULL"),
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63))
    timezone: Mapped[str] = mapped_column(String(64))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country_code: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(32))
    max_daily_appointments: Mapped[int | None]
    max_concurrent_patients: Mapped[int | None]
    archived_at: Mapped[datetime | None]


class ClinicLocation(IdMixin, TimestampMixin, TenantOwned, Base):
    __tablename__ = "clinic_locations"
    __table_args__ = (
        # The clinic must belong to the same tenant: enforced by the database.
        ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_clinic_locations_clinic_same_tenant",
            ondelete="RESTRICT",
        ),
        # (tenant_id, id) is the target of same-tenant foreign keys (appointments, check-ins).
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("kind IN ('site', 'room', 'checkin_desk', 'waiting_area')", name="kind_known"),
        CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude IS NULL OR longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates_paired"),
        CheckConstraint("radius_m IS NULL OR radius_m BETWEEN 1 AND 10000", name="radius_range"),
        Index("ix_clinic_locations_tenant_id_clinic_id", "tenant_id", "clinic_id"),
    )

    clinic_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    radius_m: Mapped[int | None]
    archived_at: Mapped[datetime | None]
