"""The admin console's home (`/admin`): the sections, the clinics you administer and counts
the services give in one page read (clinics, doctors; "200+" past one page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from clinicflow.identity import directory
from clinicflow.identity.access import context_of
from clinicflow.identity.permissions import Permission
from clinicflow.platform.pagination import MAX_LIMIT, PageParams
from clinicflow.tenancy import service as tenancy
from clinicflow.web.admin.common import page
from clinicflow.web.admin.gate import AdminPage
from clinicflow.web.routing import PageRoute

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
P = Permission


def count_label(items: list[object], more: str | None) -> str:
    """How many, from one page of at most MAX_LIMIT: "12", or "200+" when there are more."""
    return f"{len(items)}+" if more else str(len(items))


@router.get("")
async def home(request: Request, principal: AdminPage) -> Response:
    """Where to go in the console, with your clinics and a few counts."""
    ctx = context_of(request)
    everything = PageParams(limit=MAX_LIMIT)
    async with ctx.db.reading() as uow:
        clinics, more_clinics = await tenancy.list_clinics(
            uow, tenant_id=principal.tenant_id, page=everything, only=principal.clinics_for(P.CLINICS_UPDATE)
        )
        doctors, more_doctors = await directory.search_doctors(
            uow, tenant_id=principal.tenant_id, query=None, specialty=None, clinic_id=None, page=everything
        )
    only = principal.clinics_for(P.CLINICS_UPDATE)
    mine = (
        doctors if only is None else [d for d in doctors if d.clinic_ids is None or set(d.clinic_ids) & only]
    )
    context = {
        "clinics": clinics[:20],
        "clinic_count": count_label(list(clinics), more_clinics),
        "doctor_count": count_label(list(mine), more_doctors),
        "can_create_clinic": principal.can(P.CLINICS_CREATE, clinic_id=None),
        "can_create_staff": principal.has(P.USERS_CREATE) and principal.has(P.ROLES_ASSIGN),
    }
    return page(request, "admin/home.html", context)
