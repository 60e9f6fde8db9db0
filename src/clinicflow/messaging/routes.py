"""`GET /api/v1/notifications/outbox`: what would have been sent, until providers land."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from clinicflow.identity.access import Requires, Web
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.messaging import policy
from clinicflow.messaging import service as messaging
from clinicflow.messaging.schemas import OutboxMessageRead
from clinicflow.platform.openapi import problems
from clinicflow.platform.pagination import Page, Paging
from clinicflow.platform.routing import PrefixedRouter

router = PrefixedRouter(prefix="/api/v1/notifications", tags=["messaging"])


@router.get("/outbox", response_model=Page[OutboxMessageRead], responses=problems(401, 403, 422))
async def list_outbox(
    principal: Annotated[TenantPrincipal, Depends(Requires(Permission.OUTBOX_READ))],
    ctx: Web,
    page: Paging,
    user_id: uuid.UUID | None = None,
) -> Page[OutboxMessageRead]:
    """Recorded messages of your tenant, oldest first (tenant-wide `outbox:read`)."""
    policy.ensure_can_read_outbox(principal)
    async with ctx.db.reading() as uow:
        items, cursor = await messaging.list_outbox(
            uow, tenant_id=principal.tenant_id, user_id=user_id, page=page
        )
    return Page[OutboxMessageRead](items=items, next_cursor=cursor)
