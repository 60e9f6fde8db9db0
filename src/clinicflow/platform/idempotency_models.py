"""Stored answers of writes sent with an `Idempotency-Key` (see platform.idempotency)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from clinicflow.platform.db.base import Base, IdMixin, TenantOwned


class IdempotencyRecord(IdMixin, TenantOwned, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "caller_id", "scope", "key"),)

    caller_id: Mapped[uuid.UUID]
    scope: Mapped[str] = mapped_column(String(100))  # the operation, e.g. "POST /api/v1/appointments"
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
