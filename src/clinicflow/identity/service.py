"""Identity use cases. Callers own the unit of work; nothing here commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.identity import errors as _errors  # noqa: F401  (registers constraint errors)
from clinicflow.identity.models import RoleGrant, User
from clinicflow.identity.passwords import MIN_PASSWORD_LENGTH, hash_password
from clinicflow.identity.roles import Role
from clinicflow.platform.db import UnitOfWork


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
