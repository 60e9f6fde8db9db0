"""What every waitlist use case does to an entry: find it for a caller, show it, end it.

The entry use cases (`service`) and the offers (`offers`) both build on this
module, which imports neither. Callers own the unit of work; nothing here
commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from clinicflow.audit import service as audit
from clinicflow.errors import NotFound
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.waitlist import policy as access
from clinicflow.waitlist import scoring
from clinicflow.waitlist.models import WaitlistEntry
from clinicflow.waitlist.notices import WaitlistEvent, emit
from clinicflow.waitlist.policies import weights_for
from clinicflow.waitlist.repository import LIVE, EntryRepository, PolicyRepository
from clinicflow.waitlist.schemas import EntryRead, EntryStatus, WindowIn


def entry_read(entry: WaitlistEntry, weights: scoring.Weights, now: datetime) -> EntryRead:
    """The entry as the API shows it, scored at `now` with `weights`."""
    return EntryRead(
        id=entry.id,
        clinic_id=entry.clinic_id,
        doctor_id=entry.doctor_id,
        patient_id=entry.patient_id,
        status=EntryStatus(entry.status),
        priority_tier=entry.priority_tier,
        chronic_condition=entry.chronic_condition,
        boost=entry.boost,
        pinned=entry.pinned,
        score=round(scoring.score(weights, entry.priority_key, now), 3),
        window=WindowIn(
            date_from=entry.window_from,
            date_to=entry.window_to,
            weekdays=list(entry.weekdays),
            day_parts=list(entry.day_parts),
        ),
        notes=entry.notes,
        metadata=entry.entry_metadata,
        expires_at=entry.expires_at,
        respond_by=entry.respond_by,
        offered_appointment_id=entry.offered_appointment_id,
        promoted_appointment_id=entry.promoted_appointment_id,
        created_at=entry.created_at,
    )


async def read_entry(uow: UnitOfWork, entry: WaitlistEntry, now: datetime) -> EntryRead:
    """The entry as the API shows it, scored with its clinic's current weights."""
    weights = await weights_for(uow, tenant_id=entry.tenant_id, clinic_id=entry.clinic_id)
    return entry_read(entry, weights, now)


async def visible_entry(
    uow: UnitOfWork, principal: TenantPrincipal, entry_id: uuid.UUID, *, lock: bool = False
) -> WaitlistEntry:
    """The entry if the caller may see it (their own, or in a clinic whose queue they read);
    NotFound otherwise, as for one that does not exist. `lock` takes its row lock."""
    entry = await EntryRepository(uow, principal.tenant_id).get(entry_id, for_update=lock)
    if entry is None or not access.may_see(principal, entry):
        raise NotFound("Waitlist entry not found")
    return entry


async def leave_queue(uow: UnitOfWork, entry: WaitlistEntry, status: EntryStatus, now: datetime) -> str:
    """Move an entry to a final status, freeing its place under the cap if it held one; returns
    the status it had. Nothing is audited or announced here: the caller does."""
    previous = entry.status
    if previous in LIVE:
        await PolicyRepository(uow, entry.tenant_id).release_place(entry.clinic_id)
    entry.status = status.value
    entry.respond_by = None
    entry.closed_at = now
    entry.updated_at = now
    return previous


async def close(
    uow: UnitOfWork,
    entry: WaitlistEntry,
    status: EntryStatus,
    *,
    actor: audit.Actor,
    now: datetime,
    event: WaitlistEvent,
    details: dict[str, Any] | None = None,
) -> None:
    """End an entry's life (expired or cancelled), audited and announced once."""
    previous = await leave_queue(uow, entry, status, now)
    await uow.flush()
    await audit.record_change(
        uow,
        actor,
        event.value,
        entry,
        before={"status": previous},
        after={"status": status.value},
        details=details,
    )
    await emit(uow, event, entry, **(details or {}))
