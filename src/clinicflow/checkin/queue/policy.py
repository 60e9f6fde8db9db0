"""Who may see and move which queue (checked after the tenant-scoped fetch of its location or entry).

- The full queue of a location: staff holding `queue:read` in its clinic.
- A patient (`checkin:self`) sees their own entries of any location of their tenant.
- Call next, recall, skip, start, complete, no-show: `queue:call` in the clinic (clinicians).
- The priority class: `checkin:staff` in the clinic (the desk triages; clinicians and the
  clinic's admins hold it too).

What the caller may not see at all answers 404, like what does not exist; staff who see
the queue but may not make a move get 403.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from clinicflow.errors import Forbidden, NotFound
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal

P = Permission


class View(StrEnum):
    FULL = "full"
    OWN = "own"


def queue_view(principal: TenantPrincipal, clinic_id: uuid.UUID) -> View:
    """The full queue for the clinic's queue readers, one's own entries for a patient."""
    if principal.can(P.QUEUE_READ, clinic_id=clinic_id):
        return View.FULL
    if principal.has(P.CHECKIN_SELF):
        return View.OWN
    raise NotFound("Location not found")


def full_queue_clinics(principal: TenantPrincipal) -> frozenset[uuid.UUID] | None:
    """The clinics whose full queues the principal reads (None: every clinic of the tenant)."""
    return principal.clinics_for(P.QUEUE_READ)


def check_moves(principal: TenantPrincipal, clinic_id: uuid.UUID, *, missing: str) -> None:
    """Calling and moving patients: `queue:call` in the clinic (`missing`: the 404's words)."""
    _check(principal, clinic_id, P.QUEUE_CALL, "move patients through this queue", missing)


def check_prioritises(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """Setting a waiting patient's priority class: `checkin:staff` in the clinic."""
    _check(principal, clinic_id, P.CHECKIN_STAFF, "change priorities in this queue", "Queue entry not found")


def _check(
    principal: TenantPrincipal, clinic_id: uuid.UUID, permission: Permission, doing: str, missing: str
) -> None:
    if not principal.can(P.QUEUE_READ, clinic_id=clinic_id) and not principal.can(
        permission, clinic_id=clinic_id
    ):
        raise NotFound(missing)
    if not principal.can(permission, clinic_id=clinic_id):
        raise Forbidden(f"You may not {doing}", permission=permission.value)
