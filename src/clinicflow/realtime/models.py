"""Stream tickets: what an API client exchanges its bearer token for, to open one SSE stream."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, LargeBinary, func
from sqlalchemy.orm import Mapped, mapped_column

from clinicflow.platform.db.base import Base, TenantOwned


class StreamTicket(TenantOwned, Base):
    """A short-lived, single-use ticket; only its SHA-256 is stored."""

    __tablename__ = "realtime_stream_tickets"
    __table_args__ = (
        Index("ix_realtime_stream_tickets_tenant_id_user_id", "tenant_id", "user_id"),
        Index("ix_realtime_stream_tickets_expires_at", "expires_at"),
    )

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[uuid.UUID]
    session_id: Mapped[uuid.UUID]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
