"""Writing and reading the audit trail.

`record` adds the event to the caller's unit of work: it commits with the
change it describes, or not at all. Request id and client address come from
the request context (empty in jobs and CLI commands).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from clinicflow.audit.models import AuditEvent
from clinicflow.audit.repository import AuditRepository
from clinicflow.audit.schemas import AuditEventRead, AuditFilters
from clinicflow.platform.context import client_address_var, request_id_var
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.jsonable import to_jsonable
from clinicflow.platform.pagination import PageParams


class ActorType(StrEnum):
    USER = "user"
    PLATFORM_ADMIN = "platform_admin"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Actor:
    type: ActorType
    id: uuid.UUID | None = None


ANONYMOUS = Actor(ActorType.ANONYMOUS)
SYSTEM = Actor(ActorType.SYSTEM)


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, as JSON-ready (before, after) dicts."""
    keys = [k for k in after if before.get(k) != after[k]]
    return ({k: to_jsonable(before.get(k)) for k in keys}, {k: to_jsonable(after[k]) for k in keys})


async def record(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID | None,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit event to the unit of work (committed with it, or not at all)."""
    AuditRepository(uow, tenant_id).add(
        AuditEvent(
            tenant_id=tenant_id,
            actor_type=actor.type.value,
            actor_id=actor.id,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            before=to_jsonable(before) if before is not None else None,
            after=to_jsonable(after) if after is not None else None,
            details=to_jsonable(details or {}),
            request_id=request_id_var.get(),
            client_address=client_address_var.get(),
        )
    )


class Subject(Protocol):
    """What an audit event is about: any tenant-owned row (ORM object or read model)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def tenant_id(self) -> uuid.UUID: ...


async def record_change(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    subject: Subject,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit a change to one tenant-owned row, in the caller's unit of work.

    `action` is `<subject type>.<verb>` (`appointment.cancelled`): the subject
    type is its first part, the tenant and id come from the row.
    """
    await record(
        uow,
        tenant_id=subject.tenant_id,
        actor=actor,
        action=action,
        subject_type=action.partition(".")[0],
        subject_id=subject.id,
        before=before,
        after=after,
        details=details,
    )


async def list_events(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, filters: AuditFilters, page: PageParams
) -> tuple[list[AuditEventRead], str | None]:
    """The tenant's events, oldest first (UUIDv7 order), filtered, keyset-paginated."""
    return await AuditRepository(uow, tenant_id).page(filters, page)
