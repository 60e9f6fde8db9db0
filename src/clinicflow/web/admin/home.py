"""The admin console's home (`/admin`): the sections, the clinics you administer, counts the
services give in one page read (clinics, doctors; "200+" past one page), and the live
operations overview of one clinic (`?clinic=`, else the first): waiting now, in
consultation, the average wait today (arrival to call), today's no-shows and the open
waitlist offers. It follows the clinic's `clinic:` channel and its check-in locations'
`queue:` channels (the page's session cookie) and re-fetches the tiles on every event."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from clinicflow.checkin import locations as checkin_locations
from clinicflow.checkin import operations
from clinicflow.identity import directory
from clinicflow.identity.access import context_of
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import MAX_LIMIT, PageParams
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.realtime.policy import clinic_channel, queue_channel
from clinicflow.tenancy import service as tenancy
from clinicflow.waitlist import stats as waitlist_stats
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.web.admin.common import page
from clinicflow.web.admin.gate import AdminPage
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
P = Permission


def count_label(items: list[object], more: str | None) -> str:
    """How many, from one page of at most MAX_LIMIT: "12", or "200+" when there are more."""
    return f"{len(items)}+" if more else str(len(items))


#: How many check-in locations' queues the overview follows (the stream's channel list is short).
FOLLOWED_QUEUES = 20


async def overview(
    request: Request, uow: UnitOfWork, principal: TenantPrincipal, clinic_id: uuid.UUID
) -> dict[str, Any]:
    """The clinic's tiles and the channels that change them (check-in's and the waitlist's
    figures services; the tiles they may not read are left out)."""
    now = context_of(request).auth.clock.now()
    tiles: dict[str, Any] = {"clinic_id": clinic_id, "day": None, "offers": None}
    channels = [clinic_channel(clinic_id)]
    if principal.can(P.CHECKIN_CONFIGURE, clinic_id=clinic_id) or principal.can(
        P.QUEUE_READ, clinic_id=clinic_id
    ):
        tiles["day"] = await operations.clinic_day(uow, principal, clinic_id=clinic_id, now=now)
        desks, _ = await checkin_locations.list_locations(
            uow, principal, clinic_id=clinic_id, page=PageParams(limit=FOLLOWED_QUEUES)
        )
        channels += [queue_channel(desk.location_id) for desk in desks]
    if principal.can(P.WAITLIST_READ, clinic_id=clinic_id):
        config: WaitlistConfig = request.app.state.waitlist
        figures = await waitlist_stats.clinic_stats(uow, config, principal, clinic_id=clinic_id)
        tiles["offers"] = figures.depth.get("invited", 0)
    tiles["channels"] = ",".join(channels)
    return tiles


@router.get("")
async def home(request: Request, principal: AdminPage, clinic: uuid.UUID | None = None) -> Response:
    """Where to go in the console, with your clinics, a few counts and one clinic's live day."""
    ctx = context_of(request)
    everything = PageParams(limit=MAX_LIMIT)
    async with ctx.db.reading() as uow:
        clinics, more_clinics = await tenancy.list_clinics(
            uow, tenant_id=principal.tenant_id, page=everything, only=principal.clinics_for(P.CLINICS_UPDATE)
        )
        doctors, more_doctors = await directory.search_doctors(
            uow, tenant_id=principal.tenant_id, query=None, specialty=None, clinic_id=None, page=everything
        )
        ids = {c.id for c in clinics}
        chosen = clinic if clinic in ids else (clinics[0].id if clinics else None)
        tiles = await overview(request, uow, principal, chosen) if chosen is not None else None
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
        "clinic_choices": [(str(c.id), c.name) for c in clinics],
        "tiles": tiles,
        "chosen_name": next((c.name for c in clinics if c.id == chosen), ""),
    }
    return page(request, "admin/home.html", context)
