"""Role grants: checking them and replacing a user's."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.identity.directory import DIRECTORY_CACHE
from clinicflow.identity.errors import GrantRefused, LastTenantAdmin
from clinicflow.identity.permissions import TENANT_WIDE_ONLY, Permission
from clinicflow.identity.policy import check_grantable
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.repository import GrantKey, UserRepository
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import GrantIn, UserRead
from clinicflow.identity.users.reading import read_user, visible_user
from clinicflow.platform.db import UnitOfWork
from clinicflow.tenancy import service as tenancy


def grant_key(role: Role | str, clinic_id: uuid.UUID | None) -> GrantKey:
    return (Role(role).value, clinic_id)


def grants_label(keys: Iterable[GrantKey]) -> list[str]:
    """Grants as audit events show them: `ROLE@clinic id` or `ROLE@tenant`, sorted."""
    return sorted(f"{role}@{clinic or 'tenant'}" for role, clinic in keys)


async def validate_grants(uow: UnitOfWork, tenant_id: uuid.UUID, grants: list[GrantIn]) -> None:
    """ValidationFailed (422) for a tenant-wide role given a clinic, or a clinic not of the tenant."""
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


async def set_roles(
    uow: UnitOfWork, principal: TenantPrincipal, *, user_id: uuid.UUID, grants: list[GrantIn]
) -> UserRead:
    """Replace a user's role grants. Every added and removed grant must be one the caller
    may grant (GrantRefused, 403); nobody edits their own roles (403); the last active
    tenant admin keeps the role (409, under the tenant's row lock). Audited with before
    and after; the user's sessions get the new permissions on their next request."""
    tenant_id = principal.tenant_id
    if user_id == principal.user_id:
        raise GrantRefused("You cannot change your own roles")
    if not principal.has(Permission.ROLES_ASSIGN):
        raise GrantRefused("You need the permission roles:assign")
    await tenancy.lock_tenant(uow, tenant_id=tenant_id)
    user, current = await visible_user(uow, principal, user_id, lock=True)
    await validate_grants(uow, tenant_id, grants)
    current_keys = {grant_key(g.role, g.clinic_id) for g in current}
    wanted_keys = {grant_key(g.role, g.clinic_id) for g in grants}
    for role, clinic_id in sorted(wanted_keys ^ current_keys, key=str):
        check_grantable(principal, Role(role), clinic_id, creating_patient_only=False)
    repo = UserRepository(uow, tenant_id)
    for grant in current:
        if grant_key(grant.role, grant.clinic_id) not in wanted_keys:
            await repo.remove_grant(grant)
    repo.add_grants(user.id, wanted_keys - current_keys)
    await uow.flush()
    removes_admin = (Role.TENANT_ADMIN.value, None) in current_keys - wanted_keys
    if removes_admin and await repo.active_tenant_admins() == 0:
        raise LastTenantAdmin()
    if wanted_keys != current_keys:
        await audit.record_change(
            uow,
            principal.actor,
            "user.roles_changed",
            user,
            before={"grants": grants_label(current_keys)},
            after={"grants": grants_label(wanted_keys)},
        )
        DIRECTORY_CACHE.invalidate(tenant_id)
    return await read_user(uow, tenant_id, user, await repo.grants_of(user.id))
