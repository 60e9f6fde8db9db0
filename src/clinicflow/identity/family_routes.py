"""Family API: a patient's dependants (guardian links), managed by reception.

A patient reads their own at `/patients/{their id}/dependants`, the way they read their
waitlist entries at `/patients/{their id}/waitlists`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from clinicflow.identity import family
from clinicflow.identity.access import Requires, Web
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.schemas import DependantIn, DependantRead
from clinicflow.platform.openapi import problems
from clinicflow.platform.pagination import Page, Paging
from clinicflow.platform.routing import PrefixedRouter

router = PrefixedRouter(prefix="/api/v1", tags=["family"])
P = Permission
Reader = Annotated[TenantPrincipal, Depends(Requires(P.FAMILY_MANAGE, P.CHECKIN_SELF, any_of=True))]
Manager = Annotated[TenantPrincipal, Depends(Requires(P.FAMILY_MANAGE))]


@router.get(
    "/patients/{patient_id}/dependants",
    response_model=Page[DependantRead],
    responses=problems(401, 403, 404, 422),
)
async def list_dependants(
    patient_id: uuid.UUID, principal: Reader, ctx: Web, page: Paging
) -> Page[DependantRead]:
    """The patients this patient may check in (patients: their own only; staff: `family:manage`)."""
    async with ctx.db.reading() as uow:
        items, cursor = await family.list_dependants(uow, principal, patient_id=patient_id, page=page)
    return Page[DependantRead](items=items, next_cursor=cursor)


@router.post(
    "/patients/{patient_id}/dependants",
    response_model=DependantRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 404, 409, 422),
)
async def link_dependant(
    patient_id: uuid.UUID, body: DependantIn, principal: Manager, ctx: Web
) -> DependantRead:
    """Let this patient see and check in another patient's visits (audited)."""
    async with ctx.db.transaction() as uow:
        return await family.link_dependant(uow, principal, patient_id=patient_id, data=body)


@router.delete(
    "/patients/{patient_id}/dependants/{dependant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404),
)
async def unlink_dependant(
    patient_id: uuid.UUID, dependant_id: uuid.UUID, principal: Manager, ctx: Web
) -> Response:
    """Remove the link (audited)."""
    async with ctx.db.transaction() as uow:
        await family.unlink_dependant(uow, principal, patient_id=patient_id, dependant_id=dependant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
