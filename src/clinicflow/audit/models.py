"""The audit table. Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE (migration 0003)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from clinicflow.platform.db import Base, IdMixin


class AuditEvent(IdMixin, Base):
    """One thing that happened: who did what to which subject, and what changed.

    `tenant_id` is null only for platform events with no tenant (a platform
    admin's login, a failed login naming an unknown tenant). No foreign keys:
    the trail outlives what it describes.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(
            "actor_type IN ('user', 'platform_admin', 'system', 'anonymous')", name="actor_type_known"
        ),
        Index("ix_audit_events_tenant_id_at", "tenant_id", "at"),
        Index("ix_audit_events_tenant_id_subject", "tenant_id", "subject_type", "subject_id"),
        Index("ix_audit_events_tenant_id_actor_id", "tenant_id", "actor_id"),
    )

    tenant_id: Mapped[uuid.UUID | None]
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String(128))
    client_address: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Free-form context that is not a field change (e.g. the reason of a failed login).
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
