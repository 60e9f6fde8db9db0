"""Identity's API: `/api/v1/auth/*` (login, tokens, sessions, registration, one-time codes,
passwords) and `/api/v1/users*` (the caller's profile and user administration).

Each route: parse -> authenticate (dependency) -> one use case in one unit of work -> response.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status

from clinicflow.errors import Unauthenticated
from clinicflow.identity import auth
from clinicflow.identity import service as identity
from clinicflow.identity.access import (
    Member,
    Requires,
    SignedIn,
    Web,
    WebContext,
    changing_principals,
    password_login,
    public,
)
from clinicflow.identity.errors import GrantRefused, RefreshTokenReused
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import (
    AcceptedRead,
    ChangePasswordRequest,
    ForgotPasswordRequest,
    LoginRequest,
    MeRead,
    OtpRequest,
    OtpVerify,
    RefreshRequest,
    RegisteredRead,
    RegisterRequest,
    ResetPasswordRequest,
    RolesUpdate,
    SessionRead,
    StaffCreate,
    TokenPairRead,
    UserRead,
    UserSummaryRead,
    UserUpdate,
)
from clinicflow.platform.openapi import problems
from clinicflow.platform.pagination import Page, Paging
from clinicflow.platform.routing import PrefixedRouter

auth_router = PrefixedRouter(prefix="/api/v1/auth", tags=["auth"])
_WRONG_CREDENTIALS = "The email or password is not correct"


def _pair(pair: auth.TokenPair) -> TokenPairRead:
    return TokenPairRead(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@auth_router.post(
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
    pair = await password_login(
        ctx,
        tenant=body.tenant,
        email=body.email,
        password=body.password,
        address=_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    if pair is None:
        raise Unauthenticated(_WRONG_CREDENTIALS)
    return _pair(pair)


@auth_router.post(
    "/refresh", response_model=TokenPairRead, dependencies=[Depends(public)], responses=problems(401, 422)
)
async def refresh(body: RefreshRequest, ctx: Web) -> TokenPairRead:
    """Spend a refresh token for a new pair. Presenting a spent one revokes the whole session."""
    async with ctx.db.transaction() as uow:
        outcome = await auth.refresh(uow, ctx.auth, refresh_token=body.refresh_token)
    if isinstance(outcome, auth.Failure):  # committed: the session is revoked and audited
        raise RefreshTokenReused()
    return _pair(outcome)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401))
async def logout(principal: SignedIn, ctx: Web) -> Response:
    """End the current session: its access and refresh tokens stop working at once."""
    async with changing_principals(ctx) as uow:
        await auth.logout(uow, ctx.auth, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.get("/sessions", response_model=Page[SessionRead], responses=problems(401))
async def sessions(principal: SignedIn, ctx: Web, page: Paging) -> Page[SessionRead]:
    """Your live sessions (devices), newest first, one page at a time."""
    async with ctx.db.transaction() as uow:
        items, cursor = await auth.list_sessions(uow, ctx.auth, principal, page=page)
    return Page(items=items, next_cursor=cursor)


@auth_router.delete(
    "/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 404)
)
async def revoke_session(session_id: uuid.UUID, principal: SignedIn, ctx: Web) -> Response:
    """End one of your sessions (another's is 404)."""
    async with changing_principals(ctx) as uow:
        await auth.revoke_session(uow, ctx.auth, principal, session_id=session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post(
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


@auth_router.post(
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


@auth_router.post(
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


@auth_router.post(
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


@auth_router.post(
    "/reset-password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(public)],
    responses=problems(422, 429),
)
async def reset_password(body: ResetPasswordRequest, request: Request, ctx: Web) -> Response:
    """Set a new password with a reset token; every session of the account ends."""
    await ctx.limiter.hit(ctx.settings.otp_rate_per_address, "reset-use-address", _address(request))
    async with changing_principals(ctx) as uow:
        await auth.reset_password(uow, ctx.auth, token=body.token, new_password=body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post(
    "/change-password", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 403, 422)
)
async def change_password(body: ChangePasswordRequest, principal: Member, ctx: Web) -> Response:
    """Change your password; your other sessions end."""
    async with changing_principals(ctx) as uow:
        await auth.change_password(
            uow,
            ctx.auth,
            principal,
            current_password=body.current_password,
            new_password=body.new_password,
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


users_router = PrefixedRouter(prefix="/api/v1/users", tags=["users"])


async def _audit_refusal(
    ctx: WebContext,
    principal: TenantPrincipal,
    *,
    action: str,
    subject_id: uuid.UUID | None,
    refused: GrantRefused,
) -> None:
    """Refused escalations are audited in their own unit of work (the attempt's rolled back)."""
    async with ctx.db.transaction() as uow:
        await identity.record_refusal(
            uow, principal, action=action, subject_id=subject_id, reason=refused.detail
        )


@users_router.get("/me", response_model=MeRead, responses=problems(401))
async def me(principal: SignedIn, ctx: Web) -> MeRead:
    """Your profile, role grants and effective permissions."""
    async with ctx.db.reading() as uow:
        return await identity.me(uow, principal)


@users_router.get("", response_model=Page[UserSummaryRead], responses=problems(401, 403, 422))
async def list_users(
    principal: Annotated[TenantPrincipal, Depends(Requires(Permission.USERS_READ))],
    ctx: Web,
    page: Paging,
    role: Annotated[Role | None, Query(description="Only users holding this role")] = None,
) -> Page[UserSummaryRead]:
    """Users you may see (clinic-scoped roles: staff of your clinics and patients)."""
    async with ctx.db.reading() as uow:
        items, cursor = await identity.list_users(uow, principal, role=role, page=page)
    return Page[UserSummaryRead](items=items, next_cursor=cursor)


@users_router.post(
    "",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, 422),
)
async def create_user(
    body: StaffCreate,
    principal: Annotated[TenantPrincipal, Depends(Requires(Permission.USERS_CREATE))],
    ctx: Web,
) -> UserRead:
    """Create a staff member (or a patient, at the desk) with role grants.

    You may only grant roles up to your own, in scopes you administer.
    """
    try:
        async with ctx.db.transaction() as uow:
            return await identity.create_staff(uow, principal, data=body)
    except GrantRefused as refused:
        await _audit_refusal(ctx, principal, action="user.create_refused", subject_id=None, refused=refused)
        raise


@users_router.get("/{user_id}", response_model=UserRead, responses=problems(401, 403, 404))
async def get_user(user_id: uuid.UUID, principal: Member, ctx: Web) -> UserRead:
    """A user you may see: yourself, or with `users:read` (else 404)."""
    async with ctx.db.reading() as uow:
        return await identity.get_user(uow, principal, user_id=user_id)


@users_router.patch("/{user_id}", response_model=UserRead, responses=problems(401, 403, 404, 422))
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    principal: Member,
    ctx: Web,
) -> UserRead:
    """Change name and profile: your own, or another's with `users:update`."""
    async with ctx.db.transaction() as uow:
        return await identity.update_user(uow, principal, user_id=user_id, data=body)


@users_router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 403, 404, 409)
)
async def deactivate_user(
    user_id: uuid.UUID,
    principal: Annotated[TenantPrincipal, Depends(Requires(Permission.USERS_DEACTIVATE))],
    ctx: Web,
) -> Response:
    """Deactivate a user: their sessions end at once. The last tenant admin stays (409)."""
    async with changing_principals(ctx) as uow:
        await identity.deactivate_user(uow, principal, user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users_router.put("/{user_id}/roles", response_model=UserRead, responses=problems(401, 403, 404, 409, 422))
async def set_roles(
    user_id: uuid.UUID,
    body: RolesUpdate,
    principal: Member,
    ctx: Web,
) -> UserRead:
    """Replace a user's role grants. Needs `roles:assign` for every scope touched; nobody
    edits their own roles or grants above their own. Refusals are audited."""
    try:
        async with changing_principals(ctx) as uow:
            return await identity.set_roles(uow, principal, user_id=user_id, grants=body.grants)
    except GrantRefused as refused:
        await _audit_refusal(
            ctx, principal, action="user.roles_change_refused", subject_id=user_id, refused=refused
        )
        raise
