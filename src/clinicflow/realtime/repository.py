"""Every query of the realtime domain (stream tickets)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from clinicflow.platform.db import TenantScopedRepository, UnitOfWork
from clinicflow.realtime.models import StreamTicket


@dataclass(frozen=True, slots=True)
class TicketHolder:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


class TicketRepository(TenantScopedRepository[StreamTicket]):
    model = StreamTicket

    def add_ticket(
        self, *, digest: bytes, user_id: uuid.UUID, session_id: uuid.UUID, expires_at: datetime
    ) -> None:
        self.add(
            StreamTicket(
                tenant_id=self.tenant_id,
                digest=digest,
                user_id=user_id,
                session_id=session_id,
                expires_at=expires_at,
            )
        )


async def take_ticket(uow: UnitOfWork, digest: bytes) -> TicketHolder | None:
    """Delete the ticket with this digest and return whose it was: a ticket works once.

    Unscoped by design: the ticket is the credential that tells the tenant.
    """
    stmt = (
        delete(StreamTicket)
        .where(StreamTicket.digest == digest)
        .returning(
            StreamTicket.tenant_id, StreamTicket.user_id, StreamTicket.session_id, StreamTicket.expires_at
        )
    )
    row = (await uow.execute(stmt)).one_or_none()
    if row is None:
        return None
    return TicketHolder(
        tenant_id=row.tenant_id, user_id=row.user_id, session_id=row.session_id, expires_at=row.expires_at
    )


async def delete_expired_tickets(uow: UnitOfWork, *, now: datetime) -> int:
    result = await uow.execute(delete(StreamTicket).where(StreamTicket.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
