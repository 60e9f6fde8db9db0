"""A location's check-in in the admin console: its settings (taking check-ins, QR mode,
rotation, geofence, ticket prefix), revoking its printed codes, the printable QR page, the
rotating-QR kiosk page, and opening the waiting room's display (a display token issued by
the real time service, then the display's own page).

Every page first fetches the location scoped and checks `locations:manage` at its clinic
(`locations.manageable`: 404 / 403), then calls check-in's and real time's services, which
check `checkin:configure` themselves.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from clinicflow.checkin import locations as checkin_locations
from clinicflow.checkin import qr as codes
from clinicflow.checkin.config import CheckInConfig
from clinicflow.checkin.qr import IssuedCode, QrFormat
from clinicflow.checkin.schemas import CheckInLocationCreate, CheckInLocationRead
from clinicflow.errors import NotFound, ValidationFailed
from clinicflow.identity.access import WebContext, context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.realtime import service as realtime
from clinicflow.realtime.access import realtime_context
from clinicflow.realtime.schemas import DisplayTokenCreate
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.schemas import LocationRead
from clinicflow.web.admin.checkin_settings import RENAMED, check_in_settings, settings_input, submitted_values
from clinicflow.web.admin.common import errors_of, page
from clinicflow.web.admin.gate import LocationPage
from clinicflow.web.admin.locations import edit_form, manageable
from clinicflow.web.forms import CheckedForm
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
PRINTED, ROTATING = "printed", "rotating"  # the settings' QR modes
#: How long a display link opened from the console stays valid.
DISPLAY_VALID_DAYS = 365


def _config(request: Request) -> CheckInConfig:
    config: CheckInConfig = request.app.state.checkin
    return config


@router.post("/locations/{location_id}/check-in")
async def save_check_in(
    request: Request, principal: LocationPage, location_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Give the location check-in settings, or replace them (audited by check-in's service);
    bad input shows the form again with each field's error and changes nothing."""
    ctx = context_of(request)
    location = await manageable(ctx, principal, location_id)
    try:
        data = settings_input(form)
        async with ctx.db.transaction() as uow:
            current = await check_in_settings(uow, principal, location_id)
            if current is None:
                create = CheckInLocationCreate(location_id=location_id, **data.model_dump())
                await checkin_locations.create_location(uow, principal, data=create)
            else:
                await checkin_locations.update_location(uow, principal, location_id=location_id, data=data)
    except ValidationFailed as refused:
        errors = errors_of(refused, renamed=RENAMED)
        values = submitted_values(form)
        return await edit_form(
            request, ctx, principal, location, errors=errors, checkin_values=values, status=refused.status
        )
    done = "checkin-created" if current is None else "checkin-saved"
    return RedirectResponse(f"/admin/locations/{location_id}?done={done}", status_code=303)


@router.post("/locations/{location_id}/check-in/revoke")
async def revoke_codes(
    request: Request, principal: LocationPage, location_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Revoke every code issued so far (printed copies, a kiosk's current one)."""
    ctx = context_of(request)
    await manageable(ctx, principal, location_id)
    async with ctx.db.transaction() as uow:
        await checkin_locations.revoke_codes(uow, principal, location_id=location_id)
    return RedirectResponse(f"/admin/locations/{location_id}?done=codes-revoked", status_code=303)


async def _code(
    request: Request, ctx: WebContext, principal: TenantPrincipal, location_id: uuid.UUID
) -> tuple[LocationRead, str, CheckInLocationRead, IssuedCode]:
    """The location, its clinic's name, its check-in settings and the code it shows now (404
    for a location that takes no check-ins)."""
    location = await manageable(ctx, principal, location_id)
    config = _config(request)
    async with ctx.db.reading() as uow:
        settings = await check_in_settings(uow, principal, location_id)
        if settings is None:
            raise NotFound("This location takes no check-ins: set it up on the location's page first")
        code = await checkin_locations.current_code(
            uow, config, principal, location_id=location_id, now=config.clock.now()
        )
        clinic = await tenancy.get_clinic(uow, tenant_id=principal.tenant_id, clinic_id=location.clinic_id)
    return location, clinic.name if clinic else "", settings, code


def qr_svg(code: IssuedCode) -> Markup:
    """The code's QR image as inline SVG (check-in's own renderer: the API's `qr-code` image)."""
    return Markup(codes.render(code.url, QrFormat.SVG).decode())  # noqa: S704 - our own SVG, no input


@router.get("/locations/{location_id}/qr/print")
async def print_qr(request: Request, principal: LocationPage, location_id: uuid.UUID) -> Response:
    """The location's printed QR code on a page to print: the code, the place, how to scan."""
    ctx = context_of(request)
    location, clinic_name, settings, code = await _code(request, ctx, principal, location_id)
    printed = settings.qr_mode == PRINTED
    context: dict[str, Any] = {
        "location": location,
        "clinic_name": clinic_name,
        "settings": settings,
        "printed": printed,
        "svg": qr_svg(code) if printed else None,
        "url": code.url,
    }
    return page(request, "admin/qr_print.html", context)


@router.get("/locations/{location_id}/kiosk")
async def kiosk(request: Request, principal: LocationPage, location_id: uuid.UUID) -> Response:
    """The rotating code on a screen at the desk: large, fetched again twice per rotation."""
    ctx = context_of(request)
    location, clinic_name, settings, code = await _code(request, ctx, principal, location_id)
    rotating = settings.qr_mode == ROTATING
    context: dict[str, Any] = {
        "location": location,
        "clinic_name": clinic_name,
        "settings": settings,
        "rotating": rotating,
        "svg": qr_svg(code) if rotating else None,
        "refresh_seconds": max(5, settings.rotation_seconds // 2),
        "rotates_at": code.rotates_at,
    }
    response = page(request, "admin/kiosk.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/locations/{location_id}/display")
async def open_display(
    request: Request, principal: LocationPage, location_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Issue a display token for the location's waiting-room screen and open the display."""
    ctx = context_of(request)
    await manageable(ctx, principal, location_id)
    keys = (await realtime_context(request)).keys
    data = DisplayTokenCreate(location_id=location_id, valid_days=DISPLAY_VALID_DAYS)
    async with ctx.db.reading() as uow:
        issued = await realtime.issue_display_token(uow, principal, keys, data=data, now=ctx.auth.clock.now())
    return RedirectResponse(f"/display/{location_id}?{urlencode({'token': issued.token})}", status_code=303)
