"""Logging in with a one-time code sent by email."""

from __future__ import annotations

import hmac
from datetime import timedelta

from clinicflow.audit import service as audit
from clinicflow.audit.service import ANONYMOUS
from clinicflow.identity.auth.config import AuthConfig, Failure, TokenPair
from clinicflow.identity.auth.login import active_user, user_logged_in
from clinicflow.identity.models import OneTimeSecret
from clinicflow.identity.repository import SecretRepository
from clinicflow.identity.tokens import new_otp_code
from clinicflow.messaging import service as messaging
from clinicflow.messaging.schemas import Channel
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.ids import uuid7

OTP_TTL = timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5


async def request_otp(uow: UnitOfWork, cfg: AuthConfig, *, tenant_slug: str, email: str) -> None:
    """Send a 6-digit code to an active account (by email). Says nothing about unknown accounts.

    A new code retires the previous ones; it lives 5 minutes and allows 5 attempts.
    """
    user = await active_user(uow, tenant_slug, email)
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
    """Check a code; on success consume it and open a session. Wrong codes count attempts
    (the secret row is locked, so concurrent guesses count one by one)."""
    user = await active_user(uow, tenant_slug, email)
    if user is None:
        return Failure.UNKNOWN_ACCOUNT
    now = cfg.clock.now()
    secret = await SecretRepository(uow, user.tenant_id).locked_live_otp(user.id, now)
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
    return await user_logged_in(uow, cfg, user, user_agent=user_agent, method="otp")
