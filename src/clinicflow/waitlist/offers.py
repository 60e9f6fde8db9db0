"""Offers of freed slots: invite, accept, decline, expire, promote.

When an appointment is cancelled, rescheduled away or marked a no-show before
it starts, the clinic's best-fitting active entry is invited: the slot is held
for them (an appointment in status `held`, under the same exclusion constraint
as every booking) until they answer or the deadline passes. Accepting turns
the hold into the booking; declining or missing the deadline frees it and the
next candidate is invited. A slot is never offered twice to the same entry.

Callers own the unit of work; nothing here commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinicflow.audit import service as audit
from clinicflow.audit.service import SYSTEM, Actor
from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import booking, holds
from clinicflow.scheduling.errors import SlotUnavailable
from clinicflow.scheduling.schemas import BookingIn
from clinicflow.tenancy import service as tenancy
from clinicflow.waitlist import policy as access
from clinicflow.waitlist import repository, scoring
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.waitlist.errors import EntryClosed, NoCandidate, OfferExpired, OfferNotPending
from clinicflow.waitlist.lifecycle import close, leave_queue, read_entry, visible_entry
from clinicflow.waitlist.models import WaitlistEntry, WaitlistOffer, WaitlistPolicy
from clinicflow.waitlist.notices import WaitlistEvent, emit
from clinicflow.waitlist.repository import LIVE, EntryRepository, OfferRepository, PolicyRepository
from clinicflow.waitlist.schemas import EntryRead, EntryStatus, OfferRead

CANDIDATES_PER_OFFER = 50


@dataclass(frozen=True, slots=True)
class Slot:
    """One doctor's appointment time at a clinic."""

    clinic_id: uuid.UUID
    doctor_id: uuid.UUID
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class FreedSlot:
    """The slot a withdrawn offer held, free again, and the hold appointment that held it."""

    slot: Slot
    appointment_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Hold:
    """A slot held for an invited patient: the hold appointment and its (clinic-aligned) start."""

    appointment_id: uuid.UUID
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class Invitation:
    """An entry invited to a slot, held for them by the appointment `appointment_id`."""

    entry: WaitlistEntry
    appointment_id: uuid.UUID


def _window_of(entry: WaitlistEntry) -> scoring.Window:
    return scoring.Window(
        date_from=entry.window_from,
        date_to=entry.window_to,
        weekdays=tuple(entry.weekdays),
        day_parts=tuple(entry.day_parts),
    )


def _in_quiet_hours(local: time, start: time | None, end: time | None) -> bool:
    if start is None or end is None:
        return False
    return start <= local < end if start < end else (local >= start or local < end)


def _delivery_time(policy: WaitlistPolicy, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the invitation may be sent: at the end of the clinic's quiet hours if `now` is in
    them, else at once (None). Quiet hours delay the message, not the hold."""
    local = now.astimezone(tz)
    if policy.quiet_end is None or not _in_quiet_hours(local.time(), policy.quiet_start, policy.quiet_end):
        return None
    end = datetime.combine(local.date(), policy.quiet_end, tzinfo=tz)
    return end if end > local else end + timedelta(days=1)


async def _best_candidate(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    slot: Slot,
    *,
    weights: scoring.Weights,
    tz: ZoneInfo,
    now: datetime,
    entry_id: uuid.UUID | None,
) -> WaitlistEntry | None:
    """The locked candidate with the best score plus window fit; ties keep queue order."""
    candidates = await EntryRepository(uow, tenant_id).candidates(
        clinic_id=slot.clinic_id,
        doctor_id=slot.doctor_id,
        starts_at=slot.starts_at,
        now=now,
        entry_id=entry_id,
        limit=CANDIDATES_PER_OFFER,
    )
    best: tuple[float, WaitlistEntry] | None = None
    for entry in candidates:
        fit = scoring.fit(_window_of(entry), slot.starts_at, tz)
        if fit is None:
            continue
        value = scoring.score(weights, entry.priority_key, now) + weights.window_fit * fit
        if best is None or value > best[0]:  # strictly better: ties keep queue order
            best = (value, entry)
    return best[1] if best else None


async def _hold(
    uow: UnitOfWork, cfg: WaitlistConfig, tenant_id: uuid.UUID, slot: Slot, entry: WaitlistEntry, actor: Actor
) -> Hold | None:
    """Hold the slot for the entry's patient, or None if it is taken."""
    try:
        async with uow.session.begin_nested():
            hold = await holds.hold_slot(
                uow,
                cfg.scheduling,
                tenant_id=tenant_id,
                doctor_id=slot.doctor_id,
                clinic_id=slot.clinic_id,
                starts_at=slot.starts_at,
                patient_id=entry.patient_id,
                actor=actor,
            )
    except SlotUnavailable:
        return None  # booked by someone else first: there is nothing to offer
    return Hold(appointment_id=hold.id, starts_at=hold.starts_at)


async def _invite(
    uow: UnitOfWork,
    entry: WaitlistEntry,
    slot: Slot,
    *,
    hold: Hold,
    policy: WaitlistPolicy,
    tz: ZoneInfo,
    now: datetime,
    actor: Actor,
) -> None:
    """Mark the entry invited to the held slot, record the offer, audit and announce it."""
    hold_id, hold_starts_at = hold.appointment_id, hold.starts_at
    respond_by = min(now + timedelta(minutes=policy.offer_response_minutes), hold_starts_at)
    entry.status = EntryStatus.INVITED.value
    entry.respond_by = respond_by
    entry.offered_appointment_id = hold_id
    entry.updated_at = now
    offer = WaitlistOffer(
        tenant_id=entry.tenant_id,
        entry_id=entry.id,
        appointment_id=hold_id,
        clinic_id=slot.clinic_id,
        doctor_id=slot.doctor_id,
        starts_at=hold_starts_at,
        created_at=now,
    )
    OfferRepository(uow, entry.tenant_id).add(offer)
    await uow.flush()
    after = {"status": EntryStatus.INVITED.value, "appointment_id": hold_id, "respond_by": respond_by}
    before = {"status": EntryStatus.ACTIVE.value}
    await audit.record_change(uow, actor, "waitlist.invited", entry, before=before, after=after)
    await emit(
        uow,
        WaitlistEvent.INVITED,
        entry,
        schedule_at=_delivery_time(policy, now, tz),  # the deadline still counts from now
        appointment_id=hold_id,
        starts_at=hold_starts_at.isoformat(),
        respond_by=respond_by.isoformat(),
    )


async def offer_slot(
    uow: UnitOfWork,
    cfg: WaitlistConfig,
    *,
    tenant_id: uuid.UUID,
    slot: Slot,
    actor: Actor,
    entry_id: uuid.UUID | None = None,
) -> Invitation | None:
    """Invite the best-fitting active entry to the slot and hold it for them.

    Candidates: active, not expired, waiting for this doctor or the clinic,
    the slot inside their stated window, not already offered this slot;
    best by score plus window fit, then join time. Locked with SKIP LOCKED,
    so concurrent offers never pick the same entry. Returns None when nobody
    fits or the slot is no longer free (someone booked it first).
    """
    now = cfg.clock.now()
    if slot.starts_at <= now:
        return None
    policy = await PolicyRepository(uow, tenant_id).ensure(slot.clinic_id)
    zone = await tenancy.clinic_timezone(uow, tenant_id=tenant_id, clinic_id=slot.clinic_id)
    if zone is None:
        return None
    tz = ZoneInfo(zone)
    entry = await _best_candidate(
        uow, tenant_id, slot, weights=policy.weights, tz=tz, now=now, entry_id=entry_id
    )
    if entry is None:
        return None
    hold = await _hold(uow, cfg, tenant_id, slot, entry, actor)
    if hold is None:
        return None
    await _invite(uow, entry, slot, hold=hold, policy=policy, tz=tz, now=now, actor=actor)
    return Invitation(entry=entry, appointment_id=hold.appointment_id)


async def withdraw_offer(
    uow: UnitOfWork, entry: WaitlistEntry, *, outcome: str, actor: Actor, reason: str, now: datetime
) -> FreedSlot | None:
    """Close the entry's pending offer with `outcome` and free its hold. Returns the freed slot,
    for offering it on; None if there was no offer or its hold was already gone."""
    if entry.offered_appointment_id is None:
        return None
    offer = await OfferRepository(uow, entry.tenant_id).of_entry(
        entry.id, entry.offered_appointment_id, pending_only=True
    )
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
    return FreedSlot(Slot(released.clinic_id, released.doctor_id, released.starts_at), released.id)


async def _offer_on(
    uow: UnitOfWork, cfg: WaitlistConfig, tenant_id: uuid.UUID, freed: FreedSlot | None
) -> None:
    """Offer a slot a withdrawn offer freed to the next candidate, if there is one."""
    if freed is not None:
        await offer_slot(uow, cfg, tenant_id=tenant_id, slot=freed.slot, actor=SYSTEM)


async def _promoted(
    uow: UnitOfWork, entry: WaitlistEntry, *, appointment_id: uuid.UUID, actor: Actor, now: datetime, via: str
) -> None:
    """The entry got its appointment: closed as promoted, audited and announced."""
    previous = await leave_queue(uow, entry, EntryStatus.PROMOTED, now)
    entry.promoted_appointment_id = appointment_id
    entry.promoted_at = now
    entry.offered_appointment_id = None
    await uow.flush()
    await audit.record_change(
        uow,
        actor,
        "waitlist.promoted",
        entry,
        before={"status": previous},
        after={"status": EntryStatus.PROMOTED.value, "appointment_id": appointment_id},
        details={"via": via},
    )
    await emit(uow, WaitlistEvent.PROMOTED, entry, appointment_id=appointment_id)


async def accept(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, entry_id: uuid.UUID
) -> EntryRead:
    """The invited patient takes the offer: the held slot becomes their appointment and the
    entry is promoted, in one transaction (the entry locked). 409 OFFER_EXPIRED past the
    deadline, OFFER_NOT_PENDING with no open offer."""
    entry = await visible_entry(uow, principal, entry_id, lock=True)
    access.check_answers_offer(principal, entry)
    if entry.status != EntryStatus.INVITED.value or entry.offered_appointment_id is None:
        raise OfferNotPending(f"The entry is {entry.status}")
    now = cfg.clock.now()
    if entry.respond_by is None or now > entry.respond_by:
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
    offer = await OfferRepository(uow, entry.tenant_id).of_entry(entry.id, appointment.id)
    if offer is None:
        raise OfferNotPending("The offer is gone")
    offer.outcome = "accepted"
    offer.decided_at = now
    return await read_entry(uow, entry, now)


async def _back_in_queue(
    uow: UnitOfWork, entry: WaitlistEntry, *, now: datetime, actor: Actor, action: str
) -> None:
    """After an offer ends unanswered or declined: active again, or expired past its own expiry."""
    if entry.expires_at <= now:
        await close(uow, entry, EntryStatus.EXPIRED, actor=actor, now=now, event=WaitlistEvent.EXPIRED)
        return
    entry.status = EntryStatus.ACTIVE.value
    entry.updated_at = now
    await uow.flush()
    before, after = {"status": EntryStatus.INVITED.value}, {"status": EntryStatus.ACTIVE.value}
    await audit.record_change(uow, actor, action, entry, before=before, after=after)
    await emit(uow, WaitlistEvent.DECLINED, entry, outcome=action.split(".")[-1])


async def decline(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, entry_id: uuid.UUID
) -> EntryRead:
    """The invited patient says no: they wait on (or expire, past their own expiry), the slot
    is freed and offered to the next candidate in the same transaction."""
    entry = await visible_entry(uow, principal, entry_id, lock=True)
    access.check_answers_offer(principal, entry)
    if entry.status != EntryStatus.INVITED.value:
        raise OfferNotPending(f"The entry is {entry.status}")
    now = cfg.clock.now()
    freed = await withdraw_offer(
        uow, entry, outcome="declined", actor=principal.actor, reason="offer declined", now=now
    )
    await _back_in_queue(uow, entry, now=now, actor=principal.actor, action="waitlist.declined")
    await _offer_on(uow, cfg, entry.tenant_id, freed)
    return await read_entry(uow, entry, now)


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
    access.check_manages(principal, entry.clinic_id, doing="promote")
    if entry.status not in LIVE:
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
) -> OfferRead:
    """Staff offer a freed appointment's slot (cancelled or no-show, still ahead) to the best
    candidate, or to one entry. 409 NO_WAITLIST_CANDIDATE when nobody fits or it is taken."""
    appointment = await booking.get_visible(uow, principal, appointment_id)
    access.check_manages(principal, appointment.clinic_id, doing="offer slots")
    if appointment.status not in ("cancelled", "no_show"):
        raise NoCandidate("Only a cancelled or missed appointment frees its slot")
    slot = Slot(appointment.clinic_id, appointment.doctor_id, appointment.starts_at)
    invitation = await offer_slot(
        uow, cfg, tenant_id=appointment.tenant_id, slot=slot, actor=principal.actor, entry_id=entry_id
    )
    if invitation is None:
        raise NoCandidate()
    return OfferRead(
        entry=await read_entry(uow, invitation.entry, cfg.clock.now()),
        appointment_id=invitation.appointment_id,
        detail="Invited; the slot is held until they answer",
    )


async def expire_due(uow: UnitOfWork, cfg: WaitlistConfig, *, limit: int = 200) -> int:
    """Unanswered invitations past their deadline go back to the queue (or expire) and the slot
    moves to the next candidate; active entries past their expiry expire. Idempotent (only
    rows still due are touched, SKIP LOCKED); returns how many entries changed."""
    now = cfg.clock.now()
    invited = await repository.due_invitations(uow, now=now, limit=limit)
    for entry in invited:
        freed = await withdraw_offer(
            uow, entry, outcome="expired", actor=SYSTEM, reason="offer not answered in time", now=now
        )
        await _back_in_queue(uow, entry, now=now, actor=SYSTEM, action="waitlist.offer_expired")
        await _offer_on(uow, cfg, entry.tenant_id, freed)
    stale = await repository.stale_entries(uow, now=now, limit=limit)
    for entry in stale:
        if entry in invited:
            continue
        await close(uow, entry, EntryStatus.EXPIRED, actor=SYSTEM, now=now, event=WaitlistEvent.EXPIRED)
    return len(invited) + len(stale)
