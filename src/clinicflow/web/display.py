"""The waiting room's screen: `GET /display/{location_id}?token=<display token>`.

No user signs in: the signed display token (`realtime.display`, issued by
`realtime.service.issue_display_token`) authorizes the page, and only for its own
location; a wrong, expired or another location's token gets a plain 404 page, never data.
The board shows the tickets being called (to which room or doctor) and the next tickets in
line, never a name of a patient. The page follows `queue:<location_id>` with the same token
(`?display_token=` on the stream) and re-fetches the board on every queue event (and on
`reset`); a checkbox turns on spoken announcements (the browser's speech synthesis,
`static/display.js`).
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response

from clinicflow.checkin.queue import display
from clinicflow.errors import ClinicflowError, NotFound
from clinicflow.identity.access import context_of, public
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.realtime.access import realtime_context
from clinicflow.realtime.display import DisplayClaims
from clinicflow.realtime.policy import queue_channel
from clinicflow.tenancy import service as tenancy
from clinicflow.web.rendering import render
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/display", include_in_schema=False, route_class=PageRoute)


def not_this_display() -> NotFound:
    """Any token that does not open this location's board: the page never says why."""
    return NotFound("This display link is not valid. Ask the clinic's administrator for a new one.")


async def _claims(request: Request, location_id: uuid.UUID, token: str) -> DisplayClaims:
    """The token's claims if it is a live display token for this very location."""
    if not token:
        raise not_this_display()
    keys = (await realtime_context(request)).keys
    try:
        claims = keys.verify(token, now=context_of(request).auth.clock.now())
    except ClinicflowError:
        raise not_this_display() from None
    if claims.location_id != location_id:
        raise not_this_display()
    return claims


def stream_url(location_id: uuid.UUID, token: str) -> str:
    """The stream the screen follows: its queue, with its own token."""
    query = urlencode({"channels": queue_channel(location_id), "display_token": token}, safe=":")
    return f"/api/v1/events/stream?{query}"


#: No session: the display token in the query authorizes the page (`_claims`), like a video room's link.
@router.get("/{location_id}", dependencies=[Depends(public)])
async def board(request: Request, location_id: uuid.UUID, token: str = "") -> Response:
    """The location's board: now calling, next in line; live, readable across a room."""
    claims = await _claims(request, location_id, token)
    ctx = context_of(request)
    async with ctx.db.reading() as uow:
        location = await tenancy.get_location(uow, tenant_id=claims.tenant_id, location_id=location_id)
        if location is None:
            raise not_this_display()
        clinic = await tenancy.get_clinic(uow, tenant_id=claims.tenant_id, clinic_id=location.clinic_id)
        shown = await display.read_board(
            uow, tenant_id=claims.tenant_id, location_id=location_id, now=ctx.auth.clock.now()
        )
    context = {
        "board": shown,
        "location_name": location.name,
        "clinic_name": clinic.name if clinic else "",
        "self_url": f"/display/{location_id}?{urlencode({'token': token})}",
        "stream_url": stream_url(location_id, token),
    }
    response = render(request, "display/board.html", context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
