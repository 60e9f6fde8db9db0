"""Passwords: a forgotten one (a single-use reset link) and a changed one."""

from __future__ import annotations

from datetime import timedelta

from clinicflow.audit import service as audit
from clinicflow.audit.service import ANONYMOUS, Actor, ActorType
from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.identity.auth.config import AuthConfig
from clinicflow.identity.auth.login import active_user
from clinicflow.identity.errors import ResetTokenInvalid
from clinicflow.identity.models import OneTimeSecret
from clinicflow.identity.passwords import check_password_strength, hash_password, verify_password
from clinicflow.identity.principal import Principal
from clinicflow.identity.repository import (
    SecretRepository,
    SessionRepository,
    UserRepository,
    locked_reset_secret,
    user_for_reset,
)
from clinicflow.identity.tokens import digest, new_opaque_token
from clinicflow.messaging import service as messaging
from clinicflow.messaging.schemas import Channel
from clinicflow.platform.db import UnitOfWork

RESET_TTL = timedelta(minutes=30)


async def forgot_password(uow: UnitOfWork, cfg: AuthConfig, *, tenant_slug: str, email: str) -> None:
    """Send a single-use reset link (30 minutes) to an active account. Silent for unknown ones."""
    user = await active_user(uow, tenant_slug, email)
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
    check_password_strength(new_password, field="new_password")
    secret = await locked_reset_secret(uow, digest(token))
    now = cfg.clock.now()
    if secret is None or secret.consumed_at is not None or secret.expires_at <= now:
        raise ResetTokenInvalid(errors=[FieldProblem(field="token", message="invalid, used or expired")])
    user = await user_for_reset(uow, secret.user_id)
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
    member = principal.in_tenant()
    if member is None:
        raise ValidationFailed("Platform admins change passwords with the CLI")
    check_password_strength(new_password, field="new_password")
    user = await UserRepository(uow, member.tenant_id).get(member.user_id, for_update=True)
    assert user is not None  # the principal was loaded from this user's live session
    if user.password_hash is None or not await verify_password(user.password_hash, current_password):
        raise ValidationFailed(
            "The current password is not correct",
            errors=[FieldProblem(field="current_password", message="not correct")],
        )
    user.password_hash = await hash_password(new_password)
    await SessionRepository(uow).revoke_all_of_user(
        member.tenant_id, user.id, reason="password_changed", now=cfg.clock.now(), keep=member.session_id
    )
    await audit.record(
        uow,
        tenant_id=member.tenant_id,
        actor=member.actor,
        action="auth.password_changed",
        subject_type="user",
        subject_id=user.id,
    )
