"""My family (`/app/family`): the dependants linked to my account, whose visits I may check in
with mine when I scan a location's QR code.

Read through `identity.family.list_dependants` (the service behind
`GET /api/v1/patients/{me}/dependants`): my own links only. Links are made at the front
desk; the page says so. Booking and listing appointments stay each patient's own
(scheduling shows a patient their own appointments only), so the page offers neither.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from clinicflow.identity import family
from clinicflow.identity.access import context_of
from clinicflow.platform.pagination import PageParams
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.web.access import PatientPage
from clinicflow.web.patient_views import N_, gettext_for
from clinicflow.web.rendering import render
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/app", include_in_schema=False, route_class=PageRoute)
#: Most dependants the page lists.
MAX_DEPENDANTS = 100
#: What a dependant is to me, in words.
RELATIONSHIPS = {
    "child": N_("My child"),
    "parent": N_("My parent"),
    "spouse": N_("My spouse or partner"),
    "sibling": N_("My brother or sister"),
    "ward": N_("In my care"),
    "other": N_("Family or someone I care for"),
}


@router.get("/family")
async def my_family(request: Request, principal: PatientPage) -> Response:
    """The patients I may check in with me: their names and what they are to me."""
    async with context_of(request).db.reading() as uow:
        dependants, _cursor = await family.list_dependants(
            uow, principal, patient_id=principal.user_id, page=PageParams(limit=MAX_DEPENDANTS)
        )
    _ = gettext_for(request)
    shown = [
        {"name": d.full_name, "relationship": _(RELATIONSHIPS[d.relationship.value])} for d in dependants
    ]
    return render(request, "app/family.html", {"dependants": shown})
