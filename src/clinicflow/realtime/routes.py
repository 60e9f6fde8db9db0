"""Real time API: the SSE stream, stream tickets, display tokens (see docs/decisions.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Query, Response, status

from clinicflow.errors import ValidationFailed
from clinicflow.identity.access import TENANT_MEMBER, Requires, Web, WebContext
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.openapi import problems
from clinicflow.platform.realtime.stream import StillAllowed, event_stream, full_data
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.realtime import policy, service
from clinicflow.realtime.access import Follower, Following, Realtime
from clinicflow.realtime.errors import RealtimeUnavailable
from clinicflow.realtime.schemas import DisplayTokenCreate, DisplayTokenRead, TicketRead

router = PrefixedRouter(prefix="/api/v1/events", tags=["events"])
Member = Annotated[TenantPrincipal, Depends(TENANT_MEMBER)]
LocationManager = Annotated[TenantPrincipal, Depends(Requires(Permission.LOCATIONS_MANAGE))]

_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An event stream (`text/event-stream`): `id`, `event` (the type), `data` (JSON ids)",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.post("/tickets", status_code=status.HTTP_201_CREATED, responses=problems(401, 403))
async def create_ticket(principal: Member, ctx: Web) -> TicketRead:
    """A single-use ticket (30 s) to open one stream: `GET /api/v1/events/stream?ticket=…`."""
    async with ctx.db.transaction() as uow:
        return await service.issue_ticket(uow, principal, now=ctx.auth.clock.now())


@router.post("/display-tokens", status_code=status.HTTP_201_CREATED, responses=problems(401, 403, 404))
async def create_display_token(
    data: DisplayTokenCreate, principal: LocationManager, ctx: Web, rt: Realtime
) -> DisplayTokenRead:
    """A signed token for a location's screen: it follows `queue:<location_id>` without names."""
    async with ctx.db.reading() as uow:
        return await service.issue_display_token(uow, principal, rt.keys, data=data, now=ctx.auth.clock.now())


def _last_event_id(header: str | None, query: int | None) -> int | None:
    if header is None or not header.strip():
        return query
    try:
        return int(header.strip())
    except ValueError:
        raise ValidationFailed("Last-Event-ID is an event id from this stream") from None


async def _authorize(
    ctx: WebContext, follower: Follower, channels: list[policy.Channel]
) -> StillAllowed | None:
    if follower.display is not None:
        service.authorize_display(follower.display, channels)
        return None
    principal = follower.principal
    assert principal is not None  # a Follower is a display or a member
    async with ctx.db.reading() as uow:
        await service.authorize_channels(uow, principal, channels)

    async def still_allowed() -> bool:
        return await service.still_signed_in(ctx.db, ctx.auth, principal)

    return still_allowed


@router.get("/stream", response_class=Response, responses={**_STREAM, **problems(401, 403, 404, 422, 503)})
async def stream(
    follower: Following,
    ctx: Web,
    rt: Realtime,
    channels: Annotated[str, Query(max_length=2000, description="Comma-separated, e.g. appointment:<id>")],
    last_event_id: Annotated[int | None, Query(ge=0, description="Resume after this id")] = None,
    last_event_header: Annotated[str | None, Header(alias="Last-Event-ID", max_length=30)] = None,
) -> Response:
    """Follow channels live (SSE): replay after `Last-Event-ID`, heartbeats, `reset` when behind."""
    wanted = policy.parse_channels(channels)
    resume_after = _last_event_id(last_event_header, last_event_id)
    still_allowed = await _authorize(ctx, follower, wanted)
    hub = rt.hub
    if hub is None or not hub.healthy:
        raise RealtimeUnavailable()
    return event_stream(
        hub,
        ctx.db,
        tenant_id=follower.tenant_id,
        channels=[str(channel) for channel in wanted],
        last_event_id=resume_after,
        redact=full_data if follower.display is None else policy.display_data,
        still_allowed=still_allowed,
        options=rt.options,
    )
