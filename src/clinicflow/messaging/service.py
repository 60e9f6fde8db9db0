"""Messaging use cases. Callers own the unit of work; nothing here commits."""

from __future__ import annotations

import uuid
from typing import Any

from clinicflow.messaging.repository import OutboxRepository
from clinicflow.messaging.schemas import Channel, OutboxMessageRead
from clinicflow.messaging.tasks import send
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.ids import uuid7
from clinicflow.platform.jobs import defer
from clinicflow.platform.pagination import PageParams


async def queue_message(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    channel: Channel,
    recipient: str,
    template: str,
    payload: dict[str, Any],
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Hand a message to delivery as a job in the caller's transaction; returns the message id.

    Nothing is sent if the transaction rolls back.
    """
    message_id = uuid7()
    await defer(
        uow,
        send,
        message_id=str(message_id),
        tenant_id=str(tenant_id),
        channel=channel.value,
        recipient=recipient,
        template=template,
        payload=payload,
        user_id=str(user_id) if user_id else None,
    )
    return message_id


async def list_outbox(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, user_id: uuid.UUID | None, page: PageParams
) -> tuple[list[OutboxMessageRead], str | None]:
    """The tenant's recorded messages, oldest first, optionally for one user."""
    return await OutboxRepository(uow, tenant_id).page(page, user_id=user_id)
