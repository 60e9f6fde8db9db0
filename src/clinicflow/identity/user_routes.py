"""`/api/v1/users*`: the caller's profile and user administration."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from clinicflow.identity import service as identity
from clinicflow.identity.access import SIGNED_IN, TENANT_MEMBER, Requires, Web, WebContext
from clinicflow.identity.errors import GrantRefused
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import Principal, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import (
    MeRead,
    RolesUpdate,
    StaffCreate,
    UserRead,
    UserSummaryRead,
    UserUpdate,
)
from clinicflow.platform.openapi import problems
from clinicflow.platform.pagination import Page, Paging
from clinicflow.platform.routing import PrefixedRouter

router = PrefixedRouter(prefix="/api/v1/users", tags=["users"])


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


@router.get("/me", response_model=MeRead, responses=problems(401))
async def me(principal: Annotated[Principal, Depends(SIGNED_IN)], ctx: Web) -> MeRead:
    """Your profile, role grants and effective permissions."""
    async with ctx.db.reading() as uow:
        return await identity.me(uow, principal)


@router.get("", response_model=Page[UserSummaryRead], responses=problems(401, 403, 422))
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


@router.post(
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


@router.get("/{user_id}", response_model=UserRead, responses=problems(401, 403, 404))
async def get_user(
    user_id: uuid.UUID, principal: Annotated[TenantPrincipal, Depends(TENANT_MEMBER)], ctx: Web
) -> UserRead:
    """A user you may see: yourself, or with `users:read` (else 404)."""
    async with ctx.db.reading() as uow:
        return await identity.get_user(uow, principal, user_id=user_id)


@router.patch("/{user_id}", response_model=UserRead, responses=problems(401, 403, 404, 422))
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    principal: Annotated[TenantPrincipal, Depends(TENANT_MEMBER)],
    ctx: Web,
) -> UserRead:
    """Change name and profile: your own, or another's with `users:update`."""
    async with ctx.db.transaction() as uow:
        return await identity.update_user(uow, principal, user_id=user_id, data=body)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 403, 404, 409))
async def deactivate_user(
    user_id: uuid.UUID,
    principal: Annotated[TenantPrincipal, Depends(Requires(Permission.USERS_DEACTIVATE))],
    ctx: Web,
) -> Response:
    """Deactivate a user: their sessions end at once. The last tenant admin stays (409)."""
    async with ctx.db.transaction() as uow:
        await identity.deactivate_user(uow, principal, user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{user_id}/roles", response_model=UserRead, responses=problems(401, 403, 404, 409, 422))
async def set_roles(
    user_id: uuid.UUID,
    body: RolesUpdate,
    principal: Annotated[TenantPrincipal, Depends(TENANT_MEMBER)],
    ctx: Web,
) -> UserRead:
    """Replace a user's role grants. Needs `roles:assign` for every scope touched; nobody
    edits their own roles or grants above their own. Refusals are audited."""
    try:
        async with ctx.db.transaction() as uow:
            return await identity.set_roles(uow, principal, user_id=user_id, grants=body.grants)
    except GrantRefused as refused:
        await _audit_refusal(
            ctx, principal, action="user.roles_change_refused", subject_id=user_id, refused=refused
        )
        raise
