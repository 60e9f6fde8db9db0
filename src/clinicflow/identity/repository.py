"""Identity queries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clinicflow.identity.models import (
    AuthSession,
    OneTimeSecret,
    PatientProfile,
    PlatformAdmin,
    RefreshToken,
    RoleGrant,
    StaffProfile,
    User,
)
from clinicflow.platform.db import TenantScopedRepository, UnitOfWork


class UserRepository(TenantScopedRepository[User]):
    model = User

    async def by_email(self, email: str) -> User | None:
        stmt = self.select().where(func.lower(User.email) == email.strip().lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def grants_of(self, user_id: uuid.UUID) -> list[RoleGrant]:
        stmt = select(RoleGrant).where(RoleGrant.tenant_id == self.tenant_id, RoleGrant.user_id == user_id)
        return list((await self.session.execute(stmt.order_by(RoleGrant.id))).scalars())

    async def grants_of_many(self, user_ids: list[uuid.UUID]) -> list[Any]:
        if not user_ids:
            return []
        stmt = select(RoleGrant.user_id, RoleGrant.role, RoleGrant.clinic_id).where(
            RoleGrant.tenant_id == self.tenant_id, RoleGrant.user_id.in_(user_ids)
        )
        return list((await self.uow.execute(stmt.order_by(RoleGrant.id))).all())

    async def staff_profile(self, user_id: uuid.UUID) -> StaffProfile | None:
        stmt = select(StaffProfile).where(
            StaffProfile.tenant_id == self.tenant_id, StaffProfile.user_id == user_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def patient_profile(self, user_id: uuid.UUID) -> PatientProfile | None:
        stmt = select(PatientProfile).where(
            PatientProfile.tenant_id == self.tenant_id, PatientProfile.user_id == user_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def active_tenant_admins(self) -> int:
        stmt = (
            select(func.count(func.distinct(RoleGrant.user_id)))
            .join(User, (User.tenant_id == RoleGrant.tenant_id) & (User.id == RoleGrant.user_id))
            .where(
                RoleGrant.tenant_id == self.tenant_id,
                RoleGrant.role == "TENANT_ADMIN",
                User.is_active.is_(True),
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())


class SessionRepository:
    """Sessions span tenant users and platform admins, so each query names its subject."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    @property
    def session(self) -> AsyncSession:
        """The unit of work's ORM session, made on first use: Core-only reads never need one."""
        return self.uow.session

    async def token_for_update(self, token_hash: bytes) -> tuple[RefreshToken, AuthSession] | None:
        stmt = (
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update(of=RefreshToken)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    def live_of_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> Select[Any]:
        return select(AuthSession).where(
            AuthSession.tenant_id == tenant_id,
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )

    async def revoke_all_of_user(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        reason: str,
        now: datetime,
        keep: uuid.UUID | None = None,
    ) -> int:
        stmt = (
            update(AuthSession)
            .where(
                AuthSession.tenant_id == tenant_id,
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_reason=reason)
        )
        if keep is not None:
            stmt = stmt.where(AuthSession.id != keep)
        result: Any = await self.session.execute(stmt)
        return int(result.rowcount or 0)

    async def principal_row(
        self, *, session_id: uuid.UUID, subject_id: uuid.UUID, tenant_id: uuid.UUID | None, now: datetime
    ) -> tuple[str, list[tuple[str, uuid.UUID | None]]] | None:
        """(email, grants) of a live session's active subject, or None."""
        live = (
            (AuthSession.id == session_id) & AuthSession.revoked_at.is_(None) & (AuthSession.expires_at > now)
        )
        if tenant_id is None:
            platform_stmt = (
                select(PlatformAdmin.email)
                .join(AuthSession, AuthSession.platform_admin_id == PlatformAdmin.id)
                .where(live, PlatformAdmin.id == subject_id, PlatformAdmin.is_active.is_(True))
            )
            email = (await self.uow.execute(platform_stmt)).scalar_one_or_none()
            return (email, [("SUPER_ADMIN", None)]) if email is not None else None
        grants = (
            select(
                func.coalesce(
                    func.json_agg(func.json_build_array(RoleGrant.role, RoleGrant.clinic_id)),
                    literal_column("'[]'::json"),
                )
            )
            .where(RoleGrant.tenant_id == tenant_id, RoleGrant.user_id == subject_id)
            .scalar_subquery()
        )
        stmt = (
            select(User.email.label("email"), grants.label("grants"))
            .join(AuthSession, (AuthSession.tenant_id == User.tenant_id) & (AuthSession.user_id == User.id))
            .where(live, User.tenant_id == tenant_id, User.id == subject_id, User.is_active.is_(True))
        )
        row = (await self.uow.execute(stmt)).mappings().first()
        if row is None:
            return None
        return row["email"], [(role, uuid.UUID(clinic) if clinic else None) for role, clinic in row["grants"]]


class SecretRepository(TenantScopedRepository[OneTimeSecret]):
    model = OneTimeSecret

    async def live_otp_for_update(self, user_id: uuid.UUID, now: datetime) -> OneTimeSecret | None:
        stmt = (
            self.select()
            .where(
                OneTimeSecret.user_id == user_id,
                OneTimeSecret.purpose == "otp",
                OneTimeSecret.consumed_at.is_(None),
                OneTimeSecret.expires_at > now,
            )
            .order_by(OneTimeSecret.id.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def retire_otps(self, user_id: uuid.UUID, now: datetime) -> None:
        """A new code replaces the previous ones."""
        await self.session.execute(
            update(OneTimeSecret)
            .where(
                OneTimeSecret.tenant_id == self.tenant_id,
                OneTimeSecret.user_id == user_id,
                OneTimeSecret.purpose == "otp",
                OneTimeSecret.consumed_at.is_(None),
            )
            .values(consumed_at=now)
        )


async def reset_secret_for_update(uow: UnitOfWork, secret_hash: bytes) -> OneTimeSecret | None:
    """A password-reset secret by its hash, in any tenant (the token is the credential)."""
    stmt = (
        select(OneTimeSecret)
        .where(OneTimeSecret.secret_hash == secret_hash, OneTimeSecret.purpose == "password_reset")
        .with_for_update()
    )
    return (await uow.session.execute(stmt)).scalar_one_or_none()


async def platform_admin_by_email(uow: UnitOfWork, email: str) -> PlatformAdmin | None:
    stmt = select(PlatformAdmin).where(func.lower(PlatformAdmin.email) == email.strip().lower())
    return (await uow.session.execute(stmt)).scalar_one_or_none()
