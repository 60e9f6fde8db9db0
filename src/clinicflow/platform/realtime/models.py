"""The replay log: every published event, kept for a short while (see `platform.realtime`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from clinicflow.platform.db.base import Base, TenantOwned

#: The writing transaction's id (xid8, as a bigint): what the NOTIFY names, so a listener
#: loads exactly the events of the transactions it was told about, whatever their ids.
CURRENT_TRANSACTION = text("(pg_current_xact_id()::text)::bigint")


class RealtimeEvent(TenantOwned, Base):
    """One event on one channel. Ids only in `data`: the stream's clients fetch what they show."""

    __tablename__ = "realtime_events"
    __table_args__ = (
        # Resume (`Last-Event-ID`): a tenant's channels after an id.
        Index("ix_realtime_events_tenant_id_channel_id", "tenant_id", "channel", "id"),
        Index("ix_realtime_events_txid", "txid"),
        Index("ix_realtime_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger, server_default=CURRENT_TRANSACTION)
    channel: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
