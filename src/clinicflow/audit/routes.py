"""`GET /api/v1/audit-events`: the tenant's trail, for administrators."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from clinicflow.audit import policy
from clinicflow.audit import service as audit
from clinicflow.audit.schemas import AuditEventRead, AuditFilters
from clinicflow.identity.access import Requires, Web
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.instants import Instant
from clinicflow.platform.openapi import problems
from clinicflow.platform.pagination import Page, Paging
from clinicflow.platform.routing import PrefixedRouter

router = PrefixedRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit-events", response_model=Page[AuditEventRead], responses=problems(401, 403, 422))
async def list_audit_events(
    principal: Annotated[TenantPrincipal, Depends(Requires(Permission.AUDIT_READ))],
    ctx: Web,
    page: Paging,
    actor_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    subject_type: Annotated[str | None, Query(max_length=40)] = None,
    subject_id: uuid.UUID | None = None,
    since: Annotated[Instant | None, Query(description="Inclusive, RFC 3339 with offset")] = None,
    until: Annotated[Instant | None, Query(description="Exclusive, RFC 3339 with offset")] = None,
) -> Page[AuditEventRead]:
    """Audit events of your tenant, oldest first (tenant-wide `audit:read`); an empty range is 422."""
    policy.ensure_can_read_trail(principal)
    filters = AuditFilters(
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        since=since,
        until=until,
    )
    async with ctx.db.reading() as uow:
        items, cursor = await audit.list_events(
            uow, tenant_id=principal.tenant_id, filters=filters, page=page
        )
    return Page[AuditEventRead](items=items, next_cursor=cursor)
