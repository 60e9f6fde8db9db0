"""Who is following a stream: a ticket, a bearer token, a session cookie (pages), or a display.

Browsers' `EventSource` cannot send an `Authorization` header, so the stream accepts,
in this order: `?display_token=` (a location's screen), `?ticket=` (single use, from
`POST /api/v1/events/tickets`), `Authorization: Bearer`, then the app's cookie hook
(`RealtimeContext.cookie`: the pages' session, wired by the web layer; none until then).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clinicflow.errors import Forbidden, Unauthenticated
from clinicflow.identity.access import Authorized, authenticate, context_of
from clinicflow.identity.principal import Principal, TenantPrincipal
from clinicflow.platform.realtime import Hub
from clinicflow.platform.realtime.stream import StreamOptions
from clinicflow.realtime import service
from clinicflow.realtime.display import DisplayClaims, DisplayKeys

#: The pages' hook: the principal of a request's session cookie, or None.
CookieAuthenticator = Callable[[Request], Awaitable[Principal | None]]

_BEARER = HTTPBearer(
    auto_error=False, description="An access token; or use ?ticket= from POST /events/tickets"
)


@dataclass
class RealtimeContext:
    """What the real time routes need from the running app (`app.state.realtime`)."""

    keys: DisplayKeys
    hub: Hub | None = None  # set by the lifespan when this process listens
    cookie: CookieAuthenticator | None = None
    options: StreamOptions = field(default_factory=StreamOptions)


async def realtime_context(request: Request) -> RealtimeContext:
    context: RealtimeContext = request.app.state.realtime
    return context


Realtime = Annotated[RealtimeContext, Depends(realtime_context)]


@dataclass(frozen=True, slots=True)
class Follower:
    """The authenticated follower of a stream: a tenant member, or a location display."""

    tenant_id: uuid.UUID
    principal: TenantPrincipal | None = None
    display: DisplayClaims | None = None


def _member(principal: Principal | None) -> TenantPrincipal:
    if principal is None:
        raise Unauthenticated(
            "Send ?ticket= (POST /api/v1/events/tickets), an access token, or ?display_token=",
            headers={"WWW-Authenticate": "Bearer"},
        )
    member = principal.in_tenant()
    if member is None:
        raise Forbidden("Platform administrators have no access to tenant data")
    return member


class StreamAccess(Authorized):
    """Dependency: the stream's follower (401 without valid credentials)."""

    async def __call__(
        self,
        request: Request,
        ticket: Annotated[str | None, Query(max_length=200, description="A single-use stream ticket")] = None,
        display_token: Annotated[
            str | None, Query(max_length=500, description="A location display's signed token")
        ] = None,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)] = None,
    ) -> Follower:
        web = context_of(request)
        if display_token is not None:
            rt = await realtime_context(request)
            claims = rt.keys.verify(display_token, now=web.auth.clock.now())
            return Follower(tenant_id=claims.tenant_id, display=claims)
        if ticket is not None:
            async with web.db.transaction() as uow:
                principal: Principal | None = await service.redeem_ticket(uow, web.auth, ticket)
        elif request.headers.get("authorization"):
            principal = await authenticate(request)
        else:
            rt = await realtime_context(request)
            principal = await rt.cookie(request) if rt.cookie is not None else None
        member = _member(principal)
        self.check(member)
        return Follower(tenant_id=member.tenant_id, principal=member)


Following = Annotated[Follower, Depends(StreamAccess())]
