"""Every audit-trail query. The trail is read per tenant; writes only append."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import select

from clinicflow.audit.models import AuditEvent
from clinicflow.audit.schemas import AuditEventRead, AuditFilters
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, read_page

events = AuditEvent.__table__
_INSERT = (
    "INSERT INTO audit_events (id, tenant_id, actor_type, actor_id, action, subject_type, subject_id,"
    " before, after, details, request_id, client_address) VALUES (%(id)s, %(tenant_id)s, %(actor_type)s,"
    " %(actor_id)s, %(action)s, %(subject_type)s, %(subject_id)s, %(before)s, %(after)s, %(details)s,"
    " %(request_id)s, %(client_address)s)"
)
_JSON_COLUMNS = ("before", "after", "details")


class AuditRepository:
    """The audit events of one tenant (`tenant_id` None: the platform's tenant-less events).

    Not a `TenantScopedRepository`: an event's `tenant_id` may be null, so the
    model is not `TenantOwned`; the scoping is the same, every read filters by it.
    """

    def __init__(self, uow: UnitOfWork, tenant_id: uuid.UUID | None) -> None:
        self.uow = uow
        self.tenant_id = tenant_id

    def add(self, event: AuditEvent) -> None:
        if event.tenant_id != self.tenant_id:
            raise ValueError("event belongs to another tenant")
        self.uow.session.add(event)

    @staticmethod
    async def append_on(connection: psycopg.AsyncConnection[Any], row: dict[str, Any]) -> None:
        """Append one event (column values) on a transaction's psycopg connection (pipelines)."""
        values = {k: Jsonb(v) if k in _JSON_COLUMNS and v is not None else v for k, v in row.items()}
        await connection.execute(_INSERT, values)

    async def page(self, filters: AuditFilters, page: PageParams) -> tuple[list[AuditEventRead], str | None]:
        """The tenant's events matching `filters`, oldest first (UUIDv7 order), keyset-paginated."""
        stmt = select(*events.columns).where(events.c.tenant_id == self.tenant_id)
        equal = {
            events.c.actor_id: filters.actor_id,
            events.c.action: filters.action,
            events.c.subject_type: filters.subject_type,
            events.c.subject_id: filters.subject_id,
        }
        stmt = stmt.where(*(column == value for column, value in equal.items() if value is not None))
        if filters.since is not None:
            stmt = stmt.where(events.c.at >= filters.since)
        if filters.until is not None:
            stmt = stmt.where(events.c.at < filters.until)
        return await read_page(self.uow, stmt, AuditEvent.id, page, AuditEventRead)
