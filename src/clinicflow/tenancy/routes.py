"""Tenancy API: tenants (platform admins), clinics and clinic locations.

Visibility follows `clinics:read` / `locations:read` scopes: a clinic the
caller cannot see is 404, one they can see but not change is 403.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from clinicflow.identity.access import Requires, RequiresAnyone, Web, WebContext
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import Principal, TenantPrincipal
from clinicflow.platform.openapi import problems
from clinicflow.platform.pagination import Page, Paging
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.tenancy import policy
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.onboarding import onboard_tenant
from clinicflow.tenancy.schemas import (
    ClinicCreate,
    ClinicRead,
    LocationCreate,
    LocationRead,
    TenantOnboard,
    TenantRead,
)

router = PrefixedRouter(prefix="/api/v1", tags=["tenancy"])
P = Permission


# --- tenants (platform) ---------------------------------------------------------------------


@router.post(
    "/tenants",
    response_model=TenantRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def create_tenant(
    body: TenantOnboard,
    principal: Annotated[Principal, Depends(RequiresAnyone(P.TENANTS_CREATE))],
    ctx: Web,
) -> TenantRead:
    """Create a tenant with its first administrator (platform admins only)."""
    async with ctx.db.transaction() as uow:
        tenant = await onboard_tenant(
            uow,
            name=body.name,
            slug=body.slug,
            admin_email=body.admin_email,
            admin_password=body.admin_password,
            admin_full_name=body.admin_full_name,
            actor=principal.actor,
        )
        return TenantRead.model_validate(tenant)


@router.get("/tenants", response_model=Page[TenantRead], responses=problems(401, 403, 422))
async def list_tenants(
    principal: Annotated[Principal, Depends(RequiresAnyone(P.TENANTS_READ))], ctx: Web, page: Paging
) -> Page[TenantRead]:
    """Every tenant (platform admins only)."""
    async with ctx.db.reading() as uow:
        items, cursor = await tenancy.list_tenants(uow, page=page)
    return Page[TenantRead](items=items, next_cursor=cursor)


# --- clinics ----------------------------------------------------------------------------------


@router.get("/clinics", response_model=Page[ClinicRead], responses=problems(401, 403, 422))
async def list_clinics(
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CLINICS_READ))], ctx: Web, page: Paging
) -> Page[ClinicRead]:
    """Clinics you may see, oldest first."""
    async with ctx.db.reading() as uow:
        items, cursor = await tenancy.list_clinics(
            uow, tenant_id=principal.tenant_id, page=page, only=principal.clinics_for(P.CLINICS_READ)
        )
    return Page[ClinicRead](items=items, next_cursor=cursor)


@router.post(
    "/clinics",
    response_model=ClinicRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def create_clinic(
    body: ClinicCreate,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CLINICS_CREATE))],
    ctx: Web,
) -> ClinicRead:
    """Create a clinic (tenant-wide `clinics:create`)."""
    policy.ensure_allowed(principal, P.CLINICS_CREATE, None)
    async with ctx.db.transaction() as uow:
        clinic = await tenancy.create_clinic(
            uow, tenant_id=principal.tenant_id, data=body, actor=principal.actor
        )
        return ClinicRead.model_validate(clinic)


@router.get("/clinics/{clinic_id}", response_model=ClinicRead, responses=problems(401, 403, 404))
async def get_clinic(
    clinic_id: uuid.UUID,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CLINICS_READ))],
    ctx: Web,
) -> ClinicRead:
    policy.ensure_clinic_visible(principal, clinic_id)
    async with ctx.db.reading() as uow:
        clinic = await tenancy.get_clinic_or_raise(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
        return ClinicRead.model_validate(clinic)


@router.put("/clinics/{clinic_id}", response_model=ClinicRead, responses=problems(401, 403, 404, 409, 422))
async def update_clinic(
    clinic_id: uuid.UUID,
    body: ClinicCreate,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CLINICS_UPDATE))],
    ctx: Web,
) -> ClinicRead:
    """Replace a clinic's fields (`clinics:update` for this clinic)."""
    policy.ensure_clinic_changeable(principal, P.CLINICS_UPDATE, clinic_id)
    async with ctx.db.transaction() as uow:
        clinic = await tenancy.update_clinic(
            uow, tenant_id=principal.tenant_id, clinic_id=clinic_id, data=body, actor=principal.actor
        )
        return ClinicRead.model_validate(clinic)


@router.delete(
    "/clinics/{clinic_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 403, 404, 409)
)
async def delete_clinic(
    clinic_id: uuid.UUID,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.CLINICS_DELETE))],
    ctx: Web,
) -> Response:
    """Archive a clinic and its locations; refused (409) while it has future work."""
    policy.ensure_clinic_changeable(principal, P.CLINICS_DELETE, clinic_id)
    async with ctx.db.transaction() as uow:
        await tenancy.archive_clinic(
            uow, tenant_id=principal.tenant_id, clinic_id=clinic_id, actor=principal.actor
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- clinic locations -------------------------------------------------------------------------


@router.get("/clinic-locations", response_model=Page[LocationRead], responses=problems(401, 403, 422))
async def list_locations(
    principal: Annotated[TenantPrincipal, Depends(Requires(P.LOCATIONS_READ))],
    ctx: Web,
    page: Paging,
    clinic_id: Annotated[uuid.UUID | None, Query(description="Only this clinic's locations")] = None,
) -> Page[LocationRead]:
    async with ctx.db.reading() as uow:
        items, cursor = await tenancy.list_locations(
            uow,
            tenant_id=principal.tenant_id,
            clinic_id=clinic_id,
            page=page,
            only_clinics=principal.clinics_for(P.LOCATIONS_READ),
        )
    return Page[LocationRead](items=items, next_cursor=cursor)


@router.post(
    "/clinic-locations",
    response_model=LocationRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 404, 422),
)
async def create_location(
    body: LocationCreate,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.LOCATIONS_MANAGE))],
    ctx: Web,
) -> LocationRead:
    """Add a location (site, room, desk) to a clinic you manage."""
    policy.ensure_allowed(principal, P.LOCATIONS_MANAGE, body.clinic_id)
    async with ctx.db.transaction() as uow:
        location = await tenancy.create_location(
            uow, tenant_id=principal.tenant_id, data=body, actor=principal.actor
        )
        return LocationRead.model_validate(location)


async def _visible_location(
    ctx: WebContext, principal: TenantPrincipal, location_id: uuid.UUID
) -> LocationRead:
    """The scoped fetch of a location, then the policy: 404 unless its clinic is visible."""
    async with ctx.db.reading() as uow:
        location = await tenancy.get_location(uow, tenant_id=principal.tenant_id, location_id=location_id)
        found = None if location is None else LocationRead.model_validate(location)
    return policy.ensure_location_visible(principal, found)


@router.get("/clinic-locations/{location_id}", response_model=LocationRead, responses=problems(401, 403, 404))
async def get_location(
    location_id: uuid.UUID,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.LOCATIONS_READ))],
    ctx: Web,
) -> LocationRead:
    return await _visible_location(ctx, principal, location_id)


@router.put(
    "/clinic-locations/{location_id}", response_model=LocationRead, responses=problems(401, 403, 404, 422)
)
async def update_location(
    location_id: uuid.UUID,
    body: LocationCreate,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.LOCATIONS_MANAGE))],
    ctx: Web,
) -> LocationRead:
    """Replace a location's fields; moving it needs `locations:manage` in both clinics."""
    current = await _visible_location(ctx, principal, location_id)
    policy.ensure_location_manageable(principal, current, to_clinic=body.clinic_id)
    async with ctx.db.transaction() as uow:
        location = await tenancy.update_location(
            uow, tenant_id=principal.tenant_id, location_id=location_id, data=body, actor=principal.actor
        )
        return LocationRead.model_validate(location)


@router.delete(
    "/clinic-locations/{location_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404),
)
async def delete_location(
    location_id: uuid.UUID,
    principal: Annotated[TenantPrincipal, Depends(Requires(P.LOCATIONS_MANAGE))],
    ctx: Web,
) -> Response:
    current = await _visible_location(ctx, principal, location_id)
    policy.ensure_location_manageable(principal, current, to_clinic=current.clinic_id)
    async with ctx.db.transaction() as uow:
        await tenancy.archive_location(
            uow, tenant_id=principal.tenant_id, location_id=location_id, actor=principal.actor
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
