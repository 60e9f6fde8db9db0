"""Sessions: opening one (with its first token pair), refreshing, listing and ending them."""

from __future__ import annotations

import uuid

from clinicflow.audit import service as audit
from clinicflow.audit.service import ANONYMOUS
from clinicflow.errors import Unauthenticated
from clinicflow.identity.auth.config import AuthConfig, Failure, TokenPair
from clinicflow.identity.models import AuthSession
from clinicflow.identity.policy import require_own_session
from clinicflow.identity.principal import Principal
from clinicflow.identity.repository import SessionRepository, UserRepository
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import SessionRead
from clinicflow.identity.tokens import digest, issue_access_token, new_opaque_token
from clinicflow.platform.context import client_address_var
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, page_of


async def open_session(
    uow: UnitOfWork,
    cfg: AuthConfig,
    *,
    tenant_id: uuid.UUID | None,
    subject_id: uuid.UUID,
    roles: list[str],
    user_agent: str | None,
) -> TokenPair:
    """A new session for a tenant user (or, without a tenant, a platform admin) and its first pair."""
    now = cfg.clock.now()
    session = await SessionRepository(uow).add(
        AuthSession(
            tenant_id=tenant_id,
            user_id=subject_id if tenant_id is not None else None,
            platform_admin_id=subject_id if tenant_id is None else None,
            created_at=now,
            last_used_at=now,
            expires_at=now + cfg.session_ttl,
            user_agent=(user_agent or "")[:300] or None,
            client_address=client_address_var.get(),
        )
    )
    return await issue_tokens(uow, cfg, session=session, subject_id=subject_id, roles=roles)


async def issue_tokens(
    uow: UnitOfWork, cfg: AuthConfig, *, session: AuthSession, subject_id: uuid.UUID, roles: list[str]
) -> TokenPair:
    """A fresh access token and refresh token in `session` (the refresh token stored hashed)."""
    refresh_token, refresh_hash = new_opaque_token()
    SessionRepository(uow).add_refresh_token(session.id, refresh_hash, cfg.clock.now())
    access = issue_access_token(
        cfg.keys,
        subject_id=subject_id,
        tenant_id=session.tenant_id,
        session_id=session.id,
        roles=roles,
        ttl_seconds=cfg.access_ttl_seconds,
    )
    await uow.flush()
    return TokenPair(access, refresh_token, cfg.access_ttl_seconds, session.id)


async def roles_of(uow: UnitOfWork, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[str]:
    """The names of a user's roles, sorted (for the access token's claims)."""
    grants = await UserRepository(uow, tenant_id).grants_of(user_id)
    return sorted({g.role for g in grants})


async def refresh(uow: UnitOfWork, cfg: AuthConfig, *, refresh_token: str) -> TokenPair | Failure:
    """Spend the refresh token and issue a new pair in the same session.

    The token row is locked, so two concurrent uses of one token serialise:
    the second sees it spent. A spent token presented again revokes the whole
    session (its successor dies with it) and returns Failure.TOKEN_REUSED.
    Raises Unauthenticated for unknown tokens and ended sessions.
    """
    found = await SessionRepository(uow).locked_token(digest(refresh_token))
    if found is None:
        raise Unauthenticated("The refresh token is not valid")
    token, session = found
    now = cfg.clock.now()
    if session.revoked_at is not None or session.expires_at <= now:
        raise Unauthenticated("The session has ended; log in again")
    subject_id = session.user_id or session.platform_admin_id
    assert subject_id is not None  # a check constraint: a session has exactly one subject
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
        user = await UserRepository(uow, session.tenant_id).get(subject_id)
        if user is None or not user.is_active:
            raise Unauthenticated("The session has ended; log in again")
        roles = await roles_of(uow, session.tenant_id, subject_id)
    else:
        roles = [Role.SUPER_ADMIN.value]
    token.spent_at = now
    session.last_used_at = now
    return await issue_tokens(uow, cfg, session=session, subject_id=subject_id, roles=roles)


async def logout(uow: UnitOfWork, cfg: AuthConfig, principal: Principal) -> None:
    """Revoke the caller's current session (every process refuses it at once: see `principals`)."""
    await revoke_session(uow, cfg, principal, session_id=principal.session_id, reason="logout")


async def list_sessions(
    uow: UnitOfWork, cfg: AuthConfig, principal: Principal, *, page: PageParams
) -> tuple[list[SessionRead], str | None]:
    """One page of the caller's live sessions, newest first, and the next cursor."""
    rows = await SessionRepository(uow).page_live(
        tenant_id=principal.tenant_id, subject_id=principal.subject_id, now=cfg.clock.now(), page=page
    )
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
    """Revoke one of the caller's own sessions; another's (or an unknown one) is NotFound.

    Idempotent: an already revoked session is left as it is, and audited once.
    """
    session = require_own_session(principal, await SessionRepository(uow).locked(session_id))
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
