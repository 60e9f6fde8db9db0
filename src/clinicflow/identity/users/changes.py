"""Changing a user: name and profiles; and recording refused attempts."""

from __future__ import annotations

import uuid
from typing import Any

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.identity import policy
from clinicflow.identity.directory import DIRECTORY_CACHE
from clinicflow.identity.models import User
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import Principal, TenantPrincipal
from clinicflow.identity.repository import UserRepository
from clinicflow.identity.schemas import UserRead, UserUpdate
from clinicflow.identity.users.reading import read_user, visible_user
from clinicflow.platform.db import UnitOfWork


async def update_user(
    uow: UnitOfWork, principal: TenantPrincipal, *, user_id: uuid.UUID, data: UserUpdate
) -> UserRead:
    """Change a user's name and profile. Yourself always; others with `users:update` for a
    clinic they work at (tenant-wide: anyone). Only changed fields are audited."""
    tenant_id = principal.tenant_id
    user, grants = await visible_user(uow, principal, user_id, lock=True)
    if user.id != principal.user_id:
        policy.require_over(principal, grants, Permission.USERS_UPDATE)
    before: dict[str, Any] = {"full_name": user.full_name}
    after: dict[str, Any] = {}
    if data.full_name is not None:
        after["full_name"] = data.full_name
        user.full_name = data.full_name
    await _change_profiles(uow, tenant_id, user, data, before, after)
    old, new = audit.changed_fields(before, after)
    if new:
        await uow.flush()
        await audit.record_change(uow, principal.actor, "user.updated", user, before=old, after=new)
        DIRECTORY_CACHE.invalidate(tenant_id)
    return await read_user(uow, tenant_id, user, grants)


async def _change_profiles(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    user: User,
    data: UserUpdate,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """Apply the staff and patient profile fields of `data`, noting old and new values."""
    repo = UserRepository(uow, tenant_id)
    if data.profile is not None:
        staff = await repo.staff_profile(user.id) or repo.add_staff_profile(user.id)
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
