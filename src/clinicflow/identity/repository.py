"""Every query of identity: users and their grants and profiles, sessions, one-time secrets,
platform admins, the directory and the principal of a request.

Tenant-owned tables are read through `TenantScopedRepository` subclasses, so a
statement starts from the caller's tenant. Sessions span tenants and platform
admins, so their queries name the subject instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from clinicflow.identity.models import (
    AuthSession,
    GuardianLink,
    OneTimeSecret,
    PatientProfile,
    PlatformAdmin,
    RefreshToken,
    RoleGrant,
    StaffProfile,
    User,
)
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import DependantRead, GuardianRead
from clinicflow.platform.db import TenantScopedRepository, UnitOfWork
from clinicflow.platform.pagination import KeysetPages, PageParams, paginate

GrantKey = tuple[str, uuid.UUID | None]  # (role, clinic id or None for tenant-wide)


class UserRepository(TenantScopedRepository[User]):
    """A tenant's users, their role grants and profiles."""

    model = User

    async def by_email(self, email: str) -> User | None:
        stmt = self.select().where(func.lower(User.email) == email.strip().lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def grants_of(self, user_id: uuid.UUID) -> list[RoleGrant]:
        stmt = select(RoleGrant).where(RoleGrant.tenant_id == self.tenant_id, RoleGrant.user_id == user_id)
        return list((await self.session.execute(stmt.order_by(RoleGrant.id))).scalars())

    async def grants_of_many(self, user_ids: list[uuid.UUID]) -> list[Any]:
        """(user_id, role, clinic_id) rows of these users, oldest grant first."""
        if not user_ids:
            return []
        stmt = select(RoleGrant.user_id, RoleGrant.role, RoleGrant.clinic_id).where(
            RoleGrant.tenant_id == self.tenant_id, RoleGrant.user_id.in_(user_ids)
        )
        return list((await self.uow.execute(stmt.order_by(RoleGrant.id))).all())

    def add_grants(self, user_id: uuid.UUID, keys: Iterable[GrantKey]) -> None:
        for role, clinic_id in keys:
            self.session.add(
                RoleGrant(tenant_id=self.tenant_id, user_id=user_id, role=role, clinic_id=clinic_id)
            )

    async def remove_grant(self, grant: RoleGrant) -> None:
        await self.session.delete(grant)

    def add_staff_profile(self, user_id: uuid.UUID, **fields: Any) -> StaffProfile:
        profile = StaffProfile(tenant_id=self.tenant_id, user_id=user_id, **fields)
        self.session.add(profile)
        return profile

    def add_patient_profile(self, user_id: uuid.UUID, **fields: Any) -> PatientProfile:
        profile = PatientProfile(tenant_id=self.tenant_id, user_id=user_id, **fields)
        self.session.add(profile)
        return profile

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
                RoleGrant.role == Role.TENANT_ADMIN.value,
                User.is_active.is_(True),
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def page_visible(
        self,
        *,
        clinics: frozenset[uuid.UUID] | None,
        also: uuid.UUID,
        role: Role | None,
        page: PageParams,
    ) -> Sequence[Any]:
        """One page (plus one row) of (id, email, full_name, is_active) of the users visible
        from `clinics` (None: every user; else staff of those clinics and every patient),
        plus the user `also`, optionally only holders of `role`."""
        table: Any = User.__table__
        stmt = select(table.c.id, table.c.email, table.c.full_name, table.c.is_active).where(
            table.c.tenant_id == self.tenant_id
        )
        if clinics is not None:
            stmt = stmt.where(or_(self._visible_from(clinics), User.id == also))
        if role is not None:
            stmt = stmt.where(User.id.in_(self._holders(RoleGrant.role == role.value)))
        return (await self.uow.execute(paginate(stmt, User.id, page))).mappings().all()

    def _holders(self, condition: Any) -> Select[Any]:
        return select(RoleGrant.user_id).where(RoleGrant.tenant_id == self.tenant_id, condition)

    def _visible_from(self, clinics: frozenset[uuid.UUID]) -> Any:
        return or_(
            User.id.in_(self._holders(RoleGrant.clinic_id.in_(clinics))),
            User.id.in_(self._holders(RoleGrant.role == Role.PATIENT.value)),
        )


class PlatformAdminRepository:
    """Platform admins (no tenant)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def by_email(self, email: str) -> PlatformAdmin | None:
        stmt = select(PlatformAdmin).where(func.lower(PlatformAdmin.email) == email.strip().lower())
        return (await self.uow.session.execute(stmt)).scalar_one_or_none()

    async def get(self, admin_id: uuid.UUID) -> PlatformAdmin | None:
        return await self.uow.session.get(PlatformAdmin, admin_id)

    def add(self, admin: PlatformAdmin) -> PlatformAdmin:
        self.uow.session.add(admin)
        return admin


@dataclass(frozen=True, slots=True)
class PrincipalRow:
    """What a live session of an active subject says about its principal."""

    email: str
    grants: list[tuple[str, uuid.UUID | None]]
    session_expires_at: datetime


# The principal of every authenticated request that misses the cache: plain SQL, built once.
_TENANT_PRINCIPAL = text(
    """
    SELECT u.email, s.expires_at, coalesce(
        (SELECT json_agg(json_build_array(g.role, g.clinic_id) ORDER BY g.id) FROM role_grants g
          WHERE g.tenant_id = u.tenant_id AND g.user_id = u.id), '[]'::json) AS grants
      FROM auth_sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
     WHERE s.id = :session_id AND s.revoked_at IS NULL AND s.expires_at > :now
       AND u.tenant_id = :tenant_id AND u.id = :subject_id AND u.is_active
    """
)
_PLATFORM_PRINCIPAL = text(
    """
    SELECT a.email, s.expires_at, '[["SUPER_ADMIN", null]]'::json AS grants
      FROM auth_sessions s JOIN platform_admins a ON a.id = s.platform_admin_id
     WHERE s.id = :session_id AND s.revoked_at IS NULL AND s.expires_at > :now
       AND a.id = :subject_id AND a.is_active
    """
)


_BARRIER = text("SELECT pg_notify('principal_changed', :payload)")


class SessionRepository:
    """Sessions span tenant users and platform admins, so each query names its subject."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    @property
    def session(self) -> AsyncSession:
        """The unit of work's ORM session, made on first use: Core-only reads never need one."""
        return self.uow.session

    async def add(self, auth_session: AuthSession) -> AuthSession:
        self.session.add(auth_session)
        await self.uow.flush()
        return auth_session

    def add_refresh_token(self, session_id: uuid.UUID, token_hash: bytes, now: datetime) -> None:
        self.session.add(RefreshToken(session_id=session_id, token_hash=token_hash, created_at=now))

    async def locked(self, session_id: uuid.UUID) -> AuthSession | None:
        return await self.session.get(AuthSession, session_id, with_for_update=True)

    async def locked_token(self, token_hash: bytes) -> tuple[RefreshToken, AuthSession] | None:
        stmt = (
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update(of=RefreshToken)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def page_live(
        self, *, tenant_id: uuid.UUID | None, subject_id: uuid.UUID, now: datetime, page: PageParams
    ) -> list[AuthSession]:
        """One page (plus one row) of the subject's live sessions, newest first."""
        owner = (
            AuthSession.platform_admin_id == subject_id
            if tenant_id is None
            else (AuthSession.tenant_id == tenant_id) & (AuthSession.user_id == subject_id)
        )
        stmt = select(AuthSession).where(
            owner, AuthSession.revoked_at.is_(None), AuthSession.expires_at > now
        )
        rows = await self.session.execute(paginate(stmt, AuthSession.id, page, newest_first=True))
        return list(rows.scalars())

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

    async def announce_barrier(self) -> str:
        """NOTIFY a barrier (`b:<token>`) on the principals channel, last in this transaction."""
        barrier = f"b:{uuid.uuid4()}"
        await self.uow.execute(_BARRIER.bindparams(payload=barrier))
        return barrier

    async def principal_row(
        self, *, session_id: uuid.UUID, subject_id: uuid.UUID, tenant_id: uuid.UUID | None, now: datetime
    ) -> PrincipalRow | None:
        """Email, grants and session expiry of a live session's active subject, or None. One round trip."""
        values: dict[str, Any] = {"session_id": session_id, "subject_id": subject_id, "now": now}
        if tenant_id is None:
            statement = _PLATFORM_PRINCIPAL.bindparams(**values)
        else:
            statement = _TENANT_PRINCIPAL.bindparams(tenant_id=tenant_id, **values)
        row = (await self.uow.execute(statement)).first()
        if row is None:
            return None
        return PrincipalRow(
            email=row.email,
            grants=[(role, uuid.UUID(clinic) if clinic else None) for role, clinic in row.grants],
            session_expires_at=row.expires_at,
        )


class SecretRepository(TenantScopedRepository[OneTimeSecret]):
    model = OneTimeSecret

    async def locked_live_otp(self, user_id: uuid.UUID, now: datetime) -> OneTimeSecret | None:
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


async def locked_reset_secret(uow: UnitOfWork, secret_hash: bytes) -> OneTimeSecret | None:
    """A password-reset secret by its hash, in any tenant (the token is the credential)."""
    stmt = (
        select(OneTimeSecret)
        .where(OneTimeSecret.secret_hash == secret_hash, OneTimeSecret.purpose == "password_reset")
        .with_for_update()
    )
    return (await uow.session.execute(stmt)).scalar_one_or_none()


async def user_for_reset(uow: UnitOfWork, user_id: uuid.UUID) -> User | None:
    """The user a reset secret names (the secret carries the tenant)."""
    return await uow.session.get(User, user_id)


class DirectoryRepository(TenantScopedRepository[User]):
    """Who-is-who reads other domains need: doctors, patients, contacts."""

    model = User

    def _role_of_active(self, user_id: uuid.UUID, role: Role) -> Any:
        return (
            (RoleGrant.tenant_id == self.tenant_id)
            & (RoleGrant.user_id == user_id)
            & (RoleGrant.role == role.value)
            & User.is_active.is_(True)
        )

    def _with_user(self, stmt: Select[Any]) -> Select[Any]:
        return stmt.join(User, (User.tenant_id == RoleGrant.tenant_id) & (User.id == RoleGrant.user_id))

    async def doctor_clinics(self, user_id: uuid.UUID) -> frozenset[uuid.UUID | None]:
        stmt = self._with_user(select(RoleGrant.clinic_id)).where(self._role_of_active(user_id, Role.DOCTOR))
        return frozenset((await self.uow.execute(stmt)).scalars().all())

    async def is_patient(self, user_id: uuid.UUID) -> bool:
        stmt = self._with_user(select(RoleGrant.id)).where(self._role_of_active(user_id, Role.PATIENT))
        return (await self.uow.execute(stmt.limit(1))).first() is not None

    async def contact(self, user_id: uuid.UUID) -> Any | None:
        """(email, full_name, phone, preferred_language) of a user, or None."""
        stmt = (
            select(User.email, User.full_name, PatientProfile.phone, PatientProfile.preferred_language)
            .outerjoin(
                PatientProfile,
                (PatientProfile.tenant_id == User.tenant_id) & (PatientProfile.user_id == User.id),
            )
            .where(User.tenant_id == self.tenant_id, User.id == user_id)
        )
        return (await self.uow.execute(stmt)).mappings().first()

    async def contacts(self, user_ids: Collection[uuid.UUID]) -> Sequence[Any]:
        """(id, email, full_name, phone, preferred_language) of each of the users there is."""
        stmt = (
            select(
                User.id, User.email, User.full_name, PatientProfile.phone, PatientProfile.preferred_language
            )
            .outerjoin(
                PatientProfile,
                (PatientProfile.tenant_id == User.tenant_id) & (PatientProfile.user_id == User.id),
            )
            .where(User.tenant_id == self.tenant_id, User.id.in_(list(user_ids)))
        )
        return (await self.uow.execute(stmt)).mappings().all()

    async def page_doctors(
        self, *, query: str | None, specialty: str | None, clinic_id: uuid.UUID | None, page: PageParams
    ) -> Sequence[Any]:
        """One page (plus one row) of (id, full_name, specialty) of active doctors."""
        doctors = select(RoleGrant.user_id).where(
            RoleGrant.tenant_id == self.tenant_id, RoleGrant.role == Role.DOCTOR.value
        )
        if clinic_id is not None:
            doctors = doctors.where(or_(RoleGrant.clinic_id == clinic_id, RoleGrant.clinic_id.is_(None)))
        stmt = (
            select(User.id, User.full_name, StaffProfile.specialty)
            .outerjoin(
                StaffProfile, (StaffProfile.tenant_id == User.tenant_id) & (StaffProfile.user_id == User.id)
            )
            .where(User.tenant_id == self.tenant_id, User.is_active.is_(True), User.id.in_(doctors))
        )
        if query:
            pattern = "%" + query.replace("\\", "").replace("%", "").replace("_", "") + "%"
            stmt = stmt.where(func.unaccent(User.full_name).ilike(func.unaccent(pattern)))
        if specialty:
            stmt = stmt.where(func.unaccent(StaffProfile.specialty).ilike(func.unaccent(specialty)))
        return (await self.uow.execute(paginate(stmt, User.id, page))).mappings().all()


_links = GuardianLink.__table__
_users = User.__table__
_DEPENDANTS = select(
    _links.c.id,
    _links.c.guardian_id,
    _links.c.dependant_id,
    _links.c.relationship,
    _users.c.full_name,
    _links.c.created_at,
).join(_users, (_users.c.tenant_id == _links.c.tenant_id) & (_users.c.id == _links.c.dependant_id))
_GUARDIANS = select(
    _links.c.id,
    _links.c.guardian_id,
    _links.c.dependant_id,
    _links.c.relationship,
    _users.c.full_name,
    _links.c.created_at,
).join(_users, (_users.c.tenant_id == _links.c.tenant_id) & (_users.c.id == _links.c.guardian_id))
#: Most guardians one patient's page lists.
MAX_GUARDIANS = 100
_DEPENDANT_PAGES = KeysetPages(
    _DEPENDANTS.where(
        _links.c.tenant_id == bindparam("tenant_id"), _links.c.guardian_id == bindparam("guardian_id")
    ),
    _links.c.id,
    DependantRead,
)


class GuardianRepository(TenantScopedRepository[GuardianLink]):
    """Guardian links between a tenant's patients."""

    model = GuardianLink

    async def link(self, guardian_id: uuid.UUID, dependant_id: uuid.UUID) -> GuardianLink | None:
        stmt = self.select().where(
            GuardianLink.guardian_id == guardian_id, GuardianLink.dependant_id == dependant_id
        )
        return (await self.uow.execute(stmt)).scalar_one_or_none()

    async def read(self, link_id: uuid.UUID) -> DependantRead:
        stmt = _DEPENDANTS.where(_links.c.tenant_id == self.tenant_id, _links.c.id == link_id)
        return DependantRead.model_validate(dict((await self.uow.execute(stmt)).mappings().one()))

    async def page(self, guardian_id: uuid.UUID, page: PageParams) -> tuple[list[DependantRead], str | None]:
        return await _DEPENDANT_PAGES.read(self.uow, page, tenant_id=self.tenant_id, guardian_id=guardian_id)

    async def guardians(self, dependant_id: uuid.UUID) -> list[GuardianRead]:
        stmt = (
            _GUARDIANS.where(_links.c.tenant_id == self.tenant_id, _links.c.dependant_id == dependant_id)
            .order_by(_links.c.id)
            .limit(MAX_GUARDIANS)
        )
        return [GuardianRead.model_validate(dict(r)) for r in (await self.uow.execute(stmt)).mappings()]

    async def dependant_ids(self, guardian_id: uuid.UUID) -> list[uuid.UUID]:
        stmt = (
            select(GuardianLink.dependant_id)
            .where(GuardianLink.tenant_id == self.tenant_id, GuardianLink.guardian_id == guardian_id)
            .order_by(GuardianLink.dependant_id)
        )
        return list((await self.uow.execute(stmt)).scalars())

    async def remove(self, link: GuardianLink) -> None:
        await self.uow.session.delete(link)
        await self.uow.flush()
