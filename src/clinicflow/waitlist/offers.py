"""Offers of freed slots: invite, accept, decline, expire, promote.

When an appointment is cancelled, rescheduled away or marked a no-show before
it starts, the clinic's best-fitting active entry is invited: the slot is held
for them (an appointment in status `held`, under the same exclusion constraint
as every booking) until they answer or the deadline passes. Accepting turns
the hold into the booking; declining or missing the deadline frees it and the
next candidate is invited. A slot is never offered twice to the same entry.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from clinicflow.audit import service as audit
from clinicflow.audit.service import SYSTEM, Actor
from clinicflow.errors import FieldProblem, Forbidden, ValidationFailed
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform import runtime
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.jobs import job_app
from clinicflow.scheduling import booking, holds
from clinicflow.scheduling.booking import SchedulingConfig
from clinicflow.scheduling.errors import SlotUnavailable
from clinicflow.scheduling.events import AppointmentEvent, Event, subscribe
from clinicflow.scheduling.schemas import BookingIn
from clinicflow.scheduling.video import InPersonOnly
from clinicflow.tenancy import service as tenancy
from clinicflow.waitlist import scoring
from clinicflow.waitlist.errors import EntryClosed, NoCandidate, OfferExpired, OfferNotPending
from clinicflow.waitlist.events import WaitlistEvent, emit
from clinicflow.waitlist.models import WaitlistEntry, WaitlistOffer
from clinicflow.waitlist.schemas import EntryRead, EntryStatus
from clinicflow.waitlist.service import (
    WaitlistConfig,
    close,
    left_queue,
    policy_row,
    read_entry,
    visible_entry,
    weights_of,
    window_of,
)

P = Permission
CANDIDATES_PER_OFFER = 50


def _in_quiet_hours(local: time, start: time | None, end: time | None) -> bool:
    if start is None or end is None:
        return False
    return start <= local < end if start < end else (local >= start or local < end)


async def offer_slot(
    uow: UnitOfWork,
    cfg: WaitlistConfig,
    *,
    tenant_id: uuid.UUID,
    clinic_id: uuid.UUID,
    doctor_id: uuid.UUID,
    starts_at: datetime,
    actor: Actor,
    entry_id: uuid.UUID | None = None,
) -> tuple[WaitlistEntry, uuid.UUID] | None:
    """Invite the best-fitting active entry to the slot and hold it for them.

    Candidates: active, not expired, waiting for this doctor or the clinic,
    the slot inside their stated window, not already offered this slot;
    best by score plus window fit, then join time. Locked with SKIP LOCKED,
    so concurrent offers never pick the same entry. Returns None when nobody
    fits or the slot is no longer free (someone booked it first).
    """
    now = cfg.clock.now()
    if starts_at <= now:
        return None
    policy = await policy_row(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    weights = weights_of(policy)
    zone = await tenancy.clinic_timezone(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    if zone is None:
        return None
    tz = ZoneInfo(zone)
    already = select(WaitlistOffer.entry_id).where(
        WaitlistOffer.tenant_id == tenant_id,
        WaitlistOffer.doctor_id == doctor_id,
        WaitlistOffer.starts_at == starts_at,
    )
    stmt = (
        select(WaitlistEntry)
        .where(
            WaitlistEntry.tenant_id == tenant_id,
            WaitlistEntry.clinic_id == clinic_id,
            WaitlistEntry.status == EntryStatus.ACTIVE.value,
            (WaitlistEntry.doctor_id == doctor_id) | WaitlistEntry.doctor_id.is_(None),
            WaitlistEntry.expires_at > now,
            WaitlistEntry.id.not_in(already),
        )
        .order_by(WaitlistEntry.priority_key.desc(), WaitlistEntry.created_at, WaitlistEntry.id)
        .limit(CANDIDATES_PER_OFFER)
        .with_for_update(skip_locked=True)
    )
    if entry_id is not None:
        stmt = stmt.where(WaitlistEntry.id == entry_id)
    best: tuple[float, WaitlistEntry] | None = None
    for entry in (await uow.session.execute(stmt)).scalars():
        fit = scoring.fit(window_of(entry), starts_at, tz)
        if fit is None:
            continue
        value = scoring.score(weights, entry.priority_key, now) + weights.window_fit * fit
        if best is None or value > best[0]:  # strictly better: ties keep queue order
            best = (value, entry)
    if best is None:
        return None
    entry = best[1]
    try:
        async with uow.session.begin_nested():
            hold = await holds.hold_slot(
                uow,
                cfg.scheduling,
                tenant_id=tenant_id,
                doctor_id=doctor_id,
                clinic_id=clinic_id,
                starts_at=starts_at,
                patient_id=entry.patient_id,
                actor=actor,
            )
    except SlotUnavailable:
        return None  # booked by someone else first: there is nothing to offer
    respond_by = min(now + timedelta(minutes=policy.offer_response_minutes), hold.starts_at)
    entry.status = EntryStatus.INVITED.value
    entry.respond_by = respond_by
    entry.offered_appointment_id = hold.id
    entry.updated_at = now
    uow.session.add(
        WaitlistOffer(
            tenant_id=tenant_id,
            entry_id=entry.id,
            appointment_id=hold.id,
            clinic_id=clinic_id,
            doctor_id=doctor_id,
            starts_at=hold.starts_at,
            created_at=now,
        )
    )
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action="waitlist.invited",
        subject_type="waitlist_entry",
        subject_id=entry.id,
        before={"status": EntryStatus.ACTIVE.value},
        after={"status": EntryStatus.INVITED.value, "appointment_id": hold.id, "respond_by": respond_by},
    )
    # Quiet hours delay the message, not the hold: the deadline still counts from now.
    local = now.astimezone(tz)
    deliver_at = None
    if _in_quiet_hours(local.time(), policy.quiet_start, policy.quiet_end):
        assert policy.quiet_end is not None
        end = datetime.combine(local.date(), policy.quiet_end, tzinfo=tz)
        deliver_at = end if end > local else end + timedelta(days=1)
    await emit(
        uow,
        WaitlistEvent.INVITED,
        entry,
        schedule_at=deliver_at,
        appointment_id=hold.id,
        starts_at=hold.starts_at.isoformat(),
        respond_by=respond_by.isoformat(),
    )
    return entry, hold.id


async def withdraw_offer(
    uow: UnitOfWork, entry: WaitlistEntry, *, outcome: str, actor: Actor, reason: str, now: datetime
) -> tuple[uuid.UUID, datetime, uuid.UUID, uuid.UUID] | None:
    """Close the entry's pending offer and free its hold. Returns (clinic, starts_at, doctor,
    appointment) of the freed slot, for offering it on."""
    if entry.offered_appointment_id is None:
        return None
    offer = (
        await uow.session.execute(
            select(WaitlistOffer).where(
                WaitlistOffer.tenant_id == entry.tenant_id,
                WaitlistOffer.entry_id == entry.id,
                WaitlistOffer.appointment_id == entry.offered_appointment_id,
                WaitlistOffer.outcome == "pending",
            )
        )
    ).scalar_one_or_none()
    released = await holds.settle_hold(
        uow,
        tenant_id=entry.tenant_id,
        appointment_id=entry.offered_appointment_id,
        accept=False,
        actor=actor,
        now=now,
        reason=reason,
    )
    entry.offered_appointment_id = None
    entry.respond_by = None
    if offer is not None:
        offer.outcome = outcome
        offer.decided_at = now
    if released is None:
        return None
    return released.clinic_id, released.starts_at, released.doctor_id, released.id


async def accept(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, entry_id: uuid.UUID
) -> EntryRead:
    """The invited patient takes the offer: the held slot becomes their appointment and the
    entry is promoted, in one transaction."""
    entry = await visible_entry(uow, principal, entry_id, lock=True)
    if entry.patient_id != principal.user_id and not principal.can(
        P.WAITLIST_MANAGE, clinic_id=entry.clinic_id
    ):
        raise Forbidden("Only the invited patient answers an offer")
    if entry.status != EntryStatus.INVITED.value or entry.offered_appointment_id is None:
        raise OfferNotPending(f"The entry is {entry.status}")
    now = cfg.clock.now()
    assert entry.respond_by is not None
    if now > entry.respond_by:
        raise OfferExpired()
    appointment = await holds.settle_hold(
        uow,
        tenant_id=entry.tenant_id,
        appointment_id=entry.offered_appointment_id,
        accept=True,
        actor=principal.actor,
        now=now,
    )
    if appointment is None:
        raise OfferNotPending("The held slot is gone")
    await _promoted(uow, entry, appointment_id=appointment.id, actor=principal.actor, now=now, via="offer")
    offer = (
        await uow.session.execute(
            select(WaitlistOffer).where(
                WaitlistOffer.tenant_id == entry.tenant_id,
                WaitlistOffer.appointment_id == appointment.id,
                WaitlistOffer.entry_id == entry.id,
            )
        )
    ).scalar_one()
    offer.outcome = "accepted"
    offer.decided_at = now
    return await read_entry(uow, entry, now)


async def _promoted(
    uow: UnitOfWork, entry: WaitlistEntry, *, appointment_id: uuid.UUID, actor: Actor, now: datetime, via: str
) -> None:
    previous = entry.status
    await left_queue(uow, entry)
    entry.status = EntryStatus.PROMOTED.value
    entry.promoted_appointment_id = appointment_id
    entry.promoted_at = now
    entry.closed_at = now
    entry.respond_by = None
    entry.offered_appointment_id = None
    entry.updated_at = now
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=entry.tenant_id,
        actor=actor,
        action="waitlist.promoted",
        subject_type="waitlist_entry",
        subject_id=entry.id,
        before={"status": previous},
        after={"status": EntryStatus.PROMOTED.value, "appointment_id": appointment_id},
        details={"via": via},
    )
    await emit(uow, WaitlistEvent.PROMOTED, entry, appointment_id=appointment_id)


async def decline(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, entry_id: uuid.UUID
) -> EntryRead:
    """The invited patient says no: they wait on (or expire, past their own expiry), the slot
    is freed and offered to the next candidate in the same transaction."""
    entry = await visible_entry(uow, principal, entry_id, lock=True)
    if entry.patient_id != principal.user_id and not principal.can(
        P.WAITLIST_MANAGE, clinic_id=entry.clinic_id
    ):
        raise Forbidden("Only the invited patient answers an offer")
    if entry.status != EntryStatus.INVITED.value:
        raise OfferNotPending(f"The entry is {entry.status}")
    now = cfg.clock.now()
    freed = await withdraw_offer(
        uow, entry, outcome="declined", actor=principal.actor, reason="offer declined", now=now
    )
    await _back_in_queue(uow, entry, now=now, actor=principal.actor, action="waitlist.declined")
    if freed is not None:
        clinic_id, starts_at, doctor_id, _ = freed
        await offer_slot(
            uow,
            cfg,
            tenant_id=entry.tenant_id,
            clinic_id=clinic_id,
            doctor_id=doctor_id,
            starts_at=starts_at,
            actor=SYSTEM,
        )
    return await read_entry(uow, entry, now)


async def _back_in_queue(
    uow: UnitOfWork, entry: WaitlistEntry, *, now: datetime, actor: Actor, action: str
) -> None:
    """After an offer ends unanswered or declined: active again, or expired past its own expiry."""
    if entry.expires_at <= now:
        await close(
            uow,
            entry,
            EntryStatus.EXPIRED,
            actor=actor,
            now=now,
            action="waitlist.expired",
            event=WaitlistEvent.EXPIRED,
        )
        return
    entry.status = EntryStatus.ACTIVE.value
    entry.updated_at = now
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=entry.tenant_id,
        actor=actor,
        action=action,
        subject_type="waitlist_entry",
        subject_id=entry.id,
        before={"status": EntryStatus.INVITED.value},
        after={"status": EntryStatus.ACTIVE.value},
    )
    await emit(uow, WaitlistEvent.DECLINED, entry, outcome=action.split(".")[-1])


async def promote(
    uow: UnitOfWork,
    cfg: WaitlistConfig,
    principal: TenantPrincipal,
    *,
    entry_id: uuid.UUID,
    starts_at: datetime,
    doctor_id: uuid.UUID | None,
) -> EntryRead:
    """Staff book a waiting patient into a chosen time: the entry is locked, the booking goes
    through scheduling (same constraint: a taken time is 409), the entry is promoted — one
    transaction. A concurrent second promotion of the entry finds it promoted (409)."""
    entry = await visible_entry(uow, principal, entry_id, lock=True)
    if not principal.can(P.WAITLIST_MANAGE, clinic_id=entry.clinic_id):
        raise Forbidden("You may not promote in this clinic")
    if entry.status not in (EntryStatus.ACTIVE.value, EntryStatus.INVITED.value):
        raise EntryClosed(f"The entry is {entry.status}")
    doctor = doctor_id or entry.doctor_id
    if doctor is None:
        raise ValidationFailed(
            "A clinic-wide entry needs a doctor", errors=[FieldProblem(field="doctor_id", message="required")]
        )
    now = cfg.clock.now()
    if entry.status == EntryStatus.INVITED.value:
        await withdraw_offer(
            uow, entry, outcome="declined", actor=principal.actor, reason="promoted by staff", now=now
        )
    appointment = await booking.book(
        uow,
        cfg.scheduling,
        principal,
        data=BookingIn(
            doctor_id=doctor, clinic_id=entry.clinic_id, starts_at=starts_at, patient_id=entry.patient_id
        ),
    )
    await _promoted(uow, entry, appointment_id=appointment.id, actor=principal.actor, now=now, via="staff")
    return await read_entry(uow, entry, now)


async def invite_for_appointment(
    uow: UnitOfWork,
    cfg: WaitlistConfig,
    principal: TenantPrincipal,
    *,
    appointment_id: uuid.UUID,
    entry_id: uuid.UUID | None,
) -> tuple[WaitlistEntry, uuid.UUID]:
    """Staff offer a freed appointment's slot (cancelled or no-show, still ahead) to the best
    candidate, or to one entry. 409 NO_WAITLIST_CANDIDATE when nobody fits or it is taken."""
    appointment = await booking.get_visible(uow, principal, appointment_id)
    if not principal.can(P.WAITLIST_MANAGE, clinic_id=appointment.clinic_id):
        raise Forbidden("You may not offer slots in this clinic")
    if appointment.status not in ("cancelled", "no_show"):
        raise NoCandidate("Only a cancelled or missed appointment frees its slot")
    result = await offer_slot(
        uow,
        cfg,
        tenant_id=appointment.tenant_id,
        clinic_id=appointment.clinic_id,
        doctor_id=appointment.doctor_id,
        starts_at=appointment.starts_at,
        actor=principal.actor,
        entry_id=entry_id,
    )
    if result is None:
        raise NoCandidate()
    return result


# --- reacting to scheduling -------------------------------------------------------------------


def _config() -> WaitlistConfig:
    """Jobs' configuration: the process clock; holds are in person, so no video provider."""
    clock = runtime.clock()
    return WaitlistConfig(clock=clock, scheduling=SchedulingConfig(clock=clock, video=InPersonOnly()))


async def on_vacancy(uow: UnitOfWork, event: AppointmentEvent) -> None:
    """A slot was freed ahead of time: offer it if the clinic offers automatically."""
    if event.event is Event.RESCHEDULED:
        details: dict[str, Any] = event.details
        starts_at = datetime.fromisoformat(details["previous_starts_at"])
        doctor_id = uuid.UUID(details["previous_doctor_id"])
    else:
        starts_at, doctor_id = event.starts_at, event.doctor_id
    cfg = _config()
    if starts_at <= cfg.clock.now():
        return  # in the past (e.g. the no-show sweep): nothing to offer
    policy = await policy_row(uow, tenant_id=event.tenant_id, clinic_id=event.clinic_id)
    if not policy.auto_offer:
        return
    await offer_slot(
        uow,
        cfg,
        tenant_id=event.tenant_id,
        clinic_id=event.clinic_id,
        doctor_id=doctor_id,
        starts_at=starts_at,
        actor=SYSTEM,
    )


for _event in (Event.CANCELLED, Event.RESCHEDULED, Event.NO_SHOW):
    subscribe(_event, on_vacancy)


async def expire_due(uow: UnitOfWork, cfg: WaitlistConfig, *, limit: int = 200) -> int:
    """Unanswered invitations past their deadline go back to the queue (or expire) and the slot
    moves to the next candidate; active entries past their expiry expire. Idempotent (only
    rows still due are touched, SKIP LOCKED); returns how many entries changed."""
    now = cfg.clock.now()
    invited = (
        (
            await uow.session.execute(
                select(WaitlistEntry)
                .where(WaitlistEntry.status == EntryStatus.INVITED.value, WaitlistEntry.respond_by < now)
                .order_by(WaitlistEntry.respond_by)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    for entry in invited:
        freed = await withdraw_offer(
            uow, entry, outcome="expired", actor=SYSTEM, reason="offer not answered in time", now=now
        )
        await _back_in_queue(uow, entry, now=now, actor=SYSTEM, action="waitlist.offer_expired")
        if freed is not None:
            clinic_id, starts_at, doctor_id, _ = freed
            await offer_slot(
                uow,
                cfg,
                tenant_id=entry.tenant_id,
                clinic_id=clinic_id,
                doctor_id=doctor_id,
                starts_at=starts_at,
                actor=SYSTEM,
            )
    stale = (
        (
            await uow.session.execute(
                select(WaitlistEntry)
                .where(WaitlistEntry.status == EntryStatus.ACTIVE.value, WaitlistEntry.expires_at <= now)
                .order_by(WaitlistEntry.expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    for entry in stale:
        if entry in invited:
            continue
        await close(
            uow,
            entry,
            EntryStatus.EXPIRED,
            actor=SYSTEM,
            now=now,
            action="waitlist.expired",
            event=WaitlistEvent.EXPIRED,
        )
    return len(invited) + len(stale)


@job_app.periodic(cron="* * * * *", periodic_id="waitlist-expiry")
@job_app.task(name="waitlist.expire_due", queueing_lock="waitlist.expire_due")
async def expire_due_job(timestamp: int) -> None:
    """Every minute, until nothing is due."""
    while True:
        async with runtime.database().transaction() as uow:
            if await expire_due(uow, _config()) == 0:
                return
