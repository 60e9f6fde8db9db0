"""Waitlist API (see shared/API.md, Waitlist)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, status

from clinicflow.identity.access import Requires, Web
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.openapi import problems
from clinicflow.platform.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, Paging
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.waitlist import offers, policies, service
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.waitlist.schemas import (
    EntryPatch,
    EntryRead,
    EntryStatus,
    InviteIn,
    JoinIn,
    OfferRead,
    PolicyIn,
    PolicyRead,
    PromoteIn,
    StatsRead,
)
from clinicflow.waitlist.stats import clinic_stats

router = PrefixedRouter(prefix="/api/v1", tags=["waitlist"])
P = Permission
Reader = Annotated[TenantPrincipal, Depends(Requires(P.WAITLIST_READ))]
Member = Annotated[TenantPrincipal, Depends(Requires(P.WAITLIST_READ, P.WAITLIST_SELF, any_of=True))]
Actor = Annotated[TenantPrincipal, Depends(Requires(P.WAITLIST_MANAGE, P.WAITLIST_SELF, any_of=True))]
Manager = Annotated[TenantPrincipal, Depends(Requires(P.WAITLIST_MANAGE))]


async def waitlist_config(request: Request) -> WaitlistConfig:
    config: WaitlistConfig = request.app.state.waitlist
    return config


Config = Annotated[WaitlistConfig, Depends(waitlist_config)]
_ERRORS = problems(401, 403, 404, 409, 422)


@router.post("/waitlists", response_model=EntryRead, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
async def join(body: JoinIn, principal: Actor, ctx: Web, config: Config) -> EntryRead:
    """Join a clinic's waitlist (or one doctor's): patients for themselves, staff for a patient.
    409 WAITLIST_DUPLICATE if already waiting for the same target, WAITLIST_FULL at the cap."""
    async with ctx.db.transaction() as uow:
        return await service.join(uow, config, principal, data=body)


@router.get("/waitlists", response_model=Page[EntryRead], responses=problems(401, 403, 404, 422))
async def queue(
    principal: Reader,
    ctx: Web,
    config: Config,
    clinic_id: uuid.UUID,
    doctor_id: Annotated[
        uuid.UUID | None, Query(description="This doctor's entries and the clinic-wide ones")
    ] = None,
    status_filter: Annotated[EntryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> Page[EntryRead]:
    """A clinic's queue in priority order (default: active entries)."""
    async with ctx.db.reading() as uow:
        items, next_cursor = await service.list_queue(
            uow,
            config,
            principal,
            clinic_id=clinic_id,
            doctor_id=doctor_id,
            status=status_filter,
            limit=limit,
            cursor=cursor,
        )
    return Page[EntryRead](items=items, next_cursor=next_cursor)


@router.get("/waitlists/stats", response_model=StatsRead, responses=problems(401, 403, 404, 422))
async def stats(principal: Reader, ctx: Web, config: Config, clinic_id: uuid.UUID) -> StatsRead:
    """Depth by status, waits, today's promotions and expiries, 30-day conversion."""
    async with ctx.db.reading() as uow:
        return await clinic_stats(uow, config, principal, clinic_id=clinic_id)


@router.get("/waitlists/{entry_id}", response_model=EntryRead, responses=problems(401, 403, 404))
async def get_entry(entry_id: uuid.UUID, principal: Member, ctx: Web, config: Config) -> EntryRead:
    """One entry: your own, or one in a clinic whose queue you read."""
    async with ctx.db.reading() as uow:
        return await service.get_entry(uow, config, principal, entry_id=entry_id)


@router.patch("/waitlists/{entry_id}", response_model=EntryRead, responses=_ERRORS)
async def patch_entry(
    entry_id: uuid.UUID, body: EntryPatch, principal: Actor, ctx: Web, config: Config
) -> EntryRead:
    """Cancel, change notes or the requested window; staff may pin or boost (with a reason)."""
    async with ctx.db.transaction() as uow:
        return await service.patch(uow, config, principal, entry_id=entry_id, data=body)


@router.post("/waitlists/{entry_id}/accept", response_model=EntryRead, responses=_ERRORS)
async def accept(entry_id: uuid.UUID, principal: Actor, ctx: Web, config: Config) -> EntryRead:
    """Take the offered slot: it becomes your appointment."""
    async with ctx.db.transaction() as uow:
        return await offers.accept(uow, config, principal, entry_id=entry_id)


@router.post("/waitlists/{entry_id}/decline", response_model=EntryRead, responses=_ERRORS)
async def decline(entry_id: uuid.UUID, principal: Actor, ctx: Web, config: Config) -> EntryRead:
    """Turn the offer down: you keep your place and the slot goes to the next person."""
    async with ctx.db.transaction() as uow:
        return await offers.decline(uow, config, principal, entry_id=entry_id)


@router.post("/waitlists/{entry_id}/promote", response_model=EntryRead, responses=_ERRORS)
async def promote(
    entry_id: uuid.UUID, body: PromoteIn, principal: Manager, ctx: Web, config: Config
) -> EntryRead:
    """Book the waiting patient at `starts_at` and mark the entry promoted, atomically."""
    async with ctx.db.transaction() as uow:
        return await offers.promote(
            uow, config, principal, entry_id=entry_id, starts_at=body.starts_at, doctor_id=body.doctor_id
        )


@router.get(
    "/patients/{patient_id}/waitlists", response_model=Page[EntryRead], responses=problems(401, 403, 404, 422)
)
async def history(
    patient_id: uuid.UUID, principal: Member, ctx: Web, config: Config, page: Paging
) -> Page[EntryRead]:
    """A patient's entries, newest first, one page at a time (patients: their own only)."""
    async with ctx.db.reading() as uow:
        items, cursor = await service.patient_history(
            uow, config, principal, patient_id=patient_id, page=page
        )
    return Page(items=items, next_cursor=cursor)


@router.post("/appointments/{appointment_id}/waitlist/invite", response_model=OfferRead, responses=_ERRORS)
async def invite(
    appointment_id: uuid.UUID, principal: Manager, ctx: Web, config: Config, body: InviteIn | None = None
) -> OfferRead:
    """Offer a cancelled appointment's slot to the best candidate (or one entry)."""
    async with ctx.db.transaction() as uow:
        return await offers.invite_for_appointment(
            uow, config, principal, appointment_id=appointment_id, entry_id=body.entry_id if body else None
        )


@router.get(
    "/tenants/{tenant_id}/clinics/{clinic_id}/waitlist-policy",
    response_model=PolicyRead,
    responses=problems(401, 403, 404),
)
async def get_policy(
    tenant_id: uuid.UUID,
    clinic_id: uuid.UUID,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CLINICS_READ))],
    ctx: Web,
) -> PolicyRead:
    """The clinic's waitlist policy (defaults until set)."""
    async with ctx.db.reading() as uow:
        return await policies.read_policy(uow, principal, tenant_id=tenant_id, clinic_id=clinic_id)


@router.put(
    "/tenants/{tenant_id}/clinics/{clinic_id}/waitlist-policy",
    response_model=PolicyRead,
    responses=problems(401, 403, 404, 422),
)
async def put_policy(
    tenant_id: uuid.UUID,
    clinic_id: uuid.UUID,
    body: PolicyIn,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CLINICS_UPDATE))],
    ctx: Web,
) -> PolicyRead:
    """Replace the policy (audited); new weights re-order the queue at once."""
    async with ctx.db.transaction() as uow:
        return await policies.put_policy(uow, principal, tenant_id=tenant_id, clinic_id=clinic_id, data=body)
