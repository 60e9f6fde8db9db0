"""Scheduling API: doctors, availability, time off, slots, appointments, series, policy, video rooms."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse

from clinicflow.errors import NotFound
from clinicflow.identity import directory
from clinicflow.identity.access import Requires, Web, WebContext, public
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.schemas import DoctorRead
from clinicflow.platform import idempotency
from clinicflow.platform.instants import Instant
from clinicflow.platform.openapi import problems
from clinicflow.platform.pagination import MAX_LIMIT, Page, Paging
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import availability_service as availability
from clinicflow.scheduling import booking, policy, policy_service, recurring
from clinicflow.scheduling.calendar import calendar_file
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.schemas import (
    AppointmentRead,
    AvailabilityIn,
    AvailabilityRead,
    BookingIn,
    CancelIn,
    FollowUpIn,
    FollowUpRead,
    RescheduleIn,
    SchedulingPolicyIn,
    SchedulingPolicyRead,
    SeriesIn,
    SeriesRead,
    SlotRead,
    TimeOffIn,
    TimeOffRead,
)
from clinicflow.scheduling.state import Action, Status
from clinicflow.scheduling.video import SignedRoomProvider

router = PrefixedRouter(prefix="/api/v1", tags=["scheduling"])
rooms = APIRouter(tags=["video"])
P = Permission
Directory = Annotated[TenantPrincipal, Depends(Requires(P.DOCTORS_READ))]
Booker = Annotated[TenantPrincipal, Depends(Requires(P.APPOINTMENTS_BOOK, P.APPOINTMENTS_SELF, any_of=True))]
Reader = Annotated[TenantPrincipal, Depends(Requires(P.APPOINTMENTS_READ, P.APPOINTMENTS_SELF, any_of=True))]
Manager = Annotated[TenantPrincipal, Depends(Requires(P.APPOINTMENTS_MANAGE))]


async def scheduling(request: Request) -> SchedulingConfig:
    config: SchedulingConfig = request.app.state.scheduling
    return config


Config = Annotated[SchedulingConfig, Depends(scheduling)]


def _tenant(principal: TenantPrincipal) -> uuid.UUID:
    return principal.tenant_id


# --- doctors, availability, slots -------------------------------------------------------------


@router.get("/doctors", response_model=Page[DoctorRead], responses=problems(401, 403, 422))
async def list_doctors(
    principal: Directory,
    ctx: Web,
    page: Paging,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of the name; ignores case and accents")
    ] = None,
    specialty: Annotated[str | None, Query(max_length=100)] = None,
    clinic_id: uuid.UUID | None = None,
) -> Page[DoctorRead]:
    """Doctors of your organisation (cached for 30 s; a profile change clears it)."""
    tenant_id = _tenant(principal)
    key = (q, specialty, clinic_id, page.limit, page.after)
    cached = directory.DIRECTORY_CACHE.get(tenant_id, key)
    if cached is not None:
        result: Page[DoctorRead] = cached
        return result
    async with ctx.db.reading() as uow:
        items, cursor = await directory.search_doctors(
            uow, tenant_id=tenant_id, query=q, specialty=specialty, clinic_id=clinic_id, page=page
        )
    result = Page[DoctorRead](items=items, next_cursor=cursor)
    directory.DIRECTORY_CACHE.set(tenant_id, key, result)
    return result


async def _doctor_exists(ctx: WebContext, tenant_id: uuid.UUID, doctor_id: uuid.UUID) -> None:
    async with ctx.db.reading() as uow:
        if not await directory.doctor_clinics(uow, tenant_id=tenant_id, user_id=doctor_id):
            raise NotFound("Doctor not found")


@router.get(
    "/doctors/{doctor_id}/availability",
    response_model=AvailabilityRead,
    responses=problems(401, 403, 404, 422),
)
async def get_availability(
    doctor_id: uuid.UUID, clinic_id: uuid.UUID, principal: Directory, ctx: Web
) -> AvailabilityRead:
    """A doctor's weekly rules and booking settings at one clinic."""
    async with ctx.db.reading() as uow:
        plan = await availability.get_availability(
            uow, tenant_id=_tenant(principal), doctor_id=doctor_id, clinic_id=clinic_id
        )
    if plan is None:
        raise NotFound("No availability for this doctor at this clinic")
    return plan


@router.put(
    "/doctors/{doctor_id}/availability",
    response_model=AvailabilityRead,
    responses=problems(401, 403, 404, 422),
)
async def put_availability(
    doctor_id: uuid.UUID, body: AvailabilityIn, principal: Directory, ctx: Web
) -> AvailabilityRead:
    """Replace a doctor's plan at a clinic: the doctor, or `availability:manage` there."""
    await _doctor_exists(ctx, _tenant(principal), doctor_id)
    async with ctx.db.transaction() as uow:
        return await availability.put_availability(uow, principal, doctor_id=doctor_id, data=body)


@router.get(
    "/doctors/{doctor_id}/time-off",
    response_model=Page[TimeOffRead],
    responses=problems(401, 403, 404, 422),
)
async def list_time_off(
    doctor_id: uuid.UUID, principal: Directory, ctx: Web, config: Config, page: Paging
) -> Page[TimeOffRead]:
    """The doctor's current and future time off, soonest first, one page at a time."""
    await _doctor_exists(ctx, _tenant(principal), doctor_id)
    async with ctx.db.reading() as uow:
        items, cursor = await availability.list_time_off(
            uow, tenant_id=_tenant(principal), doctor_id=doctor_id, page=page, now=config.clock.now()
        )
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/doctors/{doctor_id}/time-off",
    response_model=TimeOffRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 404, 422),
)
async def add_time_off(doctor_id: uuid.UUID, body: TimeOffIn, principal: Directory, ctx: Web) -> TimeOffRead:
    """Record an absence: instants, or whole clinic-local days."""
    async with ctx.db.transaction() as uow:
        return await availability.add_time_off(uow, principal, doctor_id=doctor_id, data=body)


@router.delete(
    "/doctors/{doctor_id}/time-off/{time_off_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404),
)
async def remove_time_off(
    doctor_id: uuid.UUID, time_off_id: uuid.UUID, principal: Directory, ctx: Web
) -> Response:
    async with ctx.db.transaction() as uow:
        await availability.remove_time_off(uow, principal, doctor_id=doctor_id, time_off_id=time_off_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/doctors/{doctor_id}/slots", response_model=Page[SlotRead], responses=problems(401, 403, 404, 422)
)
async def slots(
    doctor_id: uuid.UUID,
    principal: Directory,
    ctx: Web,
    config: Config,
    start: Annotated[Instant, Query(alias="from", description="RFC 3339 with offset")],
    end: Annotated[
        Instant, Query(alias="to", description="RFC 3339 with offset; at most 31 days after from")
    ],
    clinic_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[SlotRead]:
    """Free, bookable slots of the doctor (after minimum notice, within the horizon), soonest first."""
    tenant_id = _tenant(principal)
    async with ctx.db.reading() as uow:
        items, next_cursor = await availability.free_slots_page(
            uow,
            tenant_id=tenant_id,
            doctor_id=doctor_id,
            clinic_id=clinic_id,
            start=start,
            end=end,
            now=config.clock.now(),
            limit=limit,
            cursor=cursor,
        )
    return Page(items=items, next_cursor=next_cursor)


# --- appointments -----------------------------------------------------------------------------


@router.post(
    "/appointments",
    response_model=AppointmentRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def book(
    body: BookingIn,
    principal: Booker,
    ctx: Web,
    config: Config,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    """Book an offered slot: patients for themselves, staff for a patient. 409 SLOT_UNAVAILABLE
    when it was just taken. With `Idempotency-Key`, a retry returns the first answer."""
    if idempotency_key is None:
        async with ctx.db.transaction() as uow:
            return booking.read(await booking.book(uow, config, principal, data=body))
    key = idempotency.Key.of(
        tenant_id=_tenant(principal),
        caller_id=principal.user_id,
        scope="POST /api/v1/appointments",
        key=idempotency_key,
        request=body.model_dump_json().encode(),
    )
    async with ctx.db.transaction() as uow:
        outcome = await booking.book_once(uow, config, principal, data=body, key=key)
    if isinstance(outcome, idempotency.Replay):
        return JSONResponse(outcome.body, status_code=outcome.status_code)
    return booking.read(outcome)


@router.get("/appointments", response_model=Page[AppointmentRead], responses=problems(401, 403, 422))
async def list_appointments(
    principal: Reader,
    ctx: Web,
    page: Paging,
    patient_id: uuid.UUID | None = None,
    doctor_id: uuid.UUID | None = None,
    clinic_id: uuid.UUID | None = None,
    status_filter: Annotated[Status | None, Query(alias="status")] = None,
    start: Annotated[Instant | None, Query(alias="from", description="RFC 3339 with offset")] = None,
    end: Annotated[Instant | None, Query(alias="to", description="RFC 3339 with offset")] = None,
) -> Page[AppointmentRead]:
    """Appointments you may see (staff: their clinics; patients: their own)."""
    async with ctx.db.reading() as uow:
        items, cursor = await booking.list_appointments(
            uow,
            principal,
            patient_id=patient_id,
            doctor_id=doctor_id,
            clinic_id=clinic_id,
            status=status_filter,
            start=start,
            end=end,
            page=page,
        )
    return Page[AppointmentRead](items=items, next_cursor=cursor)


@router.get(
    "/appointments/{appointment_id}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **problems(401, 403, 404)},
)
async def appointment_calendar(
    appointment_id: uuid.UUID, principal: Reader, ctx: Web, config: Config
) -> Response:
    """The appointment as an iCalendar file."""
    async with ctx.db.reading() as uow:
        body = await calendar_file(uow, config, principal, appointment_id)
    return Response(
        body,
        media_type="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="appointment-{appointment_id}.ics"'},
    )


# Declared after the .ics route: `{appointment_id}` would otherwise swallow `<id>.ics`.
@router.get(
    "/appointments/{appointment_id}", response_model=AppointmentRead, responses=problems(401, 403, 404)
)
async def get_appointment(appointment_id: uuid.UUID, principal: Reader, ctx: Web) -> AppointmentRead:
    async with ctx.db.reading() as uow:
        return booking.read(await booking.get_visible(uow, principal, appointment_id))


async def _transition(
    ctx: WebContext,
    config: SchedulingConfig,
    principal: TenantPrincipal,
    appointment_id: uuid.UUID,
    action: Action,
    reason: str | None = None,
) -> AppointmentRead:
    async with ctx.db.transaction() as uow:
        return booking.read(
            await booking.transition(
                uow, config, principal, appointment_id=appointment_id, action=action, reason=reason
            )
        )


_TRANSITION_ERRORS = problems(401, 403, 404, 409, 422)


@router.post(
    "/appointments/{appointment_id}/cancel", response_model=AppointmentRead, responses=_TRANSITION_ERRORS
)
async def cancel(
    appointment_id: uuid.UUID, principal: Reader, ctx: Web, config: Config, body: CancelIn | None = None
) -> AppointmentRead:
    """Cancel: patients before the clinic's cut-off (409 CANCELLATION_TOO_LATE after), staff any time."""
    return await _transition(
        ctx, config, principal, appointment_id, Action.CANCEL, body.reason if body else None
    )


@router.post(
    "/appointments/{appointment_id}/confirm", response_model=AppointmentRead, responses=_TRANSITION_ERRORS
)
async def confirm(appointment_id: uuid.UUID, principal: Reader, ctx: Web, config: Config) -> AppointmentRead:
    """The patient (or staff) confirms they will come."""
    return await _transition(ctx, config, principal, appointment_id, Action.CONFIRM)


@router.post(
    "/appointments/{appointment_id}/start", response_model=AppointmentRead, responses=_TRANSITION_ERRORS
)
async def start(appointment_id: uuid.UUID, principal: Manager, ctx: Web, config: Config) -> AppointmentRead:
    return await _transition(ctx, config, principal, appointment_id, Action.START)


@router.post(
    "/appointments/{appointment_id}/complete", response_model=AppointmentRead, responses=_TRANSITION_ERRORS
)
async def complete(
    appointment_id: uuid.UUID, principal: Manager, ctx: Web, config: Config
) -> AppointmentRead:
    return await _transition(ctx, config, principal, appointment_id, Action.COMPLETE)


@router.post(
    "/appointments/{appointment_id}/no-show", response_model=AppointmentRead, responses=_TRANSITION_ERRORS
)
async def no_show(appointment_id: uuid.UUID, principal: Manager, ctx: Web, config: Config) -> AppointmentRead:
    return await _transition(ctx, config, principal, appointment_id, Action.NO_SHOW)


@router.post(
    "/appointments/{appointment_id}/reschedule", response_model=AppointmentRead, responses=_TRANSITION_ERRORS
)
async def reschedule(
    appointment_id: uuid.UUID, body: RescheduleIn, principal: Reader, ctx: Web, config: Config
) -> AppointmentRead:
    """Move to another offered slot atomically (409 SLOT_UNAVAILABLE leaves the old time booked)."""
    async with ctx.db.transaction() as uow:
        return booking.read(
            await booking.reschedule(uow, config, principal, appointment_id=appointment_id, data=body)
        )


@router.post(
    "/appointments/{appointment_id}/follow-ups",
    response_model=FollowUpRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 404, 409, 422),
)
async def follow_up(
    appointment_id: uuid.UUID,
    body: FollowUpIn,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.APPOINTMENTS_BOOK))],
    ctx: Web,
    config: Config,
) -> FollowUpRead:
    """Plan a follow-up due in a window (book it later with `follow_up_plan_id`), or book it now."""
    async with ctx.db.transaction() as uow:
        return await recurring.create_follow_up(uow, config, principal, parent_id=appointment_id, data=body)


@router.post(
    "/appointment-series",
    response_model=SeriesRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def book_series(body: SeriesIn, principal: Booker, ctx: Web, config: Config) -> SeriesRead:
    """Weekly or fortnightly appointments: all or nothing, or skipping taken occurrences."""
    async with ctx.db.transaction() as uow:
        return await recurring.book_series(uow, config, principal, data=body)


# --- clinic scheduling policy ------------------------------------------------------------------


@router.get(
    "/clinics/{clinic_id}/scheduling-policy",
    response_model=SchedulingPolicyRead,
    responses=problems(401, 403, 404),
)
async def get_policy(
    clinic_id: uuid.UUID, principal: Annotated[TenantPrincipal, Depends(Requires(P.CLINICS_READ))], ctx: Web
) -> SchedulingPolicyRead:
    """Cancellation cut-off and no-show grace (defaults until set)."""
    policy.require_clinic_reader(principal, clinic_id)
    async with ctx.db.reading() as uow:
        return await policy_service.get_policy(uow, tenant_id=_tenant(principal), clinic_id=clinic_id)


@router.put(
    "/clinics/{clinic_id}/scheduling-policy",
    response_model=SchedulingPolicyRead,
    responses=problems(401, 403, 404, 422),
)
async def put_policy(
    clinic_id: uuid.UUID,
    body: SchedulingPolicyIn,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CLINICS_UPDATE))],
    ctx: Web,
) -> SchedulingPolicyRead:
    policy.require_clinic_editor(principal, clinic_id)
    async with ctx.db.transaction() as uow:
        return await policy_service.put_policy(uow, principal, clinic_id=clinic_id, data=body)


# --- the placeholder video room -------------------------------------------------------------


@rooms.get(
    "/video/rooms/{appointment_id}",
    response_class=HTMLResponse,
    dependencies=[Depends(public)],
    responses=problems(404, 422),
)
async def video_room(
    appointment_id: uuid.UUID, tenant: uuid.UUID, token: str, config: Config
) -> HTMLResponse:
    """The room a video visit's link opens (a placeholder until a video provider is plugged in)."""
    video = config.video
    if not isinstance(video, SignedRoomProvider) or not video.verify(tenant, appointment_id, token):
        raise NotFound("No such room")
    return HTMLResponse(
        "<!doctype html><html lang=en><meta charset=utf-8><title>Video visit</title>"
        "<main><h1>Your video visit</h1><p>This room is ready. Your clinician will join at the "
        "appointment time.</p></main></html>"
    )
