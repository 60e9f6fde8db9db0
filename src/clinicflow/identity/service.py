"""Identity use cases. Callers own the unit of work; nothing here commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from clinicflow.identity.directory import DIRECTORY_CACHE
from clinicflow.identity.errors import GrantRefused, LastTenantAdmin
from clinicflow.identity.models import PatientProfile, PlatformAdmin, RoleGrant, StaffProfile, User
from clinicflow.identity.passwords import MIN_PASSWORD_LENGTH, hash_password
from clinicflow.identity.permissions import ROLE_RANK, TENANT_WIDE_ONLY, Permission
from clinicflow.identity.principal import Principal, TenantPrincipal
from clinicflow.identity.repository import SessionRepository, UserRepository, platform_admin_by_email
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import (
    GrantIn,
    GrantRead,
    MeRead,
    PatientProfileRead,
    StaffCreate,
    StaffProfileRead,
    UserRead,
    UserSummaryRead,
    UserUpdate,
)
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, page_of, paginate
from clinicflow.tenancy import service as tenancy


def check_password_strength(password: str, *, field: str = "password") -> None:
    """Raise ValidationFailed unless the password is long enough (NIST 800-63B: length over rules)."""
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > 256:
        raise ValidationFailed(
            "The password is not acceptable",
            errors=[FieldProblem(field=field, message=f"must be {MIN_PASSWORD_LENGTH} to 256 characters")],
        )


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
    user = User(
        tenant_id=tenant_id,
        email=email.strip(),
        full_name=full_name.strip(),
        password_hash=await hash_password(password) if password is not None else None,
    )
    uow.session.add(user)
    await uow.flush()
    for role in granted:
        uow.session.add(RoleGrant(tenant_id=tenant_id, user_id=user.id, role=role.value, clinic_id=clinic_id))
    await uow.flush()
    return user


# --- Staff and user administration -------------------------------------------------------


def _grant_key(role: Role | str, clinic_id: uuid.UUID | None) -> tuple[str, uuid.UUID | None]:
    return (Role(role).value, clinic_id)


def check_grantable(principal: TenantPrincipal, grant: GrantIn, *, creating_patient_only: bool) -> None:
    """Raise GrantRefused unless the principal may grant (or remove) this role in this scope.

    - SUPER_ADMIN is never granted inside a tenant;
    - nobody grants a role ranked above their own in that scope;
    - staff roles need `roles:assign` for that scope; registering a patient
      needs only `users:create`.
    """
    role = grant.role
    if role is Role.SUPER_ADMIN:
        raise GrantRefused("SUPER_ADMIN is a platform role and cannot be granted in a tenant")
    needed = Permission.USERS_CREATE if creating_patient_only else Permission.ROLES_ASSIGN
    if not principal.can(needed, clinic_id=grant.clinic_id):
        where = "tenant-wide" if grant.clinic_id is None else "for this clinic"
        raise GrantRefused(f"You may not grant {role} {where}")
    if ROLE_RANK[role] > principal.rank_for(grant.clinic_id):
        raise GrantRefused(f"{role} is above your own role")


async def _validate_grants(uow: UnitOfWork, tenant_id: uuid.UUID, grants: list[GrantIn]) -> None:
    problems = []
    for i, grant in enumerate(grants):
        if grant.role in TENANT_WIDE_ONLY and grant.clinic_id is not None:
            problems.append(
                FieldProblem(field=f"grants.{i}.clinic_id", message=f"{grant.role} is tenant-wide")
            )
        elif grant.clinic_id is not None and not await tenancy.clinic_exists(
            uow, tenant_id=tenant_id, clinic_id=grant.clinic_id
        ):
            problems.append(FieldProblem(field=f"grants.{i}.clinic_id", message="no such clinic"))
    if problems:
        raise ValidationFailed("Some role grants are not valid", errors=problems)


async def create_staff(uow: UnitOfWork, principal: TenantPrincipal, *, data: StaffCreate) -> UserRead:
    """Create a user with role grants and an optional staff profile, audited.

    Grants the caller may not make raise GrantRefused (403) before anything is written.
    """
    tenant_id = principal.tenant_id
    await _validate_grants(uow, tenant_id, data.grants)
    patient_only = all(g.role is Role.PATIENT for g in data.grants)
    for grant in data.grants:
        check_grantable(principal, grant, creating_patient_only=patient_only)
    if data.password is not None:
        check_password_strength(data.password)
    user = User(
        tenant_id=tenant_id,
        email=data.email.strip(),
        full_name=data.full_name.strip(),
        password_hash=await hash_password(data.password) if data.password is not None else None,
    )
    uow.session.add(user)
    await uow.flush()
    for role, clinic_id in {_grant_key(g.role, g.clinic_id) for g in data.grants}:
        uow.session.add(RoleGrant(tenant_id=tenant_id, user_id=user.id, role=role, clinic_id=clinic_id))
    if data.profile is not None:
        uow.session.add(StaffProfile(tenant_id=tenant_id, user_id=user.id, **data.profile.model_dump()))
    elif patient_only:
        uow.session.add(PatientProfile(tenant_id=tenant_id, user_id=user.id))
    await uow.flush()
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=principal.actor,
        action="user.created",
        subject_type="user",
        subject_id=user.id,
        after={
            "email": user.email,
            "full_name": user.full_name,
            "grants": sorted(f"{g.role}@{g.clinic_id or 'tenant'}" for g in data.grants),
        },
    )
    DIRECTORY_CACHE.invalidate(tenant_id)
    return await _read_user(uow, tenant_id, user)


def _visible_clause(principal: TenantPrincipal) -> Any:
    """Which users of the tenant the principal may see besides themselves (None: all)."""
    clinics = principal.clinics_for(Permission.USERS_READ)
    if clinics is None:
        return None
    in_clinics = select(RoleGrant.user_id).where(
        RoleGrant.tenant_id == principal.tenant_id, RoleGrant.clinic_id.in_(clinics)
    )
    patients = select(RoleGrant.user_id).where(
        RoleGrant.tenant_id == principal.tenant_id, RoleGrant.role == Role.PATIENT.value
    )
    return or_(User.id.in_(in_clinics), User.id.in_(patients))


async def _visible_user(
    uow: UnitOfWork, principal: TenantPrincipal, user_id: uuid.UUID, *, lock: bool = False
) -> User:
    """The user if the principal may see them (themselves always), else NotFound."""
    stmt = UserRepository(uow, principal.tenant_id).select().where(User.id == user_id)
    if user_id != principal.user_id:
        if not principal.has(Permission.USERS_READ):
            raise NotFound("User not found")
        clause = _visible_clause(principal)
        if clause is not None:
            stmt = stmt.where(clause)
    if lock:
        stmt = stmt.with_for_update()
    user = (await uow.session.execute(stmt)).scalar_one_or_none()
    if user is None:
        raise NotFound("User not found")
    return user


async def _read_user(uow: UnitOfWork, tenant_id: uuid.UUID, user: User) -> UserRead:
    repo = UserRepository(uow, tenant_id)
    grants = await repo.grants_of(user.id)
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
    user = await _visible_user(uow, principal, user_id)
    return await _read_user(uow, principal.tenant_id, user)


async def me(uow: UnitOfWork, principal: Principal) -> MeRead:
    """The caller's profile, roles and effective permissions."""
    permissions = sorted(principal.permissions)
    roles = sorted(principal.roles)
    member = principal.in_tenant()
    if member is None:
        admin = await uow.session.get(PlatformAdmin, principal.subject_id)
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
    user = await _visible_user(uow, member, member.user_id)
    read = await _read_user(uow, member.tenant_id, user)
    return MeRead(**read.model_dump(), tenant_id=member.tenant_id, roles=roles, permissions=permissions)


async def list_users(
    uow: UnitOfWork, principal: TenantPrincipal, *, role: Role | None, page: PageParams
) -> tuple[list[UserSummaryRead], str | None]:
    """Users the principal may see, oldest first, optionally with one role."""
    table = User.__table__
    stmt = select(table.c.id, table.c.email, table.c.full_name, table.c.is_active).where(
        table.c.tenant_id == principal.tenant_id
    )
    clause = _visible_clause(principal)
    if clause is not None:
        stmt = stmt.where(or_(clause, User.id == principal.user_id))
    if role is not None:
        stmt = stmt.where(
            User.id.in_(
                select(RoleGrant.user_id).where(
                    RoleGrant.tenant_id == principal.tenant_id, RoleGrant.role == role.value
                )
            )
        )
    rows = (await uow.execute(paginate(stmt, User.id, page))).mappings().all()
    items, cursor = page_of(rows, page)
    grants = await UserRepository(uow, principal.tenant_id).grants_of_many([r["id"] for r in items])
    by_user: dict[uuid.UUID, list[GrantRead]] = {}
    for user_id, grant_role, clinic_id in grants:
        by_user.setdefault(user_id, []).append(GrantRead(role=Role(grant_role), clinic_id=clinic_id))
    return [UserSummaryRead(**dict(r), grants=by_user.get(r["id"], [])) for r in items], cursor


async def update_user(
    uow: UnitOfWork, principal: TenantPrincipal, *, user_id: uuid.UUID, data: UserUpdate
) -> UserRead:
    """Change a user's name and profile. Yourself always; others with `users:update` for a
    clinic they work at (tenant-wide: anyone). Only changed fields are audited."""
    tenant_id = principal.tenant_id
    user = await _visible_user(uow, principal, user_id, lock=True)
    if user.id != principal.user_id:
        await _require_over(uow, principal, user, Permission.USERS_UPDATE)
    repo = UserRepository(uow, tenant_id)
    before: dict[str, Any] = {"full_name": user.full_name}
    after: dict[str, Any] = {}
    if data.full_name is not None:
        after["full_name"] = data.full_name
        user.full_name = data.full_name
    if data.profile is not None:
        staff = await repo.staff_profile(user.id)
        if staff is None:
            staff = StaffProfile(tenant_id=tenant_id, user_id=user.id)
            uow.session.add(staff)
        for key, value in data.profile.model_dump(exclude_unset=True).items():
            before[key] = getattr(staff, key, None)
            after[key] = value
            setattr(staff, key, value)
    patient_fields = data.model_dump(
        include={"date_of_birth", "phone", "preferred_language"}, exclude_unset=True
    )
    if patient_fields:
        patient = await repo.patient_profile(user.id)
        if patient is None:
            raise ValidationFailed(
                "This user has no patient profile",
                errors=[FieldProblem(field=k, message="only patients have it") for k in patient_fields],
            )
        for key, value in patient_fields.items():
            before[key] = getattr(patient, key)
            after[key] = value
            setattr(patient, key, value)
    old, new = audit.changed_fields(before, after)
    if new:
        await uow.flush()
        await audit.record(
            uow,
            tenant_id=tenant_id,
            actor=principal.actor,
            action="user.updated",
            subject_type="user",
            subject_id=user.id,
            before=old,
            after=new,
        )
        DIRECTORY_CACHE.invalidate(tenant_id)
    return await _read_user(uow, tenant_id, user)


async def _require_over(
    uow: UnitOfWork, principal: TenantPrincipal, user: User, permission: Permission
) -> None:
    """Acting on another user needs `permission` over every scope the user holds roles in,
    and a rank at least as high as each of their roles (a clinic admin cannot act on a
    tenant admin)."""
    grants = await UserRepository(uow, user.tenant_id).grants_of(user.id)
    scopes = {g.clinic_id for g in grants if g.role != Role.PATIENT.value} or {None}
    patient_only = all(g.role == Role.PATIENT.value for g in grants)
    if patient_only:
        allowed = principal.has(permission)
    else:
        allowed = all(principal.can(permission, clinic_id=scope) for scope in scopes)
    outranked = any(ROLE_RANK[Role(g.role)] > principal.rank_for(g.clinic_id) for g in grants)
    if not allowed or outranked:
        raise Forbidden("You may not change this user")


async def _lock_tenant_admins(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """Serialise changes that could remove the last tenant admin (row lock on the tenant)."""
    await tenancy.lock_tenant(uow, tenant_id=tenant_id)


async def deactivate_user(uow: UnitOfWork, principal: TenantPrincipal, *, user_id: uuid.UUID) -> None:
    """Deactivate a user: they cannot log in and every session ends at once. Idempotent.

    Refused for yourself (403) and for the tenant's last active admin (409).
    """
    tenant_id = principal.tenant_id
    await _lock_tenant_admins(uow, tenant_id)
    user = await _visible_user(uow, principal, user_id, lock=True)
    if user.id == principal.user_id:
        raise Forbidden("You cannot deactivate yourself")
    await _require_over(uow, principal, user, Permission.USERS_DEACTIVATE)
    if not user.is_active:
        return
    repo = UserRepository(uow, tenant_id)
    was_admin = any(g.role == Role.TENANT_ADMIN.value for g in await repo.grants_of(user.id))
    user.is_active = False
    user.deactivated_at = datetime.now(UTC)
    await uow.flush()
    if was_admin and await repo.active_tenant_admins() == 0:
        raise LastTenantAdmin()
    ended = await SessionRepository(uow).revoke_all_of_user(
        tenant_id, user.id, reason="user_deactivated", now=user.deactivated_at
    )
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=principal.actor,
        action="user.deactivated",
        subject_type="user",
        subject_id=user.id,
        before={"is_active": True},
        after={"is_active": False},
        details={"sessions_revoked": ended},
    )
    DIRECTORY_CACHE.invalidate(tenant_id)


async def set_roles(
    uow: UnitOfWork, principal: TenantPrincipal, *, user_id: uuid.UUID, grants: list[GrantIn]
) -> UserRead:
    """Replace a user's role grants. Every added and removed grant must be one the caller
    may grant (GrantRefused, 403); nobody edits their own roles (403); the last active
    tenant admin keeps the role (409). Audited with before and after."""
    tenant_id = principal.tenant_id
    if user_id == principal.user_id:
        raise GrantRefused("You cannot change your own roles")
    if not principal.has(Permission.ROLES_ASSIGN):
        raise GrantRefused("You need the permission roles:assign")
    await _lock_tenant_admins(uow, tenant_id)
    user = await _visible_user(uow, principal, user_id, lock=True)
    await _validate_grants(uow, tenant_id, grants)
    repo = UserRepository(uow, tenant_id)
    current = await repo.grants_of(user.id)
    current_keys = {_grant_key(g.role, g.clinic_id) for g in current}
    wanted_keys = {_grant_key(g.role, g.clinic_id) for g in grants}
    for role, clinic_id in sorted(wanted_keys ^ current_keys, key=str):
        check_grantable(principal, GrantIn(role=Role(role), clinic_id=clinic_id), creating_patient_only=False)
    for grant in current:
        if _grant_key(grant.role, grant.clinic_id) not in wanted_keys:
            await uow.session.delete(grant)
    for role, clinic_id in wanted_keys - current_keys:
        uow.session.add(RoleGrant(tenant_id=tenant_id, user_id=user.id, role=role, clinic_id=clinic_id))
    await uow.flush()
    removes_admin = (Role.TENANT_ADMIN.value, None) in current_keys - wanted_keys
    if removes_admin and await repo.active_tenant_admins() == 0:
        raise LastTenantAdmin()
    if wanted_keys != current_keys:
        await audit.record(
            uow,
            tenant_id=tenant_id,
            actor=principal.actor,
            action="user.roles_changed",
            subject_type="user",
            subject_id=user.id,
            before={"grants": sorted(f"{r}@{c or 'tenant'}" for r, c in current_keys)},
            after={"grants": sorted(f"{r}@{c or 'tenant'}" for r, c in wanted_keys)},
        )
        DIRECTORY_CACHE.invalidate(tenant_id)
    return await _read_user(uow, tenant_id, user)


async def record_refusal(
    uow: UnitOfWork, principal: Principal, *, action: str, subject_id: uuid.UUID | None, reason: str
) -> None:
    """Audit a refused privileged attempt (e.g. a role escalation); its own unit of work."""
    await audit.record(
        uow,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action=action,
        subject_type="user",
        subject_id=subject_id,
        details={"refused": reason},
    )


async def add_staff_profile(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    specialty: str | None,
    license_number: str | None,
) -> None:
    """Attach a staff profile (seeding, CLI); API callers use create_staff/update_user."""
    uow.session.add(
        StaffProfile(tenant_id=tenant_id, user_id=user_id, specialty=specialty, license_number=license_number)
    )
    await uow.flush()


async def add_patient_profile(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, user_id: uuid.UUID, preferred_language: str | None = None
) -> None:
    """Attach a patient profile (seeding, CLI); self-registration creates its own."""
    uow.session.add(
        PatientProfile(tenant_id=tenant_id, user_id=user_id, preferred_language=preferred_language)
    )
    await uow.flush()


async def user_id_by_email(uow: UnitOfWork, *, tenant_id: uuid.UUID, email: str) -> uuid.UUID | None:
    """The id of the tenant's user with this email (any case), if there is one."""
    user = await UserRepository(uow, tenant_id).by_email(email)
    return user.id if user is not None else None


async def platform_admin_exists(uow: UnitOfWork, *, email: str) -> bool:
    return await platform_admin_by_email(uow, email) is not None


async def create_platform_admin(uow: UnitOfWork, *, email: str, full_name: str, password: str) -> uuid.UUID:
    """A SUPER_ADMIN (CLI only). A taken email is 409."""
    check_password_strength(password)
    admin = PlatformAdmin(
        email=email.strip(), full_name=full_name.strip(), password_hash=await hash_password(password)
    )
    uow.session.add(admin)
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
