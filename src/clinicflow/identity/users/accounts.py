"""Accounts: creating users, staff and platform admins, attaching profiles, deactivating."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, Forbidden, ValidationFailed
from clinicflow.identity import policy
from clinicflow.identity.directory import DIRECTORY_CACHE
from clinicflow.identity.errors import LastTenantAdmin
from clinicflow.identity.models import PlatformAdmin, User
from clinicflow.identity.passwords import check_password_strength, hash_password
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.repository import PlatformAdminRepository, SessionRepository, UserRepository
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import StaffCreate, UserRead
from clinicflow.identity.users.grants import grant_key, grants_label, validate_grants
from clinicflow.identity.users.reading import read_user, visible_user
from clinicflow.platform.db import UnitOfWork
from clinicflow.tenancy import service as tenancy


async def _new_user(
    uow: UnitOfWork, tenant_id: uuid.UUID, *, email: str, full_name: str, password: str | None
) -> User:
    """A user row, flushed (a taken email raises EmailTaken here); the password hashed off the loop."""
    user = UserRepository(uow, tenant_id).add(
        User(
            tenant_id=tenant_id,
            email=email.strip(),
            full_name=full_name.strip(),
            password_hash=await hash_password(password) if password is not None else None,
        )
    )
    await uow.flush()
    return user


async def create_user(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    email: str,
    full_name: str,
    password: str | None,
    roles: Iterable[Role],
    clinic_id: uuid.UUID | None = None,
) -> User:
    """Create a user with the given roles (tenant-wide, or for one clinic).

    Input is checked before any work (no hashing, no rows for refused input).
    The email is stored as given and is unique per tenant ignoring case
    (EmailTaken, 409). The password is hashed with argon2id off the event loop.
    """
    granted = list(dict.fromkeys(roles))
    if Role.SUPER_ADMIN in granted:
        raise ValidationFailed(
            "SUPER_ADMIN is a platform role, not a tenant role",
            errors=[FieldProblem(field="roles", message="SUPER_ADMIN cannot be granted in a tenant")],
        )
    if password is not None:
        check_password_strength(password)
    user = await _new_user(uow, tenant_id, email=email, full_name=full_name, password=password)
    UserRepository(uow, tenant_id).add_grants(user.id, [(role.value, clinic_id) for role in granted])
    await uow.flush()
    return user


async def create_staff(uow: UnitOfWork, principal: TenantPrincipal, *, data: StaffCreate) -> UserRead:
    """Create a user with role grants and an optional staff profile (a patient profile for a
    patient registered at the desk), audited.

    Grants the caller may not make raise GrantRefused (403) before anything is written.
    """
    tenant_id = principal.tenant_id
    await validate_grants(uow, tenant_id, data.grants)
    patient_only = all(g.role is Role.PATIENT for g in data.grants)
    for grant in data.grants:
        policy.check_grantable(principal, grant.role, grant.clinic_id, creating_patient_only=patient_only)
    if data.password is not None:
        check_password_strength(data.password)
    user = await _new_user(uow, tenant_id, email=data.email, full_name=data.full_name, password=data.password)
    repo = UserRepository(uow, tenant_id)
    repo.add_grants(user.id, {grant_key(g.role, g.clinic_id) for g in data.grants})
    if data.profile is not None:
        repo.add_staff_profile(user.id, **data.profile.model_dump())
    elif patient_only:
        repo.add_patient_profile(user.id)
    await uow.flush()
    keys = [grant_key(g.role, g.clinic_id) for g in data.grants]
    after = {"email": user.email, "full_name": user.full_name, "grants": grants_label(keys)}
    await audit.record_change(uow, principal.actor, "user.created", user, after=after)
    DIRECTORY_CACHE.invalidate(tenant_id)
    return await read_user(uow, tenant_id, user, await repo.grants_of(user.id))


async def deactivate_user(uow: UnitOfWork, principal: TenantPrincipal, *, user_id: uuid.UUID) -> None:
    """Deactivate a user: they cannot log in and every session ends at once (in every
    process: see `identity.auth.principals`). Idempotent.

    Refused for yourself (403) and for the tenant's last active admin (409, under the
    tenant's row lock).
    """
    tenant_id = principal.tenant_id
    await tenancy.lock_tenant(uow, tenant_id=tenant_id)
    user, grants = await visible_user(uow, principal, user_id, lock=True)
    if user.id == principal.user_id:
        raise Forbidden("You cannot deactivate yourself")
    policy.require_over(principal, grants, Permission.USERS_DEACTIVATE)
    if not user.is_active:
        return
    was_admin = any(g.role == Role.TENANT_ADMIN.value for g in grants)
    user.is_active = False
    user.deactivated_at = datetime.now(UTC)
    await uow.flush()
    if was_admin and await UserRepository(uow, tenant_id).active_tenant_admins() == 0:
        raise LastTenantAdmin()
    ended = await SessionRepository(uow).revoke_all_of_user(
        tenant_id, user.id, reason="user_deactivated", now=user.deactivated_at
    )
    await audit.record_change(
        uow,
        principal.actor,
        "user.deactivated",
        user,
        before={"is_active": True},
        after={"is_active": False},
        details={"sessions_revoked": ended},
    )
    DIRECTORY_CACHE.invalidate(tenant_id)


async def add_staff_profile(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    specialty: str | None,
    license_number: str | None,
) -> None:
    """Attach a staff profile (seeding, CLI); API callers use create_staff/update_user."""
    UserRepository(uow, tenant_id).add_staff_profile(
        user_id, specialty=specialty, license_number=license_number
    )
    await uow.flush()


async def add_patient_profile(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, user_id: uuid.UUID, preferred_language: str | None = None
) -> None:
    """Attach a patient profile (seeding, CLI); self-registration creates its own."""
    UserRepository(uow, tenant_id).add_patient_profile(user_id, preferred_language=preferred_language)
    await uow.flush()


async def user_id_by_email(uow: UnitOfWork, *, tenant_id: uuid.UUID, email: str) -> uuid.UUID | None:
    """The id of the tenant's user with this email (any case), if there is one."""
    user = await UserRepository(uow, tenant_id).by_email(email)
    return user.id if user is not None else None


async def platform_admin_exists(uow: UnitOfWork, *, email: str) -> bool:
    """A platform admin with this email (any case) exists."""
    return await PlatformAdminRepository(uow).by_email(email) is not None


async def create_platform_admin(uow: UnitOfWork, *, email: str, full_name: str, password: str) -> uuid.UUID:
    """A SUPER_ADMIN (CLI only), audited. A taken email is 409."""
    check_password_strength(password)
    admin = PlatformAdminRepository(uow).add(
        PlatformAdmin(
            email=email.strip(), full_name=full_name.strip(), password_hash=await hash_password(password)
        )
    )
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=None,
        actor=audit.SYSTEM,
        action="platform_admin.created",
        subject_type="platform_admin",
        subject_id=admin.id,
        after={"email": admin.email},
    )
    return admin.id
