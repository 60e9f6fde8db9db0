"""A clinic's locations in the admin console: add, edit (or move to another clinic you
manage) and delete, through the tenancy service and its policy."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from clinicflow.errors import ValidationFailed
from clinicflow.identity.access import WebContext, context_of
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.tenancy import policy
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.schemas import ClinicRead, LocationCreate, LocationKind, LocationRead
from clinicflow.web.admin.checkin_settings import NOTICES, check_in_context, check_in_settings
from clinicflow.web.admin.common import clinic_names, errors_of, filled, notice_of, page, parsed
from clinicflow.web.admin.gate import LocationPage
from clinicflow.web.forms import CheckedForm
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
P = Permission
FIELDS = ("clinic_id", "name", "kind", "latitude", "longitude", "radius_m")
KINDS = tuple((kind.value, kind.value.replace("_", " ").capitalize()) for kind in LocationKind)


def location_input(form: FormData, *, clinic_id: uuid.UUID | None = None) -> LocationCreate:
    """The location form as the tenancy schema; `clinic_id` fixes the clinic (a new location)."""
    values: dict[str, Any] = filled(form, FIELDS)
    if clinic_id is not None:
        values["clinic_id"] = clinic_id
    return parsed(LocationCreate, values)


def _managed_clinic(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """A clinic's locations: 404 unless the clinic is visible, 403 without `locations:manage` there."""
    policy.ensure_visible(principal, P.LOCATIONS_READ, clinic_id, "Clinic")
    policy.ensure_allowed(principal, P.LOCATIONS_MANAGE, clinic_id)


async def _new_form(
    request: Request,
    ctx: WebContext,
    principal: TenantPrincipal,
    clinic_id: uuid.UUID,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    async with ctx.db.reading() as uow:
        clinic = await tenancy.get_clinic_or_raise(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
        read = ClinicRead.model_validate(clinic)
    context = {"clinic": read, "values": values, "errors": errors, "kinds": KINDS}
    return page(request, "admin/location_new.html", context, status_code=status)


@router.get("/clinics/{clinic_id}/locations/new")
async def new_location(request: Request, principal: LocationPage, clinic_id: uuid.UUID) -> Response:
    """The form for a new location of a clinic."""
    _managed_clinic(principal, clinic_id)
    return await _new_form(request, context_of(request), principal, clinic_id, values={}, errors={})


@router.post("/clinics/{clinic_id}/locations")
async def create_location(
    request: Request, principal: LocationPage, clinic_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Add the location; bad input shows the form again and adds nothing."""
    _managed_clinic(principal, clinic_id)
    ctx = context_of(request)
    try:
        data = location_input(form, clinic_id=clinic_id)
        async with ctx.db.transaction() as uow:
            await tenancy.get_clinic_or_raise(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
            await tenancy.create_location(
                uow, tenant_id=principal.tenant_id, data=data, actor=principal.actor
            )
    except ValidationFailed as refused:
        values = filled(form, FIELDS)
        return await _new_form(
            request,
            ctx,
            principal,
            clinic_id,
            values=values,
            errors=errors_of(refused),
            status=refused.status,
        )
    return RedirectResponse(f"/admin/clinics/{clinic_id}?done=location-created", status_code=303)


async def manageable(ctx: WebContext, principal: TenantPrincipal, location_id: uuid.UUID) -> LocationRead:
    """The scoped fetch of a location, then the policy: 404 unless its clinic is visible,
    403 without `locations:manage` there."""
    async with ctx.db.reading() as uow:
        location = await tenancy.get_location(uow, tenant_id=principal.tenant_id, location_id=location_id)
        found = None if location is None else LocationRead.model_validate(location)
    visible = policy.ensure_location_visible(principal, found)
    policy.ensure_location_manageable(principal, visible, to_clinic=visible.clinic_id)
    return visible


async def edit_form(
    request: Request,
    ctx: WebContext,
    principal: TenantPrincipal,
    location: LocationRead,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    checkin_values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """The location's page: its fields, its check-in settings, deleting it."""
    async with ctx.db.reading() as uow:
        names = await clinic_names(uow, principal, P.LOCATIONS_MANAGE)
        settings = await check_in_settings(uow, principal, location.id)
    saved = location.model_dump(include=set(FIELDS))
    context = {
        "location": location,
        "clinic_name": names.get(location.clinic_id, "its clinic"),
        "clinics": tuple((str(clinic_id), name) for clinic_id, name in names.items()),
        "values": {k: v for k, v in saved.items() if v is not None} if values is None else values,
        "errors": errors or {},
        "kinds": KINDS,
        **check_in_context(settings, values=checkin_values),
        "notice": notice_of(request, NOTICES),
    }
    return page(request, "admin/location.html", context, status_code=status)


@router.get("/locations/{location_id}")
async def location(request: Request, principal: LocationPage, location_id: uuid.UUID) -> Response:
    """A location you manage: its fields, and deleting it."""
    ctx = context_of(request)
    return await edit_form(request, ctx, principal, await manageable(ctx, principal, location_id))


@router.post("/locations/{location_id}")
async def update_location(
    request: Request, principal: LocationPage, location_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Replace the location's fields; moving it needs `locations:manage` at both clinics."""
    ctx = context_of(request)
    current = await manageable(ctx, principal, location_id)
    try:
        data = location_input(form)
        policy.ensure_location_manageable(principal, current, to_clinic=data.clinic_id)
        async with ctx.db.transaction() as uow:
            await tenancy.update_location(
                uow, tenant_id=principal.tenant_id, location_id=location_id, data=data, actor=principal.actor
            )
    except ValidationFailed as refused:
        values = filled(form, FIELDS)
        return await edit_form(
            request, ctx, principal, current, values=values, errors=errors_of(refused), status=refused.status
        )
    return RedirectResponse(f"/admin/clinics/{data.clinic_id}?done=location-saved", status_code=303)


@router.post("/locations/{location_id}/delete")
async def delete_location(
    request: Request, principal: LocationPage, location_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Delete (archive) the location."""
    ctx = context_of(request)
    current = await manageable(ctx, principal, location_id)
    async with ctx.db.transaction() as uow:
        await tenancy.archive_location(
            uow, tenant_id=principal.tenant_id, location_id=location_id, actor=principal.actor
        )
    return RedirectResponse(f"/admin/clinics/{current.clinic_id}?done=location-deleted", status_code=303)
