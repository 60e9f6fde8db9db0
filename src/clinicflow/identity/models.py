"""Identity tables: users, profiles, role grants, platform admins, sessions and secrets."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Base, IdMixin, TenantOwned, TimestampMixin

_ROLE_LIST = ", ".join(f"'{r.value}'" for r in Role if r is not Role.SUPER_ADMIN)


class User(IdMixin, TimestampMixin, TenantOwned, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Email is unique per tenant, ignoring case.
        Index("uq_users_tenant_id_email_ci", "tenant_id", func.lower(text("email")), unique=True),
        Index("uq_users_tenant_id_id", "tenant_id", "id", unique=True),
        CheckConstraint("position('@' in email) > 1", name="email_shape"),
    )

    email: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    deactivated_at: Mapped[datetime | None]


class RoleGrant(IdMixin, TimestampMixin, TenantOwned, Base):
    """A role held by a user, tenant-wide (`clinic_id` null) or for one clinic."""

    __tablename__ = "role_grants"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_role_grants_user_same_tenant",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_role_grants_clinic_same_tenant",
            ondelete="CASCADE",
        ),
        CheckConstraint(f"role IN ({_ROLE_LIST})", name="role_known"),
        Index(
            "uq_role_grants_scope",
            "tenant_id",
            "user_id",
            "role",
            func.coalesce(text("clinic_id"), text("'00000000-0000-0000-0000-000000000000'::uuid")),
            unique=True,
        ),
    )

    user_id: Mapped[uuid.UUID]
    role: Mapped[str] = mapped_column(String(32))
    clinic_id: Mapped[uuid.UUID | None]


class PlatformAdmin(IdMixin, TimestampMixin, Base):
    """A SUPER_ADMIN: a platform operator who belongs to no tenant and sees no tenant's data."""

    __tablename__ = "platform_admins"
    __table_args__ = (
        Index("uq_platform_admins_email_ci", func.lower(text("email")), unique=True),
        CheckConstraint("position('@' in email) > 1", name="email_shape"),
    )

    email: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))


class StaffProfile(IdMixin, TimestampMixin, TenantOwned, Base):
    """What a staff member is beyond their roles. The clinics a doctor works at are
    the clinics of their clinic-scoped role grants (one source of truth for access)."""

    __tablename__ = "staff_profiles"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_staff_profiles_user_same_tenant",
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID]
    specialty: Mapped[str | None] = mapped_column(String(100))
    license_number: Mapped[str | None] = mapped_column(String(64))


class PatientProfile(IdMixin, TimestampMixin, TenantOwned, Base):
    __tablename__ = "patient_profiles"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_patient_profiles_user_same_tenant",
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID]
    date_of_birth: Mapped[date | None]
    phone: Mapped[str | None] = mapped_column(String(32))
    preferred_language: Mapped[str | None] = mapped_column(String(16))
    # Placeholder until messaging lands: channel opt-ins, quiet hours.
    notification_preferences: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )


class GuardianLink(IdMixin, TenantOwned, Base):
    """A guardian may act for a dependant (a child, a cared-for parent): see their
    appointments and check them in. Managed by staff, audited."""

    __tablename__ = "patient_guardians"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "guardian_id"],
            ["users.tenant_id", "users.id"],
            name="fk_patient_guardians_guardian_same_tenant",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "dependant_id"],
            ["users.tenant_id", "users.id"],
            name="fk_patient_guardians_dependant_same_tenant",
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "guardian_id", "dependant_id"),
        CheckConstraint("guardian_id <> dependant_id", name="not_self"),
        Index("ix_patient_guardians_tenant_id_dependant_id", "tenant_id", "dependant_id"),
    )

    guardian_id: Mapped[uuid.UUID]
    dependant_id: Mapped[uuid.UUID]
    relationship: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AuthSession(IdMixin, Base):
    """A login: the refresh tokens of one device. Revoking it kills its access tokens at once
    (every authenticated request checks the session)."""

    __tablename__ = "auth_sessions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_auth_sessions_user_same_tenant",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["platform_admin_id"], ["platform_admins.id"], name="fk_auth_sessions_platform_admin"
        ),
        # Either a tenant user's session or a platform admin's, never both.
        CheckConstraint(
            "(tenant_id IS NOT NULL AND user_id IS NOT NULL AND platform_admin_id IS NULL)"
            " OR (tenant_id IS NULL AND user_id IS NULL AND platform_admin_id IS NOT NULL)",
            name="one_subject",
        ),
        Index("ix_auth_sessions_tenant_id_user_id", "tenant_id", "user_id"),
        Index("ix_auth_sessions_platform_admin_id", "platform_admin_id"),
    )

    tenant_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None]
    platform_admin_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    client_address: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(IdMixin, Base):
    """One refresh token of a session, stored as a SHA-256 hash. Spent on use; a spent
    token presented again means it was stolen: the whole session is revoked."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_session_id", "session_id"),)

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    spent_at: Mapped[datetime | None]


class OneTimeSecret(IdMixin, TenantOwned, Base):
    """A hashed one-time secret: an OTP code or a password-reset token.

    Single use (`consumed_at`), expiring, with a bounded number of attempts.
    """

    __tablename__ = "one_time_secrets"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_one_time_secrets_user_same_tenant",
            ondelete="CASCADE",
        ),
        CheckConstraint("purpose IN ('otp', 'password_reset')", name="purpose_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_one_time_secrets_tenant_id_user_id_purpose", "tenant_id", "user_id", "purpose"),
        Index("ix_one_time_secrets_secret_hash", "secret_hash"),
    )

    user_id: Mapped[uuid.UUID]
    purpose: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    consumed_at: Mapped[datetime | None]
