"""Who may see and change which clinic or location, on the permission catalogue.

A clinic the caller cannot see answers 404 (like a missing one: its existence
is not disclosed); one they can see but not change answers 403. Location
checks run after the scoped fetch, on the location's own clinic.
"""

from __future__ import annotations

import uuid

from clinicflow.errors import Forbidden, NotFound
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import Principal
from clinicflow.tenancy.schemas import LocationRead

P = Permission


def ensure_visible(principal: Principal, permission: Permission, clinic_id: uuid.UUID, what: str) -> None:
    """404 `what` unless the principal holds `permission` at the clinic."""
    if not principal.can(permission, clinic_id=clinic_id):
        raise NotFound(f"{what} not found")


def ensure_allowed(principal: Principal, permission: Permission, clinic_id: uuid.UUID | None) -> None:
    """403 unless the principal holds `permission` at the clinic (None: tenant-wide)."""
    if not principal.can(permission, clinic_id=clinic_id):
        raise Forbidden(f"You need the permission {permission.value} here")


def ensure_clinic_visible(principal: Principal, clinic_id: uuid.UUID) -> None:
    """404 unless the principal may see the clinic (`clinics:read` there)."""
    ensure_visible(principal, P.CLINICS_READ, clinic_id, "Clinic")


def ensure_clinic_changeable(principal: Principal, permission: Permission, clinic_id: uuid.UUID) -> None:
    """A clinic change: 404 if the clinic is not visible, 403 without `permission` there."""
    ensure_clinic_visible(principal, clinic_id)
    ensure_allowed(principal, permission, clinic_id)


def ensure_location_visible(principal: Principal, location: LocationRead | None) -> LocationRead:
    """The fetched location if the principal may see its clinic; 404 for none or an unseen one."""
    if location is None or not principal.can(P.LOCATIONS_READ, clinic_id=location.clinic_id):
        raise NotFound("Location not found")
    return location


def ensure_location_manageable(principal: Principal, location: LocationRead, *, to_clinic: uuid.UUID) -> None:
    """Managing a location (and moving it) needs `locations:manage` at both its clinics."""
    ensure_allowed(principal, P.LOCATIONS_MANAGE, location.clinic_id)
    ensure_allowed(principal, P.LOCATIONS_MANAGE, to_clinic)
