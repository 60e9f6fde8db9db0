"""Identity tables: users and their role grants."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, func, text
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
