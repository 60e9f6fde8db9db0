"""Patient self-registration."""

from __future__ import annotations

import uuid

from clinicflow.audit import service as audit
from clinicflow.audit.service import Actor, ActorType
from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.identity.auth.config import AuthConfig, TokenPair
from clinicflow.identity.auth.sessions import open_session
from clinicflow.identity.repository import UserRepository
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import RegisterRequest
from clinicflow.identity.users.accounts import create_user
from clinicflow.platform.db import UnitOfWork
from clinicflow.tenancy import service as tenancy


async def register_patient(
    uow: UnitOfWork, cfg: AuthConfig, *, data: RegisterRequest, user_agent: str | None
) -> tuple[uuid.UUID, TokenPair]:
    """Self-registration: a PATIENT of the tenant with a patient profile, logged in. Audited.

    An unknown tenant is a 422 on `tenant`; a taken email is 409 EMAIL_TAKEN.
    """
    tenant = await tenancy.get_tenant_by_slug(uow, slug=data.tenant)
    if tenant is None or tenant.status != "active":
        raise ValidationFailed(
            "No such tenant", errors=[FieldProblem(field="tenant", message="no tenant with this slug")]
        )
    user = await create_user(
        uow,
        tenant_id=tenant.id,
        email=data.email,
        full_name=data.full_name,
        password=data.password,
        roles=[Role.PATIENT],
    )
    UserRepository(uow, tenant.id).add_patient_profile(
        user.id,
        date_of_birth=data.date_of_birth,
        phone=data.phone,
        preferred_language=data.preferred_language,
    )
    await audit.record_change(
        uow,
        Actor(ActorType.USER, user.id),
        "user.registered",
        user,
        after={"email": user.email, "full_name": user.full_name, "roles": [Role.PATIENT]},
    )
    pair = await open_session(
        uow, cfg, tenant_id=tenant.id, subject_id=user.id, roles=[Role.PATIENT.value], user_agent=user_agent
    )
    return user.id, pair
