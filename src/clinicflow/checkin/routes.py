"""Check-in API (shared/API.md, "Check-in and queues"): check-in locations and the clinic's
window, QR codes, the patient's scan, and reception's check-in and override."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, Depends, Query, Request, Response, status

from clinicflow.checkin import locations, reception, scanning, window
from clinicflow.checkin import qr as codes
from clinicflow.checkin.config import CheckInConfig
from clinicflow.checkin.qr import MEDIA_TYPES, QrFormat
from clinicflow.checkin.schemas import (
    CheckInLocationCreate,
    CheckInLocationIn,
    CheckInLocationRead,
    CheckInPolicyIn,
    CheckInPolicyRead,
    CheckInRead,
    DeskCheckInIn,
    OverrideIn,
    QrTokenRead,
    ScanCheckedIn,
    ScanChoice,
    ScanIn,
    ScanResult,
)
from clinicflow.identity.access import Requires, Web
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.openapi import problems
from clinicflow.platform.pagination import Page, Paging
from clinicflow.platform.routing import PrefixedRouter

router = PrefixedRouter(prefix="/api/v1", tags=["check-in"])
P = Permission
Configurer = Annotated[TenantPrincipal, Depends(Requires(P.CHECKIN_CONFIGURE))]
Viewer = Annotated[TenantPrincipal, Depends(Requires(P.CHECKIN_CONFIGURE, P.QUEUE_READ, any_of=True))]
_LOCATIONS = "/appointments/check-in/locations"


async def checkin_config(request: Request) -> CheckInConfig:
    config: CheckInConfig = request.app.state.checkin
    return config


Config = Annotated[CheckInConfig, Depends(checkin_config)]


# --- check-in locations ----------------------------------------------------------------------


@router.get(_LOCATIONS, response_model=Page[CheckInLocationRead], responses=problems(401, 403, 422))
async def list_locations(
    principal: Viewer,
    ctx: Web,
    page: Paging,
    clinic_id: Annotated[uuid.UUID | None, Query(description="Only this clinic's")] = None,
) -> Page[CheckInLocationRead]:
    """Locations taking check-ins, in the clinics where you configure check-in or read the queue."""
    async with ctx.db.reading() as uow:
        items, cursor = await locations.list_locations(uow, principal, clinic_id=clinic_id, page=page)
    return Page[CheckInLocationRead](items=items, next_cursor=cursor)


@router.post(
    _LOCATIONS,
    response_model=CheckInLocationRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def create_location(
    body: CheckInLocationCreate, principal: Configurer, ctx: Web
) -> CheckInLocationRead:
    """Let a clinic location take check-ins (its QR code starts at version 1)."""
    async with ctx.db.transaction() as uow:
        return await locations.create_location(uow, principal, data=body)


@router.get(
    _LOCATIONS + "/{location_id}", response_model=CheckInLocationRead, responses=problems(401, 403, 404)
)
async def get_location(location_id: uuid.UUID, principal: Viewer, ctx: Web) -> CheckInLocationRead:
    async with ctx.db.reading() as uow:
        return await locations.read_location(uow, principal, location_id=location_id)


@router.put(
    _LOCATIONS + "/{location_id}", response_model=CheckInLocationRead, responses=problems(401, 403, 404, 422)
)
async def update_location(
    location_id: uuid.UUID, body: CheckInLocationIn, principal: Configurer, ctx: Web
) -> CheckInLocationRead:
    """Replace the location's check-in settings (audited)."""
    async with ctx.db.transaction() as uow:
        return await locations.update_location(uow, principal, location_id=location_id, data=body)


@router.delete(
    _LOCATIONS + "/{location_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 403, 404)
)
async def delete_location(location_id: uuid.UUID, principal: Configurer, ctx: Web) -> Response:
    """The location stops taking check-ins (its past check-ins stay)."""
    async with ctx.db.transaction() as uow:
        await locations.remove_location(uow, principal, location_id=location_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    _LOCATIONS + "/{location_id}/qr-version",
    response_model=CheckInLocationRead,
    responses=problems(401, 403, 404),
)
async def revoke_codes(location_id: uuid.UUID, principal: Configurer, ctx: Web) -> CheckInLocationRead:
    """Bump the QR version: every printed copy (and a kiosk's current code) stops working."""
    async with ctx.db.transaction() as uow:
        return await locations.revoke_codes(uow, principal, location_id=location_id)


# --- the clinic's window ---------------------------------------------------------------------


@router.get(
    "/clinics/{clinic_id}/check-in-policy",
    response_model=CheckInPolicyRead,
    responses=problems(401, 403, 404),
)
async def get_window(
    clinic_id: uuid.UUID, principal: Annotated[TenantPrincipal, Depends(Requires(P.CLINICS_READ))], ctx: Web
) -> CheckInPolicyRead:
    """When check-in opens and closes around an appointment (defaults until set)."""
    async with ctx.db.reading() as uow:
        return await window.read_window(uow, principal, clinic_id=clinic_id)


@router.put(
    "/clinics/{clinic_id}/check-in-policy",
    response_model=CheckInPolicyRead,
    responses=problems(401, 403, 404, 422),
)
async def put_window(
    clinic_id: uuid.UUID, body: CheckInPolicyIn, principal: Configurer, ctx: Web
) -> CheckInPolicyRead:
    """Replace the clinic's check-in window (audited)."""
    async with ctx.db.transaction() as uow:
        return await window.put_window(uow, principal, clinic_id=clinic_id, data=body)


# --- QR codes --------------------------------------------------------------------------------


def _matches(if_none_match: str | None, tag: str) -> bool:
    if if_none_match is None:
        return False
    offered = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in offered or tag in offered


@router.get(
    "/locations/{location_id}/qr-code",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in MEDIA_TYPES.values()}, "description": "The QR code image"},
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **problems(401, 403, 404, 422),
    },
)
async def qr_code(
    location_id: uuid.UUID,
    principal: Viewer,
    ctx: Web,
    config: Config,
    request: Request,
    image: Annotated[QrFormat, Query(alias="format")] = QrFormat.SVG,
) -> Response:
    """The location's check-in QR code (a URL to the check-in page with a signed token).

    Printed codes: `Cache-Control: private, no-cache` with an ETag that changes when the QR
    version is bumped (revalidate: 304). Rotating codes: cached until the next window."""
    now = config.clock.now()
    async with ctx.db.reading() as uow:
        code = await locations.current_code(uow, config, principal, location_id=location_id, now=now)
    tag = codes.etag(code.url, image)
    cache = "private, no-cache"
    if code.rotates_at is not None:
        cache = f"private, max-age={max(0, int((code.rotates_at - now).total_seconds()))}"
    headers = {"ETag": tag, "Cache-Control": cache, "Vary": "Authorization"}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(codes.render(code.url, image), media_type=MEDIA_TYPES[image], headers=headers)


@router.get(
    "/locations/{location_id}/qr-token", response_model=QrTokenRead, responses=problems(401, 403, 404)
)
async def qr_token(
    location_id: uuid.UUID, principal: Viewer, ctx: Web, config: Config, response: Response
) -> QrTokenRead:
    """The location's current code as data, for a kiosk page to draw (rotating: fetch the next
    one at `rotates_at`; the previous one is still accepted until `expires_at`)."""
    now = config.clock.now()
    async with ctx.db.reading() as uow:
        code = await locations.current_code(uow, config, principal, location_id=location_id, now=now)
    response.headers["Cache-Control"] = "no-store"
    return QrTokenRead(
        token=code.token,
        url=code.url,
        qr_mode=code.mode,
        rotates_at=code.rotates_at,
        expires_at=code.expires_at,
    )


# --- arriving --------------------------------------------------------------------------------


@router.post(
    "/appointments/check-in/scan-qr",
    response_model=ScanResult,
    responses={
        200: {
            "description": 'Checked in (`"status": "checked_in"` with the check-ins), or several '
            'appointments are open for check-in (`"status": "choose"`: scan again with '
            "`appointment_ids` or `all`)"
        },
        **problems(401, 403, 404, 409, 422, 429),
    },
)
async def scan(
    body: ScanIn,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CHECKIN_SELF))],
    ctx: Web,
    config: Config,
) -> ScanCheckedIn | ScanChoice:
    """Check in by scanning a location's QR code: your appointments today at its clinic, and
    your dependants'. Errors: QR_CODE_INVALID, QR_CODE_EXPIRED (422); NO_APPOINTMENT_FOUND
    (404); WRONG_LOCATION (where it is), TOO_EARLY (`opens_at`), APPOINTMENT_EXPIRED,
    ALREADY_CHECKED_IN (the existing `check_in`), CHECK_IN_DISABLED (409); OUTSIDE_GEOFENCE
    (403); RATE_LIMIT_EXCEEDED (429, per patient and per location, with Retry-After)."""
    await ctx.limiter.hit(config.rate_per_patient, "checkin-patient", str(principal.user_id))
    claims = config.qr.read(body.token)
    await ctx.limiter.hit(config.rate_per_location, "checkin-location", str(claims.location_id))
    async with ctx.db.transaction() as uow:
        return await scanning.check_in_by_qr(uow, config, principal, claims=claims, data=body)


@router.post(
    "/appointments/{appointment_id}/check-in",
    response_model=CheckInRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 404, 409, 422),
)
async def check_in_at_desk(
    appointment_id: uuid.UUID,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CHECKIN_STAFF))],
    ctx: Web,
    config: Config,
    body: Annotated[DeskCheckInIn | None, Body()] = None,
) -> CheckInRead:
    """Reception checks the patient in (method `staff`), inside the clinic's window."""
    async with ctx.db.transaction() as uow:
        return await reception.check_in_at_desk(
            uow,
            config,
            principal,
            appointment_id=appointment_id,
            location_id=body.location_id if body else None,
        )


@router.post(
    "/appointments/{appointment_id}/check-in/override",
    response_model=CheckInRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 404, 409, 422),
)
async def check_in_with_override(
    appointment_id: uuid.UUID,
    body: OverrideIn,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CHECKIN_OVERRIDE))],
    ctx: Web,
    config: Config,
) -> CheckInRead:
    """Check the patient in outside the window (method `override`), with a reason (audited)."""
    async with ctx.db.transaction() as uow:
        return await reception.check_in_with_override(
            uow,
            config,
            principal,
            appointment_id=appointment_id,
            location_id=body.location_id,
            reason=body.reason,
        )
