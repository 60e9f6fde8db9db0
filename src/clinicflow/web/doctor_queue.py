"""The doctor's live queue (`/doctor/queue`): who is called, who is in with me, who waits.

One check-in location of my clinics at a time (`?location=<id>`; by default the first
where patients wait for me today, else the first). The page lists, for the location's
clinic-local today, my called and in-consultation patients (since when) and my waiting
patients in queue order (appointment time, minutes waited, late, priority), with the
moves each entry's status allows as plain POST forms: call next, start, complete, recall,
skip, no-show. They call the queue API's own services (`checkin.queue.moves`), then 303
back to the page with a notice; a move the queue refuses (nobody waiting, an entry past
that move) shows the page again with the reason and changes nothing.

Live: the page follows `queue:<location_id>` through its session cookie and fetches its
queue again on `queue.updated` (every arrival and move publishes it), on `sse:reset`, and
once a minute so the minutes waited keep counting; htmx's re-fetch (`HX-Request`) gets the
queue's fragment alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.checkin.queue import estimates, moves
from clinicflow.checkin.queue import service as queue
from clinicflow.checkin.queue.moves import Move
from clinicflow.checkin.queue.rows import QueueDesk
from clinicflow.checkin.queue.schemas import QueueEntryRead
from clinicflow.errors import Conflict, NotFound
from clinicflow.identity.access import context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.tenancy import service as tenancy
from clinicflow.web.access import DoctorPage
from clinicflow.web.doctor import practice_of
from clinicflow.web.forms import CheckedForm, text
from clinicflow.web.patient_views import N_, gettext_for, uuid_or_none
from clinicflow.web.rendering import render
from clinicflow.web.routing import PageRoute
from clinicflow.web.weeks import scheduling_of

router = PrefixedRouter(prefix="/doctor/queue", include_in_schema=False, route_class=PageRoute)
#: Most check-in locations the page offers to choose from.
LOCATION_LIMIT = 100
#: The moves an entry's buttons make, by their path segment, in the order they are shown.
MOVES: dict[str, Move] = {
    "start": moves.START,
    "complete": moves.COMPLETE,
    "recall": moves.RECALL,
    "skip": moves.SKIP,
    "no-show": moves.NO_SHOW,
}
BUTTONS = {
    "start": N_("Start"),
    "complete": N_("Complete"),
    "recall": N_("Recall"),
    "skip": N_("Skip"),
    "no-show": N_("No-show"),
}
_NOTICES = {
    "called": N_("The next patient is called."),
    "start": N_("The consultation has started."),
    "complete": N_("The consultation is completed."),
    "recall": N_("The patient is called again."),
    "skip": N_("The patient is sent back in the queue."),
    "no-show": N_("The patient is marked as a no-show."),
}
#: The priority classes the desk sets (`checkin.models.Priority`): lower is seen first.
PRIORITIES = {0: N_("Urgent"), 1: N_("High"), 2: N_("Normal")}


@dataclass(frozen=True, slots=True)
class Row:
    """One of my queue entries as the page shows it, its times on the clinic's clock."""

    entry: QueueEntryRead
    number: int  # 1 is the next I call (waiting); the order shown otherwise
    appointment_at: str  # HH:MM
    appointment_iso: str
    since: str  # called or started (HH:MM), for the called and in-consultation lists
    since_iso: str
    minutes: int  # waited (waiting), or since called / started
    moves: tuple[str, ...]


def moves_of(status: str) -> tuple[str, ...]:
    """The moves (MOVES' keys) an entry in `status` can make."""
    return tuple(name for name, move in MOVES.items() if status in move.leaving)


def _row(number: int, entry: QueueEntryRead, clinic_zone: ZoneInfo, now: datetime) -> Row:
    since = entry.started_at if entry.status == "in_consultation" else entry.called_at
    minutes = entry.waited_minutes if since is None else estimates.minutes_of(now - since)
    starts = entry.appointment_starts_at.astimezone(clinic_zone)
    shown = since.astimezone(clinic_zone) if since is not None else None
    return Row(
        entry,
        number,
        starts.strftime("%H:%M"),
        starts.isoformat(),
        shown.strftime("%H:%M") if shown else "",
        shown.isoformat() if shown else "",
        minutes,
        moves_of(entry.status),
    )


def _rows(entries: list[QueueEntryRead], doctor_id: uuid.UUID, zone: ZoneInfo, now: datetime) -> list[Row]:
    mine = (e for e in entries if e.doctor_id == doctor_id)
    return [_row(n, e, zone, now) for n, e in enumerate(mine, start=1)]


async def _choose(
    uow: UnitOfWork, principal: TenantPrincipal, places: list[QueueDesk], now: datetime
) -> tuple[uuid.UUID, queue.StaffQueue] | None:
    """The first location where patients wait for me today, else the first one, with its queue:
    one statement to find it, then its queue."""
    if not places:
        return None
    mine = await queue.desks_with_my_patients(
        uow, principal, location_ids=[p.location.location_id for p in places], now=now
    )
    chosen = next((p for p in places if p.location.location_id in mine), places[0])
    return chosen.location.location_id, await _read_at(uow, principal, chosen, now)


async def _read_at(
    uow: UnitOfWork, principal: TenantPrincipal, place: QueueDesk, now: datetime
) -> queue.StaffQueue:
    return await queue.read_staff_queue_at(uow, principal, place.location, day=None, now=now)


async def _picked(
    uow: UnitOfWork,
    principal: TenantPrincipal,
    places: list[QueueDesk],
    location_id: uuid.UUID,
    now: datetime,
    *,
    named: bool,
) -> tuple[queue.StaffQueue, str]:
    """The asked-for location's queue and (when `named`) its name: one statement for one of
    `places`; for a location that takes no check-ins (a waiting room of my clinics), its
    queue (two statements) and its name from tenancy."""
    place = next((p for p in places if p.location.location_id == location_id), None)
    if place is not None:
        return await _read_at(uow, principal, place, now), place.name
    read = await queue.read_staff_queue(uow, principal, location_id=location_id, day=None, now=now)
    name = ""
    if named:
        found = await tenancy.get_location(uow, tenant_id=principal.tenant_id, location_id=location_id)
        name = found.name if found is not None else ""
    return read, name


async def _queue_page(
    request: Request,
    principal: TenantPrincipal,
    location_id: uuid.UUID | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    fragment: bool = False,
) -> Response:
    """The page: two statements for a chosen location (the locations to choose from with what
    their queues' reads need, then the queue), the template on the clinic's clock. The
    `fragment` (the live part htmx re-fetches) is the queue alone: two statements, no layout."""
    ctx = context_of(request)
    gettext = gettext_for(request)
    now = scheduling_of(request).clock.now()
    practice = practice_of(principal)
    fragment = fragment and location_id is not None
    places: list[QueueDesk] = []
    name = ""
    picked: tuple[uuid.UUID, queue.StaffQueue] | None
    async with ctx.db.reading() as uow:
        if not fragment:
            places = await queue.queue_desks(uow, principal, among=practice, limit=LOCATION_LIMIT)
        if location_id is not None:
            shown, name = await _picked(uow, principal, places, location_id, now, named=not fragment)
            picked = (location_id, shown)
        else:
            picked = await _choose(uow, principal, places, now)
            name = next((p.name for p in places if picked and p.location.location_id == picked[0]), "")
    context: dict[str, Any] = {
        "places": [{"location_id": p.location.location_id, "name": p.name} for p in places],
        "location_id": picked[0] if picked else None,
        "location": name,
        "notice": notice,
        "error": error,
        "buttons": {name: gettext(label) for name, label in BUTTONS.items()},
        "priorities": {level: gettext(label) for level, label in PRIORITIES.items()},
        "called": [],
        "consulting": [],
        "waiting": [],
        "others_waiting": 0,
    }
    if picked is not None:
        read, zone, me = picked[1].queue, ZoneInfo(picked[1].timezone), principal.user_id
        context |= {
            "day": read.day,
            "now": now.astimezone(zone),
            "called": _rows(read.called, me, zone, now),
            "consulting": _rows(read.in_consultation, me, zone, now),
            "waiting": _rows(read.waiting, me, zone, now),
            "others_waiting": sum(1 for e in read.waiting if e.doctor_id != me),
        }
    template = "doctor/_queue.html" if fragment else "doctor/queue.html"
    response = render(request, template, context, status_code=status_code)
    response.headers["Vary"] = "HX-Request"  # the same address answers the page or its live part
    return response


@router.get("")
async def my_queue(request: Request, principal: DoctorPage, location: str | None = None) -> Response:
    """My queue at one check-in location today, live: called, in consultation, waiting."""
    location_id = None
    if location:
        location_id = uuid_or_none(location)
        if location_id is None:
            raise NotFound("Location not found")
    notice = next((_NOTICES[v] for v in request.query_params.getlist("done") if v in _NOTICES), None)
    fragment = request.headers.get("hx-request") == "true"
    return await _queue_page(request, principal, location_id, notice=notice, fragment=fragment)


def _back(location_id: uuid.UUID, done: str) -> RedirectResponse:
    return RedirectResponse(f"/doctor/queue?location={location_id}&done={done}", status_code=303)


@router.post("/call-next")
async def call_next(request: Request, principal: DoctorPage, form: CheckedForm) -> Response:
    """Call the next patient waiting for me at the form's location."""
    location_id = uuid_or_none(text(form, "location"))
    if location_id is None:
        raise NotFound("Location not found")
    try:
        async with context_of(request).db.transaction() as uow:
            moved = await moves.call_next(
                uow, scheduling_of(request).clock, principal, location_id=location_id, doctor_id=None
            )
    except Conflict as refused:
        return await _queue_page(
            request, principal, location_id, error=refused.detail, status_code=refused.status
        )
    return _back(moved.location_id, "called")


async def _move(
    request: Request, principal: TenantPrincipal, check_in_id: uuid.UUID, form: CheckedForm, name: str
) -> Response:
    """Make one of MOVES on an entry; a refusal shows the form's location's queue again."""
    try:
        async with context_of(request).db.transaction() as uow:
            moved = await moves.apply(
                uow, scheduling_of(request).clock, principal, check_in_id=check_in_id, move=MOVES[name]
            )
    except Conflict as refused:
        location_id = uuid_or_none(text(form, "location"))
        return await _queue_page(
            request, principal, location_id, error=refused.detail, status_code=refused.status
        )
    return _back(moved.location_id, name)


@router.post("/entries/{check_in_id}/start")
async def start(
    request: Request, principal: DoctorPage, check_in_id: uuid.UUID, form: CheckedForm
) -> Response:
    """The called patient is in: the consultation (and the appointment) starts."""
    return await _move(request, principal, check_in_id, form, "start")


@router.post("/entries/{check_in_id}/complete")
async def complete(
    request: Request, principal: DoctorPage, check_in_id: uuid.UUID, form: CheckedForm
) -> Response:
    """The consultation is over: the entry and the appointment are completed."""
    return await _move(request, principal, check_in_id, form, "complete")


@router.post("/entries/{check_in_id}/recall")
async def recall(
    request: Request, principal: DoctorPage, check_in_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Call a called patient again (the displays announce the ticket again)."""
    return await _move(request, principal, check_in_id, form, "recall")


@router.post("/entries/{check_in_id}/skip")
async def skip(
    request: Request, principal: DoctorPage, check_in_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Send a waiting or called patient back, behind the on-time patients of their class."""
    return await _move(request, principal, check_in_id, form, "skip")


@router.post("/entries/{check_in_id}/no-show")
async def no_show(
    request: Request, principal: DoctorPage, check_in_id: uuid.UUID, form: CheckedForm
) -> Response:
    """A called patient never came: the entry and the appointment are no-shows."""
    return await _move(request, principal, check_in_id, form, "no-show")
