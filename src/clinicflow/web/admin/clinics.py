"""Clinics in the admin console: the list, a new clinic, a clinic's page (its fields, its
locations) and archiving it. Tenant administrators see every clinic; clinic administrators
only theirs (another clinic is the 404 page, as in the API)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from clinicflow.errors import Conflict, ValidationFailed
from clinicflow.identity.access import WebContext, context_of
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.tenancy import policy
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.schemas import ClinicCreate, ClinicRead
from clinicflow.web.admin.common import (
    errors_of,
    filled,
    next_link,
    notice_of,
    page,
    page_params,
    parsed,
    timezone_choices,
)
from clinicflow.web.admin.gate import AdminPage, ClinicArchiver, ClinicCreator
from clinicflow.web.forms import CheckedForm
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
P = Permission
Cursor = Annotated[str | None, Query(max_length=64)]

FIELDS = tuple(ClinicCreate.model_fields)
HINTS = {
    "slug": "2 to 63 lowercase letters, digits and single dashes, e.g. city-centre",
    "country_code": "two capital letters, e.g. DE",
}
_NOTICES = {
    "created": "The clinic is created.",
    "saved": "The clinic is saved.",
    "archived": "The clinic is archived, with its locations.",
    "location-created": "The location is added.",
    "location-saved": "The location is saved.",
    "location-deleted": "The location is deleted.",
}


def clinic_input(form: FormData) -> ClinicCreate:
    """The clinic form as the tenancy schema (a blank optional field is none)."""
    return parsed(ClinicCreate, filled(form, FIELDS), hints=HINTS)


def values_of(clinic: ClinicRead | None) -> dict[str, Any]:
    """A clinic's fields as the form shows them."""
    if clinic is None:
        return {}
    return {
        name: value for name, value in clinic.model_dump(include=set(FIELDS)).items() if value is not None
    }


@router.get("/clinics")
async def clinics(request: Request, principal: AdminPage, cursor: Cursor = None) -> Response:
    """The clinics you administer, oldest first, a page at a time."""
    ctx = context_of(request)
    async with ctx.db.reading() as uow:
        items, next_cursor = await tenancy.list_clinics(
            uow,
            tenant_id=principal.tenant_id,
            page=page_params(cursor),
            only=principal.clinics_for(P.CLINICS_UPDATE),
        )
    context = {
        "clinics": items,
        "next": next_link(request, next_cursor),
        "can_create": principal.can(P.CLINICS_CREATE, clinic_id=None),
        "notice": notice_of(request, _NOTICES),
    }
    return page(request, "admin/clinics.html", context)


def _new_form(request: Request, values: dict[str, Any], errors: dict[str, str], status: int) -> Response:
    context = {"values": values, "errors": errors, "zones": timezone_choices()}
    return page(request, "admin/clinic_new.html", context, status_code=status)


@router.get("/clinics/new")
async def new_clinic(request: Request, principal: ClinicCreator) -> Response:
    """The form for a new clinic."""
    policy.ensure_allowed(principal, P.CLINICS_CREATE, None)
    return _new_form(request, {}, {}, 200)


@router.post("/clinics")
async def create_clinic(request: Request, principal: ClinicCreator, form: CheckedForm) -> Response:
    """Create the clinic; bad input or a taken slug shows the form again with the reason."""
    policy.ensure_allowed(principal, P.CLINICS_CREATE, None)
    ctx = context_of(request)
    try:
        data = clinic_input(form)
        async with ctx.db.transaction() as uow:
            clinic = await tenancy.create_clinic(
                uow, tenant_id=principal.tenant_id, data=data, actor=principal.actor
            )
    except (ValidationFailed, Conflict) as refused:
        return _new_form(request, filled(form, FIELDS), errors_of(refused), refused.status)
    return RedirectResponse(f"/admin/clinics/{clinic.id}?done=created", status_code=303)


async def clinic_page(
    request: Request,
    ctx: WebContext,
    principal: TenantPrincipal,
    clinic_id: uuid.UUID,
    *,
    cursor: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """A clinic's page: its form (as saved, or as just submitted) and its locations."""
    policy.ensure_clinic_changeable(principal, P.CLINICS_UPDATE, clinic_id)
    async with ctx.db.reading() as uow:
        clinic = await tenancy.get_clinic_or_raise(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
        read = ClinicRead.model_validate(clinic)
        locations, next_cursor = await tenancy.list_locations(
            uow, tenant_id=principal.tenant_id, clinic_id=clinic_id, page=page_params(cursor)
        )
    context = {
        "clinic": read,
        "values": values_of(read) if values is None else values,
        "errors": errors or {},
        "zones": timezone_choices(),
        "locations": locations,
        "next": next_link(request, next_cursor),
        "can_archive": principal.can(P.CLINICS_DELETE, clinic_id=clinic_id),
        "can_locations": principal.can(P.LOCATIONS_MANAGE, clinic_id=clinic_id),
        "notice": notice_of(request, _NOTICES),
    }
    return page(request, "admin/clinic.html", context, status_code=status)


@router.get("/clinics/{clinic_id}")
async def clinic(
    request: Request, principal: AdminPage, clinic_id: uuid.UUID, cursor: Cursor = None
) -> Response:
    """A clinic you administer: edit it, see its locations."""
    return await clinic_page(request, context_of(request), principal, clinic_id, cursor=cursor)


@router.post("/clinics/{clinic_id}")
async def update_clinic(
    request: Request, principal: AdminPage, clinic_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Replace the clinic's fields; bad input shows the page again and changes nothing."""
    policy.ensure_clinic_changeable(principal, P.CLINICS_UPDATE, clinic_id)
    ctx = context_of(request)
    try:
        data = clinic_input(form)
        async with ctx.db.transaction() as uow:
            await tenancy.update_clinic(
                uow, tenant_id=principal.tenant_id, clinic_id=clinic_id, data=data, actor=principal.actor
            )
    except (ValidationFailed, Conflict) as refused:
        return await clinic_page(
            request,
            ctx,
            principal,
            clinic_id,
            values=filled(form, FIELDS),
            errors=errors_of(refused),
            status=refused.status,
        )
    return RedirectResponse(f"/admin/clinics/{clinic_id}?done=saved", status_code=303)


@router.post("/clinics/{clinic_id}/archive")
async def archive_clinic(
    request: Request, principal: ClinicArchiver, clinic_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Archive the clinic and its locations; refused (the reason shown) while it has future work."""
    policy.ensure_clinic_changeable(principal, P.CLINICS_DELETE, clinic_id)
    ctx = context_of(request)
    try:
        async with ctx.db.transaction() as uow:
            await tenancy.archive_clinic(
                uow, tenant_id=principal.tenant_id, clinic_id=clinic_id, actor=principal.actor
            )
    except Conflict as refused:
        return await clinic_page(
            request, ctx, principal, clinic_id, errors={"form": refused.detail}, status=refused.status
        )
    return RedirectResponse("/admin/clinics?done=archived", status_code=303)
