"""Authentication use cases: login, tokens, sessions, registration, OTP and passwords.

Callers own the unit of work; nothing here commits. Use cases that fail
but must leave a trail (a failed login, a reused refresh token, a wrong OTP)
return a failure value instead of raising, so the caller commits the audit
event (and the attempt counter) and then answers 401.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from sqlalchemy import select

from clinicflow.audit import service as audit
from clinicflow.audit.service import ANONYMOUS, Actor, ActorType
from clinicflow.errors import FieldProblem, NotFound, Unauthenticated, ValidationFailed
from clinicflow.identity import service as users
from clinicflow.identity.errors import ResetTokenInvalid
from clinicflow.identity.models import AuthSession, OneTimeSecret, PatientProfile, RefreshToken, User
from clinicflow.identity.passwords import hash_password, verify_password
from clinicflow.identity.principal import Grant, Principal, principal_of
from clinicflow.identity.repository import (
    SecretRepository,
    SessionRepository,
    UserRepository,
    platform_admin_by_email,
    reset_secret_for_update,
)
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import RegisterRequest, SessionRead
from clinicflow.identity.tokens import (
    AccessClaims,
    TokenKeys,
    digest,
    issue_access_token,
    new_opaque_token,
    new_otp_code,
)
from clinicflow.messaging import service as messaging
from clinicflow.messaging.schemas import Channel
from clinicflow.platform.clock import Clock
from clinicflow.platform.context import client_address_var
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.ids import uuid7
from clinicflow.platform.pagination import PageParams, page_of, paginate
from clinicflow.tenancy import service as tenancy

OTP_TTL = timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5
RESET_TTL = timedelta(minutes=30)

# A real argon2id hash of a random password: verifying against it when the
# account does not exist costs the same as a real check, so response time
# does not reveal whether an email is registered.
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$zQQ/7RzUzypTs5zHmtRFwQ$mms7ic3yIYi6Yk+ZRMNEMypMdEPEFQksjM9dFU2iAgk"
)


@dataclass(frozen=True)
class AuthConfig:
    keys: TokenKeys
    clock: Clock
    access_ttl_seconds: int
    session_ttl: timedelta
    public_url: str


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID


class Failure(Enum):
    """Why a credential was refused. Never shown to the client: it always sees one 401."""

    UNKNOWN_TENANT = "unknown_tenant"
    UNKNOWN_ACCOUNT = "unknown_account"
    INACTIVE_ACCOUNT = "inactive_account"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 (a reason, not a secret)
    NO_CODE = "no_live_code"
    CODE_EXHAUSTED = "attempts_exhausted"
    WRONG_CODE = "wrong_code"
    TOKEN_REUSED = "refresh_token_reused"  # noqa: S105


async def _open_session(
    uow: UnitOfWork,
    cfg: AuthConfig,
    *,
    tenant_id: uuid.UUID | None,
    subject_id: uuid.UUID,
    roles: list[str],
    user_agent: str | None,
) -> TokenPair:
    now = cfg.clock.now()
    session = AuthSession(
        tenant_id=tenant_id,
        user_id=subject_id if tenant_id is not None else None,
        platform_admin_id=subject_id if tenant_id is None else None,
        created_at=now,
        last_used_at=now,
        expires_at=now + cfg.session_ttl,
        user_agent=(user_agent or "")[:300] or None,
        client_address=client_address_var.get(),
    )
    uow.session.add(session)
    await uow.flush()
    return await _issue(uow, cfg, session=session, subject_id=subject_id, roles=roles)


async def _issue(
    uow: UnitOfWork, cfg: AuthConfig, *, session: AuthSession, subject_id: uuid.UUID, roles: list[str]
) -> TokenPair:
    refresh, refresh_hash = new_opaque_token()
    uow.session.add(RefreshToken(session_id=session.id, token_hash=refresh_hash, created_at=cfg.clock.now()))
    access = issue_access_token(
        cfg.keys,
        subject_id=subject_id,
        tenant_id=session.tenant_id,
        session_id=session.id,
        roles=roles,
        ttl_seconds=cfg.access_ttl_seconds,
    )
    await uow.flush()
    return TokenPair(access, refresh, cfg.access_ttl_seconds, session.id)


async def _user_logged_in(
    uow: UnitOfWork, cfg: AuthConfig, user: User, *, user_agent: str | None, method: str
) -> TokenPair:
    """Open a session for a tenant user whose credential checked out, and audit the login."""
    pair = await _open_session(
        uow,
        cfg,
        tenant_id=user.tenant_id,
        subject_id=user.id,
        roles=await _roles_of(uow, user.tenant_id, user.id),
        user_agent=user_agent,
    )
    await audit.record(
        uow,
        tenant_id=user.tenant_id,
        actor=Actor(ActorType.USER, user.id),
        action="auth.login",
        subject_type="session",
        subject_id=pair.session_id,
        details={"method": method},
    )
    return pair


async def _roles_of(uow: UnitOfWork, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[str]:
    grants = await UserRepository(uow, tenant_id).grants_of(user_id)
    return sorted({g.role for g in grants})


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
    stored_hash = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
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
    return await _user_logged_in(uow, cfg, user, user_agent=user_agent, method="password")


async def _platform_login(
    uow: UnitOfWork, cfg: AuthConfig, *, email: str, password: str, user_agent: str | None
) -> TokenPair | Failure:
    admin = await platform_admin_by_email(uow, email)
    ok = await verify_password(admin.password_hash if admin is not None else _DUMMY_HASH, password)
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
    pair = await _open_session(
        uow, cfg, tenant_id=None, subject_id=admin.id, roles=[Role.SUPER_ADMIN.value], user_agent=user_agent
    )
    await audit.record(
        uow,
        tenant_id=None,
        actor=Actor(ActorType.PLATFORM_ADMIN, admin.id),
        action="auth.login",
        subject_type="session",
        subject_id=pair.session_id,
    )
    return pair


async def refresh(uow: UnitOfWork, cfg: AuthConfig, *, refresh_token: str) -> TokenPair | Failure:
    """Spend the refresh token and issue a new pair in the same session.

    The token row is locked, so two concurrent uses of one token serialise:
    the second sees it spent. A spent token presented again revokes the whole
    session (its successor dies with it) and returns Failure.TOKEN_REUSED.
    Raises Unauthenticated for unknown tokens and ended sessions.
    """
    sessions = SessionRepository(uow)
    found = await sessions.token_for_update(digest(refresh_token))
    if found is None:
        raise Unauthenticated("The refresh token is not valid")
    token, session = found
    now = cfg.clock.now()
    if session.revoked_at is not None or session.expires_at <= now:
        raise Unauthenticated("The session has ended; log in again")
    subject_id = session.user_id or session.platform_admin_id
    assert subject_id is not None
    if token.spent_at is not None:
        session.revoked_at = now
        session.revoked_reason = Failure.TOKEN_REUSED.value
        await audit.record(
            uow,
            tenant_id=session.tenant_id,
            actor=ANONYMOUS,
            action="auth.refresh_token_reused",
            subject_type="session",
            subject_id=session.id,
            details={"user_id": subject_id},
        )
        return Failure.TOKEN_REUSED
    if session.tenant_id is not None:
        user = await uow.session.get(User, subject_id)
        if user is None or not user.is_active:
            raise Unauthenticated("The session has ended; log in again")
        roles = await _roles_of(uow, session.tenant_id, subject_id)
    else:
        roles = [Role.SUPER_ADMIN.value]
    token.spent_at = now
    session.last_used_at = now
    return await _issue(uow, cfg, session=session, subject_id=subject_id, roles=roles)


async def load_principal(uow: UnitOfWork, cfg: AuthConfig, claims: AccessClaims) -> Principal:
    """The principal of a verified access token, if its session is live and its user active.

    Checked on every request: revoking a session or deactivating a user takes
    effect at once, not when the access token expires.
    """
    row = await SessionRepository(uow).principal_row(
        session_id=claims.session_id,
        subject_id=claims.subject_id,
        tenant_id=claims.tenant_id,
        now=cfg.clock.now(),
    )
    if row is None:
        raise Unauthenticated("The session has ended; log in again")
    email, grants = row
    return principal_of(
        subject_id=claims.subject_id,
        tenant_id=claims.tenant_id,
        session_id=claims.session_id,
        grants=tuple(Grant(Role(role), clinic) for role, clinic in grants),
        email=email,
    )


async def logout(uow: UnitOfWork, cfg: AuthConfig, principal: Principal) -> None:
    """Revoke the caller's current session."""
    await revoke_session(uow, cfg, principal, session_id=principal.session_id, reason="logout")


async def list_sessions(
    uow: UnitOfWork, cfg: AuthConfig, principal: Principal, *, page: PageParams
) -> tuple[list[SessionRead], str | None]:
    """One page of the caller's live sessions, newest first, and the next cursor."""
    if principal.tenant_id is None:
        stmt = select(AuthSession).where(
            AuthSession.platform_admin_id == principal.subject_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > cfg.clock.now(),
        )
    else:
        stmt = SessionRepository(uow).live_of_user(principal.tenant_id, principal.user_id, cfg.clock.now())
    rows = (await uow.session.execute(paginate(stmt, AuthSession.id, page, newest_first=True))).scalars()
    found = [
        SessionRead(
            id=s.id,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            expires_at=s.expires_at,
            user_agent=s.user_agent,
            client_address=s.client_address,
            current=s.id == principal.session_id,
        )
        for s in rows
    ]
    return page_of(found, page)


async def revoke_session(
    uow: UnitOfWork, cfg: AuthConfig, principal: Principal, *, session_id: uuid.UUID, reason: str = "revoked"
) -> None:
    """Revoke one of the caller's own sessions; another's (or an unknown one) is NotFound."""
    session = await uow.session.get(AuthSession, session_id, with_for_update=True)
    own = session is not None and (
        session.platform_admin_id == principal.subject_id
        if principal.tenant_id is None
        else (session.tenant_id == principal.tenant_id and session.user_id == principal.user_id)
    )
    if session is None or not own:
        raise NotFound("Session not found")
    if session.revoked_at is None:
        session.revoked_at = cfg.clock.now()
        session.revoked_reason = reason
        await audit.record(
            uow,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            action="auth.session_revoked",
            subject_type="session",
            subject_id=session.id,
            details={"reason": reason},
        )


async def register_patient(
    uow: UnitOfWork, cfg: AuthConfig, *, data: RegisterRequest, user_agent: str | None
) -> tuple[uuid.UUID, TokenPair]:
    """Self-registration: a PATIENT of the tenant with a patient profile, logged in.

    An unknown tenant is a 422 on `tenant`; a taken email is 409 EMAIL_TAKEN.
    """
    tenant = await tenancy.get_tenant_by_slug(uow, slug=data.tenant)
    if tenant is None or tenant.status != "active":
        raise ValidationFailed(
            "No such tenant", errors=[FieldProblem(field="tenant", message="no tenant with this slug")]
        )
    user = await users.create_user(
        uow,
        tenant_id=tenant.id,
        email=data.email,
        full_name=data.full_name,
        password=data.password,
        roles=[Role.PATIENT],
    )
    uow.session.add(
        PatientProfile(
            tenant_id=tenant.id,
            user_id=user.id,
            date_of_birth=data.date_of_birth,
            phone=data.phone,
            preferred_language=data.preferred_language,
        )
    )
    await audit.record(
        uow,
        tenant_id=tenant.id,
        actor=Actor(ActorType.USER, user.id),
        action="user.registered",
        subject_type="user",
        subject_id=user.id,
        after={"email": user.email, "full_name": user.full_name, "roles": [Role.PATIENT]},
    )
    pair = await _open_session(
        uow, cfg, tenant_id=tenant.id, subject_id=user.id, roles=[Role.PATIENT.value], user_agent=user_agent
    )
    return user.id, pair


async def _active_user(uow: UnitOfWork, tenant_slug: str, email: str) -> User | None:
    tenant = await tenancy.get_tenant_by_slug(uow, slug=tenant_slug)
    if tenant is None or tenant.status != "active":
        return None
    user = await UserRepository(uow, tenant.id).by_email(email)
    return user if user is not None and user.is_active else None


async def request_otp(uow: UnitOfWork, cfg: AuthConfig, *, tenant_slug: str, email: str) -> None:
    """Send a 6-digit code to an active account (by email). Says nothing about unknown accounts.

    A new code retires the previous ones; it lives 5 minutes and allows 5 attempts.
    """
    user = await _active_user(uow, tenant_slug, email)
    if user is None:
        return
    now = cfg.clock.now()
    secrets = SecretRepository(uow, user.tenant_id)
    await secrets.retire_otps(user.id, now)
    code = new_otp_code()
    secret_id = uuid7()
    secrets.add(
        OneTimeSecret(
            id=secret_id,
            tenant_id=user.tenant_id,
            user_id=user.id,
            purpose="otp",
            secret_hash=cfg.keys.otp_digest(secret_id, code),
            created_at=now,
            expires_at=now + OTP_TTL,
        )
    )
    await messaging.queue_message(
        uow,
        tenant_id=user.tenant_id,
        channel=Channel.EMAIL,
        recipient=user.email,
        template="otp_code",
        payload={"code": code, "expires_in_minutes": int(OTP_TTL.total_seconds() // 60)},
        user_id=user.id,
    )
    await audit.record(
        uow,
        tenant_id=user.tenant_id,
        actor=ANONYMOUS,
        action="auth.otp_requested",
        subject_type="user",
        subject_id=user.id,
    )


async def verify_otp(
    uow: UnitOfWork, cfg: AuthConfig, *, tenant_slug: str, email: str, code: str, user_agent: str | None
) -> TokenPair | Failure:
    """Check a code; on success consume it and open a session. Wrong codes count attempts."""
    user = await _active_user(uow, tenant_slug, email)
    if user is None:
        return Failure.UNKNOWN_ACCOUNT
    now = cfg.clock.now()
    secret = await SecretRepository(uow, user.tenant_id).live_otp_for_update(user.id, now)
    failure: Failure | None = None
    if secret is None:
        failure = Failure.NO_CODE
    elif secret.attempts >= OTP_MAX_ATTEMPTS:
        failure = Failure.CODE_EXHAUSTED
    elif not hmac.compare_digest(secret.secret_hash, cfg.keys.otp_digest(secret.id, code)):
        secret.attempts += 1
        failure = Failure.WRONG_CODE
    if failure is not None or secret is None:
        await audit.record(
            uow,
            tenant_id=user.tenant_id,
            actor=ANONYMOUS,
            action="auth.otp_failed",
            subject_type="user",
            subject_id=user.id,
            details={"reason": failure},
        )
        return failure or Failure.NO_CODE
    secret.consumed_at = now
    return await _user_logged_in(uow, cfg, user, user_agent=user_agent, method="otp")


async def forgot_password(uow: UnitOfWork, cfg: AuthConfig, *, tenant_slug: str, email: str) -> None:
    """Send a single-use reset link (30 minutes) to an active account. Silent for unknown ones."""
    user = await _active_user(uow, tenant_slug, email)
    if user is None:
        return
    now = cfg.clock.now()
    token, token_hash = new_opaque_token()
    SecretRepository(uow, user.tenant_id).add(
        OneTimeSecret(
            tenant_id=user.tenant_id,
            user_id=user.id,
            purpose="password_reset",
            secret_hash=token_hash,
            created_at=now,
            expires_at=now + RESET_TTL,
        )
    )
    await messaging.queue_message(
        uow,
        tenant_id=user.tenant_id,
        channel=Channel.EMAIL,
        recipient=user.email,
        template="password_reset",
        payload={
            "reset_url": f"{cfg.public_url.rstrip('/')}/reset-password?token={token}",
            "token": token,
            "expires_in_minutes": int(RESET_TTL.total_seconds() // 60),
        },
        user_id=user.id,
    )
    await audit.record(
        uow,
        tenant_id=user.tenant_id,
        actor=ANONYMOUS,
        action="auth.password_reset_requested",
        subject_type="user",
        subject_id=user.id,
    )


async def reset_password(uow: UnitOfWork, cfg: AuthConfig, *, token: str, new_password: str) -> None:
    """Set a new password with a reset token: single use, expiring; every session of the user ends."""
    users.check_password_strength(new_password, field="new_password")
    secret = await reset_secret_for_update(uow, digest(token))
    now = cfg.clock.now()
    if secret is None or secret.consumed_at is not None or secret.expires_at <= now:
        raise ResetTokenInvalid(errors=[FieldProblem(field="token", message="invalid, used or expired")])
    user = await uow.session.get(User, secret.user_id)
    if user is None or not user.is_active:
        raise ResetTokenInvalid(errors=[FieldProblem(field="token", message="invalid, used or expired")])
    secret.consumed_at = now
    user.password_hash = await hash_password(new_password)
    await SessionRepository(uow).revoke_all_of_user(user.tenant_id, user.id, reason="password_reset", now=now)
    await audit.record(
        uow,
        tenant_id=user.tenant_id,
        actor=Actor(ActorType.USER, user.id),
        action="auth.password_reset",
        subject_type="user",
        subject_id=user.id,
    )


async def change_password(
    uow: UnitOfWork, cfg: AuthConfig, principal: Principal, *, current_password: str, new_password: str
) -> None:
    """Change the caller's password; every other session of theirs ends."""
    if principal.tenant_id is None:
        raise ValidationFailed("Platform admins change passwords with the CLI")
    users.check_password_strength(new_password, field="new_password")
    user = await uow.session.get(User, principal.user_id, with_for_update=True)
    assert user is not None
    if user.password_hash is None or not await verify_password(user.password_hash, current_password):
        raise ValidationFailed(
            "The current password is not correct",
            errors=[FieldProblem(field="current_password", message="not correct")],
        )
    user.password_hash = await hash_password(new_password)
    await SessionRepository(uow).revoke_all_of_user(
        principal.tenant_id,
        user.id,
        reason="password_changed",
        now=cfg.clock.now(),
        keep=principal.session_id,
    )
    await audit.record(
        uow,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="auth.password_changed",
        subject_type="user",
        subject_id=user.id,
    )
