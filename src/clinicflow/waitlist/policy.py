"""Who may do what to which waitlist entry, offer or clinic policy.

Each rule is checked after the tenant-scoped fetch, on the object itself,
and built on the permission catalogue (`identity.permissions`). What the
caller may not see answers 404, exactly like what does not exist; what they
see but may not do answers 403.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from clinicflow.errors import Forbidden, NotFound
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.waitlist.models import WaitlistEntry

P = Permission


class Changer(StrEnum):
    """In which capacity a caller changes an entry."""

    STAFF = "staff"
    PATIENT = "patient"


def may_see(principal: TenantPrincipal, entry: WaitlistEntry) -> bool:
    """Their own entry, or any entry in a clinic whose queue they read."""
    return entry.patient_id == principal.user_id or principal.can(P.WAITLIST_READ, clinic_id=entry.clinic_id)


def check_reads_queue(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """The clinic's queue and its figures: readers of that clinic only (404 for the rest)."""
    if not principal.can(P.WAITLIST_READ, clinic_id=clinic_id):
        raise NotFound("Clinic not found")


def may_join_at(principal: TenantPrincipal, clinic_id: uuid.UUID) -> bool:
    """Whether the caller sees the clinic at all (an unseen clinic is 'no such clinic')."""
    return principal.can(P.CLINICS_READ, clinic_id=clinic_id)


def history_clinics(principal: TenantPrincipal, patient_id: uuid.UUID) -> frozenset[uuid.UUID] | None:
    """The clinics whose entries of this patient the caller sees (None: all of them).

    A patient sees all of their own; staff see the clinics whose queues they
    read; anyone else is told the patient does not exist (404).
    """
    if patient_id == principal.user_id:
        return None
    clinics = principal.clinics_for(P.WAITLIST_READ)
    if clinics is not None and not clinics:
        raise NotFound("Patient not found")
    return clinics


def check_changes(principal: TenantPrincipal, entry: WaitlistEntry) -> None:
    """Staff of the entry's clinic change any entry; a patient their own."""
    own = entry.patient_id == principal.user_id and principal.has(P.WAITLIST_SELF)
    if not own and not principal.can(P.WAITLIST_MANAGE, clinic_id=entry.clinic_id):
        raise Forbidden("You may not change this entry")


def check_reorders(principal: TenantPrincipal, entry: WaitlistEntry) -> None:
    """Only staff of the entry's clinic change the order (boost, pin)."""
    if not principal.can(P.WAITLIST_MANAGE, clinic_id=entry.clinic_id):
        raise Forbidden("Only staff change the order of the waitlist")


def cancelled_by(principal: TenantPrincipal, entry: WaitlistEntry) -> Changer:
    """Who the audit trail says cancelled: the patient when it is their own entry."""
    own = entry.patient_id == principal.user_id and principal.has(P.WAITLIST_SELF)
    return Changer.PATIENT if own else Changer.STAFF


def check_answers_offer(principal: TenantPrincipal, entry: WaitlistEntry) -> None:
    """The invited patient answers an offer, or staff of the clinic for them."""
    if entry.patient_id != principal.user_id and not principal.can(
        P.WAITLIST_MANAGE, clinic_id=entry.clinic_id
    ):
        raise Forbidden("Only the invited patient answers an offer")


def check_manages(principal: TenantPrincipal, clinic_id: uuid.UUID, *, doing: str) -> None:
    """Staff managing the clinic's waitlist only (promote, invite); `doing` names the act."""
    if not principal.can(P.WAITLIST_MANAGE, clinic_id=clinic_id):
        raise Forbidden(f"You may not {doing} in this clinic")


def check_clinic_settings(
    principal: TenantPrincipal, tenant_id: uuid.UUID, clinic_id: uuid.UUID, permission: Permission
) -> None:
    """A clinic's waitlist policy, addressed under its tenant: another tenant or an unseen
    clinic is 404; a seen clinic without `permission` is 403."""
    if principal.tenant_id != tenant_id or not principal.can(P.CLINICS_READ, clinic_id=clinic_id):
        raise NotFound("Clinic not found")
    if not principal.can(permission, clinic_id=clinic_id):
        raise Forbidden(f"You need the permission {permission.value} here")
