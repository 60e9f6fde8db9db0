"""Who may configure, show, scan and check in where: check-in's rules, after the scoped fetch.

Built on the permission catalogue (`identity.permissions`). A location or appointment
the caller may not see answers 404, like a missing one (another tenant's never exists
for them); one they see but may not act on answers 403.

- Check-in locations and the clinic's window: seen by whoever sees the clinic's
  locations (clinics), changed with `checkin:configure` at that clinic.
- A location's QR code and current token: `checkin:configure` or `queue:read` at its clinic
  (desk screens, kiosks, printing).
- Scanning: `checkin:self`, for the caller's own appointments and their dependants'.
- Reception: `checkin:staff` (inside the window) or `checkin:override` (outside it, with a
  reason) at the appointment's clinic; the appointment must be visible there.
"""

from __future__ import annotations

import uuid

from clinicflow.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal

P = Permission


def _forbid_unless(principal: TenantPrincipal, permission: Permission, clinic_id: uuid.UUID) -> None:
    if not principal.can(permission, clinic_id=clinic_id):
        raise Forbidden(f"You need the permission {permission.value} here")


def check_sees_location(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """404 unless the principal sees the clinic's locations."""
    if not principal.can(P.LOCATIONS_READ, clinic_id=clinic_id):
        raise NotFound("Check-in location not found")


def check_configures(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """A check-in location of this clinic: 404 unless seen, 403 without `checkin:configure` there."""
    check_sees_location(principal, clinic_id)
    _forbid_unless(principal, P.CHECKIN_CONFIGURE, clinic_id)


def check_names_location(principal: TenantPrincipal, clinic_id: uuid.UUID | None) -> uuid.UUID:
    """A body naming a location (to give it check-in settings): one the principal cannot see is,
    to them, no location (422); one they see but may not configure is 403."""
    if clinic_id is None or not principal.can(P.LOCATIONS_READ, clinic_id=clinic_id):
        raise ValidationFailed(
            "No such location", errors=[FieldProblem(field="location_id", message="no such location")]
        )
    _forbid_unless(principal, P.CHECKIN_CONFIGURE, clinic_id)
    return clinic_id


def listed_clinics(principal: TenantPrincipal) -> frozenset[uuid.UUID] | None:
    """The clinics whose check-in locations the principal lists (None: all of them)."""
    configure = principal.clinics_for(P.CHECKIN_CONFIGURE)
    queue = principal.clinics_for(P.QUEUE_READ)
    if configure is None or queue is None:
        return None
    return configure | queue


def check_reads_settings(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """A check-in location's settings and its QR code: staff configuring check-in or reading the
    queue at its clinic (404 for everyone else)."""
    if not (
        principal.can(P.CHECKIN_CONFIGURE, clinic_id=clinic_id)
        or principal.can(P.QUEUE_READ, clinic_id=clinic_id)
    ):
        raise NotFound("Check-in location not found")


def check_sees_clinic(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """The clinic's window: 404 unless the principal sees the clinic."""
    if not principal.can(P.CLINICS_READ, clinic_id=clinic_id):
        raise NotFound("Clinic not found")


def check_configures_clinic(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """Changing the clinic's window: 404 unless seen, 403 without `checkin:configure` there."""
    check_sees_clinic(principal, clinic_id)
    _forbid_unless(principal, P.CHECKIN_CONFIGURE, clinic_id)


def check_receives(principal: TenantPrincipal, clinic_id: uuid.UUID, permission: Permission) -> None:
    """Reception checking an appointment of this clinic in: 404 unless they see its appointments
    (or hold `permission` there), 403 without `permission` there."""
    if not (
        principal.can(P.APPOINTMENTS_READ, clinic_id=clinic_id)
        or principal.can(permission, clinic_id=clinic_id)
    ):
        raise NotFound("Appointment not found")
    _forbid_unless(principal, permission, clinic_id)


def check_reads_operations(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """A clinic's day in figures: staff configuring check-in or reading the queue there (404
    for everyone else, as for a clinic that does not exist)."""
    if not (
        principal.can(P.CHECKIN_CONFIGURE, clinic_id=clinic_id)
        or principal.can(P.QUEUE_READ, clinic_id=clinic_id)
    ):
        raise NotFound("Clinic not found")
