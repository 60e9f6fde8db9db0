"""Messaging jobs. Until providers land, `messaging.send` records the message in the outbox."""

from __future__ import annotations

import uuid
from typing import Any

from clinicflow.messaging.models import OutboxMessage
from clinicflow.messaging.repository import OutboxRepository
from clinicflow.platform import runtime
from clinicflow.platform.jobs import DEFAULT_RETRY, job_app


@job_app.task(name="messaging.send", queue="messaging", retry=DEFAULT_RETRY)
async def send(
    *,
    message_id: str,
    tenant_id: str,
    channel: str,
    recipient: str,
    template: str,
    payload: dict[str, Any],
    user_id: str | None = None,
) -> None:
    """Deliver one message. Idempotent: the message id is the outbox row's id."""
    async with runtime.database().transaction() as uow:
        outbox = OutboxRepository(uow, uuid.UUID(tenant_id))
        if await outbox.get(uuid.UUID(message_id)) is not None:
            return  # a retry after a commit that the worker did not see
        outbox.add(
            OutboxMessage(
                id=uuid.UUID(message_id),
                tenant_id=uuid.UUID(tenant_id),
                channel=channel,
                recipient=recipient,
                template=template,
                payload=payload,
                user_id=uuid.UUID(user_id) if user_id else None,
            )
        )
