"""The doctor directory and who-is-who lookups other domains need (doctor of which clinic,
is a patient, how to reach someone). Read-only; callers own the unit of work."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select

from clinicflow.identity.models import PatientProfile, RoleGrant, StaffProfile, User
from clinicflow.identity.repository import UserRepository
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import ContactRead, DoctorRead
from clinicflow.platform.cache import TTLCache
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, page_of, paginate

#: Directory reads are cached briefly per tenant; every change to a user, their roles or their
#: profile in this process clears the tenant's entries (other processes: at most the TTL stale).
DIRECTORY_CACHE = TTLCache(ttl_seconds=30)


async def doctor_clinics(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> frozenset[uuid.UUID | None]:
    """Where an active user practises as a DOCTOR: clinic ids, `None` meaning every clinic.

    Empty if they are not an active doctor of the tenant.
    """
    stmt = (
        select(RoleGrant.clinic_id)
        .join(User, (User.tenant_id == RoleGrant.tenant_id) & (User.id == RoleGrant.user_id))
        .where(
            RoleGrant.tenant_id == tenant_id,
            RoleGrant.user_id == user_id,
            RoleGrant.role == Role.DOCTOR.value,
            User.is_active.is_(True),
        )
    )
    return frozenset((await uow.execute(stmt)).scalars().all())


async def is_patient(uow: UnitOfWork, *, tenant_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """The user is an active PATIENT of the tenant."""
    stmt = (
        select(RoleGrant.id)
        .join(User, (User.tenant_id == RoleGrant.tenant_id) & (User.id == RoleGrant.user_id))
        .where(
            RoleGrant.tenant_id == tenant_id,
            RoleGrant.user_id == user_id,
            RoleGrant.role == Role.PATIENT.value,
            User.is_active.is_(True),
        )
        .limit(1)
    )
    return (await uow.execute(stmt)).first() is not None


async def contact_of(uow: UnitOfWork, *, tenant_id: uuid.UUID, user_id: uuid.UUID) -> ContactRead | None:
    """How to reach a user (for notifications): email, name, phone and language if a patient."""
    stmt = (
        select(User.email, User.full_name, PatientProfile.phone, PatientProfile.preferred_language)
        .outerjoin(
            PatientProfile,
            (PatientProfile.tenant_id == User.tenant_id) & (PatientProfile.user_id == User.id),
        )
        .where(User.tenant_id == tenant_id, User.id == user_id)
    )
    row = (await uow.execute(stmt)).mappings().first()
    if row is None:
        return None
    return ContactRead(
        user_id=user_id,
        email=row["email"],
        full_name=row["full_name"],
        phone=row["phone"],
        preferred_language=row["preferred_language"],
    )


async def search_doctors(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    query: str | None,
    specialty: str | None,
    clinic_id: uuid.UUID | None,
    page: PageParams,
) -> tuple[list[DoctorRead], str | None]:
    """Active doctors of the tenant, by name (case- and accent-insensitive), specialty and clinic.

    A doctor with a tenant-wide DOCTOR grant practises at every clinic.
    """
    doctors = select(RoleGrant.user_id).where(
        RoleGrant.tenant_id == tenant_id, RoleGrant.role == Role.DOCTOR.value
    )
    if clinic_id is not None:
        doctors = doctors.where(or_(RoleGrant.clinic_id == clinic_id, RoleGrant.clinic_id.is_(None)))
    stmt = (
        select(User.id, User.full_name, StaffProfile.specialty)
        .outerjoin(
            StaffProfile, (StaffProfile.tenant_id == User.tenant_id) & (StaffProfile.user_id == User.id)
        )
        .where(User.tenant_id == tenant_id, User.is_active.is_(True), User.id.in_(doctors))
    )
    if query:
        pattern = "%" + query.replace("\\", "").replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(func.unaccent(User.full_name).ilike(func.unaccent(pattern)))
    if specialty:
        stmt = stmt.where(func.unaccent(StaffProfile.specialty).ilike(func.unaccent(specialty)))
    rows = (await uow.execute(paginate(stmt, User.id, page))).mappings().all()
    items, cursor = page_of(rows, page)
    grants = await UserRepository(uow, tenant_id).grants_of_many([r["id"] for r in items])
    clinics: dict[uuid.UUID, list[uuid.UUID | None]] = {}
    for user_id, role, grant_clinic in grants:
        if role == Role.DOCTOR.value:
            clinics.setdefault(user_id, []).append(grant_clinic)
    return [
        DoctorRead(
            id=r["id"],
            full_name=r["full_name"],
            specialty=r["specialty"],
            clinic_ids=None
            if None in clinics.get(r["id"], [])
            else sorted((c for c in clinics.get(r["id"], []) if c is not None), key=str),
        )
        for r in items
    ], cursor
