"""Every messaging query: the outbox of one tenant."""

from __future__ import annotations

import uuid

from clinicflow.messaging.models import OutboxMessage
from clinicflow.messaging.schemas import OutboxMessageRead
from clinicflow.platform.db import TenantScopedRepository
from clinicflow.platform.pagination import PageParams, read_page

outbox = OutboxMessage.__table__


class OutboxRepository(TenantScopedRepository[OutboxMessage]):
    model = OutboxMessage

    async def page(
        self, page: PageParams, *, user_id: uuid.UUID | None
    ) -> tuple[list[OutboxMessageRead], str | None]:
        """The tenant's recorded messages (optionally one user's), oldest first."""
        stmt = self.select_columns()
        if user_id is not None:
            stmt = stmt.where(outbox.c.user_id == user_id)
        return await read_page(self.uow, stmt, OutboxMessage.id, page, OutboxMessageRead)
