"""Route-level access control (the web edge of identity).

Every API route declares what it needs, as a dependency:

- `Depends(Requires(Permission.X, ...))`: a signed-in principal holding the
  permissions (somewhere; resource checks narrow to a clinic after the fetch);
- `Depends(RequiresAnyone(Permission.X))`: the same for platform-level permissions
  (platform admins hold them; the principal may have no tenant);
- `SignedIn` / `Member` (`SIGNED_IN` / `TENANT_MEMBER`): any signed-in principal
  (a tenant member), for routes about the caller's own things;
- `dependencies=[Depends(public)]`: no authentication, said out loud.

A test walks every route and fails on one that declares none of these.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clinicflow.config import Settings
from clinicflow.errors import Forbidden, TenantMismatch, Unauthenticated
from clinicflow.identity import auth
from clinicflow.identity.auth import AuthConfig, PrincipalCache, announce_principal_change, resolve_principal
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import Principal, TenantPrincipal
from clinicflow.identity.tokens import verify_access_token
from clinicflow.platform.db import Database, UnitOfWork
from clinicflow.platform.ratelimit import RateLimiter

_BEARER = {"WWW-Authenticate": "Bearer"}
_BEARER_SCHEME = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/auth/login")


@dataclass(frozen=True)
class WebContext:
    """What routes need from the running app (set once by `create_app`)."""

    db: Database
    settings: Settings
    auth: AuthConfig
    limiter: RateLimiter
    #: Principals by session; trusted only once `identity.events.register` ties it to a listener.
    principals: PrincipalCache = field(default_factory=PrincipalCache)


def context_of(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


async def web(request: Request) -> WebContext:
    """Dependency: the app's shared context (async: a sync dependency costs a thread hop per request)."""
    return context_of(request)


Web = Annotated[WebContext, Depends(web)]


@asynccontextmanager
async def changing_principals(ctx: WebContext) -> AsyncIterator[UnitOfWork]:
    """The unit of work of a use case that ends sessions or changes users or grants.

    The response waits (briefly) until this process heard the change's notification,
    so when the caller gets the answer, every process's principal cache has been told.
    """
    async with ctx.db.transaction() as uow:
        yield uow
        barrier = await announce_principal_change(uow)
    await ctx.principals.settled(barrier)


async def authenticate(request: Request) -> Principal:
    """The request's principal: a valid access token of a live session of an active user.

    Resolved once per request (kept on `request.state`); from the process's principal
    cache when it can be trusted, so the common request makes no database round trip.
    """
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send an access token: Authorization: Bearer <token>", headers=_BEARER)
    ctx = context_of(request)
    try:
        claims = verify_access_token(ctx.auth.keys, token.strip())
    except Unauthenticated as exc:
        exc.headers |= _BEARER
        raise
    tenant_header = request.headers.get("x-tenant-id")
    if tenant_header is not None:
        try:
            asked = uuid.UUID(tenant_header)
        except ValueError:
            asked = None
        if asked is None or asked != claims.tenant_id:
            raise TenantMismatch("X-Tenant-Id does not match the tenant of your token")
    principal = await resolve_principal(ctx.db, ctx.auth, ctx.principals, claims)
    request.state.principal = principal
    return principal


class Authorized:
    """Authenticate, then check the permissions (held somewhere: resource checks narrow later)."""

    def __init__(self, *permissions: Permission, any_of: bool = False) -> None:
        self.permissions = permissions
        self.any_of = any_of

    def __repr__(self) -> str:
        joiner = " or " if self.any_of else ", "
        return f"{type(self).__name__}({joiner.join(self.permissions) or 'signed in'})"

    def check(self, principal: Principal) -> None:
        missing = [p.value for p in self.permissions if not principal.has(p)]
        if missing and (not self.any_of or len(missing) == len(self.permissions)):
            raise Forbidden(
                f"You need the permission {' or '.join(missing) if self.any_of else ', '.join(missing)}"
            )


class Requires(Authorized):
    """Dependency: a signed-in tenant member with these permissions (403 otherwise).

    Returns a `TenantPrincipal`: a use case behind it always has a tenant.
    """

    async def __call__(
        self,
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER_SCHEME)] = None,
    ) -> TenantPrincipal:
        # `_credentials` only declares the bearer scheme in OpenAPI ("Authorize" in /docs);
        # `authenticate` reads the header itself so every failure is our problem+json 401.
        principal = (await authenticate(request)).in_tenant()
        if principal is None:
            raise Forbidden("Platform administrators have no access to tenant data")
        self.check(principal)
        return principal


class RequiresAnyone(Authorized):
    """Dependency: any signed-in principal, platform admins included, with these permissions."""

    async def __call__(
        self,
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER_SCHEME)] = None,
    ) -> Principal:
        principal = await authenticate(request)
        self.check(principal)
        return principal


#: Any signed-in principal (platform admins included): routes about the caller's own things.
SIGNED_IN = RequiresAnyone()
#: Any signed-in member of a tenant; resource checks decide the rest (e.g. own records).
TENANT_MEMBER = Requires()

SignedIn = Annotated[Principal, Depends(SIGNED_IN)]
Member = Annotated[TenantPrincipal, Depends(TENANT_MEMBER)]


async def public() -> None:
    """Marker dependency: this route needs no authentication."""


async def password_login(
    ctx: WebContext, *, tenant: str | None, email: str, password: str, address: str, user_agent: str | None
) -> auth.TokenPair | None:
    """A password login as the API and the pages both run it: limited per client address
    (every attempt) and per account (failed attempts), audited; None when refused."""
    account = f"{tenant or '-'}:{email.strip().lower()}"
    await ctx.limiter.hit(ctx.settings.login_rate_per_address, "login-address", address)
    await ctx.limiter.ensure_open(ctx.settings.login_rate_per_account, "login-account", account)
    async with ctx.db.transaction() as uow:
        outcome = await auth.login(
            uow, ctx.auth, tenant_slug=tenant, email=email, password=password, user_agent=user_agent
        )
    if isinstance(outcome, auth.Failure):
        await ctx.limiter.record(ctx.settings.login_rate_per_account, "login-account", account)
        return None
    return outcome
