"""The audit trail in the admin console: the tenant's events, filtered by actor (an email or
a user id), action, subject and a range of days (UTC), a page at a time, each row readable:
who (by name), what, on which subject (linked), and what changed.

The trail is tenant-wide: only tenant-wide `audit:read` opens it (tenant administrators).
Events come oldest first, as the audit service pages them (UUIDv7 order); narrow the days
to see recent ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from clinicflow.audit import policy as audit_access
from clinicflow.audit import service as audit
from clinicflow.audit.schemas import AuditEventRead, AuditFilters
from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.identity import directory
from clinicflow.identity import service as identity
from clinicflow.identity.access import context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.instants import calendar_day
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.web.admin.common import clinic_names, errors_of, next_link, page, page_params
from clinicflow.web.admin.gate import TrailPage
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
Filter = Annotated[str | None, Query(max_length=320)]
FILTERS = ("actor", "action", "subject_type", "subject_id", "since", "until")
_ACTORS = {
    "platform_admin": "Platform administrator",
    "system": "Clinicflow (system)",
    "anonymous": "Anonymous",
}
#: Where a subject of the trail can be opened in the console.
_LINKS = {"user": "/admin/users/{}", "clinic": "/admin/clinics/{}", "location": "/admin/locations/{}"}


@dataclass(frozen=True, slots=True)
class Row:
    """One audit event as the page shows it."""

    at: datetime
    actor: str
    action: str
    subject: str
    link: str | None
    changes: list[str]


def _uuid(value: str, field: str, problems: list[FieldProblem]) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        problems.append(FieldProblem(field=field, message="must be an id such as 0190c6e2-…"))
        return None


def _day(value: str, field: str, problems: list[FieldProblem]) -> date | None:
    try:
        return calendar_day(date.fromisoformat(value))
    except ValueError as invalid:
        message = str(invalid) if "between" in str(invalid) else "must be a day, e.g. 2026-05-04"
        problems.append(FieldProblem(field=field, message=message))
        return None


async def _actor(
    uow: UnitOfWork, principal: TenantPrincipal, value: str, problems: list[FieldProblem]
) -> uuid.UUID | None:
    """The actor filter: a user's email (any case) or id."""
    if "@" not in value:
        return _uuid(value, "actor", problems)
    found = await identity.user_id_by_email(uow, tenant_id=principal.tenant_id, email=value)
    if found is None:
        problems.append(FieldProblem(field="actor", message="no user has this email"))
    return found


async def filters_of(uow: UnitOfWork, principal: TenantPrincipal, values: dict[str, str]) -> AuditFilters:
    """The form's filters as the audit service's; ValidationFailed naming each bad field.
    Days are UTC, `until` inclusive."""
    problems: list[FieldProblem] = []
    actor = await _actor(uow, principal, values["actor"], problems) if values["actor"] else None
    subject = _uuid(values["subject_id"], "subject_id", problems) if values["subject_id"] else None
    since = _day(values["since"], "since", problems) if values["since"] else None
    until = _day(values["until"], "until", problems) if values["until"] else None
    if problems:
        raise ValidationFailed("Some filters are not valid", errors=problems)
    return AuditFilters(
        actor_id=actor,
        action=values["action"] or None,
        subject_type=values["subject_type"] or None,
        subject_id=subject,
        since=datetime.combine(since, time.min, tzinfo=UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) if until else None,
    )


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def changes_of(event: AuditEventRead) -> list[str]:
    """ "field: before → after" for each changed field, then the event's details."""
    before, after = event.before or {}, event.after or {}
    lines = [
        f"{name}: {_shown(before[name])} → {_shown(value)}" if name in before else f"{name}: {_shown(value)}"
        for name, value in after.items()
    ]
    return lines + [f"{name}: {_shown(value)}" for name, value in event.details.items()]


async def readable(uow: UnitOfWork, principal: TenantPrincipal, events: list[AuditEventRead]) -> list[Row]:
    """The events with names for their actors and subjects (users and clinics)."""
    wanted = {e.actor_id for e in events if e.actor_type == "user" and e.actor_id is not None} | {
        e.subject_id for e in events if e.subject_type == "user" and e.subject_id is not None
    }
    contacts = await directory.contacts_of(uow, tenant_id=principal.tenant_id, user_ids=wanted)
    people = {
        user_id: f"{contacts[user_id].full_name} ({contacts[user_id].email})"
        if user_id in contacts
        else f"user {user_id}"
        for user_id in wanted
    }
    clinics = await clinic_names(uow, principal)
    rows = []
    for e in events:
        actor = people.get(e.actor_id, "a user") if e.actor_id else _ACTORS.get(e.actor_type, e.actor_type)
        names = people if e.subject_type == "user" else clinics if e.subject_type == "clinic" else {}
        subject = names.get(e.subject_id) if e.subject_id else None
        label = f"{e.subject_type.replace('_', ' ')}: {subject or e.subject_id or '-'}"
        link = (
            _LINKS[e.subject_type].format(e.subject_id) if e.subject_type in _LINKS and e.subject_id else None
        )
        rows.append(Row(e.at, actor, e.action, label, link, changes_of(e)))
    return rows


@router.get("/audit")
async def audit_trail(
    request: Request,
    principal: TrailPage,
    actor: Filter = None,
    action: Filter = None,
    subject_type: Filter = None,
    subject_id: Filter = None,
    since: Filter = None,
    until: Filter = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The tenant's audit events, filtered, oldest first, a page at a time."""
    audit_access.ensure_can_read_trail(principal)
    given = {"actor": actor, "action": action, "subject_type": subject_type, "subject_id": subject_id}
    values = {k: (v or "").strip() for k, v in {**given, "since": since, "until": until}.items()}
    ctx = context_of(request)
    async with ctx.db.reading() as uow:
        try:
            filters = await filters_of(uow, principal, values)
        except ValidationFailed as refused:
            context: dict[str, Any] = {"values": values, "errors": errors_of(refused), "rows": []}
            return page(request, "admin/audit.html", context, status_code=refused.status)
        events, next_cursor = await audit.list_events(
            uow, tenant_id=principal.tenant_id, filters=filters, page=page_params(cursor)
        )
        rows = await readable(uow, principal, events)
    context = {"values": values, "rows": rows, "next": next_link(request, next_cursor)}
    return page(request, "admin/audit.html", context)
