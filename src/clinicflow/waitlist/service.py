"""Waitlist entries: joining, the queue, one entry, a patient's history, changes.

Callers own the unit of work; nothing here commits. Every change writes one
audit event and emits one waitlist event in the same transaction.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, NotFound, ValidationFailed
from clinicflow.identity import directory
from clinicflow.identity import policy as identity_policy
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, page_of
from clinicflow.tenancy import service as tenancy
from clinicflow.waitlist import offers, scoring
from clinicflow.waitlist import policy as access
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.waitlist.errors import EntryClosed, WaitlistFull
from clinicflow.waitlist.lifecycle import close, entry_read, read_entry, visible_entry
from clinicflow.waitlist.models import WaitlistEntry, WaitlistPolicy
from clinicflow.waitlist.notices import WaitlistEvent, emit
from clinicflow.waitlist.policies import weights_for
from clinicflow.waitlist.repository import LIVE, EntryRepository, PolicyRepository, QueuePosition
from clinicflow.waitlist.schemas import EntryPatch, EntryRead, EntryStatus, JoinIn

P = Permission


async def _check_target(uow: UnitOfWork, principal: TenantPrincipal, data: JoinIn) -> None:
    """The clinic exists and the caller sees it (422 'no such clinic' otherwise)."""
    tenant_id = principal.tenant_id
    if not access.may_join_at(principal, data.clinic_id) or not await tenancy.clinic_exists(
        uow, tenant_id=tenant_id, clinic_id=data.clinic_id
    ):
        raise ValidationFailed(
            "No such clinic", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
        )


async def _check_doctor(uow: UnitOfWork, principal: TenantPrincipal, data: JoinIn) -> None:
    """The doctor, if one is named, practises at the clinic (422 otherwise)."""
    if data.doctor_id is None:
        return
    clinics = await directory.doctor_clinics(uow, tenant_id=principal.tenant_id, user_id=data.doctor_id)
    if None not in clinics and data.clinic_id not in clinics:
        raise ValidationFailed(
            "This doctor does not practise at this clinic",
            errors=[FieldProblem(field="doctor_id", message="not a doctor of this clinic")],
        )


async def _take_place(uow: UnitOfWork, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> WaitlistPolicy:
    """One more live entry under the clinic's cap (409 WAITLIST_FULL at the cap), counted
    under the policy's row lock, so concurrent joins of one clinic never pass it."""
    policy = await PolicyRepository(uow, tenant_id).ensure(clinic_id, lock=True)
    if policy.live_entries >= policy.max_queue_size:
        raise WaitlistFull(
            f"The waitlist holds at most {policy.max_queue_size} patients", limit=policy.max_queue_size
        )
    policy.live_entries += 1
    return policy


def _new_entry(
    data: JoinIn, *, tenant_id: uuid.UUID, patient_id: uuid.UUID, policy: WaitlistPolicy, now: datetime
) -> WaitlistEntry:
    key = scoring.order_key(
        policy.weights,
        tier=data.priority_tier,
        chronic=data.chronic_condition,
        boost=0,
        pinned=False,
        joined=now,
    )
    return WaitlistEntry(
        tenant_id=tenant_id,
        clinic_id=data.clinic_id,
        doctor_id=data.doctor_id,
        patient_id=patient_id,
        status=EntryStatus.ACTIVE.value,
        priority_tier=data.priority_tier,
        chronic_condition=data.chronic_condition,
        boost=0.0,
        pinned=False,
        priority_key=key,
        window_from=data.window.date_from,
        window_to=data.window.date_to,
        weekdays=sorted(set(data.window.weekdays)),
        day_parts=sorted(set(data.window.day_parts)),
        notes=data.notes,
        entry_metadata=data.metadata,
        expires_at=now + timedelta(hours=policy.auto_expiry_hours),
        created_at=now,
        updated_at=now,
    )


async def join(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, data: JoinIn
) -> EntryRead:
    """Put a patient on a clinic's (or one doctor's) waitlist.

    One live entry per patient and target (409 WAITLIST_DUPLICATE, by a unique
    index); at most `max_queue_size` live entries per clinic (409 WAITLIST_FULL,
    exact under concurrency: joins of one clinic serialise on its policy row).
    Audited (`waitlist.joined`) and announced in the same transaction.
    """
    tenant_id = principal.tenant_id
    await _check_target(uow, principal, data)
    patient_id = await identity_policy.resolve_patient(
        uow,
        principal,
        clinic_id=data.clinic_id,
        patient_id=data.patient_id,
        staff=P.WAITLIST_MANAGE,
        self_service=P.WAITLIST_SELF,
        doing="join the waitlist",
    )
    await _check_doctor(uow, principal, data)
    policy = await _take_place(uow, tenant_id, data.clinic_id)
    now = cfg.clock.now()
    entry = EntryRepository(uow, tenant_id).add(
        _new_entry(data, tenant_id=tenant_id, patient_id=patient_id, policy=policy, now=now)
    )
    await uow.flush()  # the live-target unique index speaks here
    after = {"clinic_id": entry.clinic_id, "doctor_id": entry.doctor_id, "patient_id": patient_id}
    await audit.record_change(uow, principal.actor, "waitlist.joined", entry, after=after)
    await emit(uow, WaitlistEvent.JOINED, entry)
    return entry_read(entry, policy.weights, now)


async def get_entry(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, entry_id: uuid.UUID
) -> EntryRead:
    """One entry the caller may see (404 otherwise). Reads only."""
    entry = await visible_entry(uow, principal, entry_id)
    return await read_entry(uow, entry, cfg.clock.now())


def _cursor(entry: WaitlistEntry) -> str:
    raw = json.dumps([entry.priority_key, entry.created_at.isoformat(), str(entry.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor: str) -> QueuePosition:
    try:
        key, created, entry_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return QueuePosition(float(key), datetime.fromisoformat(created), uuid.UUID(entry_id))
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(
            "The cursor is not valid", errors=[FieldProblem(field="cursor", message="not a cursor")]
        ) from exc


async def list_queue(
    uow: UnitOfWork,
    cfg: WaitlistConfig,
    principal: TenantPrincipal,
    *,
    clinic_id: uuid.UUID,
    doctor_id: uuid.UUID | None,
    status: EntryStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[EntryRead], str | None]:
    """A clinic's entries in priority order (pinned, then score, then join time), keyset-paginated.
    Readers of the clinic's queue only (404 for the rest). Reads only."""
    access.check_reads_queue(principal, clinic_id)
    weights = await weights_for(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
    rows = await EntryRepository(uow, principal.tenant_id).queue(
        clinic_id=clinic_id,
        status=status or EntryStatus.ACTIVE,
        doctor_id=doctor_id,
        after=_position(cursor) if cursor else None,
        limit=limit + 1,
    )
    now = cfg.clock.now()
    items = rows[:limit]
    return [entry_read(e, weights, now) for e in items], _cursor(items[-1]) if len(
        rows
    ) > limit and items else None


async def patient_history(
    uow: UnitOfWork,
    cfg: WaitlistConfig,
    principal: TenantPrincipal,
    *,
    patient_id: uuid.UUID,
    page: PageParams,
) -> tuple[list[EntryRead], str | None]:
    """One page of a patient's entries, newest first: their own, or those in clinics the caller
    reads. 404 for a patient the caller may not look up, or no patient at all. Reads only."""
    clinics = access.history_clinics(principal, patient_id)
    if not await directory.is_patient(uow, tenant_id=principal.tenant_id, user_id=patient_id):
        raise NotFound("Patient not found")
    fetched = await EntryRepository(uow, principal.tenant_id).of_patient(
        patient_id, clinics=clinics, page=page
    )
    entries, cursor = page_of(fetched, page)
    weights: dict[uuid.UUID, scoring.Weights] = {}
    for clinic_id in {entry.clinic_id for entry in entries}:
        weights[clinic_id] = await weights_for(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
    now = cfg.clock.now()
    return [entry_read(e, weights[e.clinic_id], now) for e in entries], cursor


def _apply(entry: WaitlistEntry, data: EntryPatch) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set the patch's fields on the entry; returns (before, after) of what it set."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if data.notes is not None:
        values["notes"] = data.notes
    if data.window is not None:
        values["window_from"] = data.window.date_from
        values["window_to"] = data.window.date_to
        values["weekdays"] = sorted(set(data.window.weekdays))
        values["day_parts"] = sorted(set(data.window.day_parts))
    if data.boost is not None:
        values["boost"] = data.boost
    if data.pinned is not None:
        values["pinned"] = data.pinned
    for field, value in values.items():
        before[field] = getattr(entry, field)
        after[field] = value
        setattr(entry, field, value)
    return before, after


async def _cancel(
    uow: UnitOfWork, principal: TenantPrincipal, entry: WaitlistEntry, *, now: datetime
) -> None:
    if entry.status == EntryStatus.INVITED.value:  # an invited entry's hold goes with it
        await offers.withdraw_offer(
            uow, entry, outcome="declined", actor=principal.actor, reason="entry cancelled", now=now
        )
    by = access.cancelled_by(principal, entry)
    await close(
        uow,
        entry,
        EntryStatus.CANCELLED,
        actor=principal.actor,
        now=now,
        event=WaitlistEvent.CANCELLED,
        details={"by": by.value},
    )


async def patch(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, entry_id: uuid.UUID, data: EntryPatch
) -> EntryRead:
    """Cancel, change notes or window (the patient or staff), or reorder (staff, with a reason).

    The entry is locked for the change. Cancelling frees its place (and an
    invited entry's held slot) and is announced; a change is audited only if
    some field's value changed (`waitlist.updated`, or `.reordered` for boost/pin).
    """
    entry = await visible_entry(uow, principal, entry_id, lock=True)
    access.check_changes(principal, entry)
    if entry.status not in LIVE:
        raise EntryClosed(f"The entry is {entry.status}")
    if data.boost is not None or data.pinned is not None:
        access.check_reorders(principal, entry)
    now = cfg.clock.now()
    policy = await PolicyRepository(uow, entry.tenant_id).ensure(entry.clinic_id)
    if data.status == "cancelled":
        await _cancel(uow, principal, entry, now=now)
        return entry_read(entry, policy.weights, now)
    old, new = audit.changed_fields(*_apply(entry, data))
    entry.priority_key = scoring.order_key(
        policy.weights,
        tier=entry.priority_tier,
        chronic=entry.chronic_condition,
        boost=entry.boost,
        pinned=entry.pinned,
        joined=entry.created_at,
    )
    if new:
        entry.updated_at = now
        await uow.flush()
        action = "waitlist.reordered" if "boost" in new or "pinned" in new else "waitlist.updated"
        details = {"reason": data.reason} if data.reason else None
        await audit.record_change(uow, principal.actor, action, entry, before=old, after=new, details=details)
    return entry_read(entry, policy.weights, now)
