"""`/api/v1/auth/*`: login, tokens, sessions, registration, one-time codes, passwords."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response, status

from clinicflow.errors import Unauthenticated
from clinicflow.identity import auth
from clinicflow.identity.access import SIGNED_IN, TENANT_MEMBER, Web, public
from clinicflow.identity.errors import RefreshTokenReused
from clinicflow.identity.principal import Principal, TenantPrincipal
from clinicflow.identity.schemas import (
    AcceptedRead,
    ChangePasswordRequest,
    ForgotPasswordRequest,
    LoginRequest,
    OtpRequest,
    OtpVerify,
    RefreshRequest,
    RegisteredRead,
    RegisterRequest,
    ResetPasswordRequest,
    SessionRead,
    TokenPairRead,
)
from clinicflow.platform.openapi import problems
from clinicflow.platform.pagination import Page, Paging
from clinicflow.platform.routing import PrefixedRouter

router = PrefixedRouter(prefix="/api/v1/auth", tags=["auth"])
SignedIn = Annotated[Principal, Depends(SIGNED_IN)]
Member = Annotated[TenantPrincipal, Depends(TENANT_MEMBER)]
_WRONG_CREDENTIALS = "The email or password is not correct"


def _pair(pair: auth.TokenPair) -> TokenPairRead:
    return TokenPairRead(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/login",
    response_model=TokenPairRead,
    dependencies=[Depends(public)],
    responses=problems(401, 422, 429),
)
async def login(body: LoginRequest, request: Request, ctx: Web) -> TokenPairRead:
    """Log in with tenant slug, email and password. Omit `tenant` for a platform admin.

    Failures never say whether the tenant or email exists. Limited per client
    address (every attempt) and per account (failed attempts).
    """
    account = f"{body.tenant or '-'}:{body.email.strip().lower()}"
    await ctx.limiter.hit(ctx.settings.login_rate_per_address, "login-address", _address(request))
    await ctx.limiter.ensure_open(ctx.settings.login_rate_per_account, "login-account", account)
    async with ctx.db.transaction() as uow:
        outcome = await auth.login(
            uow,
            ctx.auth,
            tenant_slug=body.tenant,
            email=body.email,
            password=body.password,
            user_agent=request.headers.get("user-agent"),
        )
    if isinstance(outcome, auth.Failure):
        await ctx.limiter.record(ctx.settings.login_rate_per_account, "login-account", account)
        raise Unauthenticated(_WRONG_CREDENTIALS)
    return _pair(outcome)


@router.post(
    "/refresh", response_model=TokenPairRead, dependencies=[Depends(public)], responses=problems(401, 422)
)
async def refresh(body: RefreshRequest, ctx: Web) -> TokenPairRead:
    """Spend a refresh token for a new pair. Presenting a spent one revokes the whole session."""
    async with ctx.db.transaction() as uow:
        outcome = await auth.refresh(uow, ctx.auth, refresh_token=body.refresh_token)
    if isinstance(outcome, auth.Failure):  # committed: the session is revoked and audited
        raise RefreshTokenReused()
    return _pair(outcome)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401))
async def logout(principal: SignedIn, ctx: Web) -> Response:
    """End the current session: its access and refresh tokens stop working at once."""
    async with ctx.db.transaction() as uow:
        await auth.logout(uow, ctx.auth, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/sessions", response_model=Page[SessionRead], responses=problems(401))
async def sessions(principal: SignedIn, ctx: Web, page: Paging) -> Page[SessionRead]:
    """Your live sessions (devices), newest first, one page at a time."""
    async with ctx.db.transaction() as uow:
        items, cursor = await auth.list_sessions(uow, ctx.auth, principal, page=page)
    return Page(items=items, next_cursor=cursor)


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 404))
async def revoke_session(session_id: uuid.UUID, principal: SignedIn, ctx: Web) -> Response:
    """End one of your sessions (another's is 404)."""
    async with ctx.db.transaction() as uow:
        await auth.revoke_session(uow, ctx.auth, principal, session_id=session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/register",
    response_model=RegisteredRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(public)],
    responses=problems(409, 422, 429),
)
async def register(body: RegisterRequest, request: Request, ctx: Web) -> RegisteredRead:
    """Patient self-registration: creates a PATIENT with a profile and logs them in."""
    await ctx.limiter.hit(ctx.settings.login_rate_per_address, "register-address", _address(request))
    async with ctx.db.transaction() as uow:
        user_id, pair = await auth.register_patient(
            uow, ctx.auth, data=body, user_agent=request.headers.get("user-agent")
        )
    return RegisteredRead(user_id=user_id, tokens=_pair(pair))


_SENT = "If the account exists, a message is on its way."


@router.post(
    "/request-otp",
    response_model=AcceptedRead,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(public)],
    responses=problems(422, 429),
)
async def request_otp(body: OtpRequest, request: Request, ctx: Web) -> AcceptedRead:
    """Send a 6-digit login code (5 minutes, 5 attempts). Same answer for unknown accounts."""
    account = f"{body.tenant}:{body.email.strip().lower()}"
    await ctx.limiter.hit(ctx.settings.otp_rate_per_address, "otp-address", _address(request))
    await ctx.limiter.hit(ctx.settings.otp_rate_per_account, "otp-account", account)
    async with ctx.db.transaction() as uow:
        await auth.request_otp(uow, ctx.auth, tenant_slug=body.tenant, email=body.email)
    return AcceptedRead(detail=_SENT)


@router.post(
    "/verify-otp",
    response_model=TokenPairRead,
    dependencies=[Depends(public)],
    responses=problems(401, 422, 429),
)
async def verify_otp(body: OtpVerify, request: Request, ctx: Web) -> TokenPairRead:
    """Log in with a code from `request-otp`."""
    await ctx.limiter.hit(ctx.settings.otp_rate_per_address, "otp-verify-address", _address(request))
    async with ctx.db.transaction() as uow:
        outcome = await auth.verify_otp(
            uow,
            ctx.auth,
            tenant_slug=body.tenant,
            email=body.email,
            code=body.code,
            user_agent=request.headers.get("user-agent"),
        )
    if isinstance(outcome, auth.Failure):
        raise Unauthenticated("The code is not correct or has expired")
    return _pair(outcome)


@router.post(
    "/forgot-password",
    response_model=AcceptedRead,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(public)],
    responses=problems(422, 429),
)
async def forgot_password(body: ForgotPasswordRequest, request: Request, ctx: Web) -> AcceptedRead:
    """Send a single-use reset link (30 minutes). Same answer for unknown accounts."""
    account = f"{body.tenant}:{body.email.strip().lower()}"
    await ctx.limiter.hit(ctx.settings.otp_rate_per_address, "reset-address", _address(request))
    await ctx.limiter.hit(ctx.settings.otp_rate_per_account, "reset-account", account)
    async with ctx.db.transaction() as uow:
        await auth.forgot_password(uow, ctx.auth, tenant_slug=body.tenant, email=body.email)
    return AcceptedRead(detail=_SENT)


@router.post(
    "/reset-password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(public)],
    responses=problems(422, 429),
)
async def reset_password(body: ResetPasswordRequest, request: Request, ctx: Web) -> Response:
    """Set a new password with a reset token; every session of the account ends."""
    await ctx.limiter.hit(ctx.settings.otp_rate_per_address, "reset-use-address", _address(request))
    async with ctx.db.transaction() as uow:
        await auth.reset_password(uow, ctx.auth, token=body.token, new_password=body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/change-password", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 403, 422))
async def change_password(body: ChangePasswordRequest, principal: Member, ctx: Web) -> Response:
    """Change your password; your other sessions end."""
    async with ctx.db.transaction() as uow:
        await auth.change_password(
            uow,
            ctx.auth,
            principal,
            current_password=body.current_password,
            new_password=body.new_password,
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
