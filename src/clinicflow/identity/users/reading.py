"""Reading users: one user the caller may see, the caller's own profile, a page of users."""

from __future__ import annotations

import uuid

from clinicflow.errors import NotFound
from clinicflow.identity import policy
from clinicflow.identity.models import RoleGrant, User
from clinicflow.identity.principal import Principal, TenantPrincipal
from clinicflow.identity.repository import PlatformAdminRepository, UserRepository
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import (
    GrantRead,
    MeRead,
    PatientProfileRead,
    StaffProfileRead,
    UserRead,
    UserSummaryRead,
)
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, page_of


async def visible_user(
    uow: UnitOfWork, principal: TenantPrincipal, user_id: uuid.UUID, *, lock: bool = False
) -> tuple[User, list[RoleGrant]]:
    """The user and their grants if the principal may see them (themselves always), else NotFound.

    With `lock`, the user's row is locked for the rest of the transaction.
    """
    repo = UserRepository(uow, principal.tenant_id)
    user = await repo.get(user_id, for_update=lock)
    if user is None:
        raise NotFound("User not found")
    grants = await repo.grants_of(user.id)
    policy.require_visible(principal, user.id, grants)
    return user, grants


async def read_user(uow: UnitOfWork, tenant_id: uuid.UUID, user: User, grants: list[RoleGrant]) -> UserRead:
    """The API view of a user: grants and profiles."""
    repo = UserRepository(uow, tenant_id)
    staff = await repo.staff_profile(user.id)
    patient = await repo.patient_profile(user.id)
    return UserRead(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        is_active=user.is_active,
        created_at=user.created_at,
        grants=[GrantRead(role=Role(g.role), clinic_id=g.clinic_id) for g in grants],
        staff_profile=StaffProfileRead(
            specialty=staff.specialty,
            license_number=staff.license_number,
            clinic_ids=sorted({g.clinic_id for g in grants if g.clinic_id is not None}, key=str),
        )
        if staff is not None
        else None,
        patient_profile=PatientProfileRead(
            date_of_birth=patient.date_of_birth,
            phone=patient.phone,
            preferred_language=patient.preferred_language,
            notification_preferences=patient.notification_preferences,
        )
        if patient is not None
        else None,
    )


async def get_user(uow: UnitOfWork, principal: TenantPrincipal, *, user_id: uuid.UUID) -> UserRead:
    """A user the principal may see: themselves; with `users:read`, users of their clinics
    and patients (tenant-wide grants: everyone). Anyone else is NotFound."""
    user, grants = await visible_user(uow, principal, user_id)
    return await read_user(uow, principal.tenant_id, user, grants)


async def me(uow: UnitOfWork, principal: Principal) -> MeRead:
    """The caller's profile, roles and effective permissions."""
    permissions = sorted(principal.permissions)
    roles = sorted(principal.roles)
    member = principal.in_tenant()
    if member is None:
        admin = await PlatformAdminRepository(uow).get(principal.subject_id)
        assert admin is not None  # the principal was loaded from this row's live session
        return MeRead(
            id=admin.id,
            email=admin.email,
            full_name=admin.full_name,
            is_active=admin.is_active,
            created_at=admin.created_at,
            grants=[GrantRead(role=Role.SUPER_ADMIN, clinic_id=None)],
            tenant_id=None,
            roles=roles,
            permissions=permissions,
        )
    user, grants = await visible_user(uow, member, member.user_id)
    read = await read_user(uow, member.tenant_id, user, grants)
    return MeRead(**read.model_dump(), tenant_id=member.tenant_id, roles=roles, permissions=permissions)


async def list_users(
    uow: UnitOfWork, principal: TenantPrincipal, *, role: Role | None, page: PageParams
) -> tuple[list[UserSummaryRead], str | None]:
    """Users the principal may see (and themselves), oldest first, optionally with one role."""
    repo = UserRepository(uow, principal.tenant_id)
    rows = await repo.page_visible(
        clinics=policy.visible_clinics(principal), also=principal.user_id, role=role, page=page
    )
    items, cursor = page_of(rows, page)
    by_user: dict[uuid.UUID, list[GrantRead]] = {}
    for user_id, grant_role, clinic_id in await repo.grants_of_many([r["id"] for r in items]):
        by_user.setdefault(user_id, []).append(GrantRead(role=Role(grant_role), clinic_id=clinic_id))
    return [UserSummaryRead(**dict(r), grants=by_user.get(r["id"], [])) for r in items], cursor
