"""The doctor directory and who-is-who lookups other domains need (doctor of which clinic,
is a patient, how to reach someone). Read-only; callers own the unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from clinicflow.identity.repository import DirectoryRepository, UserRepository
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import ContactRead, DoctorRead
from clinicflow.platform.cache import TTLCache
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, page_of

#: Directory reads are cached briefly per tenant; every change to a user, their roles or their
#: profile in this process clears the tenant's entries (other processes: at most the TTL stale).
DIRECTORY_CACHE = TTLCache(ttl_seconds=30)


async def doctor_clinics(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> frozenset[uuid.UUID | None]:
    """Where an active user practises as a DOCTOR: clinic ids, `None` meaning every clinic.

    Empty if they are not an active doctor of the tenant.
    """
    return await DirectoryRepository(uow, tenant_id).doctor_clinics(user_id)


async def is_patient(uow: UnitOfWork, *, tenant_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """The user is an active PATIENT of the tenant."""
    return await DirectoryRepository(uow, tenant_id).is_patient(user_id)


async def contact_of(uow: UnitOfWork, *, tenant_id: uuid.UUID, user_id: uuid.UUID) -> ContactRead | None:
    """How to reach a user (for notifications): email, name, phone and language if a patient."""
    row = await DirectoryRepository(uow, tenant_id).contact(user_id)
    if row is None:
        return None
    return ContactRead(
        user_id=user_id,
        email=row["email"],
        full_name=row["full_name"],
        phone=row["phone"],
        preferred_language=row["preferred_language"],
    )


async def contacts_of(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ContactRead]:
    """`contact_of` for many users in one query: the tenant's users among `user_ids`, by id."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = await DirectoryRepository(uow, tenant_id).contacts(wanted)
    return {
        row["id"]: ContactRead(
            user_id=row["id"],
            email=row["email"],
            full_name=row["full_name"],
            phone=row["phone"],
            preferred_language=row["preferred_language"],
        )
        for row in rows
    }


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
    rows = await DirectoryRepository(uow, tenant_id).page_doctors(
        query=query, specialty=specialty, clinic_id=clinic_id, page=page
    )
    items, cursor = page_of(rows, page)
    clinics: dict[uuid.UUID, list[uuid.UUID | None]] = {}
    for user_id, role, grant_clinic in await UserRepository(uow, tenant_id).grants_of_many(
        [r["id"] for r in items]
    ):
        if role == Role.DOCTOR.value:
            clinics.setdefault(user_id, []).append(grant_clinic)
    return [_doctor(r, clinics.get(r["id"], [])) for r in items], cursor


def _doctor(row: Any, clinics: list[uuid.UUID | None]) -> DoctorRead:
    return DoctorRead(
        id=row["id"],
        full_name=row["full_name"],
        specialty=row["specialty"],
        clinic_ids=None if None in clinics else sorted((c for c in clinics if c is not None), key=str),
    )
