"""Who may do what to which appointment or schedule, decided after the tenant-scoped fetch.

Built on the permission catalogue (`identity.permissions`): staff hold a permission
at a clinic (or every clinic), patients hold the self-service ones for themselves.
Nothing here reads the database except `patient_for_booking`, which asks identity
whether a named patient exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from clinicflow.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from clinicflow.identity import policy as identity_policy
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling.errors import CancellationTooLate
from clinicflow.scheduling.models import Appointment
from clinicflow.scheduling.state import Action

P = Permission

#: Actions only clinic staff take (the patient confirms and cancels, nothing else).
STAFF_ONLY = frozenset({Action.CHECK_IN, Action.START, Action.COMPLETE, Action.NO_SHOW})


@dataclass(frozen=True, slots=True)
class Visibility:
    """Appointments a principal may see: those of `clinics` (None: every clinic), and their own."""

    clinics: frozenset[uuid.UUID] | None
    patient_id: uuid.UUID


def visibility(principal: TenantPrincipal) -> Visibility:
    return Visibility(principal.clinics_for(P.APPOINTMENTS_READ), principal.user_id)


def require_bookable_clinic(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """A clinic the principal cannot see is, to them, no clinic (422 like a missing one)."""
    if not principal.can(P.CLINICS_READ, clinic_id=clinic_id):
        raise ValidationFailed(
            "No such clinic", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
        )


async def patient_for_booking(
    uow: UnitOfWork, principal: TenantPrincipal, *, clinic_id: uuid.UUID, patient_id: uuid.UUID | None
) -> uuid.UUID:
    """Who a booking is for: staff with `appointments:book` at the clinic book for a
    patient; a patient books for themselves only."""
    return await identity_policy.resolve_patient(
        uow,
        principal,
        clinic_id=clinic_id,
        patient_id=patient_id,
        staff=P.APPOINTMENTS_BOOK,
        self_service=P.APPOINTMENTS_SELF,
        doing="book",
    )


def require_follow_up_planner(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    if not principal.can(P.APPOINTMENTS_BOOK, clinic_id=clinic_id):
        raise Forbidden("Follow-ups are planned by clinic staff")


def is_staff(principal: TenantPrincipal, appointment: Appointment) -> bool:
    return principal.can(P.APPOINTMENTS_MANAGE, clinic_id=appointment.clinic_id)


def check_change(
    principal: TenantPrincipal, appointment: Appointment, *, cutoff: timedelta, now: datetime
) -> bool:
    """May the principal cancel or move this appointment now? True when it is staff acting
    inside the patient cut-off (an override, audited as such).

    Staff with `appointments:manage` at the clinic may always; the patient may change their own
    only before the clinic's cut-off (CancellationTooLate); anyone else is Forbidden.
    """
    staff = is_staff(principal, appointment)
    own = appointment.patient_id == principal.user_id and principal.has(P.APPOINTMENTS_SELF)
    if not staff and not own:
        raise Forbidden("You may not change this appointment")
    inside = appointment.starts_at - now < cutoff
    if inside and not staff:
        raise CancellationTooLate(
            f"Changes online close {int(cutoff.total_seconds() // 3600)} hours before the visit"
        )
    return inside and staff


def check_transition(principal: TenantPrincipal, appointment: Appointment, action: Action) -> None:
    """Staff-only actions need `appointments:manage` at the clinic; confirming needs that or
    being the patient. Cancelling is `check_change` (it depends on the cut-off)."""
    if action in STAFF_ONLY and not is_staff(principal, appointment):
        raise Forbidden("Only clinic staff may do this")
    if action is Action.CONFIRM and not (
        is_staff(principal, appointment) or appointment.patient_id == principal.user_id
    ):
        raise Forbidden("You may not confirm this appointment")


def require_schedule_manager(
    principal: TenantPrincipal, doctor_id: uuid.UUID, clinic_id: uuid.UUID | None
) -> None:
    """A doctor's availability and time off: the doctor themselves, or `availability:manage`
    at the clinic (every clinic for time off that applies everywhere)."""
    if principal.user_id != doctor_id and not principal.can(P.AVAILABILITY_MANAGE, clinic_id=clinic_id):
        raise Forbidden("You may not change this doctor's availability")


def require_clinic_reader(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    """A clinic the principal cannot see answers 404, like another tenant's."""
    if not principal.can(P.CLINICS_READ, clinic_id=clinic_id):
        raise NotFound("Clinic not found")


def require_clinic_editor(principal: TenantPrincipal, clinic_id: uuid.UUID) -> None:
    require_clinic_reader(principal, clinic_id)
    if not principal.can(P.CLINICS_UPDATE, clinic_id=clinic_id):
        raise Forbidden("You need the permission clinics:update here")
