"""The front desk's waitlists (`/desk/waitlists`): one clinic's queue, pin, boost, invite.

The queue is the waitlist service's priority order (pinned first, then score,
then join time). Pinning and boosting are the service's reorder (`patch` with
`pinned` / `boost` and a reason, audited as `waitlist.reordered`). Inviting
offers a freed slot (a cancelled or missed appointment still ahead) to the best
fitting patient or to one chosen entry, through the service's
`invite_for_appointment`: the slot is held for them until they answer.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.errors import ClinicflowError, FieldProblem, NotFound, ValidationFailed
from clinicflow.identity.access import context_of
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import booking
from clinicflow.scheduling.state import Status
from clinicflow.waitlist import offers
from clinicflow.waitlist import service as waitlist
from clinicflow.waitlist.schemas import EntryPatch, EntryStatus, InviteIn
from clinicflow.web.access import DeskPage
from clinicflow.web.desk import desk_clinics, visits_of
from clinicflow.web.forms import CheckedForm, text, validated
from clinicflow.web.rendering import field_errors, render
from clinicflow.web.routing import PageRoute
from clinicflow.web.weeks import appointments_between, names_of, scheduling_of, waitlist_of

router = PrefixedRouter(prefix="/desk", include_in_schema=False, route_class=PageRoute)
#: How many entries of one status the page lists, and how far ahead it looks for freed slots.
QUEUE_LIMIT = 200
FREED_AHEAD = timedelta(days=14)
_NOTICES = {
    "pinned": "The patient is pinned to the top.",
    "unpinned": "The pin is removed.",
    "boosted": "The priority is changed.",
    "invited": "The slot is offered and held until they answer.",
}


async def _page(
    request: Request,
    principal: TenantPrincipal,
    clinic_id: uuid.UUID | None,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """One clinic's queue (mine: 404 for another), its invited patients and its freed slots."""
    ctx = context_of(request)
    now = scheduling_of(request).clock.now()
    config = waitlist_of(request)
    async with ctx.db.reading() as uow:
        clinics = await desk_clinics(uow, principal, Permission.WAITLIST_READ)
        clinic = clinics.get(clinic_id) if clinic_id else next(iter(clinics.values()), None)
        queues: dict[EntryStatus, list[Any]] = {EntryStatus.ACTIVE: [], EntryStatus.INVITED: []}
        freed: list[Any] = []
        names: dict[uuid.UUID, str] = {}
        if clinic_id is not None and clinic is None:
            raise NotFound("Clinic not found")  # not one of mine, or another tenant's
        if clinic is not None:
            for status in queues:
                queues[status], _ = await waitlist.list_queue(
                    uow,
                    config,
                    principal,
                    clinic_id=clinic.id,
                    doctor_id=None,
                    status=status,
                    limit=QUEUE_LIMIT,
                    cursor=None,
                )
            gone = []
            for ended in (Status.CANCELLED, Status.NO_SHOW):
                gone += await appointments_between(
                    uow, principal, start=now, end=now + FREED_AHEAD, clinic_id=clinic.id, status=ended
                )
            freed = await visits_of(uow, principal, sorted(gone, key=lambda a: a.starts_at), clinics)
            waiting = [e for entries in queues.values() for e in entries]
            names = await names_of(
                uow,
                tenant_id=principal.tenant_id,
                user_ids=[e.patient_id for e in waiting] + [e.doctor_id for e in waiting if e.doctor_id],
            )
    context = {
        "clinics": list(clinics.values()),
        "clinic": clinic,
        "active": queues[EntryStatus.ACTIVE],
        "invited": queues[EntryStatus.INVITED],
        "freed": freed,
        "names": names,
        "errors": errors or {},
        "notice": next((_NOTICES[k] for k in request.query_params if k in _NOTICES), None),
        "may_manage": clinic is not None and principal.can(Permission.WAITLIST_MANAGE, clinic_id=clinic.id),
    }
    return render(request, "desk/waitlists.html", context, status_code=status_code)


@router.get("/waitlists")
async def waitlists(request: Request, principal: DeskPage, clinic_id: uuid.UUID | None = None) -> Response:
    """A clinic's waitlist in priority order, with the freed slots to offer."""
    return await _page(request, principal, clinic_id)


async def _clinic_of_entry(request: Request, principal: TenantPrincipal, entry_id: uuid.UUID) -> uuid.UUID:
    """The entry's clinic, to show its queue again (404 if the entry is not visible)."""
    ctx = context_of(request)
    async with ctx.db.reading() as uow:
        entry = await waitlist.get_entry(uow, waitlist_of(request), principal, entry_id=entry_id)
    return entry.clinic_id


async def _reorder(
    request: Request, principal: TenantPrincipal, entry_id: uuid.UUID, values: dict[str, Any], done: str
) -> Response:
    """Pin or boost an entry (with the reason the form gave); else its queue with the errors,
    named `pin-<entry>.<field>` or `boost-<entry>.<field>` after the form."""
    ctx = context_of(request)
    prefix = f"{'boost' if 'boost' in values else 'pin'}-{entry_id}."
    try:
        data = _reorder_of(values, prefix)
        async with ctx.db.transaction() as uow:
            entry = await waitlist.patch(uow, waitlist_of(request), principal, entry_id=entry_id, data=data)
    except ClinicflowError as refused:
        clinic_id = await _clinic_of_entry(request, principal, entry_id)
        errors = field_errors(refused)
        errors.setdefault(f"{prefix}form", errors["form"])
        return await _page(request, principal, clinic_id, errors=errors, status_code=refused.status)
    return RedirectResponse(f"/desk/waitlists?clinic_id={entry.clinic_id}&{done}=1", status_code=303)


def _reorder_of(values: dict[str, Any], prefix: str) -> EntryPatch:
    """The reorder as the service takes it; a missing reason is the reason field's error,
    reported with any other field's."""
    problems = []
    if not values.get("reason"):
        problems.append(FieldProblem(field=f"{prefix}reason", message="required: say why the order changes"))
    try:
        data = validated(EntryPatch, {**values, "reason": values.get("reason") or "(none)"}, prefix=prefix)
    except ValidationFailed as invalid:
        problems += invalid.errors
    if problems:
        raise ValidationFailed("The order was not changed", errors=problems)
    return data


@router.post("/waitlists/{entry_id}/pin")
async def pin(request: Request, principal: DeskPage, entry_id: uuid.UUID, form: CheckedForm) -> Response:
    """Pin a waiting patient to the top of the queue, or take the pin away (`pinned=false`)."""
    pinned = text(form, "pinned") != "false"
    values = {"pinned": pinned, "reason": text(form, "reason")}
    return await _reorder(request, principal, entry_id, values, "pinned" if pinned else "unpinned")


@router.post("/waitlists/{entry_id}/boost")
async def boost(request: Request, principal: DeskPage, entry_id: uuid.UUID, form: CheckedForm) -> Response:
    """Set a waiting patient's boost: extra priority points (negative lowers them)."""
    values = {"boost": text(form, "boost"), "reason": text(form, "reason")}  # empty: not a number
    return await _reorder(request, principal, entry_id, values, "boosted")


@router.post("/appointments/{appointment_id}/invite")
async def invite(
    request: Request, principal: DeskPage, appointment_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Offer a freed slot to the best fitting patient, or to the entry chosen."""
    ctx = context_of(request)
    chosen = text(form, "entry_id")
    try:
        data = validated(InviteIn, {"entry_id": chosen} if chosen else {}, prefix=f"slot-{appointment_id}.")
        async with ctx.db.transaction() as uow:
            await offers.invite_for_appointment(
                uow, waitlist_of(request), principal, appointment_id=appointment_id, entry_id=data.entry_id
            )
            freed = booking.read(await booking.get_visible(uow, principal, appointment_id))
    except ClinicflowError as refused:
        async with ctx.db.reading() as uow:  # the slot's clinic, to show its queue again (404 if unseen)
            clinic_id = booking.read(await booking.get_visible(uow, principal, appointment_id)).clinic_id
        errors = field_errors(refused)
        errors.setdefault(f"slot-{appointment_id}.form", errors["form"])
        return await _page(request, principal, clinic_id, errors=errors, status_code=refused.status)
    return RedirectResponse(f"/desk/waitlists?clinic_id={freed.clinic_id}&invited=1", status_code=303)
