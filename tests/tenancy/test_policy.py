"""Tenancy's policy: an unseen clinic is 404 (its existence not disclosed), an unchangeable one 403."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from clinicflow.errors import Forbidden, NotFound
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import Grant, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.tenancy import policy
from clinicflow.tenancy.schemas import LocationKind, LocationRead

P = Permission
MINE, OTHER = uuid.uuid4(), uuid.uuid4()


def _principal(role: Role, clinic_id: uuid.UUID | None) -> TenantPrincipal:
    return TenantPrincipal(
        subject_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        grants=(Grant(role, clinic_id),),
    )


def _location(clinic_id: uuid.UUID) -> LocationRead:
    return LocationRead(
        id=uuid.uuid4(),
        clinic_id=clinic_id,
        name="Desk",
        kind=LocationKind.CHECKIN_DESK,
        latitude=None,
        longitude=None,
        radius_m=None,
        created_at=datetime.now(UTC),
    )


def test_a_clinic_admin_changes_their_clinic_and_cannot_see_another() -> None:
    admin = _principal(Role.CLINIC_ADMIN, MINE)
    policy.ensure_clinic_changeable(admin, P.CLINICS_UPDATE, MINE)
    with pytest.raises(NotFound):
        policy.ensure_clinic_changeable(admin, P.CLINICS_UPDATE, OTHER)
    with pytest.raises(Forbidden):  # seen, but deleting needs clinics:delete
        policy.ensure_clinic_changeable(admin, P.CLINICS_DELETE, MINE)


def test_tenant_wide_permissions_need_a_tenant_wide_grant() -> None:
    policy.ensure_allowed(_principal(Role.TENANT_ADMIN, None), P.CLINICS_CREATE, None)
    with pytest.raises(Forbidden):
        policy.ensure_allowed(_principal(Role.CLINIC_ADMIN, MINE), P.CLINICS_CREATE, None)


def test_a_location_is_visible_through_its_clinic_and_moved_only_between_managed_clinics() -> None:
    admin = _principal(Role.CLINIC_ADMIN, MINE)
    with pytest.raises(NotFound):
        policy.ensure_location_visible(admin, None)
    with pytest.raises(NotFound):
        policy.ensure_location_visible(admin, _location(OTHER))
    here = policy.ensure_location_visible(admin, _location(MINE))
    policy.ensure_location_manageable(admin, here, to_clinic=MINE)
    with pytest.raises(Forbidden):
        policy.ensure_location_manageable(admin, here, to_clinic=OTHER)
