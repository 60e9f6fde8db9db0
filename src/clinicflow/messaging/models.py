"""The notification outbox: what would be sent, recorded by a job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from clinicflow.platform.db import Base, IdMixin, TenantOwned


class OutboxMessage(IdMixin, TenantOwned, Base):
    __tablename__ = "notification_outbox"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms', 'whatsapp', 'push')", name="channel_known"),
        Index("ix_notification_outbox_tenant_id_created_at", "tenant_id", "created_at"),
    )

    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(64))
    # Template variables. Secrets (OTP codes, reset links) are here until a provider
    # delivers them; the outbox is readable by tenant admins only.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    user_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
