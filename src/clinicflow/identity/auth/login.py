"""Logging in with a password: tenant users and platform admins."""

from __future__ import annotations

import uuid

from clinicflow.audit import service as audit
from clinicflow.audit.service import ANONYMOUS, Actor, ActorType
from clinicflow.identity.auth.config import AuthConfig, Failure, TokenPair
from clinicflow.identity.auth.sessions import open_session, roles_of
from clinicflow.identity.models import User
from clinicflow.identity.passwords import verify_password
from clinicflow.identity.repository import PlatformAdminRepository, UserRepository
from clinicflow.identity.roles import Role
from clinicflow.platform.db import UnitOfWork
from clinicflow.tenancy import service as tenancy

# A real argon2id hash of a random password: verifying against it when the
# account does not exist costs the same as a real check, so response time
# does not reveal whether an email is registered.
DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$zQQ/7RzUzypTs5zHmtRFwQ$mms7ic3yIYi6Yk+ZRMNEMypMdEPEFQksjM9dFU2iAgk"
)


async def login(
    uow: UnitOfWork,
    cfg: AuthConfig,
    *,
    tenant_slug: str | None,
    email: str,
    password: str,
    user_agent: str | None,
) -> TokenPair | Failure:
    """Check the credentials; on success open a session. Every outcome is audited.

    Unknown tenants and emails cost one argon2id verification like a real
    check, and fail exactly like a wrong password.
    """
    if tenant_slug is None:
        return await _platform_login(uow, cfg, email=email, password=password, user_agent=user_agent)
    tenant = await tenancy.get_tenant_by_slug(uow, slug=tenant_slug)
    user = await UserRepository(uow, tenant.id).by_email(email) if tenant is not None else None
    failure: Failure | None = None
    if tenant is None or tenant.status != "active":
        failure = Failure.UNKNOWN_TENANT
    elif user is None or user.password_hash is None:
        failure = Failure.UNKNOWN_ACCOUNT
    elif not user.is_active:
        failure = Failure.INACTIVE_ACCOUNT
    stored_hash = user.password_hash if user is not None and user.password_hash else DUMMY_HASH
    password_ok = await verify_password(stored_hash, password)
    if failure is None and not password_ok:
        failure = Failure.WRONG_PASSWORD
    if failure is not None or user is None or tenant is None:
        await audit.record(
            uow,
            tenant_id=tenant.id if tenant is not None else None,
            actor=ANONYMOUS,
            action="auth.login_failed",
            subject_type="user",
            subject_id=user.id if user is not None else None,
            details={"email": email.strip().lower(), "tenant": tenant_slug, "reason": failure},
        )
        return failure or Failure.UNKNOWN_ACCOUNT
    return await user_logged_in(uow, cfg, user, user_agent=user_agent, method="password")


async def user_logged_in(
    uow: UnitOfWork, cfg: AuthConfig, user: User, *, user_agent: str | None, method: str
) -> TokenPair:
    """Open a session for a tenant user whose credential checked out, and audit the login."""
    pair = await open_session(
        uow,
        cfg,
        tenant_id=user.tenant_id,
        subject_id=user.id,
        roles=await roles_of(uow, user.tenant_id, user.id),
        user_agent=user_agent,
    )
    await _audit_login(uow, user.tenant_id, Actor(ActorType.USER, user.id), pair, {"method": method})
    return pair


async def active_user(uow: UnitOfWork, tenant_slug: str, email: str) -> User | None:
    """The active user with this email in an active tenant, or None (callers stay silent about which)."""
    tenant = await tenancy.get_tenant_by_slug(uow, slug=tenant_slug)
    if tenant is None or tenant.status != "active":
        return None
    user = await UserRepository(uow, tenant.id).by_email(email)
    return user if user is not None and user.is_active else None


async def _platform_login(
    uow: UnitOfWork, cfg: AuthConfig, *, email: str, password: str, user_agent: str | None
) -> TokenPair | Failure:
    admin = await PlatformAdminRepository(uow).by_email(email)
    ok = await verify_password(admin.password_hash if admin is not None else DUMMY_HASH, password)
    if admin is None or not admin.is_active or not ok:
        await audit.record(
            uow,
            tenant_id=None,
            actor=ANONYMOUS,
            action="auth.login_failed",
            subject_type="platform_admin",
            subject_id=admin.id if admin is not None else None,
            details={"email": email.strip().lower(), "tenant": None},
        )
        return Failure.WRONG_PASSWORD
    pair = await open_session(
        uow, cfg, tenant_id=None, subject_id=admin.id, roles=[Role.SUPER_ADMIN.value], user_agent=user_agent
    )
    await _audit_login(uow, None, Actor(ActorType.PLATFORM_ADMIN, admin.id), pair, None)
    return pair


async def _audit_login(
    uow: UnitOfWork,
    tenant_id: uuid.UUID | None,
    actor: Actor,
    pair: TokenPair,
    details: dict[str, str] | None,
) -> None:
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action="auth.login",
        subject_type="session",
        subject_id=pair.session_id,
        details=details,
    )
