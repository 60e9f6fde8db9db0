"""Waitlist use cases: policy, joining, the queue, a patient's history, changes, stats.

Callers own the unit of work; nothing here commits. Every change writes one
audit event and emits one waitlist event in the same transaction.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from clinicflow.identity import directory
from clinicflow.identity import policy as identity_policy
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.clock import Clock
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.ids import uuid7
from clinicflow.platform.pagination import PageParams, page_of, paginate
from clinicflow.scheduling.booking import SchedulingConfig
from clinicflow.tenancy import service as tenancy
from clinicflow.waitlist import scoring
from clinicflow.waitlist.errors import EntryClosed, WaitlistFull
from clinicflow.waitlist.events import WaitlistEvent, emit
from clinicflow.waitlist.models import WaitlistEntry, WaitlistPolicy
from clinicflow.waitlist.schemas import (
    EntryPatch,
    EntryRead,
    EntryStatus,
    JoinIn,
    PolicyIn,
    PolicyRead,
    StatsRead,
    Weights,
    WindowIn,
)

P = Permission
LIVE = (EntryStatus.ACTIVE.value, EntryStatus.INVITED.value)
CONVERSION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class WaitlistConfig:
    clock: Clock
    scheduling: SchedulingConfig


# --- policy -----------------------------------------------------------------------------------


def weights_of(policy: WaitlistPolicy) -> scoring.Weights:
    return scoring.Weights(
        wait_time=policy.weight_wait,
        priority_tier=policy.weight_tier,
        chronic_condition=policy.weight_chronic,
        window_fit=policy.weight_fit,
    )


async def policy_row(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID, lock: bool = False
) -> WaitlistPolicy:
    """The clinic's policy row, created with the defaults on first use. `lock` takes its row
    lock: joins of one clinic serialise on it, which makes the queue cap exact."""
    await uow.session.execute(
        insert(WaitlistPolicy)
        .values(id=uuid7(), tenant_id=tenant_id, clinic_id=clinic_id)
        .on_conflict_do_nothing(index_elements=["tenant_id", "clinic_id"])
    )
    stmt = select(WaitlistPolicy).where(
        WaitlistPolicy.tenant_id == tenant_id, WaitlistPolicy.clinic_id == clinic_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await uow.session.execute(stmt)).scalar_one()


def _policy_read(policy: WaitlistPolicy) -> PolicyRead:
    return PolicyRead(
        clinic_id=policy.clinic_id,
        max_queue_size=policy.max_queue_size,
        auto_expiry_hours=policy.auto_expiry_hours,
        offer_response_minutes=policy.offer_response_minutes,
        auto_offer=policy.auto_offer,
        priority_weights=Weights(
            wait_time=policy.weight_wait,
            priority_tier=policy.weight_tier,
            chronic_condition=policy.weight_chronic,
            window_fit=policy.weight_fit,
        ),
        quiet_hours_start=policy.quiet_start,
        quiet_hours_end=policy.quiet_end,
        templates=policy.templates,
    )


async def get_policy(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> PolicyRead:
    """The clinic's policy (defaults until set). NotFound for a clinic that does not exist."""
    if not await tenancy.clinic_exists(uow, tenant_id=tenant_id, clinic_id=clinic_id):
        raise NotFound("Clinic not found")
    row = (
        await uow.session.execute(
            select(WaitlistPolicy).where(
                WaitlistPolicy.tenant_id == tenant_id, WaitlistPolicy.clinic_id == clinic_id
            )
        )
    ).scalar_one_or_none()
    return _policy_read(row) if row else PolicyRead(clinic_id=clinic_id)


async def weights_for(uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> scoring.Weights:
    """The clinic's current weights (the defaults until a policy is set). Reads only."""
    policy = await get_policy(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    return scoring.Weights(**policy.priority_weights.model_dump())


def _key_sql(weights: scoring.Weights) -> Any:
    """The ordering key of `scoring.order_key`, as SQL over the entry's columns."""
    hours = (func.extract("epoch", WaitlistEntry.created_at) - scoring.EPOCH.timestamp()) / 3600
    return (
        weights.priority_tier * WaitlistEntry.priority_tier
        + case((WaitlistEntry.chronic_condition, weights.chronic_condition), else_=0.0)
        + WaitlistEntry.boost
        + case((WaitlistEntry.pinned, scoring.PIN), else_=0.0)
        - weights.wait_time * hours
    )


async def put_policy(
    uow: UnitOfWork, principal: TenantPrincipal, *, clinic_id: uuid.UUID, data: PolicyIn
) -> PolicyRead:
    """Replace the clinic's policy; changed fields are audited. New weights re-key the clinic's
    waiting entries in the same transaction, so the queue order follows at once."""
    tenant_id = principal.tenant_id
    before = await get_policy(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    row = await policy_row(uow, tenant_id=tenant_id, clinic_id=clinic_id, lock=True)
    row.max_queue_size = data.max_queue_size
    row.auto_expiry_hours = data.auto_expiry_hours
    row.offer_response_minutes = data.offer_response_minutes
    row.auto_offer = data.auto_offer
    row.weight_wait = data.priority_weights.wait_time
    row.weight_tier = data.priority_weights.priority_tier
    row.weight_chronic = data.priority_weights.chronic_condition
    row.weight_fit = data.priority_weights.window_fit
    row.quiet_start = data.quiet_hours_start
    row.quiet_end = data.quiet_hours_end
    row.templates = data.templates
    await uow.flush()
    if before.priority_weights != data.priority_weights:
        await uow.session.execute(
            update(WaitlistEntry)
            .where(
                WaitlistEntry.tenant_id == tenant_id,
                WaitlistEntry.clinic_id == clinic_id,
                WaitlistEntry.status.in_(LIVE),
            )
            .values(priority_key=_key_sql(weights_of(row)))
        )
    old, new = audit.changed_fields(before.model_dump(mode="json"), data.model_dump(mode="json"))
    if new:
        await audit.record(
            uow,
            tenant_id=tenant_id,
            actor=principal.actor,
            action="waitlist_policy.updated",
            subject_type="clinic",
            subject_id=clinic_id,
            before=old,
            after=new,
        )
    return _policy_read(row)


# --- entries ----------------------------------------------------------------------------------


def window_of(entry: WaitlistEntry) -> scoring.Window:
    return scoring.Window(
        date_from=entry.window_from,
        date_to=entry.window_to,
        weekdays=tuple(entry.weekdays),
        day_parts=tuple(entry.day_parts),
    )


async def read_entry(uow: UnitOfWork, entry: WaitlistEntry, now: datetime) -> EntryRead:
    """The entry as the API shows it, scored with its clinic's current weights."""
    return read(entry, await weights_for(uow, tenant_id=entry.tenant_id, clinic_id=entry.clinic_id), now)


def read(entry: WaitlistEntry, weights: scoring.Weights, now: datetime) -> EntryRead:
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


async def _patient_for(
    uow: UnitOfWork, principal: TenantPrincipal, *, clinic_id: uuid.UUID, patient_id: uuid.UUID | None
) -> uuid.UUID:
    return await identity_policy.resolve_patient(
        uow,
        principal,
        clinic_id=clinic_id,
        patient_id=patient_id,
        staff=P.WAITLIST_MANAGE,
        self_service=P.WAITLIST_SELF,
        doing="join the waitlist",
    )


async def join(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, data: JoinIn
) -> EntryRead:
    """Put a patient on a clinic's (or one doctor's) waitlist.

    One live entry per patient and target (409 WAITLIST_DUPLICATE, by a unique
    index); at most `max_queue_size` live entries per clinic (409 WAITLIST_FULL,
    exact under concurrency: joins of one clinic serialise on its policy row).
    """
    tenant_id = principal.tenant_id
    if not principal.can(P.CLINICS_READ, clinic_id=data.clinic_id) or not await tenancy.clinic_exists(
        uow, tenant_id=tenant_id, clinic_id=data.clinic_id
    ):
        raise ValidationFailed(
            "No such clinic", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
        )
    patient_id = await _patient_for(uow, principal, clinic_id=data.clinic_id, patient_id=data.patient_id)
    if data.doctor_id is not None:
        clinics = await directory.doctor_clinics(uow, tenant_id=tenant_id, user_id=data.doctor_id)
        if None not in clinics and data.clinic_id not in clinics:
            raise ValidationFailed(
                "This doctor does not practise at this clinic",
                errors=[FieldProblem(field="doctor_id", message="not a doctor of this clinic")],
            )
    policy = await policy_row(uow, tenant_id=tenant_id, clinic_id=data.clinic_id, lock=True)
    if policy.live_entries >= policy.max_queue_size:
        raise WaitlistFull(
            f"The waitlist holds at most {policy.max_queue_size} patients", limit=policy.max_queue_size
        )
    policy.live_entries += 1
    now = cfg.clock.now()
    weights = weights_of(policy)
    entry = WaitlistEntry(
        tenant_id=tenant_id,
        clinic_id=data.clinic_id,
        doctor_id=data.doctor_id,
        patient_id=patient_id,
        status=EntryStatus.ACTIVE.value,
        priority_tier=data.priority_tier,
        chronic_condition=data.chronic_condition,
        boost=0.0,
        pinned=False,
        priority_key=scoring.order_key(
            weights,
            tier=data.priority_tier,
            chronic=data.chronic_condition,
            boost=0,
            pinned=False,
            joined=now,
        ),
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
    uow.session.add(entry)
    await uow.flush()  # the live-target unique index speaks here
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=principal.actor,
        action="waitlist.joined",
        subject_type="waitlist_entry",
        subject_id=entry.id,
        after={"clinic_id": entry.clinic_id, "doctor_id": entry.doctor_id, "patient_id": patient_id},
    )
    await emit(uow, WaitlistEvent.JOINED, entry)
    return read(entry, weights, now)


def _visible(principal: TenantPrincipal) -> Any:
    clinics = principal.clinics_for(P.WAITLIST_READ)
    own = WaitlistEntry.patient_id == principal.user_id
    if clinics is None:
        return True
    return or_(WaitlistEntry.clinic_id.in_(clinics), own) if clinics else own


async def visible_entry(
    uow: UnitOfWork, principal: TenantPrincipal, entry_id: uuid.UUID, *, lock: bool = False
) -> WaitlistEntry:
    """The entry if the principal may see it (their own, or in a clinic whose queue they read)."""
    stmt = select(WaitlistEntry).where(
        WaitlistEntry.tenant_id == principal.tenant_id, WaitlistEntry.id == entry_id
    )
    clause = _visible(principal)
    if clause is not True:
        stmt = stmt.where(clause)
    if lock:
        stmt = stmt.with_for_update()
    entry = (await uow.session.execute(stmt)).scalar_one_or_none()
    if entry is None:
        raise NotFound("Waitlist entry not found")
    return entry


def _cursor(entry: WaitlistEntry) -> str:
    raw = json.dumps([entry.priority_key, entry.created_at.isoformat(), str(entry.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[float, datetime, uuid.UUID]:
    try:
        key, created, entry_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return float(key), datetime.fromisoformat(created), uuid.UUID(entry_id)
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
    """A clinic's entries in priority order (pinned, then score, then join time), keyset-paginated."""
    if not principal.can(P.WAITLIST_READ, clinic_id=clinic_id):
        raise NotFound("Clinic not found")
    weights = await weights_for(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
    stmt = select(WaitlistEntry).where(
        WaitlistEntry.tenant_id == principal.tenant_id,
        WaitlistEntry.clinic_id == clinic_id,
        WaitlistEntry.status == (status or EntryStatus.ACTIVE).value,
    )
    if doctor_id is not None:
        stmt = stmt.where(or_(WaitlistEntry.doctor_id == doctor_id, WaitlistEntry.doctor_id.is_(None)))
    if cursor:
        key, created, entry_id = _decode(cursor)
        stmt = stmt.where(
            or_(
                WaitlistEntry.priority_key < key,
                and_(
                    WaitlistEntry.priority_key == key,
                    or_(
                        WaitlistEntry.created_at > created,
                        and_(WaitlistEntry.created_at == created, WaitlistEntry.id > entry_id),
                    ),
                ),
            )
        )
    stmt = stmt.order_by(WaitlistEntry.priority_key.desc(), WaitlistEntry.created_at, WaitlistEntry.id).limit(
        limit + 1
    )
    rows = list((await uow.session.execute(stmt)).scalars())
    now = cfg.clock.now()
    items = rows[:limit]
    return [read(e, weights, now) for e in items], _cursor(items[-1]) if len(rows) > limit and items else None


async def patient_history(
    uow: UnitOfWork,
    cfg: WaitlistConfig,
    principal: TenantPrincipal,
    *,
    patient_id: uuid.UUID,
    page: PageParams,
) -> tuple[list[EntryRead], str | None]:
    """One page of a patient's entries, newest first: their own, or those in clinics the caller reads."""
    stmt = select(WaitlistEntry).where(
        WaitlistEntry.tenant_id == principal.tenant_id, WaitlistEntry.patient_id == patient_id
    )
    if patient_id != principal.user_id:
        clinics = principal.clinics_for(P.WAITLIST_READ)
        if clinics is not None:
            if not clinics:
                raise NotFound("Patient not found")
            stmt = stmt.where(WaitlistEntry.clinic_id.in_(clinics))
    fetched = list(
        (await uow.session.execute(paginate(stmt, WaitlistEntry.id, page, newest_first=True))).scalars()
    )
    entries, cursor = page_of(fetched, page)
    weights: dict[uuid.UUID, scoring.Weights] = {}
    for entry in entries:
        if entry.clinic_id not in weights:
            weights[entry.clinic_id] = await weights_for(
                uow, tenant_id=principal.tenant_id, clinic_id=entry.clinic_id
            )
    now = cfg.clock.now()
    return [read(e, weights[e.clinic_id], now) for e in entries], cursor


async def left_queue(uow: UnitOfWork, entry: WaitlistEntry) -> None:
    """An entry stopped being live (promoted, expired, cancelled): free its place under the cap."""
    await uow.session.execute(
        update(WaitlistPolicy)
        .where(WaitlistPolicy.tenant_id == entry.tenant_id, WaitlistPolicy.clinic_id == entry.clinic_id)
        .values(live_entries=WaitlistPolicy.live_entries - 1)
    )


async def close(
    uow: UnitOfWork,
    entry: WaitlistEntry,
    status: EntryStatus,
    *,
    actor: audit.Actor,
    now: datetime,
    action: str,
    event: WaitlistEvent,
    details: dict[str, Any] | None = None,
) -> None:
    """End an entry's life (expired or cancelled), audited and announced once."""
    previous = entry.status
    if previous in LIVE:
        await left_queue(uow, entry)
    entry.status = status.value
    entry.respond_by = None
    entry.closed_at = now
    entry.updated_at = now
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=entry.tenant_id,
        actor=actor,
        action=action,
        subject_type="waitlist_entry",
        subject_id=entry.id,
        before={"status": previous},
        after={"status": status.value},
        details=details,
    )
    await emit(uow, event, entry, **(details or {}))


async def patch(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, entry_id: uuid.UUID, data: EntryPatch
) -> EntryRead:
    """Cancel, change notes or window (the patient or staff), or reorder (staff, with a reason)."""
    from clinicflow.waitlist import offers  # cancelling an invited entry releases its hold

    entry = await visible_entry(uow, principal, entry_id, lock=True)
    staff = principal.can(P.WAITLIST_MANAGE, clinic_id=entry.clinic_id)
    own = entry.patient_id == principal.user_id and principal.has(P.WAITLIST_SELF)
    if not staff and not own:
        raise Forbidden("You may not change this entry")
    if entry.status not in LIVE:
        raise EntryClosed(f"The entry is {entry.status}")
    if (data.boost is not None or data.pinned is not None) and not staff:
        raise Forbidden("Only staff change the order of the waitlist")
    now = cfg.clock.now()
    policy = await policy_row(uow, tenant_id=entry.tenant_id, clinic_id=entry.clinic_id)
    weights = weights_of(policy)
    if data.status == "cancelled":
        if entry.status == EntryStatus.INVITED.value:
            await offers.withdraw_offer(
                uow, entry, outcome="declined", actor=principal.actor, reason="entry cancelled", now=now
            )
        await close(
            uow,
            entry,
            EntryStatus.CANCELLED,
            actor=principal.actor,
            now=now,
            action="waitlist.cancelled",
            event=WaitlistEvent.CANCELLED,
            details={"by": "staff" if staff and not own else "patient"},
        )
        return read(entry, weights, now)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def change(field: str, value: Any) -> None:
        before[field] = getattr(entry, field)
        after[field] = value
        setattr(entry, field, value)

    if data.notes is not None:
        change("notes", data.notes)
    if data.window is not None:
        change("window_from", data.window.date_from)
        change("window_to", data.window.date_to)
        change("weekdays", sorted(set(data.window.weekdays)))
        change("day_parts", sorted(set(data.window.day_parts)))
    if data.boost is not None:
        change("boost", data.boost)
    if data.pinned is not None:
        change("pinned", data.pinned)
    entry.priority_key = scoring.order_key(
        weights,
        tier=entry.priority_tier,
        chronic=entry.chronic_condition,
        boost=entry.boost,
        pinned=entry.pinned,
        joined=entry.created_at,
    )
    old, new = audit.changed_fields(before, after)
    if new:
        entry.updated_at = now
        await uow.flush()
        reordered = "boost" in new or "pinned" in new
        await audit.record(
            uow,
            tenant_id=entry.tenant_id,
            actor=principal.actor,
            action="waitlist.reordered" if reordered else "waitlist.updated",
            subject_type="waitlist_entry",
            subject_id=entry.id,
            before=old,
            after=new,
            details={"reason": data.reason} if data.reason else None,
        )
    return read(entry, weights, now)


# --- signals ----------------------------------------------------------------------------------


async def stats(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, clinic_id: uuid.UUID
) -> StatsRead:
    """Queue depth by status, wait of active entries, today's promotions and expiries (clinic
    day), and the conversion rate over the last 30 days."""
    if not principal.can(P.WAITLIST_READ, clinic_id=clinic_id):
        raise NotFound("Clinic not found")
    zone = await tenancy.clinic_timezone(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
    if zone is None:
        raise NotFound("Clinic not found")
    now = cfg.clock.now()
    local_today = now.astimezone(ZoneInfo(zone)).date()
    day_start = datetime.combine(local_today, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    scope = (WaitlistEntry.tenant_id == principal.tenant_id) & (WaitlistEntry.clinic_id == clinic_id)
    depth_rows: Any = await uow.execute(
        select(WaitlistEntry.status, func.count()).where(scope).group_by(WaitlistEntry.status)
    )
    depth = {s.value: 0 for s in EntryStatus}
    depth.update({row[0]: int(row[1]) for row in depth_rows})
    waited = func.extract("epoch", now - WaitlistEntry.created_at) / 3600
    wait_row: Any = (
        await uow.execute(
            select(func.avg(waited), func.percentile_cont(0.9).within_group(waited)).where(
                scope, WaitlistEntry.status == EntryStatus.ACTIVE.value
            )
        )
    ).one()
    today: Any = (
        await uow.execute(
            select(
                func.count().filter(WaitlistEntry.status == "promoted"),
                func.count().filter(WaitlistEntry.status == "expired"),
            ).where(scope, WaitlistEntry.closed_at >= day_start)
        )
    ).one()
    since = now - timedelta(days=CONVERSION_WINDOW_DAYS)
    outcomes: Any = (
        await uow.execute(
            select(
                func.count().filter(WaitlistEntry.status == "promoted"),
                func.count().filter(WaitlistEntry.status.in_(("promoted", "expired", "cancelled"))),
            ).where(scope, WaitlistEntry.closed_at >= since)
        )
    ).one()
    return StatsRead(
        clinic_id=clinic_id,
        depth=depth,
        average_wait_hours=round(float(wait_row[0]), 2) if wait_row[0] is not None else None,
        p90_wait_hours=round(float(wait_row[1]), 2) if wait_row[1] is not None else None,
        promoted_today=int(today[0]),
        expired_today=int(today[1]),
        conversion_rate=round(outcomes[0] / outcomes[1], 4) if outcomes[1] else None,
        conversion_window_days=CONVERSION_WINDOW_DAYS,
    )
