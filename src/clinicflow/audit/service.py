"""Writing and reading the audit trail.

`record` adds the event to the caller's unit of work: it commits with the
change it describes, or not at all. `queue_change` does the same on the
transaction's psycopg connection, for core paths that batch their
statements. Request id and client address come from
the request context (empty in jobs and CLI commands).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import psycopg

from clinicflow.audit.models import AuditEvent
from clinicflow.audit.repository import AuditRepository
from clinicflow.audit.schemas import AuditEventRead, AuditFilters
from clinicflow.platform.context import client_address_var, request_id_var
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.ids import uuid7
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


def _row(
    tenant_id: uuid.UUID | None,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID | None,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    """One audit event's column values, JSON-ready, with the request's id and address."""
    return {
        "id": uuid7(),
        "tenant_id": tenant_id,
        "actor_type": actor.type.value,
        "actor_id": actor.id,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "before": to_jsonable(before) if before is not None else None,
        "after": to_jsonable(after) if after is not None else None,
        "details": to_jsonable(details or {}),
        "request_id": request_id_var.get(),
        "client_address": client_address_var.get(),
    }


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
            **_row(
                tenant_id=tenant_id,
                actor=actor,
                action=action,
                subject_type=subject_type,
                subject_id=subject_id,
                before=before,
                after=after,
                details=details,
            )
        )
    )


class Subject(Protocol):
    """What an audit event is about: any tenant-owned row (ORM object or read model)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def tenant_id(self) -> uuid.UUID: ...


def _change(
    actor: Actor,
    action: str,
    subject: Subject,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    """The row of a change to `subject`: its tenant and id, the type named by the action's prefix."""
    kind = action.partition(".")[0]
    return _row(
        subject.tenant_id, actor, action, kind, subject.id, before=before, after=after, details=details
    )


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
    AuditRepository(uow, subject.tenant_id).add(
        AuditEvent(**_change(actor, action, subject, before=before, after=after, details=details))
    )


async def queue_change(
    connection: psycopg.AsyncConnection[Any],
    actor: Actor,
    action: str,
    subject: Subject,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """`record_change` sent on the transaction's psycopg connection instead of the ORM session.

    For core paths batching their statements in a pipeline: the event travels with the
    change it describes, in the same round trip and the same transaction.
    """
    row = _change(actor, action, subject, before=before, after=after, details=details)
    await AuditRepository.append_on(connection, row)


async def list_events(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, filters: AuditFilters, page: PageParams
) -> tuple[list[AuditEventRead], str | None]:
    """The tenant's events, oldest first (UUIDv7 order), filtered, keyset-paginated."""
    return await AuditRepository(uow, tenant_id).page(filters, page)
